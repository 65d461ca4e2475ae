from __future__ import annotations

import os
from pathlib import Path

from checker.inputs.sources import STDIN_LABEL, collect, is_ignored
from conftest import write

K0S = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"


def test_directories_are_walked_recursively_and_prefiltered(tmp_path: Path) -> None:
    write(tmp_path, "a/k0s.yaml", K0S)
    write(tmp_path, "a/b/c/k0s.yml", K0S)
    write(tmp_path, "a/b/plain.json", '{"kind": "ConfigMap"}')
    write(tmp_path, "a/deploy.yaml", "kind: Deployment\n")
    write(tmp_path, "a/notes.txt", K0S)
    collected = collect(["a"], cwd=tmp_path)
    assert sorted(s.path for s in collected.sources) == ["a/b/c/k0s.yml", "a/k0s.yaml"]
    assert collected.files_seen == 4
    assert collected.files_prefiltered == 2


def test_git_directory_is_skipped_and_links_out_of_the_repository_are_reported(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, ".git/config.yaml", K0S)
    write(repo, "real/k0s.yaml", K0S)
    outside = write(tmp_path, "outside/secret.yaml", K0S)
    os.symlink(outside, repo / "link-out.yaml")
    os.symlink(outside.parent, repo / "dir-out")
    os.symlink(repo / "real" / "k0s.yaml", repo / "link-in.yaml")
    collected = collect([str(repo)], cwd=tmp_path)
    assert [s.path for s in collected.sources] == ["repo/real/k0s.yaml"]  # the in-tree link: the same file
    assert sorted((e.path, e.message.split(" (")[0]) for e in collected.unread) == [
        ("repo/dir-out", "symlink leads out of the repository"),
        ("repo/link-out.yaml", "symlink leads out of the repository"),
    ]


def test_globs_ignores_and_explicit_files(tmp_path: Path) -> None:
    write(tmp_path, "clusters/a/k0s.yaml", K0S)
    write(tmp_path, "clusters/b/k0s.yaml", K0S)
    write(tmp_path, "vendor/k0s.yaml", K0S)
    collected = collect(["clusters/*/k0s.yaml", "vendor"], ignore=["vendor/**", "clusters/b"], cwd=tmp_path)
    assert [s.path for s in collected.sources] == ["clusters/a/k0s.yaml"]
    explicit = write(tmp_path, "plain.yaml", "kind: ConfigMap\n")
    collected = collect([str(explicit)], cwd=tmp_path)
    assert [s.path for s in collected.sources] == ["plain.yaml"]  # explicit files are always read


def test_missing_paths_and_unreadable_files_are_errors(tmp_path: Path) -> None:
    unreadable = write(tmp_path, "locked/k0s.yaml", K0S)
    unreadable.chmod(0)
    collected = collect(["nope.yaml", "nomatch/*.yaml", str(unreadable)], cwd=tmp_path)
    messages = {e.path: e.message for e in collected.errors}
    assert messages["nope.yaml"] == "no such file or directory"
    assert messages["nomatch/*.yaml"] == "no file matches this pattern"
    if os.geteuid() != 0:  # root reads everything
        assert "cannot read" in messages["locked/k0s.yaml"]


def test_stdin(tmp_path: Path) -> None:
    collected = collect(["-"], cwd=tmp_path, stdin=K0S.encode())
    assert [(s.path, s.raw) for s in collected.sources] == [(STDIN_LABEL, K0S.encode())]


def test_paths_outside_cwd_are_absolute(tmp_path: Path) -> None:
    path = write(tmp_path, "x/k0s.yaml", K0S)
    collected = collect([str(path)], cwd=tmp_path / "elsewhere")
    assert collected.sources[0].path == path.as_posix()


def test_is_ignored_patterns() -> None:
    assert is_ignored("a/b/c.yaml", ["a"])
    assert is_ignored("a/b/c.yaml", ["*.yaml"])
    assert is_ignored("a/b/c.yaml", ["**/b"])
    assert not is_ignored("a/b/c.yaml", ["b/c.yml"])


def test_utf16_files_pass_the_prefilter(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "k0s.yaml").write_bytes(K0S.encode("utf-16"))
    collected = collect(["a"], cwd=tmp_path)
    assert [s.path for s in collected.sources] == ["a/k0s.yaml"]


def test_globs_report_links_out_of_the_repository(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/secret.yaml", K0S)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    write(tmp_path, "repo/real.yaml", K0S)
    os.symlink(outside, tmp_path / "repo" / "link.yaml")
    collected = collect(["repo/*.yaml"], cwd=tmp_path)
    assert [s.path for s in collected.sources] == ["repo/real.yaml"]
    assert [e.path for e in collected.unread] == ["repo/link.yaml"]
