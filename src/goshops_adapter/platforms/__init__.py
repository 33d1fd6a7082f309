"""The sources the adapter accepts webhooks from, by the name used in the URL and the tenant secret.

Adding a source is one package under `platforms/` whose `SOURCE` implements `base.Source`, and
one line here (docs/development.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from goshops_adapter.platforms import shopify, vtex
from goshops_adapter.platforms.base import Source, sources_by_name

SOURCES: Mapping[str, Source] = sources_by_name(
    shopify.SOURCE,
    vtex.SOURCE,
)
