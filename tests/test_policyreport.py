"""`--format policyreport`: wgpolicyk8s.io/v1alpha2 PolicyReports from real checks and audits of real
files, each validated against the JSON Schema written from the wg-policy CRD's fields
(tests/fixtures/report-schemas/policyreport-v1alpha2.schema.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checker.cli.app import main
from checker.rules import RULES_BY_ID
from conftest import REPO_ROOT, TYPO, write

SCHEMA_FILE = REPO_ROOT / "tests" / "fixtures" / "report-schemas" / "policyreport-v1alpha2.schema.json"
LIVE = REPO_ROOT / "tests" / "fixtures" / "live"
STORY = REPO_ROOT / "examples" / "airgap-upgrade"
FIXED = REPO_ROOT / "examples" / "airgap-upgrade-fixed"
K0SCTL_140 = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: lab
spec:
  hosts:
    - role: single
      ssh: {address: 10.0.0.1}
  k0s:
    version: v1.40.0+k0s.0
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def reports_of(document: dict[str, Any], validator: jsonschema.Draft202012Validator) -> list[dict[str, Any]]:
    """The report objects of one output (a List holds several), each valid against the schema and with
    a summary that counts its results."""
    items = document["items"] if document.get("kind") == "List" else [document]
    if document.get("kind") == "List":
        assert document["apiVersion"] == "v1" and len(items) > 1
    for item in items:
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(item)]
        assert not problems, problems
        counted = {key: sum(1 for r in item["results"] if r["result"] == key) for key in item["summary"]}
        assert counted == item["summary"]
        assert {r["source"] for r in item["results"]} <= {"k0s-policy"}
    return items


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def test_check_writes_one_policy_report_scoped_to_the_clusterconfig(
    capsys: pytest.CaptureFixture[str], validator: jsonschema.Draft202012Validator
) -> None:
    code, document = run(["check", str(STORY), "--format", "policyreport"], capsys)
    _, as_json = run(["check", str(STORY), "--format", "json"], capsys)
    (report,) = reports_of(document, validator)
    assert code == 1
    assert report["kind"] == "PolicyReport" and report["metadata"]["namespace"] == "kube-system"
    assert report["scope"] == {
        "apiVersion": "k0s.k0sproject.io/v1beta1",
        "kind": "ClusterConfig",
        "name": "k0s",
        "namespace": "kube-system",
    }
    findings = [r for r in report["results"] if r["result"] in ("fail", "warn")]
    # one result per finding, with the finding's facts as string properties
    expected = sorted((f["rule"], f["path"], str(f["line"]), f["fingerprint"]) for f in as_json["findings"])
    got = sorted(
        (r["policy"], r["properties"]["file"], r["properties"]["line"], r["properties"]["fingerprint"])
        for r in findings
    )
    assert got == expected
    by_severity = {(r["result"], r["severity"]) for r in findings}
    assert by_severity <= {("fail", "high"), ("warn", "medium"), ("warn", "low")}
    assert ("fail", "high") in by_severity and ("warn", "medium") in by_severity
    for result in findings:
        assert result["rule"] == RULES_BY_ID[result["policy"]].name
    # rules that ran and found nothing are passes
    passed = {r["policy"] for r in report["results"] if r["result"] == "pass"}
    assert passed and not passed & {f["rule"] for f in as_json["findings"]}


def test_fail_on_decides_fail_or_warn(capsys: pytest.CaptureFixture[str], validator) -> None:
    _, document = run(["check", str(STORY), "--format", "policyreport", "--fail-on", "warning"], capsys)
    (report,) = reports_of(document, validator)
    results = {(r["result"], r["severity"]) for r in report["results"] if "severity" in r}
    assert ("fail", "medium") in results and ("warn", "medium") not in results
    _, document = run(["check", str(STORY), "--format", "policyreport", "--fail-on", "never"], capsys)
    (report,) = reports_of(document, validator)
    assert report["summary"]["fail"] == 0 and report["summary"]["warn"] > 0


def test_several_clusters_a_yaml_error_suppressions_and_skipped_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], validator
) -> None:
    write(tmp_path, "a/k0s.yaml", TYPO)
    write(
        tmp_path,
        "b/k0s.yaml",
        TYPO.replace("  imagez: {}", "  # k0s-policy: ignore[K0S002] migrating next sprint\n  imagez: {}"),
    )
    write(tmp_path, "lab/k0sctl.yaml", K0SCTL_140)
    write(tmp_path, "broken/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: [unclosed\n")
    monkeypatch.chdir(tmp_path)
    code, document = run(["check", ".", "--format", "policyreport"], capsys)
    items = reports_of(document, validator)
    assert code == 1 and document["kind"] == "List"
    by_cluster = {i["metadata"].get("annotations", {}).get("k0s-policy/cluster", ""): i for i in items}
    assert set(by_cluster) == {"a", "b", "lab (lab/k0sctl.yaml)", ""}
    names = [i["metadata"]["name"] for i in items]
    assert len(set(names)) == len(names) and all(len(n) <= 63 for n in names)
    (typo,) = [r for r in by_cluster["a"]["results"] if r["policy"] == "K0S002"]
    assert typo["result"] == "fail" and typo["properties"]["node"] == "spec.imagez"
    (silenced,) = [r for r in by_cluster["b"]["results"] if r["policy"] == "K0S002"]
    assert silenced["result"] == "skip" and "migrating next sprint" in silenced["properties"]["suppressed"]
    lab = by_cluster["lab (lab/k0sctl.yaml)"]
    skipped = {r["policy"] for r in lab["results"] if r["result"] == "skip"}
    assert {"K0S002", "K0S102"} <= skipped
    assert any(r["policy"] == "K0S003" and r["result"] == "fail" for r in lab["results"])
    # the file that is not YAML belongs to no cluster: a ClusterPolicyReport keeps its finding
    repository = by_cluster[""]
    assert repository["kind"] == "ClusterPolicyReport" and "namespace" not in repository["metadata"]
    (broken,) = repository["results"]
    assert broken["policy"] == "K0S001" and broken["properties"]["file"] == "broken/k0s.yaml"


def test_audit_policy_report_holds_findings_live_and_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], validator
) -> None:
    shutil.copytree(FIXED, tmp_path / "edge-prod")
    monkeypatch.chdir(tmp_path)
    live = [
        a
        for name in ("clusterconfig-k0s.yaml", "plans.yaml", "nodes.yaml")
        for a in ("--live", str(LIVE / name))
    ]
    code, document = run(["audit", "edge-prod", *live, "--format", "policyreport"], capsys)
    _, audit = run(["audit", "edge-prod", *live, "--format", "json"], capsys)
    (report,) = reports_of(document, validator)
    assert code == 1 and report["metadata"]["name"] == "k0s-policy-audit"
    assert report["scope"]["kind"] == "ClusterConfig" and report["scope"]["name"] == "k0s"
    fingerprints = sorted(
        r["properties"]["fingerprint"] for r in report["results"] if "fingerprint" in r["properties"]
    )
    assert fingerprints == sorted(f["fingerprint"] for f in audit["findings"])
    drift = [r for r in report["results"] if r["policy"] == "drift"]
    assert len(drift) == len(audit["drift"])
    assert sum(r["result"] == "fail" for r in drift) == audit["summary"]["drift"]["needs_action"]
    assert any(
        r["properties"]["file"].startswith("live:") for r in report["results"] if "file" in r["properties"]
    )


def test_an_unreadable_input_is_an_error_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], validator
) -> None:
    write(tmp_path, "a/k0s.yaml", TYPO)
    (tmp_path / "a" / "bad.yaml").write_bytes(
        b"apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n\xff\xfe"
    )
    monkeypatch.chdir(tmp_path)
    code = main(["check", "a", "missing.yaml", "--format", "policyreport"])
    out, err = capsys.readouterr()
    assert code == 2 and "missing.yaml" in err
    items = reports_of(json.loads(out), validator)
    (repository,) = [i for i in items if i["kind"] == "ClusterPolicyReport"]
    errors = [r for r in repository["results"] if r["result"] == "error"]
    assert errors and all(r["policy"] == "k0s-policy/input" for r in errors)
    assert any("missing.yaml" in r["message"] for r in errors)
