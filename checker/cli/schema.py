"""`k0s-policy schema export`: the per-release schemas for kubeconform and editors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options

EXAMPLES = (
    "k0s-policy schema export --k0s-version 1.30 --layout kubeconform schemas/k0s",
    "kubeconform -schema-location default -schema-location 'schemas/k0s/{{ .ResourceKind }}{{ .KindSuffix }}.json' k0s.yaml",
    "k0s-policy schema export --k0s-version v1.30.5+k0s.0 --layout plain .vscode/k0s-schemas",
)
SCHEMA_EXIT_CODES = """exit codes:
  0  the schemas were written
  2  usage error, an unknown release, or the directory cannot be written"""


def add_parser(sub: Any) -> None:
    from checker.validate.export import LAYOUTS

    schema = options.sub_parser(
        sub, "schema", "the per-release JSON Schemas for other tools", EXAMPLES, SCHEMA_EXIT_CODES
    )
    actions = schema.add_subparsers(dest="schema_command", metavar="ACTION")
    export = options.sub_parser(
        actions,
        "export",
        "write the schemas of one k0s release into a directory",
        EXAMPLES,
        SCHEMA_EXIT_CODES,
    )
    export.add_argument("directory", metavar="DIR", help="where to write them (created when missing)")
    export.add_argument("--k0s-version", required=True, help="the k0s release (e.g. 1.30 or v1.30.5+k0s.0)")
    export.add_argument("--layout", choices=LAYOUTS, default="plain", help="file names (default: plain)")
    export.add_argument("--data-dir", metavar="DIR", help="user release files (see `k0s-policy releases`)")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "schema_command", None) != "export":
        return common.error("schema: name an action: export")
    from checker.validate.export import ExportError, export

    try:
        catalog = common.load_catalog(args)
        resolved = catalog.resolve(args.k0s_version)
        exported = export(resolved.patch.minor, args.layout, Path(args.directory))
    except (common.UsageError, ExportError) as err:
        return common.error(str(err))
    note = "" if exported.minor == resolved.patch.minor else " (the newest schemas at or below it)"
    sys.stderr.write(
        f"k0s-policy: wrote {len(exported.written)} files of the k0s {exported.minor} schemas{note} "
        f"to {args.directory} ({args.layout} layout)\n"
    )
    for path in exported.written:
        sys.stdout.write(f"{path}\n")
    return options.EXIT_OK
