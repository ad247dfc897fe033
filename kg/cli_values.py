"""Click parameter types that refuse a bad option value in the project's words, echoing the value given
(the API's for numbers, api.params.int_arg): every command's --wait, --batch-size, --limit, --format."""

from __future__ import annotations

import math
from typing import Any

import click

SHOWN_ARG_CHARS = 80


def shown_arg(value: str, limit: int = SHOWN_ARG_CHARS) -> str:
    """A command-line value as an error message echoes it: bytes that are not UTF-8 (lone surrogates in
    Python) as the \\xNN typed, terminal controls removed, and cut to `limit` characters plus "…" (a
    100,000-character id echoed whole buried the message)."""
    from kg.safe_output import shown_text

    return shown_text(value, limit)


class Choice(click.ParamType):
    """One of `choices`, refused in the project's words, the value echoed: "Invalid value for '--format':
    'xml' is not a format; use jsonl, csv or bibtex" (click's own: "'xml' is not one of 'jsonl', 'csv',
    'bibtex'.")."""

    name = "choice"

    def __init__(self, choices: list[str], what: str) -> None:
        self.choices = choices
        self.what = what

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        """[jsonl|csv|bibtex], as click's Choice shows it."""
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The value when it is one of the choices, else a usage error naming it and the choices."""
        if value in self.choices:
            return str(value)
        listed = ", ".join(self.choices[:-1]) + f" or {self.choices[-1]}"
        self.fail(f"'{shown_arg(str(value))}' is not a {self.what}; use {listed}", param, ctx)


class WholeNumber(click.ParamType):
    """An integer of at least `low` (and at most `high`), refused in the API's words (api.params.int_arg)
    with the value echoed: "must be at least 1, not '0'", "must be an integer, not '1.5'" (click's IntRange
    said "0 is not in the range x>=1.")."""

    name = "integer"

    def __init__(self, low: int, high: int | None = None) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """`value` as an int within the range, else a usage error naming the value given."""
        if isinstance(value, int) and not isinstance(value, bool):  # the default
            return value
        shown = repr(shown_arg(str(value)))
        text = str(value).strip()
        if not (text.isascii() and text.lstrip("+-").isdigit()):
            self.fail(f"must be an integer, not {shown}", param, ctx)
        number = int(text)
        if self.high is not None and not self.low <= number <= self.high:
            self.fail(f"must be between {self.low} and {self.high}, not {shown}", param, ctx)
        if number < self.low:
            self.fail(f"must be at least {self.low}, not {shown}", param, ctx)
        return number


class Seconds(click.ParamType):
    """A number of seconds, 0 or more (--wait), refused in the words a PAPERKG_* number is ("must be 0 or
    more, not '-1'"): click's FloatRange said "-1.0 is not in the range x>=0." and took "nan"."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """`value` as a float, or a usage error naming the value given."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # the default
            return float(value)
        text = str(value)
        shown = repr(shown_arg(text))
        try:
            number = float(text)
        except ValueError:
            self.fail(f"must be a number of seconds, not {shown}", param, ctx)
        if not math.isfinite(number):  # "nan" passes every comparison; "inf" waits for ever
            self.fail(f"must be a finite number, not {shown}", param, ctx)
        if number < 0:
            self.fail(f"must be 0 or more, not {shown}", param, ctx)
        return number


SECONDS = Seconds()
