"""A structural fuzzer for `k0s-policy check`: real configs of the repository, mutated as an attacker would.

Seeds are the YAML files under tests/fixtures/ and examples/. Each input is built deterministically from
(seed, index): YAML-node mutations (hostile scalars, core tags, duplicate keys, deep nesting, anchors and
alias bombs, merge keys, wrong types, multi-document streams) and byte mutations (encodings, BOMs,
invalid UTF-8, flips, truncation). Every input goes through the real command, ``checker.cli.app.main``,
in a forked worker process that is killed when it overruns its time; the oracle (``oracle.py``) says what
counts as a crash. ``python -m tests.fuzz --help`` runs a campaign; tests/test_fuzz.py runs a short one.
"""
