"""`adapterctl tenant add|update|show|list|rotate`: the tenant secrets of a deployed or the local stack.

Values come from flags, a JSON file in the shape of docs/tenants.md, or prompts (secrets through getpass, and
only when stdin is a terminal). Nothing is written that `parse_tenant_config` refuses, and no
command prints a secret in clear.
"""

from __future__ import annotations

import copy
import getpass
import json
import sys

from adapterctl.jsonfile import read_json_object
from adapterctl.sources import source_clis
from adapterctl.sources.base import Field, SourceCli
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

GOSHOPS_FIELDS = (
    Field("goshops-project", "goshops", "project", "Go Shops project id"),
    Field("goshops-api-key", "goshops", "api_key", "Go Shops x-api-key", secret=True),
)
GOSHOPS_REQUIRED = ("goshops.project", "goshops.api_key")
GOSHOPS_AFTER_ROTATE = "The deliver function reads the new key on its next 401 from Go Shops: nothing to redeploy or restart."


def sources() -> list[SourceCli]:
    return list(source_clis().values())


def fields() -> tuple[Field, ...]:
    return GOSHOPS_FIELDS + tuple(field for cli in sources() for field in cli.fields)


def field_by_path(path: str) -> Field:
    return next(field for field in fields() if field.path == path)


def rotatable() -> dict[str, str]:
    """`rotate KEY`: which value it replaces."""
    keys = {"goshops-api-key": "goshops.api_key"}
    for cli in sources():
        keys.update(cli.rotatable)
    return keys


def source_of(path: str) -> SourceCli | None:
    return source_clis().get(path.split(".")[0])


def register(subparsers) -> None:
    parser = subparsers.add_parser("tenant", help="add, change, show, list and rotate tenants (one store + one Go Shops project each)")
    actions = parser.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")

    adding = actions.add_parser("add", help="create a tenant from flags, --from-file or prompts")
    _add_value_arguments(adding)
    adding.set_defaults(run=run_add)

    updating = actions.add_parser("update", help="change some values of a tenant (the others are kept)")
    _add_value_arguments(updating)
    updating.add_argument("--remove", choices=sorted(source_clis()), action="append", default=[], help="disconnect the tenant from a platform (drop its block)")
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
    rotating.add_argument("key", choices=sorted(rotatable()), help="which secret")
    rotating.add_argument("--value", help="the new value, or - to read it from stdin (default: asked for; a value the adapter chooses, such as a hook token, is generated)")
    for cli in sources():
        cli.add_rotate_arguments(rotating)
    rotating.set_defaults(run=run_rotate)


def _add_value_arguments(parser) -> None:
    add_target_arguments(parser)
    parser.add_argument("name", help="tenant name: lower-case letters, digits, '-' and '_'")
    parser.add_argument("--from-file", metavar="FILE", help="a JSON tenant config (the shape in docs/tenants.md); flags override it")
    for field in fields():
        parser.add_argument(f"--{field.flag}", dest=field.dest, metavar="VALUE", help=field.label + (" (- reads it from stdin)" if field.secret else ""))
    for cli in sources():
        cli.add_tenant_arguments(parser)
    parser.add_argument("--item-id", choices=ITEM_ID_CHOICES, help="what Go Shops sees as the item (default: product)")


# ---------------------------------------------------------------- building a config from the input
# Whoever knows a signing secret can sign webhooks: a short placeholder typed at a prompt must not
# become one (Shopify's client secrets are longer).
MIN_SIGNING_SECRET_LENGTH = 16


def signing_secrets() -> frozenset[str]:
    return frozenset(path for cli in sources() for path in cli.signing_secrets)


def _check_signing_secret(path: str, value) -> None:
    if path in signing_secrets() and isinstance(value, str) and len(value.strip()) < MIN_SIGNING_SECRET_LENGTH:
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
        return read_json_object(path, "one tenant config: a JSON object with goshops, a block per platform, options")
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
    for path in signing_secrets():  # what this command writes, from the file as from a flag (a mask keeps the stored value)
        if not looks_masked(_get(changes, path)):
            _check_signing_secret(path, _get(changes, path))
    piped = [field for field in fields() if field.secret and getattr(args, field.dest) == "-"]
    if len(piped) > 1:
        raise CommandError(f"only one secret can be read from stdin; {', '.join('--' + field.flag for field in piped)} all ask for it")
    for field in fields():
        value = getattr(args, field.dest)
        if value == "-" and field.secret:
            # A value on the command line stays in the process list and the shell history; a pipe does not.
            value = sys.stdin.readline()
        if value is not None:
            _set(changes, field.path, value.strip())
    for cli in sources():
        cli.tenant_changes(args, lambda path, value: _set(changes, path, value))
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
    paths = list(GOSHOPS_REQUIRED)
    for cli in sources():
        if isinstance(raw.get(cli.name), dict):
            paths.extend(cli.required)
    return [path for path in paths if not _get(raw, path)]


def _generate(raw: dict, notes: list[str]) -> None:
    """Values the adapter chooses itself (a hook token, a public key), where the input has none."""
    for cli in sources():
        if isinstance(raw.get(cli.name), dict):
            notes.extend(cli.generated(raw[cli.name]))


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
        _set(raw, path, _ask_until_given(field_by_path(path)))
    for cli in sources():
        if isinstance(raw.get(cli.name), dict) or not cli.offered_by:
            continue
        offered = field_by_path(cli.offered_by)
        value = ask(f"{cli.offer_prompt} (Enter to skip {cli.display_name})", secret=offered.secret)
        if value:
            _set(raw, offered.path, value)
            for path in cli.required:
                if not _get(raw, path):
                    _set(raw, path, _ask_until_given(field_by_path(path)))


def _ask_until_given(field: Field) -> str:
    for _ in range(3):
        value = ask(field.label, secret=field.secret)
        if value:
            return value
    raise CommandError(f"no {field.label} given")


def _missing_error(missing: list[str]) -> CommandError:
    flags = ", ".join(f"--{field_by_path(path).flag}" for path in missing)
    return CommandError(f"missing {flags} (or --from-file FILE); values are asked for only when stdin is a terminal")


# ---------------------------------------------------------------- the actions
@reports_errors("tenant add")
def run_add(args) -> int:
    check_tenant_name(args.name)
    raw = _changes_from_arguments(args)
    _keep_masked_secrets(raw, {})
    missing = _missing(raw)
    if stdin_is_terminal() and (missing or not all(isinstance(raw.get(cli.name), dict) for cli in sources() if cli.offered_by)):
        _prompt_for_missing(raw)
    elif missing:
        raise _missing_error(missing)
    notes: list[str] = []
    _generate(raw, notes)
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
        _generate(updated, notes)
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
            rows.append((name, "", [], f"not usable: {exc}"))
            continue
        rows.append((name, config.goshops.project, ["yes" if config.source(cli.name) else "-" for cli in sources()], ""))
    width = max(len("tenant"), *(len(row[0]) for row in rows))
    columns = [(cli.name, max(8, len(cli.name) + 1)) for cli in sources()]
    print(f"{'tenant':<{width}}  {'project':<20} " + " ".join(f"{name:<{size}}" for name, size in columns))
    for name, project, connected, problem in rows:
        if problem:
            print(f"{name:<{width}}  {problem}")
            continue
        cells = " ".join(f"{cell:<{size}}" for cell, (_, size) in zip(connected, columns, strict=True))
        print(f"{name:<{width}}  {project:<20} {cells}")
    return 0


@reports_errors("tenant rotate")
def run_rotate(args) -> int:
    path = rotatable()[args.key]
    block = path.split(".")[0]
    cli = source_of(path)
    graced = cli.after_rotate_without_grace if cli else {}
    if getattr(args, "no_grace", False) and path not in graced:
        with_grace = [key for key, value in rotatable().items() if any(value in other.after_rotate_without_grace for other in sources())]
        raise CommandError(f"--no-grace is for {', '.join(with_grace)} only: no other old secret stays accepted here after a rotate")
    target = resolve_target(args)
    store = TenantSecrets(target)

    def has_block(raw: dict) -> dict:
        if not isinstance(raw.get(block), dict):
            raise CommandError(f"tenant {args.name!r} has no {block} block: add it with `adapterctl tenant update {args.name} ...`")
        return raw

    has_block(store.read(args.name))  # before asking for a value it could not take
    value = _new_value(args, path, cli)

    accepted_until = ""

    def change(raw: dict) -> dict:  # on the secret as it is after the prompt, not before it
        nonlocal accepted_until
        old = _get(has_block(raw), path)
        if value == old:
            raise CommandError(f"that is the current {path}: give a new value")
        _set(raw, path, value)
        if cli is not None:
            accepted_until = cli.rotated(raw[block], path, old, args)
        return raw

    store.edit(args.name, change)
    print(f"Rotated {path} of tenant {args.name!r} (now {mask(value)}).")
    if path in graced and not accepted_until:
        print(graced[path])
    else:
        after = cli.after_rotate[path] if cli else GOSHOPS_AFTER_ROTATE
        print(after.format(tenant=args.name, until=accepted_until))
    return 0


def _new_value(args, path: str, cli: SourceCli | None) -> str:
    generated = cli.generate(path) if cli else None
    if args.value == "-":  # from a pipe: a value on the command line stays in the process list and history
        value = sys.stdin.readline().strip()
    elif args.value is not None:
        value = args.value.strip()
    elif generated is not None:
        return generated
    elif stdin_is_terminal():
        value = ask(f"new {field_by_path(path).label}", secret=True)
    else:
        raise CommandError("give the new value with --value - (read from stdin) or --value VALUE (stdin is not a terminal, so it cannot be asked for)")
    if not value:
        raise CommandError(f"the new {path} cannot be empty")
    if looks_masked(value):
        raise CommandError(f"{value!r} is a masked value (as `tenant show` prints secrets), not a new {path}")
    return value


def _print_connections(target, name: str, raw: dict) -> None:
    connected = [cli for cli in sources() if isinstance(raw.get(cli.name), dict)]
    if not connected:
        flags = " or ".join(f"--{field_by_path(cli.offered_by).flag}" for cli in sources() if cli.offered_by)
        print(f"  Connected to no platform yet: add {flags} (and the rest of that platform's values) with `adapterctl tenant update`.")
        return
    for cli in connected:
        command = f"adapterctl connect {cli.name} --tenant {name}{cli.connect_arguments}"
        print(f"  {cli.name:8} webhooks to {target.webhook_url(cli.name, name)}  (`{command}`)")
