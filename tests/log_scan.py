"""Capturing what the functions write (JSON log lines and metrics, to stdout as on Lambda) and
scanning it for what must never be there: secrets, API keys, e-mail addresses, names, phones.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from goshops_adapter.observability import logger

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# International numbers as platforms store them (+15555550123, +1 555-555-0123). Ids and timestamps
# in the logs never start with "+".
PHONE = re.compile(r"\+\d[\d\s().-]{6,}\d")


class _Collector:
    """A write-only stream shared by every thread; keeps what it was given."""

    def __init__(self):
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


@dataclass
class CapturedOutput:
    collector: _Collector = field(default_factory=_Collector)

    @property
    def lines(self) -> list[str]:
        return [line for line in self.collector.text().splitlines() if line.strip()]


@contextlib.contextmanager
def captured_output() -> Iterator[CapturedOutput]:
    """Everything the functions log or print while the block runs, from any thread."""
    captured = CapturedOutput()
    handler = logger.registered_handler
    previous = handler.setStream(captured.collector)
    try:
        with contextlib.redirect_stdout(captured.collector):  # metrics are printed, not logged
            yield captured
    finally:
        handler.setStream(previous)


@dataclass(frozen=True)
class Leak:
    kind: str
    value: str
    line: str


def find_leaks(lines: Iterable[str], *, secrets: Iterable[str], personal: Iterable[str]) -> list[Leak]:
    """Secrets and personal values (names, addresses, ...) by exact text, e-mails and phones by shape."""
    secrets = sorted({s for s in secrets if s})
    personal_patterns = [(value, re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")) for value in sorted({p for p in personal if p})]
    leaks = []
    for line in lines:
        leaks += [Leak("secret", secret, line) for secret in secrets if secret in line]
        leaks += [Leak("personal", value, line) for value, pattern in personal_patterns if pattern.search(line)]
        leaks += [Leak("e-mail", match, line) for match in EMAIL.findall(line)]
        leaks += [Leak("phone", match, line) for match in PHONE.findall(line)]
    return leaks

