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


def _linked_tree(root: Path, outside: Path) -> None:
    write(root, "clusters/a/k0s.yaml", K0S)
    write(root, "notes/stale.txt", K0S)
    write(root, "vendor/b/k0s.yaml", K0S)
    write(outside, "k0s.yaml", K0S)
    os.symlink("../notes/stale.txt", root / "clusters" / "k0s.yaml")  # a YAML name for a text file
    os.symlink("../vendor/b", root / "clusters" / "b")  # a cluster folder in an excluded folder
    os.symlink(".", root / "clusters" / "a" / "loop")
    os.symlink(str(outside / "k0s.yaml"), root / "clusters" / "out.yaml")
    os.symlink(str(outside), root / "clusters" / "outdir")
    os.symlink("gone.yaml", root / "clusters" / "broken.yaml")
    os.symlink("a/k0s.yaml", root / "clusters" / "same.yaml")


def test_links_are_followed_and_reported_alike_in_the_working_tree_and_in_git(tmp_path: Path) -> None:
    from checker.inputs.gitsource import collect_from_git, open_revision
    from conftest import git

    root = tmp_path / "repo"
    _linked_tree(root, tmp_path / "outside")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "links")
    for arguments in (["."], ["clusters"], ["clusters/**"], ["clusters/*.yaml"]):
        from_disk = collect(arguments, ignore=["vendor"], cwd=root)
        revision = open_revision(root, "HEAD")
        try:
            from_git = collect_from_git(revision, arguments, ignore=["vendor"], cwd=root)
        finally:
            revision.close()
        assert [(s.path, s.raw) for s in from_disk.sources] == [(s.path, s.raw) for s in from_git.sources]
        assert from_disk.unread == from_git.unread, arguments
        assert from_disk.files_seen == from_git.files_seen, arguments
    assert [s.path for s in from_disk.sources] == ["notes/stale.txt", "clusters/a/k0s.yaml"]
    whole = collect(["."], ignore=["vendor"], cwd=root)
    assert [s.path for s in whole.sources] == ["clusters/a/k0s.yaml", "notes/stale.txt", "vendor/b/k0s.yaml"]
    assert sorted((e.path, e.message.split(" (")[0].split(";")[0]) for e in whole.unread) == [
        ("clusters/broken.yaml", "symlink leads nowhere"),
        ("clusters/out.yaml", "symlink leads out of the repository"),
        ("clusters/outdir", "symlink leads out of the repository"),
    ]


def test_the_prefilter_sees_through_case_folding_escapes_and_wide_encodings(tmp_path: Path) -> None:
    spellings = {
        "kelvin.yaml": "apiVersion: \u212a0s.k0sproject.io/v1beta1\n".replace(
            "k0sproject", "\u212a0sproject"
        ),
        "long-s.yaml": "apiVersion: K0\u017f.K0\u017fproject.io/v1beta1\n",
        "hex.yaml": 'apiVersion: "\\x6b0\\x73.\\x4B0Sproject.io/v1beta1"\n',
        "unicode.json": '{"apiVersion": "\\u006b0s.\\u006b0sproject.io/v1beta1"}\n',
        "joined.yaml": 'apiVersion: "k\\\n  0s.k\\\n  0sproject.io/v1beta1"\n',
    }
    for name, text in spellings.items():
        write(tmp_path, f"a/{name}", text)
    (tmp_path / "a" / "utf32.yaml").write_bytes(K0S.encode("utf-32-le"))
    (tmp_path / "a" / "utf16-bom.yaml").write_bytes(K0S.encode("utf-16"))
    write(tmp_path, "a/ordinary.yaml", 'kind: ConfigMap\ndata: {timeout: 30s, msg: "a\\nb\\t\\u00e9"}\n')
    collected = collect(["a"], cwd=tmp_path)
    assert sorted(s.path.split("/")[1] for s in collected.sources) == sorted(
        [*spellings, "utf32.yaml", "utf16-bom.yaml"]
    )
    assert collected.files_prefiltered == 1  # the ordinary file: escapes and durations are no reason
    wide = {s.path: s for s in collected.sources if s.encoding != "utf-8"}
    assert {path: s.encoding for path, s in wide.items()} == {
        "a/utf32.yaml": "utf-32-le",
        "a/utf16-bom.yaml": "utf-16-le",
    }
    assert all(s.raw == K0S.encode() for s in wide.values())  # handed on decoded, as UTF-8
