"""The fleet deployments: the Policy Reporter overlay (deploy/policy-reporter) rendered with the real
`kubectl kustomize` when kubectl is installed, and the Indexed Job (deploy/kubernetes/fleet-job.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from checker.inputs.yamldoc import parse_bytes
from conftest import REPO_ROOT

OVERLAY = REPO_ROOT / "deploy" / "policy-reporter"


def documents(text: str) -> list[Any]:
    parsed = parse_bytes("rendered.yaml", text.encode())
    assert not parsed.problems, parsed.problems
    return [d.data for d in parsed.documents if d.data is not None]


def kustomize(path: str) -> list[Any]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run(
        [kubectl, "kustomize", path], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return documents(done.stdout)


def test_the_policy_reporter_overlay_publishes_a_named_report() -> None:
    rendered = kustomize(str(OVERLAY))
    (cronjob,) = [o for o in rendered if o["kind"] == "CronJob"]
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert "--in-cluster" in args and "--publish-report" in args
    assert args[args.index("--report-name") + 1] == "k0s-policy-edge-prod"
    # the overlay adds no permission: the base's write Role is the only one on policyreports
    roles = [o for o in rendered if o["kind"] in ("Role", "ClusterRole")]
    writes = [
        (o["metadata"]["name"], rule["verbs"])
        for o in roles
        for rule in o["rules"]
        if "policyreports" in rule["resources"]
    ]
    assert writes == [("k0s-policy-audit-reports", ["create", "get", "patch"])]
