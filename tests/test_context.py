"""A cluster's context comes along: a named file is judged with the rest of its cluster (the k0sctl
file, the Plans beside it), as a whole-repository run judges it, and only the named file is reported."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from checker.cli.app import main
from conftest import REPO_ROOT, git, write

EXAMPLE = REPO_ROOT / "examples" / "airgap-upgrade"
CONFIG_FILE = "clusters/edge-prod/manifests/clusterconfig-k0s.yaml"

# Pinned to the 1.29.4 default: K0S101 when the Plan's 1.29.4 is the target, K0S102 when the newest
# release is assumed because the Plan was not seen.
PINNED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  images:
    kubeproxy:
      image: quay.io/k0sproject/kube-proxy
      version: v1.29.4
"""

PLAN = """\
apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata:
  name: autopilot
spec:
  id: id-1
  timestamp: now
  commands:
    - k0supdate:
        version: v1.29.4+k0s.0
        platforms:
          linux-amd64:
            url: https://example.com/k0s
        targets:
          controllers:
            discovery:
              static:
                nodes: [controller-0]
"""


def make_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "clusters" / "edge-prod")
    write(repo, "clusters/edge-b/k0s.yaml", PINNED)
    write(repo, "clusters/edge-b/plans/upgrade.yaml", PLAN)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "clusters")
    return repo


Key = tuple[str, str, int, str]


def findings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cwd: Path, *args: str
) -> set[Key]:
    monkeypatch.chdir(cwd)
    main(["check", "--format", "json", *args])  # options first: the hook's entry ends with --
    document = json.loads(capsys.readouterr().out)
    return {(f["rule"], f["path"], f["line"], f["fingerprint"]) for f in document["findings"]}


def test_pre_commit_hook_on_a_staged_clusterconfig_matches_the_whole_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    path = repo / CONFIG_FILE
    path.write_text(path.read_text().replace("    konnectivity:", "    # staged edit\n    konnectivity:"))
    git(repo, "add", CONFIG_FILE)
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert staged == [CONFIG_FILE]

    # the hook's own entry, as .pre-commit-hooks.yaml declares it, with the staged file names
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    entry = shlex.split(hooks["k0s-policy"]["entry"])
    assert entry[:2] == ["k0s-policy", "check"]
    from_hook = findings(monkeypatch, capsys, repo, *entry[2:], *staged)

    whole = findings(monkeypatch, capsys, repo)
    expected = {key for key in whole if key[1] == CONFIG_FILE}
    assert {key[0] for key in expected} >= {"K0S102", "K0S104", "K0S201"}  # judged against the k0sctl 1.30
    assert from_hook == expected
    assert {key[1] for key in whole} > {CONFIG_FILE}  # the k0sctl file has findings, not reported above


def test_no_context_judges_the_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    alone = findings(monkeypatch, capsys, repo, CONFIG_FILE, "--no-context")
    assert "K0S005" in {key[0] for key in alone}  # no version declared: the newest release assumed
    monkeypatch.chdir(repo)
    main(["check", CONFIG_FILE])
    out = capsys.readouterr().out
    assert "target k0s v1.30.5+k0s.0 (from k0sctl spec.k0s.version" in out
    assert "note: context: read 1 more file" in out


def test_a_plan_beside_the_clusterconfig_gives_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    for cwd, named in ((repo, "clusters/edge-b/k0s.yaml"), (repo / "clusters" / "edge-b", "k0s.yaml")):
        rules = {key[0] for key in findings(monkeypatch, capsys, cwd, named)}
        assert "K0S101" in rules and "K0S102" not in rules, cwd
        rules = {key[0] for key in findings(monkeypatch, capsys, cwd, named, "--no-context")}
        assert "K0S102" in rules, cwd


def test_a_glob_of_clusterconfigs_brings_every_cluster_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    write(repo, "clusters/edge-prod/k0s.yaml", PINNED.replace("v1.29.4", "v1.30.5"))
    git(repo, "add", "-A")
    from_glob = findings(monkeypatch, capsys, repo, "clusters/*/k0s.yaml")
    whole = findings(monkeypatch, capsys, repo)
    named = {"clusters/edge-prod/k0s.yaml", "clusters/edge-b/k0s.yaml"}
    assert from_glob == {key for key in whole if key[1] in named}
    assert {key[1] for key in from_glob} == named


def test_a_named_sub_folder_gets_the_k0sctl_file_above_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    manifests = repo / "clusters" / "edge-prod" / "manifests"
    from_folder = findings(monkeypatch, capsys, manifests, ".")
    whole = findings(monkeypatch, capsys, repo)
    expected = {
        (r, p.removeprefix("clusters/edge-prod/manifests/"), ln, fp)
        for r, p, ln, fp in whole
        if p == CONFIG_FILE
    }
    assert from_folder == expected


def test_pr_mode_on_a_named_file_reads_the_same_context_on_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    path = repo / CONFIG_FILE
    path.write_text(path.read_text().replace("spec:\n", "spec:\n  netwrk: {}\n", 1))
    monkeypatch.chdir(repo)

    def reported(*args: str) -> list[tuple[str, str, str]]:
        assert main(["check", *args, "--diff-base", "HEAD", "--format", "json"]) == 1
        document = json.loads(capsys.readouterr().out)
        return [(f["rule"], f["path"], f["message"]) for f in document["findings"]]

    named = reported(CONFIG_FILE)
    assert named == reported()  # the whole repository: the same one new finding, the same words
    assert [rule for rule, _, _ in named] == ["K0S002"]
    assert "1.30" in named[0][2]  # judged against the k0sctl file's release, read for context


def test_pr_mode_base_configuration_with_an_unknown_rule_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    write(repo, ".k0s-policy.yaml", "rules:\n  K0S999: off\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    monkeypatch.chdir(repo)
    assert main(["check", "--diff-base", "HEAD"]) == 2
    err = capsys.readouterr().err
    assert ".k0s-policy.yaml:2: unknown rule 'K0S999'" in err


@pytest.mark.parametrize("ref", [[], ["--ref", "HEAD"]], ids=["work-tree", "ref"])
def test_audit_of_a_named_file_reads_its_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ref: list[str]
) -> None:
    repo = make_repository(tmp_path)
    monkeypatch.chdir(repo)
    main(["audit", CONFIG_FILE, *ref])
    out = capsys.readouterr().out
    assert "target is k0s v1.30.5+k0s.0" in out  # the k0sctl file's version
    assert "clusters/edge-prod/k0sctl.yaml:" not in out  # context: not reported on
    main(["audit", CONFIG_FILE, *ref, "--no-context"])
    assert "target is k0s v1.30.5+k0s.0" not in capsys.readouterr().out
