"""``python -m tests.fuzz``: run a campaign and print its figures; exit 1 on any crash or hang."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

from .campaign import Figures, Settings, run_campaign
from .generate import Corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--count", type=int, default=20_000, help="inputs to run (default 20000)")
    parser.add_argument("--start", type=int, default=0, help="index of the first input")
    parser.add_argument("--only", type=int, action="append", metavar="INDEX", help="run just these inputs")
    parser.add_argument("--seed", type=int, default=1, help="the campaign seed (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="CPU seconds per input before it is a hang (default 10)"
    )
    parser.add_argument("--per-mib", type=float, default=2.0, help="extra seconds per MiB of input")
    parser.add_argument("--memory-mib", type=int, default=4096, help="address-space limit of a worker")
    parser.add_argument(
        "--crash-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "k0s-policy-fuzz-crashes",
        help="where crashing inputs are saved (default: k0s-policy-fuzz-crashes in the temp folder)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        seed=args.seed,
        workers=args.workers,
        timeout=args.timeout,
        per_mib=args.per_mib,
        memory_mib=args.memory_mib,
        crash_dir=args.crash_dir,
    )
    indexes = args.only or range(args.start, args.start + args.count)
    corpus = Corpus()
    total = len(indexes)

    def progress(figures: Figures) -> None:
        if figures.inputs % 1000 == 0:
            sys.stderr.write(
                f"fuzz: {figures.inputs}/{total} inputs, {figures.crash_count} crashes, {len(figures.hangs)} hangs\n"
            )

    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job starts with it ignored
    signal.signal(signal.SIGTERM, _stop)
    figures = run_campaign(indexes, settings, corpus, progress)
    print("\n".join(figures.lines(settings, corpus)))
    return 1 if figures.crashes or figures.hangs else 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the campaign stops and prints the figures of what ran


if __name__ == "__main__":
    sys.exit(main())
