"""kg.validation.parse_since: a `+` offset typed unencoded in a URL (a space once the query string is
decoded) is read as the `+` it was; nothing else changes (tests/kg/test_validation.py has the rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kg.validation import SINCE_RULE, normalise_since, parse_since


@pytest.mark.parametrize(("typed", "meant"), [
    ("2026-11-27T08:05:22 01:00", "2026-11-27T08:05:22+01:00"),
    ("2026-11-27T08:05:22.5 05:30", "2026-11-27T08:05:22.5+05:30"),
    ("2026-11-27t08:05:22 00:00", "2026-11-27T08:05:22+00:00"),
])
def test_a_space_where_the_offsets_sign_goes_is_a_plus(typed: str, meant: str) -> None:
    parsed = parse_since(typed)
    assert isinstance(parsed, datetime) and parsed == datetime.fromisoformat(meant)
    assert parsed.utcoffset() == datetime.fromisoformat(meant).utcoffset()
    assert normalise_since(typed) == normalise_since(meant)


def test_the_offset_keeps_its_value() -> None:
    assert parse_since("2026-11-27T08:05:22 01:00").tzinfo == timezone(timedelta(hours=1))
    assert parse_since("2026-11-27T08:05:22 01:00").astimezone(UTC).hour == 7


@pytest.mark.parametrize("value", [
    "2026-11-27T08:05:22  01:00", "2026-11-27T08:05:22 0100", "2026-11-27 01:00", " 01:00",
    "2026-11-27T08:05 01:00", "2026-11-27T08:05:22 01:00 ", "2026-11-27T08:05:22 24:00",
    "2026-11-27 08:05:22Z",
])
def test_other_spaces_are_still_refused(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_since(value)
    assert str(caught.value) == f"not an ISO date or timestamp: {value!r} (use {SINCE_RULE})"
