"""`make bench`: each stage against its own floor, measured in the same run, and what it all costs.

`python -m adapterctl.bench [stage ...]` with stages cold-start, receive, delivery, package (all by
default; the cost estimate needs receive and delivery). The functions log JSON to stdout as on
Lambda; that goes to /dev/null here, and the report to the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from adapterctl.bench import cold_start, cost, delivery, package, receive
from adapterctl.bench.report import machine, table

STAGES = {"cold-start": cold_start.measure, "receive": receive.measure, "delivery": delivery.measure, "package": package.measure}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapterctl.bench", description=__doc__.splitlines()[0])
    parser.add_argument("stages", nargs="*", metavar="stage", help=f"any of {', '.join(STAGES)} (default: all)")
    chosen = parser.parse_args(argv).stages or list(STAGES)
    unknown = [stage for stage in chosen if stage not in STAGES]
    if unknown:
        parser.error(f"unknown stage {unknown[0]!r}: choose from {', '.join(STAGES)}")

    report = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # the functions' own log lines and metrics
    started = time.monotonic()
    rows, figures = [], {}
    for stage in chosen:
        print(f"bench: {stage} ...", file=sys.stderr, flush=True)
        result = STAGES[stage]()
        figures[stage] = result
        rows += result if isinstance(result, list) else result.rows
    print(f"Machine: {machine()}; {time.strftime('%Y-%m-%d')}; {time.monotonic() - started:.0f} s\n", file=report)
    print(table(rows), file=report)
    if "receive" in figures and "delivery" in figures:
        print("\nCost estimate (assumptions in tools/adapterctl/bench/cost.py):\n", file=report)
        print(cost.table(figures["receive"], figures["delivery"]), file=report)
    report.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
