"""The fleet deployments: the Policy Reporter overlay (deploy/policy-reporter) rendered with the real
`kubectl kustomize` when kubectl is installed, and the Indexed Job (deploy/kubernetes/fleet-job.yaml)."""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from checker.cli.app import main
from checker.inputs.yamldoc import parse_bytes
from conftest import CLEAN, OTHER_TYPO, REPO_ROOT, TYPO, write

OVERLAY = REPO_ROOT / "deploy" / "policy-reporter"


def documents(text: str) -> list[Any]:
    parsed = parse_bytes("rendered.yaml", text.encode())
    assert not parsed.problems, parsed.problems
    return [d.data for d in parsed.documents if d.data is not None]


def kustomize(path: str) -> list[Any]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run(
        [kubectl, "kustomize", path], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return documents(done.stdout)


def test_the_policy_reporter_overlay_publishes_a_named_report() -> None:
    rendered = kustomize(str(OVERLAY))
    (cronjob,) = [o for o in rendered if o["kind"] == "CronJob"]
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert "--in-cluster" in args and "--publish-report" in args
    assert args[args.index("--report-name") + 1] == "k0s-policy-edge-prod"
    # the overlay adds no permission: the base's write Role is the only one on policyreports
    roles = [o for o in rendered if o["kind"] in ("Role", "ClusterRole")]
    writes = [
        (o["metadata"]["name"], rule["verbs"])
        for o in roles
        for rule in o["rules"]
        if "policyreports" in rule["resources"]
    ]
    assert writes == [("k0s-policy-audit-reports", ["create", "get", "patch"])]


# --- the Indexed Job and the GitHub matrix, run locally --------------------------------------------------

FLEET_JOB = REPO_ROOT / "deploy" / "kubernetes" / "fleet-job.yaml"
GITHUB_DOC = REPO_ROOT / "docs" / "integrations" / "github.md"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def make_fleet(root: Path) -> Path:
    """A repository of 24 clusters under clusters/ with findings of several rules."""
    for index in range(24):
        base = f"clusters/site-{index:02d}"
        if index % 3 == 0:
            write(root, f"{base}/k0s.yaml", TYPO)
        elif index % 3 == 1:
            write(root, f"{base}/k0s.yaml", OTHER_TYPO)
        else:
            write(root, f"{base}/k0s.yaml", CLEAN)
    write(root, "clusters/broken/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: [unclosed\n")
    return root


def yaml_blocks(text: str) -> list[str]:
    """The ```yaml blocks of a Markdown page."""
    return [m[1] for m in re.finditer(r"^```yaml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) as the kubelet expands it in a container's args; an unknown variable stays as written."""
    return _VAR.sub(lambda m: env.get(m[1], m[0]), value)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def canonical(report: dict[str, Any]) -> str:
    report = dict(report)
    report.pop("shard", None)
    for key in ("findings", "clusters", "skipped", "input_errors"):
        report[key] = sorted(report[key], key=lambda item: json.dumps(item, sort_keys=True))
    return json.dumps(report, sort_keys=True)


def test_the_indexed_job_run_locally_with_each_index_checks_the_fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (job,) = documents(FLEET_JOB.read_text(encoding="utf-8"))
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"]
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    env_entries = {e["name"]: e for e in container["env"]}
    index_source = env_entries["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert index_source == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    env = {name: e["value"] for name, e in env_entries.items() if "value" in e}
    assert int(env["SHARDS"]) == spec["completions"]
    repo = make_fleet(tmp_path / "repo")
    monkeypatch.chdir(repo)  # the container's workingDir holds the clone
    assert container["workingDir"] == "/work/repo"
    names = []
    for index in range(spec["completions"]):
        args = [expand(a, {**env, "JOB_COMPLETION_INDEX": str(index)}) for a in container["args"]]
        assert not any("$(" in a for a in args), args
        code, out, err = run_cli(args, capsys)
        assert code == 0, err  # --fail-on never: the pod succeeds, the merge decides
        report = json.loads(out)  # JSON is the one thing on stdout
        assert report["shard"] == {"index": index, "count": spec["completions"]}
        name = tmp_path / f"shard-{index}.json"
        name.write_text(out, encoding="utf-8")
        names.append(str(name))
    code, merged, err = run_cli(["merge-reports", *names, "--format", "json"], capsys)
    assert code == 1, err
    _, single, _ = run_cli(["check", env["FLEET_PATH"], "--format", "json"], capsys)
    assert canonical(json.loads(merged)) == canonical(json.loads(single))


def test_the_documented_github_matrix_runs_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GITHUB_DOC.read_text(encoding="utf-8")
    block = next(b for b in yaml_blocks(text) if "k0s-policy-fleet.yml" in b)
    (workflow,) = documents(block)
    jobs = workflow["jobs"]
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    assert jobs["shard"]["strategy"]["fail-fast"] is False and jobs["merge"]["needs"] == "shard"
    check_step = next(s["run"] for s in jobs["shard"]["steps"] if "k0s-policy check" in s.get("run", ""))
    merge_step = next(s["run"] for s in jobs["merge"]["steps"] if "merge-reports" in s.get("run", ""))
    upload = next(s for s in jobs["merge"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "k0s-policy.sarif"
    assert jobs["merge"]["permissions"]["security-events"] == "write"
    repo = make_fleet(tmp_path / "repo")
    monkeypatch.chdir(repo)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    for shard in shards:
        argv = shlex.split(check_step.replace("${{ matrix.shard }}", str(shard)))
        assert argv[0] == "k0s-policy"
        code, _, err = run_cli(argv[1:], capsys)
        assert code == 0, err
        (produced,) = [p for p in repo.glob("shard-*.json")]
        produced.rename(artifacts / produced.name)  # upload, then download into the merge job
    assert sorted(p.name for p in artifacts.iterdir()) == [f"shard-{s}.json" for s in shards]
    monkeypatch.chdir(artifacts)
    argv = shlex.split(merge_step)
    argv = [a for pattern in argv[1:] for a in (sorted(glob.glob(pattern)) if "*" in pattern else [pattern])]
    code, out, _ = run_cli(argv, capsys)
    assert code == 1 and "::error" in out  # annotations in the log, the job fails on the findings
    sarif = json.loads((artifacts / "k0s-policy.sarif").read_text(encoding="utf-8"))
    monkeypatch.chdir(repo)
    _, single, _ = run_cli(["check", "clusters/", "--format", "sarif"], capsys)
    fingerprints = [
        sorted(json.dumps(r["partialFingerprints"]) for r in doc["runs"][0]["results"])
        for doc in (sarif, json.loads(single))
    ]
    assert fingerprints[0] == fingerprints[1] and fingerprints[0]
