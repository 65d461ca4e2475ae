"""Conftest-compatible Rego policies (checker.rego.policies): real .rego files evaluated by regopy, no mocks."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.config import Config
from checker.findings import Severity
from checker.inputs.sources import collect
from checker.k0s.releases import Catalog
from checker.rego.data import export
from checker.rego.policies import PolicyError, RegoPolicies, load_policy_set, parse_node_path
from checker.rego.verify import verify
from checker.report.conftest_json import entries
from checker.report.model import ReportInput
from checker.workflows.check import Result, Selection, run_check
from conftest import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "rego"
SHIPPED = REPO_ROOT / "policies" / "rego"
CORE_RULES = frozenset({"K0S101", "K0S102", "K0S201", "K0S203"})
CORE_NAMESPACES = ["k0s.images", "k0s.pullpolicy"]


def rego_check(
    paths: Iterable[str],
    policy_dirs: Iterable[str],
    *,
    namespaces: list[str] | None = ["main"],  # noqa: B006 - never mutated
    data: Iterable[str] = (),
    combine: bool = False,
    version: str | None = None,
    config: Config | None = None,
    select: Iterable[str] = (),
    cwd: Path = FIXTURES,
) -> tuple[Result, RegoPolicies]:
    policies = RegoPolicies(load_policy_set(list(policy_dirs), list(data), cwd=cwd), namespaces, combine)
    result = run_check(
        collect(list(paths), cwd=cwd),
        Catalog.load(),
        config or Config(),
        cli_version=version,
        selection=Selection(select=frozenset(select)),
        policies=policies,
    )
    return result, policies


def rego_findings(result: Result, suppressed: bool = False) -> list[tuple[str, str, int, int, str]]:
    return [
        (f.rule, f.path, f.line, f.column, f.message)
        for f in result.findings
        if f.data.get("engine") == "rego" and bool(f.suppressed_by) == suppressed
    ]


# --- conftest's conventions ---------------------------------------------------------------------


def test_deny_violation_and_warn_with_prefixes_and_locations() -> None:
    result, _ = rego_check(["repo"], ["conventions"])
    assert result.input_errors == []
    found = rego_findings(result)
    assert (
        "rego:main.deny",
        "repo/cluster/k0s.yaml",
        1,
        1,
        "default_pull_policy Never is not allowed here",
    ) in found
    # an object with msg: id names it, _loc as a node path points at the node
    assert ("ORG001", "repo/cluster/k0s.yaml", 4, 3, "the cluster has no name") in found
    # _loc as line and column; severity from the metadata
    assert ("rego:main.warn", "repo/cluster/k0s.yaml", 6, 3, "images are pinned") in found
    # prefixed rules, and a node path through an embedded k0sctl config
    assert (
        "rego:main.violation_k0sctl",
        "repo/edge/k0sctl.yaml",
        15,
        22,
        "k0sctl with a pinned kube-proxy",
    ) in found
    assert ("rego:main.warn_no_repository", "repo/edge/k0sctl.yaml", 23, 5, "no private registry") in found
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["rego:main.deny"].severity is Severity.ERROR
    assert by_rule["ORG001"].severity is Severity.ERROR  # violation
    assert by_rule["rego:main.warn"].severity is Severity.INFO  # metadata severity overrides warning
    assert by_rule["rego:main.warn_no_repository"].severity is Severity.WARNING
    assert by_rule["ORG001"].data["metadata"] == {"id": "ORG001", "owner": "platform"}
    assert by_rule["ORG001"].node == "metadata"


def test_exception_rules_and_inline_comments_suppress() -> None:
    result, _ = rego_check(["repo"], ["conventions"])
    suppressed = {(f.rule, f.path, f.line): f.suppressed_by for f in result.findings if f.suppressed_by}
    # exception[rules] { rules := ["skipped"] } switches deny_skipped off, in every document
    assert suppressed[("rego:main.deny_skipped", "repo/cluster/k0s.yaml", 1)].startswith("Rego exception")
    assert ("rego:main.deny_skipped", "repo/edge/k0sctl.yaml", 17) in suppressed
    # `# k0s-policy: ignore[rego:main.deny_pull_policy] reason` works like for any rule
    assert suppressed[("rego:main.deny_pull_policy", "repo/cluster/k0s.yaml", 8)].startswith("inline comment")


def test_select_and_ignore_apply_to_policy_findings() -> None:
    only_org, _ = rego_check(["repo"], ["conventions"], select=["ORG"])
    assert {f.rule for f in only_org.findings} == {"ORG001"}
    prefix, _ = rego_check(
        ["repo/cluster"], ["conventions"], select=["REGO:MAIN.WARN"]
    )  # as the CLI passes it
    assert {f.rule for f in prefix.findings} == {"rego:main.warn"}


def test_namespaces_default_to_main() -> None:
    main_only, _ = rego_check(["repo/cluster"], ["conventions"])
    assert not any(f.rule.startswith(("rego:team", "rego:legacy")) for f in main_only.findings)
    extra, _ = rego_check(["repo/cluster"], ["conventions"], namespaces=["team.extra"])
    assert [f.rule for f in extra.findings if f.data.get("engine")] == ["rego:team.extra.deny"]
    everything, policies = rego_check(["repo/cluster"], ["conventions"], namespaces=None)
    rules = {f.rule for f in everything.findings}
    assert {"rego:team.extra.deny", "rego:legacy.deny", "ORG001"} <= rules
    assert set(policies.namespaces) == {"main", "team.extra", "legacy", "registries", "combined"}
    with pytest.raises(PolicyError, match=r"no policy declares package nope"):
        RegoPolicies(load_policy_set(["conventions"], cwd=FIXTURES), ["nope"])


def test_rego_v0_rules_with_string_and_object_messages() -> None:
    result, _ = rego_check(["repo"], ["conventions"], namespaces=["legacy"])
    found = sorted(
        (f.rule, f.path, f.message, bool(f.suppressed_by)) for f in result.findings if f.data.get("engine")
    )
    assert found == [
        ("OLD1", "repo/cluster/k0s.yaml", "v0 warn with metadata", False),
        # exception[rules] { ...; rules := ["old"] } switches warn_old off where metadata.name is edge
        ("OLD1", "repo/edge/k0sctl.yaml", "v0 warn with metadata", True),
        ("rego:legacy.deny", "repo/cluster/k0s.yaml", "v0 deny", False),
        ("rego:legacy.deny", "repo/edge/k0sctl.yaml", "v0 deny", False),
    ]


def test_data_files_are_data_documents() -> None:
    without, _ = rego_check(["repo/cluster"], ["conventions"], namespaces=["registries"])
    assert [f.message for f in without.findings if f.data.get("engine")] == [
        "registry mirror.internal is not allowed"
    ]
    with_data, _ = rego_check(
        ["repo/cluster"], ["conventions"], namespaces=["registries"], data=["data/allowed.yaml"]
    )
    assert [f for f in with_data.findings if f.data.get("engine")] == []


def test_combine_gives_all_documents_of_a_cluster_as_one_input() -> None:
    result, policies = rego_check(["repo"], ["conventions"], namespaces=["combined"], combine=True)
    found = rego_findings(result)
    # "1.contents.spec.images.default_pull_policy": the second document of the edge cluster
    assert (
        "rego:combined.deny",
        "repo/edge/k0sctl.yaml",
        23,
        26,
        "a k0sctl file and a ClusterConfig disagree on the pull policy",
    ) in found
    # {"file": ..., "line": 2} from input[1].path
    assert ("rego:combined.warn", "repo/edge/k0sctl.yaml", 2, 1, "documents in this cluster") in found
    assert policies.documents == 2  # one input per cluster


def test_policies_compile_once_per_run() -> None:
    result, policies = rego_check(["repo", "parity"], ["conventions"])
    assert result.objects >= 8
    assert policies.documents >= 7  # every top-level k0s object is one input
    assert policies.compilations == 1
    assert policies.queries == policies.documents  # one query of the compiled bundle per document
    again = policies.evaluate(result.clusters)
    assert again[1] == [] and policies.compilations == 2  # a second run compiles again, once


def test_node_paths() -> None:
    assert parse_node_path("spec.hosts[0].role") == ["spec", "hosts", 0, "role"]
    assert parse_node_path("spec.hosts.0.role") == ["spec", "hosts", "0", "role"]


# --- broken policies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("syntax", "broken/syntax/policy.rego:7:6: cannot compile the policy"),
        (
            "undefined_function",
            "broken/undefined_function/policy.rego:7: function no_such_helper is not defined",
        ),
        ("runtime", "broken/runtime/policy.rego:10: rule deny of package main failed at runtime"),
        ("crash", "broken/crash/policy.rego: the embedded Rego engine"),
    ],
)
def test_broken_policies_exit_2_naming_file_and_line(
    policy: str, expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code = main(["check", "repo/cluster", "--no-config", "--policy", f"broken/{policy}"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_runtime_errors_leave_the_other_rules_running(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    code = main(["check", "repo/cluster", "--no-config", "--policy", "broken/runtime", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert "rego:main.warn" in {f["rule"] for f in report["findings"]}
    assert report["input_errors"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--policy", "nowhere"], "--policy nowhere: no such file or directory"),
        (["--policy", "conventions", "--namespace", "nope"], "no policy declares package nope"),
        (["--policy", "conventions", "--data", "conventions/main.rego"], "--data conventions/main.rego"),
        (["--namespace", "main"], "need --policy"),
    ],
)
def test_usage_errors(
    arguments: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    assert main(["check", "repo/cluster", "--no-config", *arguments]) == 2
    assert expected in capsys.readouterr().err


def test_a_boolean_deny_rule_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text("package main\n\nimport rego.v1\n\ndeny if input.x\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"p.rego:5: rule deny is a boolean"):
        load_policy_set([str(tmp_path)], cwd=tmp_path)


# --- verify -------------------------------------------------------------------------------------


def test_verify_reports_passes_and_failures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    assert main(["verify", "--policy", "verify/passing", "--data", "data/allowed.yaml"]) == 0
    out = capsys.readouterr().out
    assert "PASS - verify/passing/policy_test.rego:5 - main - test_never_is_found" in out
    assert out.rstrip().endswith("\n2 tests: 2 passed")
    assert main(["verify", "--policy", "verify/failing"]) == 1
    out = capsys.readouterr().out
    assert "FAIL - verify/failing/policy_test.rego:9 - team - test_fails: undefined" in out
    assert out.rstrip().endswith("\n3 tests: 1 passed, 2 failures")
    assert main(["verify", "--policy", "verify/failing", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"tests": 3, "passed": 1, "failures": 2}
    assert [t["name"] for t in report["tests"] if not t["passed"]] == ["test_fails", "test_errors"]


def test_the_shipped_policies_pass_their_own_tests() -> None:
    result = verify(load_policy_set([str(SHIPPED)], tests=True, cwd=REPO_ROOT))
    assert result.problems == []
    assert len(result.outcomes) >= 20
    assert [o.test.name for o in result.outcomes if not o.passed] == []


# --- conftest-json --------------------------------------------------------------------------------


def test_conftest_json_shape(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    code = main(
        ["check", "repo/cluster", "--no-config", "--policy", "conventions", "--format", "conftest-json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert isinstance(report, list)
    by_key = {(e["filename"], e["namespace"]): e for e in report}
    main_entry = by_key[("repo/cluster/k0s.yaml", "main")]
    assert list(main_entry)[:3] == ["filename", "namespace", "successes"]
    assert main_entry["successes"] == 2  # violation_k0sctl and warn_no_repository found nothing
    failures = {f["msg"]: f for f in main_entry["failures"]}
    assert failures["the cluster has no name"]["metadata"] == {
        "id": "ORG001",
        "owner": "platform",
        "query": "data.main.violation",
    }
    assert failures["the cluster has no name"]["loc"] == {"file": "repo/cluster/k0s.yaml", "line": 4}
    assert {w["msg"] for w in main_entry["warnings"]} == {"images are pinned"}
    assert {e["msg"] for e in main_entry["exceptions"]} == {
        "never reported: the exception names it",
        "pull policy Never",
    }
    own = by_key[("repo/cluster/k0s.yaml", "k0s-policy")]
    assert {f["metadata"]["id"] for f in own["failures"]} >= {"K0S102"}
    assert all(f["metadata"]["query"] == f"data.k0s-policy.{f['metadata']['id']}" for f in own["failures"])
    assert own["successes"] > 0  # the built-in rules that ran on the file and found nothing


def test_conftest_json_counts_built_in_successes_and_lists_clean_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only K0S102 selected: the file with a stale pin has 0 successes and one failure, the
    clean file an entry with 1 success and nothing else; stdin is the filename ""."""
    stale = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata: {name: k0s}\nspec:\n  images:\n    kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.29.4}\n"
    clean = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata: {name: k0s}\nspec: {}\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "k0s.yaml").write_text(stale, encoding="utf-8")
    (tmp_path / "b" / "k0s.yaml").write_text(clean, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = ["check", "a", "b", "--no-config", "--k0s-version", "1.30", "--select", "K0S102"]
    assert main([*argv, "--format", "conftest-json"]) == 1
    report = json.loads(capsys.readouterr().out)
    by_file = {e["filename"]: e for e in report}
    assert by_file["b/k0s.yaml"] == {"filename": "b/k0s.yaml", "namespace": "k0s-policy", "successes": 1}
    assert by_file["a/k0s.yaml"]["successes"] == 0
    assert [f["metadata"]["query"] for f in by_file["a/k0s.yaml"]["failures"]] == ["data.k0s-policy.K0S102"]

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stale.encode())))
    assert (
        main(
            [
                "check",
                "-",
                "--no-config",
                "--k0s-version",
                "1.30",
                "--select",
                "K0S102",
                "--format",
                "conftest-json",
            ]
        )
        == 1
    )
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["filename"] == "" and entry["failures"][0]["loc"]["file"] == ""


def test_conftest_json_lists_files_that_passed() -> None:
    report = ReportInput(findings=[], policy_successes={("a.yaml", "main"): 2})
    assert entries(report) == [{"filename": "a.yaml", "namespace": "main", "successes": 2}]


# --- the core checks in Rego, against the Python rules ------------------------------------------


@pytest.fixture(scope="module")
def release_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rego-data") / "k0s-releases.json"
    code = main(["releases", "export-data", "--output", str(path)])
    assert code == 0
    return path


def _parity(root: str, tmp_path: Path, *, version: str | None, airgapped: bool) -> tuple[Counter, Counter]:
    catalog = Catalog.load()
    data = tmp_path / f"data-{version}-{airgapped}.json"
    data.write_text(json.dumps(export(catalog, target=version or "", airgapped=airgapped)), encoding="utf-8")
    config = Config(airgapped=True) if airgapped else Config()
    python = run_check(
        collect([root], cwd=FIXTURES),
        catalog,
        config,
        cli_version=version,
        selection=Selection(select=CORE_RULES),
    )
    rego, _ = rego_check(
        [root],
        [str(SHIPPED)],
        namespaces=CORE_NAMESPACES,
        data=[str(data)],
        version=version,
        config=config,
        select=CORE_RULES,
    )
    assert rego.input_errors == []
    expected = Counter((f.rule, f.path, f.line) for f in python.active)
    # the Rego copies report the Python rule's id with an R (K0S102R)
    found = Counter(
        (f.rule.removesuffix("R"), f.path, f.line) for f in rego.active if f.data.get("engine") == "rego"
    )
    assert all(f.rule.endswith("R") for f in rego.active if f.data.get("engine") == "rego")
    return expected, found


@pytest.mark.parametrize(
    ("version", "airgapped"),
    [(None, False), ("v1.30.5+k0s.0", False), ("1.29", True)],
)
def test_parity_with_the_python_rules(version: str | None, airgapped: bool, tmp_path: Path) -> None:
    expected, found = _parity("parity", tmp_path, version=version, airgapped=airgapped)
    assert found == expected
    if version is None:
        assert {rule for rule, _, _ in expected} == CORE_RULES  # the fixtures exercise all four


def test_parity_on_the_example_upgrade(tmp_path: Path) -> None:
    expected, found = _parity("../../../examples", tmp_path, version="v1.30.5+k0s.0", airgapped=True)
    assert sum(expected.values()) > 10
    assert found == expected


def test_export_data_resolves_the_target(release_data: Path, tmp_path: Path) -> None:
    data = json.loads(release_data.read_text(encoding="utf-8"))["k0s_releases"]
    assert data["format"] == 1 and data["target"] == "" and data["newest"] == Catalog.load().newest().version
    assert data["patches"]["1.30"]["v1.30.5+k0s.0"]["images"]["kubeproxy"] == (
        "quay.io/k0sproject/kube-proxy|v1.30.5|"
    )
    out = tmp_path / "target.json"
    assert (
        main(["releases", "export-data", "--k0s-version", "1.30.5", "--airgapped", "--output", str(out)]) == 0
    )
    exported = json.loads(out.read_text(encoding="utf-8"))["k0s_releases"]
    assert exported["target"] == "v1.30.5+k0s.0" and exported["airgapped"] is True


def test_export_data_rejects_an_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["releases", "export-data", "--k0s-version", "9.9"]) == 2
    assert "9.9" in capsys.readouterr().err


def test_shipped_policies_run_from_the_command_line(
    release_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    arguments = ["check", "parity/k0sctl-130", "--no-config", "--select", "K0S102"]
    arguments += ["--policy", str(SHIPPED), "--data", str(release_data), "--format", "json"]
    arguments += ["--namespace", "k0s.images"]
    assert main(arguments) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    # the Python rule and its Rego twin, on the same node, each under its own id
    assert Counter((f["rule"], f["line"]) for f in findings) == Counter(
        {("K0S102", 29): 1, ("K0S102R", 29): 1, ("K0S102", 36): 1, ("K0S102R", 36): 1}
    )


@pytest.mark.parametrize(
    ("choice", "kept"),
    [(["--select", "K0S102", "--ignore", "K0S102R"], "K0S102"), (["--select", "K0S102R"], "K0S102R")],
)
def test_select_and_ignore_choose_between_a_rule_and_its_rego_copy(
    choice: list[str],
    kept: str,
    release_data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(FIXTURES)
    arguments = ["check", "parity/k0sctl-130", "--no-config", *choice]
    arguments += ["--policy", str(SHIPPED), "--data", str(release_data), "--format", "json"]
    arguments += ["--namespace", "k0s.images"]
    assert main(arguments) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert Counter((f["rule"], f["line"]) for f in findings) == Counter({(kept, 29): 1, (kept, 36): 1})
