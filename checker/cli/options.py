"""The flags sub-commands share, defined once: the grammar of every sub-command that reports.

Each ``add_*`` function adds one group; a sub-command takes the groups that mean something for it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checker.report.style import TextOptions

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
FAIL_ON = ("error", "warning", "info", "never")

EXIT_CODES = """exit codes:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on
  2  usage error, a broken .k0s-policy.yaml, or an input that cannot be read"""


_COLUMNS: list[int] = []  # the terminal's width, read once a run


def _columns() -> int:
    """``shutil.get_terminal_size().columns`` (COLUMNS, else the terminal of stdout, else 80), without
    importing shutil and with it bz2 and lzma: argparse makes a formatter for every flag it adds."""
    if not _COLUMNS:
        import os
        import sys

        try:
            columns = int(os.environ["COLUMNS"])
        except (KeyError, ValueError):
            columns = 0
        if columns <= 0:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):
                columns = 80
        _COLUMNS.append(columns)
    return _COLUMNS[0]


class _TerminalWidth(argparse.HelpFormatter):
    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, _columns() - 2 if width is None else width
        )


class HelpFormatter(_TerminalWidth):
    """argparse.HelpFormatter, its width found as argparse finds it."""


class RawDescriptionHelpFormatter(_TerminalWidth, argparse.RawDescriptionHelpFormatter):
    """argparse.RawDescriptionHelpFormatter, its width found as argparse finds it."""


def sub_parser(
    sub: Any,
    name: str,
    help_text: str,
    examples: Sequence[str],
    exit_codes: str = EXIT_CODES,
    *,
    long_version: bool = True,
) -> Any:
    """A sub-command's parser with its examples and exit codes at the end of --help, and -V/--version
    (only -V where ``long_version`` is false: --version means something else there)."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) + "\n\n" + exit_codes
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text[:1].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=RawDescriptionHelpFormatter,
    )
    add_version_flag(parser, long=long_version)
    return parser


def add_version_flag(parser: argparse.ArgumentParser, *, long: bool = True) -> None:
    from checker import __version__

    flags = ("-V", "--version") if long else ("-V",)
    parser.add_argument(*flags, action="version", version=f"k0s-policy {__version__}")


class DeprecatedAlias(argparse.Action):
    """An old spelling of a flag: stores into the new one's destination and says so on stderr."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, replacement: str = "", **kwargs: Any
    ) -> None:
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: str | None = None
    ) -> None:
        import sys

        sys.stderr.write(f"k0s-policy: warning: {opt} is deprecated; use {self.replacement}\n")
        setattr(ns, self.dest, value)


class FormatAction(argparse.Action):
    """`--format X [--output FILE]`, repeatable: each --output belongs to the --format before it."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: str | None = None
    ) -> None:
        outputs: list[list[str | None]] = getattr(ns, "outputs", None) or []
        if self.dest == "format":
            outputs.append([value, None])
        else:
            format_flag = parser._option_string_actions.get("--format")  # this sub-command's formats
            if format_flag is not None and value in (format_flag.choices or ()):
                parser.error(
                    f"--output {value}: --output names the file to write; for the {value} report use "
                    f"--format {value} (to write a file called {value}, give --output ./{value})"
                )
            if not outputs:
                outputs.append([getattr(ns, "default_format", "text"), None])
            if outputs[-1][1] is not None:
                parser.error("each --output follows the --format it belongs to")
            outputs[-1][1] = value
        ns.outputs = outputs


def add_format_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    parser.add_argument(
        "--format",
        choices=sorted(formats),
        action=FormatAction,
        help="report format (repeatable; the default is text)",
    )
    parser.add_argument(
        "--output", action=FormatAction, metavar="FILE", help="write the preceding --format to FILE"
    )


def add_text_options(
    parser: argparse.ArgumentParser, *, quiet: bool = True, verbose: bool = True, statistics: bool = True
) -> None:
    """How the text report reads: --color, and where they mean something -q, -v and --statistics."""
    from checker.report.style import COLOR_CHOICES

    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help="colour severities and rule ids: auto (on a terminal; NO_COLOR turns it off, FORCE_COLOR on)",
    )
    if quiet:
        parser.add_argument(
            "-q", "--quiet", action="store_true", help="text: print the findings only (no header, no summary)"
        )
    if verbose:
        parser.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="text: print each finding's detail (the why) under it",
        )
    if statistics:
        parser.add_argument(
            "--statistics",
            action="store_true",
            help="text: one line per rule with its count, not every finding",
        )


def text_options(args: argparse.Namespace) -> TextOptions:
    """The text report's TextOptions from the flags add_text_options added."""
    from checker.report.style import TextOptions

    return TextOptions(
        color=getattr(args, "color", "auto"),
        quiet=getattr(args, "quiet", False),
        statistics=getattr(args, "statistics", False),
    )


def add_fail_on(parser: argparse.ArgumentParser, meaning: str = "fails the run") -> None:
    parser.add_argument("--fail-on", choices=FAIL_ON, default="error", help=f"lowest severity that {meaning}")


def add_rule_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--select", action="append", metavar="IDS", help="only these rules (ids or prefixes)")
    parser.add_argument("--ignore", action="append", metavar="IDS", help="skip these rules (ids or prefixes)")


def add_release_options(parser: argparse.ArgumentParser, *, target: bool = True) -> None:
    if target:
        parser.add_argument(
            "--k0s-version",
            metavar="VERSION",
            help="target k0s version for every cluster (e.g. v1.30.14+k0s.0 or 1.30)",
        )
    parser.add_argument("--data-dir", metavar="DIR", help="user release files (see `k0s-policy releases`)")


def add_airgap_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--airgap-images",
        metavar="FILE",
        help="image list the air-gapped nodes hold (k0s airgap list-images)",
    )
    parser.add_argument(
        "--airgap-bundle",
        action="append",
        metavar="FILE",
        help="image bundle tarball the nodes import (OCI layout or docker save, may be gzipped; repeatable)",
    )


def check_outputs(args: argparse.Namespace) -> str | None:
    """At most one report goes to stdout: two would be one unreadable document. The problem, or None."""
    outputs = getattr(args, "outputs", None) or []
    to_stdout = [str(name) for name, output in outputs if not output]
    if len(to_stdout) > 1:
        return (
            f"--format {' and --format '.join(to_stdout)} would all write to stdout; at most one report "
            "goes there, give the others their own --output FILE"
        )
    return None


def rule_ids(values: Sequence[str] | None) -> frozenset[str]:
    return frozenset(v.strip().upper() for value in values or () for v in value.split(",") if v.strip())


def add_repository_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads a repository shares (check, audit, fix)."""
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip paths matching GLOB"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="use this .k0s-policy.yaml instead of the nearest one"
    )
    parser.add_argument("--no-config", action="store_true", help="ignore any .k0s-policy.yaml")
    parser.add_argument(
        "--strict-config",
        action="store_true",
        help=".k0s-policy.yaml may tighten the check but not switch rules off, lower them, ignore or exclude",
    )
    parser.add_argument(
        "--no-gitignore", action="store_true", help="read files .gitignore excludes when walking directories"
    )
    parser.add_argument(
        "--no-context",
        action="store_true",
        help="do not read the rest of a named file's cluster (its k0sctl file, Plans) for context",
    )


def add_policy_options(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--policy", action="append", metavar="DIR", help="conftest-style Rego policies (repeatable)"
    )
    check.add_argument(
        "--data", action="append", metavar="FILE", help="YAML/JSON data documents for the policies"
    )
    check.add_argument(
        "--namespace", action="append", metavar="NS", help="policy packages to run (default: main)"
    )
    check.add_argument("--all-namespaces", action="store_true", help="run every policy package")
    check.add_argument(
        "--combine", action="store_true", help="give the policies all documents of a cluster as one input"
    )


def add_scale_options(check: argparse.ArgumentParser) -> None:
    """Big repositories: a share of the clusters per run, and processes per run."""
    check.add_argument(
        "--shard",
        metavar="K/N",
        help="check only the clusters of shard K of N (K from 0); merge the JSON reports with merge-reports",
    )
    check.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="processes a plain check uses (default: the CPU count for runs of more than a few hundred "
        "k0s documents, 1 otherwise; Linux only)",
    )


def add_registry_options(check: argparse.ArgumentParser) -> None:
    """`check --registry`: ask OCI registries whether they hold the images (docs/registry.md)."""
    check.add_argument(
        "--registry",
        action="append",
        default=[],
        metavar="URL",
        help="ask this registry whether it holds the images its names resolve to (repeatable)",
    )
    check.add_argument(
        "--registry-auth",
        metavar="FILE",
        help="Docker config.json with credentials (default: $DOCKER_CONFIG/config.json, ~/.docker/config.json)",
    )
    check.add_argument("--registry-ca", metavar="FILE", help="trust this CA bundle too (PEM)")
    check.add_argument(
        "--registry-insecure",
        action="append",
        default=[],
        metavar="HOST",
        help="use plain HTTP for this registry host[:port] (repeatable)",
    )
    check.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="OS/ARCH",
        help="check that each image has this platform, e.g. linux/arm64 (repeatable; default: not checked)",
    )
    check.add_argument(
        "--registry-timeout", type=float, default=10.0, metavar="SECONDS", help="timeout of each request"
    )


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """The result cache (checker.workflows.cache): a run with unchanged inputs reads its findings back."""
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the result cache lives (default: $XDG_CACHE_HOME/k0s-policy or ~/.cache/k0s-policy)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the result cache (also K0S_POLICY_NO_CACHE=1)",
    )
