"""constraints.txt: the suite runs on the versions it pins, and it pins everything asked for."""

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    """Names a requirements file asks for, following its `-r` includes."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= requirement_names(path.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            names.add(normalised(re.match(r"[A-Za-z0-9._-]+", line).group()))
    return names


def pins() -> dict[str, str]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, separator, version = line.partition("==")
            assert separator, f"constraints.txt: {line!r} is not an exact pin"
            pinned[normalised(name)] = version.strip()
    return pinned


def test_every_requirement_is_pinned():
    unpinned = requirement_names(ROOT / "requirements-dev.txt") - pins().keys()
    assert not unpinned, f"not in constraints.txt (run `make lock`): {sorted(unpinned)}"


def test_the_suite_runs_on_the_pinned_versions():
    installed = {normalised(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    differing = {name: (version, installed[name]) for name, version in pins().items() if name in installed and installed[name] != version}
    assert not differing, f"pinned vs installed (`make venv` reinstalls after a change): {differing}"
