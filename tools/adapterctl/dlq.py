"""`adapterctl dlq list|replay|discard`: see what failed, put it back for delivery, or drop it."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from adapterctl.replay import Filters, group_counts, held_note, list_failed, queue_depth, replay, unseen
from adapterctl.targets import Target, TargetError, add_target_arguments, aws_exit_code, resolve_target
from goshops_adapter.interactions import EVENTS
from goshops_adapter.tenants import is_valid_tenant_name


def register(subparsers) -> None:
    parser = subparsers.add_parser("dlq", help="the failed-interactions queue: list it, replay it, discard from it")
    commands = parser.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")

    listing = commands.add_parser("list", help="what is in the DLQ, grouped by tenant, event and reason")
    add_target_arguments(listing)
    listing.set_defaults(run=run_list)

    replaying = commands.add_parser("replay", help="move failed interactions back to the interactions queue")
    add_selection_arguments(replaying, "move")
    replaying.set_defaults(run=run_replay)

    discarding = commands.add_parser("discard", help="delete failed interactions from the DLQ for good (what no replay can fix)")
    add_selection_arguments(discarding, "delete")
    discarding.add_argument("--all", action="store_true", help="with no filter: every entry")
    discarding.set_defaults(run=run_discard)


def add_selection_arguments(parser, verb: str) -> None:
    add_target_arguments(parser)
    parser.add_argument("--tenant", type=tenant_name)
    parser.add_argument("--event", choices=EVENTS)
    parser.add_argument("--reason", type=reason_text, help="only interactions whose reason contains this text (case-insensitive)")
    parser.add_argument(
        "--since",
        type=parse_since,
        help="only those that failed since: an ISO date-time, or an age such as 30m, 6h, 2d "
        "(an entry the redrive policy moved, with no reason, counts from when it was first queued)",
    )
    parser.add_argument("--limit", type=positive_int, help=f"{verb} at most this many")
    parser.add_argument("--dry-run", action="store_true", help=f"say what would {verb}, {verb} nothing")


def tenant_name(value: str) -> str:
    if not is_valid_tenant_name(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a tenant name (lower-case letters, digits, '-' and '_')")
    return value


def reason_text(value: str) -> str:
    # A blank filter would match every reason: an unset variable in a script would replay everything.
    if not value.strip():
        raise argparse.ArgumentTypeError("expected part of a failure reason, got nothing; leave --reason out to replay every reason")
    return value


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def parse_since(value: str) -> datetime:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isascii() and value[:-1].isdigit():
        try:
            return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
        except OverflowError:
            raise argparse.ArgumentTypeError(f"{value!r} reaches back before year 1; every entry is younger than that, so leave --since out") from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date-time or an age such as 6h, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_list(args) -> int:
    target = resolve_target(args)
    sqs = target.client("sqs")
    try:
        depth = queue_depth(sqs, target.failed_queue_url)
        items = list_failed(sqs, target.failed_queue_url)
        held = unseen(depth, len(items))
    except (BotoCoreError, ClientError) as exc:
        raise unreachable(target, exc) from None
    print_listing(items, held=held)
    return 0


def print_listing(items, out=None, indent: str = "", held: int = 0) -> None:
    out = out or sys.stdout
    if held:
        print(f"{indent}{held_note(held)}", file=out)
    if not items:
        print(f"{indent}{'Nothing else' if held else 'The failed-interactions queue is empty'}.", file=out)
        return
    print(f"{indent}{len(items)} failed interaction(s):", file=out)
    print(f"{indent}  {'count':>5}  {'tenant':<16} {'event':<9} reason", file=out)
    for (tenant, event, reason), count in group_counts(items):
        print(f"{indent}  {count:>5}  {tenant:<16} {event:<9} {reason}", file=out)


class ProgressBar:
    """Drawn only on a terminal: in a script's captured stderr it would bury the error lines."""

    def __init__(self, out=None, width: int = 30):
        self.out = out or sys.stderr
        self.width = width
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.out.isatty():
            return
        filled = int(self.width * done / total) if total else self.width
        self.out.write(f"\r  [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}")
        self.out.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


def run_replay(args) -> int:
    return _run_selection(args, discard=False)


def run_discard(args) -> int:
    filters = _filters(args)
    if filters == Filters() and not args.all:
        # Deleting is for good: every entry only when asked for in so many words.
        raise TargetError("say what to discard (--tenant, --event, --reason, --since, --limit), or --all for every entry")
    return _run_selection(args, discard=True)


def _filters(args) -> Filters:
    return Filters(tenant=args.tenant, event=args.event, reason=args.reason, since=args.since, limit=args.limit)


def _run_selection(args, *, discard: bool) -> int:
    target = resolve_target(args)
    progress = ProgressBar()
    try:
        summary = replay(
            target.client("sqs"), target.failed_queue_url, target.interactions_queue_url, _filters(args), dry_run=args.dry_run, discard=discard, progress=progress
        )
    except (BotoCoreError, ClientError) as exc:
        raise unreachable(target, exc) from None
    finally:
        progress.close()
    verb = "deleted" if discard else "moved"
    if args.dry_run:
        print(f"Dry run: {summary.selected} would be {verb}, {summary.skipped} left in place (did not match).")
    else:
        print(f"{'Discard' if discard else 'Replay'}: {summary.moved} {verb}, {summary.skipped} skipped (did not match), {summary.failed} failed (left in the DLQ).")
        if summary.came_back:
            print(f"  {summary.came_back} of those moved failed again while the replay ran and are back in the DLQ: `dlq list` says why.")
    if summary.held_elsewhere:
        print(f"  {held_note(summary.held_elsewhere)} Run it again then.")
    for error in summary.errors:
        print(f"  {error}", file=sys.stderr)
    if summary.interrupted:
        print(f"Interrupted: the counts above are what was done; everything not {verb} is still in the DLQ.", file=sys.stderr)
        return 130
    return 1 if summary.failed or summary.errors or summary.held_elsewhere else 0


def unreachable(target: Target, exc: Exception) -> TargetError:
    if target.endpoint_url:  # the local stack: not answering means it is not running
        return TargetError(f"cannot use the queues of stack {target.name!r}: {exc}; is `make local` still running?")
    exit_code = aws_exit_code(exc)
    hint = "check your AWS credentials, --region and the stack" if exit_code == 2 else "run it again in a moment"
    return TargetError(f"cannot use the queues of stack {target.name!r}: {exc}; {hint}", exit_code)
