"""The search form's list section filter with a heading above sections (`section=findings-and-applications`,
which the API takes and README documents): offered as an option, named in the title and the count line,
and kept when the form is submitted again; and the form's hints on the year filter and on how filters
combine, checked against what the store does.

The seed corpus in a real SQLite store (test_web's fixtures, HashEmbedder vectors) through the Flask test
client; the form is read with a real HTML parser and submitted as a browser without JavaScript would."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import ListRow, Paper, PaperBundle, SearchFilters, TechniqueUse
from tests.api import test_web
from tests.api.test_web import Inspector, page, row_ids
from tests.api.test_web_share_metadata import select_of, title
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

HEADING = "findings-and-applications"
SUB_HEADING = "findings-and-applications/findings-on-circuits"

# test_web.py's fixtures, not a copy of them: the seed corpus with the HashEmbedder.
store = test_web.store
app = test_web.app
client = test_web.client


class SearchForm(HTMLParser):
    """The fields #search-form submits, as a browser without JavaScript sends them: every named input
    with its value (a radio only when checked), every select's selected options (a single select with
    none selected sends its first option)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._select: tuple[str, bool] | None = None
        self._options: list[tuple[str, bool]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect the form's fields."""
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "search-form"
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and (a.get("type") != "radio" or "checked" in a):
            self.fields.append((str(a["name"]), a.get("value") or ""))
        elif tag == "select":
            self._select, self._options = (str(a["name"]), "multiple" in a), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        """End a select (its selected values become fields) or the form."""
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select is not None:
            name, multiple = self._select
            values = [v for v, selected in self._options if selected]
            if not values and not multiple and self._options:
                values = [self._options[0][0]]
            self.fields.extend((name, v) for v in values)
            self._select = None


def resubmitted(html: str, **changes: str) -> str:
    """The URL the page's search form goes to when submitted with `changes` typed into its fields."""
    fields = [(name, changes.get(name, value)) for name, value in SearchForm(html).fields]
    return "/search?" + urlencode(fields)


def section_options(html: str) -> list[tuple[str, str]]:
    """The section select's options: (value, text)."""
    part = html.split('<select name="section"', 1)[1].split("</select>", 1)[0]
    out: list[tuple[str, str]] = []
    for chunk in part.split("<option")[1:]:
        doc = Inspector("<option" + chunk.split("</option>", 1)[0] + "</option>")
        out.append((str(doc.elements[0][1].get("value")), "".join(doc.text).strip()))
    return out


def count_line(html: str) -> str:
    """The text of the results' count line."""
    doc = Inspector(html.split('<h2 class="result-count"', 1)[1].split("</h2>", 1)[0].join(("<h2 ", "</h2>")))
    return " ".join("".join(doc.text).split())


# -- 1. a heading in the URL -----------------------------------------------------------------------

def test_a_heading_in_the_url_is_chosen_named_and_applied(client: FlaskClient, store: EmbeddedStore) -> None:
    """QA: /search?technique=activation_patching&section=findings-and-applications applied the heading but
    the select had nothing selected and the title said only "filtered: Activation Patching"."""
    html = page(client, f"/search?q=&technique=activation_patching&section={HEADING}")
    allowed = store.filter_ids(SearchFilters(technique_ids=["activation_patching"], section_ids=[HEADING]))
    assert allowed and set(row_ids(html)) == allowed
    attrs, chosen = select_of(html, "section")
    assert chosen == [HEADING] and "multiple" not in attrs
    assert title(html) == "Search · Activation Patching, Findings and Applications (all) · paperkg"
    assert count_line(html).endswith("filtered: Activation Patching, Findings and Applications (all)")


def test_resubmitting_the_form_keeps_a_heading(client: FlaskClient, store: EmbeddedStore) -> None:
    """QA: changing "From" to 2023 and submitting lost the heading: 5 papers where the API gave 2."""
    html = page(client, f"/search?q=&technique=activation_patching&section={HEADING}")
    url = resubmitted(html, year_from="2023")
    assert ("section", HEADING) in SearchForm(html).fields
    wanted = SearchFilters(technique_ids=["activation_patching"], section_ids=[HEADING], year_from=2023)
    again = page(client, url)
    assert store.filter_ids(wanted) and set(row_ids(again)) == store.filter_ids(wanted)
    assert store.filter_ids(wanted) != store.filter_ids(
        SearchFilters(technique_ids=["activation_patching"], year_from=2023))  # the heading matters here
    assert select_of(again, "section")[1] == [HEADING]


def test_a_heading_under_a_heading_is_kept_and_named_by_its_path(client: FlaskClient) -> None:
    html = page(client, f"/search?section={SUB_HEADING}")
    assert select_of(html, "section")[1] == [SUB_HEADING]
    assert title(html) == "Search · Findings and Applications › Findings on circuits (all) · paperkg"
    assert ("section", SUB_HEADING) in SearchForm(html).fields


def test_a_heading_and_a_section_make_a_multiple_select_that_keeps_both(client: FlaskClient) -> None:
    html = page(client, f"/search?section={HEADING}&section=tools")
    attrs, chosen = select_of(html, "section")
    assert "multiple" in attrs and sorted(chosen) == [HEADING, "tools"]
    assert title(html) == "Search · Findings and Applications (all) or Tools · paperkg"
    assert [v for n, v in SearchForm(html).fields if n == "section"] == [HEADING, "tools"]


def test_the_select_offers_each_heading_before_its_sections_with_its_paper_count(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    options = section_options(page(client, "/search"))
    values = [v for v, _ in options]
    stored = [str(s["id"]) for s in store.list_sections()]
    assert values[0] == "" and set(values[1:]) == {*stored, HEADING, SUB_HEADING}
    # Each heading comes right before the first of its sections, which follow it together.
    for heading in (HEADING, SUB_HEADING):
        at = values.index(heading)
        under = [i for i, v in enumerate(values) if v.startswith(heading + "/")]
        assert under == list(range(at + 1, at + 1 + len(under))) and under
    # A heading's count is its papers (one listed in two of its sections counted once), as filtering says.
    for value, text in options[1:]:
        assert text.endswith(f"({len(store.filter_ids(SearchFilters(section_ids=[value])))})"), text
    assert dict(options)[HEADING].startswith("Findings and Applications (all) (")


# -- 2. headings the cached options do not have yet ---------------------------------------------------

@pytest.fixture
def small_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """One paper listed under a heading whose id leaves out the top heading of its path."""
    s = taxonomy_store(tmp_path / "paperkg.sqlite3")
    s.upsert_papers([listed("p1", "Heads", "papers/circuits", ["Paper Collection", "Papers", "Circuits"])])
    yield s
    s.close()


def listed(paper_id: str, title_text: str, section: str, path: list[str]) -> PaperBundle:
    """A paper (HashEmbedder vector) listed in `section` with heading path `path`."""
    embedder = HashEmbedder()
    paper = Paper(id=paper_id, title=title_text, abstract="About heads.", year=2024, sources=["list"],
                  embedding=np.asarray(embedder.encode_query(title_text), dtype=np.float32),
                  embedding_model=embedder.model_name)
    return PaperBundle(paper=paper, techniques=[TechniqueUse("sae", "list")],
                       list_rows=[ListRow(section_id=section, section_title=path[-1], section_path=path)])


@pytest.fixture
def small_app(small_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app over the small store, its form options cached for an hour."""
    monkeypatch.setattr("api.web.FORM_OPTIONS_CACHE_SECONDS", 3600.0)
    return create_app({"STORE": small_store, "EMBEDDER": HashEmbedder(), "TESTING": True})


def test_a_heading_label_skips_the_path_heading_the_ids_leave_out(small_app: Flask) -> None:
    options = section_options(page(small_app.test_client(), "/search"))
    assert options[1:] == [("papers", "Paper Collection › Papers (all) (1)"),
                           ("papers/circuits", "Paper Collection › Papers › Circuits (1)")]


def test_a_heading_stored_after_the_options_were_cached_is_still_kept(small_app: Flask,
                                                                     small_store: EmbeddedStore) -> None:
    c = small_app.test_client()
    page(c, "/search")  # caches the form's options
    small_store.upsert_papers([listed("p2", "Probes", "tools/probes", ["Tools", "Probes"])])
    html = page(c, "/search?section=tools")
    assert row_ids(html) == ["p2"]
    assert select_of(html, "section")[1] == ["tools"]
    assert ("section", "tools") in SearchForm(html).fields


# -- 3. the hints on the year filter and on how filters combine ---------------------------------------

def test_the_year_hint_says_which_year_and_that_undated_papers_are_left_out(
    small_app: Flask, small_store: EmbeddedStore
) -> None:
    undated = listed("undated", "Heads without a date", "papers/circuits", ["Papers", "Circuits"])
    undated.paper.year = None
    small_store.upsert_papers([undated])
    c = small_app.test_client()
    html = page(c, "/search")
    doc = Inspector(html)
    groups = [a for tag, a in doc.elements if tag == "fieldset" and a.get("aria-describedby") == "f-year-hint"
              and a.get("class") == "modes f-years"]
    assert len(groups) == 1  # the year fields' group is described by the hint
    hint = html.split('id="f-year-hint">', 1)[1].split("</span>", 1)[0]
    assert "own year (its first arXiv version’s once arXiv has described it)" in hint
    assert "papers without a year are left out" in hint
    # What the hint says is what the filter does: a paper without a year passes no year range.
    assert sorted(row_ids(page(c, "/search?source=list"))) == ["p1", "undated"]
    assert row_ids(page(c, "/search?source=list&year_from=1900")) == ["p1"]
    assert row_ids(page(c, "/search?source=list&year_to=2100")) == ["p1"]


def test_the_form_says_how_filters_combine(client: FlaskClient, store: EmbeddedStore) -> None:
    html = page(client, "/search")
    help_text = " ".join(html.split("data-filter-help>", 1)[1].split("</p>", 1)[0].split())
    assert help_text == ("A paper must pass every filter you set; a filter with several values (repeat it in "
                         "the address: <code>&amp;section=a&amp;section=b</code>) matches papers with any of "
                         "them. Several techniques (“Add a technique”): any of them, or each of them, as "
                         "the form then asks; a refinement stands in for its parent, so a technique with one "
                         "of its own refinements (SAE and Transcoder) finds that refinement’s papers. A "
                         "count “incl. refinements” takes the papers of the technique’s refinements too.")
    # As the search does: two sections OR'ed, a section and a technique AND'ed.
    both = set(row_ids(page(client, "/search?section=tools&section=evaluation")))
    assert both == (store.filter_ids(SearchFilters(section_ids=["tools"]))
                    | store.filter_ids(SearchFilters(section_ids=["evaluation"])))
    anded = set(row_ids(page(client, f"/search?section={HEADING}&technique=activation_patching")))
    assert anded == (store.filter_ids(SearchFilters(section_ids=[HEADING]))
                     & store.filter_ids(SearchFilters(technique_ids=["activation_patching"])))
