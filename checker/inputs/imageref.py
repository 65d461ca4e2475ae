"""Container image references and k0s's ``spec.images.repository`` rewrite rule.

The grammar follows the reference format of the container tooling (docker/distribution):
``[host[:port]/]path[:tag][@algorithm:hex]``. A colon in the first path segment belongs to the
registry host (``10.0.0.5:5000/foo``); only a colon after the last ``/`` separates a tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from checker.records import dataclass

DEFAULT_REGISTRY = "docker.io"
# Docker's legacy name for Docker Hub; the container tools treat it as docker.io.
LEGACY_DEFAULT_REGISTRIES = frozenset({"index.docker.io"})
OFFICIAL_IMAGES_NAMESPACE = "library"
MAX_NAME_LENGTH = 255

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Registered OCI digest algorithms and the length of their hex encoding.
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_HEX_RE = re.compile(r"[0-9a-f]+")
_WHITESPACE_RE = re.compile(r"\s")


def is_host_like(segment: str) -> bool:
    """k0s's and docker's test for "this first path segment is a registry host"."""
    return "." in segment or ":" in segment or segment == "localhost"


def _check_digest(digest: str, text: str) -> None:
    algorithm, sep, encoded = digest.partition(":")
    if not sep:
        raise ValueError(f"invalid image reference {text!r}: digest {digest!r} has no 'algorithm:' prefix")
    length = _DIGEST_HEX_LENGTH.get(algorithm)
    if length is None:
        known = ", ".join(sorted(_DIGEST_HEX_LENGTH))
        raise ValueError(
            f"invalid image reference {text!r}: unsupported digest algorithm {algorithm!r} (known: {known})"
        )
    if len(encoded) != length or not _HEX_RE.fullmatch(encoded):
        raise ValueError(
            f"invalid image reference {text!r}: a {algorithm} digest must be {length} lowercase hex digits"
        )


def _check_name(name: str, text: str) -> None:
    if not name:
        raise ValueError(f"invalid image reference {text!r}: the image name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"invalid image reference {text!r}: name longer than {MAX_NAME_LENGTH} characters")
    segments = name.split("/")
    path = segments
    if len(segments) > 1 and is_host_like(segments[0]):
        if not _DOMAIN_RE.fullmatch(segments[0]):
            raise ValueError(
                f"invalid image reference {text!r}: {segments[0]!r} is not a valid registry host"
            )
        path = segments[1:]
    for segment in path:
        if not _PATH_COMPONENT_RE.fullmatch(segment):
            raise ValueError(
                f"invalid image reference {text!r}: path component {segment!r} must be lowercase letters, "
                "digits and single separators ('.', '_', '__', '-')"
            )


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference. ``name`` is kept as written (no registry added)."""

    name: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Parse ``name[:tag][@digest]``; raise ValueError on anything the container tools reject."""
        if not isinstance(text, str):
            raise ValueError(f"invalid image reference {text!r}: not a string")
        if cls is ImageRef:
            return _parse_cached(text)
        ref = _parse_cached(text)
        return cls(name=ref.name, tag=ref.tag, digest=ref.digest)

    @property
    def registry(self) -> str | None:
        """The registry host as written, or None when the name has none (Docker Hub)."""
        first, sep, _ = self.name.partition("/")
        return first if sep and is_host_like(first) else None

    def canonical_name(self) -> str:
        """The fully qualified name: ``nginx`` -> ``docker.io/library/nginx``."""
        return _canonical(self.name)

    def with_name(self, name: str) -> ImageRef:
        """The same tag and digest under another name."""
        return ImageRef(name=name, tag=self.tag, digest=self.digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


@lru_cache(maxsize=8192)
def _canonical(name: str) -> str:
    # Every comparison of two references asks for both canonical names; the names of one run are few.
    first, sep, rest = name.partition("/")
    registry = first if sep and is_host_like(first) else None
    path = name if registry is None else rest
    if registry is None or registry in LEGACY_DEFAULT_REGISTRIES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"{OFFICIAL_IMAGES_NAMESPACE}/{path}"
    return f"{registry}/{path}"


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> ImageRef:
    # ImageRef is immutable, so references seen before (the release data repeats them a lot) are reused.
    if not text:
        raise ValueError("invalid image reference: empty string")
    if _WHITESPACE_RE.search(text):
        raise ValueError(f"invalid image reference {text!r}: contains whitespace")
    remainder, at, digest = text.partition("@")
    if at:
        _check_digest(digest, text)
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    tag: str | None = None
    name = remainder
    if colon > slash:
        name, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise ValueError(
                f"invalid image reference {text!r}: tag {tag!r} must be 1-128 characters of "
                "letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            )
    _check_name(name, text)
    return ImageRef(name=name, tag=tag, digest=digest if at else None)


def split_image_and_version(image: str, version: str | None) -> ImageRef:
    """Combine k0s's ``{image, version}`` pair the way k0s does (``image:version``).

    ``version`` may be ``tag@sha256:...``. When ``version`` is empty, a tag or digest written in
    ``image`` is used. Both a tag in ``image`` and a ``version`` is an error (k0s would build
    ``name:tag:version``), as is a bare digest as ``version`` (k0s rejects it).
    """
    if version is None or version == "":
        return ImageRef.parse(image)
    if not isinstance(version, str):
        raise ValueError(f"image version {version!r} is not a string")
    base = ImageRef.parse(image)
    if base.tag is not None or base.digest is not None:
        raise ValueError(
            f"image {image!r} already carries a tag or digest and version {version!r} is set too; "
            "k0s would join them into an invalid reference"
        )
    if version.startswith(tuple(f"{alg}:" for alg in _DIGEST_HEX_LENGTH)):
        raise ValueError(
            f"image version {version!r} is a bare digest; k0s needs a tag in front of it (tag@{version})"
        )
    return ImageRef.parse(f"{image}:{version}")


def _effective_tag(ref: ImageRef) -> str | None:
    # A reference without tag and digest means ":latest" to the container runtimes.
    if ref.tag is None and ref.digest is None:
        return "latest"
    return ref.tag


def same_image(a: ImageRef, b: ImageRef) -> bool:
    """Same canonical name and tag; digests are compared only when both references carry one."""
    if a.canonical_name() != b.canonical_name() or _effective_tag(a) != _effective_tag(b):
        return False
    return a.digest is None or b.digest is None or a.digest == b.digest


class ImageIndex:
    """A set of references looked up by canonical name. Two references can only be the same image when
    their canonical names are equal, so a membership test compares a reference with the few entries of
    its own name instead of every image of a bundle or list."""

    __slots__ = ("_by_name", "_refs")

    def __init__(self, refs: Iterable[ImageRef]) -> None:
        self._refs = tuple(refs)
        by_name: dict[str, list[ImageRef]] = {}
        for ref in self._refs:
            by_name.setdefault(ref.canonical_name(), []).append(ref)
        self._by_name = {name: tuple(found) for name, found in by_name.items()}

    def named_like(self, ref: ImageRef) -> tuple[ImageRef, ...]:
        """The entries with the canonical name of ``ref``, in the order given."""
        return self._by_name.get(ref.canonical_name(), ())

    def __iter__(self) -> Iterator[ImageRef]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)
