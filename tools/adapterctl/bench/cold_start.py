"""Cold start: import time of each handler module in fresh interpreters, against `import boto3`.

Every figure is the median of fresh interpreters started in turn, so the floor and the handlers
share the machine's noise; each ratio is the median of the rounds' own ratios, which a burst of
load from a neighbour on the shared machine moves less than a ratio of two medians. Two settings:

- bytecode cached for everything: the import work itself, compared with boto3's;
- as deployed: from the function's package as src/Makefile builds it (the package stage's build),
  with the bytecode it ships, from its own directory as Lambda runs it, while boto3 comes with the
  runtime. Beside it, the same package without its bytecode, as SAM's Python builder would ship it:
  Lambda cannot write bytecode into the read-only package, so every cold start would compile the
  adapter and Powertools from source. Same floor for all.

Beside the times, the same imports in instructions, counted by callgrind when valgrind is installed:
the same count every run, so the work an import does can be compared across runs and changes even
where the shared machine's noise hides it in the times.

Also: what each Powertools utility adds on top of boto3 and Powertools' own package (Logger,
Metrics, Tracer), and each function's init as Lambda runs it: the import, then its side built with
its three AWS clients (the handlers do that when they find themselves in Lambda).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from adapterctl.bench import package
from adapterctl.bench.report import Row
from adapterctl.bench.timing import has_callgrind, instructions

SRC = Path(__file__).resolve().parents[3] / "src"
HANDLERS = {"receive": "goshops_adapter.handlers.receive", "deliver": "goshops_adapter.handlers.deliver"}
FUNCTIONS = {"receive": "ReceiveFunction", "deliver": "DeliverFunction"}  # template.yaml's names
# What each module adds over `import boto3, aws_lambda_powertools` (that package itself over boto3).
UTILITIES = {
    "Powertools package (Logger, Metrics, Tracer)": "aws_lambda_powertools",
    "event_handler (APIGatewayHttpResolver)": "aws_lambda_powertools.event_handler",
    "utilities.batch (AsyncBatchProcessor)": "aws_lambda_powertools.utilities.batch",
    "utilities.data_classes": "aws_lambda_powertools.utilities.data_classes",
    "utilities.idempotency": "aws_lambda_powertools.utilities.idempotency",
    "utilities.parameters": "aws_lambda_powertools.utilities.parameters",
    "asyncio": "asyncio",
}
CLIENTS = ("secretsmanager", "dynamodb", "sqs")
# What Lambda's environment tells the handlers at init (no AWS call is made: clients connect lazily).
LAMBDA_INIT_ENV = {
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "INTERACTIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/interactions",
    "FAILED_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/failed",
    "FIRST_SEEN_TABLE": "first-seen",
}


def _timed(setup: str, statement: str) -> str:
    return f"{setup}\nimport time\nstart = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)"


class Interpreters:
    """Fresh interpreters, each setting with a bytecode cache of its own: for everything
    (PYTHONPYCACHEPREFIX), or the one a function package ships beside its sources."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.complete = workdir / "pyc-all"

    def prepare(self) -> None:
        # One run that writes bytecode for everything the cases import.
        warm = "import boto3, asyncio, " + ", ".join(HANDLERS.values()) + ", aws_lambda_powertools.event_handler, aws_lambda_powertools.utilities.batch"
        self.run(warm, cache=self.complete, write=True)

    def without_bytecode(self, built: Path) -> Path:
        """A copy of a built package without its bytecode: what SAM's Python builder would ship."""
        copy = self.workdir / f"{built.name}-sources"
        shutil.copytree(built, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return copy

    def environment(self, cache: Path | None, *, write: bool = False, package: Path | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        env.update(AWS_DEFAULT_REGION="us-east-1", PYTHONHASHSEED="0")
        if package is None:
            env.update(PYTHONPATH=str(SRC), PYTHONPYCACHEPREFIX=str(cache))
        else:  # the package first, as on Lambda's path; boto3 from this Python's own, with its bytecode
            env.update(PYTHONPATH=str(package))
        if not write:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def run(self, code: str, *, cache: Path | None = None, write: bool = False, package: Path | None = None) -> subprocess.CompletedProcess:
        # The working directory comes first on the path: the package's, as /var/task is Lambda's.
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=self.environment(cache, write=write, package=package), cwd=package or SRC, check=False)  # noqa: S603 - our own code
        if done.returncode != 0:
            raise RuntimeError(f"fresh interpreter failed: {done.stderr.strip()[-500:]}")
        return done

    def instructions(self, code: str) -> int:
        """Instructions a fresh interpreter runs for `code`, with the complete bytecode cache."""
        return instructions(["-c", code], env=self.environment(self.complete), cwd=SRC)

    def loaded(self, module: str, candidates) -> set[str]:
        """Which of `candidates` are in sys.modules once `module` is imported."""
        code = f"import sys\nimport {module}\nprint(' '.join(name for name in {sorted(candidates)!r} if name in sys.modules))"
        return set(self.run(code, cache=self.complete).stdout.split())

    def seconds(self, setup: str, statement: str, *, cache: Path | None = None, package: Path | None = None) -> float:
        return float(self.run(_timed(setup, statement), cache=cache, package=package).stdout.strip().splitlines()[-1])


def measure(repeats: int = 15) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as workdir:
        interpreters = Interpreters(Path(workdir))
        interpreters.prepare()
        complete = {"cache": interpreters.complete}
        cases = {"floor": ("", "import boto3", complete)}
        bare_clients = f"session = boto3.session.Session()\nfor service in {CLIENTS!r}:\n    session.client(service)"
        cases["floor init"] = ("", f"import boto3\n{bare_clients}", complete)
        unbuilt = ""
        for name, module in HANDLERS.items():
            cases[name] = ("", f"import {module}", complete)
            try:
                built = package.built(package.function_named(FUNCTIONS[name]))
            except package.BuildError as error:
                unbuilt = str(error)
            else:
                cases[f"{name} as deployed"] = ("", f"import {module}", {"package": built})
                cases[f"{name} without bytecode"] = ("", f"import {module}", {"package": interpreters.without_bytecode(built)})
            cases[f"{name} init"] = (f"import os\nos.environ.update({LAMBDA_INIT_ENV!r})", f"import {module}", complete)
        for name, module in UTILITIES.items():
            setup = "import boto3" if module == "aws_lambda_powertools" else "import boto3, aws_lambda_powertools"
            cases[name] = (setup, f"import {module}", complete)

        imported_by = {name: interpreters.loaded(module, UTILITIES.values()) for name, module in HANDLERS.items()}
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeats):
            for name, (setup, statement, where) in cases.items():
                samples[name].append(interpreters.seconds(setup, statement, **where))
        counted = instruction_counts(interpreters) if has_callgrind() else None
    ms = {name: statistics.median(values) * 1000 for name, values in samples.items()}

    def ratio(name: str, floor_name: str = "floor") -> float:
        """The median of each round's own ratio: a round imports both, one after the other, so a
        neighbour's burst of load on the shared machine slows both sides of that round's ratio."""
        return statistics.median(case / base for case, base in zip(samples[name], samples[floor_name], strict=True))

    floor = ms["floor"]
    rows = [
        Row("cold start", "import boto3 (floor)", f"{floor:.0f} ms", note=f"median of {repeats} fresh interpreters; each ratio below is the median of the {repeats} rounds' own"),
        Row("cold start", "import boto3, create its 3 clients (init floor)", f"{ms['floor init']:.0f} ms", note=f"one session; {', '.join(CLIENTS)}"),
    ]
    for name in HANDLERS:
        rows.append(Row("cold start", f"import {name} handler", f"{ms[name]:.0f} ms", ratio=ratio(name), target=1.3))
        if unbuilt:
            rows.append(Row("cold start", f"import {name} handler, as deployed", "not measured", note=f"the package build failed: {unbuilt}"))
        else:
            rows.append(
                Row(
                    "cold start",
                    f"import {name} handler, as deployed",
                    f"{ms[f'{name} as deployed']:.0f} ms",
                    ratio=ratio(f"{name} as deployed"),
                    target=1.3,
                    note="from the package src/Makefile builds, with the bytecode it ships (here this Python's; the runtime's when deployed)",
                )
            )
            rows.append(
                Row(
                    "cold start",
                    "  the same package as SAM's Python builder ships it",
                    f"{ms[f'{name} without bytecode']:.0f} ms",
                    ratio=ratio(f"{name} without bytecode"),
                    note=f"informational: no bytecode, so the adapter and Powertools are compiled from source at every cold start: "
                    f"{ms[f'{name} without bytecode'] - ms[f'{name} as deployed']:.0f} ms more",
                )
            )
        rows.append(
            Row(
                "cold start",
                f"{name} function's init, as in Lambda",
                f"{ms[f'{name} init']:.0f} ms",
                ratio=ratio(f"{name} init", "floor init"),
                note=f"against the init floor: the import, then its side built with its 3 AWS clients ({ms[f'{name} init'] - ms[name]:.0f} ms no longer in its first invocation)",
            )
        )
    rows += instruction_rows(counted) if counted else [Row("cold start", "imports in instructions", "not measured", note="valgrind is not installed")]
    for name, module in UTILITIES.items():
        users = [handler for handler, loaded in imported_by.items() if module in loaded]
        rows.append(Row("cold start", f"  + {name}", f"{ms[name]:.1f} ms", note=f"imported by the {' and '.join(users)} handler{'s' if len(users) > 1 else ''}" if users else "imported by neither handler"))
    return rows


def instruction_counts(interpreters: Interpreters) -> dict[str, int]:
    """Instructions each import runs beyond an interpreter that imports nothing (callgrind)."""
    bare = interpreters.instructions("pass")
    statements = {"floor": "import boto3", **{name: f"import {module}" for name, module in HANDLERS.items()}}
    return {name: interpreters.instructions(statement) - bare for name, statement in statements.items()}


def instruction_rows(counted: dict[str, int]) -> list[Row]:
    """The import ratios again, in instructions: time on a shared machine moves from run to run,
    these counts do not, so a change to what the handlers import shows here even inside the noise."""
    floor = counted["floor"]
    rows = [Row("cold start", "import boto3 (floor), instructions", f"{floor / 1e6:.0f} M", note="callgrind, beyond a bare interpreter; the same count every run")]
    for name in HANDLERS:
        rows.append(
            Row(
                "cold start",
                f"import {name} handler, instructions",
                f"{counted[name] / 1e6:.0f} M",
                ratio=counted[name] / floor,
                note="informational: the work the time above measures, without the machine's noise (cache misses and file reads weigh differently)",
            )
        )
    return rows
