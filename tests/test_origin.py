"""Findings on a rendered stream (stdin) point back at the files the documents came from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checker.config import Config
from checker.findings import Finding
from checker.inputs.origin import Origin, annotation_origin
from checker.inputs.sources import collect
from checker.k0s.releases import Catalog
from checker.workflows.check import Result, Selection, run_check
from conftest import write

SOURCE = """\
# The base ClusterConfig, as written by hand.
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  network:
    provider: kuberouter
  imagez: {}   # a typo k0s refuses
"""

# What `kustomize build` with buildMetadata: [originAnnotations] prints for it (keys re-ordered,
# comments gone, the origin added), after an unrelated ConfigMap.
KUSTOMIZE_STREAM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
    config.kubernetes.io/origin: |
      path: apps/cm.yaml
  name: settings
data:
  k: v
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  annotations:
    config.kubernetes.io/origin: |
      path: base/k0s.yaml
  name: k0s
spec:
  imagez: {}
  network:
    provider: kuberouter
"""

HELM_STREAM = """\
---
# Source: edge/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: edge
---
# Source: edge/templates/clusterconfig.yaml
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  netwrk: {}
  telemetry:
    enabled: falze
"""


def check_stream(stream: str, cwd: Path) -> Result:
    collected = collect(["-"], cwd=cwd, stdin=stream.encode())
    return run_check(
        collected,
        Catalog.load(),
        Config(),
        cli_version="1.30",
        selection=Selection(select=frozenset({"K0S0"})),
    )


def errors(result: Result) -> list[Finding]:
    return [f for f in result.findings if f.rule == "K0S002"]


def test_kustomize_origin_with_unchanged_document_maps_exactly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base/k0s.yaml", SOURCE)
    (finding,) = errors(check_stream(KUSTOMIZE_STREAM, tmp_path))
    assert (finding.path, finding.line, finding.column) == ("base/k0s.yaml", 9, 3)
    assert "[rendered" not in finding.message
    assert finding.node == "spec.imagez"


def test_changed_document_points_at_the_same_node_and_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    # the file lacks the typo: a kustomize patch added it, so the file has no such node
    write(tmp_path, "base/k0s.yaml", SOURCE.replace("  imagez: {}   # a typo k0s refuses\n", ""))
    (finding,) = errors(check_stream(KUSTOMIZE_STREAM, tmp_path))
    # the nearest node the file has: spec, whose value starts at line 7
    assert (finding.path, finding.line, finding.column) == ("base/k0s.yaml", 7, 3)
    assert finding.message.endswith(
        "[rendered: <stdin> document 2, line 19:3; the rendered object differs from base/k0s.yaml]"
    )


def test_unreadable_origin_names_the_file_and_the_stream_position(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (finding,) = errors(check_stream(KUSTOMIZE_STREAM, tmp_path))
    assert (finding.path, finding.line, finding.column) == ("base/k0s.yaml", 1, 1)
    assert finding.message.endswith("[rendered: <stdin> document 2, line 19:3]")


def test_helm_source_comments(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = check_stream(HELM_STREAM, tmp_path)
    found = sorted(
        (f.path, f.line, f.message.rsplit("[", 1)[1]) for f in result.findings if f.rule == "K0S002"
    )
    assert found == [
        ("edge/templates/clusterconfig.yaml", 1, "rendered: <stdin> document 2, line 14:3]"),
        ("edge/templates/clusterconfig.yaml", 1, "rendered: <stdin> document 2, line 16:14]"),
    ]
    # a template that renders to itself (no template directives) maps exactly
    write(
        tmp_path,
        "edge/templates/clusterconfig.yaml",
        HELM_STREAM.split("# Source: edge/templates/clusterconfig.yaml\n", 1)[1],
    )
    result = check_stream(HELM_STREAM, tmp_path)
    located = sorted((f.rule, f.path, f.line, f.column) for f in result.findings)
    assert located == [
        ("K0S002", "edge/templates/clusterconfig.yaml", 6, 3),
        ("K0S002", "edge/templates/clusterconfig.yaml", 8, 14),
    ]


def test_suppression_comments_in_the_stream_still_apply(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    stream = HELM_STREAM.replace("  netwrk: {}", "  netwrk: {}  # k0s-policy: ignore[K0S002] chart default")
    result = check_stream(stream, tmp_path)
    (finding,) = [f for f in result.findings if f.node == "spec.netwrk"]
    assert finding.suppressed_by.startswith("inline comment at line 14")
    assert finding.path == "edge/templates/clusterconfig.yaml"


def test_documents_without_origin_stay_on_stdin(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    stream = "apiVersion: v1\nkind: ConfigMap\n---\n" + SOURCE
    (finding,) = errors(check_stream(stream, tmp_path))
    assert (finding.path, finding.line, finding.column) == ("<stdin>", 12, 3)


def test_origin_files_outside_the_tree_are_never_read(tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    write(tmp_path, "secret.yaml", SOURCE)  # above the current directory, no repository
    monkeypatch.chdir(work)
    for path in ("../secret.yaml", str(tmp_path / "secret.yaml")):
        stream = KUSTOMIZE_STREAM.replace("path: base/k0s.yaml", f"path: {path}")
        (finding,) = errors(check_stream(stream, work))
        assert (finding.path, finding.line) == (path, 1)
    # inside a git repository, its whole tree may be read (kustomize writes ../base paths)
    (tmp_path / ".git").mkdir()
    stream = KUSTOMIZE_STREAM.replace("path: base/k0s.yaml", "path: ../secret.yaml")
    (finding,) = errors(check_stream(stream, work))
    assert (finding.path, finding.line, finding.column) == ("../secret.yaml", 9, 3)


@pytest.mark.parametrize(
    ("annotations", "origin"),
    [
        ({"config.kubernetes.io/origin": "path: a/b.yaml\n"}, Origin("a/b.yaml")),
        (
            {"config.kubernetes.io/origin": "path: k0s.yaml\nrepo: https://example.com/base\nref: v1\n"},
            Origin("k0s.yaml", "https://example.com/base", "v1"),
        ),
        (
            {"config.kubernetes.io/origin": "configuredIn: kustomization.yaml\nconfiguredBy: {kind: X}\n"},
            Origin("kustomization.yaml"),
        ),
        ({"config.kubernetes.io/path": "'c/d.yaml'"}, Origin("c/d.yaml")),
        ({"internal.config.kubernetes.io/path": "e.yaml"}, Origin("e.yaml")),
        ({"config.k8s.io/id": "1"}, None),
        ({"config.kubernetes.io/origin": "[not, a, mapping]"}, None),
    ],
)
def test_annotation_forms(annotations: dict[str, str], origin: Origin | None) -> None:
    assert annotation_origin({"metadata": {"annotations": annotations}}) == origin


def test_remote_origin_is_shown_with_repo_and_ref() -> None:
    assert (
        Origin("k0s.yaml", "https://example.com/base", "v1").shown == "https://example.com/base//k0s.yaml@v1"
    )


def test_command_line_stdin_points_at_the_source(tmp_path: Path) -> None:
    write(tmp_path, "base/k0s.yaml", SOURCE)
    done = subprocess.run(
        [sys.executable, "-m", "checker", "check", "-", "--k0s-version", "1.30"],
        input=KUSTOMIZE_STREAM,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "base/k0s.yaml:9:3: error K0S002 spec: unknown field `imagez`" in done.stdout


def test_labels_and_namespace_added_by_the_renderer_still_map_exactly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base/k0s.yaml", SOURCE)
    flux = KUSTOMIZE_STREAM.replace(
        "  name: k0s\n",
        "  labels:\n    kustomize.toolkit.fluxcd.io/name: edge\n  name: k0s\n  namespace: kube-system\n",
    )
    (finding,) = errors(check_stream(flux, tmp_path))
    assert (finding.path, finding.line, finding.column) == ("base/k0s.yaml", 9, 3)
    assert "[rendered" not in finding.message
