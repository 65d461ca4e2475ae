"""Hostile and broken inputs: each gives a finding or error naming the file, and the run goes on."""

from __future__ import annotations

from pathlib import Path

from checker.cli.app import main
from conftest import check_paths, only, write

GOOD = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  imagez: {}\n"


def test_a_directory_of_bad_files_reports_each_and_still_checks_the_good_one(tmp_path: Path) -> None:
    write(tmp_path, "repo/good/k0s.yaml", GOOD)
    write(tmp_path, "repo/syntax/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: [\n")
    (tmp_path / "repo/binary").mkdir(parents=True)
    (tmp_path / "repo/binary/k0s.yaml").write_bytes(b"k0s\x00\x00\xff")
    (tmp_path / "repo/latin1").mkdir()
    (tmp_path / "repo/latin1/k0s.yaml").write_bytes(b"apiVersion: k0s.k0sproject.io/v1beta1\n# caf\xe9\n")
    bomb = ['a: &a ["k0s","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    write(tmp_path, "repo/bomb/k0s.yaml", "\n".join(bomb) + "\n")
    (tmp_path / "repo/huge").mkdir()
    (tmp_path / "repo/huge/k0s.yaml").write_bytes(b"# k0s\n" + b"x: y\n" * (5 * 1024 * 1024))
    write(tmp_path, "repo/shapes/k0s.yaml", "- k0s\n- list\n---\njust a k0s scalar\n---\n")
    write(tmp_path, "repo/deep/k0s.yaml", "k0s: " + "[" * 2000 + "]" * 2000 + "\n")

    result = check_paths(["repo"], cwd=tmp_path, k0s_version="1.30")
    unreadable = {f.path for f in only(result.findings, "K0S001")}
    assert unreadable == {
        "repo/syntax/k0s.yaml",
        "repo/binary/k0s.yaml",
        "repo/latin1/k0s.yaml",
        "repo/bomb/k0s.yaml",
        "repo/huge/k0s.yaml",
        "repo/deep/k0s.yaml",
    }
    (schema,) = only(result.findings, "K0S002")
    assert schema.path == "repo/good/k0s.yaml" and schema.line == 4


def test_cli_never_prints_a_traceback_on_bad_input(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weird.yaml").write_bytes(b"\xfe\xff\x00k\x00")  # truncated UTF-16, named explicitly
    write(tmp_path, "empty.yaml", "")
    code = main(["check", "weird.yaml", "empty.yaml", "--k0s-version", "1.30", "--fail-on", "info"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "weird.yaml:1:1: error K0S001" in out
    assert "empty.yaml:1:1: info K0S001 file is empty" in out
    assert code == 1


def test_odd_shapes_inside_k0s_documents_are_findings_not_crashes(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        "p/plan.yaml",
        """\
        apiVersion: autopilot.k0sproject.io/v1beta2
        kind: Plan
        metadata: {name: x}
        spec:
          commands: [{k0supdate: {version: [1], platforms: 3}}, 7, {airgapupdate: null}]
        """,
    )
    write(
        tmp_path,
        "c/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            coredns: {image: null, version: null}
          network: null
        """,
    )
    code = main(["check", "p", "c", "--k0s-version", "1.30"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1 and "K0S002" in out
    assert "K0S101" not in out  # null image and version pin nothing


def test_a_failing_step_becomes_k0s008_and_the_rest_still_runs(tmp_path: Path) -> None:
    from checker.workflows.check import _guarded

    write(tmp_path, "c/k0s.yaml", GOOD)
    cluster = check_paths(["c"], cwd=tmp_path, k0s_version="1.30").clusters[0]

    def step(limit: int) -> list:
        return [] if limit > 0 else {}["no such key"]

    assert _guarded("the check of K0S999", cluster, step, 1) == []
    (finding,) = _guarded("the check of K0S999", cluster, step, 0)
    assert (finding.rule, finding.path, finding.line) == ("K0S008", "c/k0s.yaml", 1)
    assert "the check of K0S999 failed" in finding.message and "KeyError" in finding.message
