"""The GitHub Action and the pre-commit hooks, run the way GitHub and pre-commit run them.

scripts/action-run.sh holds every shell step of action.yml; here it runs with plain bash in a copy of
an example repository, with the environment the composite action gives it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO_ROOT, git, write

SCRIPT = REPO_ROOT / "scripts" / "action-run.sh"
ACTION = REPO_ROOT / "action.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
K0S_POLICY = str(Path(sys.executable).parent / "k0s-policy")
HELM_TEMPLATE = 'kind: Deployment\nmetadata:\n  labels:\n    {{- include "x.labels" . | nindent 4 }}\n'


def run_step(
    cwd: Path, step: str = "check", **inputs: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], Path]:
    """Runs one step of the action; returns the process, its step outputs and the summary file."""
    outputs, summary = cwd / ".github-output", cwd / ".github-summary.md"
    outputs.write_text("")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "INPUT_"))}
    env.update(
        {
            "K0S_POLICY": K0S_POLICY,
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_EVENT_NAME": "push",
        }
    )
    env.update(inputs)
    done = subprocess.run(
        ["bash", str(SCRIPT), step],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done, parse_outputs(outputs.read_text()), summary


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: NAME=VALUE lines and NAME<<DELIMITER ... DELIMITER blocks."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        heredoc, equals = line.find("<<"), line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            body: list[str] = []
            for item in lines:
                if item == delimiter:
                    break
                body.append(item)
            else:
                raise AssertionError(f"output {name}: no closing delimiter")
            values[name] = "\n".join(body)
        elif equals > 0:
            values[line[:equals]] = line[equals + 1 :]
    return values


@pytest.fixture
def story(tmp_path: Path) -> Path:
    """A user's repository: the air-gap upgrade example at its root."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade", repo)
    write(repo, "charts/app/templates/deployment.yaml", HELM_TEMPLATE)
    return repo


def supports_diff_base() -> bool:
    help_text = subprocess.run(
        [K0S_POLICY, "check", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return "--diff-base" in help_text


def annotation_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.match(r"::(error|warning|notice) ", line)]


def test_check_step_annotates_writes_sarif_and_fails(story: Path) -> None:
    done, outputs, summary = run_step(
        story,
        INPUT_PATHS=".",
        INPUT_FAIL_ON="error",
        INPUT_UPLOAD_SARIF="true",
        INPUT_SARIF_FILE="out/k0s.sarif",
    )
    assert done.returncode == 1, done.stderr
    found = annotation_lines(done.stdout)
    assert (
        "::error file=manifests/clusterconfig-k0s.yaml,line=21,col=18,title=K0S102::calico.cni pinned to v3.26.1-1"
        in done.stdout
    )
    assert (
        "manifests/clusterconfig-k0s.yaml:37:16: error K0S102 kubeproxy pinned to v1.29.4" in done.stdout
    )  # listed
    assert len(found) == 14 and found[0].startswith("::error file=k0sctl.yaml,line=46,col=32,title=K0S401::")
    assert outputs == {"exit-code": "1", "sarif-file": "out/k0s.sarif"}
    document = json.loads((story / "out" / "k0s.sarif").read_text(encoding="utf-8"))
    results = document["runs"][0]["results"]
    assert len(results) == 23
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"k0sctl.yaml", "manifests/clusterconfig-k0s.yaml"}  # relative to the repository root
    assert "## k0s-policy" in summary.read_text(encoding="utf-8")
    # the command is shown in the log, and the Helm template next to the cluster is not parsed
    assert (
        "k0s-policy check --fail-on error --format github --format sarif --output out/k0s.sarif -- ."
        in done.stdout
    )
    assert "K0S001" not in done.stdout


@pytest.mark.parametrize(
    ("example", "fail_on", "code"),
    [
        ("airgap-upgrade", "never", 0),
        ("airgap-upgrade", "warning", 1),
        ("airgap-upgrade-fixed", "error", 0),
        ("airgap-upgrade-fixed", "warning", 0),
        ("airgap-upgrade-fixed", "info", 1),  # the fixed example keeps one informational K0S401
    ],
)
def test_fail_on_decides_the_exit_code(tmp_path: Path, example: str, fail_on: str, code: int) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples" / example, repo)
    done, outputs, _ = run_step(repo, INPUT_FAIL_ON=fail_on)
    assert done.returncode == code, done.stdout + done.stderr
    assert outputs == {"exit-code": str(code)}  # no SARIF unless asked for
    assert not list(repo.glob("*.sarif"))


def test_deferred_exit_lets_the_upload_run_and_finish_fails_the_job(story: Path) -> None:
    done, outputs, _ = run_step(story, K0S_POLICY_DEFER_EXIT="true", INPUT_UPLOAD_SARIF="true")
    assert done.returncode == 0
    assert outputs == {"exit-code": "1", "sarif-file": "k0s-policy.sarif"}
    assert (story / "k0s-policy.sarif").is_file()
    finish, _, _ = run_step(story, "finish", K0S_POLICY_EXIT_CODE=outputs["exit-code"])
    assert finish.returncode == 1 and "exited with 1" in finish.stderr
    assert run_step(story, "finish", K0S_POLICY_EXIT_CODE="0")[0].returncode == 0


def test_inputs_paths_version_and_args(story: Path) -> None:
    write(
        story,
        "other/k0s.yaml",
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  imagez: {}\n",
    )
    done, outputs, _ = run_step(
        story,
        INPUT_PATHS="other\n manifests/clusterconfig-k0s.yaml",
        INPUT_K0S_VERSION="1.29",
        INPUT_ARGS="--select K0S002,K0S101",
    )
    assert done.returncode == 1, done.stderr
    rules = sorted({re.sub(r".*title=(\w+)::.*", r"\1", line) for line in annotation_lines(done.stdout)})
    assert rules == ["K0S002", "K0S101"]  # the 1.29 defaults are now merely redundant pins
    assert "--k0s-version 1.29" in done.stdout and "other/k0s.yaml" in done.stdout
    assert outputs["exit-code"] == "1"


def test_bad_inputs_are_usage_errors(story: Path) -> None:
    done, outputs, _ = run_step(story, INPUT_FAIL_ON="sometimes")
    assert done.returncode == 2 and outputs == {"exit-code": "2"}
    assert "::error title=k0s-policy::fail-on must be" in done.stdout
    done, outputs, _ = run_step(story, INPUT_PATHS="missing.yaml")
    assert done.returncode == 2 and outputs == {"exit-code": "2"}
    assert "usage" in run_step(story, "bogus")[0].stderr


def command_of(done: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in done.stdout.splitlines() if line.startswith("k0s-policy check"))


def test_diff_base_on_pull_requests(story: Path) -> None:
    git(story, "init", "-q", "-b", "main")
    git(story, "add", "-A")
    git(story, "commit", "-q", "-m", "base")
    git(story, "branch", "base")
    pull_request = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main"}

    # the default on a pull request is the base branch as fetched by actions/checkout
    done, _, _ = run_step(story, **pull_request)
    assert done.returncode in (0, 1)
    if not supports_diff_base():
        assert "::warning title=k0s-policy::this k0s-policy has no --diff-base yet" in done.stdout
    else:  # origin/main does not exist in this clone: a warning, then the whole tree
        assert (
            "::warning title=k0s-policy::the pull request base origin/main is not in this checkout"
            in done.stdout
        )
        assert "--diff-base" not in command_of(done)

    # an explicit revision is passed on when the CLI knows the flag
    done, _, _ = run_step(story, INPUT_DIFF_BASE="base", **pull_request)
    command = command_of(done)
    if supports_diff_base():
        assert done.returncode in (0, 1), done.stdout + done.stderr
        assert "--diff-base base" in command
        # nothing changed since base: no annotation, yet the SARIF holds every alert, or code
        # scanning would take the older ones for fixed by the pull request
        done, outputs, _ = run_step(story, INPUT_DIFF_BASE="base", INPUT_UPLOAD_SARIF="true", **pull_request)
        assert done.returncode == 0 and not annotation_lines(done.stdout), done.stdout
        assert outputs == {"exit-code": "0", "sarif-file": "k0s-policy.sarif"}
        sarif = json.loads((story / "k0s-policy.sarif").read_text(encoding="utf-8"))
        assert len(sarif["runs"][0]["results"]) == 23
        done, outputs, _ = run_step(story, INPUT_DIFF_BASE="no-such-branch")
        assert done.returncode == 2 and outputs == {"exit-code": "2"}
        assert "::error title=k0s-policy::diff-base no-such-branch is not a commit" in done.stdout
    else:
        assert "--diff-base" not in command and "has no --diff-base yet" in done.stdout

    # "none" switches it off, and a push has no base at all
    for env in ({"INPUT_DIFF_BASE": "none", **pull_request}, {}):
        done, _, _ = run_step(story, **env)
        assert "--diff-base" not in command_of(done) and "::warning title=k0s-policy::" not in done.stdout


STALE_PIN = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    coredns: {image: quay.io/k0sproject/coredns, version: 1.11.1}
"""


def test_paths_cannot_switch_rules_off(story: Path) -> None:
    # a path input that smuggles in a flag: it is a path (that does not exist), never --ignore
    done, outputs, _ = run_step(story, INPUT_PATHS=". --ignore=K0S")
    assert done.returncode == 2 and outputs["exit-code"] == "2", done.stdout
    assert "::error file=manifests/clusterconfig-k0s.yaml,line=21" in done.stdout  # still checked
    assert "--ignore=K0S: no such file or directory" in done.stderr
    # a file whose name is a flag is checked as a file
    write(story, "--ignore=K0S.yaml", STALE_PIN)
    done, outputs, _ = run_step(story, INPUT_PATHS="--ignore=K0S.yaml", INPUT_K0S_VERSION="1.30")
    assert done.returncode == 1 and outputs["exit-code"] == "1", done.stdout + done.stderr
    assert "::error file=--ignore=K0S.yaml,line=5," in done.stdout and "title=K0S102" in done.stdout


def test_inputs_cannot_add_outputs_or_log_commands(story: Path) -> None:
    # a line break in the SARIF file name: before, "exit-code=0" became an output of its own and the
    # command echoed into the log started a workflow command
    sarif = "out/x\n::error file=README.md,line=1::owned\nexit-code=0"
    done, outputs, _ = run_step(story, INPUT_UPLOAD_SARIF="true", INPUT_SARIF_FILE=sarif)
    assert done.returncode == 1, done.stdout + done.stderr
    assert outputs == {"exit-code": "1", "sarif-file": sarif}
    assert (story / sarif).is_file()
    hostile_base = "nope\n::error file=README.md,line=1::owned"
    for inputs in ({}, {"INPUT_DIFF_BASE": hostile_base}, {"INPUT_FAIL_ON": hostile_base}):
        done, _, _ = run_step(story, INPUT_UPLOAD_SARIF="true", INPUT_SARIF_FILE=sarif, **inputs)
        commands = [line for line in done.stdout.splitlines() if line.startswith("::")]
        assert commands and not [c for c in commands if "README.md" in c.split("::")[1]], done.stdout
    done, outputs, _ = run_step(story, INPUT_DIFF_BASE="--output=x")
    assert done.returncode == 2 and outputs == {"exit-code": "2"}
    assert "diff-base --output=x is not a git revision" in done.stdout


def test_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck") or pytest.skip("shellcheck is not installed")
    done = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


# --- the files GitHub and pre-commit read ----------------------------------------------------


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def validate_builtin(schema: str, path: Path) -> None:
    """check-jsonschema ships SchemaStore's schemas for actions and workflows: no network."""
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_yml_is_a_composite_action_wired_to_the_script() -> None:
    validate_builtin("vendor.github-actions", ACTION)
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name in ("paths", "k0s-version", "fail-on", "diff-base", "upload-sarif"):
        assert name in inputs and "description" in inputs[name]
    assert inputs["fail-on"]["default"] == "error" and inputs["upload-sarif"]["default"] == "false"
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used <= set(inputs), used - set(inputs)

    steps = action["runs"]["steps"]
    script = SCRIPT.read_text(encoding="utf-8")
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash"
            assert step["run"].startswith('bash "$GITHUB_ACTION_PATH/scripts/action-run.sh" ')
            assert step["run"].split()[-1] in ("install", "check", "finish")
            for variable in step.get("env", {}):
                assert variable in script, f"{variable} is set by action.yml but not read by the script"
    check = next(step for step in steps if step.get("id") == "check")
    assert check["env"]["K0S_POLICY_DEFER_EXIT"] == "true"
    for variable in sorted(set(re.findall(r"\bINPUT_[A-Z0-9_]+", script))):
        assert variable in check["env"], f"the script reads {variable}, which action.yml does not set"
    upload = next(step for step in steps if "upload-sarif" in step.get("uses", ""))
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"
    assert steps[-1]["run"].endswith(" finish")  # the job fails only after the upload
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"


def test_ci_workflow_runs_the_tests_and_both_examples() -> None:
    validate_builtin("vendor.github-workflows", WORKFLOW)
    commands = [step.get("run", "") for job in load(WORKFLOW)["jobs"].values() for step in job["steps"]]
    assert "make test" in commands
    assert any("check examples/airgap-upgrade-fixed" in c and "--fail-on" not in c for c in commands)
    assert any("check examples/airgap-upgrade " in c and "--fail-on never" in c for c in commands)


def test_pre_commit_hooks(tmp_path: Path) -> None:
    hooks = {hook["id"]: hook for hook in load(HOOKS)}
    assert set(hooks) == {"k0s-policy", "k0s-policy-repo"}
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["types_or"] == ["yaml", "json"]
        assert hook["require_serial"] is True
        assert shlex.split(hook["entry"])[0] in declared
    assert hooks["k0s-policy"].get("pass_filenames", True) is True
    assert hooks["k0s-policy-repo"]["pass_filenames"] is False

    # what pre-commit runs: the entry followed by the staged YAML and JSON files
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade", repo)
    write(repo, "charts/app/templates/deployment.yaml", HELM_TEMPLATE)
    write(repo, "package.json", '{"name": "site"}')

    def run_hook(hook_id: str, *files: str) -> subprocess.CompletedProcess[str]:
        entry = shlex.split(hooks[hook_id]["entry"])
        return subprocess.run(
            [K0S_POLICY, *entry[1:], *files], cwd=repo, capture_output=True, text=True, check=False
        )

    unrelated = run_hook("k0s-policy", "charts/app/templates/deployment.yaml", "package.json")
    assert unrelated.returncode == 0, unrelated.stdout  # a Helm template is not k0s configuration
    assert "0 files, 0 documents, 0 clusters: no findings" in unrelated.stdout
    staged = run_hook(
        "k0s-policy",
        "charts/app/templates/deployment.yaml",
        "k0sctl.yaml",
        "manifests/clusterconfig-k0s.yaml",
    )
    assert staged.returncode == 1 and "manifests/clusterconfig-k0s.yaml:37:16: error K0S102" in staged.stdout
    assert "2 files, 2 documents, 1 cluster: " in staged.stdout
    # a staged file named like a flag is checked, not read as --ignore
    write(repo, "--ignore=K0S.yaml", (repo / "manifests/clusterconfig-k0s.yaml").read_text())
    flag_named = run_hook("k0s-policy", "--ignore=K0S.yaml", "k0sctl.yaml")
    assert flag_named.returncode == 1 and "--ignore=K0S.yaml:37:16: error K0S102" in flag_named.stdout
    (repo / "--ignore=K0S.yaml").unlink()
    whole = run_hook("k0s-policy-repo")  # no file names: the whole tree, same clusters, same findings
    assert whole.returncode == 1
    assert (
        whole.stdout.splitlines()[-1].split(" documents, ")[1]
        == staged.stdout.splitlines()[-1].split(" documents, ")[1]
    )
