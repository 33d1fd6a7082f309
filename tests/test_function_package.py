"""src/Makefile, which `sam build` runs for each function: the package, with bytecode that Lambda
loads as it is (it cannot write bytecode into the read-only package, so without it every cold start
compiles the adapter and Powertools from source).

The builds here run offline, with this Python: the requirements are one small wheel of our own,
tagged for Lambda's platform only and served from a folder, so pip's part of the build is exercised
too; Powertools comes from this virtualenv, as boto3 comes from Lambda's runtime. `make bench`
builds with the real requirements.
"""

import base64
import dataclasses
import hashlib
import marshal
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from adapterctl.bench import package
from adapterctl.template import load_template

SRC = Path(package.__file__).resolve().parents[3] / "src"
ARCHITECTURE_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
HANDLERS = ("goshops_adapter.handlers.receive", "goshops_adapter.handlers.deliver")


def make(*arguments: str) -> subprocess.CompletedProcess:
    """src/Makefile, run as `sam build` runs it."""
    return subprocess.run(["make", "--no-print-directory", "-s", "-C", str(SRC), *arguments], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603, S607 - make, on our own Makefile


def fresh_python(package_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    """A fresh interpreter in `package_dir`, as Lambda runs a function from its package."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(PYTHONPATH=str(package_dir), PYTHONDONTWRITEBYTECODE="1", AWS_DEFAULT_REGION="us-east-1")
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, cwd=package_dir, env=env, timeout=60, check=False)


def wheel_for_lambda_only(folder: Path) -> None:
    """`lambdaonly` 1.0, a wheel pip installs only when told Lambda's platform (manylinux aarch64)."""
    files = {
        "lambdaonly/__init__.py": b"SHIPPED = True\n",
        "lambdaonly-1.0.data/scripts/lambdaonly": b"#!python\nimport lambdaonly\n",  # pip puts it in bin/
        "lambdaonly-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: lambdaonly\nVersion: 1.0\n",
        "lambdaonly-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-manylinux2014_aarch64\n",
    }
    record = "".join(f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n" for name, data in files.items())
    files["lambdaonly-1.0.dist-info/RECORD"] = (record + "lambdaonly-1.0.dist-info/RECORD,,\n").encode()
    with zipfile.ZipFile(folder / "lambdaonly-1.0-py3-none-manylinux2014_aarch64.whl", "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)


def build_from_copy(workdir: Path) -> Path:
    """The receive function built offline from a copy of src/ in `workdir`, whose tree holds stale
    bytecode, in a shell that sets what would send bytecode elsewhere."""
    source = workdir / "src"
    shutil.copytree(SRC / "goshops_adapter", source / "goshops_adapter", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SRC / "Makefile", source / "Makefile")
    (source / "goshops_adapter" / "__pycache__").mkdir()
    (source / "goshops_adapter" / "__pycache__" / "stale.cpython-39.pyc").write_bytes(b"not bytecode")
    wheels = workdir / "wheels"
    wheels.mkdir()
    wheel_for_lambda_only(wheels)
    requirements = source / "lambda-requirements.txt"
    requirements.write_text("lambdaonly==1.0\n")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PYTHONPYCACHEPREFIX": str(workdir / "elsewhere"), "PYTHONOPTIMIZE": "1"}
    function = dataclasses.replace(package.function_named("ReceiveFunction"), code_dir=source)
    return package.build(function, workdir / "artifacts", requirements=requirements, env=env)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_from_copy(tmp_path_factory.mktemp("build"))


def bytecode_of(source: Path) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"


def test_every_function_is_built_by_its_target_for_the_template_runtime_and_architecture():
    resources = load_template()["Resources"]
    functions = package.functions()
    assert {function.name for function in functions} == {"ReceiveFunction", "DeliverFunction"}
    for function in functions:
        assert resources[function.name]["Metadata"]["BuildMethod"] == "makefile"
        assert function.code_dir == SRC
        recipe = make("-n", f"build-{function.name}", "ARTIFACTS_DIR=/artifacts", "RUNTIME_PYTHON=python-of-the-runtime").stdout
        runtime = function.runtime.removeprefix("python")
        assert f"--platform {ARCHITECTURE_PLATFORMS[function.architecture]} --implementation cp --python-version {runtime}" in recipe
        assert f'"{runtime}"' in recipe  # the version the Python found must have


def test_the_package_holds_the_requirements_and_the_adapter_with_checked_bytecode_for_every_module(built):
    assert (built / "lambdaonly" / "__init__.py").is_file()
    sources = sorted(built.rglob("*.py"))
    adapter = {path.relative_to(built).as_posix() for path in sources if path.parts[len(built.parts)] == "goshops_adapter"}
    assert adapter == {path.relative_to(SRC).as_posix() for path in (SRC / "goshops_adapter").rglob("*.py")}
    for source in sources:
        header = bytecode_of(source).read_bytes()[:8]
        # PEP 552: flags 0b11 = validated against the source's hash, at every import.
        assert int.from_bytes(header[4:8], "little") == 0b11, source
    assert not list(built.rglob("*.opt-*.pyc")) and not list(built.rglob("stale.*"))
    assert not (built / "bin").exists() and not (built / "Makefile").exists() and not (built / "lambda-requirements.txt").exists()


def test_the_bytecode_names_lambdas_task_root_not_the_build_directory(built, tmp_path):
    code = marshal.loads(bytecode_of(built / "goshops_adapter" / "handlers" / "receive.py").read_bytes()[16:])  # noqa: S302 - bytecode this test built
    assert code.co_filename == "/var/task/goshops_adapter/handlers/receive.py"
    elsewhere = build_from_copy(tmp_path)
    files = sorted(path.relative_to(elsewhere) for path in elsewhere.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(built) for path in built.rglob("*") if path.is_file())
    assert [name for name in files if (elsewhere / name).read_bytes() != (built / name).read_bytes()] == []


def test_the_handlers_import_from_that_bytecode(built):
    loaded = fresh_python(built, "-v", "-c", "\n".join(f"import {module}" for module in HANDLERS))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    # `python -v` says "code object from '<.pyc>'" for bytecode it loads, and names the .py unquoted
    # for a module it compiles.
    said = [line.removeprefix("# code object from ") for line in loaded.stderr.splitlines() if line.startswith("# code object from ")]
    adapter = built / "goshops_adapter"
    expected = {repr(str(bytecode_of(adapter / name))) for name in ("handlers/receive.py", "handlers/deliver.py", "receiving.py", "delivery.py", "platforms/shopify/mapping.py")}
    assert expected <= set(said)
    assert [line for line in said if "/goshops_adapter/" in line and not line.endswith(".pyc'")] == []


def test_a_source_edited_after_the_build_is_what_runs(built, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(built, edited)
    receive = edited / "goshops_adapter" / "handlers" / "receive.py"
    receive.write_text(receive.read_text() + "\nEDITED_AFTER_THE_BUILD = True\n")

    ran = fresh_python(edited, "-c", "from goshops_adapter.handlers import receive; print(receive.EDITED_AFTER_THE_BUILD)")
    assert ran.returncode == 0 and ran.stdout.strip() == "True", ran.stderr[-2000:]


@pytest.mark.parametrize(("runtime_python_runs", "chosen"), [(True, "python3.13"), (False, "python3")])
def test_the_build_takes_the_runtimes_python_from_the_path_only_if_it_runs(tmp_path, runtime_python_runs, chosen):
    # pyenv puts a shim for every version it knows on the path, which fails unless that version is active.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    if runtime_python_runs:
        (bin_dir / "python3.13").symlink_to(sys.executable)
    else:
        (bin_dir / "python3.13").write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
        (bin_dir / "python3.13").chmod(0o755)
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}
    env.pop("RUNTIME_PYTHON", None)
    make_path = shutil.which("make")  # found on this process's path: the test's own holds only the two Pythons and the system's
    recipe = subprocess.run([make_path, "-n", "-s", "-C", str(SRC), "build-ReceiveFunction", "ARTIFACTS_DIR=/artifacts"], capture_output=True, text=True, env=env, timeout=60, check=False)  # noqa: S603 - make, on our own Makefile
    assert recipe.stdout.splitlines()[0].startswith(f"{chosen} -I -c "), recipe.stdout + recipe.stderr


def test_a_build_with_a_python_of_another_version_stops_before_building_anything(tmp_path):
    artifacts = tmp_path / "artifacts"
    done = make("build-ReceiveFunction", f"ARTIFACTS_DIR={artifacts}", f"RUNTIME_PYTHON={sys.executable}", "RUNTIME=3.99")

    assert done.returncode != 0
    assert f"is Python {THIS_PYTHON}, the functions run Python 3.99" in done.stderr
    assert "RUNTIME_PYTHON=" in done.stderr and "--use-container" in done.stderr
    assert not artifacts.exists()
