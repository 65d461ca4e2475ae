"""`k0s-policy releases list|import|export-data`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options

RELEASES_EXIT_CODES = """exit codes:
  0  done
  2  usage error, or release data that cannot be read or written"""


def add_parser(sub: Any) -> None:
    from checker.k0s.userdata import default_data_dir

    releases = options.sub_parser(
        sub,
        "releases",
        "list the known k0s releases, import a new one, or export the data for Rego",
        (
            "k0s-policy releases list",
            "k0s-policy releases import --k0s-version v1.37.0+k0s.0 --images images.txt --k0s-config k0s.yaml",
            "k0s-policy releases export-data --k0s-version 1.30 --output k0s-releases.json",
        ),
        RELEASES_EXIT_CODES,
    )
    releases.set_defaults(k0s_version=None, releases_command=None)
    actions = releases.add_subparsers(dest="releases_command", metavar="ACTION")
    data_help = f"user release files (default: {default_data_dir()})"
    listing = options.sub_parser(
        actions,
        "list",
        "one line per known k0s minor",
        ("k0s-policy releases list", "k0s-policy releases list --data-dir ~/k0s-releases"),
        RELEASES_EXIT_CODES,
    )
    listing.add_argument("--data-dir", metavar="DIR", help=data_help)
    importing = options.sub_parser(
        actions,
        "import",
        "add a release from `k0s airgap list-images --all` (and `k0s config create`) output",
        (
            "k0s-policy releases import --k0s-version v1.37.0+k0s.0 --images images.txt --k0s-config k0s.yaml",
            "  # the inputs, from the new k0s binary: k0s airgap list-images --all > images.txt",
            "  #                                      k0s config create --include-images > k0s.yaml",
        ),
        RELEASES_EXIT_CODES,
        long_version=False,  # --version is the deprecated spelling of --k0s-version
    )
    importing.add_argument(
        "--k0s-version", dest="version", metavar="TAG", help="the k0s tag, e.g. v1.37.0+k0s.0"
    )
    importing.add_argument(
        "--version",
        dest="version",
        metavar="TAG",
        action=options.DeprecatedAlias,
        replacement="--k0s-version",
        help="deprecated: --k0s-version",
    )
    importing.add_argument(
        "--images",
        required=True,
        metavar="FILE",
        help="`k0s airgap list-images --all` output of that release",
    )
    importing.add_argument(
        "--k0s-config",
        dest="k0s_config",
        metavar="FILE",
        help="`k0s config create --include-images` output of that release",
    )
    importing.add_argument(
        "--config",
        dest="k0s_config",
        metavar="FILE",
        action=options.DeprecatedAlias,
        replacement="--k0s-config (--config means .k0s-policy.yaml everywhere else)",
        help="deprecated: --k0s-config",
    )
    importing.add_argument("--data-dir", metavar="DIR", help=data_help)
    _add_export_parser(actions, data_help)


def run(args: argparse.Namespace) -> int:
    from checker.k0s.release_import import ReleaseImportError, import_release, release_table
    from checker.k0s.releases import Catalog
    from checker.k0s.userdata import DataDirError, default_data_dir, release_dirs

    if args.releases_command is None:
        return common.error("`k0s-policy releases` needs an action: list, import or export-data")
    if args.releases_command == "export-data":
        return _export_data(args)
    try:
        if args.releases_command == "list":
            catalog = common.load_catalog(args)
            sys.stdout.write(release_table(catalog, release_dirs(args.data_dir)))
            return options.EXIT_OK
        data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
        try:
            catalog = Catalog.load(extra_dirs=[data_dir] if data_dir.is_dir() else [])
        except ValueError as err:
            raise common.UsageError(f"release data: {err}") from None
        if not args.version:
            raise common.UsageError("releases import needs --k0s-version TAG (the release being imported)")
        images_text = common.read_text(args.images)
        config_text = common.read_text(args.k0s_config) if args.k0s_config else None
        outcome = import_release(
            args.version, images_text, args.images, catalog, data_dir, config_text, args.k0s_config or ""
        )
    except (common.UsageError, DataDirError, ReleaseImportError) as err:
        return common.error(str(err))
    sys.stdout.write(f"imported k0s {args.version} into {outcome.path}\n")
    for note in outcome.notes:
        sys.stdout.write(f"  {note}\n")
    return options.EXIT_OK


def _add_export_parser(actions: Any, data_help: str) -> None:
    export = options.sub_parser(
        actions,
        "export-data",
        "write the release data as JSON for the Rego policies (--data, conftest)",
        (
            "k0s-policy releases export-data --k0s-version 1.30 --output k0s-releases.json",
            "conftest test --policy policy/ --data k0s-releases.json k0s.yaml",
        ),
        RELEASES_EXIT_CODES,
    )
    export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument(
        "--k0s-version", dest="target_version", metavar="VERSION", help="target of clusters without k0sctl"
    )
    export.add_argument("--airgapped", action="store_true", help="the checked clusters are air-gapped")
    export.add_argument(
        "--registry", action="append", default=[], metavar="HOST", help="a registry air-gapped nodes reach"
    )
    export.add_argument("--data-dir", metavar="DIR", help=data_help)


def _export_data(args: argparse.Namespace) -> int:
    import json

    from checker.k0s.releases import UnknownRelease
    from checker.rego.data import export

    try:
        catalog = common.load_catalog(args)
        data = export(
            catalog, target=args.target_version or "", airgapped=args.airgapped, registries=args.registry
        )
    except common.UsageError as err:
        return common.error(str(err))
    except (UnknownRelease, ValueError) as err:
        return common.error(f"--k0s-version {args.target_version}: {err}")
    text = json.dumps(data, separators=(",", ":")) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return options.EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as err:
        return common.error(f"cannot write {args.output}: {err.strerror or err}")
    return options.EXIT_OK
