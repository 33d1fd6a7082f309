"""The tenant's `vtex` block."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from goshops_adapter.config_fields import BlockReader
from goshops_adapter.platforms.base import SourceConfig

DEFAULT_VTEX_PURCHASE_STATES = ("payment-approved", "ready-for-handling", "invoiced")
VTEX_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")


@dataclass(frozen=True)
class VtexConfig(SourceConfig):
    account: str
    app_key: str = field(repr=False)
    app_token: str = field(repr=False)
    hook_token: str = field(repr=False)
    base_url: str
    purchase_states: tuple[str, ...] = DEFAULT_VTEX_PURCHASE_STATES


def parse_config(block: BlockReader) -> VtexConfig:
    account = block.text("account")
    if account and not VTEX_ACCOUNT.fullmatch(account):
        # It becomes the OMS host the app key and token are sent to.
        block.problem("vtex.account must be a VTEX account name (letters, digits and '-')")
    # An empty list would silently turn every order hook into "ignored".
    states = block.text_list("purchase_states", DEFAULT_VTEX_PURCHASE_STATES, "state names")
    return VtexConfig(
        account=account,
        app_key=block.header_text("app_key"),
        app_token=block.header_text("app_token"),
        hook_token=block.header_text("hook_token"),  # VTEX sends it back in one
        base_url=block.base_url("base_url", f"https://{account}.vtexcommercestable.com.br"),
        purchase_states=states,
    )
