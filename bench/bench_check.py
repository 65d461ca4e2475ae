"""Benchmark: k0s-policy against the floor of its work, check-jsonschema, PyYAML's import and itself at scale.

Generates (deterministically, from --seed) a repository of 50 clusters with 10,000 ordinary Kubernetes
manifests and 200 k0s documents, a fleet of 3,200 k0s documents and a small one of 200, then times in
child processes, the cases of each ratio side by side:

  a/f/b  ``k0s-policy check <repo>`` / bench/floor.py (walk, read, pre-filter, compose) / check-jsonschema
         on the same 200 k0s files (one invocation per schema)
  c/y    ``k0s-policy check <one k0s.yaml>`` (the pre-commit case) / ``python -c 'import yaml'``
  w0/w1  a cold (``--no-cache``) / warm (``--cache-dir``), when the tool has a result cache
  s0-s2  an empty folder / 200 / 3,200 k0s documents: cost per document, peak memory
  e      a with the Rego policies of policies/rego
  d      interpreter start-up and the import time of what ``check`` imports

and prints every figure of the targets table (issue 14) with its bound and PASS/FAIL. Wall time is
``time.perf_counter`` around the child, CPU time from ``os.wait4``, peak RSS from GNU time
(``/usr/bin/time -f %M``) when present. It exits 0 whatever the figures are, 1 only when a measured
command fails (crash, usage error). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from repo_gen import CLUSTERS, clear_generated, generate
from runner import GNU_TIME, Case, Crash, Series, child_env, import_groups, run_once, side_by_side

BIN = Path(sys.executable).parent  # the virtualenv's bin/: k0s-policy and check-jsonschema live here
ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas" / "1.30"
CONFIG_SCHEMA = "clusterconfig.schema.json"
K0SCTL_SCHEMA = "k0sctl-cluster.schema.json"
PLAN_SCHEMA = "autopilot-plan.schema.json"
FLOOR = Path(__file__).resolve().parent / "floor.py"
FLEET_CLUSTERS = 800  # 3,200 k0s documents: 16x the repository's
FLEET_MANIFESTS = 1_600
SMALL_MANIFESTS = 100  # the fleet's ratio of manifests to k0s documents, at 200 documents


# --------------------------------------------------------------------------------------------------
# Report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def summarise_findings(stdout: bytes) -> str:
    report = json.loads(stdout)
    summary = report["summary"]
    by_rule = Counter(f["rule"] for f in report["findings"])
    rules = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
    return (
        f"{summary['files_read']} files read, {summary['documents_checked']} documents parsed, "
        f"{summary['k0s_objects']} k0s objects, {summary['clusters']} clusters; "
        f"{len(report['findings'])} findings ({rules})"
    )


def failing_files(stdout: bytes) -> int:
    """check-jsonschema's text output names each failing file as `  path::$.node: message`."""
    text = stdout.decode("utf-8", errors="replace")
    return len({m.group(1) for m in re.finditer(r"^\s+(\S+?)::", text, re.MULTILINE)})


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, help="generate the repository in DIR/repo and keep it (default: a temp dir)"
    )
    parser.add_argument("--seed", type=int, default=1030, help="random seed of the generated repository")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (after one warm-up)")
    parser.add_argument("--profile", action="store_true", help="also profile the whole-repository check")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    k0s_policy = BIN / "k0s-policy"
    check_jsonschema = BIN / "check-jsonschema"
    for tool in (k0s_policy, check_jsonschema):
        if not tool.exists():
            sys.stderr.write(f"bench: {tool} is missing; run `make bench` (it installs the test extras)\n")
            return 1

    temporary = None
    if args.out is None:
        temporary = tempfile.TemporaryDirectory(prefix="k0s-policy-bench-")
        out = Path(temporary.name)
    else:
        out = args.out.resolve()
    try:
        return _bench(out, args, k0s_policy, check_jsonschema)
    except Crash as crash:
        sys.stderr.write(f"bench: a measured command failed: {crash}\n")
        return 1
    finally:
        if temporary is not None:
            temporary.cleanup()


def _bench(out: Path, args: argparse.Namespace, k0s_policy: Path, check_jsonschema: Path) -> int:
    root = out / "repo"
    fleet_root, small_root, empty_root = out / "fleet", out / "small", out / "empty"
    for folder in (root, fleet_root, small_root):
        if not clear_generated(folder):
            sys.stderr.write(
                f"bench: {folder} exists and was not generated by this script; not touching it\n"
            )
            return 1
    started = time.perf_counter()
    repo = generate(root, args.seed)
    (out / "k0s-files.txt").write_text("\n".join(repo.k0s_files) + "\n", encoding="utf-8")
    (out / "clusterconfig-files.txt").write_text("\n".join(repo.clusterconfig_files) + "\n", encoding="utf-8")
    fleet = generate(fleet_root, args.seed, clusters=FLEET_CLUSTERS, manifest_count=FLEET_MANIFESTS)
    small = generate(small_root, args.seed, clusters=CLUSTERS, manifest_count=SMALL_MANIFESTS)
    empty_root.mkdir(exist_ok=True)
    generated_in = time.perf_counter() - started
    env = child_env(out / "pycache")
    cold_env = child_env(out / "pycache-empty", bytecode=False)
    load_before = load_average()
    if GNU_TIME is not None:
        rss_method = f"the child's, from {GNU_TIME} (max over the runs)"
    else:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_method = f"os.wait4 ru_maxrss, never below this script's own {own:.0f} MiB (no GNU time)"
    cpus = os.cpu_count() or 1
    print(
        f"repository: {root}  (seed {args.seed}; all three generated in {generated_in:.1f} s)\n"
        f"  {CLUSTERS} clusters, {repo.manifests} ordinary manifest files ({repo.documents} documents), "
        f"{len(repo.k0s_files)} k0s files ({len(repo.typo_files)} with a typo key); "
        f"{repo.size / 2**20:.1f} MiB\n"
        f"  fleet {fleet_root}: {len(fleet.k0s_files)} k0s files among {fleet.manifests} manifests; "
        f"small {small_root}: {len(small.k0s_files)} k0s files among {small.manifests} manifests\n"
        f"environment: Python {sys.version.split()[0]}, {cpus} CPUs, load average {load_before:.2f} "
        f"before the runs; .pyc cache in {out / 'pycache'}\n"
        f"  {args.repeat} measured rounds after one warm-up, the cases of a ratio run in turn; wall = median "
        f"and min, cpu = median user+sys, peak RSS = {rss_method}\n",
        flush=True,
    )

    python = sys.executable
    policy = str(k0s_policy)
    check_repo = (policy, "check", ".", "--format", "json", "--fail-on", "never")

    def case(label: str, *commands: Sequence[str], cwd: Path = root, ok: tuple[int, ...] = (0,)) -> Case:
        return Case(label, tuple(tuple(c) for c in commands), cwd, env, ok)

    # 1, 2: the whole repository, its floor, and check-jsonschema on the same 200 k0s files
    schema_runs = [
        (str(check_jsonschema), "--schemafile", str(SCHEMAS / name), *files)
        for name, files in schema_batches(repo.k0s_files).items()
    ]
    whole, floor, schema = side_by_side(
        [
            case("a  k0s-policy check <repo> --format json", check_repo),
            case("f  floor: walk + read + pre-filter + compose", (python, str(FLOOR), ".")),
            # 1: the typo files fail validation, as intended
            case(f"b  check-jsonschema <{len(repo.k0s_files)} k0s files>", *schema_runs, ok=(0, 1)),
        ],
        args.repeat,
    )
    # 3: one file, the pre-commit case, against importing PyYAML
    single_file = repo.clusterconfig_files[0]
    single_command = (policy, "check", single_file, "--fail-on", "never")
    single, import_yaml = side_by_side(
        [
            case("c  k0s-policy check <one k0s.yaml>", single_command),
            case("y  python -c 'import yaml'", (python, "-c", "import yaml")),
        ],
        args.repeat,
    )
    single_cold = Case("c' the same, no .pyc cache", (single_command,), root, cold_env)
    (single_cold_series,) = side_by_side([single_cold], args.repeat)
    # 4: the result cache, when the tool has one
    cache_rows: list[Series] = []
    if "--no-cache" in run_once((policy, "check", "--help"), root, env).stdout.decode():
        cache_dir = out / "result-cache"
        cache_rows = side_by_side(
            [
                case("w0 a, cold (--no-cache)", (*check_repo, "--no-cache")),
                Case(
                    "w1 a, warm (--cache-dir, filled by the warm-up)",
                    ((*check_repo, "--cache-dir", str(cache_dir)),),
                    root,
                    child_env(out / "pycache", result_cache=True),
                    (0,),
                ),
            ],
            args.repeat,
        )
    # 5, 6: cost per k0s document at 200 and 3,200 documents; peak memory at 3,200
    scale_repeat = min(args.repeat, 3)  # the fleet takes seconds per run
    empty, at_small, at_fleet = side_by_side(
        [
            case("s0 k0s-policy check <empty folder>", check_repo, cwd=empty_root),
            case(f"s1 k0s-policy check <{len(small.k0s_files)} k0s docs>", check_repo, cwd=small_root),
            case(f"s2 k0s-policy check <{len(fleet.k0s_files)} k0s docs>", check_repo, cwd=fleet_root),
        ],
        scale_repeat,
    )
    # 7: the Rego twins of K0S101/K0S102/K0S201/K0S203 (policies/rego) next to the Python rules
    rego_data = out / "k0s-releases.json"
    run_once([policy, "releases", "export-data", "--output", str(rego_data)], root, env)
    rego_flags = ("--policy", str(ROOT / "policies" / "rego"), "--data", str(rego_data))
    rego_flags += ("--namespace", "k0s.images", "--namespace", "k0s.pullpolicy")
    rego_whole, rego_single = side_by_side(
        [
            case("e  a + --policy policies/rego", (*check_repo, *rego_flags)),
            case("e' c + --policy policies/rego", (*single_command, *rego_flags)),
        ],
        min(args.repeat, 3),
    )
    check_imports = (
        "import checker.cli.app, checker.cli.check, checker.cli.common, checker.workflows.check, "
        "checker.workflows.pool, checker.k0s.releases, checker.report.model, checker.report.text"
    )
    startup, import_all = side_by_side(
        [
            case("d  python -c pass", (python, "-c", "pass")),
            case("d  python -c 'import <what check imports>'", (python, "-c", check_imports)),
        ],
        args.repeat,
    )
    groups = import_groups(check_imports, root, env, top=6)
    load_after = load_average()

    rows = [whole, floor, schema, single, import_yaml, single_cold_series, *cache_rows, empty, at_small]
    rows += [at_fleet, rego_whole, rego_single, startup, import_all]
    width = max(len(s.label) for s in rows)
    print(f"{'case':{width}}  {'wall median':>11}  {'wall min':>8}  {'cpu':>7}  {'peak RSS':>9}")
    for s in rows:
        print(
            f"{s.label:{width}}  {s.median * 1000:8.0f} ms  {s.best * 1000:5.0f} ms  "
            f"{s.cpu * 1000:4.0f} ms  {s.rss_mib:5.1f} MiB"
        )
    print()
    print(f"a: {summarise_findings(whole.runs[-1].stdout)}")
    print(f"f: {floor.runs[-1].stdout.decode().strip()}")
    failed = failing_files(schema.runs[-1].stdout)
    print(f"b: {len(repo.k0s_files)} files in {len(schema_runs)} invocations (one per schema), {failed} fail")
    print(f"c: {single_file}")
    documents = len(repo.k0s_files)
    rego_per_doc = (rego_whole.median - whole.median) / documents
    python_per_doc = whole.median / documents
    print(
        f"e: the Rego path costs {rego_per_doc * 1000:.1f} ms per k0s document "
        f"(+{rego_whole.median - whole.median:.2f} s over a for {documents} documents), next to "
        f"{python_per_doc * 1000:.1f} ms per k0s document for the whole check a; compiling the "
        f"policies and release data once: about {(rego_single.median - single.median) * 1000:.0f} ms (e' - c)"
    )
    print(
        f"d: what `check` imports costs {(import_all.best - startup.best) * 1000:.0f} ms over start-up "
        "(difference of the min walls); self time by package (-X importtime, one run): "
        + ", ".join(f"{name} {cost:.0f} ms" for name, cost in groups)
    )
    small_per_doc = (at_small.median - empty.median) / len(small.k0s_files)
    fleet_per_doc = (at_fleet.median - empty.median) / len(fleet.k0s_files)
    growth_cpu = ((at_fleet.cpu - empty.cpu) / len(fleet.k0s_files)) / (
        (at_small.cpu - empty.cpu) / len(small.k0s_files)
    )
    rego_cpu = ((rego_whole.cpu - whole.cpu) / documents) / (whole.cpu / documents)
    print(
        f"s: per k0s document (wall minus the empty folder's): {small_per_doc * 1000:.2f} ms at "
        f"{len(small.k0s_files)}, {fleet_per_doc * 1000:.2f} ms at {len(fleet.k0s_files)}"
    )
    print()
    figures = [
        ratio("whole repo vs floor process", whole, floor, 2.0),
        ratio("whole repo vs check-jsonschema (200 k0s files)", whole, schema, 0.33),
        ratio("single file vs python -c 'import yaml'", single, import_yaml, 2.5),
        ratio("warm re-run vs cold run (result cache)", *(cache_rows[::-1] or (None, None)), 0.25),  # w1 / w0
        Figure(
            f"ms per k0s doc at {len(fleet.k0s_files)} vs at {len(small.k0s_files)}",
            fleet_per_doc / small_per_doc,
            1.1,
            "x",
            growth_cpu,
        ),
        Figure(f"peak memory, {len(fleet.k0s_files)} k0s docs (16x)", at_fleet.rss_mib, 60.0, " MiB"),
        Figure("Rego per doc vs Python check per doc", rego_per_doc / python_per_doc, 5.0, "x", rego_cpu),
    ]
    name_width = max(len(f.name) for f in figures)
    print(f"{'figure':{name_width}}  {'measured':>14}  {'target':>9}  result  (same ratio of cpu times)")
    for figure in figures:
        print(
            f"{figure.name:{name_width}}  {figure.measured_text():>14}  {'<= ' + figure.target_text():>9}  "
            f"{figure.verdict():6}  {figure.cpu_text()}"
        )
    busiest = max(load_before, load_after)
    if busiest > cpus / 2:
        print(
            f"\nnote: load average {load_before:.2f} before, {load_after:.2f} after on {cpus} CPUs: other "
            "processes competed for the CPUs, so wall times are inflated; cpu times are the steadier figure."
        )
    if args.profile:
        profile_whole_repo(root, env)
    return 0


class Figure:
    """One figure of the issue's table: a measured value against its upper bound."""

    def __init__(
        self, name: str, measured: float | None, target: float, unit: str, cpu: float | None = None
    ) -> None:
        self.name, self.measured, self.target, self.unit, self.cpu = name, measured, target, unit, cpu

    def cpu_text(self) -> str:
        return f"{self.cpu:.2f}x" if self.cpu is not None else ""

    def measured_text(self) -> str:
        if self.measured is None:
            return "n/a (no cache)"
        return f"{self.measured:.2f}{self.unit}" if self.unit == "x" else f"{self.measured:.1f}{self.unit}"

    def target_text(self) -> str:
        return f"{self.target:g}{self.unit}"

    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        return verdict(self.measured <= self.target)


def ratio(name: str, top: Series | None, bottom: Series | None, target: float) -> Figure:
    """``top`` over ``bottom``, of the median walls (and of the median CPU times); n/a without them."""
    if top is None or bottom is None:
        return Figure(name, None, target, "x")
    return Figure(name, top.median / bottom.median, target, "x", top.cpu / bottom.cpu)


def schema_batches(k0s_files: Sequence[str]) -> dict[str, list[str]]:
    """The generated k0s files by the schema that validates them (check-jsonschema takes one at a time)."""
    batches: dict[str, list[str]] = {}
    for path in k0s_files:
        name = path.rsplit("/", 1)[-1]
        schema = {"k0sctl.yaml": K0SCTL_SCHEMA, "autopilot-plan.yaml": PLAN_SCHEMA}.get(name, CONFIG_SCHEMA)
        batches.setdefault(schema, []).append(path)
    return batches


def profile_whole_repo(root: Path, env: dict[str, str], top: int = 30) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        stats_file = Path(scratch) / "check.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "checker"]
        run_once([*command, "check", ".", "--format", "json", "--fail-on", "never"], root, env)
        print(f"\nprofile of the whole-repository check (cProfile, top {top} by cumulative time):")
        stats = pstats.Stats(str(stats_file), stream=sys.stdout)
        stats.strip_dirs().sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    sys.exit(main())
