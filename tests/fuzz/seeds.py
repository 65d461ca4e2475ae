"""The seed corpus: the repository's own YAML files (tests/fixtures/, examples/), composed once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_DIRS = ("tests/fixtures", "examples")
SUFFIXES = (".yaml", ".yml", ".json")

# `.k0s-policy.yaml` seeds: the shape docs/configuration.md documents, and a small one.
CONFIG_SEEDS = (
    """\
k0s_version: "1.30"
exclude: ["vendor/**"]
airgapped: true
registries: [registry.example.com, {url: "mirror.example.com:5000"}]
rules:
  K0S103: {severity: info}
  K0S403: off
ignore:
  - rule: K0S101
    paths: ["clusters/legacy/**"]
    reason: the legacy cluster is retired in Q1
    expires: 2027-03-31
clusters:
  "clusters/edge-*":
    k0s_version: v1.31.6+k0s.0
    airgapped: false
""",
    """\
k0s_version: v1.30.5+k0s.0
rules:
  K0S101: {severity: warning}
""",
)


@dataclass(frozen=True)
class Seed:
    name: str  # the file name the input keeps (k0s.yaml, k0sctl.yaml, ...)
    origin: str  # where it comes from, relative to the repository
    text: str
    documents: tuple[yaml.Node, ...]


def _compose(text: str) -> tuple[yaml.Node, ...]:
    return tuple(node for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None)


def load_seeds(root: Path = REPO_ROOT) -> list[Seed]:
    """Every YAML file of the seed folders that composes, sorted by path (the corpus is deterministic)."""
    seeds = []
    for folder in SEED_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            try:
                documents = _compose(text)
            except yaml.YAMLError:
                continue
            if documents:
                seeds.append(Seed(path.name, path.relative_to(root).as_posix(), text, documents))
    return seeds


def config_seeds() -> list[Seed]:
    return [
        Seed(".k0s-policy.yaml", f"CONFIG_SEEDS[{i}]", t, _compose(t)) for i, t in enumerate(CONFIG_SEEDS)
    ]
