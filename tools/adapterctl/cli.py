"""`adapterctl`: run the adapter locally, and operate a deployed one.

Each command lives in its own module with a `register(subparsers)` function; this file only lists them.
"""

from __future__ import annotations

import argparse
import sys

from adapterctl import connect, demo, dlq, local, status, tenant_cmd
from adapterctl.replay import ReadStalled
from adapterctl.targets import TargetError

COMMAND_MODULES = (local, demo, dlq, tenant_cmd, connect, status)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adapterctl", description="Go Shops webhook adapter: local stack and operator commands.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except TargetError as exc:
        print(f"adapterctl: {exc}", file=sys.stderr)
        return exc.exit_code
    except ReadStalled as exc:
        print(f"adapterctl: {exc}; nothing was changed by the listing, run it again", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
