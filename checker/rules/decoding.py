"""K0S015-K0S019: how k0s and k0sctl read the files, where that differs from what was written.

These are reported by the engine while it recognises and decodes documents (checker/k0s/documents.py,
checker/validate/decode.py, checker/k0s/envsubst.py); the rules are declared here so every id has one
place that documents it.
"""

from __future__ import annotations

from checker.findings import Severity
from checker.k0s.documents import K0sObject, Recognition
from checker.k0s.envsubst import ENV_RULE_ID
from checker.rules.base import Rule
from checker.validate.decode import CASE_RULE_ID, NO_EFFECT_RULE_ID


def recognition_message(obj: K0sObject) -> str:
    """One sentence on how a document that is not spelled exactly was recognised."""
    api_version = obj.data.get("apiVersion")
    kind = obj.data.get("kind")
    if obj.recognised is Recognition.CONTENT:
        return "no apiVersion/kind: checked as a ClusterConfig by its spec, as k0s --config reads it"
    if obj.recognised is Recognition.LOOSE_API_VERSION:
        return (
            f"apiVersion {api_version!r} is not {K0S_API!r}; k0s --config does not check it and reads this "
            "as a ClusterConfig"
        )
    reader = "k0sctl" if obj.owner is None and obj.kind.value.startswith("k0sctl") else "k0s"
    return f"apiVersion/kind {api_version!r}/{kind!r} differ only in spelling; {reader} reads this document"


K0S_API = "k0s.k0sproject.io/v1beta1"

CASE_FOLDED_KEY = Rule(
    CASE_RULE_ID,
    "case-folded-key",
    Severity.INFO,
    "A ClusterConfig key differs only in case from the field; k0s reads it as that field.",
    needs_release=False,
)
RECOGNISED_LOOSELY = Rule(
    "K0S016",
    "recognised-by-content",
    Severity.INFO,
    "A document without exact apiVersion/kind is read by k0s or k0sctl and was checked as such.",
    needs_release=False,
)
NOT_RECOGNISED = Rule(
    "K0S017",
    "named-but-not-recognised",
    Severity.WARNING,
    "A file named like a k0s or k0sctl config holds no document that k0s or k0sctl reads.",
    needs_release=False,
)
NO_EFFECT = Rule(
    NO_EFFECT_RULE_ID,
    "field-without-effect",
    Severity.WARNING,
    "A field k0s accepts but ignores in the target release (podSecurityPolicy from 1.25, interval).",
)
UNSET_VARIABLE = Rule(
    ENV_RULE_ID,
    "unset-environment-variable",
    Severity.INFO,
    "A k0sctl file uses an environment variable that is not set where the check runs.",
    needs_release=False,
)

RULES = (CASE_FOLDED_KEY, RECOGNISED_LOOSELY, NOT_RECOGNISED, NO_EFFECT, UNSET_VARIABLE)
