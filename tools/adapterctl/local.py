"""`adapterctl local`: keep the local stack serving until interrupted (what `make local` runs)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from adapterctl.local_stack import LocalStack, load_tenants_file
from adapterctl.samples import SAMPLE_TENANTS_FILE
from adapterctl.sources import source_clis
from adapterctl.targets import STATE_FILE_VARIABLE, Target, clear_local_state, running_local_endpoint, write_local_state


def register(subparsers) -> None:
    parser = subparsers.add_parser("local", help="serve the adapter on this machine (moto server, Go Shops sandbox)")
    parser.add_argument("--port", type=port_number, help="default: $PORT, else 3000")
    parser.add_argument("--tenants-file", default=os.environ.get("TENANTS_FILE") or str(SAMPLE_TENANTS_FILE))
    parser.add_argument("--goshops-base-url", default=os.environ.get("GOSHOPS_BASE_URL") or None, help="default: a local Go Shops sandbox")
    parser.set_defaults(run=run)


def port_number(value: str) -> int:
    number = int(value) if value.strip().isascii() and value.strip().isdigit() else -1
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 1 to 65535, got {value!r}")
    return number


def quiet_emulator_logs() -> None:
    # The emulator logs every AWS request; the adapter's own JSON log lines are what a user reads.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def target_of(stack: LocalStack) -> Target:
    resources = stack.resources
    return Target(
        name="local",
        interactions_queue_url=resources.interactions_queue_url,
        failed_queue_url=resources.failed_queue_url,
        table_name=resources.table_name,
        tenant_secret_prefix=resources.tenant_secret_prefix,
        webhook_base_url=f"{stack.url}/webhooks/",
        endpoint_url=resources.endpoint,
        region="us-east-1",
    )


def run(args) -> int:
    if args.port is None:  # read here, not when the commands are listed: a bad PORT breaks only this one
        try:
            args.port = port_number(os.environ.get("PORT") or "3000")
        except argparse.ArgumentTypeError as exc:
            print(f"adapterctl local: PORT: {exc}", file=sys.stderr)
            return 2
    try:
        tenants = load_tenants_file(args.tenants_file)
    except ValueError as exc:
        print(f"adapterctl local: {exc}", file=sys.stderr)
        return 2
    running = running_local_endpoint()
    if running:
        print(
            f"adapterctl local: a local stack is already running (its emulator at {running}); stop it first, "
            f"or give this one a state file of its own with {STATE_FILE_VARIABLE}=PATH",
            file=sys.stderr,
        )
        return 2
    quiet_emulator_logs()
    try:
        stack = LocalStack(tenants, port=args.port, goshops_base_url=args.goshops_base_url).start()
    except OSError as exc:
        print(f"adapterctl local: cannot listen on port {args.port}: {exc.strerror} (set PORT=...)", file=sys.stderr)
        return 2
    target = target_of(stack)
    write_local_state(target)
    print(f"Go Shops adapter serving at {stack.url}/webhooks/{{platform}}/{{tenant}}", flush=True)
    for tenant, config in tenants.items():
        for platform in source_clis():
            if platform in config:
                print(f"  {platform:8} {stack.url}/webhooks/{platform}/{tenant}", flush=True)
    print(f"Interactions go to {stack.goshops_base_url}" + (" (local sandbox; GET /_sandbox/received)" if stack.sandbox else ""), flush=True)
    for stand_ins in stack.stand_ins.values():
        if stand_ins.description:
            print(stand_ins.description, flush=True)
    print("Failed interactions: `adapterctl dlq list`; replay: `adapterctl dlq replay`. Ctrl-C stops.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        clear_local_state(target)
        stack.stop()
    return 0
