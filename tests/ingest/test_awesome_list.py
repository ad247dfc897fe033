"""The awesome-list parser and the normalisation helpers it relies on."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ingest.awesome_list import (
    _COMPARED_TITLE_CLUSTERS,
    MAX_ROW_CHARS,
    ListSourceError,
    _clean,
    _heading,
    _html_links,
    _tidy_title,
    _without_html_links,
    _without_tags,
    _wrapped,
    heading_chains,
    map_labels,
    parse_list,
    read_list_source,
)
from ingest.normalize import (
    arxiv_id_from_url,
    dedupe_records,
    doi_from_text,
    slugify,
    split_venue_tag,
    strip_arxiv_version,
    title_key,
)
from ingest.records import ListRowRecord, Record
from kg.taxonomy import Taxonomy


# -- normalisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("url, expected", [
    ("https://arxiv.org/pdf/2211.00593v3", "2211.00593"),
    ("arxiv.org/pdf/2211.00593v3", "2211.00593"),
    ("https://arxiv.org/abs/2211.00593", "2211.00593"),
    ("http://arxiv.org/abs/2410.99901v2", "2410.99901"),
    ("https://arxiv.org/html/2406.12288v1", "2406.12288"),
    ("https://arxiv.org/pdf/2203.14680.pdf", "2203.14680"),
    ("https://export.arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
    ("2309.04827v2", "2309.04827"),
    ("https://openreview.net/forum?id=fpoAYV6Wsk", None),
    ("https://aclanthology.org/2022.acl-long.581.pdf", None),
])
def test_arxiv_id_from_any_url_form(url: str, expected: str | None) -> None:
    assert arxiv_id_from_url(url) == expected


def test_version_stripping_and_doi() -> None:
    assert strip_arxiv_version("2211.00593v3") == "2211.00593"
    assert doi_from_text("https://doi.org/10.18653/v1/2022.acl-long.581") == "10.18653/v1/2022.acl-long.581"
    assert doi_from_text("see doi:10.5555/MI-Workshop.2024.0001.") == "10.5555/mi-workshop.2024.0001"
    assert doi_from_text("https://openreview.net/pdf?id=F76bwRSLeK") is None


def test_merging_repeated_rows_counts_them_without_touching_the_inputs() -> None:
    def record(source_id: str) -> Record:
        row = ListRowRecord(section_path=["Circuits"], title_in_list="IOI", tldr="same row")
        return Record(source="list", source_id=source_id, title="IOI", list_rows=[row])

    records = [record("a"), record("b")]
    first = dedupe_records(records)
    second = dedupe_records(records)  # the pipeline de-duplicates records a parse already merged
    assert [r.occurrences for r in first[0].list_rows] == [2]
    assert [r.occurrences for r in second[0].list_rows] == [2]
    assert [r.list_rows[0].occurrences for r in records] == [1, 1]


def test_title_key_strips_case_punctuation_and_venue_tags() -> None:
    base = title_key("In-context Learning and Induction Heads")
    assert base == "in context learning and induction heads"
    assert title_key("In-context learning and induction heads.") == base
    assert title_key("Successor Heads: Recurring (ICLR'24)") == title_key("successor heads recurring")
    assert title_key("Sparse feature circuits [NeurIPS 2023]") == title_key("Sparse Feature Circuits")
    assert title_key("Causal Scrubbing: a method [Redwood Research]") == title_key("Causal scrubbing: a method")  # noqa: E501
    assert split_venue_tag("Knowledge Neurons in Pretrained Transformers (ACL'22)") == (
        "Knowledge Neurons in Pretrained Transformers", "ACL'22")
    assert split_venue_tag("Toy Models of Superposition") == ("Toy Models of Superposition", None)
    assert slugify("Interpreting GPT: the logit lens") == "interpreting-gpt-the-logit-lens"


# -- the seed list ---------------------------------------------------------------------------
def _rows_signature(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["section"], r["subsection"], tuple(r["technique_ids"]), tuple(r["evaluation_ids"]),
         r.get("occurrences") or 1, r["tldr"])
        for r in rows
    )


def test_seed_list_rows_become_37_papers_and_1_tool(
    seed_list: str, seed_records: list[dict[str, Any]], taxonomy: Taxonomy
) -> None:
    parsed = parse_list(seed_list, taxonomy)
    assert len(parsed.rows) == 58
    assert sum(1 for p in parsed.papers if p.item_type == "paper") == 37
    assert [p.title for p in parsed.papers if p.item_type == "tool"] == ["CircuitsVis"]
    assert parsed.unknown_labels == []
    assert parsed.unreadable_rows == []
    # Every row is accounted for: the papers' rows (duplicates counted) add up to 58.
    assert sum(r.occurrences for p in parsed.papers for r in p.list_rows) == 58

    by_url = {u: s for s in seed_records for u in s["urls_in_list"]}
    matched = set()
    for paper in parsed.papers:
        seeds = {by_url[u]["id"] for u in paper.urls}
        assert len(seeds) == 1, f"{paper.title}: links of several seed papers {seeds}"
        seed = by_url[paper.urls[0]]
        matched.add(seed["id"])
        assert sorted(paper.urls) == sorted(seed["urls_in_list"])
        mine = [r.to_dict() for r in paper.list_rows]
        assert _rows_signature(mine) == _rows_signature(seed["list_rows"]), paper.title
        if paper.arxiv_id:  # an arXiv link in the list: the id is the seed's
            assert paper.paper_id == seed["id"] == seed["arxiv_id"]
    assert matched == {s["id"] for s in seed_records}


def test_seed_list_sections_labels_and_venues(seed_list: str, taxonomy: Taxonomy) -> None:
    parsed = parse_list(seed_list, taxonomy)
    ioi = next(p for p in parsed.papers if p.arxiv_id == "2211.00593")
    sections = {r.section_id for r in ioi.list_rows}
    assert sections == {
        "techniques", "evaluation",
        "findings-and-applications/findings-on-circuits/interpreting-transformer-components",
        "findings-and-applications/findings-on-universality",
    }
    evaluation_row = next(r for r in ioi.list_rows if r.section == "Evaluation")
    assert evaluation_row.evaluation_ids == ["faithfulness", "completeness", "minimality"]
    scrubbing = next(p for p in parsed.papers if p.title.startswith("Causal Scrubbing"))
    assert scrubbing.list_rows[0].technique_ids == ["resampling_ablation", "causal_scrubbing"]
    haystack = next(p for p in parsed.papers if p.arxiv_id == "2305.01610")
    assert haystack.venue == "TMLR'23"
    assert len(haystack.urls) == 2  # arXiv and openreview links: one paper
    logit_lens = next(p for p in parsed.papers if "logit lens" in p.title.lower())
    tldrs = [r.tldr for r in logit_lens.list_rows]
    assert any("LM’s current" in (t or "") for t in tldrs)  # mojibake repaired


# -- new formats -------------------------------------------------------------------------------
NEW_FORMAT = """# A list

## Papers

### Circuits
| Paper | Techniques | TL;DR | Code |
| --- | --- | --- | --- |
| [Paper One (NeurIPS'23)](https://arxiv.org/abs/2301.00001v2) [[pdf]](https://arxiv.org/pdf/2301.00001) \
| Activation Patching & Path Patching | first | [code](https://github.com/x/one) |
| [Paper Two](https://openreview.net/forum?id=abc) | Zero-ablation/Mean-ablation, Quantum Probing | second | |
|  | Probing | a row without a paper | |
| [Paper Three](https://example.org/three) | N/A | | |
| [Paper Three](https://example.org/three) | N/A | | |

Some text | with a pipe that is not a table.

#### Deeper
| Title | TL;DR |
|:--|:--|
| [Paper Two [ICML 2024]](https://doi.org/10.1234/two.5) | again, in another section |
| Just a plain title without link | plain |

### Evaluation
| Paper | Evaluation | TL;DR |
| :--- | :---: | :--- |
| [Paper One](https://arxiv.org/pdf/2301.00001) | Faithfulness and Minimaliity | eval |
| [Paper Four](https://arxiv.org/abs/2302.00002) | Extrinsic (Prompt injection detection), Vibes | ext |

### Tools
| Tool | Description |
| --- | --- |
| [SomeLib](https://github.com/x/somelib) | a library |
"""


def test_new_format_rows(taxonomy: Taxonomy) -> None:
    parsed = parse_list(NEW_FORMAT, taxonomy)
    titles = sorted(p.title for p in parsed.papers)
    assert titles == ["Just a plain title without link", "Paper Four", "Paper One", "Paper Three",
                      "Paper Two", "SomeLib"]
    one = next(p for p in parsed.papers if p.title == "Paper One")
    assert one.arxiv_id == "2301.00001" and one.venue == "NeurIPS'23"
    assert one.urls[:2] == ["https://arxiv.org/abs/2301.00001v2", "https://arxiv.org/pdf/2301.00001"]
    circuits_row = next(r for r in one.list_rows if r.section == "Circuits")
    assert circuits_row.technique_ids == ["activation_patching", "path_patching"]
    assert circuits_row.extra == {"Code": "[code](https://github.com/x/one)"}  # unknown column kept
    assert circuits_row.evaluation is None  # the table has no Evaluation column
    eval_row = next(r for r in one.list_rows if r.section == "Evaluation")
    assert eval_row.evaluation_ids == ["faithfulness", "minimality"]

    two = next(p for p in parsed.papers if p.title == "Paper Two")
    assert two.doi == "10.1234/two.5" and two.venue == "ICML 2024"
    assert [r.section_path for r in two.list_rows] == [["Circuits"], ["Circuits", "Deeper"]]
    first = two.list_rows[0]
    assert first.technique_ids == ["zero_ablation", "mean_ablation"]
    assert first.unknown_techniques == ["Quantum Probing"]

    three = next(p for p in parsed.papers if p.title == "Paper Three")
    assert len(three.list_rows) == 1 and three.list_rows[0].occurrences == 2
    assert three.list_rows[0].technique_ids == [] and three.list_rows[0].unknown_techniques == []

    four = next(p for p in parsed.papers if p.title == "Paper Four")
    assert four.list_rows[0].evaluation_ids == ["extrinsic_evaluation"]
    assert four.list_rows[0].unknown_evaluations == ["Vibes"]
    assert next(p for p in parsed.papers if p.title == "SomeLib").item_type == "tool"

    lines = NEW_FORMAT.splitlines()
    unknown = {(u["column"], u["label"]): u["lines"] for u in parsed.unknown_labels}
    assert unknown == {
        ("techniques", "Quantum Probing"): [lines.index(next(x for x in lines if "Quantum" in x)) + 1],
        ("evaluation", "Vibes"): [lines.index(next(x for x in lines if "Vibes" in x)) + 1],
    }
    unreadable = {u["line"]: u["reason"] for u in parsed.unreadable_rows}
    row_line = lines.index(next(x for x in lines if "a row without a paper" in x)) + 1
    stray_line = lines.index("Some text | with a pipe that is not a table.") + 1
    assert "no paper title" in unreadable[row_line]
    assert stray_line not in unreadable  # prose with a pipe is not a table row
    assert len(parsed.rows) == 9  # every readable row, duplicates included


def test_broken_table_lines_are_reported_and_parsing_goes_on(taxonomy: Taxonomy) -> None:
    text = "## S\n| Paper | TL;DR |\n| -- | -- |\n| | |\n| [A paper](https://x.org/a) | ok |\n\n" \
           "| orphan | row |\n\n## T\n| Paper | TL;DR |\n| --- | --- |\n| [B paper](https://x.org/b) | ok |\n"
    parsed = parse_list(text, taxonomy)
    assert [p.title for p in parsed.papers] == ["A paper", "B paper"]
    assert [(u["line"], u["reason"].split(" (")[0]) for u in parsed.unreadable_rows] == [
        (4, "empty row"), (7, "table row outside a table"),
    ]


def test_multi_valued_label_cells(taxonomy: Taxonomy) -> None:
    assert map_labels("Random-ablation, Causal Scrubbing", "techniques", taxonomy) == (
        ["resampling_ablation", "causal_scrubbing"], [])
    assert map_labels("Probing and SAE", "techniques", taxonomy) == (["probing", "sae"], [])
    assert map_labels("Attribution Patching (AtP)", "techniques", taxonomy) == (["attribution_patching"], [])
    assert map_labels("N/A", "techniques", taxonomy) == ([], [])
    assert map_labels("Extrinsic (Knowledge Editing)", "evaluation", taxonomy) == (
        ["extrinsic_evaluation", "knowledge_editing"], [])
    assert map_labels("Frobnication", "techniques", taxonomy) == ([], ["Frobnication"])


def test_list_source_errors_are_clear(tmp_path: Any) -> None:
    with pytest.raises(ListSourceError, match="cannot read the list file"):
        read_list_source(tmp_path / "missing.md")
    with pytest.raises(ListSourceError, match="cannot fetch the list"):
        read_list_source("http://127.0.0.1:9/README.md", timeout=2)


def test_a_list_fetch_error_masks_the_urls_credentials() -> None:
    """Privacy QA: `ingest list --source http://user:pw@host/list.md` printed the password in its error,
    into cron mail and log files, while `paperkg config` masked it."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for url in (f"http://tok3n:pwLIST@127.0.0.1:{server.server_port}/missing.md",
                    "http://tok3n:pwLIST@127.0.0.1:9/list.md"):  # answered 404; refused
            with pytest.raises(ListSourceError) as err:
                read_list_source(url, timeout=2)
            assert str(err.value).startswith("cannot fetch the list from http://tok3n:********@127.0.0.1:")
            assert "pwLIST" not in str(err.value)
    finally:
        server.shutdown()


@pytest.mark.parametrize(("data", "problem"), [
    (b"\x1f\x8b\x08\x00 a gzip", "is gzip-compressed, not UTF-8 text (decompress it first: gunzip)"),  # a .gz
    ("| [Caf\u00e9](https://x.org/a) | |\n".encode("latin-1"),  # Latin-1, not UTF-8
     "is not UTF-8 text: byte 0xe9 at line 1, column 7 (Windows-1252 or Latin-1 text? 0xe9 is '\u00e9' "
     "there: save the file as UTF-8)"),
    (b"\xff\xfe#\x00 \x00", "is UTF-16 text, not UTF-8 (save the file as UTF-8)"),
    (b"# A list\n\x00\xff", "is not UTF-8 text: byte 0xff at line 2, column 2: the list is markdown, such as "
     "the awesome list's raw README.md"),  # binary
    # UTF-16 without a byte order mark (it was read as a list of 0 rows), and a NUL in UTF-8 text.
    ("# A list\n\n| Paper |\n".encode("utf-16-le"), "is not UTF-8 text: a NUL character at line 1, column 2 "
     "(UTF-16 text without a byte order mark? save the file as UTF-8)"),
    (b"# A list\r\n\r\nsome\x00", "is not UTF-8 text: a NUL character at line 3, column 5: the list is "
     "markdown, such as the awesome list's raw README.md"),
])
def test_a_list_that_is_not_utf8_text_is_refused(tmp_path: Any, data: bytes, problem: str) -> None:
    """errors="replace" read such a file as a list of 0 rows, so every stored list row looked gone."""
    path = tmp_path / "list.md"
    path.write_bytes(data)
    with pytest.raises(ListSourceError) as refused:
        read_list_source(path)
    assert str(refused.value) == f"the list file {path} {problem}"


def test_a_list_url_that_answers_bytes_that_are_not_utf8_is_refused(seed_list: str) -> None:
    """The same rule for a URL: its UTF-8 markdown is read as it is, a gzip body is refused."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    bodies = {"/README.md": seed_list.encode("utf-8"), "/list.gz": b"\x1f\x8b\x08\x00 a gzip"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert read_list_source(f"{base}/README.md", timeout=10) == seed_list
        with pytest.raises(ListSourceError) as refused:
            read_list_source(f"{base}/list.gz", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert str(refused.value) == (
        f"the list from {base}/list.gz is gzip-compressed, not UTF-8 text (decompress it first: gunzip)")


def test_the_seed_list_reads_as_it_is(shared_data: Any) -> None:
    path = shared_data / "awesome-list-seed.md"
    assert read_list_source(path) == path.read_text(encoding="utf-8")


MALFORMED_LINKS = """## S
| Paper | TL;DR |
| --- | --- |
| [Broken](https://example.com | unterminated |
| [Paper [v2]](https://x.org/a) | nested brackets |
| Plain Title (with parens) [Redwood Research] | no link |
| [Wiki Paper](https://en.wikipedia.org/wiki/Foo_(bar)) | parentheses in the URL |
| <a href="https://x.org/h">HTML Paper</a> | html |
| <a href="https://x.org/h2">Broken HTML | unterminated html |
| [Broken Two(https://x.org/b2) | no closing bracket |
| Bare Paper (ICLR'24) https://x.org/bare | bare url |
| [A (B) [C]](https://x.org/abc) [[pdf]](https://x.org/abc.pdf) | brackets and a pdf link |
| Wrapped ([pdf](https://x.org/w.pdf)) | link text is generic |
| Autolinked Paper <https://x.org/auto> | a CommonMark autolink |
| Parenthesised Paper (https://x.org/paren) | a URL in parentheses |
"""


def test_malformed_paper_links_are_unreadable_rows_and_the_rest_is_read(taxonomy: Taxonomy) -> None:
    parsed = parse_list(MALFORMED_LINKS, taxonomy)
    assert [(u["line"], u["reason"]) for u in parsed.unreadable_rows] == [
        (4, "malformed Markdown link in the Paper column"),
        (9, "malformed HTML link in the Paper column"),
        (10, "URL glued to link markup in the Paper column"),
    ]
    assert parsed.unreadable_rows[0]["text"] == "| [Broken](https://example.com | unterminated |"
    papers = {p.title: (p.urls, p.venue) for p in parsed.papers}
    assert papers == {
        "Paper [v2]": (["https://x.org/a"], None),
        "Plain Title (with parens)": ([], None),  # the organisation tag is the row's, not the title's
        "Wiki Paper": (["https://en.wikipedia.org/wiki/Foo_(bar)"], None),
        "HTML Paper": (["https://x.org/h"], None),
        "Bare Paper": (["https://x.org/bare"], "ICLR'24"),
        "A (B) [C]": (["https://x.org/abc", "https://x.org/abc.pdf"], None),
        "Wrapped": (["https://x.org/w.pdf"], None),
        "Autolinked Paper": (["https://x.org/auto"], None),
        "Parenthesised Paper": (["https://x.org/paren"], None),
    }
    assert len(parsed.rows) == 9


# -- rows the parser reads but warns about ----------------------------------------------------
# The maintainer's edit of the seed (/tmp/maint-qa/list-edit2.md): a second row for Copy suppression
# in the same section, with another TL;DR and a venue tag without a year.
CONFLICTING = ("| [Copy suppression: Comprehensively understanding an attention head (ICLR'24 Spotlight)]"
               "(https://arxiv.org/pdf/2310.04625) | | | A second, different TL;DR for the same paper in the "
               "same section. |")


def _with_conflict(seed_list: str) -> tuple[str, int]:
    """The seed with CONFLICTING right after the seed's Copy suppression row, and that row's line."""
    lines = seed_list.splitlines()
    first = next(i for i, line in enumerate(lines) if "(https://arxiv.org/pdf/2310.04625)" in line) + 1
    return "\n".join([*lines[:first], CONFLICTING, *lines[first:]]) + "\n", first


def test_duplicate_and_conflicting_rows_are_reported(seed_list: str, taxonomy: Taxonomy,
                                                     store: Any, embedder: Any, extractor: Any) -> None:
    from ingest.pipeline import run_ingest

    markdown, first = _with_conflict(seed_list)
    parsed = parse_list(markdown, taxonomy)
    by_kind = {w["kind"]: w for w in parsed.row_warnings}
    assert set(by_kind) == {"duplicate_row", "conflicting_rows"}
    # The seed's own exact duplicate: Finding neurons in a haystack, lines 59 and 60.
    assert by_kind["duplicate_row"]["lines"] == [59, 60]
    assert by_kind["duplicate_row"]["message"] == "duplicate row, lines 59 and 60 (kept once)"
    conflict = by_kind["conflicting_rows"]
    assert conflict["lines"] == [first, first + 1] and conflict["kept_line"] == first + 1
    assert conflict["message"] == (f"conflicting rows for one paper in one section, lines {first} and "
                                   f"{first + 1} (the TL;DR of line {first + 1} kept)")
    assert conflict["section"].endswith("Interpreting Transformer Components")
    # The dry-run JSON keeps its keys and adds one.
    assert list(parsed.to_dict()) == ["rows", "papers", "unknown_labels", "unreadable_rows", "row_warnings"]
    assert parse_list(seed_list, taxonomy).row_warnings == [by_kind["duplicate_row"]]

    # The report says which row the store keeps: the later one.
    run_ingest(store, [p for p in parsed.papers if p.arxiv_id == "2310.04625"], source="list",
               embedder=embedder, extractor=extractor, progress=False)
    detail = store.get_paper("2310.04625")
    (kept,) = [r for r in detail.list_rows if r.section_title == "Interpreting Transformer Components"]
    assert kept.line == first + 1 and kept.tldr and kept.tldr.startswith("A second, different TL;DR")


def test_rows_with_more_cells_than_the_header_are_reported(taxonomy: Taxonomy) -> None:
    # /tmp/maint-qa/list-pasted.md: a 4-column export row pasted into the 2-column Universality table.
    markdown = """## Paper Collection
#### Findings on Universality
| Paper | TL;DR |
| :--- | :--- |
| [Universal neurons in gpt2 language models](https://arxiv.org/pdf/2401.12181) | Paper found few universal neurons. |
| [Universal Arithmetic Circuits Across GPT-2, Pythia and OLMo](https://arxiv.org/pdf/2611.10005) | ACDC, Path Patching |  | We find that the circuits share the same components. |
| [Trailing Empty Cells](https://arxiv.org/pdf/2611.10009) | Fine. | | |
"""  # noqa: E501
    parsed = parse_list(markdown, taxonomy)
    assert parsed.row_warnings == [{
        "kind": "extra_cells", "lines": [6],
        "message": "more cells than its table's header, line 6: 4 cells, the header (line 3) has 2; the "
                   "extra cells are kept as extra columns (a row pasted from a wider table?)",
    }]
    shifted = parsed.rows[1]
    assert shifted.tldr == "ACDC, Path Patching"  # what the warning is about
    assert shifted.extra == {"column 4": "We find that the circuits share the same components."}
    assert parse_list(markdown.replace(" | ACDC, Path Patching |  |", " |"), taxonomy).row_warnings == []


def test_venue_tags_without_a_year_leave_the_title(taxonomy: Taxonomy) -> None:
    markdown = """## Paper Collection
#### Findings on Features
| Paper | Techniques | TL;DR |
| :--- | :--- | :--- |
| [Patchscopes: A Unifying Framework for Inspecting Hidden Representations of Language Models (ICML'24 Oral)](https://arxiv.org/pdf/2401.06102) | Logit Lens | Decode. |
| [(Un)faithful Attention (is not) All You Need](https://example.org/x) | Probing | Kept. |
"""  # noqa: E501
    papers = {p.url: p for p in parse_list(markdown, taxonomy).papers}
    patchscopes = papers["https://arxiv.org/pdf/2401.06102"]
    assert patchscopes.venue == "ICML'24 Oral"
    assert patchscopes.title == ("Patchscopes: A Unifying Framework for Inspecting Hidden Representations of "
                                 "Language Models")
    assert papers["https://example.org/x"].title == "(Un)faithful Attention (is not) All You Need"
    assert papers["https://example.org/x"].venue is None


def test_different_papers_with_one_wrong_link_are_not_conflicting_rows(taxonomy: Taxonomy) -> None:
    """QA (/tmp/review2/split.md): two papers linked to the same wrong arXiv id in one section were
    reported as conflicting rows of one paper, though `ArxivSource.resolve` keeps them as two papers."""
    markdown = """## Paper Collection
### Techniques
| Paper | Techniques | TL;DR |
| :--- | :--- | :--- |
| [Locating and Editing Factual Associations in GPT](https://arxiv.org/abs/2202.05262) | Probing | Editing. |
### Evaluation
| Paper | Evaluation | TL;DR |
| :--- | :--- | :--- |
| [Toy Models of Superposition](https://arxiv.org/abs/2202.05262) | Faithfulness | Wrong link. |
| [Softmax Linear Units](https://arxiv.org/abs/2202.05262) | Faithfulness | Wrong link 2. |
| [ROME: Locating and Editing Factual Associations in GPT](https://arxiv.org/pdf/2202.05262) | Faithfulness | R. |
| [Toy models of superposition](https://arxiv.org/abs/2202.05262) | Faithfulness | Again. |
"""  # noqa: E501
    warnings = parse_list(markdown, taxonomy).row_warnings
    # Only the rows that are one paper by the title rule: the two Toy Models rows. The ROME row is the
    # first section's paper (its only row in this section), Softmax Linear Units another paper.
    assert [(w["kind"], w["lines"]) for w in warnings] == [("conflicting_rows", [9, 12])]
    # Rows merged by a DOI alone (no arXiv id to check titles against) stay one paper, as they are stored.
    doi = markdown.replace("https://arxiv.org/abs/2202.05262) | Faithfulness | Wrong link. |",
                           "https://doi.org/10.48550/x) | Faithfulness | Wrong link. |").replace(
        "(https://arxiv.org/abs/2202.05262) | Faithfulness | Wrong link 2. |",
        "(https://doi.org/10.48550/x) | Faithfulness | Wrong link 2. |")
    assert [w["lines"] for w in parse_list(doi, taxonomy).row_warnings] == [[9, 10]]


# -- label cells and titles (mutation audit: A2, A3, A4, A5, A8) ------------------------------------
def test_a_label_joined_by_and_with_an_unknown_part_stays_unknown(taxonomy: Taxonomy) -> None:
    """"A and B" maps to both only when both are known: half a label is not taken as the whole."""
    half_known = "Probing and Frobnication"
    assert map_labels(half_known, "techniques", taxonomy) == ([], [half_known])
    assert map_labels("Probing and Logit Lens", "techniques", taxonomy) == (["probing", "logit_lens"], [])


def test_a_stray_closing_bracket_does_not_swallow_the_next_label(taxonomy: Taxonomy) -> None:
    """"Probing), SAE": the ")" closes nothing, so the comma after it still splits the cell; the
    malformed "Probing)" is reported unknown and SAE is kept."""
    assert map_labels("Probing), SAE", "techniques", taxonomy) == (["sae"], ["Probing)"])


@pytest.mark.parametrize("title", [
    "(Un)interpretable features in LMs",
    "(A) and (B)",
    "(Sparse) probing and (dense) patching (in GPT-2)",
])
def test_a_titles_own_balanced_brackets_survive_a_bare_url_cell(taxonomy: Taxonomy, title: str) -> None:
    """A cell of a title and a bare URL: the title is the text left, its balanced brackets kept (only
    brackets a removed link leaves empty or unbalanced go)."""
    markdown = ("## Circuits\n| Title | Techniques |\n|---|---|\n"
                f"| {title} https://arxiv.org/abs/2401.00001 | Probing |\n")
    [paper] = parse_list(markdown, taxonomy).papers
    assert (paper.title, paper.arxiv_id) == (title, "2401.00001")


# -- backslash escapes and entities, as GitHub renders them (QA: exported rows did not read back) -----
def _one_row(cell: str, taxonomy: Taxonomy) -> ListRowRecord:
    markdown = f"## Circuits\n| Paper | Techniques |\n|---|---|\n| {cell} | Probing, SAE |\n"
    parsed = parse_list(markdown, taxonomy)
    assert parsed.unreadable_rows == []
    (row,) = parsed.rows
    return row


@pytest.mark.parametrize(("cell", "title", "urls"), [
    # Escaped brackets are text, not a link, in a link's text or without one.
    (r"[A \[link\](https\://example.com) in it](https://x.org/p)", "A [link](https://example.com) in it",
     ["https://x.org/p"]),
    (r"A \[link\]\(https\://example.com\) in it", "A [link](https://example.com) in it", []),
    (r"\*\*Not bold\*\*, \_\_not\_\_ \`code\` and a \\ backslash",
     "**Not bold**, __not__ `code` and a \\ backslash", []),
    (r"Heads \| Tails and a\\\|b", "Heads | Tails and a\\|b", []),
    (r"http\://example.com/a?b=1&amp;c=2 is no link", "http://example.com/a?b=1&c=2 is no link", []),
    # An escaped backslash escapes nothing after it: the link is one.
    (r"\\[Title](https://x.org/p)", "Title", ["https://x.org/p"]),
    (r"[Title \&amp; co](https://x.org/p)", "Title &amp; co", ["https://x.org/p"]),  # "\&" is no entity
])
def test_backslash_escapes_are_read_as_the_characters_they_escape(
    taxonomy: Taxonomy, cell: str, title: str, urls: list[str]
) -> None:
    row = _one_row(cell, taxonomy)
    assert (row.title_in_list, row.urls, row.technique_ids) == (title, urls, ["probing", "sae"])


@pytest.mark.parametrize(("cell", "url"), [
    ("Title https://x.org/a?b=1&amp;c=2", "https://x.org/a?b=1&c=2"),
    ("Title <https://x.org/a?b=1&amp;c=2>", "https://x.org/a?b=1&c=2"),
    ("[Title](https://x.org/a?b=1&amp;c=2)", "https://x.org/a?b=1&c=2"),
    ('<a href="https://x.org/a?b=1&amp;c=2">Title</a>', "https://x.org/a?b=1&c=2"),
    (r"[Title](https://x.org/a\_b)", "https://x.org/a_b"),  # a link destination reads escapes
    (r"Title https://x.org/a\_b", r"https://x.org/a\_b"),  # a bare URL does not
])
def test_entities_in_urls_are_decoded_as_the_browser_gets_them(taxonomy: Taxonomy, cell: str,
                                                               url: str) -> None:
    row = _one_row(cell, taxonomy)
    assert (row.title_in_list, row.urls) == ("Title", [url])


@pytest.mark.parametrize(("cell", "title"), [
    ("Attention: a Study -", "Attention: a Study -"),
    ("— Dashes at both ends —", "— Dashes at both ends —"),
    ("Tom &amp; Jerry &amp;", "Tom & Jerry &"),  # the last entity's ";" is no edge punctuation
    ("A title (with a stray bracket", "A title (with a stray bracket"),
    ("[A Link Without Its URL]", "A Link Without Its URL"),
    (r"\(A Whole Title in Parentheses\)", "(A Whole Title in Parentheses)"),
])
def test_a_cell_without_links_is_its_title_as_written(taxonomy: Taxonomy, cell: str, title: str) -> None:
    """Only what removed links leave is tidied away; a cell without any is the title, less a bracket pair
    around all of it (a link missing its URL)."""
    row = _one_row(cell, taxonomy)
    assert (row.title_in_list, row.urls) == (title, [])


def test_a_table_without_a_paper_column_lists_papers_in_its_first_column(taxonomy: Taxonomy) -> None:
    markdown = """## Circuits
| Item | Techniques |
|---|---|
| [Some paper](https://arxiv.org/abs/2401.00002) | Probing |
"""
    parsed = parse_list(markdown, taxonomy)
    assert [(p.title, p.arxiv_id) for p in parsed.papers] == [("Some paper", "2401.00002")]
    assert parsed.unreadable_rows == []
    assert [r.technique_ids for r in parsed.rows] == [["probing"]]


# -- hostile lists: bounded work (security QA: a cubic HTML-link regex, quadratic row comparisons) ------
# The HTML-link pattern the parser used to run as one regex (cubic on "<a href='" repeated): its matches
# are the reference _html_links must reproduce.
_OLD_HTML_LINK = re.compile(r"<a\s[^>]*href=[\"']([^\"']+)[\"'][^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_OLD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_PIECES = ["<a ", "<A\t", "<a\n", "<a", "href=", "HREF=", "hReF=", "'", '"', ">", "</a>", "</A>",
                "<a href='u'>", "x", " ", "\n", "<", "/", "a", "="]


@pytest.mark.parametrize("cell", [
    '<a href="https://x.org/h">HTML Paper</a>',
    "<A HREF='https://x.org/1' class=x>One</A> and <a title=t href=\"https://x.org/2\">Two</a>",
    '<a href="https://x.org/h2">Broken HTML',
    "<a href='x>y' >text</a>",  # a ">" inside the quoted URL
    "<a href='a' href='b'>last href before the first >, then text</a></a>",
    "<a href=''>empty URL</a><a href='ok'>ok</a>",
    "<a href='u'><a href='v'>nested</a></a>",
    "<a href='" * 400,  # the QA's hostile cell, smaller
    "<a href='x'" * 300 + "></a>",
])
def test_html_links_are_exactly_what_the_old_pattern_found(cell: str) -> None:
    want = [(m.start(), m.end(), m.group(1), m.group(2)) for m in _OLD_HTML_LINK.finditer(cell)]
    assert [(link.start, link.end, link.url, link.text) for link in _html_links(cell)] == want
    assert _without_html_links(cell) == _OLD_HTML_LINK.sub(" ", cell)


def test_html_links_and_tags_match_the_old_patterns_on_random_cells() -> None:
    """The bounded scanner against the regex it replaces, on 20,000 random cells built from the
    pattern's own pieces (every way a match can start, fail or end); and the tag stripper likewise."""
    rng = random.Random(20240601)
    for _ in range(20_000):
        cell = "".join(rng.choice(_HTML_PIECES) for _ in range(rng.randint(0, 40)))
        want = [(m.start(), m.end(), m.group(1), m.group(2)) for m in _OLD_HTML_LINK.finditer(cell)]
        assert [(link.start, link.end, link.url, link.text) for link in _html_links(cell)] == want, cell
        assert _without_tags(cell) == re.sub(r"<[^>]+>", "", cell), cell


@pytest.mark.parametrize("line", [
    "## Circuits", "### Circuits ###", "# C#", "## Title #  ", "##   spaced out   ", "# ##", "#\tTabbed",
    "## a # b #", "####### seven", "#no space", "## trailing\u00a0#\u00a0", "#" + " " * 3000 + "x",
    "## a" + " " * 300 + "b",  # the cubic case of the old pattern, small enough for it
])
def test_headings_are_read_as_the_old_pattern_read_them(line: str) -> None:
    match = _OLD_HEADING.match(line)
    assert _heading(line) == ((len(match.group(1)), match.group(2)) if match else None)


def test_a_heading_with_a_long_run_of_spaces_is_read(taxonomy: Taxonomy) -> None:
    """A heading the old pattern took cubic time on (100,000 spaces inside it: hours)."""
    heading = "## Circuits" + " " * 100_000 + "in GPT-2 ##"
    assert _heading(heading) == (2, "Circuits" + " " * 100_000 + "in GPT-2")
    parsed = parse_list(heading + "\n| Paper | TL;DR |\n|---|---|\n| [P](https://x.org/p) | ok |\n", taxonomy)
    assert [r.section_path for r in parsed.rows] == [["Circuits in GPT-2"]]


def test_a_row_longer_than_the_cap_is_unreadable_and_the_run_goes_on(taxonomy: Taxonomy) -> None:
    hostile = "| " + "<a href='" * 3000 + " | Probing | x |"  # the QA's 27 KB cell

    def row(cells: str, length: int) -> str:
        return cells + "y" * (length - len(cells) - 2) + " |"

    longest, too_long = (row("| [Long but read](https://x.org/l) | Probing | ", MAX_ROW_CHARS),
                         row("| [Not read](https://x.org/n) | Probing | ", MAX_ROW_CHARS + 1))
    assert (len(longest), len(too_long)) == (MAX_ROW_CHARS, MAX_ROW_CHARS + 1)
    markdown = ("## S\n| Paper | Techniques | TL;DR |\n|---|---|---|\n" + hostile + "\n" + too_long + "\n"
                + longest + "\n")
    parsed = parse_list(markdown, taxonomy)
    assert [(u["line"], u["reason"]) for u in parsed.unreadable_rows] == [
        (4, f"row longer than 10,000 characters ({len(hostile):,})"),
        (5, "row longer than 10,000 characters (10,001)"),
    ]
    assert parsed.unreadable_rows[0]["text"] == hostile[:200] + "…"
    assert [p.title for p in parsed.papers] == ["Long but read"]


# _tidy_title as it was, with a substitution repeated until nothing changed (one pass per level of
# "((((...))))") and a slice and two counts per unpartnered bracket: the reference the linear one matches.
_OLD_EMPTY_BRACKETS = re.compile(r"\([\s,;|/–—-]*\)|\[[\s,;|/–—-]*\]")
_OLD_EDGE_PUNCTUATION = " -–—:;,"


def _old_tidy_title(text: str) -> str:
    text = _clean(text)
    while (tidier := _OLD_EMPTY_BRACKETS.sub(" ", text)) != text:
        text = tidier
    text = " ".join(text.split()).strip(_OLD_EDGE_PUNCTUATION)
    for opening, closing in ("()", "[]"):
        while text.startswith(opening) and text.count(opening) > text.count(closing):
            text = text[1:].strip(_OLD_EDGE_PUNCTUATION)
        while text.endswith(closing) and text.count(closing) > text.count(opening):
            text = text[:-1].strip(_OLD_EDGE_PUNCTUATION)
        if _wrapped(text, opening, closing):
            text = text[1:-1].strip(_OLD_EDGE_PUNCTUATION)
    return text


_TITLE_PIECES = ["(", ")", "[", "]", "(", ")", "[", "]", "()", "[]", "( )", "[ ]", " ", "  ", "\t", "\u00a0",
                 "Title", "x", "'", '"', "'24", "2024", "ICLR", ",", ";", "|", "/", "–", "—", "-", ":", "**",
                 "`", "<br>", "&amp;"]


@pytest.mark.parametrize("text", [
    "Title ([pdf](u))", "Title ( , )", "Title (ICLR'24)", "Title [Redwood]", "[Title]", "((Title)",
    "(Title))", "[(A) and (B)]", "(A) and (B)", "- Title ( | ) -", "((( ))) Title [[ ]]", "( [ ) ]", "",
])
def test_titles_are_tidied_as_before(text: str) -> None:
    assert _tidy_title(text) == _old_tidy_title(text)


def test_titles_are_tidied_as_the_old_loop_tidied_them_on_random_cells() -> None:
    """The one-pass tidying against the loop it replaces, on 20,000 random cells of brackets, spaces,
    separators, words, quotes and years (every way a pair can be empty, unbalanced or enclose all)."""
    rng = random.Random(20241126)
    for _ in range(20_000):
        text = "".join(rng.choice(_TITLE_PIECES) for _ in range(rng.randint(0, 30)))
        assert _tidy_title(text) == _old_tidy_title(text), text


@pytest.mark.parametrize("depth", [10_000, 300_000])
def test_thousands_of_nested_or_unpartnered_brackets_are_tidied(taxonomy: Taxonomy, depth: int) -> None:
    """Brackets 10,000 and 300,000 deep: the old loop took a pass per level, 1.5 s at 10,000 and over
    twenty minutes at 300,000 (so past the suite's timeout), and a slice per unpartnered bracket."""
    assert _tidy_title("Title " + "(" * depth + ")" * depth) == "Title"
    assert _tidy_title("[[" * depth + " ]] ,( )" * depth + " Title") == "Title"
    assert _tidy_title("( " * depth + "Title") == "Title"
    assert _tidy_title("Title" + " ]" * depth) == "Title"
    assert _tidy_title("[(" * depth + "Title" + ")]" * depth) == "(" + "[(" * (depth - 1) + "Title" + ")]" * (
        depth - 1) + ")"
    # A row as long as the cap allows, its Paper cell 4,900 brackets deep around the links.
    deep = "Deep title " + "(" * 4_900 + "[pdf](https://x.org/deep)" + ")" * 4_900
    parsed = parse_list(f"## S\n| Paper | Techniques |\n|---|---|\n| {deep} | Probing |\n", taxonomy)
    assert [(p.title, p.urls) for p in parsed.papers] == [("Deep title", ["https://x.org/deep"])]


def test_an_unknown_label_is_looked_up_once(taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    """The nearest known label of an unknown one is looked up once per label, not once per row."""
    asked: list[str] = []
    nearest = taxonomy.nearest_list_label
    monkeypatch.setattr(taxonomy, "nearest_list_label",
                        lambda text, column: asked.append(text) or nearest(text, column))
    rows = "".join(f"| [P{i}](https://x.org/{i}) | Activaton patching |\n" for i in range(5))
    parsed = parse_list("## S\n| Paper | Techniques |\n|---|---|\n" + rows, taxonomy)
    assert asked == ["Activaton patching"]
    assert [(e["lines"], e["suggestion"]) for e in parsed.unknown_labels] == [
        ([4, 5, 6, 7, 8], "Activation Patching")]


def test_rows_of_one_arxiv_id_under_many_titles_are_compared_with_a_few_clusters(
    taxonomy: Taxonomy, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """40 differently titled rows linking one arXiv id in one section: each title is compared with at
    most _COMPARED_TITLE_CLUSTERS clusters (it was compared with every earlier one: 2,000 rows took
    minutes); repeated rows are still reported, before and past those clusters."""
    import ingest.awesome_list as awesome_list

    calls: list[tuple[str, str]] = []
    same = awesome_list.same_paper_title
    monkeypatch.setattr(awesome_list, "same_paper_title", lambda a, b: calls.append((a, b)) or same(a, b))
    words = ["Alpha", "Beta", "Gamma", "Delta", "Walnut", "Quartz", "Theta", "Iota", "Kappa", "Lambda",
             "Omicron", "Sigma", "Cedar", "Omega", "Red", "Orange", "Yellow", "Green", "Blue", "Indigo",
             "Violet", "Black", "White", "Grey", "Brown", "Pink", "Teal", "Olive", "Navy", "Maroon", "Lime",
             "Amber", "Coral", "Ivory", "Jade", "Khaki", "Lilac", "Mauve", "Ochre", "Plum"]
    titles = [f"{word} circuits in small transformers" for word in words]
    assert not [(a, b) for a in titles for b in titles if a != b and same(a, b)]  # 40 different papers
    rows = [f"| [{t}](https://arxiv.org/abs/2401.00003) | Probing | Row {i}. |" for i, t in enumerate(titles)]
    rows += [rows[1], rows[30]]  # a repeat of a compared cluster's row, and of a later one
    markdown = "## S\n| Paper | Techniques | TL;DR |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    parsed = parse_list(markdown, taxonomy)
    assert [(w["kind"], w["lines"]) for w in parsed.row_warnings] == [
        ("duplicate_row", [5, 44]), ("duplicate_row", [34, 45])]
    compared = _COMPARED_TITLE_CLUSTERS
    assert len(calls) <= len(rows) * compared + compared  # 813 when a row met every earlier cluster
    assert {b for _a, b in calls} <= set(titles[:compared])


# -- the list as GitHub renders it (list maintainer's QA) ----------------------------------------
def _line_of(markdown: str, text: str) -> int:
    """The number (from 1) of the only line of markdown holding text."""
    found = [n for n, line in enumerate(markdown.splitlines(), 1) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


GFM_PIPES = """## Features
| Paper | Techniques | TL;DR |
| --- | --- | --- |
| [A paper](https://x.org/a) | Probing | first |
[B paper (no leading pipe)](https://x.org/b) | | no leading pipe |
| [C paper](https://x.org/c) | SAE | after it |
| [D paper](https://x.org/d) | SAE | no trailing pipe

## Bare
Paper | TL;DR
--- | ---
[E paper](https://x.org/e) | no pipes at the ends
[F paper](https://x.org/f) | second
A stray note without any pipe, between rows.
| [G paper](https://x.org/g) | after the note |
A last line without a pipe ends the table.
Its second line.
| [H paper](https://x.org/h) | under the prose |

Some text | with a pipe that is not a table.
"""


def test_gfm_table_rows_and_headers_without_end_pipes_are_read(taxonomy: Taxonomy) -> None:
    """A row without a leading pipe was dropped, and every row below it reported as outside a table
    (which --prune then removed from the store)."""
    parsed = parse_list(GFM_PIPES, taxonomy)
    rows = [(r.title_in_list, r.section_path, r.line) for r in parsed.rows]
    assert rows == [
        ("A paper", ["Features"], 4), ("B paper (no leading pipe)", ["Features"], 5),
        ("C paper", ["Features"], 6), ("D paper", ["Features"], 7),
        ("E paper", ["Bare"], 12), ("F paper", ["Bare"], 13), ("G paper", ["Bare"], 15),
    ]
    b_row = parsed.rows[1]
    assert (b_row.urls, b_row.tldr) == (["https://x.org/b"], "no leading pipe")
    assert parsed.rows[2].technique_ids == ["sae"]
    # A line without a pipe between rows is reported, and the table goes on (as on GitHub); a row
    # below the one that ended its table says which line that was.
    prose = _line_of(GFM_PIPES, "A last line")
    assert parsed.unreadable_rows == [{
        "line": 14, "text": "A stray note without any pipe, between rows.",
        "reason": "line without a | inside a table (GitHub shows it as a row of one cell): give it the "
                  "table's cells, or move it out of the table",
    }, {
        "line": prose + 2, "text": "| [H paper](https://x.org/h) | under the prose |",
        "reason": f"table row outside a table (line {prose} has no | and ended its table: make it a row, "
                  "or put a blank line above it)",
    }]


HTML_COMMENTS = """## Kept
| Paper | TL;DR |
| --- | --- |
| [A paper](https://x.org/a) <!-- was: [Old paper](https://x.org/old) --> | kept |
| [B paper](https://x.org/b) | note <!-- hidden [link](https://x.org/h) --> shown |

<!--
### Deprecated
| Paper | TL;DR |
| --- | --- |
| [Z paper](https://x.org/z) | commented out |
-->
<!-- ## Also hidden -->

### After <!-- a note -->
```
<!-- not a comment in a code block
```
| Paper | TL;DR |
| --- | --- |
| [C paper](https://x.org/c) | one |
<!-- | [Y paper](https://x.org/y) | one-line comment | -->
| [D paper](https://x.org/d) | cut by the comment |
[E paper](https://x.org/e) | cut too, no leading pipe |

| [F paper](https://x.org/f) | an orphan after a blank line |
"""


def test_html_comments_are_left_out_as_on_github(taxonomy: Taxonomy) -> None:
    """A section commented out with <!-- ... --> was read (it made a 'Deprecated' section)."""
    parsed = parse_list(HTML_COMMENTS, taxonomy)
    rows = [(r.title_in_list, r.section_path, r.line, r.urls, r.tldr) for r in parsed.rows]
    assert rows == [
        ("A paper", ["Kept"], 4, ["https://x.org/a"], "kept"),
        ("B paper", ["Kept"], 5, ["https://x.org/b"], "note shown"),
        ("C paper", ["Kept", "After"], _line_of(HTML_COMMENTS, "[C paper]"), ["https://x.org/c"], "one"),
    ]
    chains, _shared = heading_chains(HTML_COMMENTS)
    assert chains == [[(2, "Kept")], [(2, "Kept"), (3, "After")]]
    comment = _line_of(HTML_COMMENTS, "Y paper")
    cut = (f"table row outside a table (the HTML comment on line {comment} ended its table, as on GitHub, "
           "which shows this row as text: move the comment below the table)")
    assert [(u["line"], u["reason"]) for u in parsed.unreadable_rows] == [
        (comment + 1, cut), (comment + 2, cut),
        (_line_of(HTML_COMMENTS, "F paper"),
         "table row outside a table (no header and separator line above it)"),
    ]


def test_an_unclosed_html_comment_is_reported(taxonomy: Taxonomy) -> None:
    """GitHub hides everything below a <!-- without -->: so does the parser, and it says so."""
    text = ("## S\n| Paper | TL;DR |\n| --- | --- |\n| [A paper](https://x.org/a) | ok |\n<!-- TODO\n\n"
            "## T\n| Paper | TL;DR |\n| --- | --- |\n| [B paper](https://x.org/b) | hidden |\n")
    parsed = parse_list(text, taxonomy)
    assert [r.title_in_list for r in parsed.rows] == ["A paper"]
    assert parsed.unreadable_rows == [{
        "line": 5, "text": "<!-- TODO",
        "reason": "HTML comment never closed (no --> below it): GitHub hides the rest of the list, and so "
                  "does the parser (3 lines with a | left out)",
    }]


TWO_PAPERS = """## Capabilities
| Paper | Techniques | Evaluation | TL;DR |
| --- | --- | --- | --- |
| [Rethinking the Role of Scale for In-Context Learning (ACL'23)](https://aclanthology.org/2023.acl-long.660.pdf)\
; [Universal neurons in gpt2 language models](https://arxiv.org/pdf/2401.12181) | | | In-Context Learning |
| [Knowledge Neurons in Pretrained Transformers (ACL'22)](https://aclanthology.org/2022.acl-long.581.pdf) \
[[arXiv]](https://arxiv.org/abs/2104.08696) | | | one paper, two links |
| [Toy Models of Superposition](https://x.org/toy) ([Anthropic blog post](https://x.org/blog)) \
[code](https://x.org/code) | | | a paper and its extra links |
| [Same Title](https://x.org/same) [Same Title](https://x.org/same.pdf) | | | the title twice |
| [Circuit Paper](https://x.org/circuit) [Circuit Paper (arXiv version)](https://arxiv.org/abs/2301.00009) \
| | | the title again, another way |
| [Paper One](https://x.org/one)<br>[Paper Two](https://x.org/two) | | | two lines of one cell |
"""


def test_a_cell_with_two_papers_is_warned_about_and_keeps_only_the_first_papers_links(
    taxonomy: Taxonomy,
) -> None:
    """The second paper of "[A](u); [B](v)" got no row, and its arXiv id went to the first paper."""
    parsed = parse_list(TWO_PAPERS, taxonomy)
    by_title = {p.title: p for p in parsed.papers}
    rethinking = by_title["Rethinking the Role of Scale for In-Context Learning"]
    acl = "https://aclanthology.org/2023.acl-long.660.pdf"
    assert (rethinking.urls, rethinking.arxiv_id, rethinking.list_rows[0].urls) == ([acl], None, [acl])
    assert by_title["Knowledge Neurons in Pretrained Transformers"].arxiv_id == "2104.08696"
    assert len(by_title["Toy Models of Superposition"].urls) == 3
    assert len(by_title["Same Title"].urls) == 2
    assert by_title["Circuit Paper"].arxiv_id == "2301.00009"
    assert by_title["Paper One"].urls == ["https://x.org/one"]
    assert "Universal neurons in gpt2 language models" not in by_title
    assert [(w["kind"], w["lines"], w["title"]) for w in parsed.row_warnings] == [
        ("two_papers_in_cell", [4], "Universal neurons in gpt2 language models"),
        ("two_papers_in_cell", [9], "Paper Two"),
    ]
    assert parsed.row_warnings[0]["message"] == (
        "cell holds two paper links, line 4; only the first is read ('Rethinking the Role of Scale for "
        "In-Context Learning (ACL'23)'): 'Universal neurons in gpt2 language models' and its links are "
        "left out (give it a row of its own)")


@pytest.mark.parametrize(("cell", "ids"), [
    ("logit lenses", ["logit_lens"]),
    ("Knockouts", ["knockout"]),
    ("activation-patching", ["activation_patching"]),
    ("Probing.", ["probing"]),
    ("logit lens.", ["logit_lens"]),
    ("_Probing_", ["probing"]),
    ("*Probing*", ["probing"]),
    ("Activation patching (AP)", ["activation_patching"]),
    ("Logit lens<br>Probing", ["logit_lens", "probing"]),
    ("Probing. and Knockouts", ["probing", "knockout"]),
])
def test_known_labels_written_another_way_are_known(taxonomy: Taxonomy, cell: str, ids: list[str]) -> None:
    """Plurals, trailing punctuation, emphasis, hyphens for spaces and a trailing acronym were reported
    as unknown labels; a <br> between two labels made them one."""
    markdown = f"## S\n| Paper | Techniques |\n| --- | --- |\n| [P](https://x.org/p) | {cell} |\n"
    row = parse_list(markdown, taxonomy).rows[0]
    assert (row.technique_ids, row.unknown_techniques) == (ids, [])
    assert map_labels(row.techniques, "techniques", taxonomy) == (ids, [])  # as a stored row is re-read


def test_a_br_between_labels_reads_as_two_and_unknown_labels_stay_as_written(taxonomy: Taxonomy) -> None:
    markdown = ("## S\n| Paper | Techniques |\n| --- | --- |\n"
                "| [P](https://x.org/p) | Logit lens,<br> _Quantum Probings_. <br/>Probes |\n")
    parsed = parse_list(markdown, taxonomy)
    row = parsed.rows[0]
    assert row.techniques == "Logit lens; _Quantum Probings_.; Probes"
    assert (row.technique_ids, row.unknown_techniques) == (["logit_lens", "probing"], ["_Quantum Probings_."])
    assert [(u["label"], u["lines"]) for u in parsed.unknown_labels] == [("_Quantum Probings_.", [4])]


SETEXT = """Awesome MI
==========

## Techniques
| Paper | TL;DR |
| --- | --- |
| [P1](https://x.org/1) | t |
Findings
--------
| Paper | TL;DR |
| --- | --- |
| [P2](https://x.org/2) | t |

### On features
| Paper | TL;DR |
|---|---|
| [P3](https://x.org/3) | t |

---
| Paper | TL;DR |
| --- | --- |
| [P4](https://x.org/4) | after a horizontal rule |

Single
| --- |
| [P5](https://x.org/5) |

A paragraph of
two lines
=========
| Paper | TL;DR |
| --- | --- |
| [P6](https://x.org/6) | t |
"""


def test_setext_headings_start_sections(taxonomy: Taxonomy) -> None:
    """`Findings` over `--------` was not a heading: its rows went to the section above. A table's
    separator line and a horizontal rule after a blank line are not setext underlines."""
    parsed = parse_list(SETEXT, taxonomy)
    assert [(r.title_in_list, r.section_path) for r in parsed.rows] == [
        ("P1", ["Techniques"]), ("P2", ["Findings"]), ("P3", ["Findings", "On features"]),
        ("P4", ["Findings", "On features"]), ("P5", ["Findings", "On features"]), ("P6", []),
    ]
    assert parsed.unreadable_rows == []
    chains, _shared = heading_chains(SETEXT)
    assert chains == [[(2, "Techniques")], [(2, "Findings")], [(2, "Findings"), (3, "On features")]]


def test_a_run_of_spaces_in_a_label_cell_reads_as_one_space(taxonomy: Taxonomy) -> None:
    """A records file's or a stored row's cell is not collapsed by parse_list: a run of 9,000 spaces made
    the label splits quadratic (3 s a cell), and the unknown label was reported with every space."""
    ids, unknown = map_labels("Logit  lens;   Probing" + " " * 9_000 + "x", "Techniques", taxonomy)
    assert ids == ["logit_lens"] and unknown == ["Probing x"]


@pytest.mark.parametrize(("cell", "ids"), [
    ("Activation Patching (ACDC)", ["activation_patching", "acdc"]),
    ("Probing (SAEs)", ["probing", "sae"]),
    ("_Probing (SAE)_.", ["probing", "sae"]),
    ("Activation patching (AP)", ["activation_patching"]),  # AP is no known label: a mere spelling
    ("Attribution Patching (AtP)", ["attribution_patching"]),  # AtP names the same node
    ("Sparse Autoencoders (SAEs)", ["sae"]),
])
def test_a_parenthesised_acronym_naming_another_node_is_a_label_too(
    taxonomy: Taxonomy, cell: str, ids: list[str],
) -> None:
    """The trailing acronym was stripped even where it names another node: "Activation Patching (ACDC)"
    lost the ACDC tag and "Probing (SAEs)" the SAE tag, with no warning."""
    assert map_labels(cell, "techniques", taxonomy) == (ids, [])
    markdown = f"## S\n| Paper | Techniques |\n| --- | --- |\n| [P](https://x.org/p) | {cell} |\n"
    row = parse_list(markdown, taxonomy).rows[0]
    assert (row.technique_ids, row.unknown_techniques) == (ids, [])


def test_an_unknown_label_with_a_known_acronym_stays_unknown(taxonomy: Taxonomy) -> None:
    """Only a known label's acronym is read as a second label: "Frob (SAE)" is reported as written."""
    assert map_labels("Frob (SAE)", "techniques", taxonomy) == ([], ["Frob (SAE)"])
