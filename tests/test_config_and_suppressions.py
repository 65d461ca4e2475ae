from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from checker.config import ConfigError, find_config, parse_config
from checker.findings import Severity
from conftest import REPO_ROOT, check_paths, only, write

PINNED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    coredns:
      image: registry.example.com/coredns
      version: 9.9.9{comment}
"""


def test_inline_suppression_needs_a_reason(tmp_path: Path) -> None:
    write(tmp_path, "a/k0s.yaml", PINNED.format(comment="  # k0s-policy: ignore[K0S103] our patched build"))
    write(tmp_path, "b/k0s.yaml", PINNED.format(comment="  # k0s-policy: ignore[K0S103]"))
    result = check_paths(["a", "b"], cwd=tmp_path, k0s_version="1.30")
    a = [f for f in result.findings if f.path == "a/k0s.yaml" and f.rule == "K0S103"]
    assert a[0].suppressed_by.endswith("our patched build")
    assert [f.rule for f in only(result.findings, "K0S103")] == ["K0S103"]  # b is not suppressed
    (reasonless,) = only(result.findings, "K0S009")
    assert (reasonless.path, reasonless.line) == ("b/k0s.yaml", 7)


def test_suppression_on_the_line_above(tmp_path: Path) -> None:
    text = PINNED.format(comment="").replace(
        "      version:", "      # k0s-policy: ignore[K0S103] vendor fork\n      version:"
    )
    write(tmp_path, "a/k0s.yaml", text)
    result = check_paths(["a"], cwd=tmp_path, k0s_version="1.30")
    assert not only(result.findings, "K0S103")
    assert len([f for f in result.findings if f.suppressed_by]) == 1


def test_config_severity_override_ignore_and_expiry(tmp_path: Path) -> None:
    write(tmp_path, "legacy/k0s.yaml", PINNED.format(comment=""))
    write(tmp_path, "prod/k0s.yaml", PINNED.format(comment=""))
    config = parse_config(
        b"""\
rules:
  K0S103: {severity: info}
ignore:
  - rule: K0S103
    paths: ["legacy/**"]
    reason: retired next quarter
    expires: 2030-01-01
  - rule: K0S005
    reason: expired on purpose
    expires: 2020-01-01
""",
        ".k0s-policy.yaml",
        today=dt.date(2026, 11, 25),
    )
    assert [e.rule for e in config.expired] == ["K0S005"]
    result = check_paths(["legacy", "prod"], cwd=tmp_path, k0s_version="1.30", config=config)
    (prod,) = only(result.findings, "K0S103")
    assert prod.path == "prod/k0s.yaml" and prod.severity is Severity.INFO
    legacy = [f for f in result.findings if f.path == "legacy/k0s.yaml" and f.rule == "K0S103"]
    assert "retired next quarter" in legacy[0].suppressed_by


def test_rule_can_be_switched_off(tmp_path: Path) -> None:
    write(tmp_path, "a/k0s.yaml", PINNED.format(comment=""))
    config = parse_config(b"rules: {K0S103: off}\n", ".k0s-policy.yaml")
    result = check_paths(["a"], cwd=tmp_path, k0s_version="1.30", config=config)
    assert not [f for f in result.findings if f.rule == "K0S103"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (b"k0s_version: 1.30\n", 1, "as a string"),
        (b"airgapped: yes please\n", 1, "true or false"),
        (b"\nunknown: 1\n", 2, "unknown setting"),
        (b"ignore:\n  - rule: K0S101\n", 2, "needs a reason"),
        (b"ignore:\n  - rule: K0S101\n    reason: x\n    expires: soon\n", 4, "expires must be a date"),
        (b"rules:\n  K0S101: {severity: loud}\n", 2, "unknown severity"),
        (b"a: [\n", 2, "YAML syntax error"),
    ],
)
def test_config_errors_name_the_file_and_line(text: bytes, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "repo/.k0s-policy.yaml")
    assert caught.value.path == "repo/.k0s-policy.yaml"
    assert caught.value.line == line
    assert words in str(caught.value)


def test_find_config_stops_at_the_git_root(tmp_path: Path) -> None:
    write(tmp_path, ".k0s-policy.yaml", "airgapped: true\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "clusters").mkdir()
    assert find_config(tmp_path / "repo" / "clusters") is None
    write(tmp_path, "repo/.k0s-policy.yaml", "airgapped: true\n")
    assert find_config(tmp_path / "repo" / "clusters") == (tmp_path / "repo" / ".k0s-policy.yaml").resolve()


def test_reasonless_suppression_finding_can_be_switched_off(tmp_path: Path) -> None:
    write(tmp_path, "b/k0s.yaml", PINNED.format(comment="  # k0s-policy: ignore[K0S103]"))
    config = parse_config(b"rules: {K0S009: off}\n", ".k0s-policy.yaml")
    result = check_paths(["b"], cwd=tmp_path, k0s_version="1.30", config=config)
    assert not only(result.findings, "K0S009")
    result = check_paths(["b"], cwd=tmp_path, k0s_version="1.30", select=["K0S103"])
    assert not only(result.findings, "K0S009")


# --- where suppression comments apply ------------------------------------------------------------------

OWNED = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:{on_spec}
  images:{on_images}
    coredns:{on_key}
      image: registry.example.com/coredns
      version: 9.9.9
"""
COMMENT = "# k0s-policy: ignore[K0S103] vendor fork, INFRA-7"


@pytest.mark.parametrize(
    ("on_spec", "on_images", "on_key", "suppressed"),
    [
        ("", "", f"  {COMMENT}", True),  # at the end of the owning key's line
        ("", f"\n    {COMMENT}", "", True),  # on the line above the owning key
        (f"\n  {COMMENT}", "", "", False),  # above `images:`: too far up, it would hide every image
    ],
)
def test_suppression_on_the_key_that_owns_the_node(
    tmp_path: Path, on_spec: str, on_images: str, on_key: str, suppressed: bool
) -> None:
    write(tmp_path, "a/k0s.yaml", OWNED.format(on_spec=on_spec, on_images=on_images, on_key=on_key))
    result = check_paths(["a"], cwd=tmp_path, k0s_version="1.30")
    hits = [f for f in result.findings if f.rule == "K0S103"]
    assert len(hits) == 1
    assert bool(hits[0].suppressed_by) is suppressed
    assert ("vendor fork" in hits[0].suppressed_by) is suppressed


def test_owner_key_in_a_k0sctl_embedded_config_and_a_list(tmp_path: Path) -> None:
    write(
        tmp_path,
        "k0sctl.yaml",
        """\
        apiVersion: k0sctl.k0sproject.io/v1beta1
        kind: Cluster
        metadata:
          name: edge
        spec:
          hosts:
            - role: single
              ssh: {address: 10.0.0.1}
          k0s:
            version: v1.30.2+k0s.0
            config:
              spec:
                images:
                  # k0s-policy: ignore[K0S103] rebuilt by the platform team
                  coredns:
                    image: registry.example.com/coredns
                    version: 9.9.9
        """,
    )
    result = check_paths(["k0sctl.yaml"], cwd=tmp_path)
    (hit,) = [f for f in result.findings if f.rule == "K0S103"]
    assert hit.suppressed_by.endswith("rebuilt by the platform team")


def _yaml_blocks_with_suppressions(path: Path) -> list[str]:
    blocks, body, inside = [], [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() == "```yaml":
            inside, body = True, []
        elif inside and line.strip() == "```":
            inside = False
            text = "\n".join(body) + "\n"
            if "k0s-policy: ignore[" in text:
                blocks.append(text)
        elif inside:
            body.append(line)
    return blocks


DOCS_WITH_SUPPRESSIONS = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "docs" / "configuration.md",
    REPO_ROOT / "docs" / "rules" / "K0S009.md",
]


@pytest.mark.parametrize("page", DOCS_WITH_SUPPRESSIONS, ids=lambda p: p.name)
def test_the_docs_suppression_examples_suppress(tmp_path: Path, page: Path) -> None:
    """Every YAML example with a suppression comment is checked: what it suppresses is suppressed."""
    blocks = _yaml_blocks_with_suppressions(page)
    assert blocks, f"{page.name} shows no suppression example"
    for index, block in enumerate(blocks):
        if "apiVersion:" not in block:
            head = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\n"
            if not block.startswith("spec:"):
                head += "spec:\n  images:\n" if block.startswith("    ") else "spec:\n"
            block = head + block
        write(tmp_path, f"{index}/k0s.yaml", block)
        result = check_paths([f"{index}"], cwd=tmp_path, k0s_version="1.30")
        reasons = [line for line in block.splitlines() if "k0s-policy: ignore[" in line]
        reasonless = all(line.rstrip().endswith("]") for line in reasons)
        named = {r.strip() for line in reasons for r in line.split("ignore[", 1)[1].split("]")[0].split(",")}
        hits = [f for f in result.findings if f.rule in named]
        assert hits, f"{page.name} example {index}: no {named} finding to suppress"
        if reasonless:  # the K0S009 page's failing example: a comment without a reason
            assert not any(f.suppressed_by for f in hits)
            assert [f.rule for f in result.findings if f.rule == "K0S009"] == ["K0S009"]
        else:
            assert all(f.suppressed_by for f in hits), f"{page.name} example {index}: {hits}"


def test_a_comment_ending_the_line_above_a_key_belongs_to_that_line(tmp_path: Path) -> None:
    """The trailing comment of coredns's version does not reach down to metricsserver's pin."""
    write(
        tmp_path,
        "a/k0s.yaml",
        """\
        apiVersion: k0s.k0sproject.io/v1beta1
        kind: ClusterConfig
        spec:
          images:
            coredns:
              image: registry.example.com/coredns
              version: 9.9.9  # k0s-policy: ignore[K0S103] patched build, INFRA-7
            metricsserver:
              image: registry.example.com/metrics
              version: 1.0.0
        """,
    )
    result = check_paths(["a"], cwd=tmp_path, k0s_version="1.30")
    by_line = {f.line: f for f in result.findings if f.rule == "K0S103"}
    assert by_line[7].suppressed_by and not by_line[10].suppressed_by
