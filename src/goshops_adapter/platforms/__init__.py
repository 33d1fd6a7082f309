"""The platforms the adapter accepts webhooks from, by the name used in the URL.

Adding a platform is one module with `NAME` and `handle` (see `base.py`), one line here and one
route in template.yaml.
"""

from __future__ import annotations

from types import ModuleType

from goshops_adapter.platforms import shopify, vtex

PLATFORMS: dict[str, ModuleType] = {module.NAME: module for module in (shopify, vtex)}
