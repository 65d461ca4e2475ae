"""PR mode (--diff-base) on real git repositories built in temporary directories."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.inputs.gitsource import collect_from_git, glob_pattern, open_revision
from checker.inputs.sources import collect
from conftest import CLEAN, OTHER_TYPO, TYPO, git, write


def k0sctl(version: str) -> str:
    return f"""\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: prod
spec:
  hosts:
    - role: controller
      ssh: {{address: 10.0.0.1}}
    - role: worker
      ssh: {{address: 10.0.0.2}}
  k0s:
    version: {version}
"""


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for relative, text in files.items():
        write(root, relative, text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def commit_change(root: Path, files: dict[str, str | None], branch: str = "change") -> None:
    git(root, "checkout", "-q", "-b", branch)
    for relative, text in files.items():
        if text is None:
            (root / relative).unlink()
        else:
            write(root, relative, text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code, out, err = run([*argv, "--format", "json"], capsys)
    assert out.strip(), err
    return code, json.loads(out)


def test_reports_only_what_the_change_introduces(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"clusters/a/k0s.yaml": TYPO})
    # an unrelated edit moves the old problem two lines down: it must stay "known"
    commit_change(
        repo,
        {"clusters/a/k0s.yaml": "# owner: team-a\n# reviewed\n" + TYPO, "clusters/b/k0s.yaml": OTHER_TYPO},
    )
    monkeypatch.chdir(repo)
    code, plain = run_json(["check", "clusters", "--k0s-version", "1.30"], capsys)
    assert code == 1 and sorted(f["path"] for f in plain["findings"]) == [
        "clusters/a/k0s.yaml",
        "clusters/b/k0s.yaml",
    ]

    code, report = run_json(["check", "clusters", "--k0s-version", "1.30", "--diff-base", "main"], capsys)
    assert code == 1
    (finding,) = report["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("K0S002", "clusters/b/k0s.yaml", 4)
    assert "netwrk" in finding["message"]
    assert "fixed" not in report  # only with --show-fixed
    assert report["added_suppressions"] == []
    assert "compared with main at" in report["notes"][0]
    assert "1 finding already at the base not shown" in report["notes"][0]

    code, out, _ = run(["check", "clusters", "--k0s-version", "1.30", "--diff-base", "main"], capsys)
    assert "note: PR mode: compared with main at" in out
    assert "clusters/b/k0s.yaml:4:3: error K0S002" in out
    assert "clusters/a/k0s.yaml" not in out


def test_show_fixed_lists_what_the_change_removes(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"clusters/a/k0s.yaml": TYPO, "clusters/b/k0s.yaml": OTHER_TYPO})
    commit_change(repo, {"clusters/a/k0s.yaml": CLEAN})
    monkeypatch.chdir(repo)
    argv = ["check", ".", "--k0s-version", "1.30", "--diff-base", "main", "--show-fixed"]
    code, report = run_json(argv, capsys)
    assert code == 0 and report["findings"] == []
    (fixed,) = report["fixed"]
    assert (fixed["rule"], fixed["path"], fixed["line"]) == ("K0S002", "clusters/a/k0s.yaml", 4)
    code, out, _ = run(argv, capsys)
    assert "fixed by this change (where they were at the base revision): 1" in out
    assert "clusters/a/k0s.yaml:4:3: fixed error K0S002" in out
    # a deleted file's findings are fixed too
    git(repo, "rm", "-q", "clusters/b/k0s.yaml")
    code, report = run_json(argv, capsys)
    assert sorted(f["path"] for f in report["fixed"]) == ["clusters/a/k0s.yaml", "clusters/b/k0s.yaml"]


def test_show_fixed_needs_diff_base(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "k0s.yaml", CLEAN)
    code, _, err = run(["check", ".", "--show-fixed"], capsys)
    assert code == 2 and "--show-fixed needs --diff-base" in err


@pytest.mark.parametrize(
    ("base", "head", "rule"),
    [("v1.29.4+k0s.0", "v1.31.1+k0s.0", "K0S302"), ("v1.30.5+k0s.0", "v1.29.4+k0s.0", "K0S303")],
)
def test_version_skew_against_the_base_revision(
    tmp_path: Path, monkeypatch, capsys, base: str, head: str, rule: str
) -> None:
    repo = make_repo(tmp_path / "repo", {"prod/k0sctl.yaml": k0sctl(base)})
    commit_change(repo, {"prod/k0sctl.yaml": k0sctl(head)})
    monkeypatch.chdir(repo)
    _, plain = run_json(["check", "prod", "--select", "K0S30"], capsys)
    assert plain["findings"] == []  # without a base revision nothing says where the cluster was
    code, report = run_json(["check", "prod", "--select", "K0S30", "--diff-base", "main"], capsys)
    assert code == 1
    (finding,) = report["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == (rule, "prod/k0sctl.yaml", 12)
    assert f"moves k0s {base} " in finding["message"]
    assert f"at {base} (declared by the base revision)" in finding["detail"]


def test_one_minor_upgrade_is_clean_in_pr_mode(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"prod/k0sctl.yaml": k0sctl("v1.29.4+k0s.0")})
    commit_change(repo, {"prod/k0sctl.yaml": k0sctl("v1.30.5+k0s.0")})
    monkeypatch.chdir(repo)
    code, report = run_json(["check", "prod", "--select", "K0S30", "--diff-base", "main"], capsys)
    assert code == 0 and report["findings"] == []


def test_base_configuration_wins_over_the_change(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {".k0s-policy.yaml": 'k0s_version: "1.30"\n', "clusters/a/k0s.yaml": CLEAN},
    )
    commit_change(
        repo,
        {
            ".k0s-policy.yaml": 'k0s_version: "1.30"\nrules:\n  K0S002: off\n',
            "clusters/a/k0s.yaml": TYPO,
        },
    )
    monkeypatch.chdir(repo)
    code, plain = run_json(["check", "clusters"], capsys)
    assert code == 0 and plain["findings"] == []  # the head's configuration switches K0S002 off
    code, report = run_json(["check", "clusters", "--diff-base", "main"], capsys)
    assert code == 1
    assert [f["rule"] for f in report["findings"]] == ["K0S002"]
    (note,) = [n for n in report["notes"] if ".k0s-policy.yaml" in n]
    assert "this change changes .k0s-policy.yaml" in note
    assert "cannot relax its own checks" in note
    code, out, _ = run(["check", "clusters", "--diff-base", "main"], capsys)
    assert "note: this change changes .k0s-policy.yaml" in out

    # a configuration the change adds nearer to the files is not used either
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "nearer")
    write(repo, "clusters/.k0s-policy.yaml", "rules:\n  K0S002: off\n")
    write(repo, "clusters/a/k0s.yaml", TYPO)
    code, report = run_json(["check", "clusters", "--diff-base", "main"], capsys)
    assert code == 1 and [f["rule"] for f in report["findings"]] == ["K0S002"]
    assert any("adds clusters/.k0s-policy.yaml" in n for n in report["notes"])


def test_config_named_on_the_command_line_is_read_from_the_base(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(
        tmp_path / "repo", {"policy/k0s-policy.yaml": 'k0s_version: "1.30"\n', "c/k0s.yaml": CLEAN}
    )
    commit_change(repo, {"policy/k0s-policy.yaml": "rules: {K0S002: off}\n", "c/k0s.yaml": TYPO})
    monkeypatch.chdir(repo)
    argv = ["check", "c", "--config", "policy/k0s-policy.yaml", "--diff-base", "main"]
    code, report = run_json(argv, capsys)
    assert code == 1 and [f["rule"] for f in report["findings"]] == ["K0S002"]
    assert any("changes policy/k0s-policy.yaml" in n for n in report["notes"])
    # outside the repository the file is the trusted command line's, and applies
    outside = tmp_path / "outside.yaml"
    outside.write_text('k0s_version: "1.30"\nrules: {K0S002: off}\n')
    code, report = run_json(["check", "c", "--config", str(outside), "--diff-base", "main"], capsys)
    assert code == 0 and report["findings"] == []


POLICY = """\
package main

deny contains msg if {
	input.kind == "ClusterConfig"
	input.spec.images.kubeproxy
	msg := "kubeproxy is pinned: the platform team owns that image"
}
"""


def test_rego_policies_from_the_command_line_judge_both_revisions(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    pytest.importorskip("regopy")
    policies = tmp_path / "policies"
    write(policies, "k0s.rego", POLICY)
    pinned = CLEAN + "    kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.30.5}\n"
    repo = make_repo(tmp_path / "repo", {"a/k0s.yaml": pinned, "b/k0s.yaml": CLEAN})
    commit_change(repo, {"b/k0s.yaml": pinned})
    monkeypatch.chdir(repo)
    argv = ["check", ".", "--k0s-version", "1.30", "--select", "rego", "--policy", str(policies)]
    code, report = run_json([*argv, "--diff-base", "main"], capsys)
    assert code == 1
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [("rego:main.deny", "b/k0s.yaml")]
    assert "1 finding already at the base not shown" in report["notes"][0]


def test_suppressions_added_by_the_change_apply_and_are_listed(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"c/k0s.yaml": TYPO})
    suppressed = TYPO.replace("imagez: {}", "imagez: {}  # k0s-policy: ignore[K0S002] vendor field, INFRA-7")
    commit_change(
        repo,
        {
            "c/k0s.yaml": suppressed,
            "d/k0s.yaml": OTHER_TYPO.replace(
                "netwrk: {}", "netwrk: {}  # k0s-policy: ignore[K0S002] migrating"
            ),
        },
    )
    monkeypatch.chdir(repo)
    code, report = run_json(["check", ".", "--k0s-version", "1.30", "--diff-base", "main"], capsys)
    assert code == 0
    assert sorted((f["path"], f["rule"]) for f in report["added_suppressions"]) == [
        ("c/k0s.yaml", "K0S002"),
        ("d/k0s.yaml", "K0S002"),
    ]
    assert all("suppressed" in f for f in report["findings"])
    assert report["summary"]["findings"]["suppressed"] == 2
    code, out, _ = run(["check", ".", "--k0s-version", "1.30", "--diff-base", "main"], capsys)
    assert "suppressions added by this change (review them):" in out
    assert "c/k0s.yaml:4:3: K0S002 silenced by the inline comment at line 4: vendor field, INFRA-7" in out
    assert "this change silences 2 findings with inline suppression comments" in out


def test_base_is_the_merge_base(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"a/k0s.yaml": TYPO})
    commit_change(repo, {"b/k0s.yaml": OTHER_TYPO}, branch="feature")
    # main fixes the old problem after the branch was made; the branch still has it, unchanged
    git(repo, "checkout", "-q", "main")
    write(repo, "a/k0s.yaml", CLEAN)
    git(repo, "commit", "-q", "-am", "fix a on main")
    git(repo, "checkout", "-q", "feature")
    monkeypatch.chdir(repo)
    code, report = run_json(["check", ".", "--k0s-version", "1.30", "--diff-base", "main"], capsys)
    assert code == 1 and [f["path"] for f in report["findings"]] == ["b/k0s.yaml"]
    assert "the merge base of main and HEAD" in report["notes"][0]


def test_working_tree_and_repository_are_left_untouched(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"a/k0s.yaml": TYPO, "b/k0s.yaml": CLEAN})
    commit_change(repo, {"a/k0s.yaml": CLEAN})
    # uncommitted work: a modified file, a staged file and an untracked one
    write(repo, "b/k0s.yaml", OTHER_TYPO)
    write(repo, "c/k0s.yaml", TYPO)
    git(repo, "add", "c/k0s.yaml")
    write(repo, "d/k0s.yaml", TYPO)
    before = (
        git(repo, "status", "--porcelain"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "stash", "list"),
        git(repo, "worktree", "list", "--porcelain"),
        sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if ".git" not in p.parts),
    )
    monkeypatch.chdir(repo)
    code, report = run_json(["check", ".", "--k0s-version", "1.30", "--diff-base", "main"], capsys)
    # the working tree is what is checked, uncommitted changes included
    assert code == 1
    assert sorted(f["path"] for f in report["findings"]) == ["b/k0s.yaml", "c/k0s.yaml", "d/k0s.yaml"]
    after = (
        git(repo, "status", "--porcelain"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "stash", "list"),
        git(repo, "worktree", "list", "--porcelain"),
        sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if ".git" not in p.parts),
    )
    assert after == before
    assert before[0].strip()  # there was something to lose


def test_unusable_base_is_a_usage_error(tmp_path: Path, monkeypatch, capsys) -> None:
    repo = make_repo(tmp_path / "repo", {"a/k0s.yaml": CLEAN})
    monkeypatch.chdir(repo)
    code, out, err = run(["check", ".", "--diff-base", "no-such-branch"], capsys)
    assert code == 2 and out == ""
    assert "k0s-policy: error: --diff-base no-such-branch: unknown revision" in err
    code, _, err = run(["check", ".", "--diff-base=--output=x"], capsys)
    assert code == 2
    code, _, err = run(["check", "-", "--diff-base", "main"], capsys)
    assert code == 2 and "stdin (-) has no base revision" in err
    code, _, err = run(["check", "../elsewhere", "--diff-base", "main"], capsys)
    assert code == 2 and "lies outside the git repository" in err

    plain = tmp_path / "plain"
    plain.mkdir()
    write(plain, "k0s.yaml", CLEAN)
    monkeypatch.chdir(plain)
    code, _, err = run(["check", ".", "--diff-base", "main"], capsys)
    assert code == 2 and "needs a git repository" in err and "--baseline" in err


def test_shallow_clone_without_the_base(tmp_path: Path, monkeypatch, capsys) -> None:
    origin = make_repo(tmp_path / "origin", {"a/k0s.yaml": CLEAN})
    commit_change(origin, {"a/k0s.yaml": TYPO})
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "change", f"file://{origin}", "shallow")
    monkeypatch.chdir(tmp_path / "shallow")
    code, _, err = run(["check", ".", "--diff-base", "HEAD~1"], capsys)
    assert code == 2
    assert "unknown revision" in err and "shallow clone" in err and "fetch" in err


# --- the base revision is read like the working tree ----------------------------------------------------


def _tree(root: Path) -> None:
    for relative, text in {
        "clusters/a/k0s.yaml": TYPO,
        "clusters/a/extra.yml": CLEAN,
        "clusters/b/k0sctl.yaml": k0sctl("v1.30.5+k0s.0"),
        "clusters/b/notes.txt": "k0s",
        "clusters/a-b/k0s.yaml": CLEAN,
        "clusters/.hidden/k0s.yaml": CLEAN,
        "clusters/legacy/k0s.yaml": TYPO,
        "apps/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
        "apps/config.json": '{"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig"}',
        "k0s.yaml": CLEAN,
    }.items():
        write(root, relative, text)
    os.symlink("a/k0s.yaml", root / "clusters" / "link.yaml")


@pytest.mark.parametrize(
    ("where", "arguments", "exclude"),
    [
        (".", ["."], ()),
        (".", ["clusters"], ("clusters/legacy",)),
        (".", ["clusters/a/k0s.yaml", "apps/deploy.yaml", "clusters/link.yaml"], ()),
        (".", ["clusters/*/k0s.yaml"], ()),
        (".", ["**/*.yaml"], ("legacy",)),
        (".", ["clusters/[ab]"], ()),
        (".", ["clusters/a?b/*"], ()),
        ("clusters", [".", "../apps"], ("a",)),
        ("clusters", ["*/k0s.yaml", "../k0s.yaml"], ()),
    ],
)
def test_git_collection_matches_the_working_tree(
    tmp_path: Path, where: str, arguments: list[str], exclude: tuple[str, ...]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _tree(repo)
    make_repo(repo, {})
    cwd = (repo / where).resolve()
    revision = open_revision(cwd, "HEAD")
    try:
        from_git = collect_from_git(revision, arguments, ignore=exclude, cwd=cwd)
    finally:
        revision.close()
    from_disk = collect(arguments, ignore=exclude, cwd=cwd)
    assert [(s.path, s.raw, s.explicit) for s in from_git.sources] == [
        (s.path, s.raw, s.explicit) for s in from_disk.sources
    ]
    assert (from_git.files_seen, from_git.files_prefiltered) == (
        from_disk.files_seen,
        from_disk.files_prefiltered,
    )
    assert from_git.sources, "the case should read something"


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.yaml", "k0s.yaml", True),
        ("*.yaml", ".k0s.yaml", False),
        ("*.yaml", "a/k0s.yaml", False),
        ("**/*.yaml", "k0s.yaml", True),
        ("**/*.yaml", "a/b/k0s.yaml", True),
        ("**/*.yaml", ".git/x.yaml", False),
        ("a/**", "a/b/c", True),
        ("a/[!x]?.yml", "a/yz.yml", True),
        ("a/[!x]?.yml", "a/xz.yml", False),
        ("a/[x.yml", "a/[x.yml", True),
    ],
)
def test_glob_pattern(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_pattern(pattern).fullmatch(path)) is matches


def test_policies_in_the_repository_come_from_the_base(tmp_path: Path, monkeypatch, capsys) -> None:
    pytest.importorskip("regopy")
    pinned = CLEAN + "    kubeproxy: {image: quay.io/k0sproject/kube-proxy, version: v1.30.5}\n"
    repo = make_repo(tmp_path / "repo", {"policies/k0s.rego": POLICY, "a/k0s.yaml": CLEAN})
    # The change pins kube-proxy and, in the same commit, empties the policy that forbids it.
    commit_change(repo, {"a/k0s.yaml": pinned, "policies/k0s.rego": "package main\n"})
    monkeypatch.chdir(repo)
    argv = ["check", "a", "--k0s-version", "1.30", "--select", "rego", "--policy", "policies"]
    code, report = run_json([*argv, "--diff-base", "main"], capsys)
    assert code == 1
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [("rego:main.deny", "a/k0s.yaml")]
    assert any("were read from the base revision" in note for note in report["notes"])
    assert (
        subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
        == ""
    )
    # outside PR mode the working tree's (emptied) policy applies
    assert run_json(argv, capsys)[0] == 0
