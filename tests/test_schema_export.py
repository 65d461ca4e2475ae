"""`k0s-policy schema export`: the per-release schemas under kubeconform's file names and a plain layout.
The exported files are run through a second validator against the fixtures the checker's own schema
tests use (tests/fixtures/schemas), and must give the checker's verdicts: the real kubeconform when it
is installed (no package registry this project uses ships it), and check-jsonschema, looking each
fixture's schema up by the name kubeconform's template would build."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from checker.cli.app import main
from checker.validate.export import kubeconform_names
from conftest import REPO_ROOT

SCHEMAS = REPO_ROOT / "schemas"
FIXTURES = sorted((REPO_ROOT / "tests" / "fixtures" / "schemas").glob("*.yaml"))
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
KUBECONFORM_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"


def export(
    tmp_path: Path, version: str, layout: str, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, list[str]]:
    target = tmp_path / layout
    code = main(["schema", "export", "--k0s-version", version, "--layout", layout, str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return target, sorted(str(Path(line).relative_to(target)) for line in out.splitlines())


def kubeconform_file(document: dict[str, Any]) -> str:
    """The file kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` names for a document."""
    group, _, version = str(document["apiVersion"]).rpartition("/")
    return f"{str(document['kind']).lower()}-{group.split('.')[0].lower()}-{version.lower()}.json"


def checker_verdicts(version: str, capsys: pytest.CaptureFixture[str]) -> dict[str, bool]:
    """Per fixture: does k0s-policy find a schema violation (K0S002) in it?"""
    verdicts = {}
    for fixture in FIXTURES:
        main(["check", str(fixture), "--select", "K0S002", "--k0s-version", version, "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        verdicts[fixture.name] = bool(report["findings"])
    return verdicts


@pytest.mark.parametrize("version", ["1.24", "1.30", "1.36"])
def test_kubeconform_layout_names_and_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    target, written = export(tmp_path, version, "kubeconform", capsys)
    sources = sorted((SCHEMAS / version).glob("*.schema.json"))
    expected = sorted(
        name for source in sources for name in kubeconform_names(json.loads(source.read_bytes()))
    )
    assert written == expected
    assert (
        "clusterconfig-k0s-v1beta1.json" in written
        and "k0s.k0sproject.io/clusterconfig_v1beta1.json" in written
    )
    assert "cluster-k0s-v1beta1.json" in written  # the legacy kind the schema accepts
    assert "cluster-k0sctl-v1beta1.json" in written
    by_kind = {
        name: source for source in sources for name in kubeconform_names(json.loads(source.read_bytes()))
    }
    for name in written:
        assert (target / name).read_bytes() == by_kind[name].read_bytes()  # copied byte for byte


def test_plain_layout_and_release_resolution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target, written = export(tmp_path, "v1.30.5+k0s.0", "plain", capsys)
    assert written == sorted(p.name for p in (SCHEMAS / "1.30").glob("*.schema.json"))
    for name in written:
        assert (target / name).read_bytes() == (SCHEMAS / "1.30" / name).read_bytes()
    _, old = export(tmp_path / "old", "1.21", "plain", capsys)
    assert old == ["clusterconfig.schema.json", "k0sctl-cluster.schema.json"]  # 1.21 has no autopilot schemas


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--k0s-version", "1.99"], "--k0s-version 1.99"),
        (["--k0s-version", "1.30", "--layout", "helm"], "invalid choice"),
    ],
)
def test_bad_exports_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) if "--layout" in argv else contextlib.nullcontext():
        code = main(["schema", "export", *argv, str(tmp_path / "out")])
        assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("version", ["1.24", "1.30"])
def test_exported_schemas_give_the_checkers_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    if not CHECK_JSONSCHEMA.exists():
        pytest.skip("check-jsonschema is not installed (the test extra installs it)")
    target, _ = export(tmp_path, version, "kubeconform", capsys)
    ours = checker_verdicts(version, capsys)
    theirs = {}
    for fixture in FIXTURES:
        (document,) = [d for d in yaml.safe_load_all(fixture.read_text(encoding="utf-8")) if d]
        schema = target / kubeconform_file(document)
        if not schema.exists():  # no schema for this kind in this release: nothing to compare
            ours.pop(fixture.name)
            continue
        done = subprocess.run(
            [str(CHECK_JSONSCHEMA), "--schemafile", str(schema), str(fixture)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        theirs[fixture.name] = done.returncode == 1
    assert theirs == ours
    assert any(ours.values()) and not all(ours.values())  # the fixtures hold both verdicts


def test_kubeconform_when_installed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconform = shutil.which("kubeconform")
    if kubeconform is None:
        pytest.skip("kubeconform is not installed (not in apt or PyPI here)")
    target, _ = export(tmp_path, "1.30", "kubeconform", capsys)
    ours = checker_verdicts("1.30", capsys)
    for fixture in FIXTURES:
        done = subprocess.run(
            [kubeconform, "-schema-location", str(target / KUBECONFORM_TEMPLATE), str(fixture)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (done.returncode == 1) == ours[fixture.name], done.stdout


def test_the_editor_settings_point_at_exported_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = (REPO_ROOT / "docs" / "integrations" / "editors.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", doc, re.MULTILINE | re.DOTALL)
    (settings,) = [json.loads(body) for lang, body in blocks if lang == "json"]
    mapping = settings["yaml.schemas"]
    assert sorted(glob for globs in mapping.values() for glob in globs) == ["**/k0s.yaml", "**/k0sctl.yaml"]
    target, written = export(tmp_path, "1.30", "plain", capsys)
    for path in mapping:
        assert path.startswith("./.vscode/k0s-schemas/") and path.rsplit("/", 1)[1] in written
    (modeline_doc,) = [body for lang, body in blocks if lang == "yaml" and "yaml-language-server" in body]
    first = modeline_doc.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=") and first.endswith(
        "/clusterconfig.schema.json"
    )
    # the example document is valid against the schema the modeline names
    schema = json.loads((target / "clusterconfig.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(modeline_doc))
    assert "{{ .ResourceKind }}{{ .KindSuffix }}.json" in doc
