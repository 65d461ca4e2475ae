"""What k0s and k0sctl print as their defaults passes, in every release; and null is "not set" everywhere.

The `k0s config create` outputs are rebuilt per release by tools/gen_default_configs.py (from the release
data and the facts about what each release prints: its nulls, `creationTimestamp: null`, `status: {}`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.config import Config
from checker.inputs.sources import Collected, Source
from checker.k0s.documents import Kind
from checker.k0s.releases import Catalog
from checker.validate.schemas import load_schema
from checker.workflows.check import run_check
from tests.conftest import REPO_ROOT, check_paths

FIXTURES = REPO_ROOT / "tests" / "fixtures"
CREATE = FIXTURES / "k0s-config-create"
MINORS = [f"1.{n}" for n in range(21, 37)]


def newest_patch(minor: str) -> str:
    header = (CREATE / minor / "k0s.yaml").read_text(encoding="utf-8").splitlines()[0]
    return next(word for word in header.split() if word.startswith("v1.") and "+k0s." in word)


def test_fixtures_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "gen_default_configs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + "\nrun: python tools/gen_default_configs.py"


@pytest.mark.parametrize("minor", MINORS)
def test_k0s_config_create_output_passes(minor: str, tmp_path: Path) -> None:
    shutil.copy(CREATE / minor / "k0s.yaml", tmp_path / "k0s.yaml")
    text = (tmp_path / "k0s.yaml").read_text(encoding="utf-8")
    if 22 <= int(minor.split(".")[1]) <= 30:
        assert "creationTimestamp: null" in text and "calico: null" in text
    result = check_paths(["k0s.yaml"], cwd=tmp_path, k0s_version=newest_patch(minor))
    errors = [f for f in result.findings if f.severity >= 3]
    assert errors == [], [f"{f.rule} {f.line}: {f.message}" for f in errors]
    assert [f for f in result.findings if f.rule.startswith("K0S4")] == []
    (config,) = result.clusters[0].configs
    assert not config.is_cluster_object


@pytest.mark.parametrize("name", ["k0sctl-init", "k0sctl-init-k0s"])
def test_k0sctl_init_skeleton_passes(name: str, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / name / "k0sctl.yaml", tmp_path / "k0sctl.yaml")
    for version in (None, "v1.30.14+k0s.0"):
        result = check_paths(["k0sctl.yaml"], cwd=tmp_path, k0s_version=version)
        assert [f for f in result.findings if f.severity >= 2] == [], version


def optional_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every mapping entry below the document (list items stay: Go reads null items as zero values)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if path == () and key in ("apiVersion", "kind"):
                continue  # recognition, not a value
            yield (*path, key)
            yield from optional_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from optional_paths(item, (*path, index))


def required_by_schema(schema: Any, path: tuple[Any, ...]) -> bool:
    """True when the schema requires the last key of ``path`` in its parent (not optional)."""
    node = schema
    for part in path[:-1]:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = (node.get("properties") or {}).get(part, node.get("additionalProperties") or {})
        if not isinstance(node, dict):
            return False
    return path[-1] in node.get("required", ())


def with_null(data: Any, path: tuple[Any, ...]) -> Any:
    copy = yaml.safe_load(yaml.safe_dump(data))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = None
    return copy


# Required by k0s's Validate() although the schema allows their absence: not optional values.
REQUIRED_BY_VALIDATE = {"endpoints", "etcdPrefix", "IPv6podCIDR", "IPv6serviceCIDR", "calico", "mode"}

RICH = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  api:
    address: 10.0.0.10
    externalAddress: api.example.com
    sans: [10.0.0.10, api.example.com]
    extraArgs: {audit-log-maxage: "30"}
  images:
    repository: registry.example.com
    default_pull_policy: IfNotPresent
  network:
    provider: calico
    calico: {mode: bird, mtu: 1450}
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
    dualStack: {enabled: true, IPv6podCIDR: "fd00::/108", IPv6serviceCIDR: "fd01::/108"}
    kubeProxy: {mode: ipvs}
  storage:
    type: etcd
    etcd:
      peerAddress: 10.0.0.10
      externalCluster:
        endpoints: [https://etcd.example.com:2379]
        etcdPrefix: k0s-tenant
  workerProfiles:
    - name: small
      values: {maxPods: 50}
  telemetry: {enabled: false}
"""


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (RICH, "v1.30.14+k0s.0"),
        (RICH, "v1.36.3+k0s.2"),
        ((CREATE / "1.24" / "k0s.yaml").read_text(encoding="utf-8"), "v1.24.17+k0s.0"),
        ((CREATE / "1.36" / "k0s.yaml").read_text(encoding="utf-8"), "v1.36.3+k0s.2"),
        ((FIXTURES / "k0sctl-init-k0s" / "k0sctl.yaml").read_text(encoding="utf-8"), "v1.33.13+k0s.1"),
    ],
    ids=["rich-1.30", "rich-1.36", "create-1.24", "create-1.36", "k0sctl-init-k0s"],
)
def test_replacing_any_optional_value_by_null_never_gives_an_error(text: str, version: str) -> None:
    """Property: a valid config stays error-free when any one of its mapping values becomes null."""
    catalog = Catalog.load()
    name = "k0sctl.yaml" if "k0sctl.k0sproject.io" in text else "k0s.yaml"
    data = yaml.safe_load(text)
    baseline = run_check(
        Collected([Source(name, text.encode(), True)]), catalog, Config(), cli_version=version
    )
    assert [f for f in baseline.findings if f.severity >= 3] == []
    kind = Kind.K0SCTL_CLUSTER if name == "k0sctl.yaml" else Kind.CLUSTER_CONFIG
    loaded = load_schema(version.split(".")[0][1:] + "." + version.split(".")[1], kind)
    assert loaded is not None
    tried = 0
    for path in optional_paths(data):
        if required_by_schema(loaded[0], path) or path[-1] in REQUIRED_BY_VALIDATE:
            continue
        if name == "k0sctl.yaml" and (
            path == ("spec",) or (path[:2] == ("spec", "hosts") and len(path) <= 4)
        ):
            continue  # hosts, roles and connections are required by k0sctl (K0S03x)
        variant = yaml.safe_dump(with_null(data, path)).encode()
        result = run_check(Collected([Source(name, variant, True)]), catalog, Config(), cli_version=version)
        errors = [f"{f.rule} {f.node}: {f.message}" for f in result.findings if f.severity >= 3]
        assert errors == [], path
        tried += 1
    assert tried > 20
