"""Sharded runs: `check --shard K/N` on a real repository of many clusters, N shards merged with
`merge-reports` give the report of one run (JSON, byte for byte after sorting), and a merge that lacks
a shard fails instead of reporting less."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from checker.cli.app import main
from checker.workflows.shard import Shard, bucket
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
          default_pull_policy: Never
          kubeproxy:
            image: quay.io/k0sproject/kube-proxy
            version: v1.29.4
"""
PINNED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  images:
    coredns:
      image: quay.io/k0sproject/coredns
      version: 1.11.1  # k0s-policy: ignore[K0S102]
"""


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """30 clusters of every shape, plus files that belong to no cluster; reports go to ../out."""
    (tmp_path / "out").mkdir()
    tmp_path = tmp_path / "repo"
    for index in range(30):
        base = f"clusters/site-{index:02d}"
        shape = index % 6
        if shape == 0:
            write(
                tmp_path, f"{base}/k0sctl.yaml", K0SCTL.format(name=f"site-{index}", version="v1.30.2+k0s.0")
            )
        elif shape == 1:
            write(tmp_path, f"{base}/k0s.yaml", TYPO)
            write(tmp_path, f"{base}/system/clusterconfig-k0s.yaml", PINNED)
        elif shape == 2:
            write(tmp_path, f"{base}/k0s.yaml", OTHER_TYPO)
        elif shape == 3:
            write(
                tmp_path, f"{base}/k0sctl.yaml", K0SCTL.format(name=f"lab-{index}", version="v1.40.0+k0s.0")
            )
        elif shape == 4:
            write(tmp_path, f"{base}/k0s.yaml", CLEAN)
        else:
            write(tmp_path, f"{base}/k0s.yaml", PINNED)
    write(tmp_path, "broken/k0s.yaml", "apiVersion: k0s.k0sproject.io/v1beta1\nkind: [unclosed\n")
    write(tmp_path, "near/k0s.yaml", "apiVersion: k0s.sh/v1beta1\nkind: ClusterConfig\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def canonical(report: dict[str, Any]) -> str:
    """The report with its lists in one order: what "the same report" means for a merge."""
    report = dict(report)
    report.pop("shard", None)
    report["findings"] = sorted(report["findings"], key=lambda f: json.dumps(f, sort_keys=True))
    report["clusters"] = sorted(report["clusters"], key=lambda c: c["name"])
    report["skipped"] = sorted(report["skipped"])
    report["input_errors"] = sorted(report["input_errors"])
    return json.dumps(report, indent=2, sort_keys=True)


def shards(count: int, fleet: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    names = []
    for index in range(count):
        name = str(fleet.parent / "out" / f"shard-{index}-of-{count}.json")
        code, _, err = run(
            ["check", ".", "--shard", f"{index}/{count}", "--format", "json", "--output", name], capsys
        )
        assert code in (0, 1), err
        names.append(name)
    return names


@pytest.mark.parametrize("count", [1, 3, 7])
def test_the_union_of_the_shards_is_the_single_run(
    fleet: Path, capsys: pytest.CaptureFixture[str], count: int
) -> None:
    code, single, _ = run(["check", ".", "--format", "json"], capsys)
    whole = json.loads(single)
    assert code == 1 and whole["summary"]["clusters"] == 30
    assert {f["rule"] for f in whole["findings"]} >= {"K0S001", "K0S002", "K0S003", "K0S102"}
    names = shards(count, fleet, capsys)
    parts = [json.loads(Path(name).read_text(encoding="utf-8")) for name in names]
    # clusters are never split: each is in exactly one shard, with all of its findings
    seen = [c["name"] for part in parts for c in part["clusters"]]
    assert sorted(seen) == sorted(c["name"] for c in whole["clusters"])
    for part in parts:
        mine = {c["name"] for c in part["clusters"]}
        assert all(f["cluster"] in mine for f in part["findings"] if f["cluster"])
    if count > 1:
        assert sum(1 for part in parts if part["clusters"]) > 1  # the split really splits
    code, merged, err = run(["merge-reports", *names, "--format", "json"], capsys)
    assert code == 1, err
    assert canonical(json.loads(merged)) == canonical(whole)


def test_merged_shards_write_every_format_like_one_run(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = shards(4, fleet, capsys)
    for format_name in ("sarif", "gitlab", "junit", "github", "text"):
        _, single, _ = run(["check", ".", "--format", format_name], capsys)
        code, merged, _ = run(["merge-reports", *names, "--format", format_name], capsys)
        assert code == 1
        if format_name == "sarif":
            one, other = json.loads(single), json.loads(merged)
            key = "partialFingerprints"
            assert sorted(json.dumps(r[key], sort_keys=True) for r in one["runs"][0]["results"]) == sorted(
                json.dumps(r[key], sort_keys=True) for r in other["runs"][0]["results"]
            )
        elif format_name == "gitlab":
            assert sorted(json.loads(single), key=json.dumps) == sorted(json.loads(merged), key=json.dumps)
        elif format_name == "github":
            token = re.compile(r"\b[0-9a-f]{32}\b")  # the writer's random stop-commands token
            assert sorted(token.sub("T", single).splitlines()) == sorted(token.sub("T", merged).splitlines())
        elif format_name == "text":
            assert single.splitlines()[-1] == merged.splitlines()[-1]  # the same counts
        else:
            assert merged.count("<failure") == single.count("<failure")


def test_a_missing_or_doubled_shard_is_an_error(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = shards(3, fleet, capsys)
    code, out, err = run(["merge-reports", names[0], names[2], "--format", "json"], capsys)
    assert code == 2 and out == "" and "shard 1/3 missing" in err
    code, _, err = run(["merge-reports", names[0], names[0], names[1], names[2]], capsys)
    assert code == 2 and "both shard 0/3" in err
    other = shards(2, fleet, capsys)
    code, _, err = run(["merge-reports", *names, other[0]], capsys)
    assert code == 2 and "different splits" in err
    whole = str(fleet.parent / "out" / "whole.json")
    run(["check", ".", "--format", "json", "--output", whole], capsys)
    code, _, err = run(["merge-reports", whole, *names], capsys)
    assert code == 2 and "is no shard" in err
    (fleet / "bad.json").write_text("{not json", encoding="utf-8")
    code, _, err = run(["merge-reports", "bad.json"], capsys)
    assert code == 2 and "bad.json: not JSON" in err
    code, _, err = run(["merge-reports", "nope.json"], capsys)
    assert code == 2 and "cannot read nope.json" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "3/3"], "K counts from 0"),
        (["--shard", "1of3"], "expected K/N"),
        (["--shard", "0/0"], "N must be between"),
        (["--shard", "0/2", "--diff-base", "HEAD"], "--shard splits a plain check"),
    ],
)
def test_bad_shard_specs_are_usage_errors(
    fleet: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(["check", ".", *argv], capsys)
    assert code == 2 and out == "" and message in err


def test_shards_are_stable_and_spread() -> None:
    names = [f"clusters/site-{i:03d}" for i in range(400)]
    assert [bucket(n, 8) for n in names] == [bucket(n, 8) for n in names]
    sizes = [sum(1 for n in names if Shard(k, 8).owns(n)) for k in range(8)]
    assert sum(sizes) == 400 and min(sizes) >= 25  # about 50 each
    assert str(Shard.parse(" 2 / 5 ")) == "2/5"
