"""An autopilot Plan for one step: named ``autopilot``, a fresh ``id`` and ``timestamp``, one
``k0supdate`` with the step's version, a download per platform from the URL template with a
``sha256`` placeholder (K0S305 reports it until the real checksum is written), and the controllers and
workers to update, controllers first, from the live nodes or the k0sctl hosts."""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

import yaml

from checker.inputs.live import LiveState
from checker.k0s.documents import K0sObject
from checker.k0s.releases import Patch
from checker.records import dataclass, field

DEFAULT_URL_TEMPLATE = "https://github.com/k0sproject/k0s/releases/download/{version}/k0s-{version}-{arch}"
TEMPLATE_FIELDS = frozenset({"version", "os", "arch", "platform"})
SHA256_PLACEHOLDER = "REPLACE-WITH-SHA256-OF-{file}"
NODE_PLACEHOLDER = "REPLACE-WITH-NODE-NAME"
CONTROLLER_ROLES = frozenset({"controller", "controller+worker", "single"})


class TemplateError(ValueError):
    pass


def check_template(template: str) -> None:
    """A --url-template names only {version}, {os}, {arch} and {platform}."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise TemplateError(f"--url-template {template}: {err}") from None
    unknown = sorted(names - TEMPLATE_FIELDS)
    if unknown:
        raise TemplateError(
            f"--url-template {template}: unknown field {{{unknown[0]}}}; use {{version}}, {{os}}, {{arch}} "
            "or {platform} (os-arch)"
        )
    if "version" not in names:
        raise TemplateError(f"--url-template {template}: the URL must contain {{version}}")


@dataclass
class Targets:
    controllers: list[str] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)
    source: str = ""
    notes: list[str] = field(default_factory=list)


def _host_name(host: dict[str, Any]) -> tuple[str, bool]:
    """A k0sctl host's node name: its ``hostname``, else its address (flagged as a guess)."""
    if isinstance(host.get("hostname"), str) and host["hostname"]:
        return str(host["hostname"]), False
    for connection in ("ssh", "openSSH", "winRM"):
        settings = host.get(connection)
        if isinstance(settings, dict) and isinstance(settings.get("address"), str):
            return str(settings["address"]), True
    return NODE_PLACEHOLDER, True


def _from_k0sctl(k0sctl: K0sObject) -> Targets:
    targets = Targets(source=f"the k0sctl hosts ({k0sctl.path})")
    guessed = False
    hosts = k0sctl.get("spec", "hosts")
    for host in hosts if isinstance(hosts, list) else []:
        if not isinstance(host, dict):
            continue
        name, guess = _host_name(host)
        guessed = guessed or guess
        if host.get("role") in CONTROLLER_ROLES:
            targets.controllers.append(name)
        elif host.get("role") == "worker":
            targets.workers.append(name)
    if guessed:
        targets.notes.append(
            "some k0sctl hosts have no hostname, so the Plan names them by address: autopilot matches node "
            "names, so replace each with the host's node name"
        )
    return targets


def plan_targets(k0sctl: K0sObject | None, live: LiveState | None) -> Targets:
    """Controllers and workers by node name: the live nodes first, the k0sctl hosts for controllers the
    nodes cannot show (controllers without --enable-worker run no kubelet)."""
    hosts = _from_k0sctl(k0sctl) if k0sctl is not None else None
    if live is not None and live.nodes:
        targets = Targets(source=f"the live nodes ({live.source})")
        targets.controllers = [n.name for n in live.nodes if n.control_plane]
        targets.workers = [n.name for n in live.nodes if not n.control_plane]
        if not targets.controllers:
            if hosts is not None and hosts.controllers:
                targets.controllers = hosts.controllers
                targets.source += f" and {hosts.source} for the controllers"
                targets.notes += hosts.notes
            else:
                targets.controllers = [NODE_PLACEHOLDER]
                targets.notes.append(
                    "no controller is visible among the nodes (controllers without --enable-worker run no "
                    f"kubelet): write the controllers' names in place of {NODE_PLACEHOLDER}"
                )
        return targets
    if hosts is not None and (hosts.controllers or hosts.workers):
        return hosts
    return Targets(
        [NODE_PLACEHOLDER],
        [NODE_PLACEHOLDER],
        "nothing (no live nodes, no k0sctl hosts)",
        [f"neither live nodes nor k0sctl hosts name the nodes: write them in place of {NODE_PLACEHOLDER}"],
    )


def platform_key(platform: str) -> tuple[str, str, str]:
    """``linux/arm64`` -> (``linux-arm64``, ``linux``, ``arm64``); variants are dropped (k0s ships one
    arm binary)."""
    parts = platform.split("/")
    return f"{parts[0]}-{parts[1]}", parts[0], parts[1]


def plan_id(patch: Patch, now: dt.datetime, token: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", patch.version.lower()).strip("-")
    return f"upgrade-{slug}-{now.strftime('%Y%m%d%H%M%S')}-{token}"


def autopilot_plan(
    patch: Patch,
    targets: Targets,
    *,
    url_template: str,
    platforms: tuple[str, ...],
    now: dt.datetime,
    token: str,
) -> dict[str, Any]:
    downloads: dict[str, dict[str, str]] = {}
    for platform in platforms:
        key, os_name, arch = platform_key(platform)
        url = url_template.format(version=patch.version, os=os_name, arch=arch, platform=key)
        file = url.rstrip("/").rsplit("/", 1)[-1] or f"k0s-{patch.version}-{arch}"
        downloads[key] = {"url": url, "sha256": SHA256_PLACEHOLDER.format(file=file)}
    update: dict[str, Any] = {
        "version": patch.version,
        "platforms": downloads,
        "targets": {"controllers": {"discovery": {"static": {"nodes": list(targets.controllers)}}}},
    }
    if targets.workers:
        update["targets"]["workers"] = {
            "discovery": {"static": {"nodes": list(targets.workers)}},
            "limits": {"concurrent": 1},
        }
    return {
        "apiVersion": "autopilot.k0sproject.io/v1beta2",
        "kind": "Plan",
        "metadata": {"name": "autopilot"},
        "spec": {
            "id": plan_id(patch, now, token),
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commands": [{"k0supdate": update}],
        },
    }


def plan_text(plan: dict[str, Any], header: str) -> str:
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(plan, sort_keys=False, default_flow_style=False, width=4096)
