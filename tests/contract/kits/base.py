"""What the contract suite needs from each source to hold it to the shared contract."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from goshops_adapter.platforms.base import Webhook


@dataclass(frozen=True)
class SourceKit:
    """Builders of webhooks, all for the tenant block `block`."""

    name: str

    def block(self) -> dict:
        """A valid tenant block for the source."""
        raise NotImplementedError

    def purchase(self, block: dict, *, item: str = "501", customer: str = "9001", order: str = "7001") -> Webhook:
        """An authentic delivery that maps to one `purchase` of `item` by `customer`."""
        raise NotImplementedError

    def unsigned(self, webhook: Webhook) -> Webhook:
        """The same delivery without its proof of authenticity (no signature, no token)."""
        raise NotImplementedError

    def forged(self, webhook: Webhook) -> Webhook:
        """The same delivery with a proof made with a secret that is not the tenant's."""
        raise NotImplementedError

    def unknown_topic(self, block: dict) -> Webhook:
        """An authentic delivery of a topic or state the adapter sends nothing for."""
        raise NotImplementedError

    def acknowledged(self, block: dict) -> Webhook | None:
        """An authentic delivery answered with nothing to send (a ping, a compliance topic); None if none."""
        return None

    def serve_api(self, monkeypatch: pytest.MonkeyPatch, block: dict) -> None:
        """For a source that reads the full object from its platform: answer those reads from the
        objects `purchase` describes, without a network. Nothing to do for the others."""
