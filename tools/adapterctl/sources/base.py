"""What a source's command-line module provides, so that the commands themselves name no source.

Each source has a module `adapterctl/sources/<name>.py` whose `CLI` is an instance of a
`SourceCli` subclass: the `tenant` flags of its block, which of them are required, rotated or
generated, the `connect <name>` subcommand, the `status` check, its sample deliveries (for the
demo, `adapterctl send` and the committed events/), the stand-ins of its APIs in the local stack,
and, where the platform has an orders API, backfill. The registry (`adapterctl.sources`) finds the
module of every source of `goshops_adapter.platforms.SOURCES`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from goshops_adapter.platforms.base import MappedWebhook
from goshops_adapter.tenants import TenantConfig


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


@dataclass(frozen=True)
class Delivery:
    """One webhook as a platform sends it: path, headers, raw body."""

    name: str
    path: str
    headers: dict[str, str]
    body: bytes


class StandIn(Protocol):
    """A local server playing one of the platform's APIs (started by the local stack)."""

    url: str

    def stop(self) -> None: ...


@dataclass
class LocalStandIns:
    """What a source started for the local stack: its servers, and the tenants as the functions
    must see them (a base URL pointed at a stand-in), with one line for `make local` to print."""

    tenants: dict[str, dict]
    servers: Mapping[str, StandIn]
    description: str = ""

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@dataclass(frozen=True)
class PastOrder:
    """One order of a store's history, mapped as its live webhook would be (same ref, same
    interactions, so a backfill and the live webhooks never send one (order, item) twice), or why
    it could not be read or mapped (counted and listed; the run goes on)."""

    ref: str
    mapped: MappedWebhook | None = None
    problem: str = ""


class OrderHistory(Protocol):
    """A source's past orders between two dates, read from the platform's orders API."""

    def estimated_total(self) -> int | None:
        """How many orders the run will read, once known (for the progress bar's ETA)."""
        ...

    def __iter__(self) -> Iterator[PastOrder]: ...


LOCAL_PLACEHOLDER_PREFIX = "local-"


def is_local_placeholder(value: object) -> bool:
    """A URL field of a tenant block that names a local stand-in ("local-oms") rather than an address."""
    return isinstance(value, str) and value.startswith(LOCAL_PLACEHOLDER_PREFIX)


def with_placeholders_at(tenants: dict[str, dict], url: str) -> dict[str, dict]:
    """The tenants with every stand-in placeholder replaced by `url` (to validate them as the
    secrets will hold them, once the stand-ins have their addresses)."""
    return {
        name: {block: {key: url if is_local_placeholder(value) else value for key, value in values.items()} if isinstance(values, dict) else values for block, values in config.items()}
        if isinstance(config, dict)
        else config
        for name, config in tenants.items()
    }


class SourceCli:
    """The command-line side of one source. Defaults: nothing beyond the tenant block's fields."""

    name: ClassVar[str]
    #: `tenant add/update` flags for this source's block.
    fields: ClassVar[tuple[Field, ...]] = ()
    #: Paths ("block.key") the functions need before they accept the block.
    required: ClassVar[tuple[str, ...]] = ()
    #: `tenant rotate KEY`: KEY -> the path it replaces.
    rotatable: ClassVar[Mapping[str, str]] = {}
    #: What `tenant rotate` prints after replacing a path ({tenant} and {until} are filled in).
    after_rotate: ClassVar[Mapping[str, str]] = {}
    #: For paths whose old value `rotated` may keep accepted: what `tenant rotate` prints when it kept none.
    after_rotate_without_grace: ClassVar[Mapping[str, str]] = {}
    #: Paths whose value signs or authenticates webhooks: at least 16 characters.
    signing_secrets: ClassVar[frozenset[str]] = frozenset()
    #: The platform's name as its users write it.
    display_name: ClassVar[str] = ""
    #: The path asked for when a prompt offers to connect the tenant to this source, and the question.
    offered_by: ClassVar[str] = ""
    offer_prompt: ClassVar[str] = ""
    #: What `tenant add` prints next to the source's webhook URL, e.g. " --shop SHOP".
    connect_arguments: ClassVar[str] = ""

    # ------------------------------------------------------------ tenant
    def add_tenant_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Flags beyond `fields` (lists, choices)."""

    def tenant_changes(self, args: argparse.Namespace, set_value: Callable[[str, Any], None]) -> None:
        """Apply the flags of `add_tenant_arguments` through `set_value(path, value)`."""

    def generated(self, block: dict) -> list[str]:
        """Fill in values the adapter chooses itself (a hook token, a public key) when absent; a note each."""
        return []

    def generate(self, path: str) -> str | None:
        """A new value for `tenant rotate` of a path the adapter chooses itself; None if it is not one."""
        return None

    def add_rotate_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Flags of `tenant rotate` that only this source's keys take."""

    def rotated(self, block: dict, path: str, old: object, args: argparse.Namespace) -> str:
        """After `path` was replaced in `block`: keep what must go on working (a previous secret, for
        the paths of `after_rotate_without_grace`); until when, to fill {until} in `after_rotate`,
        or "" if nothing was kept."""
        return ""

    # ------------------------------------------------------------ connect, status
    def register_connect(self, subparsers) -> None:
        """`adapterctl connect <name>`; a source with nothing to connect registers none."""

    def add_status_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Flags of `adapterctl status` for this source's check."""

    def status(self, raw: dict, config: Any, url: str, args: argparse.Namespace) -> str:
        """One line: what the platform has configured for this tenant, asked with its credentials."""
        return "no check for this platform"

    # ------------------------------------------------------------ backfill
    def add_backfill_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Flags of `adapterctl backfill <name>`."""

    def order_history(self, tenant: TenantConfig, raw: dict, since: datetime, until: datetime, args: argparse.Namespace) -> OrderHistory | None:
        """The tenant's paid orders in [since, until); None when the platform has no orders API."""
        return None

    # ------------------------------------------------------------ samples, local stack
    def sample_deliveries(self, tenant: str, raw: dict) -> list[Delivery]:
        """The sample webhooks of events/payloads/<name>, signed with this tenant's secrets."""
        return []

    def resigned(self, delivery: Delivery, body: bytes, raw: dict) -> Delivery:
        """`delivery` with another body, signed (or tokened) as the platform would with this tenant's secrets."""
        raise NotImplementedError

    def sample_next_order(self, tenant: str, raw: dict) -> Delivery | None:
        """A paid order none of the samples is, for the demo's failure and replay; None if the source has none."""
        return None

    def start_stand_ins(self, tenants: dict[str, dict]) -> LocalStandIns | None:
        """Start local stand-ins of the platform's APIs for the tenants that ask for them (a base URL
        of "local-..."); None when no tenant does."""
        return None
