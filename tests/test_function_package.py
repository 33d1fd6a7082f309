"""src/Makefile, which `sam build` runs for each function: the package, with bytecode that Lambda
loads as it is (it cannot write bytecode into the read-only package, so without it every cold start
compiles the adapter and Powertools from source).

The builds here run offline, with this Python and an empty requirements file: Powertools comes from
this virtualenv, as boto3 comes from Lambda's runtime. `make bench` builds with the real requirements.
"""

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adapterctl.bench import package
from adapterctl.template import load_template

SRC = Path(package.__file__).resolve().parents[3] / "src"
ARCHITECTURE_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def make(*arguments: str) -> subprocess.CompletedProcess:
    """src/Makefile, run as `sam build` runs it."""
    return subprocess.run(["make", "--no-print-directory", "-s", "-C", str(SRC), *arguments], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603, S607 - make, on our own Makefile


def fresh_import(package_dir: Path, *modules: str) -> subprocess.CompletedProcess:
    """Import `modules` in a fresh interpreter from `package_dir`, as Lambda runs a function."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(PYTHONPATH=str(package_dir), PYTHONDONTWRITEBYTECODE="1", AWS_DEFAULT_REGION="us-east-1")
    code = "\n".join(f"import {module}" for module in modules)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=package_dir, env=env, timeout=60, check=False)


def test_every_function_is_built_by_its_target_for_the_template_runtime_and_architecture():
    resources = load_template()["Resources"]
    functions = package.functions()
    assert {function.name for function in functions} == {"ReceiveFunction", "DeliverFunction"}
    shown = make("--eval", "show-build-settings: ; @echo $(RUNTIME) $(PLATFORM)", "show-build-settings")
    runtime, platform = shown.stdout.split()
    for function in functions:
        assert resources[function.name]["Metadata"]["BuildMethod"] == "makefile"
        assert function.code_dir == SRC and (SRC / "Makefile").is_file()
        assert make("-n", f"build-{function.name}", "ARTIFACTS_DIR=/nonexistent").returncode == 0
        assert runtime == function.runtime.removeprefix("python")
        assert platform == ARCHITECTURE_PLATFORMS[function.architecture]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The receive function built offline from a copy of src/ whose tree holds stale bytecode."""
    source = tmp_path_factory.mktemp("src")
    shutil.copytree(SRC / "goshops_adapter", source / "goshops_adapter", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SRC / "Makefile", source / "Makefile")
    (source / "goshops_adapter" / "__pycache__").mkdir()
    (source / "goshops_adapter" / "__pycache__" / "stale.cpython-39.pyc").write_bytes(b"not bytecode")
    no_requirements = source / "no-requirements.txt"
    no_requirements.write_text("# offline: Powertools from the test's virtualenv\n")
    function = dataclasses.replace(package.function_named("ReceiveFunction"), code_dir=source)
    return package.build(function, tmp_path_factory.mktemp("artifacts") / "ReceiveFunction", requirements=no_requirements)


def test_the_package_ships_bytecode_for_every_module_that_never_looks_at_the_source(built):
    sources = sorted((built / "goshops_adapter").rglob("*.py"))
    assert {path.relative_to(built).as_posix() for path in sources} == {path.relative_to(SRC).as_posix() for path in (SRC / "goshops_adapter").rglob("*.py")}
    for source in sources:
        bytecode = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
        header = bytecode.read_bytes()[:8]
        # PEP 552: flags 0b01 = validated by the source's hash, and 0b10 unset = never checked.
        assert int.from_bytes(header[4:8], "little") == 0b01, bytecode
    assert not list(built.rglob("stale.*")), "the source tree's own __pycache__ is not shipped"
    assert not (built / "Makefile").exists() and not (built / "no-requirements.txt").exists()


def test_the_handlers_import_from_that_bytecode_even_with_their_sources_broken(built, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    for source in (broken / "goshops_adapter").rglob("*.py"):
        source.write_text('raise ImportError("compiled from source")\n')
    handlers = ("goshops_adapter.handlers.receive", "goshops_adapter.handlers.deliver")

    assert fresh_import(broken, *handlers).returncode == 0

    # The same package without its bytecode reads the broken sources: the check above can fail.
    for cache in list((broken / "goshops_adapter").rglob("__pycache__")):
        shutil.rmtree(cache)
    failed = fresh_import(broken, *handlers)
    assert failed.returncode != 0 and "compiled from source" in failed.stderr


def test_a_build_with_a_python_of_another_version_stops_before_building_anything(tmp_path):
    artifacts = tmp_path / "artifacts"
    done = make("build-ReceiveFunction", f"ARTIFACTS_DIR={artifacts}", f"RUNTIME_PYTHON={sys.executable}", "RUNTIME=3.99")

    assert done.returncode != 0
    assert f"is Python {THIS_PYTHON}, the functions run Python 3.99" in done.stderr
    assert "RUNTIME_PYTHON=" in done.stderr and "--use-container" in done.stderr
    assert not artifacts.exists()
