"""Every release in the data: pinning exactly release X's defaults is K0S101 when the cluster targets X
and a stale pin (K0S102) wherever the target's default differs, with the object recognised (K0S104)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from checker.config import Config
from checker.inputs.imageref import ImageRef
from checker.inputs.sources import collect
from checker.k0s.releases import Catalog, Patch
from checker.workflows.check import Selection, run_check

CATALOG = Catalog.load()
PATCHES = [patch for minor in CATALOG.minors() for patch in CATALOG.release(minor).patches]  # type: ignore[union-attr]


def _config_pinning(patch: Patch) -> tuple[str, dict[str, str]]:
    release = CATALOG.release(patch.minor)
    assert release is not None
    spec: dict = {}
    pinned: dict[str, str] = {}
    for component, path in release.image_paths.items():
        if not path or component not in patch.images:
            continue
        ref = ImageRef.parse(patch.images[component])
        node = spec
        parts = path.split(".")[1:]  # drop "spec"
        for part in parts:
            node = node.setdefault(part, {})
        node.update(
            {"image": ref.name, "version": ref.tag if ref.digest is None else f"{ref.tag}@{ref.digest}"}
        )
        pinned[component] = patch.images[component]
    if "network" in spec:
        spec["network"]["nodeLocalLoadBalancing"].update({"enabled": True, "type": "EnvoyProxy"})
    document = {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "spec": spec}
    return yaml.safe_dump(document, sort_keys=False), pinned


def _check(tmp_path: Path, text: str, target: str):
    (tmp_path / "k0s.yaml").write_text(text)
    collected = collect(["k0s.yaml"], cwd=tmp_path)
    return run_check(
        collected, CATALOG, Config(), cli_version=target, selection=Selection(select=frozenset({"K0S10"}))
    ).findings


def _others(patch: Patch) -> list[Patch]:
    """The adjacent older patch, the newest patch of the next minor and of the newest minor."""
    index = PATCHES.index(patch)
    others = [PATCHES[index - 1]] if index else []
    later_minors = [m for m in CATALOG.minors() if m > patch.minor]
    if later_minors:
        others.append(CATALOG.release(later_minors[0]).newest)  # type: ignore[union-attr]
    if CATALOG.newest().version != patch.version:
        others.append(CATALOG.newest())
    return others


@pytest.mark.parametrize("patch", PATCHES, ids=[p.version for p in PATCHES])
def test_defaults_of_x_are_redundant_on_x_and_stale_elsewhere(patch: Patch, tmp_path: Path) -> None:
    text, pinned = _config_pinning(patch)
    own = _check(tmp_path, text, patch.version)
    assert {f.rule for f in own} == {"K0S101"}, [f.message for f in own if f.rule != "K0S101"]
    assert len(own) == len(pinned)
    for other in _others(patch):
        findings = _check(tmp_path, text, other.version)
        by_node = {f.node: f.rule for f in findings if f.rule in ("K0S101", "K0S102")}
        release = CATALOG.release(patch.minor)
        assert release is not None
        target_release = CATALOG.release(other.minor)
        assert target_release is not None
        for component, image in pinned.items():
            path = str(release.image_paths[component])
            node = next((n for n in by_node if n.startswith(path)), None)
            if not target_release.image_paths.get(component):
                # the target has no such setting: that is a schema error (K0S002), not a pin
                assert node is None, (component, other.version)
                continue
            expected = "K0S101" if other.images.get(component) == image else "K0S102"
            assert node is not None and by_node[node] == expected, (component, image, other.version)
        stale = [f for f in findings if f.rule == "K0S102"]
        # the message names the release that wrote the pin, the detail every release that ships it
        assert all(" default of " in f.message for f in stale)
        assert all(patch.version in f.detail or " to v" in f.detail for f in stale)
        if stale and len(pinned) >= 3:
            persisted = [f for f in findings if f.rule == "K0S104"]
            assert len(persisted) == 1, (patch.version, other.version)
