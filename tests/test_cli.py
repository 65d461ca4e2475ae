from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli.app import main
from conftest import REPO_ROOT, write

CLEAN = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  images:\n    default_pull_policy: Never\n"
BROKEN = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  imagez: {}\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_codes_and_fail_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ok/k0s.yaml", CLEAN)
    write(tmp_path, "bad/k0s.yaml", BROKEN)
    assert run(["check", "ok", "--k0s-version", "1.30"], capsys)[0] == 0
    code, out, _ = run(["check", "bad", "--k0s-version", "1.30"], capsys)
    assert code == 1
    assert "bad/k0s.yaml:4:3: error K0S002 spec: unknown field `imagez`" in out
    assert "did you mean `images`?" in out
    assert run(["check", "bad", "--k0s-version", "1.30", "--fail-on", "never"], capsys)[0] == 0
    # the info finding about an assumed version fails only with --fail-on info
    assert run(["check", "ok"], capsys)[0] == 0
    assert run(["check", "ok", "--fail-on", "info"], capsys)[0] == 1
    assert run(["check", "missing.yaml"], capsys)[0] == 2
    assert run(["check", "ok", "--k0s-version", "9.99"], capsys)[0] == 2


def test_json_report_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad/k0s.yaml", BROKEN)
    code, out, _ = run(["check", "bad", "--k0s-version", "1.30", "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["version"] == 1
    (finding,) = report["findings"]
    assert {k: finding[k] for k in ("rule", "severity", "path", "line", "column")} == {
        "rule": "K0S002",
        "severity": "error",
        "path": "bad/k0s.yaml",
        "line": 4,
        "column": 3,
    }
    assert len(finding["fingerprint"]) == 24 and finding["cluster"] == "bad"
    assert report["summary"]["findings"]["error"] == 1
    assert report["summary"]["files_read"] == 1


def test_several_formats_and_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad/k0s.yaml", BROKEN)
    code, out, _ = run(
        [
            "check",
            "bad",
            "--k0s-version",
            "1.30",
            "--format",
            "json",
            "--output",
            "r.json",
            "--format",
            "text",
        ],
        capsys,
    )
    assert code == 1
    assert json.loads((tmp_path / "r.json").read_text())["findings"][0]["rule"] == "K0S002"
    assert "K0S002" in out and not out.lstrip().startswith("{")


def test_fingerprint_is_stable_across_unrelated_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad/k0s.yaml", BROKEN)
    first = json.loads(run(["check", "bad", "--k0s-version", "1.30", "--format", "json"], capsys)[1])
    write(tmp_path, "bad/k0s.yaml", "# a new comment\n# and another\n" + BROKEN)
    second = json.loads(run(["check", "bad", "--k0s-version", "1.30", "--format", "json"], capsys)[1])
    assert first["findings"][0]["line"] + 2 == second["findings"][0]["line"]
    assert first["findings"][0]["fingerprint"] == second["findings"][0]["fingerprint"]


def test_stdin_stream_and_module_entry_point(tmp_path: Path) -> None:
    stream = "apiVersion: v1\nkind: ConfigMap\n---\n" + BROKEN
    done = subprocess.run(
        [sys.executable, "-m", "checker", "check", "-", "--k0s-version", "1.30"],
        input=stream,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "<stdin>:7:3: error K0S002" in done.stdout


def test_bad_config_file_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ok/k0s.yaml", CLEAN)
    write(tmp_path, ".k0s-policy.yaml", "k0s_version: [1]\n")
    code, _, err = run(["check", "ok"], capsys)
    assert code == 2
    assert ".k0s-policy.yaml:1:" in err


def test_story_example_shows_the_stale_pins(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(REPO_ROOT)
    code, out, _ = run(["check", "examples/airgap-upgrade"], capsys)
    assert code == 1
    assert "examples/airgap-upgrade/manifests/clusterconfig-k0s.yaml:37:16: error K0S102 kubeproxy" in out
    assert "the default of k0s v1.29.4+k0s.0" in out
    assert "error K0S104" in out and "carries all 12 default images of k0s v1.29.4+k0s.0" in out
    assert "examples/airgap-upgrade/k0sctl.yaml:46:32: error K0S401" in out
    fixed_code, fixed_out, _ = run(["check", "examples/airgap-upgrade-fixed"], capsys)
    assert fixed_code == 0, fixed_out


def test_show_suppressed_and_airgap_list_from_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
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
              version: 9.9.9  # k0s-policy: ignore[K0S103] patched build
        """,
    )
    code, out, _ = run(["check", "c", "--k0s-version", "1.30", "--select", "K0S103"], capsys)
    assert "K0S103" not in out and "1 suppressed" in out
    code, out, _ = run(
        ["check", "c", "--k0s-version", "1.30", "--select", "K0S103", "--show-suppressed"], capsys
    )
    assert "c/k0s.yaml:7:16: warning K0S103" in out
    assert "suppressed: inline comment at line 7: patched build" in out
    write(tmp_path, "c/.k0s-policy.yaml", "airgap_images: lists/missing.txt\n")
    code, _, err = run(["check", "c"], capsys)
    assert code == 2 and "c/lists/missing.txt:1: cannot read the image list" in err


def test_skip_unrelated_passes_named_files_through_the_prefilter(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "chart/templates/deploy.yaml", "kind: Deployment\nspec: [\n")
    write(tmp_path, "bad/k0s.yaml", BROKEN)
    named = ["check", "chart/templates/deploy.yaml", "bad/k0s.yaml", "--k0s-version", "1.30"]
    code, out, _ = run(named, capsys)
    assert code == 1 and "chart/templates/deploy.yaml:3:1: error K0S001" in out  # a named template is parsed
    code, out, _ = run([*named, "--skip-unrelated"], capsys)
    assert code == 1
    assert "deploy.yaml" not in out and "bad/k0s.yaml:4:3: error K0S002" in out
    assert out.endswith("\n1 file, 1 document, 1 cluster: 1 error\n")  # one plural rule for every count
