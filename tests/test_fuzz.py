"""The fuzzer of tests/fuzz/ in a short deterministic run (`make fuzz` runs the long one), and its oracle."""

from __future__ import annotations

from fuzz.campaign import Settings, run_campaign
from fuzz.generate import BIG_FAMILIES, FAMILIES, SIBLING, Corpus, FuzzInput
from fuzz.oracle import Outcome, verdict

# Twelve rounds of the mutation families: every family twelve times, the large slow-parsing inputs once.
SHORT_RUN = range(12 * len(FAMILIES))


def test_short_fuzz_run_has_no_crash_and_no_hang(tmp_path) -> None:
    settings = Settings(seed=1, workers=2, crash_dir=tmp_path / "crashes")
    corpus = Corpus()
    figures = run_campaign(SHORT_RUN, settings, corpus)
    report = "\n".join(figures.lines(settings, corpus))
    assert figures.inputs == len(SHORT_RUN), report
    assert not figures.crashes, report
    assert not figures.hangs, report


def test_inputs_are_deterministic_and_cover_every_family() -> None:
    corpus = Corpus()
    first = [corpus.build(1, i) for i in SHORT_RUN]
    assert [x.data for x in first[:40]] == [corpus.build(1, i).data for i in range(40)]
    assert {x.family for x in first} == set(FAMILIES)
    assert {x.mode for x in first} == {"tree", "stdin", "config"}
    assert {x.family for x in first if x.large} == set(BIG_FAMILIES), "the short run holds the large round"
    assert all(len(x.data) > 300_000 for x in first if x.large and x.family in ("sexagesimal", "big_int"))
    assert corpus.build(2, 0).data != first[0].data


def _tree_input() -> FuzzInput:
    return FuzzInput(0, "hostile_scalar", "tree", "text", "k0s.yaml", b"", "test")


SIBLING_LINE = f"{SIBLING}:9:16: error K0S102 coredns pinned to 1.11.1\n"


def test_oracle_accepts_a_run_that_behaved() -> None:
    assert verdict(_tree_input(), Outcome(1, SIBLING_LINE, "")) is None
    assert verdict(_tree_input(), Outcome(2, SIBLING_LINE, "k0s-policy: -: no documents on stdin\n")) is None


def test_oracle_names_each_kind_of_crash() -> None:
    item = _tree_input()
    cases = {
        "exception: ValueError at checker/inputs/yamldoc.py:_scalar": Outcome(
            None, "", "", "ValueError at checker/inputs/yamldoc.py:_scalar\nTraceback ..."
        ),
        "traceback in output: KeyError: 'x'": Outcome(
            1, SIBLING_LINE, "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n"
        ),
        "K0S008: schema validation (ValueError)": Outcome(
            2,
            SIBLING_LINE + "k0s.yaml:1:1: error K0S008 schema validation failed on this cluster's documents "
            "(ValueError); the other checks ran\n",
            "",
        ),
        "exit code 3": Outcome(3, SIBLING_LINE, ""),
        "exit code 2 without an error message": Outcome(2, SIBLING_LINE, ""),
        "sibling finding lost": Outcome(0, "", ""),
        "output injection: a workflow command at a line start": Outcome(
            1, SIBLING_LINE + "::error file=FUZZ-INJECTED,line=1::pwned\n", ""
        ),
        "output injection: raw control character in text output": Outcome(1, SIBLING_LINE + "\x1b[2J\n", ""),
    }
    for expected, outcome in cases.items():
        assert verdict(item, outcome) == expected
    guarded = "::stop-commands::abc\n::error file=FUZZ-INJECTED::x\n::abc::\n"
    github = FuzzInput(0, "injection", "tree", "github", "k0s.yaml", b"", "test")
    assert verdict(github, Outcome(1, SIBLING_LINE + guarded, "")) is None
    junit = FuzzInput(0, "injection", "tree", "junit", "k0s.yaml", b"", "test")
    assert verdict(junit, Outcome(1, f"<testsuites>{SIBLING} K0S102\x01</testsuites>", "")).startswith(
        "unreadable junit report"
    )
