"""Paper ids typed or pasted into a URL (kg.lookup.find_pasted_paper): the punctuation a pasted link picks
up, capitals, and no guess between two stored ids that differ only in case."""

from __future__ import annotations

import pytest

from kg.lookup import find_pasted_paper, without_pasted_punctuation

STORED = {"2211.00593": "ioi", "math-framework": "slug", "MyLab-7": "lab", "Twin": "upper", "twin": "lower",
          "odd-id.": "dot", "a-(b)": "brackets"}
MOVED = {"former-slug": "2211.00593"}


def find(given: str, ids: list[str] | None = None) -> tuple[str, str] | None:
    """find_pasted_paper over STORED, recording whether every id was read."""
    def stored_ids() -> list[str]:
        if ids is not None:
            ids.append("read")
        return list(STORED)

    return find_pasted_paper(given, STORED.get, MOVED.get, stored_ids)


@pytest.mark.parametrize(("given", "expected"), [
    ("2211.00593.", "2211.00593"), ("2211.00593)", "2211.00593"), ("2211.00593,", "2211.00593"),
    ("2211.00593).", "2211.00593"), ("2211.00593\u201d", "2211.00593"), ("2211.00593 ", "2211.00593"),
    ("2211.00593v2.", "2211.00593"), ("former-slug;", "2211.00593"),
    ("Math-Framework", "math-framework"), ("MATH-FRAMEWORK)", "math-framework"), ("mylab-7", "MyLab-7"),
    ("odd-id.", "odd-id."), ("a-(b)", "a-(b)"), ("Twin", "Twin"), ("twin", "twin"),
])
def test_a_pasted_or_typed_id_finds_the_stored_paper(given: str, expected: str) -> None:
    found = find(given)
    assert found is not None and found[0] == expected


@pytest.mark.parametrize("given", ["TWIN", "tWin", "unknown", "2211.00594.", "math-frame", ""])
def test_no_guess_between_ids_that_differ_only_in_case_nor_for_unknown_ids(given: str) -> None:
    assert find(given) is None


def test_every_id_is_read_only_when_the_cheap_look_ups_miss_and_case_can_differ() -> None:
    for given in ("math-framework", "2211.00593)", "2211.00599", "2211.00599)."):
        read: list[str] = []
        find(given, read)
        assert read == [], given
    read = []
    assert find("Math-Framework", read) == ("math-framework", "slug") and read == ["read"]


@pytest.mark.parametrize(("given", "expected"), [
    ("x.", "x"), ("x,)", "x"), ("(x)", "(x)"), ("x))", "x"), ("f(x))", "f(x)"), (" x\u2019 ", "x"),
    ("x>", "x"), ("<x>", "<x>"), ("...", ""),
])
def test_without_pasted_punctuation(given: str, expected: str) -> None:
    assert without_pasted_punctuation(given) == expected


def test_without_pasted_punctuation_is_linear_in_a_run_of_brackets() -> None:
    assert without_pasted_punctuation("x" + ")" * 200_000) == "x"
