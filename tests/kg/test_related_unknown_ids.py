"""UnknownPaper's message: "id" for one, "ids" for several (QA: "unknown paper id(s): nonexistent")."""

from __future__ import annotations

from kg.related import UnknownPaper


def test_one_unknown_id_is_singular() -> None:
    assert str(UnknownPaper(["nonexistent"])) == "unknown paper id: nonexistent"


def test_several_are_plural() -> None:
    error = UnknownPaper(["a", "b"])
    assert str(error) == "unknown paper ids: a, b" and error.paper_ids == ["a", "b"]
