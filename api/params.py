"""Query-string and JSON-body parameter parsing with named 400 errors and documented limits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask import request

from api.errors import ApiError, bad_parameter

MAX_QUERY_CHARS = 1000
MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_LIKED = 200
MAX_FILTER_VALUES = 50
MAX_ID_CHARS = 200


def str_arg(name: str, default: str | None = None, *, max_chars: int = MAX_ID_CHARS) -> str | None:
    """A string argument, at most `max_chars` characters."""
    value = request.args.get(name)
    if value is None:
        return default
    if len(value) > max_chars:
        raise bad_parameter(name, f"at most {max_chars} characters allowed (got {len(value)})")
    if "\x00" in value:
        raise bad_parameter(name, "must not contain NUL characters")
    return value


def list_arg(name: str, *, max_values: int = MAX_FILTER_VALUES) -> list[str]:
    """A repeatable argument (?x=a&x=b, or comma-separated), empty values dropped."""
    values: list[str] = []
    for raw in request.args.getlist(name):
        if len(raw) > MAX_ID_CHARS * 4:
            raise bad_parameter(name, f"at most {MAX_ID_CHARS * 4} characters allowed")
        values += [v.strip() for v in raw.split(",") if v.strip()]
    if len(values) > max_values:
        raise bad_parameter(name, f"at most {max_values} values allowed (got {len(values)})")
    if any("\x00" in v for v in values):
        raise bad_parameter(name, "must not contain NUL characters")
    return list(dict.fromkeys(values))


def int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer argument within [low, high]."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise bad_parameter(name, f"must be an integer, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise bad_parameter(name, f"must be between {low} and {high} (got {value})")
    return value


def choice_arg(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of a fixed set of values."""
    value = request.args.get(name) or default
    if value not in choices:
        raise bad_parameter(name, f"must be one of {', '.join(choices)}")
    return value


def bool_arg(name: str, default: bool) -> bool:
    """true/false, 1/0, yes/no."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise bad_parameter(name, "must be true or false")


def since_arg(name: str, default: str) -> str:
    """An ISO date (YYYY-MM-DD) or timestamp; returned normalised as ISO text."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise bad_parameter(name, f"must be an ISO date like 2024-01-31, not {raw[:40]!r}") from None


def json_body() -> dict[str, Any]:
    """The request's JSON object body: 415 unless application/json, 400 when malformed."""
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "request body is not valid JSON", "malformed_json")
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", "bad_request")
    return data


def id_list(body: dict[str, Any], name: str, *, required: bool, max_items: int = MAX_LIKED) -> list[str]:
    """A list of paper id strings from a JSON body, at most `max_items`."""
    value = body.get(name)
    if value is None:
        if required:
            raise bad_parameter(name, "is required (a list of paper ids)")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_parameter(name, "must be a list of paper id strings")
    if len(value) > max_items:
        raise bad_parameter(name, f"at most {max_items} ids allowed (got {len(value)})")
    if any(not 1 <= len(v) <= MAX_ID_CHARS for v in value):
        raise bad_parameter(name, f"ids must be non-empty strings of at most {MAX_ID_CHARS} characters")
    return value


def unknown_sections(section_ids: list[str], stored: Iterable[str]) -> list[str]:
    """The ids that name no stored list section nor a heading above one (the filter matches both)."""
    known = set(stored)
    return [s for s in section_ids if s not in known and not any(k.startswith(s + "/") for k in known)]
