"""Docs that are run: every shell example in README.md and docs/ that invokes `k0s-policy` is run
against a sandbox repository laid out as the docs assume (the bundled examples, fixtures and
policies), and must exit as documented (0 or 1 unless its comment says `exits N`; never 2, the code
of a flag or argument that drifted). Console blocks (`$ k0s-policy ...` followed by output) and the
README's tour must show lines the program prints. The few examples that need something the test
machine does not have (a live cluster, a renderer, the k0s binary) are skipped, each with its reason.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_bundle import oci_bundle

from checker.cli.app import main
from conftest import CLEAN, REPO_ROOT, TYPO, git, write

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
SHELL = {"sh", "bash", "shell"}

# Examples that cannot run here, by a piece of their text: the reason shows in the test report.
SKIP = {
    "--context edge-prod": "needs a live cluster (a kubeconfig context)",
    "releases import": "needs the output of a new k0s binary (k0s airgap list-images)",
    "--registry ": "needs a registry server (tests/test_registry.py runs the real one)",
    "--format skopeo-sync --output-dir": "shows a cluster whose images.repository is a mirror (tests/test_images.py)",
}
PROGRAMS_NOT_HERE = {"kustomize", "flux", "helm", "kubectl", "docker", "conftest", "bash", "yq", "pre-commit"}


@dataclass(frozen=True)
class Example:
    page: str  # relative to the repository
    line: int
    command: str
    shown: tuple[str, ...] = ()  # output lines a console block shows after the command
    skip: str = ""

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _logical_lines(lines: list[str], first: int) -> Iterator[tuple[int, str]]:
    """(line number, command) with backslash continuations joined."""
    buffer, start = "", first
    for number, line in enumerate(lines, start=first):
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        yield start, buffer + line
        buffer = ""
    if buffer:
        yield start, buffer


def _skip_reason(command: str, in_script: bool) -> str:
    for piece, reason in SKIP.items():
        if piece in command:
            return reason
    words = shlex.split(command, comments=True)
    if words and words[0] != "k0s-policy":
        program = words[0] if "=" not in words[0] else "the environment it sets up"
        return (
            f"runs {program}, which this machine does not provide"
            if words[0] in PROGRAMS_NOT_HERE
            else (f"runs {program}")
        )
    if in_script:
        return "part of a shell script (loops and variables), not a command on its own"
    if "|" in words:
        return "a pipeline"
    return ""


def examples() -> list[Example]:
    found: list[Example] = []
    for page in DOCS:
        text = page.read_text(encoding="utf-8").splitlines()
        rel = page.relative_to(REPO_ROOT).as_posix()
        index = 0
        while index < len(text):
            fence = text[index].strip()
            if not fence.startswith("```"):
                index += 1
                continue
            lang = fence[3:].strip()
            end = next((i for i in range(index + 1, len(text)) if text[i].strip() == "```"), len(text))
            body = text[index + 1 : end]
            if lang in SHELL:
                script = any(re.match(r"\s*(for|while|if|do|done|set|status=)\b", line) for line in body)
                for number, command in _logical_lines(body, index + 2):
                    words = _words(command)
                    piped = any(a == "|" and b == "k0s-policy" for a, b in itertools.pairwise(words))
                    if not words or (words[0] != "k0s-policy" and not piped):
                        continue  # installs the tool, names its container, or a make target (the tour test)
                    indented = command.startswith((" ", "\t", "|"))
                    found.append(
                        Example(rel, number, command.strip(), (), _skip_reason(command, script and indented))
                    )
            elif lang in ("", "console", "text") and any(line.startswith("$ k0s-policy") for line in body):
                for offset, line in enumerate(body):
                    if line.startswith("$ k0s-policy"):
                        shown = []
                        for out in body[offset + 1 :]:
                            if out.startswith("$ "):
                                break
                            shown.append(out)
                        command = line[2:].strip()
                        skip = _skip_reason(command, in_script=False)
                        found.append(Example(rel, index + 2 + offset, command, tuple(shown), skip))
            index = end + 1
    return found


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return command.split()


ALL_EXAMPLES = examples()
# The same command shown on several pages runs once (under its first page).
EXAMPLES = list({(tuple(_words(e.command)), e.shown): e for e in reversed(ALL_EXAMPLES)}.values())[::-1]


def test_the_docs_have_examples_to_run() -> None:
    runnable = [e for e in ALL_EXAMPLES if not e.skip]
    assert len(runnable) >= 30, [e.id for e in runnable]
    assert len([e for e in ALL_EXAMPLES if e.skip]) <= len(runnable) // 2, "most examples must run"


@pytest.fixture(scope="session")
def sandbox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository laid out as the docs assume, with git history and an origin/main."""
    repo = tmp_path_factory.mktemp("docs") / "repo"
    shutil.copytree(REPO_ROOT / "examples" / "airgap-upgrade", repo / "clusters" / "edge-prod")
    shutil.copy(REPO_ROOT / "examples" / "airgap-upgrade" / "k0sctl.yaml", repo / "k0sctl.yaml")
    shutil.copytree(REPO_ROOT / "examples", repo / "examples")  # pages that name the examples by path
    write(repo, "clusters/legacy/k0s.yaml", TYPO)
    write(repo, "clusters/a/k0s.yaml", CLEAN)
    fixtures = REPO_ROOT / "tests" / "fixtures"
    for name in ("clusterconfig-k0s.yaml", "nodes.yaml", "plans.yaml"):
        shutil.copy(fixtures / "live" / name, repo / name.replace("clusterconfig-k0s", "clusterconfig"))
    shutil.copytree(fixtures / "rego" / "verify" / "passing", repo / "policy")
    write(repo, "policy/k0s.rego", 'package k0s\n\nwarn contains "k0s" if { false }\n')
    write(repo, "policy/network.rego", 'package team.network\n\nwarn contains "net" if { false }\n')
    write(repo, "shared/shared.rego", 'package main\n\nwarn contains "shared" if { false }\n')
    shutil.copy(fixtures / "rego" / "data" / "allowed.yaml", repo / "data.yaml")
    (repo / "data").mkdir()
    shutil.move(repo / "data.yaml", repo / "data" / "allowed.yaml")
    shutil.copytree(REPO_ROOT / "policies" / "rego", repo / "policies" / "rego")
    write(repo, "airgap/extra-images.txt", "registry.example.com/extra:1.0\n")
    (repo / "bundles").mkdir()
    images = ["quay.io/k0sproject/kube-proxy:v1.30.5", "quay.io/k0sproject/coredns:1.11.3"]
    oci_bundle(repo / "bundles" / "k0s-airgap-bundle-v1.30.5+k0s.0-amd64", images)
    oci_bundle(repo / "bundles" / "base.tar", images[:1])
    oci_bundle(repo / "bundles" / "extra.tar.gz", images[1:], gzip=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the docs' repository")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    for prepared in (
        ["check", "clusters/", "--write-baseline", ".k0s-policy-baseline.json"],
        ["releases", "export-data", "--k0s-version", "1.30", "--output", "k0s-releases.json"],
    ):
        _run(repo, prepared)
    return repo


def _run(cwd: Path, argv: list[str]) -> int:
    import os

    here = os.getcwd()
    os.chdir(cwd)
    try:
        return main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code or 0)
    finally:
        os.chdir(here)


def _expected_exit(command: str) -> set[int]:
    match = re.search(r"#.*\bexits? (\d)\b(?! if)", command)
    return {int(match.group(1))} if match else {0, 1}


def _matches(shown: str, actual: list[str]) -> bool:
    pieces = [p.strip() for p in shown.split("...") if p.strip()]
    for line in actual:
        at = 0
        for piece in pieces:
            at = line.find(piece, at)
            if at < 0:
                break
            at += len(piece)
        else:
            return True
    return False


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_doc_example_runs(
    example: Example,
    sandbox_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if example.skip:
        pytest.skip(f"{example.id}: {example.skip}")
    sandbox = tmp_path / "repo"
    shutil.copytree(sandbox_template, sandbox, symlinks=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # never the user's release files
    words = shlex.split(example.command, comments=True)
    for operator in ("||", "&&", ";"):  # `k0s-policy check clusters/ || status=1` in a script
        words = words[: words.index(operator)] if operator in words else words
    code = _run(sandbox, words[1:])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert code in _expected_exit(example.command), (
        f"{example.id}: `{example.command}` exited {code}\n{captured.err[-2000:]}"
    )
    actual = (captured.out + captured.err).splitlines()
    for line in example.shown:
        if line.strip() in ("", "..."):
            continue
        if re.search(r"/home/\w+|user file", line):
            continue  # a line about the reader's own files
        assert _matches(line, actual), (
            f"{example.id}: the docs show a line the program does not print:\n{line}"
        )


def test_readme_tour_shows_what_the_demo_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo` checks examples/airgap-upgrade from the repository root; the README shows its output."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("`make demo` shows it:", 1)[1]
    block = after.split("```", 2)[1].strip("\n").splitlines()
    assert _run(REPO_ROOT, ["check", "examples/airgap-upgrade"]) == 1
    actual = capsys.readouterr().out.splitlines()
    for line in block:
        if line.strip() and line.strip() != "...":
            assert _matches(line, actual), f"README tour shows a line `make demo` does not print:\n{line}"


def test_json_example_of_the_readme_has_the_fields_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(REPO_ROOT, ["check", "examples/airgap-upgrade", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    shown = text.split("```json", 1)[1].split("```", 1)[0]
    for key in re.findall(r'"(\w+)":', shown):
        assert key in json.dumps(document), f"README's JSON example shows {key!r}, the report has none"
