"""Hostile trees for file collection: what is found, read and reported, through the real CLI.

Each case builds a real tree (or git repository) with one hostile entry next to ``sibling/k0s.yaml``
(SIBLING_STALE_PIN) and asserts the exit code, no traceback, a finding naming the hostile path, and
that the sibling's K0S102 is still reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SIBLING_STALE_PIN, assert_survived, git, run_cli, write

SIBLING = "sibling/k0s.yaml:9"
HAS_FIFO = hasattr(os, "mkfifo")


def _stale(name: str) -> str:
    """SIBLING_STALE_PIN under another cluster name: its K0S102 is at line 9 of wherever it is."""
    return SIBLING_STALE_PIN.replace("name: sibling", f"name: {name}")


def _check(*paths: str) -> list[str]:
    return ["check", *paths, "--k0s-version", "1.30"]


# --- only regular files are read -------------------------------------------------------------------


@pytest.mark.skipif(not HAS_FIFO, reason="named pipes need a POSIX system")
@pytest.mark.parametrize("named", [False, True], ids=["walked", "named"])
def test_a_named_pipe_is_reported_not_read(tmp_path: Path, named: bool) -> None:
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    (tmp_path / "hostile").mkdir()
    os.mkfifo(tmp_path / "hostile" / "k0s.yaml")
    paths = ("hostile/k0s.yaml", "sibling") if named else (".",)
    done = run_cli(*_check(*paths), cwd=tmp_path, timeout=30)
    assert_survived(
        done,
        exit_code=1,
        names=["hostile/k0s.yaml:1:1", "not a regular file (a named pipe)"],
        sibling=SIBLING,
    )


def test_a_device_named_explicitly_is_reported_not_read(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    done = run_cli(*_check("/dev/zero", "sibling"), cwd=tmp_path, timeout=30)
    assert_survived(
        done, exit_code=1, names=["/dev/zero:1:1", "not a regular file (a character device)"], sibling=SIBLING
    )


# --- the size is checked before anything is read ---------------------------------------------------


@pytest.mark.parametrize("size", ["1G", "1T"])
@pytest.mark.parametrize("named", [False, True], ids=["walked", "named"])
def test_a_huge_sparse_file_is_reported_from_its_size(tmp_path: Path, size: str, named: bool) -> None:
    # 1 TiB cannot be read into memory at all: only a size check before reading gets past it
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    huge = write(tmp_path, "huge/k0s.yaml", "")
    try:
        os.truncate(huge, 1 << (30 if size == "1G" else 40))
    except OSError as err:  # a file system without sparse files this large
        pytest.skip(f"cannot make a sparse {size} file here: {err}")
    paths = ("huge/k0s.yaml", "sibling") if named else (".",)
    done = run_cli(*_check(*paths), cwd=tmp_path, timeout=30)
    mib = (1 << (30 if size == "1G" else 40)) // (1 << 20)
    assert_survived(
        done,
        exit_code=1,
        names=["huge/k0s.yaml:1:1", f"file is {mib} MiB, over the 20 MiB limit"],
        sibling=SIBLING,
    )


# --- symlinks: followed inside the tree, reported when they leave it -------------------------------


def _link_to_text_file(root: Path) -> list[str]:
    write(root, "notes/stale.txt", _stale("text"))
    (root / "clusters" / "text").mkdir(parents=True)
    os.symlink("../../notes/stale.txt", root / "clusters" / "text" / "k0s.yaml")
    return ["notes/stale.txt:9"]


def _link_into_an_excluded_folder(root: Path) -> list[str]:
    write(root, "vendor/stale/k0s.yaml", _stale("vendored"))
    (root / "clusters" / "vendored").mkdir(parents=True)
    os.symlink("../../vendor/stale/k0s.yaml", root / "clusters" / "vendored" / "k0s.yaml")
    return ["vendor/stale/k0s.yaml:9"]


def _cluster_folder_is_a_link(root: Path) -> list[str]:
    write(root, "vendor/prod/k0s.yaml", _stale("prod"))
    (root / "clusters").mkdir()
    os.symlink("../vendor/prod", root / "clusters" / "prod")
    return ["vendor/prod/k0s.yaml:9"]


def _file_link_out_of_the_repository(root: Path) -> list[str]:
    outside = write(root.parent, "outside/k0s.yaml", _stale("outside"))
    (root / "clusters" / "evil").mkdir(parents=True)
    os.symlink(outside, root / "clusters" / "evil" / "k0s.yaml")
    return ["clusters/evil/k0s.yaml:1:1", "symlink leads out of the repository"]


def _folder_link_out_of_the_repository(root: Path) -> list[str]:
    write(root.parent, "outside/prod/k0s.yaml", _stale("outside"))
    (root / "clusters").mkdir()
    os.symlink(root.parent / "outside" / "prod", root / "clusters" / "prod")
    return ["clusters/prod:1:1", "symlink leads out of the repository"]


def _broken_link(root: Path) -> list[str]:
    (root / "clusters").mkdir()
    os.symlink("gone.yaml", root / "clusters" / "k0s.yaml")
    return ["clusters/k0s.yaml:1:1", "symlink leads nowhere"]


@pytest.mark.parametrize(
    "build",
    [
        _link_to_text_file,
        _link_into_an_excluded_folder,
        _cluster_folder_is_a_link,
        _file_link_out_of_the_repository,
        _folder_link_out_of_the_repository,
        _broken_link,
    ],
)
def test_symlinks_in_a_walk_are_followed_or_reported(
    tmp_path: Path, build: Callable[[Path], list[str]]
) -> None:
    root = tmp_path / "repo"
    write(root, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    names = build(root)
    git(root, "init", "-q")
    done = run_cli(*_check("."), "--exclude", "vendor", cwd=root)
    assert_survived(done, exit_code=1, names=names, sibling=SIBLING)
    assert done.stdout.count(f"{names[0]}:") == 1, done.stdout  # under its real path only, once


def test_a_glob_never_goes_around_a_loop_nor_out_of_the_tree(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    os.symlink(".", root / "sibling" / "loop")
    os.symlink("..", root / "sibling" / "up")
    write(tmp_path, "outside/k0s.yaml", _stale("outside"))
    os.symlink(tmp_path / "outside", root / "sibling" / "out")
    git(root, "init", "-q")
    done = run_cli(*_check("sibling/**"), cwd=root)
    assert_survived(
        done, exit_code=1, names=["sibling/out:1:1", "leads out of the repository"], sibling=SIBLING
    )
    assert done.stdout.count("K0S102") == 1, done.stdout  # one copy, not one per trip around the loop
    assert "outside/k0s.yaml" not in done.stdout, done.stdout  # not followed out of the tree


# --- the pre-filter never skips what decodes to a k0s document -------------------------------------


def _yaml_escapes(root: Path) -> str:
    text = """\
apiVersion: "\\x6b0s.\\x6B0sproject.io/v1beta1"
kind: ClusterConfig
metadata:
  name: escaped
spec:
  images:
    coredns:
      image: "quay.io/\\U0000006b0sproject/coredns"
      version: 1.11.1
"""
    write(root, "clusters/escaped/config.yaml", text)
    return "clusters/escaped/config.yaml:9"


def _json_escapes(root: Path) -> str:
    text = (
        '{"apiVersion": "\\u006b0s.\\u006B0sproject.io/v1beta1", "kind": "ClusterConfig",\n'
        ' "metadata": {"name": "escaped"},\n'
        ' "spec": {"images": {"coredns": {"image": "quay.io/\\u006b0sproject/coredns",\n'
        ' "version": "1.11.1"}}}}\n'
    )
    write(root, "clusters/escaped/config.json", text)
    return "clusters/escaped/config.json:4"


def _utf16_without_bom(codec: str) -> Callable[[Path], str]:
    def build(root: Path) -> str:
        (root / "clusters" / "wide").mkdir(parents=True)
        (root / "clusters" / "wide" / "config.yaml").write_bytes(_stale("wide").encode(codec))
        return "clusters/wide/config.yaml:9"

    build.__name__ = f"_{codec}"
    return build


@pytest.mark.parametrize(
    "build", [_yaml_escapes, _json_escapes, _utf16_without_bom("utf-16-le"), _utf16_without_bom("utf-16-be")]
)
def test_the_prefilter_reads_what_decodes_to_k0s(tmp_path: Path, build: Callable[[Path], str]) -> None:
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    where = build(tmp_path)
    done = run_cli(*_check("."), cwd=tmp_path)
    assert_survived(done, exit_code=1, names=[where, "K0S102"], sibling=SIBLING)
    assert "K0S001" not in done.stdout, done.stdout


def test_working_tree_encoding_in_gitattributes_is_read_in_both_modes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "change")
    write(root, "clusters/.gitattributes", "*.yaml working-tree-encoding=UTF-16LE\n")
    (root / "clusters" / "wide").mkdir()
    (root / "clusters" / "wide" / "config.yaml").write_bytes(_stale("wide").encode("utf-16-le"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    assert git(root, "show", "HEAD:clusters/wide/config.yaml") == _stale("wide").strip()  # UTF-8 inside git
    (root / "clusters" / "wide" / "config.yaml").unlink()
    git(root, "checkout", "--", "clusters")  # as a CI checkout writes it: UTF-16LE, no byte-order mark
    assert (root / "clusters" / "wide" / "config.yaml").read_bytes().startswith(b"a\x00p\x00")

    whole = run_cli(*_check("."), cwd=root)
    assert_survived(whole, exit_code=1, names=["clusters/wide/config.yaml:9"], sibling=SIBLING)
    # PR mode: the base (read from git, UTF-8 inside) lacks the file, so its finding is new
    new = run_cli(*_check("."), "--diff-base", "main", cwd=root)
    assert_survived(new, exit_code=1, names=["clusters/wide/config.yaml:9"])
    assert SIBLING not in new.stdout, new.stdout  # known in the base
    # and a base that has it already knows it: nothing is new
    same = run_cli(*_check("."), "--diff-base", "HEAD", cwd=root)
    assert_survived(same, exit_code=0)
    assert "K0S102" not in same.stdout, same.stdout


def test_fix_leaves_a_decoded_utf16_file_alone(tmp_path: Path) -> None:
    # the check reads it decoded; writing the fix back as UTF-8 would change its encoding under git
    wide = tmp_path / "clusters" / "wide" / "k0s.yaml"
    wide.parent.mkdir(parents=True)
    original = _stale("wide").encode("utf-16-le")
    wide.write_bytes(original)
    done = run_cli("fix", "clusters", "--k0s-version", "1.30", cwd=tmp_path)
    assert_survived(done, exit_code=1, names=["clusters/wide/k0s.yaml", "UTF-16-LE text"])
    assert wide.read_bytes() == original
