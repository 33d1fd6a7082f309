"""Tenant secrets of a stack, as the operator commands read and write them.

Every write is validated with `parse_tenant_config` first (the same validation the functions apply),
so a command can never leave a secret the functions would refuse. Writing a new value makes it the
secret's current version: the functions see it once their cache expires, and the deliver function
at once for a Go Shops key, because a 401 makes it read the secret again.

Also here: masking (no command prints a secret in clear) and `CommandError`, how a command says
what went wrong without a traceback.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from adapterctl.targets import Target, aws_exit_code
from goshops_adapter.platforms import SOURCES
from goshops_adapter.tenants import TenantConfig, TenantConfigError, is_valid_tenant_name, parse_tenant_config

# (block, key) of every secret value in the documented shape (each source declares its own);
# extra keys are judged by their name.
SECRET_FIELDS = frozenset({("goshops", "api_key")} | {(name, key) for name, source in SOURCES.items() for key in source.secret_keys})
SECRET_WORDS = ("key", "secret", "token", "password")
# Long enough that showing its last four characters says which value is set, not what it is.
MASK_TAIL_MIN_LENGTH = 16


class CommandError(Exception):
    """What a command prints instead of a traceback; exit 2 = fix the input or the configuration."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def reports_errors(prog: str) -> Callable:
    """Turn CommandError and AWS errors raised by a command's `run` into a message and an exit code."""

    def decorate(run: Callable) -> Callable:
        @functools.wraps(run)
        def wrapper(args) -> int:
            try:
                return run(args)
            except CommandError as exc:
                print(f"adapterctl {prog}: {exc}", file=sys.stderr)
                return exc.exit_code
            except ClientError as exc:
                error = exc.response.get("Error", {})
                print(f"adapterctl {prog}: AWS refused {exc.operation_name}: {error.get('Code')}: {error.get('Message', '')}", file=sys.stderr)
                return aws_exit_code(exc)
            except BotoCoreError as exc:
                print(f"adapterctl {prog}: cannot reach AWS: {exc}", file=sys.stderr)
                return aws_exit_code(exc)

        return wrapper

    return decorate


def check_tenant_name(name: str) -> None:
    if not is_valid_tenant_name(name):
        raise CommandError(f"tenant name {name!r} must be lower-case letters, digits, '-' or '_' (up to 63, starting with a letter or digit)")


def validated(name: str, raw: object) -> TenantConfig:
    check_tenant_name(name)
    try:
        config = parse_tenant_config(name, raw)
    except TenantConfigError as exc:
        raise CommandError(f"tenant {name!r}: {exc}") from None
    # Keys the functions do not read (a shop name, an Admin API token, ...) are the commands' own:
    # a secret among them must be text, or it could be neither masked nor used.
    for block, values in raw.items():
        for key, value in values.items() if isinstance(values, dict) else ():
            if is_secret_field(block, key) and value is not None and not isinstance(value, str):
                raise CommandError(f"tenant {name!r}: {block}.{key} must be a string")
    return config


def is_secret_field(block: str | None, key: str) -> bool:
    return (block, key) in SECRET_FIELDS or any(word in key.lower() for word in SECRET_WORDS)


def mask(value: object) -> str:
    text = str(value)
    if not text:
        return "(empty)"
    if len(text) >= MASK_TAIL_MIN_LENGTH:
        return f"****{text[-4:]}"
    return "set"


def masked(raw: dict, block: str | None = None) -> dict:
    """A copy of a tenant config with every secret value replaced by its mask."""
    copy: dict = {}
    for key, value in raw.items():
        if is_secret_field(block, key) and value not in (None, ""):
            copy[key] = mask(value) if isinstance(value, str) else "(set, not a string)"
        elif isinstance(value, dict):
            copy[key] = masked(value, key)
        else:
            copy[key] = value
    return copy


def looks_masked(value: object) -> bool:
    """Whether a value is what `mask` prints rather than a secret (`tenant show` output fed back in)."""
    return isinstance(value, str) and (value.startswith("****") or value in ("set", "(empty)", "(set, not a string)"))


class TenantSecrets:
    """The tenant secrets of one stack (deployed or local)."""

    def __init__(self, target: Target):
        self.target = target
        self._client = target.client("secretsmanager")

    def where(self) -> str:
        return "the local stack" if self.target.endpoint_url else f"stack {self.target.name!r}"

    def read(self, name: str) -> dict:
        check_tenant_name(name)
        try:
            secret = self._client.get_secret_value(SecretId=self.target.secret_id(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise CommandError(f"no tenant {name!r} in {self.where()}: add it with `adapterctl tenant add {name}`") from None
            raise
        try:
            raw = json.loads(secret["SecretString"])
        except (KeyError, ValueError):
            raise CommandError(f"tenant {name!r}: its secret is not JSON; fix it in Secrets Manager ({self.target.secret_id(name)})") from None
        if not isinstance(raw, dict):
            raise CommandError(f"tenant {name!r}: its secret is not a JSON object")
        return raw

    def load(self, name: str) -> tuple[dict, TenantConfig]:
        raw = self.read(name)
        return raw, validated(name, raw)

    def create(self, name: str, raw: dict) -> None:
        validated(name, raw)
        try:
            self._client.create_secret(
                Name=self.target.secret_id(name),
                Description=f"Go Shops adapter tenant {name}: Go Shops project and key, platform secrets",
                SecretString=json.dumps(raw),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceExistsException":
                raise CommandError(f"tenant {name!r} already exists in {self.where()}: change it with `adapterctl tenant update {name}`") from None
            raise

    def edit(self, name: str, change: Callable[[dict], dict]) -> tuple[dict, dict]:
        """Apply `change` to the tenant's config as it is now and store the result, if it differs;
        (before, after). Secrets Manager has no conditional write, so a command that waited (on
        Shopify, on a prompt) reads the secret again here rather than write back the copy it read
        at its start, which would undo a change made meanwhile."""
        before = self.read(name)
        after = change(copy.deepcopy(before))
        if after != before:
            self.replace(name, after)
        return before, after

    def replace(self, name: str, raw: dict) -> TenantConfig:
        config = validated(name, raw)
        self._client.put_secret_value(SecretId=self.target.secret_id(name), SecretString=json.dumps(raw))
        return config

    def names(self) -> list[str]:
        prefix = self.target.tenant_secret_prefix
        names: set[str] = set()
        for page in self._client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            for secret in page.get("SecretList", []):
                name = secret["Name"]
                if name.startswith(prefix) and is_valid_tenant_name(name[len(prefix) :]):
                    names.add(name[len(prefix) :])
        return sorted(names)
