"""Package: what `sam build` would ship per function, zipped, as template.yaml describes it.

`sam build` installs the function's requirements.txt for the function's runtime and architecture
beside the contents of its CodeUri, and zips that. Emulated here with pip (wheels only, for the
runtime's Python and manylinux aarch64) into a temporary directory; no bytecode, as the deployed
package has none.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from adapterctl.bench.report import Row
from adapterctl.template import TEMPLATE_PATH, load_template

# Lambda's limits for a .zip package (direct upload; unzipped, layers included).
ZIPPED_LIMIT_MB = 50
UNZIPPED_LIMIT_MB = 250
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


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


def install_requirements(function: Function, target: Path) -> str | None:
    """pip-install the function's requirements as `sam build` would; the error, if pip could not."""
    requirements = function.code_dir / "requirements.txt"
    if not requirements.exists():
        return None
    python_version = function.runtime.removeprefix("python")
    done = subprocess.run(  # noqa: S603 - pip, with arguments of our own
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--timeout", "10", "--retries", "1", "--no-compile", "--only-binary=:all:",
         "--platform", PLATFORMS[function.architecture], "--implementation", "cp", "--python-version", python_version,
         "--target", str(target), "-r", str(requirements)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["pip failed"])[-1]


def package_files(function: Function, dependencies: Path) -> list[tuple[Path, str]]:
    files = []
    for root in (function.code_dir, dependencies):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((path, path.relative_to(root).as_posix()))
    return files


def measure() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-package-") as workdir:
        built: dict[tuple, tuple[int, int, str | None, dict[str, int]]] = {}
        for function in functions():
            key = (function.code_dir, function.runtime, function.architecture)
            if key not in built:  # the same CodeUri, runtime and architecture build the same package
                target = Path(workdir) / f"deps-{len(built)}"
                target.mkdir()
                problem = install_requirements(function, target)
                files = package_files(function, target)
                archive = Path(workdir) / f"package-{len(built)}.zip"
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
                    for path, name in files:
                        bundle.write(path, name)
                by_top: dict[str, int] = {}
                for path, name in files:
                    by_top[name.split("/", 1)[0]] = by_top.get(name.split("/", 1)[0], 0) + path.stat().st_size
                built[key] = (archive.stat().st_size, sum(path.stat().st_size for path, _ in files), problem, by_top)
            zipped, unzipped, problem, by_top = built[key]
            largest = sorted(by_top.items(), key=lambda item: -item[1])[:3]
            note = f"{unzipped / 2**20:.1f} MB unzipped; " + ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in largest)
            if problem:
                note = f"pip could not fetch the requirements ({problem}): CodeUri only; " + note
            rows.append(
                Row(
                    "package",
                    f"{function.name} ({function.runtime}, {function.architecture}), zipped",
                    f"{zipped / 2**20:.2f} MB",
                    ratio=zipped / 2**20 / ZIPPED_LIMIT_MB,
                    note=f"{note}; ratio to Lambda's {ZIPPED_LIMIT_MB} MB zip limit",
                )
            )
    return rows
