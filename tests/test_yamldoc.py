from __future__ import annotations

from checker.inputs.yamldoc import MAX_DEPTH, Mark, format_path, parse_bytes, parse_text

MULTI = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  images:
    kubeproxy:
      image: quay.io/k0sproject/kube-proxy
      version: v1.29.4
---
# second document
items:
  - name: a
  -   name: b
"""


def test_positions_of_keys_and_values_are_one_based() -> None:
    parsed = parse_text("f.yaml", MULTI)
    assert not parsed.problems
    first, second = parsed.documents
    version = ("spec", "images", "kubeproxy", "version")
    assert first.data["spec"]["images"]["kubeproxy"]["version"] == "v1.29.4"
    assert first.value_mark(version) == Mark(7, 16)
    assert first.key_mark(version) == Mark(7, 7)
    assert second.index == 1
    assert second.start == Mark(10, 1)
    assert second.value_mark(("items", 1, "name")) == Mark(12, 13)


def test_missing_path_falls_back_to_nearest_ancestor() -> None:
    document = parse_text("f.yaml", MULTI).documents[0]
    assert document.value_mark(("spec", "images", "coredns", "version")) == document.value_mark(
        ("spec", "images")
    )


def test_syntax_error_is_reported_with_line_and_other_documents_survive() -> None:
    text = "a: 1\n---\nb: [unclosed\nc: 2\n---\nd: 4\n"
    parsed = parse_text("broken.yaml", text)
    assert [d.data for d in parsed.documents] == [{"a": 1}, {"d": 4}]
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert problem.path == "broken.yaml"
    assert 3 <= problem.mark.line <= 5
    assert problem.message.startswith("YAML syntax error")
    # the surviving document after the broken one keeps its real line numbers
    assert parsed.documents[1].start.line == 6


def test_alias_bomb_is_refused_not_expanded() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    previous = "a"
    for name in "bcdefgh":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 10) + "]")
        previous = name
    parsed = parse_text("bomb.yaml", "\n".join(lines) + "\n")
    assert parsed.documents == []
    assert "alias bomb" in parsed.problems[0].message


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    deep = (
        "a:\n"
        + "".join("  " * i + "- \n" for i in range(1, 2))
        + "[" * (MAX_DEPTH + 10)
        + "]" * (MAX_DEPTH + 10)
    )
    parsed = parse_text("deep.yaml", deep)
    assert parsed.problems
    very_deep = parse_text("deeper.yaml", "[" * 100_000)
    assert very_deep.problems and very_deep.documents == []


def test_binary_and_non_utf8_and_utf16() -> None:
    binary = parse_bytes("b.yaml", b"k0s\x00\x01\x02")
    assert "binary" in binary.problems[0].message
    latin = parse_bytes("l.yaml", b"kind: ClusterConfig\nname: caf\xe9\n")
    assert latin.problems[0].mark.line == 2
    assert "not UTF-8" in latin.problems[0].message
    utf16 = parse_bytes("u.yaml", "kind: Plan\n".encode("utf-16"))
    assert utf16.documents[0].data == {"kind": "Plan"}


def test_huge_file_is_refused_before_parsing() -> None:
    big = b"# k0s\n" + b"a: b\n" * (5 * 1024 * 1024)
    parsed = parse_bytes("big.yaml", big)
    assert parsed.documents == []
    assert "limit" in parsed.problems[0].message


def test_documents_that_are_lists_scalars_or_empty() -> None:
    parsed = parse_text("odd.yaml", "- a\n- b\n---\njust text\n---\n---\n")
    assert [d.data for d in parsed.documents] == [["a", "b"], "just text", None, None]


def test_nothing_is_executed_or_constructed_from_tags() -> None:
    text = "a: !!python/object/apply:os.system ['echo pwned']\nb: 2020-01-01\nc: !custom x\n"
    parsed = parse_text("evil.yaml", text)
    assert not parsed.problems
    assert parsed.documents[0].data == {"a": ["echo pwned"], "b": "2020-01-01", "c": "x"}


def test_merge_keys_are_flattened() -> None:
    parsed = parse_text("m.yaml", "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n")
    assert parsed.documents[0].data["derived"] == {"x": 1, "y": 2}


def test_format_path() -> None:
    assert format_path(("spec", "hosts", 0, "role")) == "spec.hosts[0].role"
    assert format_path(()) == ""
