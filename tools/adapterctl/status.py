"""`adapterctl status --tenant T`: what the tenant is connected to, where, and what failed for it.

The stack's side comes from the tenant secret (which sources, which URLs) and the DLQ; the
platforms' side from asking them, with the tenant's credentials (each source's `status` check in
`adapterctl/sources/<name>.py`). `--no-check` asks none of them.
"""

from __future__ import annotations

import os
from collections import Counter

from adapterctl.connect import webhook_url
from adapterctl.replay import held_note, list_failed, queue_depth, unseen
from adapterctl.sources import source_clis
from adapterctl.targets import add_target_arguments, resolve_target
from adapterctl.tenant_secrets import TenantSecrets, reports_errors

REASONS_SHOWN = 3


def register(subparsers) -> None:
    parser = subparsers.add_parser("status", help="a tenant's platforms, webhook URLs, what the platforms have, and its DLQ count")
    add_target_arguments(parser)
    parser.add_argument("--tenant", required=True, help="the tenant to report on")
    parser.add_argument("--no-check", action="store_true", help="do not ask the platforms what they have configured")
    parser.add_argument("--public-url", metavar="URL", default=os.environ.get("ADAPTER_PUBLIC_URL") or None, help="as given to `connect`")
    for cli in source_clis().values():
        cli.add_status_arguments(parser)
    parser.set_defaults(run=run)


@reports_errors("status")
def run(args) -> int:
    target = resolve_target(args)
    store = TenantSecrets(target)
    raw, config = store.load(args.tenant)
    print(f"Tenant {args.tenant!r} in {store.where()}")
    print(f"  {'goshops':9} project {config.goshops.project}")

    for name, cli in source_clis().items():
        if config.source(name) is None:
            print(f"  {name:9} not configured")
            continue
        url = webhook_url(target, name, args.tenant, args.public_url)
        print(f"  {name:9} webhooks to {url}")
        if not args.no_check:
            print(f"  {'':9} {cli.status(raw, config.source(name), url, args)}")
    sqs = target.client("sqs")
    depth = queue_depth(sqs, target.failed_queue_url)
    every = list_failed(sqs, target.failed_queue_url)
    held = unseen(depth, len(every))
    failed = [item for item in every if item.tenant == args.tenant]
    if held:
        print(f"  {'DLQ':9} {held_note(held)}")
    if not failed:
        print(f"  {'DLQ':9} no {'other ' if held else ''}failed interactions for this tenant")
    else:
        print(f"  {'DLQ':9} {len(failed)} failed interaction(s) for this tenant (`adapterctl dlq list`, `adapterctl dlq replay --tenant {args.tenant}`)")
        for (event, reason), count in Counter((item.event, item.reason) for item in failed).most_common(REASONS_SHOWN):
            print(f"  {'':9} {count:>4}  {event:<9} {reason}")
    return 0

