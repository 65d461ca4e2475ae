"""The images of deploy/argocd and deploy/kubernetes pass a supply-chain review: the base image is
pinned by digest, pip installs only hashed wheels from the image's lock file, the lock holds every
dependency pyproject.toml names with a sha256, every downloaded binary is checked by sha256 before
it is used, and the build serves linux/amd64 and linux/arm64 (docs/building-images.md)."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO_ROOT

IMAGES = {"argocd": (), "kubernetes": ("live",)}  # image -> the extras it installs
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    text: str


def instructions(dockerfile: Path) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    found: list[Instruction] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        pending += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            keyword, _, text = pending.strip().partition(" ")
            found.append(Instruction(keyword.upper(), text.strip()))
            pending = ""
    return found


def arg_defaults(steps: list[Instruction]) -> dict[str, str]:
    defaults = {}
    for step in steps:
        if step.keyword == "ARG" and "=" in step.text:
            name, _, value = step.text.partition("=")
            defaults[name.strip()] = value.strip()
    return defaults


def expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m[1] or m[2], m[0]), text)


def lock_entries(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, sha256 hashes); any line that is not a pin or a hash fails."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = lock.read_text(encoding="utf-8")
    logical = re.sub(r"\\\n\s*", " ", text)
    for line in logical.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split()
        name, equals, version = words[0].partition("==")
        assert equals and version, f"{lock.name}: {words[0]} is not pinned with =="
        hashes = []
        for word in words[1:]:
            kind, _, digest = word.removeprefix("--hash=").partition(":")
            assert word.startswith("--hash=") and kind == "sha256" and SHA256.match(digest), (
                f"{lock.name}: {name}: {word} is no sha256 hash"
            )
            hashes.append(digest)
        entries[canonicalize_name(name)] = (version, hashes)
    return entries


def dockerfile(image: str) -> list[Instruction]:
    return instructions(REPO_ROOT / "deploy" / image / "Dockerfile")


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_base_image_is_pinned_by_digest(image: str) -> None:
    steps = dockerfile(image)
    bases = [expand(s.text.split()[0], arg_defaults(steps)) for s in steps if s.keyword == "FROM"]
    assert bases
    for base in bases:
        assert DIGEST.search(base), f"FROM {base}: pin the base image by @sha256 digest"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_pip_installs_only_hashed_wheels_from_the_lock(image: str) -> None:
    steps = dockerfile(image)
    copied = {s.text.split()[-1]: s.text.split()[0] for s in steps if s.keyword == "COPY"}
    installs = [
        command
        for s in steps
        if s.keyword == "RUN"
        for command in re.split(r"&&|;", s.text)
        if re.search(r"\bpip3? install\b", command)
    ]
    assert installs
    locked = 0
    for command in installs:
        words = shlex.split(command)
        if "--require-hashes" in words:
            lock = words[words.index("-r") + 1]
            assert copied.get(lock) == f"deploy/{image}/requirements.lock", command
            locked += 1
        else:
            # the project's own source, with nothing fetched: no index and no dependencies
            assert {"--no-index", "--no-deps"} <= set(words), f"{command}: fetches without hashes"
            assert words[-1] == "/src" and copied.get("/src") == ".", command
    assert locked == 1


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_lock_entry_is_pinned_with_a_hash(image: str) -> None:
    entries = lock_entries(REPO_ROOT / "deploy" / image / "requirements.lock")
    assert entries
    for name, (_, hashes) in entries.items():
        assert hashes, f"{name} has no --hash"
    # the lock is current: every dependency pyproject.toml names for the image is in it
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for extra in IMAGES[image]:
        wanted += project["project"]["optional-dependencies"][extra]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{name} is missing: run tools/gen_deploy_lock.py"
        assert requirement.specifier.contains(entries[name][0]), f"{name}=={entries[name][0]} vs {line}"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_downloaded_binary_is_checked_by_sha256(image: str) -> None:
    steps = dockerfile(image)
    values = arg_defaults(steps)
    for index, step in enumerate(steps):
        downloads = re.findall(r"\b(?:curl|wget)\b", step.text) if step.keyword == "RUN" else []
        assert not downloads or "sha256sum --check" in step.text, f"RUN {step.text}: unchecked download"
        if step.keyword != "ADD" or "://" not in step.text:
            continue
        if "--checksum=sha256:" in step.text:
            continue
        destination = step.text.split()[-1]
        verified = [
            later
            for later in steps[index + 1 :]
            if later.keyword == "RUN" and destination in later.text and "sha256sum --check" in later.text
        ]
        assert verified, f"ADD {step.text}: no sha256sum --check of {destination} after it"
        check = verified[0].text
        for arch in ("amd64", "arm64"):  # one published digest per architecture the build serves
            case = re.search(rf"\b{arch}\)\s*sum=\"?\$\{{(\w+)\}}", check)
            assert case, f"no checksum for {arch} in: {check}"
            assert SHA256.match(values.get(case[1], "")), f"ARG {case[1]} is no sha256"
        assert check.index("sha256sum") < check.index("tar "), "verified before it is unpacked"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_builds_for_the_target_architecture(image: str) -> None:
    steps = dockerfile(image)
    uses_arch = any("TARGETARCH" in s.text for s in steps if s.keyword != "ARG")
    if uses_arch:  # buildx sets TARGETARCH per platform; a default would build amd64 bits into arm64
        assert any(s.keyword == "ARG" and s.text == "TARGETARCH" for s in steps)
    text = (REPO_ROOT / "deploy" / image / "Dockerfile").read_text(encoding="utf-8")
    assert "--platform linux/amd64,linux/arm64" in text


def test_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The parsers above see the faults they guard against (a tag-only base, an unhashed pin)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("ARG BASE=python:3.11-slim\nFROM ${BASE}\nRUN pip install \\\n  -r x.lock\n")
    steps = instructions(bad)
    assert [s.keyword for s in steps] == ["ARG", "FROM", "RUN"]
    assert not DIGEST.search(expand(steps[1].text, arg_defaults(steps)))
    assert steps[2].text == "pip install -r x.lock"
    lock = tmp_path / "requirements.lock"
    lock.write_text("pyyaml==6.0.2\n")
    assert lock_entries(lock) == {"pyyaml": ("6.0.2", [])}
