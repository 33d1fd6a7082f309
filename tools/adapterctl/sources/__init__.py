"""The command-line module of every source, found by the source's name.

A source registered in `goshops_adapter.platforms.SOURCES` has its module here,
`adapterctl/sources/<name>.py`, exposing `CLI` (a `base.SourceCli`): nothing else lists sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import import_module

from adapterctl.sources.base import SourceCli
from goshops_adapter.platforms import SOURCES


@cache
def source_clis() -> Mapping[str, SourceCli]:
    return {name: import_module(f"adapterctl.sources.{name}").CLI for name in SOURCES}


def source_cli(name: str) -> SourceCli:
    return source_clis()[name]
