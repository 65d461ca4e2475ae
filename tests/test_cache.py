"""The result cache of `check` (checker.workflows.cache, checker.cli.cached): a warm run prints what a
cold run prints, byte for byte; every input of the key makes a miss when it changes; broken entries
are ignored and overwritten; --no-cache and an unusable directory write nothing and fail nothing.

A miss writes a new entry (one file per key), a hit writes none: the tests count the entry files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import checker
from checker.cli.app import main
from checker.workflows import cache as result_cache
from checker.workflows import treestate
from tests.conftest import REPO_ROOT, SIBLING_STALE_PIN, TYPO, git, run_cli, write

K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: edge
spec:
  hosts:
    - role: controller
      ssh:
        address: ${EDGE_HOST}
  k0s:
    version: v1.30.2+k0s.0
"""

SUPPRESSED = TYPO.replace("  imagez: {}", "  imagez: {}  # k0s-policy: ignore[K0S002] kept for the demo")


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(result_cache.NO_CACHE_ENV, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(root, "clusters/edge/k0sctl.yaml", K0SCTL)
    write(root, "clusters/edge/k0s.yaml", SIBLING_STALE_PIN)
    write(root, "clusters/lab/k0s.yaml", TYPO)
    write(root, "clusters/old/k0s.yaml", SUPPRESSED)
    write(root, "apps/web.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n")
    return root


def entries(cache_dir: Path) -> list[Path]:
    """The result entries (tree snapshots, tree-*.json, aside)."""
    return sorted(
        p for p in (cache_dir / f"v{result_cache.FORMAT}").glob("*.json") if not p.name.startswith("tree-")
    )


def check(repo: Path, cache_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("check", ".", "--cache-dir", str(cache_dir), *extra, cwd=repo)


@pytest.mark.parametrize("report", ["json", "sarif", "text", "junit", "conftest-json"])
def test_a_warm_run_prints_the_cold_report_byte_for_byte(repo: Path, tmp_path: Path, report: str) -> None:
    cache_dir = tmp_path / "cache"
    fresh = check(repo, cache_dir, "--no-cache", "--format", report, "--show-suppressed")
    cold = check(repo, cache_dir, "--format", report, "--show-suppressed")
    assert len(entries(cache_dir)) == 1
    warm = check(repo, cache_dir, "--format", report, "--show-suppressed")
    assert len(entries(cache_dir)) == 1
    assert fresh.returncode == cold.returncode == warm.returncode == 1
    assert fresh.stdout == cold.stdout == warm.stdout
    assert fresh.stderr == cold.stderr == warm.stderr
    if report == "json":
        rules = {f["rule"] for f in json.loads(warm.stdout)["findings"]}
        assert {"K0S002", "K0S019"} <= rules  # the typo and the unset ${EDGE_HOST}


def test_the_warm_run_reads_its_findings_from_the_entry(repo: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    check(repo, cache_dir, "--format", "json")
    (entry,) = entries(cache_dir)
    document = json.loads(entry.read_text(encoding="utf-8"))
    document["findings"][0]["message"] = "read back from the cache"
    entry.write_text(json.dumps(document), encoding="utf-8")
    warm = check(repo, cache_dir, "--format", "json")
    assert json.loads(warm.stdout)["findings"][0]["message"] == "read back from the cache"


def _edit(path: str, text: str) -> Callable[[Path], list[str]]:
    def change(repo: Path) -> list[str]:
        write(repo, path, text)
        return []

    return change


def _data_dir(repo: Path) -> list[str]:
    data = repo.parent / "data"
    data.mkdir(exist_ok=True)
    release = data / "1.30.yaml"
    if release.exists():  # the second change: the same directory, other content
        release.write_text(release.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    else:
        shutil.copy(REPO_ROOT / "policies" / "releases" / "1.30.yaml", release)
    return ["--data-dir", str(data)]


CHANGES: dict[str, Callable[[Path], list[str]]] = {
    "a document's content": _edit("clusters/lab/k0s.yaml", TYPO.replace("imagez", "imagess")),
    "a second document of the cluster": _edit("clusters/edge/k0sctl.yaml", K0SCTL.replace("edge", "edge2")),
    "a new document in the cluster": _edit(
        "clusters/edge/plan.yaml", "apiVersion: autopilot.k0sproject.io/v1beta2\n"
    ),
    "the configuration file": _edit(".k0s-policy.yaml", "rules:\n  K0S002: {severity: warning}\n"),
    "--select": lambda repo: ["--select", "K0S002"],
    "--ignore": lambda repo: ["--ignore", "K0S019"],
    "--k0s-version": lambda repo: ["--k0s-version", "1.29"],
    "--exclude": lambda repo: ["--exclude", "clusters/old"],
    "the release data (--data-dir)": _data_dir,
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_changing_an_input_of_the_key_is_a_miss(repo: Path, tmp_path: Path, change: str) -> None:
    cache_dir = tmp_path / "cache"
    base = CHANGES[change](repo) if change == "the release data (--data-dir)" else []
    first = check(repo, cache_dir, "--format", "json", *base)
    assert (
        len(entries(cache_dir)) == 1
        and check(repo, cache_dir, "--format", "json", *base).stdout == first.stdout
    )
    extra = CHANGES[change](repo)
    changed = check(repo, cache_dir, "--format", "json", *extra)
    assert len(entries(cache_dir)) == 2, changed.stderr  # a miss: the changed run has an entry of its own
    assert changed.stdout == check(repo, cache_dir, "--format", "json", "--no-cache", *extra).stdout


def test_the_environment_k0sctl_files_name_is_part_of_the_key(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    unset = check(repo, cache_dir, "--format", "json")
    monkeypatch.setenv("EDGE_HOST", "10.0.0.1")
    known = check(repo, cache_dir, "--format", "json")
    assert len(entries(cache_dir)) == 2
    assert "K0S019" in unset.stdout and "K0S019" not in known.stdout
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")  # not named by any file: still a hit
    check(repo, cache_dir, "--format", "json")
    assert len(entries(cache_dir)) == 2


def test_another_tool_version_is_a_miss(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.chdir(repo)
    argv = ["check", ".", "--format", "json", "--cache-dir", str(cache_dir)]
    main(argv)
    main(argv)
    assert len(entries(cache_dir)) == 1
    monkeypatch.setattr(checker, "__version__", "99.0.0")
    capsys.readouterr()
    main(argv)
    assert len(entries(cache_dir)) == 2
    assert json.loads(capsys.readouterr().out)["tool"]["version"] == "99.0.0"


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "\x00\xff not json",  # garbage
        lambda text: json.dumps({**json.loads(text), "key": "0" * 64}),  # another run's entry
        lambda text: json.dumps({**json.loads(text), "findings": [{"rule": 1}]}),  # the wrong shape
        lambda text: json.dumps([1, 2, 3]),  # foreign JSON
        lambda text: "[" * 100_000,  # deeper than the JSON parser goes
    ],
    ids=["truncated", "garbage", "foreign-key", "wrong-shape", "foreign-json", "too-deep"],
)
def test_a_broken_entry_is_ignored_and_overwritten(
    repo: Path, tmp_path: Path, damage: Callable[[str], str]
) -> None:
    cache_dir = tmp_path / "cache"
    cold = check(repo, cache_dir, "--format", "json")
    (entry,) = entries(cache_dir)
    good = entry.read_bytes()
    entry.write_bytes(damage(good.decode()).encode("utf-8", "surrogateescape"))
    again = check(repo, cache_dir, "--format", "json")
    assert (again.returncode, again.stdout, again.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert entry.read_bytes() == good


def test_no_cache_writes_nothing(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    check(repo, cache_dir, "--no-cache")
    assert not cache_dir.exists()
    monkeypatch.setenv(result_cache.NO_CACHE_ENV, "1")
    check(repo, cache_dir)
    assert not cache_dir.exists()


def test_the_default_directory_follows_xdg_cache_home(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run_cli("check", ".", cwd=repo)
    assert len(entries(tmp_path / "xdg" / "k0s-policy")) == 1
    assert (tmp_path / "xdg" / "k0s-policy" / "CACHEDIR.TAG").is_file()
    assert (tmp_path / "xdg" / "k0s-policy" / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_platform_cache_folders() -> None:
    home = {"HOME": "/home/u"}
    assert result_cache.default_dir(home, "linux") == Path("/home/u/.cache/k0s-policy")
    assert result_cache.default_dir({**home, "XDG_CACHE_HOME": "/x"}, "linux") == Path("/x/k0s-policy")
    assert result_cache.default_dir({**home, "XDG_CACHE_HOME": "rel"}, "linux") == Path(
        "/home/u/.cache/k0s-policy"
    )
    assert result_cache.default_dir(home, "darwin") == Path("/home/u/Library/Caches/k0s-policy")
    windows = {"USERPROFILE": "C:/Users/u", "LOCALAPPDATA": "C:/Users/u/AppData/Local"}
    assert result_cache.default_dir(windows, "win32") == Path("C:/Users/u/AppData/Local/k0s-policy/cache")


def test_an_unusable_cache_directory_only_turns_the_cache_off(repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache would go\n", encoding="utf-8")
    fresh = check(repo, tmp_path / "unused", "--no-cache", "--format", "json")
    done = check(repo, blocker / "cache", "--format", "json")
    assert (done.returncode, done.stdout, done.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert blocker.read_text(encoding="utf-8") == "a file where the cache would go\n"


def test_a_run_with_an_internal_error_is_never_cached(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the schema step")

    monkeypatch.setattr("checker.workflows.check.validate", broken)
    monkeypatch.chdir(repo)
    cache_dir = tmp_path / "cache"
    main(["check", ".", "--format", "json", "--cache-dir", str(cache_dir)])
    assert "K0S008" in capsys.readouterr().out
    assert entries(cache_dir) == []


def test_runs_the_key_cannot_cover_are_not_cached(repo: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    run_cli("check", "-", "--cache-dir", str(cache_dir), cwd=repo, stdin=TYPO)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    write(repo, "clusters/lab/k0s.yaml", TYPO.replace("imagez", "imagess"))
    pr = check(repo, cache_dir, "--diff-base", "HEAD", "--format", "json")
    assert json.loads(pr.stdout)["findings"]
    assert not cache_dir.exists()


def trees(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / f"v{result_cache.FORMAT}").glob("tree-*.json"))


def test_a_snapshot_of_files_changed_within_the_racy_window_is_refused(repo: Path) -> None:
    write(repo, "apps/just-written.yaml", "kind: ConfigMap\n")
    assert treestate.snapshot(str(repo), time.time_ns()) is None
    later = time.time_ns() + treestate.RACY_NS + 10**9  # as if the walk began well after every change
    tree = treestate.snapshot(str(repo), later)
    assert tree is not None and treestate.unchanged(tree)


def _settled(repo: Path) -> None:
    """Waits until every file of the repository is older than the racy window of a snapshot."""
    time.sleep(treestate.RACY_NS / 1e9 + 0.2)


def test_the_snapshot_replaces_the_walk_only_while_nothing_in_the_tree_changed(
    repo: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    write(repo, ".gitignore", "scratch/\n")
    _settled(repo)
    cold = check(repo, cache_dir, "--format", "json")
    check(repo, cache_dir, "--format", "json")  # a hit after a walk: records the snapshot
    (snapshot,) = trees(cache_dir)
    assert check(repo, cache_dir, "--format", "json").stdout == cold.stdout

    # the snapshot is what the third run used: a source taken out of it is not read
    recorded = snapshot.read_text(encoding="utf-8")
    state = json.loads(recorded)
    state["sources"] = [s for s in state["sources"] if s[0] != "clusters/lab/k0s.yaml"]
    snapshot.write_text(json.dumps(state), encoding="utf-8")
    assert "clusters/lab/k0s.yaml" not in check(repo, cache_dir, "--format", "json").stdout
    snapshot.write_text(recorded, encoding="utf-8")

    edits: list[Callable[[], object]] = [
        lambda: (repo / "apps/web.yaml").write_text(TYPO, encoding="utf-8"),  # a file the pre-filter dropped
        lambda: write(repo, "apps/deep/new/k0s.yaml", TYPO),  # a new file in a new folder
        lambda: (repo / "clusters/old/k0s.yaml").unlink(),  # a removed file
        lambda: write(repo, ".gitignore", "scratch/\nclusters/lab/\n"),  # what the walk skips
        lambda: (repo / "clusters/edge").rename(repo / "clusters/edge-renamed"),  # a renamed folder
    ]
    for edit in edits:
        edit()
        done = check(repo, cache_dir, "--format", "json")
        fresh = check(repo, cache_dir, "--format", "json", "--no-cache")
        assert done.stdout == fresh.stdout, edit


@pytest.mark.parametrize(
    "flags", [["--platform", "linux/arm64"], ["--namespace", "main"], ["--data", "d.json"]]
)
def test_a_cached_run_still_rejects_flags_it_cannot_use(repo: Path, tmp_path: Path, flags: list[str]) -> None:
    cache_dir = tmp_path / "cache"
    check(repo, cache_dir)
    done = check(repo, cache_dir, *flags)
    assert done.returncode == 2 and "error" in done.stderr and "Traceback" not in done.stderr


def test_baselines_read_the_cached_findings(repo: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    baseline = str(tmp_path / "baseline.json")
    check(repo, cache_dir, "--write-baseline", baseline)
    write(repo, "clusters/new/k0s.yaml", TYPO.replace("imagez", "netwrk"))
    runs = [check(repo, cache_dir, "--baseline", baseline, "--format", "json") for _ in range(2)]
    assert len(entries(cache_dir)) == 2  # the write and the first comparison; the second is a hit
    assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode == 1
    paths = {f["path"] for f in json.loads(runs[1].stdout)["findings"] if "suppressed" not in f}
    assert paths == {"clusters/new/k0s.yaml"}  # the baseline's findings stay hidden on a hit


def test_a_warm_run_imports_neither_the_rules_nor_the_yaml_parser(repo: Path, tmp_path: Path) -> None:
    """A hit is decided from the key and the snapshot: the catalogue, the rules, the checks and the YAML
    parser stay unloaded (a snapshot taken in the racy window is refused, so wait it out first)."""
    cache_dir = tmp_path / "cache"
    _settled(repo)
    for _ in range(2):  # the first run fills the entry, the second records the snapshot
        check(repo, cache_dir, "--format", "json")
    probe = (
        "import io, sys, contextlib\n"
        "from checker.cli.app import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['check', '.', '--format', 'json', '--cache-dir', {str(cache_dir)!r}])\n"
        "heavy = ('yaml', 'checker.rules', 'checker.k0s.releases', 'checker.workflows.check',\n"
        "         'checker.validate', 'checker.inputs.yamldoc', 'dataclasses', 'shutil')\n"
        "print([m for m in heavy if m in sys.modules], code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != result_cache.NO_CACHE_ENV}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[] 1"


def test_a_snapshot_sees_a_changed_file_the_pre_filter_dropped(repo: Path) -> None:
    later = time.time_ns() + treestate.RACY_NS + 10**9
    tree = treestate.snapshot(str(repo), later)
    assert tree is not None and treestate.unchanged(tree)
    (repo / "apps/web.yaml").write_text("kind: ConfigMap\nmetadata: {name: changed}\n", encoding="utf-8")
    assert not treestate.unchanged(tree)
    assert not treestate.unchanged({**tree, "format": treestate.FORMAT - 1})
