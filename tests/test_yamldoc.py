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


def test_a_core_tag_that_does_not_fit_is_a_problem_and_the_next_document_is_read() -> None:
    for value, why in (
        ("!!int k0s", "not an integer"),
        ("!!bool maybe", "not true/false"),
        ("!!float abc", "not a number"),
        ("!!timestamp abc", "not a date"),
        ("!!null abc", "not null"),
        ("!!int 0b_", "not an integer"),
        ("!!binary not*base64", "not valid base64"),
    ):
        parsed = parse_text("t.yaml", f"a: 1\n---\nkind: x\nvalue: {value}\n---\nb: 2\n")
        assert [d.data for d in parsed.documents] == [{"a": 1}, {"b": 2}], value
        (problem,) = parsed.problems
        assert problem.mark == Mark(4, 8), value
        assert why in problem.message, problem.message
        assert parsed.documents[1].index == 2  # the skipped document keeps its place


def test_explicit_core_tags_that_fit_are_read_as_go_yaml_reads_them() -> None:
    text = "a: !!int 0x1F\nb: !!float 3\nc: !!bool yes\nd: !!null ~\ne: !!timestamp 2024-01-02\nf: !!str 5\n"
    assert parse_text("t.yaml", text).documents[0].data == {
        "a": 31,
        "b": 3.0,
        "c": True,
        "d": None,
        "e": "2024-01-02",
        "f": "5",
    }


def test_binary_is_decoded_to_the_text_k0s_sees() -> None:
    parsed = parse_text("b.yaml", "version: !!binary MS4xMS4x\nblock: !!binary |\n  MS4x\n  MS4x\n")
    assert parsed.documents[0].data == {"version": "1.11.1", "block": "1.11.1"}


def test_base_60_and_overlong_numbers_stay_text_as_k0s_reads_them() -> None:
    sexagesimal = ":".join(["59"] * 50_000)
    text = f"a: 1:30\nb: 1:30.5\nc: {'9' * 5000}\nd: {sexagesimal}\ne: 0b_\nf: 1_000\ng: 0o17\nh: 017\n"
    parsed = parse_text("n.yaml", text)
    assert not parsed.problems
    assert parsed.documents[0].data == {
        "a": "1:30",
        "b": "1:30.5",
        "c": "9" * 5000,
        "d": sexagesimal,
        "e": "0b_",
        "f": 1000,
        "g": "0o17",
        "h": 15,
    }


def test_an_overlong_number_with_an_explicit_tag_is_a_problem() -> None:
    parsed = parse_text("n.yaml", f"a: !!int {'9' * 5000}\n---\nb: 1\n")
    assert [d.data for d in parsed.documents] == [{"b": 1}]
    assert parsed.problems[0].mark == Mark(1, 4)
    assert "5000 characters" in parsed.problems[0].message


def test_duplicate_keys_are_problems_naming_both_lines_and_the_last_one_is_kept() -> None:
    text = "spec:\n  images:\n    coredns: {version: 1.11.1}\n  images:\n    coredns: {version: 1.12.0}\n"
    parsed = parse_text("d.yaml", text)
    (document,) = parsed.documents
    assert document.data == {"spec": {"images": {"coredns": {"version": "1.12.0"}}}}
    assert document.value_mark(("spec", "images", "coredns", "version")).line == 5
    (problem,) = parsed.problems
    assert problem.mark == Mark(4, 3)
    assert "duplicate key 'images' at lines 2 and 4" in problem.message
    assert "k0s" in problem.detail and "line 2" in problem.detail


def test_many_duplicate_keys_are_listed_up_to_a_limit() -> None:
    parsed = parse_text("d.yaml", "k: v\n" * 1000)
    assert len(parsed.problems) == 21
    assert "only the first 20" in parsed.problems[-1].message


def test_a_merge_key_overridden_by_a_written_key_is_no_duplicate() -> None:
    parsed = parse_text("m.yaml", "base: &b {x: 1, y: 1}\nderived:\n  <<: *b\n  y: 2\n")
    assert not parsed.problems
    derived = parsed.documents[0]
    assert derived.data["derived"] == {"x": 1, "y": 2}
    assert derived.key_mark(("derived", "y")) == Mark(4, 3)  # the written key, not the merged one


def test_merge_order_earlier_mappings_win() -> None:
    text = "a: &a {k: a}\nb: &b {k: b, only_b: 1}\nc:\n  <<: [*a, *b]\n"
    assert parse_text("m.yaml", text).documents[0].data["c"] == {"k": "a", "only_b": 1}


def test_a_thousand_nested_merges_resolve_without_recursion() -> None:
    lines = ["m0: &m0 {image: quay.io/k0sproject/coredns, version: 1.11.1}"]
    lines += [f"m{i}: &m{i}\n  <<: *m{i - 1}" for i in range(1, 990)]
    lines.append("coredns:\n  <<: *m989")
    inline = "x: " + "{<<: " * 900 + "{k: v}" + "}" * 900
    for text in ("\n".join(lines) + "\n", inline + "\n"):
        parsed = parse_text("m.yaml", text)
        assert not parsed.problems, parsed.problems
    assert parse_text("m.yaml", "\n".join(lines)).documents[0].data["coredns"]["version"] == "1.11.1"
    assert parse_text("m.yaml", inline).documents[0].data == {"x": {"k": "v"}}


def test_merges_that_cannot_be_resolved_are_problems() -> None:
    for text, why in (
        ("a:\n  <<: 5\n", "needs a mapping"),
        ("a: &a\n  <<: *a\n", "into itself"),
        ("a: &a\n  b: &b\n    <<: *a\n  <<: *b\n", "into itself"),
    ):
        parsed = parse_text("m.yaml", text + "---\nok: 1\n")
        assert [d.data for d in parsed.documents] == [{"ok": 1}], text
        assert why in parsed.problems[0].message, parsed.problems


def _bomb(levels: int = 6) -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_skips_only_its_document() -> None:
    parsed = parse_text("bomb.yaml", _bomb() + "---\nkind: ClusterConfig\n")
    assert [d.data for d in parsed.documents] == [{"kind": "ClusterConfig"}]
    assert parsed.documents[0].start == Mark(8, 1)
    (problem,) = parsed.problems
    assert "alias bomb" in problem.message


def test_alias_bombs_in_every_document_stop_at_the_file_budget() -> None:
    parsed = parse_text("bombs.yaml", "---\n".join([_bomb()] * 200))
    assert parsed.documents == []
    assert "rest of the file" in parsed.problems[-1].message
    assert len(parsed.problems) < 5  # stopped early, not 200 bombs expanded


def test_a_recursive_alias_is_a_problem_not_a_hang() -> None:
    parsed = parse_text("r.yaml", "a: &a [*a]\n---\nb: 1\n")
    assert [d.data for d in parsed.documents] == [{"b": 1}]
    assert parsed.problems


def test_memory_stays_flat_over_many_integer_heavy_documents() -> None:
    """No cache outlives a document: PyYAML's constructor, once kept at module level, held every
    scalar node it ever converted (hundreds of MiB over a few thousand files)."""
    import tracemalloc

    document = "".join(f"port{i}: {1000 + i}\n" for i in range(10))
    parse_text("warm.yaml", document)
    tracemalloc.start()
    try:
        for n in range(3000):
            parse_text(f"f{n}.yaml", document)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, peak
