"""`k0s-policy images`: the images each cluster's nodes will run, as a list, JSON or skopeo sync files."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from checker.cli import common, options

EXAMPLES = (
    "k0s-policy images clusters/edge-prod                       # one reference a line",
    "k0s-policy images clusters/edge-prod --from v1.29.4+k0s.0  # what the mirror must gain",
    "k0s-policy images clusters/ --format skopeo-sync --output-dir sync/",
    "k0s-policy images clusters/ --format json --output images.json --format list",
)
IMAGES_EXIT_CODES = """exit codes:
  0  the list was written
  2  usage error, no cluster found, or an input error that makes any list untrue (printed)"""


def add_parser(sub: Any) -> None:
    from checker.report.images import WRITERS

    images = options.sub_parser(
        sub,
        "images",
        "list the images each cluster's nodes will run (to build a bundle or fill a mirror)",
        EXAMPLES,
        IMAGES_EXIT_CODES,
    )
    images.add_argument("paths", nargs="*", default=["."], help="files, directories, globs; - reads stdin")
    images.add_argument(
        "--from",
        dest="from_version",
        metavar="VERSION",
        help="print only the images a mirror serving VERSION must gain before the upgrade",
    )
    options.add_format_options(images, list(WRITERS))
    images.set_defaults(default_format="list")
    images.add_argument(
        "--output-dir",
        metavar="DIR",
        help="skopeo-sync: write one file per mirror namespace into DIR and print the commands",
    )
    images.add_argument(
        "--registry-insecure",
        action="append",
        default=[],
        metavar="HOST",
        help="skopeo-sync: read this source registry over plain HTTP (tls-verify: false)",
    )
    options.add_repository_options(images)
    options.add_release_options(images)
    images.add_argument(
        "-q", "--quiet", action="store_true", help="print the list only: no notes or summary on stderr"
    )


def run(args: argparse.Namespace) -> int:
    from checker.report.images import WRITERS
    from checker.workflows.images import ImagesError, run_images

    cwd = Path.cwd()
    outputs = getattr(args, "outputs", None) or [["list", None]]
    if args.output_dir and [name for name, _ in outputs] != ["skopeo-sync"]:
        return common.error("--output-dir writes skopeo sync files: use it with --format skopeo-sync")
    if args.output_dir and any(output for _, output in outputs):
        return common.error("use --output or --output-dir, not both")
    problem = options.check_outputs(args)
    if problem:
        return common.error(problem)
    try:
        config, tree = common.load_repository(args, cwd)
        catalog = common.load_catalog(args)
        collected = common.collect_work_tree(args, cwd, tree, config)
        result = run_images(
            collected, catalog, config, cli_version=args.k0s_version, from_version=args.from_version
        )
    except (common.UsageError, ImagesError) as err:
        return common.error(str(err))
    if result.input_errors or result.blocking:
        for error in result.input_errors:
            sys.stderr.write(f"k0s-policy: {error}\n")
        for finding in result.blocking:
            sys.stderr.write(
                f"{finding.path}:{finding.line}:{finding.column}: {finding.rule} {finding.message}\n"
            )
        sys.stderr.write("k0s-policy: error: no image list: fix the input errors above first\n")
        return options.EXIT_USAGE
    result.insecure_sources = frozenset(host.strip().lower() for host in args.registry_insecure)
    for entry in [] if args.quiet else result.clusters:  # an assumed target is said, never hidden
        if entry.cluster.assumed_newest:
            sys.stderr.write(
                f"k0s-policy: note: cluster {entry.cluster.name} declares no k0s version; listed for the "
                f"newest known release {entry.patch.version} (declare it, or pass --k0s-version)\n"
            )
        elif entry.cluster.target is not None and entry.cluster.target.note:
            sys.stderr.write(f"k0s-policy: note: cluster {entry.cluster.name}: {entry.cluster.target.note}\n")
    if not result.clusters:
        return common.error("no k0s cluster found in the given paths: nothing to list")
    try:
        if args.output_dir:
            _write_sync_dir(result, Path(args.output_dir))
        else:
            common.write_outputs(args, lambda name, out: WRITERS[name](result, out))
    except BrokenPipeError:
        raise  # the reader stopped early (| head): app.main ends quietly
    except common.UsageError as err:
        return common.error(str(err))
    except OSError as err:
        return common.error(f"cannot write the output: {err.strerror or err}")
    if not args.quiet:
        sys.stderr.write(f"k0s-policy: {_summary(result, args.from_version)}\n")
    return options.EXIT_OK


def _summary(result: Any, from_version: str | None) -> str:
    """`1 cluster: 23 images` (with --from: the images to add), checker.findings.summary_line."""
    from checker.findings import summary_line

    distinct = {needed.image for entry in result.clusters for needed in entry.images}
    noun = ("image to add", "images to add") if from_version else ("image", "images")
    return summary_line(
        [(len(result.clusters), "cluster")], [(len(distinct), *noun)], nothing=f"no {noun[1]}"
    )


def _write_sync_dir(result: Any, directory: Path) -> None:
    from checker.report.images import sync_groups

    directory.mkdir(parents=True, exist_ok=True)
    for index, group in enumerate(sync_groups(result), start=1):
        slug = re.sub(r"[^A-Za-z0-9.-]+", "_", group.destination).strip("_") or "images"
        path = directory / f"{index:02d}-{slug}.yaml"
        path.write_text(group.text, encoding="utf-8")
        sys.stdout.write(f"skopeo sync --all --src yaml --dest docker {path} {group.destination}\n")
