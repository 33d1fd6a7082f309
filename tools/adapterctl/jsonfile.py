"""Reading a JSON object from a file a user named, with an error that says what is wrong with it."""

from __future__ import annotations

import json
from pathlib import Path


def read_json_object(path: str | Path, what: str) -> dict:
    """The file's JSON object; ValueError naming `what` the file should hold when it cannot be had."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{path} is nested too deeply to be {what}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold {what}")
    return raw
