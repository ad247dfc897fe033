"""Records (ingest/records.py): the one place every source's text is cleaned, the paper id a record
gets, the checks that name the field a record cannot be stored with, and a list row's forms."""

from __future__ import annotations

import pytest

from ingest.records import ListRowRecord, Record
from kg.validation import MAX_AUTHORS, MAX_TEXT_CHARS, MAX_TITLE_CHARS


def row(**kw: object) -> ListRowRecord:
    """A list row under Findings and Applications / Findings on Features."""
    fields: dict[str, object] = {"section_path": ["Findings and Applications", "Findings on Features"],
                                 "title_in_list": "Toy Models of Superposition", "techniques": "SAE",
                                 "tldr": "Features in superposition.", "technique_ids": ["sae"], "line": 12}
    return ListRowRecord(**{**fields, **kw})  # type: ignore[arg-type]


def test_text_is_cleaned_on_construction_and_ids_are_not() -> None:
    rec = Record(source="records", source_id="r\x001",
                 title="Sparse \x00autoencoders\u202e find \x0bfeatures", authors=["Ada\x07 Lovelace"],
                 abstract="Line one\r\nline\u2066 two.", categories=["cs.LG\x1b"], explicit_id="bad\x00id")
    assert rec.title == "Sparse autoencoders find features"  # the space a removed character left is closed
    assert rec.authors == ["Ada Lovelace"] and rec.categories == ["cs.LG"]
    assert rec.abstract == "Line one\nline two." and rec.source_id == "r1"
    assert rec.explicit_id == "bad\x00id"  # checked, not cleaned: a cleaned id would name another paper
    assert rec.sources == ["records"]
    merged = Record(source="list", source_id="x", title="Two  spaces", sources=["list", "arxiv"])
    assert merged.title == "Two  spaces"  # nothing removed: the title is left as the source wrote it
    assert merged.sources == ["list", "arxiv"]


def test_list_row_text_is_cleaned_too() -> None:
    r = row(section_path=["Findings\x00"], tldr="TL\u202e;DR", extra={"Notes\x07": "n\x00b"},
            unknown_techniques=["Fancy\x1b method"])
    assert (r.section_path, r.tldr, r.extra, r.unknown_techniques) == (
        ["Findings"], "TL;DR", {"Notes": "nb"}, ["Fancy method"])


@pytest.mark.parametrize(("arxiv_id", "explicit_id", "expected"), [
    ("2211.00593v2", "my-id", "2211.00593"),
    (None, "my-id", "my-id"),
    (None, None, "sparse-autoencoders-find-features"),
])
def test_the_paper_id_is_the_arxiv_id_else_the_given_id_else_the_title(
    arxiv_id: str | None, explicit_id: str | None, expected: str
) -> None:
    rec = Record(source="records", source_id="1", title="Sparse Autoencoders: Find Features!",
                 arxiv_id=arxiv_id, explicit_id=explicit_id)
    assert rec.paper_id == expected
    assert rec.title_key == "sparse autoencoders find features"


def test_a_storable_record_passes_its_check() -> None:
    Record(source="arxiv", source_id="2211.00593v2", title="Interpretability in the Wild",
           authors=["Kevin Wang"], arxiv_id="2211.00593v2", list_rows=[row()]).check()


@pytest.mark.parametrize(("changes", "message"), [
    ({"authors": ["A"] * (MAX_AUTHORS + 1)},
     f"'authors' has {MAX_AUTHORS + 1} names (the limit is {MAX_AUTHORS})"),
    ({"title": "t" * (MAX_TITLE_CHARS + 1)}, f"'title' is {MAX_TITLE_CHARS + 1} characters long"),
    ({"abstract": "half a pair \udc80"}, "'abstract' is not valid Unicode text"),
    ({"urls": ["https://example.org", "u" * (MAX_TEXT_CHARS + 1)]}, "'urls' is"),
    ({"list_rows": [row(), row(tldr="x" * (MAX_TEXT_CHARS + 1))]}, "'list_rows[1].tldr' is"),
    ({"list_rows": [row(section_path=["Ok", "\ud800"])]}, "'list_rows[0].section_path' is not valid Unicode"),
    ({"arxiv_id": "2211_00593"}, "'arxiv_id' must be an arXiv id"),
    ({"explicit_id": "two words"}, "'id' must be letters, digits"),
    # One name too long is that author's error, not the list's.
    ({"authors": ["Ada", "B" * 2000]}, "author 2 of 'authors' is 2000 characters long (the limit is 300)"),
    # A URL urlsplit cannot read, as the record holds it once cleaned (the ESC removed): every page
    # linking it, and matching list rows by their links, raised on it.
    ({"url": "https://x\x1b[evil]/p"}, "'url' is not a valid URL ('evil' does not appear to be an IPv4"),
    ({"pdf_url": "http://[x"}, "'pdf_url' is not a valid URL"),
    ({"urls": ["https://example.org", "https://x[evil]/"]}, "'urls' is not a valid URL"),
    ({"list_rows": [row(url_in_list="https://x[evil]/")]}, "'list_rows[0].url_in_list' is not a valid URL"),
])
def test_check_names_the_field_a_record_cannot_be_stored_with(
    changes: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"source": "records", "source_id": "1", "title": "A title", **changes}
    rec = Record(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as raised:
        rec.check()
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_list_row_knows_its_section_and_becomes_a_listed_in_edge() -> None:
    r = row()
    assert (r.section, r.subsection) == ("Findings and Applications", "Findings on Features")
    assert r.section_id == "findings-and-applications/findings-on-features"
    edge = r.to_list_row()
    assert (edge.section_id, edge.section_title, edge.section_path) == (
        r.section_id, "Findings on Features", ["Findings and Applications", "Findings on Features"])
    assert (edge.tldr, edge.techniques_text, edge.title_in_list, edge.line) == (
        "Features in superposition.", "SAE", "Toy Models of Superposition", 12)
    top = row(section_path=["Tools"])
    assert (top.subsection, top.section_id) == (None, "tools")
    assert row(section_path=[]).to_list_row().section_title == ""


def test_verbatim_repeats_of_a_row_share_an_identity() -> None:
    # Same section and cells, another title or line: the same row (an ingest keeps it once, counted).
    assert row().identity() == row(title_in_list="Toy models", line=40).identity()
    assert row().identity() != row(tldr="Another TL;DR.").identity()
    assert row().identity() != row(section_path=["Findings and Applications"]).identity()


def test_json_forms_carry_the_derived_fields() -> None:
    r = row(source_line=3)
    out = r.to_dict()
    assert "source_line" not in out  # where this ingest read it: never stored
    assert (out["section"], out["subsection"], out["section_id"], out["line"]) == (
        r.section, r.subsection, r.section_id, 12)
    rec = Record(source="records", source_id="1", title="Toy Models", explicit_id="toy", list_rows=[r])
    data = rec.to_dict()
    assert (data["id"], data["title_key"]) == ("toy", "toy models")
    assert data["list_rows"] == [out]
