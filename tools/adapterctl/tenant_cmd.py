"""`adapterctl tenant add|update|show|list|rotate`: the tenant secrets of a deployed or the local stack.

Values come from flags, a JSON file in the DESIGN.md shape, or prompts (secrets through getpass, and
only when stdin is a terminal). Nothing is written that `parse_tenant_config` refuses, and no
command prints a secret in clear.
"""

from __future__ import annotations

import copy
import getpass
import json
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adapterctl.jsonfile import read_json_object
from adapterctl.targets import add_target_arguments, resolve_target
from adapterctl.tenant_secrets import (
    CommandError,
    TenantSecrets,
    check_tenant_name,
    is_secret_field,
    looks_masked,
    mask,
    masked,
    reports_errors,
)
from goshops_adapter.tenants import ITEM_ID_CHOICES

PLATFORMS = ("shopify", "vtex")


@dataclass(frozen=True)
class Field:
    """One value of the tenant config that a flag (and a prompt) can set."""

    flag: str
    block: str
    key: str
    label: str
    secret: bool = False

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")

    @property
    def path(self) -> str:
        return f"{self.block}.{self.key}"


FIELDS = (
    Field("goshops-project", "goshops", "project", "Go Shops project id"),
    Field("goshops-api-key", "goshops", "api_key", "Go Shops x-api-key", secret=True),
    Field("shopify-webhook-secret", "shopify", "webhook_secret", "Shopify app client secret (it signs the webhooks)", secret=True),
    Field("shopify-admin-token", "shopify", "admin_token", "Shopify Admin API access token (used by `connect shopify`)", secret=True),
    Field("vtex-account", "vtex", "account", "VTEX account name"),
    Field("vtex-app-key", "vtex", "app_key", "VTEX app key", secret=True),
    Field("vtex-app-token", "vtex", "app_token", "VTEX app token", secret=True),
    Field("vtex-hook-token", "vtex", "hook_token", "VTEX hook token (sent back in X-Hook-Token)", secret=True),
    Field("vtex-base-url", "vtex", "base_url", "VTEX API base URL"),
)
FIELDS_BY_PATH = {field.path: field for field in FIELDS}
# What each block needs before the functions accept it; the hook token is generated when not given.
REQUIRED = {
    "goshops": ("goshops.project", "goshops.api_key"),
    "shopify": ("shopify.webhook_secret",),
    "vtex": ("vtex.account", "vtex.app_key", "vtex.app_token"),
}
# `rotate KEY`: which value it replaces; a hook token is ours to choose, so it is generated.
ROTATABLE = {
    "goshops-api-key": "goshops.api_key",
    "shopify-webhook-secret": "shopify.webhook_secret",
    "shopify-admin-token": "shopify.admin_token",
    "vtex-app-key": "vtex.app_key",
    "vtex-app-token": "vtex.app_token",
    "vtex-hook-token": "vtex.hook_token",
}
GENERATED = frozenset({"vtex.hook_token"})
# How long `rotate shopify-webhook-secret` keeps the old secret accepted: Shopify may sign with it for
# up to an hour after the rotation in the app's settings (or after the old secret is revoked, where
# those have that step) and retries a failed webhook for 4 hours. The sixth hour is for doing that in
# Shopify a little after rotating here.
PREVIOUS_WEBHOOK_SECRET_GRACE = timedelta(hours=6)
AFTER_ROTATE = {
    "goshops.api_key": "The deliver function reads the new key on its next 401 from Go Shops: nothing to redeploy or restart.",
    "shopify.webhook_secret": (
        "Webhooks signed with the old secret are still accepted until {until}: Shopify may sign with it for up to an "
        "hour after the rotation in the app's settings (where those have a revoke step, after the old secret is revoked: "
        "do that now), and retries a failed webhook for 4 hours. After that only the new secret is accepted."
    ),
    "shopify.admin_token": "Used only by `adapterctl connect shopify` and `status`.",
    "vtex.app_key": "The receive function uses it to read orders from VTEX (cached up to 5 minutes).",
    "vtex.app_token": "The receive function uses it to read orders from VTEX (cached up to 5 minutes).",
    "vtex.hook_token": "Now run `adapterctl connect vtex --tenant {tenant}` so VTEX sends the new token (hooks sent meanwhile get 401 and VTEX retries them).",
}
AFTER_ROTATE_WITHOUT_GRACE = (
    "The old secret is refused once the functions read the tenant again (they cache it up to 5 minutes). Webhooks Shopify "
    "still signs with it (up to an hour after the rotation in the app's settings, or after the old secret is revoked there) "
    "get 401; Shopify retries them for 4 hours."
)


def register(subparsers) -> None:
    parser = subparsers.add_parser("tenant", help="add, change, show, list and rotate tenants (one store + one Go Shops project each)")
    actions = parser.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")

    adding = actions.add_parser("add", help="create a tenant from flags, --from-file or prompts")
    _add_value_arguments(adding)
    adding.set_defaults(run=run_add)

    updating = actions.add_parser("update", help="change some values of a tenant (the others are kept)")
    _add_value_arguments(updating)
    updating.add_argument("--remove", choices=PLATFORMS, action="append", default=[], help="disconnect the tenant from a platform (drop its block)")
    updating.set_defaults(run=run_update)

    showing = actions.add_parser("show", help="a tenant's configuration, secrets masked")
    add_target_arguments(showing)
    showing.add_argument("name")
    showing.add_argument("--json", action="store_true", help="only the masked configuration, as JSON")
    showing.set_defaults(run=run_show)

    listing = actions.add_parser("list", help="every tenant and the platforms it is connected to")
    add_target_arguments(listing)
    listing.set_defaults(run=run_list)

    rotating = actions.add_parser("rotate", help="replace one secret of a tenant")
    add_target_arguments(rotating)
    rotating.add_argument("name")
    rotating.add_argument("key", choices=sorted(ROTATABLE), help="which secret")
    rotating.add_argument("--value", help="the new value, or - to read it from stdin (default: asked for; a hook token is generated)")
    rotating.add_argument(
        "--no-grace",
        action="store_true",
        help=f"shopify-webhook-secret only: do not keep the old secret accepted for {PREVIOUS_WEBHOOK_SECRET_GRACE.total_seconds() / 3600:g} hours (it leaked)",
    )
    rotating.set_defaults(run=run_rotate)


def _add_value_arguments(parser) -> None:
    add_target_arguments(parser)
    parser.add_argument("name", help="tenant name: lower-case letters, digits, '-' and '_'")
    parser.add_argument("--from-file", metavar="FILE", help="a JSON tenant config (the shape in README 'Tenants'); flags override it")
    for field in FIELDS:
        parser.add_argument(f"--{field.flag}", dest=field.dest, metavar="VALUE", help=field.label + (" (- reads it from stdin)" if field.secret else ""))
    parser.add_argument("--vtex-purchase-states", metavar="STATE,STATE", help="VTEX order states that mean a purchase (default: payment-approved,ready-for-handling,invoiced)")
    parser.add_argument("--item-id", choices=ITEM_ID_CHOICES, help="what Go Shops sees as the item (default: product)")


# ---------------------------------------------------------------- building a config from the input
# Whoever knows one of these can sign webhooks: a short placeholder typed at a prompt must not become
# one (the template asks the same of its parameters; Shopify's client secrets are longer).
SIGNING_SECRETS = frozenset({"shopify.webhook_secret", "vtex.hook_token"})
MIN_SIGNING_SECRET_LENGTH = 16


def _check_signing_secret(path: str, value) -> None:
    if path in SIGNING_SECRETS and isinstance(value, str) and len(value.strip()) < MIN_SIGNING_SECRET_LENGTH:
        raise CommandError(f"{path} must be at least {MIN_SIGNING_SECRET_LENGTH} characters: whoever knows it can sign webhooks")


def _set(raw: dict, path: str, value) -> None:
    _check_signing_secret(path, value)
    block, key = path.split(".")
    values = raw.setdefault(block, {})
    if not isinstance(values, dict):
        raise CommandError(f"{block} must be a JSON object (it is {type(values).__name__}), so {path} cannot be set in it")
    values[key] = value


def _get(raw: dict, path: str):
    block, key = path.split(".")
    value = raw.get(block)
    return value.get(key) if isinstance(value, dict) else None


def _read_file(path: str) -> dict:
    try:
        return read_json_object(path, "one tenant config: a JSON object with goshops, shopify, vtex, options")
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _merge(base: dict, changes: dict) -> dict:
    """`changes` over `base`, block by block (a block in `changes` updates the same block in `base`)."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _changes_from_arguments(args) -> dict:
    """What the file and the flags say, flags winning."""
    changes = _read_file(args.from_file) if args.from_file else {}
    for path in SIGNING_SECRETS:  # what this command writes, from the file as from a flag (a mask keeps the stored value)
        if not looks_masked(_get(changes, path)):
            _check_signing_secret(path, _get(changes, path))
    piped = [field for field in FIELDS if field.secret and getattr(args, field.dest) == "-"]
    if len(piped) > 1:
        raise CommandError(f"only one secret can be read from stdin; {', '.join('--' + field.flag for field in piped)} all ask for it")
    for field in FIELDS:
        value = getattr(args, field.dest)
        if value == "-" and field.secret:
            # A value on the command line stays in the process list and the shell history; a pipe does not.
            value = sys.stdin.readline()
        if value is not None:
            _set(changes, field.path, value.strip())
    if args.vtex_purchase_states is not None:
        states = [state.strip() for state in args.vtex_purchase_states.split(",") if state.strip()]
        if not states:
            raise CommandError("--vtex-purchase-states needs at least one order state, e.g. payment-approved,invoiced")
        _set(changes, "vtex.purchase_states", states)
    if args.item_id:
        _set(changes, "options.item_id", args.item_id)
    return changes


def _keep_masked_secrets(changes: dict, current: dict) -> None:
    """Secret values in `changes` that are masks (as `tenant show` prints them): the mask of the
    stored value keeps that value; any other mask cannot be a secret, and is refused."""
    for block, values in changes.items():
        for key, value in list(values.items()) if isinstance(values, dict) else ():
            if not (is_secret_field(block, key) and looks_masked(value)):
                continue
            stored = _get(current, f"{block}.{key}")
            if stored is not None and value == masked({key: stored}, block)[key]:
                values[key] = stored
            else:
                raise CommandError(
                    f"{block}.{key} is a masked value ({value!r}), not a secret: give the secret itself, or leave it out to keep the stored one"
                )


def _missing(raw: dict) -> list[str]:
    paths = list(REQUIRED["goshops"])
    for platform in PLATFORMS:
        if isinstance(raw.get(platform), dict):
            paths.extend(REQUIRED[platform])
    return [path for path in paths if not _get(raw, path)]


def _generate_hook_token(raw: dict, notes: list[str]) -> None:
    if isinstance(raw.get("vtex"), dict) and not raw["vtex"].get("hook_token"):
        raw["vtex"]["hook_token"] = new_hook_token()
        notes.append("generated a VTEX hook token (`adapterctl connect vtex` configures VTEX to send it)")


def new_hook_token() -> str:
    return secrets.token_urlsafe(32)


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def ask(label: str, *, secret: bool) -> str:
    try:
        if secret:
            return getpass.getpass(f"{label}: ").strip()
        return input(f"{label}: ").strip()
    except EOFError:  # Ctrl-D, or the input ran out
        raise CommandError(f"no {label} given (end of input); nothing was written") from None


def _prompt_for_missing(raw: dict) -> None:
    """Ask for what is missing, and offer each platform the input does not name."""
    for path in _missing(raw):
        _set(raw, path, _ask_until_given(FIELDS_BY_PATH[path]))
    if not isinstance(raw.get("shopify"), dict):
        shopify_secret = ask("Shopify app client secret (Enter to skip Shopify)", secret=True)
        if shopify_secret:
            _set(raw, "shopify.webhook_secret", shopify_secret)
    if not isinstance(raw.get("vtex"), dict):
        account = ask("VTEX account name (Enter to skip VTEX)", secret=False)
        if account:
            _set(raw, "vtex.account", account)
            for path in REQUIRED["vtex"][1:]:
                _set(raw, path, _ask_until_given(FIELDS_BY_PATH[path]))


def _ask_until_given(field: Field) -> str:
    for _ in range(3):
        value = ask(field.label, secret=field.secret)
        if value:
            return value
    raise CommandError(f"no {field.label} given")


def _missing_error(missing: list[str]) -> CommandError:
    flags = ", ".join(f"--{FIELDS_BY_PATH[path].flag}" for path in missing)
    return CommandError(f"missing {flags} (or --from-file FILE); values are asked for only when stdin is a terminal")


# ---------------------------------------------------------------- the actions
@reports_errors("tenant add")
def run_add(args) -> int:
    check_tenant_name(args.name)
    raw = _changes_from_arguments(args)
    _keep_masked_secrets(raw, {})
    missing = _missing(raw)
    if stdin_is_terminal() and (missing or not all(isinstance(raw.get(platform), dict) for platform in PLATFORMS)):
        _prompt_for_missing(raw)
    elif missing:
        raise _missing_error(missing)
    notes: list[str] = []
    _generate_hook_token(raw, notes)
    target = resolve_target(args)
    store = TenantSecrets(target)
    store.create(args.name, raw)
    print(f"Added tenant {args.name!r} to {store.where()} (secret {target.secret_id(args.name)}).")
    _print_connections(target, args.name, raw)
    for note in notes:
        print(f"  {note}")
    return 0


@reports_errors("tenant update")
def run_update(args) -> int:
    changes = _changes_from_arguments(args)
    if not changes and not args.remove:
        raise CommandError("nothing to update: give the values to change as flags or --from-file")
    target = resolve_target(args)
    store = TenantSecrets(target)
    notes: list[str] = []

    def change(current: dict) -> dict:
        _keep_masked_secrets(changes, current)
        updated = _merge(current, changes)
        for platform in args.remove:
            updated.pop(platform, None)
        _generate_hook_token(updated, notes)
        missing = _missing(updated)
        if missing:
            raise _missing_error(missing)
        return updated

    before, after = store.edit(args.name, change)
    differences = describe_changes(before, after)
    if not differences:
        print(f"Tenant {args.name!r} already has these values; nothing written.")
        return 0
    print(f"Updated tenant {args.name!r} in {store.where()}:")
    for line in differences:
        print(f"  {line}")
    for note in notes:
        print(f"  {note}")
    return 0


def describe_changes(before: dict, after: dict) -> list[str]:
    """One line per value added, changed or removed; secret values never shown."""
    lines = []
    for block in sorted(set(before) | set(after)):
        old, new = before.get(block), after.get(block)
        if old == new:
            continue
        if not isinstance(old, dict) or not isinstance(new, dict):
            state = "added" if old is None else "removed" if new is None else "changed"
            lines.append(f"{block}: {state}")
            continue
        for key in sorted(set(old) | set(new)):
            if old.get(key) == new.get(key):
                continue
            path = f"{block}.{key}"
            if key not in old:
                lines.append(f"{path}: added" + ("" if is_secret_field(block, key) else f" ({new[key]!r})"))
            elif key not in new:
                lines.append(f"{path}: removed")
            elif is_secret_field(block, key):
                lines.append(f"{path}: changed (now {mask(new[key])})")
            else:
                lines.append(f"{path}: {old[key]!r} -> {new[key]!r}")
    return lines


@reports_errors("tenant show")
def run_show(args) -> int:
    target = resolve_target(args)
    store = TenantSecrets(target)
    raw = store.read(args.name)
    if args.json:
        print(json.dumps(masked(raw), indent=2))
        return 0
    print(f"Tenant {args.name!r} in {store.where()} (secret {target.secret_id(args.name)}), secrets masked:")
    print(json.dumps(masked(raw), indent=2))
    _print_connections(target, args.name, raw)
    return 0


@reports_errors("tenant list")
def run_list(args) -> int:
    target = resolve_target(args)
    store = TenantSecrets(target)
    names = store.names()
    if not names:
        print(f"No tenants in {store.where()}: add one with `adapterctl tenant add NAME`.")
        return 0
    rows = []
    for name in names:
        try:
            raw, config = store.load(name)
        except CommandError as exc:
            rows.append((name, "", "", "", f"not usable: {exc}"))
            continue
        rows.append((name, config.goshops.project, "yes" if config.source("shopify") else "-", "yes" if config.source("vtex") else "-", ""))
    width = max(len("tenant"), *(len(row[0]) for row in rows))
    print(f"{'tenant':<{width}}  {'project':<20} {'shopify':<8} {'vtex':<8}")
    for name, project, shopify, vtex, problem in rows:
        print(f"{name:<{width}}  {problem}" if problem else f"{name:<{width}}  {project:<20} {shopify:<8} {vtex:<8}")
    return 0


@reports_errors("tenant rotate")
def run_rotate(args) -> int:
    path = ROTATABLE[args.key]
    block = path.split(".")[0]
    if args.no_grace and path != "shopify.webhook_secret":
        raise CommandError("--no-grace is for shopify-webhook-secret only: no other old secret stays accepted here after a rotate")
    target = resolve_target(args)
    store = TenantSecrets(target)

    def has_block(raw: dict) -> dict:
        if not isinstance(raw.get(block), dict):
            raise CommandError(f"tenant {args.name!r} has no {block} block: add it with `adapterctl tenant update {args.name} ...`")
        return raw

    has_block(store.read(args.name))  # before asking for a value it could not take
    value = _new_value(args, path)

    accepted_until = ""

    def change(raw: dict) -> dict:  # on the secret as it is after the prompt, not before it
        nonlocal accepted_until
        old = _get(has_block(raw), path)
        if value == old:
            raise CommandError(f"that is the current {path}: give a new value")
        _set(raw, path, value)
        if path == "shopify.webhook_secret":
            accepted_until = _keep_previous_webhook_secret(raw["shopify"], old, grace=not args.no_grace)
        return raw

    store.edit(args.name, change)
    print(f"Rotated {path} of tenant {args.name!r} (now {mask(value)}).")
    if path == "shopify.webhook_secret" and not accepted_until:
        print(AFTER_ROTATE_WITHOUT_GRACE)
    else:
        print(AFTER_ROTATE[path].format(tenant=args.name, until=accepted_until))
    return 0


def _keep_previous_webhook_secret(shopify: dict, old: object, *, grace: bool) -> str:
    """Keep the replaced Shopify secret accepted for the grace period (in place of any earlier one),
    or with no grace keep none; the end of the grace period, "" if none."""
    if not grace or not isinstance(old, str) or not old.strip():
        shopify.pop("previous_webhook_secret", None)
        shopify.pop("previous_valid_until", None)
        return ""
    until = (datetime.now(UTC) + PREVIOUS_WEBHOOK_SECRET_GRACE).strftime("%Y-%m-%dT%H:%M:%SZ")
    shopify["previous_webhook_secret"] = old
    shopify["previous_valid_until"] = until
    return until


def _new_value(args, path: str) -> str:
    if args.value == "-":  # from a pipe: a value on the command line stays in the process list and history
        value = sys.stdin.readline().strip()
    elif args.value is not None:
        value = args.value.strip()
    elif path in GENERATED:
        return new_hook_token()
    elif stdin_is_terminal():
        value = ask(f"new {FIELDS_BY_PATH[path].label}", secret=True)
    else:
        raise CommandError("give the new value with --value - (read from stdin) or --value VALUE (stdin is not a terminal, so it cannot be asked for)")
    if not value:
        raise CommandError(f"the new {path} cannot be empty")
    if looks_masked(value):
        raise CommandError(f"{value!r} is a masked value (as `tenant show` prints secrets), not a new {path}")
    return value


def _print_connections(target, name: str, raw: dict) -> None:
    platforms = [platform for platform in PLATFORMS if isinstance(raw.get(platform), dict)]
    if not platforms:
        print("  Connected to no platform yet: add --shopify-webhook-secret or --vtex-... with `adapterctl tenant update`.")
        return
    for platform in platforms:
        command = f"adapterctl connect {platform} --tenant {name}" + (" --shop SHOP" if platform == "shopify" else "")
        print(f"  {platform:8} webhooks to {target.webhook_url(platform, name)}  (`{command}`)")
