"""Reading one block of a tenant secret: the field rules every block shares.

`parse_tenant_config` (tenants.py) and each source's `parse_config` read their blocks through a
`BlockReader`, so "blank is absent", "a secret sent in a header is printable ASCII" and "a base URL
secrets go to is https" are written once, and every problem of a secret is listed in one error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit


def is_header_safe(text: str) -> bool:
    """Printable ASCII: what an HTTP header can carry. Anything else makes the HTTP client raise an
    error that quotes the header, a secret included, into a log line."""
    return text.isascii() and text.isprintable()


def is_safe_base_url(url: str) -> bool:
    """A base URL secrets may be sent to (a platform's API, the adapterctl tools' Shopify Admin and
    public URLs): https anywhere; plain http only to this machine (a local stand-in). Nothing two URL
    parsers could read as different hosts (a backslash, user info), and no query or fragment,
    which would cut off the path appended to it."""
    if not is_header_safe(url) or any(character in url for character in "\\?#"):
        return False
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # e.g. "https://[shop": not a URL at all
        return False
    if "@" in parsed.netloc:
        return False
    if parsed.scheme == "https" and parsed.hostname:
        return True
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def utc_date_time(text: str) -> datetime | None:
    """An ISO 8601 date-time with its zone, in UTC; None for anything else (without a zone it would
    be compared in no agreed time)."""
    try:
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: a zone that moves it past year 9999 in UTC
        return None


class BlockReader:
    """The fields of one JSON object (`where` names it in problems); problems are collected, not raised."""

    def __init__(self, block: Mapping[str, Any], where: str, problems: list[str]):
        self.block = block
        self.where = where
        self.problems = problems

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.block.get(key)
        if value is not None and not isinstance(value, str):
            self.problem(f"{self.where}.{key} must be a string")
            return ""
        text = (value or "").strip()  # blank is absent: a secret of spaces would be an empty HMAC key
        if not text and required:
            self.problem(f"{self.where}.{key} is required")
        return text

    def header_text(self, key: str, *, required: bool = True) -> str:
        """A secret that travels in an HTTP header (`is_header_safe`)."""
        text = self.text(key, required=required)
        if text and not is_header_safe(text):
            self.problem(f"{self.where}.{key} must be printable ASCII: it is sent in an HTTP header")
            return ""
        return text

    def given(self, key: str) -> bool:
        value = self.block.get(key)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def date_time(self, key: str) -> datetime | None:
        text = self.text(key, required=False)
        if not text:
            return None
        value = utc_date_time(text)
        if value is None:
            self.problem(f"{self.where}.{key} must be an ISO 8601 date-time with its zone, e.g. 2026-11-27T05:00:00Z")
        return value

    def base_url(self, key: str, default: str) -> str:
        """An API base URL secrets are sent to, without its trailing slash; `default` when absent."""
        url = self.text(key, required=False)
        if url and not is_safe_base_url(url):
            self.problem(f"{self.where}.{key} must be an https:// URL (http:// only for this machine)")
        return (url or default).rstrip("/")

    def text_list(self, key: str, default: tuple[str, ...], what: str = "non-empty strings") -> tuple[str, ...]:
        """A non-empty list of non-empty strings: an empty one would silently switch a rule off."""
        values = self.block.get(key, default)
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            self.problem(f"{self.where}.{key} must be a non-empty list of {what}")
            return default
        return tuple(v.strip() for v in values)
