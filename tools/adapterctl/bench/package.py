"""Package: what `sam build` ships per function, zipped, as template.yaml describes it.

`sam build` runs src/Makefile's target for each function (`BuildMethod: makefile`): the function's
requirements for the runtime and architecture, the adapter, and bytecode for all of it. Built here
with the same target and this interpreter, whose bytecode stands in for the runtime's; the cold
start stage imports from these packages too.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from adapterctl.bench.report import Row
from adapterctl.template import TEMPLATE_PATH, load_template

# Lambda's limit for a .zip package uploaded directly.
ZIPPED_LIMIT_MB = 50


@dataclass(frozen=True)
class Function:
    name: str
    code_dir: Path
    runtime: str
    architecture: str


def functions() -> list[Function]:
    template = load_template()
    defaults = template.get("Globals", {}).get("Function", {})
    found = []
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = {**defaults, **resource.get("Properties", {})}
        found.append(Function(name, TEMPLATE_PATH.parent / properties["CodeUri"], properties["Runtime"], properties.get("Architectures", ["x86_64"])[0]))
    return found


def function_named(name: str) -> Function:
    return next(function for function in functions() if function.name == name)


class BuildError(RuntimeError):
    """src/Makefile's target failed; the message is make's last line."""


def build(function: Function, target: Path, *, requirements: Path | None = None, env: dict[str, str] | None = None) -> Path:
    """Run the function's build target as `sam build` does, into `target`, with this interpreter
    (`requirements`: another requirements file; `env`: make's environment, this process's if None)."""
    this_python = f"{sys.version_info.major}.{sys.version_info.minor}"
    arguments = [f"ARTIFACTS_DIR={target}", f"RUNTIME_PYTHON={sys.executable}", f"RUNTIME={this_python}"]
    if requirements is not None:
        arguments.append(f"REQUIREMENTS={requirements}")
    # Offline, pip gives up after one retry of 10 s rather than its default five of 15 s.
    env = {"PIP_TIMEOUT": "10", "PIP_RETRIES": "1", **(os.environ if env is None else env)}
    done = subprocess.run(["make", "--no-print-directory", "-C", str(function.code_dir), f"build-{function.name}", *arguments], capture_output=True, text=True, env=env, check=False)  # noqa: S603, S607 - make, with a target of our own
    if done.returncode != 0:
        # The cause, not make's own "*** [build-...] Error 1" after it.
        said = [line for line in done.stderr.strip().splitlines() if line.strip() and not line.startswith("make: ***")]
        raise BuildError(said[-1] if said else "make failed")
    return target


@cache
def _builds() -> Path:
    builds = tempfile.TemporaryDirectory(prefix="bench-package-")
    atexit.register(builds.cleanup)
    return Path(builds.name)


_built: dict[tuple[Path, str, str], Path | BuildError] = {}


def built(function: Function) -> Path:
    """The function's package, built once per run (the cold start stage imports from it). Functions
    with the same CodeUri, runtime and architecture share the Makefile's one recipe, so they share
    one build; a failed build is not tried again."""
    key = (function.code_dir, function.runtime, function.architecture)
    if key not in _built:
        try:
            _built[key] = build(function, _builds() / function.name)
        except BuildError as error:
            _built[key] = error
    result = _built[key]
    if isinstance(result, BuildError):
        raise result
    return result


def package_files(package: Path) -> list[tuple[Path, str]]:
    return [(path, path.relative_to(package).as_posix()) for path in sorted(package.rglob("*")) if path.is_file()]


def measure() -> list[Row]:
    rows = []
    for function in functions():
        label = f"{function.name} ({function.architecture}, bytecode of this Python), zipped"
        try:
            files = package_files(built(function))
        except BuildError as error:
            rows.append(Row("package", label, "not measured", note=f"the build failed: {error}"))
            continue
        with tempfile.TemporaryDirectory(prefix="bench-zip-") as workdir:
            archive = Path(workdir) / "package.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
                for path, name in files:
                    bundle.write(path, name)
            zipped = archive.stat().st_size
        by_top: dict[str, int] = {}
        for path, name in files:
            by_top[name.split("/", 1)[0]] = by_top.get(name.split("/", 1)[0], 0) + path.stat().st_size
        unzipped = sum(by_top.values())
        bytecode = sum(path.stat().st_size for path, _ in files if path.suffix == ".pyc")
        largest = sorted(by_top.items(), key=lambda item: -item[1])[:3]
        rows.append(
            Row(
                "package",
                label,
                f"{zipped / 2**20:.2f} MB",
                ratio=zipped / 2**20 / ZIPPED_LIMIT_MB,
                note=f"{unzipped / 2**20:.1f} MB unzipped, {bytecode / 2**20:.1f} MB of it bytecode; "
                + ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in largest)
                + f"; ratio to Lambda's {ZIPPED_LIMIT_MB} MB zip limit",
            )
        )
    return rows
