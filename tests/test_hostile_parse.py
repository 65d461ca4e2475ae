"""Hostile YAML through the real CLI: each case is a finding at its line, never a crash, and the
other documents of the file and the files beside it are still checked (issue 11)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import SIBLING_STALE_PIN, assert_survived, run_cli, write

SIBLING = "sibling/k0s.yaml:9"

# A second document with a stale pin: its K0S102 at line ``offset + 9`` proves the rest of the
# file was read after the hostile document.
STALE_DOCUMENT = """\
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: second
spec:
  images:
    coredns:
      image: quay.io/k0sproject/coredns
      version: 1.11.1
"""


def _check(tmp_path: Path, hostile: str) -> subprocess.CompletedProcess[str]:
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    write(tmp_path, "hostile/k0s.yaml", hostile)
    return run_cli("check", "--k0s-version", "1.30", "hostile", "sibling", cwd=tmp_path)


def _lines(text: str) -> int:
    return text.count("\n")


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("apiVersion: !!int k0s", "not an integer"),
        ("enabled: !!bool maybe", "not true/false"),
        ("x: !!float abc", "not a number"),
        ("x: !!timestamp abc", "not a date or time"),
        ("x: !!null abc", "not null"),
        ("x: !!binary not*base64", "not valid base64"),
        ("x: !!int " + "9" * 5000, "over the 400 limit"),
    ],
)
def test_a_core_tag_that_does_not_fit_is_k0s001_and_the_rest_is_checked(
    tmp_path: Path, written: str, why: str
) -> None:
    first = f"kind: ClusterConfig\n{written}\n"
    done = _check(tmp_path, first + STALE_DOCUMENT)
    assert_survived(
        done,
        exit_code=1,
        names=[
            "hostile/k0s.yaml:2:",
            "K0S001",
            why,
            f"hostile/k0s.yaml:{_lines(first) + 10}:16: error K0S102",
        ],
        sibling=SIBLING,
    )


def test_a_huge_plain_integer_is_the_text_k0s_reads(tmp_path: Path) -> None:
    hostile = (
        f"apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  api:\n    port: {'9' * 5000}\n"
    )
    done = _check(tmp_path, hostile)
    assert_survived(
        done,
        exit_code=1,
        names=["hostile/k0s.yaml:5:11: error K0S002 spec.api.port: expected integer, got string"],
        sibling=SIBLING,
    )


def test_base_60_numbers_are_the_text_k0s_reads(tmp_path: Path) -> None:
    long_base_60 = ":".join(["59"] * 100_000)  # quadratic to convert as a YAML 1.1 integer
    hostile = (
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata:\n"
        f"  name: cluster\n  labels: {{serial: {long_base_60}}}\nspec:\n  api:\n    sans: [1:30]\n"
    )
    done = _check(tmp_path, hostile + STALE_DOCUMENT)
    assert_survived(
        done,
        exit_code=1,
        names=[
            "hostile/k0s.yaml:8:12: error K0S020 spec.api.sans[0] '1:30'",
            "hostile/k0s.yaml:18:16: error K0S102",
        ],
        sibling=SIBLING,
    )
    assert "integer" not in done.stdout


def test_990_nested_merge_keys_are_resolved(tmp_path: Path) -> None:
    pin = "{image: quay.io/k0sproject/coredns, version: 1.11.1}"
    hostile = (
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  images:\n"
        f"    coredns: {'{<<: ' * 990}{pin}{'}' * 990}\n"
    )
    done = _check(tmp_path, hostile)
    assert_survived(
        done,
        exit_code=1,
        names=["hostile/k0s.yaml:5:", "K0S102 coredns pinned to 1.11.1"],
        sibling=SIBLING,
    )


def test_a_merge_chain_that_expands_quadratically_is_k0s001_and_the_rest_is_checked(tmp_path: Path) -> None:
    chain = "m0: &m0 {k0: 1}\n" + "".join(f"m{i}: &m{i}\n  <<: *m{i - 1}\n  k{i}: 1\n" for i in range(1, 990))
    done = _check(tmp_path, chain + STALE_DOCUMENT)
    assert_survived(
        done,
        exit_code=1,
        names=["K0S001", "alias bomb", f"hostile/k0s.yaml:{_lines(chain) + 10}:16: error K0S102"],
        sibling=SIBLING,
    )


def test_an_alias_bomb_does_not_hide_the_cluster_config_after_it(tmp_path: Path) -> None:
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcde", "bcdef", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 10) + "]")
    first = "\n".join(bomb) + "\n"
    done = _check(tmp_path, first + STALE_DOCUMENT)
    assert_survived(
        done,
        exit_code=1,
        names=["hostile/k0s.yaml:", "alias bomb", f"hostile/k0s.yaml:{_lines(first) + 10}:16: error K0S102"],
        sibling=SIBLING,
    )


@pytest.mark.parametrize("block", ["images", "coredns"])
def test_a_duplicate_key_is_an_error_naming_both_lines(tmp_path: Path, block: str) -> None:
    if block == "images":
        spec = (
            "  images:\n    coredns:\n      image: quay.io/k0sproject/coredns\n      version: 1.11.1\n"
            "  images:\n    default_pull_policy: IfNotPresent\n"
        )
        names = ["hostile/k0s.yaml:8:3: error K0S001 duplicate key 'images' at lines 4 and 8"]
    else:
        spec = (
            "  images:\n    coredns:\n      image: quay.io/k0sproject/coredns\n      version: 1.11.1\n"
            "    coredns:\n      image: quay.io/k0sproject/coredns\n"
        )
        names = ["hostile/k0s.yaml:8:5: error K0S001 duplicate key 'coredns' at lines 5 and 8"]
    hostile = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n" + spec
    done = _check(tmp_path, hostile)
    assert_survived(done, exit_code=1, names=names, sibling=SIBLING)


def test_a_binary_version_is_decoded_and_its_stale_pin_flagged(tmp_path: Path) -> None:
    hostile = STALE_DOCUMENT.replace("version: 1.11.1", "version: !!binary MS4xMS4x")
    done = _check(tmp_path, hostile)
    assert_survived(
        done,
        exit_code=1,
        names=["hostile/k0s.yaml:10:16: error K0S102 coredns pinned to 1.11.1"],
        sibling=SIBLING,
    )


@pytest.mark.parametrize(
    ("written", "line"),
    [("airgapped: !!bool maybe", 2), ("rules: {}\nrules: {}", 3), ("k0s_version: !!int " + "9" * 5000, 2)],
)
def test_a_bad_policy_config_is_a_config_error_naming_its_line(
    tmp_path: Path, written: str, line: int
) -> None:
    write(tmp_path, ".k0s-policy.yaml", f"k0s_version: v1.30.0\n{written}\n")
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    done = run_cli("check", "sibling", cwd=tmp_path)
    assert_survived(done, exit_code=2, names=[f".k0s-policy.yaml:{line}:"])


def test_a_bad_tag_in_an_origin_annotation_of_a_stream_is_no_crash(tmp_path: Path) -> None:
    stream = STALE_DOCUMENT.replace(
        "  name: second\n",
        "  name: second\n  annotations:\n    config.kubernetes.io/origin: |\n      path: !!int x\n",
    )
    done = run_cli("check", "--k0s-version", "1.30", "-", cwd=tmp_path, stdin=stream)
    assert_survived(done, exit_code=1, names=["<stdin>:13:16: error K0S102"])


def test_a_bad_tag_in_a_live_file_is_an_input_error_naming_its_line(tmp_path: Path) -> None:
    write(tmp_path, "sibling/k0s.yaml", SIBLING_STALE_PIN)
    write(
        tmp_path,
        "live.yaml",
        "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata:\n  name: k0s\n"
        "  resourceVersion: !!int abc\n",
    )
    done = run_cli("audit", "--live", "live.yaml", "sibling", cwd=tmp_path)
    assert_survived(done, exit_code=2, names=["live.yaml:5:", "not an integer"])
