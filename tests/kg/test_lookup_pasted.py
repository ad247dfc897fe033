"""Paper ids typed or pasted into a URL (kg.lookup.find_pasted_paper): the punctuation a pasted link picks
up, and capitals read as lower case (the case of ingest's ids), never by reading every stored id."""

from __future__ import annotations

import pytest

from kg.lookup import find_pasted_paper, without_pasted_punctuation

STORED = {"2211.00593": "ioi", "math-framework": "slug", "MyLab-7": "lab", "Twin": "upper", "twin": "lower",
          "odd-id.": "dot", "a-(b)": "brackets"}
MOVED = {"former-slug": "2211.00593"}


def find(given: str, asked: list[str] | None = None) -> tuple[str, str] | None:
    """find_pasted_paper over STORED, recording each id looked up in `asked`."""
    def get(paper_id: str) -> str | None:
        if asked is not None:
            asked.append(paper_id)
        return STORED.get(paper_id)

    return find_pasted_paper(given, get, MOVED.get)


@pytest.mark.parametrize(("given", "expected"), [
    ("2211.00593.", "2211.00593"), ("2211.00593)", "2211.00593"), ("2211.00593,", "2211.00593"),
    ("2211.00593).", "2211.00593"), ("2211.00593\u201d", "2211.00593"), ("2211.00593 ", "2211.00593"),
    ("2211.00593v2.", "2211.00593"), ("2211.00593V2", "2211.00593"), ("former-slug;", "2211.00593"),
    ("Former-Slug", "2211.00593"), ("Math-Framework", "math-framework"),
    ("MATH-FRAMEWORK)", "math-framework"),
    ("MyLab-7", "MyLab-7"), ("odd-id.", "odd-id."), ("a-(b)", "a-(b)"), ("Twin", "Twin"), ("twin", "twin"),
    # Two stored ids that differ only in case: each by its own spelling, any other spelling the lower-case
    # one, as the ids ingest makes are lower case (arXiv ids, slugs).
    ("TWIN", "twin"), ("tWin", "twin"),
])
def test_a_pasted_or_typed_id_finds_the_stored_paper(given: str, expected: str) -> None:
    found = find(given)
    assert found is not None and found[0] == expected


# "mylab-7": an id with capitals (a records file's) is found as given only; no match but for case is
# looked for among every stored id.
@pytest.mark.parametrize("given", ["mylab-7", "MYLAB-7", "unknown", "2211.00594.", "math-frame", ""])
def test_unknown_ids_find_nothing(given: str) -> None:
    assert find(given) is None


def test_a_missing_id_costs_a_few_look_ups_by_id() -> None:
    asked: list[str] = []
    assert find("No-Such-Slug).", asked) is None
    assert asked == ["No-Such-Slug).", "No-Such-Slug", "no-such-slug"]
    asked = []
    assert find("2211.00599).", asked) is None and asked == ["2211.00599).", "2211.00599"]


@pytest.mark.parametrize(("given", "expected"), [
    ("x.", "x"), ("x,)", "x"), ("(x)", "(x)"), ("x))", "x"), ("f(x))", "f(x)"), (" x\u2019 ", "x"),
    ("x>", "x"), ("<x>", "<x>"), ("...", ""),
])
def test_without_pasted_punctuation(given: str, expected: str) -> None:
    assert without_pasted_punctuation(given) == expected


def test_without_pasted_punctuation_is_linear_in_a_run_of_brackets() -> None:
    assert without_pasted_punctuation("x" + ")" * 200_000) == "x"
