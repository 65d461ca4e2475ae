"""The shape every rule has, and the context it checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from checker.config import Config
from checker.findings import Finding, Severity
from checker.inputs.imageref import ImageRef
from checker.inputs.yamldoc import YamlPath
from checker.k0s.cluster import Cluster
from checker.k0s.documents import K0sObject
from checker.k0s.releases import Catalog
from checker.records import dataclass, field

if TYPE_CHECKING:
    from checker.inputs.registry import Answers, Settings


@dataclass
class Options:
    """Command-line inputs rules may need beyond the repository itself."""

    airgap_images: frozenset[str] | None = None
    airgap_images_source: str = ""
    base_versions: dict[str, str] = field(
        default_factory=dict
    )  # cluster name -> version at the base revision
    registry: Settings | None = None  # check --registry: which registries to ask, and how
    registry_answers: Answers | None = None  # what they said (filled by checker.workflows.registry)
    #: The environment k0sctl files are substituted from (``${VAR}``); None means the process's own.
    environ: dict[str, str] | None = None


@dataclass
class Context:
    cluster: Cluster
    catalog: Catalog
    config: Config
    options: Options
    skipped: list[str] = field(default_factory=list)

    def finding(
        self,
        rule: Rule,
        obj: K0sObject,
        node: YamlPath,
        message: str,
        *,
        at_key: bool = False,
        fix: str = "",
        detail: str = "",
        severity: Severity | None = None,
        value: str | None = None,
        **data: Any,
    ) -> Finding:
        """``value``: the offending value for the fingerprint; by default the scalar at ``node``."""
        mark = obj.key_mark(node) if at_key else obj.value_mark(node)
        if value is None:
            written = obj.get(*node)
            value = "" if isinstance(written, (dict, list)) or written is None else str(written)
        return Finding(
            rule.id,
            severity or rule.severity,
            message,
            obj.path,
            mark.line,
            mark.column,
            cluster=self.cluster.name,
            node=obj.describe(node),
            fix=fix,
            detail=detail,
            data=data,
            value=value,
        )

    def skip(self, rule: Rule, reason: str) -> None:
        self.skipped.append(f"{rule.id} for cluster {self.cluster.name}: {reason}")


Check = Callable[[Context], Iterable[Finding]]

# Messages are one sentence of at most about MESSAGE_LENGTH characters (tests hold every finding to
# MESSAGE_LIMIT); the why goes into the finding's detail, what to do into its fix.
MESSAGE_LENGTH = 120
MESSAGE_LIMIT = 140
_DIGEST_SHOWN = 12  # hex digits of a digest a message shows; the node and the detail have all of it


def clip(text: str, limit: int = 60) -> str:
    """Text from the repository as a message quotes it: at most ``limit`` characters, cut with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit(*variants: str, limit: int = MESSAGE_LENGTH) -> str:
    """The first of the message's wordings, most complete first, that keeps to ``limit`` (else the
    last, shortest one)."""
    return next((text for text in variants if len(text) <= limit), variants[-1])


def brief_image(ref: ImageRef, beside: ImageRef | None = None, *, short: bool = False) -> str:
    """An image as a message shows it: only the tag (and digest) when ``beside`` has the same name, the
    whole reference otherwise (``short``: its last path segment after "…/"); digests cut to their first
    hex digits."""
    digest = ""
    if ref.digest is not None:
        algorithm, _, hexdigits = ref.digest.partition(":")
        shown = hexdigits[:_DIGEST_SHOWN] + ("…" if len(hexdigits) > _DIGEST_SHOWN else "")
        digest = f"@{algorithm}:{shown}"
    if beside is not None and beside.canonical_name() == ref.canonical_name() and ref.tag is not None:
        return ref.tag + digest
    name = f"…/{ref.name.rsplit('/', 1)[-1]}" if short and "/" in ref.name else ref.name
    return name + (f":{ref.tag}" if ref.tag is not None else "") + digest


@dataclass(frozen=True)
class Rule:
    """A declared rule: static metadata plus the function that finds problems.

    Rules without a ``check`` are reported by the engine itself (parsing and schema problems);
    they are declared here so every id has one place that documents it.
    """

    id: str
    name: str
    severity: Severity
    summary: str
    check: Check | None = None
    needs_release: bool = True

    @property
    def docs(self) -> str:
        return f"docs/rules/{self.id}.md"
