"""The in-cluster audit deployment (deploy/kubernetes/) and the workflow example of
docs/integrations/audits.md, read with the tool's own schema-free YAML loader: the audit's role is
read-only except for the one PolicyReport it publishes, and covers exactly what `k0s-policy audit
--in-cluster --publish-report` reads and writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.inputs.yamldoc import parse_bytes
from conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy" / "kubernetes"
AUDITS_DOC = REPO_ROOT / "docs" / "integrations" / "audits.md"
READ_RESOURCES = {
    ("k0s.k0sproject.io", "clusterconfigs"),
    ("autopilot.k0sproject.io", "plans"),
    ("", "nodes"),
}
WRITE_RESOURCES = {("wgpolicyk8s.io", "policyreports")}
PLACEHOLDER = "REPLACE-ME/k0s-policy:0.1.0"
# the fleet's Indexed Job (tests/test_deploy_fleet.py) is applied on its own, not with the audit
NOT_THE_AUDIT = {"kustomization.yaml", "fleet-job.yaml"}


def load(path: Path) -> list[Any]:
    parsed = parse_bytes(path.name, path.read_bytes())
    assert not parsed.problems, parsed.problems
    return [document.data for document in parsed.documents if document.data is not None]


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name in NOT_THE_AUDIT:
            continue
        for data in load(path):
            key = (data["kind"], data["metadata"]["name"])
            assert key not in found, f"{key} defined twice"
            found[key] = data
    return found


def test_kustomization_lists_every_manifest() -> None:
    (kustomization,) = load(DEPLOY / "kustomization.yaml")
    manifests = {p.name for p in DEPLOY.glob("*.yaml")} - NOT_THE_AUDIT
    assert set(kustomization["resources"]) == manifests


def test_only_the_expected_objects(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert set(objects) == {
        ("Namespace", "k0s-policy"),
        ("ServiceAccount", "k0s-policy-audit"),
        ("Role", "k0s-policy-audit-clusterconfig"),
        ("RoleBinding", "k0s-policy-audit-clusterconfig"),
        ("ClusterRole", "k0s-policy-audit-read"),
        ("ClusterRoleBinding", "k0s-policy-audit-read"),
        ("Role", "k0s-policy-audit-reports"),
        ("RoleBinding", "k0s-policy-audit-reports"),
        ("CronJob", "k0s-policy-audit"),
    }


def test_rbac_is_least_privilege_exactly(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    """One permission per read the audit makes: get of kube-system/k0s by name, list of plans and
    nodes; nothing else, no write verb, no wildcard."""
    role = objects[("Role", "k0s-policy-audit-clusterconfig")]
    assert role["metadata"]["namespace"] == "kube-system"
    assert role["rules"] == [
        {
            "apiGroups": ["k0s.k0sproject.io"],
            "resources": ["clusterconfigs"],
            "resourceNames": ["k0s"],
            "verbs": ["get"],
        }
    ]
    cluster_role = objects[("ClusterRole", "k0s-policy-audit-read")]
    assert cluster_role["rules"] == [
        {"apiGroups": ["autopilot.k0sproject.io"], "resources": ["plans"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
    ]
    assert "aggregationRule" not in cluster_role
    # the one write: server-side apply of the audit's PolicyReport, in the audit's own namespace only
    reports = objects[("Role", "k0s-policy-audit-reports")]
    assert reports["metadata"]["namespace"] == "k0s-policy"
    assert reports["rules"] == [
        {"apiGroups": ["wgpolicyk8s.io"], "resources": ["policyreports"], "verbs": ["create", "get", "patch"]}
    ]
    granted = {
        (group, resource)
        for rule in (*role["rules"], *cluster_role["rules"], *reports["rules"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert granted == READ_RESOURCES | WRITE_RESOURCES
    writing = [
        rule for rule in (*role["rules"], *cluster_role["rules"]) if set(rule["verbs"]) - {"get", "list"}
    ]
    assert writing == []


def test_the_rbac_covers_the_calls_the_live_reader_makes() -> None:
    """The reader in checker/inputs/live.py uses exactly these client calls; a new call needs a new
    permission (and this test changes with it)."""
    source = (REPO_ROOT / "checker" / "inputs" / "live.py").read_text(encoding="utf-8")
    calls = {
        name
        for name in ("get_namespaced_custom_object", "list_cluster_custom_object", "list_node")
        if f".{name}(" in source
    }
    assert calls == {"get_namespaced_custom_object", "list_cluster_custom_object", "list_node"}
    other = [
        word
        for word in ("create_", "patch_", "replace_", "delete_", "watch", "read_namespaced_secret")
        if word in source
    ]
    assert other == []
    # the publisher's one call is a patch (server-side apply) of a namespaced custom object
    publisher = (REPO_ROOT / "checker" / "report" / "publish.py").read_text(encoding="utf-8")
    assert publisher.count(".patch_namespaced_custom_object(") == 1
    assert "application/apply-patch+yaml" in publisher and "field_manager=FIELD_MANAGER" in publisher
    assert [w for w in ("create_", "replace_", "delete_", "get_", "list_") if f".{w}" in publisher] == []


@pytest.mark.parametrize(
    ("kind", "name", "role_kind", "namespace"),
    [
        ("RoleBinding", "k0s-policy-audit-clusterconfig", "Role", "kube-system"),
        ("RoleBinding", "k0s-policy-audit-reports", "Role", "k0s-policy"),
        ("ClusterRoleBinding", "k0s-policy-audit-read", "ClusterRole", None),
    ],
)
def test_bindings_tie_the_roles_to_the_cronjob_account(
    objects: dict[tuple[str, str], dict[str, Any]],
    kind: str,
    name: str,
    role_kind: str,
    namespace: str | None,
) -> None:
    binding = objects[(kind, name)]
    assert binding["metadata"].get("namespace") == namespace
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name}
    account = objects[("ServiceAccount", "k0s-policy-audit")]
    cronjob = objects[("CronJob", "k0s-policy-audit")]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": pod["serviceAccountName"],
            "namespace": cronjob["metadata"]["namespace"],
        }
    ]
    assert account["metadata"]["namespace"] == cronjob["metadata"]["namespace"] == "k0s-policy"


def test_cronjob_runs_the_audit_in_cluster(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    cronjob = objects[("CronJob", "k0s-policy-audit")]
    assert len(cronjob["spec"]["schedule"].split()) == 5
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (clone,) = pod["initContainers"]
    (audit,) = pod["containers"]
    assert clone["command"][:2] == ["git", "clone"] and "--depth" not in " ".join(clone["command"])
    assert audit["args"][0] == "audit" and "--in-cluster" in audit["args"]
    assert "--publish-report" in audit["args"]
    assert audit["workingDir"] == "/work/repo" and clone["command"][-1] == "/work/repo"
    assert clone["image"] == audit["image"] == PLACEHOLDER
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in (clone, audit):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}


def test_the_placeholder_image_is_documented() -> None:
    doc = AUDITS_DOC.read_text(encoding="utf-8")
    assert PLACEHOLDER in doc and "deploy/kubernetes/Dockerfile" in doc
    assert "deploy/kubernetes/Dockerfile" in (DEPLOY / "cronjob.yaml").read_text(encoding="utf-8")


def yaml_blocks(text: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if current is None and line.strip() == "```yaml":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_the_documented_workflow_is_a_scheduled_audit() -> None:
    (workflow_text,) = yaml_blocks(AUDITS_DOC.read_text(encoding="utf-8"))
    parsed = parse_bytes("workflow.yaml", workflow_text.encode())
    assert not parsed.problems
    workflow = parsed.documents[0].data
    # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
    trigger = workflow.get("on", workflow.get(True))
    (schedule,) = trigger["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    steps = workflow["jobs"]["audit"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    audit = next(step for step in steps if step.get("id") == "audit")
    assert "k0s-policy audit" in audit["run"] and "--format markdown --output audit.md" in audit["run"]
    assert "GITHUB_STEP_SUMMARY" in audit["run"]
