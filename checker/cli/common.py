"""What every sub-command does with its parsed flags: load the configuration, the release
catalogue, rule options and policies, write the reports and choose the exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from checker.cli import options

if TYPE_CHECKING:
    from checker.config import Config
    from checker.inputs.live import LiveState
    from checker.inputs.registry import Settings as RegistrySettings
    from checker.inputs.roots import Tree
    from checker.inputs.sources import Collected
    from checker.k0s.releases import Catalog
    from checker.rego.policies import RegoPolicies
    from checker.report.model import ReportInput
    from checker.rules import Options
    from checker.workflows.check import Selection


class UsageError(Exception):
    """A problem with the command line or the tool's own inputs: exit code 2."""


def error(message: str) -> int:
    sys.stderr.write(f"k0s-policy: error: {message}\n")
    return options.EXIT_USAGE


def load_repository(args: argparse.Namespace, cwd: Path) -> tuple[Config, Tree]:
    """The configuration and the tree the run stands in (checker.inputs.roots).

    Both are found from the first path named: the nearest `.k0s-policy.yaml` up to the git top
    level, and the repository root (the git top level; outside git, the configuration's folder,
    else the current directory). The configuration's patterns are relative to its folder, or to
    the repository root when the file lies outside the repository.
    """
    from checker.config import Config, ConfigError, find_config, load_config
    from checker.inputs.roots import Tree
    from checker.inputs.sources import display_path, start_of

    start = start_of(args.paths, cwd)
    found: Path | None = None
    shown = ""
    if args.config:
        found, shown = Path(args.config), args.config
    elif not args.no_config:
        found = find_config(cwd / start)
        shown = display_path(found, cwd) if found is not None else ""
    tree = Tree.find(start, cwd, fallback=(cwd / found).parent if found is not None else None)
    if found is None:
        return Config(), tree
    base = tree.prefix((cwd / found).parent) or ""
    try:
        config = load_config(cwd / found, shown, base=base)
    except ConfigError as err:
        raise UsageError(str(err)) from None
    check_config_rules(args, config)
    if getattr(args, "strict_config", False):
        config = strict_config(config)
    return config, tree


def strict_config(config: Config) -> Config:
    """--strict-config: the configuration without what switches checks off, each left-out entry
    named on stderr (the gate's log says why a finding it ignores still counts)."""
    from checker.config import strict
    from checker.report.escape import text
    from checker.rules import ALL_RULES

    config, dropped = strict(config, {rule.id: rule.severity for rule in ALL_RULES})
    for entry in dropped:
        sys.stderr.write(f"k0s-policy: --strict-config: {text(config.path)}: not applied: {text(entry)}\n")
    return config


def add_context(
    args: argparse.Namespace, collected: Collected, cwd: Path, tree: Tree, config: Config
) -> None:
    """The rest of the named files' clusters, read for context (checker.workflows.context), unless
    --no-context."""
    if getattr(args, "no_context", False):
        return
    from checker.workflows.context import add_context

    add_context(
        collected,
        args.paths,
        cwd=cwd,
        tree=tree,
        ignore=args.exclude,
        excludes=[config.exclusion],
        gitignore=not args.no_gitignore,
    )


def collect_work_tree(
    args: argparse.Namespace, cwd: Path, tree: Tree, config: Config, *, prefilter_named: bool = False
) -> Collected:
    """The named paths as they are on disk, with the same excludes and .gitignore handling every
    sub-command uses, plus the rest of their clusters for context."""
    from checker.inputs.sources import collect

    collected = collect(
        args.paths,
        ignore=args.exclude,
        cwd=cwd,
        prefilter_named=prefilter_named,
        tree=tree,
        excludes=[config.exclusion],
        gitignore=not args.no_gitignore,
    )
    add_context(args, collected, cwd, tree, config)
    return collected


def load_live(args: argparse.Namespace, cwd: Path) -> LiveState | None:
    """The live state from --live exports or, read-only, from the API server; None when neither."""
    from checker.inputs.live import load_files, read_cluster

    if args.live:
        return load_files(args.live, cwd)
    if args.kubeconfig or args.context or args.in_cluster:
        return read_cluster(args.kubeconfig, args.context, args.in_cluster)
    return None


def rule_checker(args: argparse.Namespace) -> Callable[[str], str | None]:
    """Why a rule id or prefix names no rule of this run (None when it names one): the built-in
    rules and, with --policy, the ids the Rego policies mention."""
    from checker.rules import unknown_rule

    extra: set[str] = set()
    if getattr(args, "policy", None):
        from checker.rego.load import mentioned_ids

        extra = mentioned_ids(args.policy)
    return lambda name: unknown_rule(name, extra)


def check_config_rules(args: argparse.Namespace, config: Config) -> None:
    """Fail closed: a rule id in `.k0s-policy.yaml` that names no rule is a usage error."""
    from checker.config import unknown_rules

    problems = unknown_rules(config, rule_checker(args))
    if problems:
        raise UsageError("; ".join(problems))


def selection(args: argparse.Namespace) -> Selection:
    """--select and --ignore; fail closed: an id or prefix that names no rule is a usage error
    (it would otherwise select nothing, or ignore nothing, and the run would pass)."""
    from checker.workflows.check import Selection

    why = rule_checker(args)
    problems = []
    for flag in ("select", "ignore"):
        for name in sorted(options.rule_ids(getattr(args, flag, None))):
            reason = why(name)
            if reason is not None:
                problems.append(f"--{flag} {name}: {reason}")
    if problems:
        raise UsageError("; ".join(problems))
    return Selection(select=options.rule_ids(args.select), ignore=options.rule_ids(args.ignore))


def load_catalog(args: argparse.Namespace) -> Catalog:
    from checker.k0s.releases import Catalog, UnknownRelease
    from checker.k0s.userdata import DataDirError, release_dirs

    try:
        catalog = Catalog.load(extra_dirs=release_dirs(getattr(args, "data_dir", None)))
    except DataDirError as err:
        raise UsageError(str(err)) from None
    except ValueError as err:
        raise UsageError(f"release data: {err}") from None
    if args.k0s_version:
        try:
            catalog.resolve(args.k0s_version)
        except (UnknownRelease, ValueError) as err:
            raise UsageError(f"--k0s-version {args.k0s_version}: {err}") from None
    return catalog


def rule_options(args: argparse.Namespace, config: Config) -> Options:
    from checker.inputs.airgap import AirgapError, load_image_list
    from checker.rules import Options

    opts = Options()
    images_file = args.airgap_images
    if images_file is None and config.airgap_images:
        # relative to the configuration file that names it
        base = Path(config.path).parent if config.path else Path()
        images_file = str(base / config.airgap_images)
    if images_file:
        try:
            opts.airgap_images = load_image_list(Path(images_file), images_file)
        except AirgapError as err:
            raise UsageError(str(err)) from None
        opts.airgap_images_source = images_file
    bundles = getattr(args, "airgap_bundle", None) or []
    if bundles:
        from checker.inputs.bundle import BundleError, load_bundle

        held = set(opts.airgap_images or ())
        for bundle in bundles:
            try:
                held |= load_bundle(Path(bundle), bundle)
            except BundleError as err:
                raise UsageError(str(err)) from None
        opts.airgap_images = frozenset(held)
        sources = [opts.airgap_images_source, *(f"{b} (image bundle)" for b in bundles)]
        opts.airgap_images_source = " + ".join(s for s in sources if s)
    opts.registry = registry_settings(args, config)
    return opts


def registry_settings(args: argparse.Namespace, config: Config) -> RegistrySettings | None:
    """What `check --registry` asks and how; None when no registry is named. Built once per run, so
    PR mode's two revisions share the answers."""
    cached = getattr(args, "registry_settings_built", None)
    if cached is not None:
        return cached if cached is not False else None
    if not hasattr(args, "registry"):
        return None  # only `check` asks registries; audit and fix never touch the network this way
    urls = [*args.registry, *config.registry_urls]
    if not urls:
        if args.platform:
            raise UsageError("--platform is used by the registry check: add --registry URL")
        args.registry_settings_built = False
        return None
    import importlib.util

    from checker.inputs.registry import (
        RegistrySetupError,
        Settings,
        default_auth_file,
        load_auth_file,
        parse_platform,
        parse_registry,
        trust,
    )

    if importlib.util.find_spec("httpx") is None:
        raise UsageError("the registry check needs httpx: pip install 'k0s-policy[registry]'")
    try:
        registries = tuple(dict.fromkeys(parse_registry(url, args.registry_insecure) for url in urls))
        platforms = tuple(dict.fromkeys(parse_platform(p) for p in args.platform))
        auth = Path(args.registry_auth) if args.registry_auth else default_auth_file()
        credentials = load_auth_file(auth, explicit=bool(args.registry_auth))
        if args.registry_ca:
            trust(args.registry_ca)  # a file that is no CA bundle is a usage error now, not later
        if not args.registry_timeout > 0:
            raise RegistrySetupError("--registry-timeout must be a positive number of seconds")
    except RegistrySetupError as err:
        raise UsageError(str(err)) from None
    settings = Settings(
        registries,
        platforms,
        credentials,
        auth_source=str(auth) if credentials else "",
        ca_file=args.registry_ca,
        timeout=args.registry_timeout,
        named=frozenset(parse_registry(url, args.registry_insecure).name for url in args.registry),
    )
    args.registry_settings_built = settings
    return settings


def policies(args: argparse.Namespace, dirs: Sequence[str] | None = None) -> RegoPolicies | None:
    """The Rego policies of a check, or None without --policy (``dirs`` replaces --policy's
    directories, as PR mode does with the base revision's copies)."""
    if not args.policy:
        if args.data or args.namespace or args.all_namespaces or args.combine:
            raise UsageError("--data, --namespace, --all-namespaces and --combine need --policy")
        return None
    if args.namespace and args.all_namespaces:
        raise UsageError("use --namespace or --all-namespaces, not both")
    from checker.rego.policies import DEFAULT_NAMESPACE, PolicyError, RegoPolicies, load_policy_set
    from checker.rego.run import INSTALL_HINT, engine_installed

    if not engine_installed():
        raise UsageError(INSTALL_HINT)

    namespaces = None if args.all_namespaces else (args.namespace or [DEFAULT_NAMESPACE])
    try:
        return RegoPolicies(load_policy_set(dirs or args.policy, args.data or ()), namespaces, args.combine)
    except PolicyError as err:
        raise UsageError(str(err)) from None


def write_outputs(args: argparse.Namespace, write: Callable[[str, TextIO], None]) -> None:
    """Every --format of the run, each to its --output file or to stdout."""
    outputs = getattr(args, "outputs", None) or [[getattr(args, "default_format", "text"), None]]
    for format_name, output in outputs:
        if not output:
            write(format_name, sys.stdout)
            continue
        try:
            with open(output, "w", encoding="utf-8") as handle:
                write(format_name, handle)
        except OSError as err:
            raise UsageError(f"cannot write {output}: {err.strerror or err}") from None


def write_reports(args: argparse.Namespace, report: ReportInput) -> None:
    from checker.report import writer

    write_outputs(args, lambda name, out: writer(name)(report, out))


def exit_code(findings: Sequence[Any], fail_on: str) -> int:
    from checker.findings import Severity

    if fail_on == "never":
        return options.EXIT_OK
    threshold = Severity.parse(fail_on)
    return options.EXIT_FINDINGS if any(f.severity >= threshold for f in findings) else options.EXIT_OK


def read_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {name}: {getattr(err, 'strerror', None) or err}") from None
