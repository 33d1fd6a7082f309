"""One row per figure, printed as a table: figure, ratio to its floor, target, and whether it is met."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    stage: str
    case: str
    figure: str
    ratio: float | None = None
    target: float | None = None  # the ratio must be at most this (exactly this, when `exact`)
    exact: bool = False
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.target is None:
            return ""
        met = abs(self.ratio - self.target) < 1e-9 if self.exact else self.ratio <= self.target
        return "met" if met else "MISSED"


def table(rows: list[Row]) -> str:
    header = ("stage", "case", "figure", "ratio", "target", "", "note")
    cells = [header] + [
        (
            row.stage,
            row.case,
            row.figure,
            "" if row.ratio is None else f"{row.ratio:.2f}x",
            "" if row.target is None else (f"= {row.target:g}x" if row.exact else f"<= {row.target:g}x"),
            row.verdict,
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header) - 1)]
    lines = []
    for index, line in enumerate(cells):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)) + ("  " + line[-1] if line[-1] else ""))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def machine() -> str:
    """`uname -m`, CPU model, cores and Python: where the figures came from."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.machine()}, {model or platform.processor() or 'unknown CPU'}, {cores} cores, Python {sys.version.split()[0]}"
