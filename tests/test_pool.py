"""`check --jobs N`: a big run checked by forked workers gives the report of one process, byte for
byte; small runs never fork; a worker that dies fails the run instead of losing its clusters."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checker.cli.app import main
from checker.workflows import pool
from conftest import CLEAN, OTHER_TYPO, TYPO, write

K0SCTL = """\
apiVersion: k0sctl.k0sproject.io/v1beta1
kind: Cluster
metadata:
  name: {name}
spec:
  hosts:
    - role: single
      ssh: {{address: 10.0.0.1}}
  k0s:
    version: {version}
    config:
      spec:
        images:
          kubeproxy:
            image: quay.io/k0sproject/kube-proxy
            version: v1.29.4
"""

needs_fork = pytest.mark.skipif(not pool.can_fork(), reason="the pool forks (Linux only)")


def big_fleet(root: Path, clusters: int = 120) -> Path:
    """More k0s objects than pool.SMALL_RUN, in clusters of several shapes (release known or not)."""
    for index in range(clusters):
        base = f"clusters/site-{index:03d}"
        version = ("v1.30.2+k0s.0", "v1.29.4+k0s.0", "v1.40.0+k0s.0")[index % 3]
        write(root, f"{base}/k0sctl.yaml", K0SCTL.format(name=f"site-{index}", version=version))
        write(root, f"{base}/k0s.yaml", (TYPO, OTHER_TYPO, CLEAN)[index % 3])
    write(root, "broken/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: [unclosed\n")
    return root


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@needs_fork
def test_the_pool_writes_the_one_process_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(big_fleet(tmp_path))
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    for format_name in ("json", "text", "junit"):
        one = run(["check", ".", "--jobs", "1", "--format", format_name], capsys)
        assert forks == []
        three = run(["check", ".", "--jobs", "3", "--format", format_name], capsys)
        assert len(forks) == 2  # two workers beside the parent
        forks.clear()
        assert one == three and one[0] == 1
    report = json.loads(run(["check", ".", "--jobs", "3", "--format", "json"], capsys)[1])
    assert report["summary"]["clusters"] == 120 and report["summary"]["k0s_objects"] > pool.SMALL_RUN
    assert {f["rule"] for f in report["findings"]} >= {"K0S001", "K0S002", "K0S003", "K0S102"}
    assert report["skipped"] and all(c["target"] for c in report["clusters"])


def test_small_runs_never_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "a/k0s.yaml", TYPO)
    monkeypatch.chdir(tmp_path)

    def no_fork() -> int:
        raise AssertionError("a small run forked")

    monkeypatch.setattr(os, "fork", no_fork)
    code, out, _ = run(["check", ".", "--jobs", "8", "--format", "json"], capsys)
    assert code == 1 and json.loads(out)["summary"]["clusters"] == 1


@needs_fork
def test_a_worker_that_dies_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(big_fleet(tmp_path))

    def die(self: object, *args: object, **kwargs: object) -> None:
        os._exit(0)  # as if killed after its checks: no result reaches the parent

    monkeypatch.setattr(pool._Forker, "send", die)
    code, _, err = run(["check", ".", "--jobs", "2", "--format", "json"], capsys)
    assert code == 2
    assert "shard 1/2 of the clusters failed: the worker ended without a result" in err
    assert "--jobs 1" in err


def test_jobs_must_be_positive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    write(tmp_path, "a/k0s.yaml", CLEAN)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["check", ".", "--jobs", "0"], capsys)
    assert code == 2 and out == "" and "--jobs 0" in err
