"""One fuzz input from (seed, index), deterministically: a seed file, its mutations, how it is checked.

Input ``index`` has the primary family ``FAMILIES[index % len(FAMILIES)]``, so any run of a few hundred
inputs exercises every family; every ``BIG_ROUND``-th round makes the costly families large (megabyte
scalars, where quadratic conversions show as hangs; alias bombs over the node limit, alone and before
a real document), which keeps a long run's time bounded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from . import encode, nodes
from .seeds import Seed, config_seeds, load_seeds

NODE_FAMILIES = (
    "hostile_scalar",
    "core_tag",
    "binary",
    "big_int",
    "sexagesimal",
    "long_string",
    "duplicate_key",
    "deep_nesting",
    "aliases",
    "alias_bomb",
    "merge_keys",
    "deep_merge",
    "wrong_type",
    "key",
    "structure",
    "multi_doc",
    "injection",
    "raw_fragment",
)
TEXT_FAMILIES = ("escape", "directives", "encoding", "bytes")
FAMILIES = NODE_FAMILIES + TEXT_FAMILIES
BIG_FAMILIES = ("sexagesimal", "big_int", "alias_bomb", "multi_doc")
BIG_ROUND = 16  # rounds 3, 19, 35, ... of the families are large
MAX_PLAIN_BYTES = 4 * 1024 * 1024  # a small-input round that grows past this is rebuilt with fewer mutations

FORMATS = (
    "text",
    "text",
    "text",
    "json",
    "sarif",
    "junit",
    "github",
    "conftest-json",
    "gitlab",
    "policyreport",
)
SIBLING = "sibling/k0s.yaml"
TARGET = "1.30"
# The sibling's stale pin (tests/conftest.py's SIBLING_STALE_PIN too): its K0S102 must survive every input.
SIBLING_TEXT = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: sibling
spec:
  images:
    coredns:
      image: quay.io/k0sproject/coredns
      version: 1.11.1
"""


@dataclass
class FuzzInput:
    index: int
    family: str
    mode: str  # "tree": fuzzed/NAME beside sibling/; "stdin": the bytes on stdin; "config": .k0s-policy.yaml
    format: str
    name: str  # the fuzzed file's name (in config mode: the checked seed's name)
    data: bytes  # the fuzzed bytes
    seed: str  # where the seed comes from
    mutations: list[str] = field(default_factory=list)
    verbose: bool = False
    large: bool = False  # an input of a large round (BIG_ROUND)
    checked: bytes = b""  # config mode: the (unmutated) file that is checked

    def argv(self) -> list[str]:
        args = ["check", "--format", self.format] + (["--verbose"] if self.verbose else [])
        if self.mode == "config":
            return [*args, "fuzzed"]
        paths = ["-"] if self.mode == "stdin" else ["fuzzed"]
        return [*args, "--no-config", "--k0s-version", TARGET, *paths, "sibling"]

    @property
    def sibling_checked(self) -> bool:
        return self.mode != "config"

    def files(self) -> dict[str, bytes]:
        """The files of the input's tree, relative to its folder."""
        files = {SIBLING: SIBLING_TEXT.encode()}
        if self.mode == "tree":
            files[f"fuzzed/{self.name}"] = self.data
        elif self.mode == "config":
            files[".k0s-policy.yaml"] = self.data
            files[f"fuzzed/{self.name}"] = self.checked
        return files

    @property
    def stdin(self) -> bytes | None:
        return self.data if self.mode == "stdin" else None


class Corpus:
    def __init__(self, seeds: list[Seed] | None = None) -> None:
        self.seeds = seeds if seeds is not None else load_seeds()
        self.configs = config_seeds()

    def documents(self, seed: Seed) -> list[yaml.Node]:
        memo: dict[int, yaml.Node] = {}
        return [nodes.clone(d, memo) for d in seed.documents]

    def build(self, seed_number: int, index: int) -> FuzzInput:
        family = FAMILIES[index % len(FAMILIES)]
        big = family in BIG_FAMILIES and (index // len(FAMILIES)) % BIG_ROUND == 3
        made = self._build(seed_number, index, family, big, extras=True)
        if len(made.data) > MAX_PLAIN_BYTES and not big:
            made = self._build(seed_number, index, family, big, extras=False)
        return made

    def _build(self, seed_number: int, index: int, family: str, big: bool, extras: bool) -> FuzzInput:
        rng = random.Random(f"{seed_number}:{index}")
        roll = rng.random()
        mode = "config" if roll < 0.08 else "stdin" if roll < 0.18 else "tree"
        seed = rng.choice(self.seeds)
        made = FuzzInput(
            index,
            family,
            mode,
            rng.choice(FORMATS),
            seed.name,
            b"",
            seed.origin,
            verbose=rng.random() < 0.3,
            large=big,
        )
        target = rng.choice(self.configs) if mode == "config" else seed
        if mode == "config":
            made.checked = seed.text.encode()
            made.seed = target.origin
        chosen = [family]
        if extras and not big:
            chosen += [rng.choice(FAMILIES) for _ in range(rng.choice((0, 0, 1, 2)))]
        if mode == "tree" and rng.random() < 0.1:
            made.name = rng.choice(
                ("cluster.yaml", "K0S.YAML", "k0s.yml", "k0s.json", "k0sctl.yaml", "plan.yaml")
            )
        if "injection" in chosen and mode == "tree" and rng.random() < 0.3:
            made.name = "k0s\n::error file=FUZZ-INJECTED,line=1::x.yaml"
        made.data = self._mutate(rng, target, chosen, big, made)
        return made

    def _mutate(self, rng: random.Random, seed: Seed, chosen: list[str], big: bool, made: FuzzInput) -> bytes:
        raw = nodes.Raw()
        documents = self.documents(seed)
        others: Callable[[], list[yaml.Node]] = lambda: self.documents(rng.choice(self.seeds))  # noqa: E731
        mutator = nodes.Mutator(rng, raw, others, big)
        for name in chosen:
            if name in NODE_FAMILIES:
                made.mutations.append(getattr(mutator, name)(documents))
        text = raw.apply(_emit(rng, documents, made, seed))
        if "escape" in chosen:
            converted = encode.as_json(rng, seed.text) if rng.random() < 0.3 else None
            if converted is not None:
                text, label = converted
                made.name = made.name.rsplit(".", 1)[0] + ".json" if made.mode == "tree" else made.name
            else:
                text, label = encode.escape_k0s(rng, text)
            made.mutations.append(label)
        if "directives" in chosen:
            text, label = encode.directives(rng, text)
            made.mutations.append(label)
        data = text.encode("utf-8", "surrogatepass")
        if "encoding" in chosen:
            data, label = encode.encode(rng, text)
            made.mutations.append(label)
        if "bytes" in chosen:
            data, label = encode.byte_noise(rng, data)
            made.mutations.append(label)
        return data


def _emit(rng: random.Random, documents: list[yaml.Node], made: FuzzInput, seed: Seed) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    try:
        return yaml.serialize_all(
            documents,
            Dumper=dumper,
            explicit_start=len(documents) > 1 or rng.random() < 0.3,
            width=rng.choice((80, 1_000_000)),
            indent=rng.choice((2, 2, 3, 4)),
            allow_unicode=rng.random() < 0.5,
            canonical=rng.random() < 0.03,
        )
    except (yaml.YAMLError, ValueError, RecursionError, UnicodeError) as err:
        made.mutations.append(f"emit failed ({type(err).__name__}): seed text")
        return seed.text
