"""The same answer wherever it runs: one git repository checked from its root, from a cluster folder,
through the Argo CD plugin script and as a rendered stream on stdin gives the same findings (rule,
file, line, fingerprint). `.k0s-policy.yaml` patterns are relative to its folder, --exclude to the
current directory, `.gitignore` is honoured, and baselines store repository-relative paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli.app import main
from conftest import REPO_ROOT, git, write

GENERATE = REPO_ROOT / "deploy" / "argocd" / "generate.sh"

CONFIG = """\
exclude: ["clusters/edge-a/drafts/**"]
clusters:
  "clusters/edge-*": {k0s_version: v1.29.4+k0s.0}
"""

# Against the configured v1.29.4 the pin is the default (K0S101, a warning); judged against the newest
# release, as happened when the `clusters:` pattern was matched against the current directory, it
# would be a stale pin (K0S102, an error).
CLUSTER_CONFIG = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  imagez: {}
  images:
    kubeproxy:
      image: quay.io/k0sproject/kube-proxy
      version: v1.29.4
"""

Key = tuple[str, str, int, str]


def make_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo, ".k0s-policy.yaml", CONFIG)
    write(repo, "clusters/edge-a/k0s.yaml", CLUSTER_CONFIG)
    write(repo, "clusters/edge-a/drafts/k0s.yaml", CLUSTER_CONFIG)  # excluded by the configuration
    write(repo, "clusters/edge-a/out/k0s.yaml", CLUSTER_CONFIG)  # ignored by git
    write(repo, "clusters/edge-a/.gitignore", "out/\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "clusters")
    return repo


def keys(report: Path, cwd: Path, repo: Path) -> set[Key]:
    """(rule, repository-relative file, line, fingerprint) of every finding of a JSON report."""
    document = json.loads(report.read_text(encoding="utf-8"))
    found = set()
    for finding in document["findings"]:
        file = os.path.relpath(os.path.realpath(cwd / finding["path"]), os.path.realpath(repo))
        found.add((finding["rule"], Path(file).as_posix(), finding["line"], finding["fingerprint"]))
    return found


def run_in(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(cwd)
    return main(["check", *args])


def test_four_ways_of_running_give_the_same_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    app = repo / "clusters" / "edge-a"
    reports = tmp_path / "reports"
    reports.mkdir()

    # 1. from the repository root
    assert run_in(repo, monkeypatch, "--format", "json", "--output", str(reports / "root.json")) == 1
    from_root = keys(reports / "root.json", repo, repo)

    # 2. from the cluster's folder
    assert run_in(app, monkeypatch, ".", "--format", "json", "--output", str(reports / "app.json")) == 1
    from_app = keys(reports / "app.json", app, repo)

    # 3. through the Argo CD plugin's generate script, in the application's folder
    done = _generate(app, reports / "argocd.json", tmp_path)
    assert done.returncode == 1, done.stderr
    assert "target k0s v1.29.4+k0s.0 (from" in done.stderr
    through_argocd = keys(reports / "argocd.json", app, repo)

    # 4. a rendered stream on stdin whose documents name their origin (kustomize originAnnotations)
    annotated = CLUSTER_CONFIG.replace(
        "  name: k0s\n",
        "  name: k0s\n  annotations:\n    config.kubernetes.io/origin: |\n      path: k0s.yaml\n",
    )
    stream = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge\n---\n" + annotated
    monkeypatch.setattr(sys, "stdin", _Stdin(stream.encode()))
    assert run_in(app, monkeypatch, "-", "--format", "json", "--output", str(reports / "stdin.json")) == 1
    from_stdin = keys(reports / "stdin.json", app, repo)
    capsys.readouterr()

    expected_rules = {"K0S002", "K0S101"}
    assert {key[0] for key in from_root} == expected_rules  # the configured release, not the newest
    assert {key[1] for key in from_root} == {"clusters/edge-a/k0s.yaml"}  # excluded and git-ignored skipped
    assert from_app == from_root
    # the plugin checks every file it emits, the excluded and the git-ignored one too
    assert through_argocd >= from_root
    assert {key[1] for key in through_argocd - from_root} == {
        "clusters/edge-a/drafts/k0s.yaml",
        "clusters/edge-a/out/k0s.yaml",
    }
    assert from_stdin == from_root


def _generate(app: Path, wrapper_report: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The Argo CD plugin's generate script, run in the application's folder as the CMP server does;
    the wrapper only adds a JSON report next to the script's own text report."""
    wrapper = tmp_path / "k0s-policy-json"
    wrapper.write_text(
        # the script's paths follow a "--": the JSON report goes in front of them
        f'#!/bin/sh\ncommand=$1\nshift\nexec "{sys.executable}" -m checker "$command" --format json '
        f'--output "{wrapper_report}" "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGOCD_", "PARAM_", "K0S_POLICY"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["sh", str(GENERATE)],
        cwd=app,
        env={**env, "K0S_POLICY": str(wrapper)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(
    shutil.which("kustomize") is None and shutil.which("kubectl") is None, reason="needs kustomize or kubectl"
)
def test_argocd_plugin_rendering_a_kustomization_gives_the_same_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    app = repo / "clusters" / "edge-a"
    write(
        app,
        "kustomization.yaml",
        """\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources: [k0s.yaml]
        buildMetadata: [originAnnotations]
        """,
    )
    assert run_in(repo, monkeypatch, "--format", "json", "--output", str(tmp_path / "root.json")) == 1
    capsys.readouterr()
    done = _generate(app, tmp_path / "rendered.json", tmp_path)
    assert done.returncode == 1, done.stderr
    assert keys(tmp_path / "rendered.json", app, repo) == keys(tmp_path / "root.json", repo, repo)


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = _Buffer(data)


class _Buffer:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


def test_cli_exclude_is_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    app = repo / "clusters" / "edge-a"
    write(repo, "clusters/edge-a/legacy/k0s.yaml", CLUSTER_CONFIG)
    write(repo, "legacy/k0s.yaml", CLUSTER_CONFIG)

    def files(cwd: Path, *args: str) -> set[str]:
        run_in(cwd, monkeypatch, *args, "--format", "json")
        return {
            Path(os.path.relpath(cwd / f["path"], repo)).as_posix()
            for f in json.loads(capsys.readouterr().out)["findings"]
        }

    # written from the cluster's folder, the pattern names its legacy/ folder
    assert files(app, ".", "--exclude", "legacy/**") == {"clusters/edge-a/k0s.yaml"}
    # a repository-relative pattern means nothing there: --exclude is not read from the root
    assert files(app, ".", "--exclude", "clusters/edge-a/legacy/**") == {
        "clusters/edge-a/k0s.yaml",
        "clusters/edge-a/legacy/k0s.yaml",
    }
    # ... while in .k0s-policy.yaml at the root it is relative to the root, wherever the run starts
    config = CONFIG.replace('exclude: ["', 'exclude: ["clusters/edge-a/legacy/**", "')
    write(repo, ".k0s-policy.yaml", config)
    assert files(app, ".") == {"clusters/edge-a/k0s.yaml"}
    # files outside the current directory are matched as they are shown (absolute)
    assert files(app, str(repo), "--exclude", "legacy/**") == {"clusters/edge-a/k0s.yaml"}


def test_config_in_a_sub_folder_matches_below_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    (repo / ".k0s-policy.yaml").unlink()
    # the same settings, written relative to clusters/
    write(repo, "clusters/.k0s-policy.yaml", CONFIG.replace("clusters/", ""))
    git(repo, "add", "-A")
    for cwd in (repo, repo / "clusters", repo / "clusters" / "edge-a"):
        run_in(cwd, monkeypatch, str(os.path.relpath(repo / "clusters", cwd)), "--format", "json")
        document = json.loads(capsys.readouterr().out)
        rules = sorted(f["rule"] for f in document["findings"])
        assert rules == ["K0S002", "K0S101"], cwd


def test_gitignore_is_honoured_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    write(repo, ".gitignore", "*.rendered.yaml\n!keep.rendered.yaml\nbuild/\n")
    write(repo, "clusters/edge-a/x.rendered.yaml", CLUSTER_CONFIG)
    write(repo, "clusters/edge-a/keep.rendered.yaml", CLUSTER_CONFIG)
    write(repo, "clusters/build/deep/k0s.yaml", CLUSTER_CONFIG)

    def paths(*args: str) -> set[str]:
        run_in(repo, monkeypatch, *args, "--format", "json")
        return {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]}

    assert paths() == {"clusters/edge-a/k0s.yaml", "clusters/edge-a/keep.rendered.yaml"}
    # a glob's matches are found files too; a file named on the command line is always read
    assert paths("clusters/**/*.yaml") == {"clusters/edge-a/k0s.yaml", "clusters/edge-a/keep.rendered.yaml"}
    assert paths("clusters/edge-a/x.rendered.yaml") == {"clusters/edge-a/x.rendered.yaml"}
    assert paths("--no-gitignore") == {
        "clusters/edge-a/k0s.yaml",
        "clusters/edge-a/keep.rendered.yaml",
        "clusters/edge-a/x.rendered.yaml",
        "clusters/edge-a/out/k0s.yaml",
        "clusters/build/deep/k0s.yaml",
    }


def test_gitignore_means_nothing_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, ".gitignore", "ignored/\n")
    write(tmp_path, "ignored/k0s.yaml", CLUSTER_CONFIG)
    run_in(tmp_path, monkeypatch, "--k0s-version", "1.29", "--format", "json")
    assert {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]} == {"ignored/k0s.yaml"}


def test_baseline_written_at_the_root_matches_from_a_cluster_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert run_in(repo, monkeypatch, "--write-baseline", str(baseline)) == 0
    stored = json.loads(baseline.read_text())["findings"]
    assert {entry["path"] for entry in stored} == {"clusters/edge-a/k0s.yaml"}
    assert run_in(repo / "clusters" / "edge-a", monkeypatch, ".", "--baseline", str(baseline)) == 0
    out = capsys.readouterr().out
    assert "2 known findings not shown" in out
    assert "no longer occur" not in out


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pr_mode_from_a_cluster_folder_uses_the_folder_relative_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    app = repo / "clusters" / "edge-a"
    (app / "k0s.yaml").write_text(CLUSTER_CONFIG + "  netwrk: {}\n")
    assert run_in(app, monkeypatch, ".", "--diff-base", "HEAD", "--format", "json") == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    # only the new typo; the K0S101 pin stays known (K0S102 would appear if the pattern were lost)
    assert [(f["rule"], f["path"]) for f in findings] == [("K0S002", "k0s.yaml")]


def test_github_annotations_name_files_from_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub places annotations by repository-relative path, so a check run in a sub-folder (a
    workflow's working-directory) still annotates the right file."""
    repo = make_repository(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    run_in(repo / "clusters" / "edge-a", monkeypatch, ".", "--format", "github")
    out = capsys.readouterr().out.splitlines()
    annotations = [line for line in out if line.startswith(("::error ", "::warning ", "::notice "))]
    assert len(annotations) == 2
    assert all("file=clusters/edge-a/k0s.yaml," in line for line in annotations)


def test_a_gitignore_line_git_cannot_read_is_skipped_as_git_skips_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repository(tmp_path)
    write(repo, ".gitignore", "!\n\\\nbuild/\n")
    write(repo, "build/k0s.yaml", CLUSTER_CONFIG)
    assert run_in(repo, monkeypatch, "--format", "json") == 1
    paths = {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert paths == {"clusters/edge-a/k0s.yaml"}
