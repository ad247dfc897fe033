"""Venue tags: split off a list title, with or without a year, and nothing else."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ingest.normalize import (
    dedupe_records,
    doi_from_text,
    paper_id_for,
    same_paper_groups,
    slugify,
    split_venue_tag,
    title_id,
    title_key,
)
from ingest.records import Record


@pytest.mark.parametrize("title, expected", [
    ("Knowledge Neurons in Pretrained Transformers (ACL'22)", ("Knowledge Neurons in Pretrained Transformers",
                                                               "ACL'22")),
    ("Sparse feature circuits [NeurIPS 2023]", ("Sparse feature circuits", "NeurIPS 2023")),
    # The maintainer's list: a presentation kind after the year, or no year at all.
    ("Patchscopes: A Framework (ICML'24 Oral)", ("Patchscopes: A Framework", "ICML'24 Oral")),
    ("Copy suppression (ICLR'24 Spotlight)", ("Copy suppression", "ICLR'24 Spotlight")),
    ("Copy suppression ('24 Oral)", ("Copy suppression", "'24 Oral")),
    ("Copy suppression (Spotlight)", ("Copy suppression", "Spotlight")),
    ("Copy suppression (ICML Oral)", ("Copy suppression", "ICML Oral")),
    ("Copy suppression [ATTRIB Workshop]", ("Copy suppression", "ATTRIB Workshop")),
    ("Copy suppression (NeurIPS 2023 ATTRIB Workshop)", ("Copy suppression", "NeurIPS 2023 ATTRIB Workshop")),
    ("Copy suppression (ICML 2024 Workshop on Mechanistic Interpretability)",
     ("Copy suppression", "ICML 2024 Workshop on Mechanistic Interpretability")),
    ("Copy suppression (Findings of EMNLP 2023)", ("Copy suppression", "Findings of EMNLP 2023")),
    ("Copy suppression (CoRL 2023)", ("Copy suppression", "CoRL 2023")),
    # A venue of one capital is a venue too (review: these had stayed in the title and its key).
    ("Copy suppression (Nature 2023)", ("Copy suppression", "Nature 2023")),
    ("Copy suppression (Distill 2020)", ("Copy suppression", "Distill 2020")),
    ("Copy suppression (Neurips 2023)", ("Copy suppression", "Neurips 2023")),
])
def test_venue_tags_are_split_off(title: str, expected: tuple[str, str]) -> None:
    assert split_venue_tag(title) == expected


@pytest.mark.parametrize("title", [
    "(Un)faithful Explanations of Attention Heads",
    "Attention (is not) all you need",
    "Towards Faithful Explanations (Un)faithful",
    "Sparse Autoencoders (SAEs)",
    "Circuits in GPT-2 (small)",
    "Language Models (Mostly) Know What They Know",
    "Interpreting Llama (Llama 3)",
    "Toy Models of Superposition",
    # A word and a number are no venue: taking them for one merged different posts of a series.
    "Circuits Updates (July 2024)",
    "Interim Report (Part 12)",
    "Superposition in Toy Models (Study 14)",
    "Circuits Updates (Update May 2024)",
    # Review 2: no year ("Layer 10"), or a name ending in a number or a part of a year.
    "Attention SAE Features (Layer 10)",
    "Circuits Updates (July 12 2024)",
    "State of Mech Interp (Early 2024)",
    "State of Mech Interp (Mid-2024)",
])
def test_titles_own_parentheses_stay(title: str) -> None:
    assert split_venue_tag(title) == (title, None)


def test_posts_of_a_series_keep_apart() -> None:
    july = _record("a", "Circuits Updates (July 2024)")
    august = _record("b", "Circuits Updates (August 2024)")
    assert title_key(july.title) != title_key(august.title)
    assert len(dedupe_records([july, august])) == 2


def test_title_keys_ignore_tags_without_a_year() -> None:
    tagged = "Copy suppression: Comprehensively understanding an attention head (ICLR'24 Spotlight)"
    assert title_key(tagged) == title_key("Copy suppression: comprehensively understanding an attention head")


def _record(source_id: str, title: str, arxiv_id: str | None = None, doi: str | None = None) -> Record:
    return Record(source="list", source_id=source_id, title=title, arxiv_id=arxiv_id, doi=doi)


def test_a_shared_doi_or_title_never_merges_two_arxiv_ids() -> None:
    """QA (/tmp/review2/split2.md): a wrong DOI on a row merged Toy Models (2209.10652) into ROME
    (2202.05262), and the paper stored under 2202.05262 lost Toy Models' row."""
    rome = "Locating and Editing Factual Associations in GPT"
    records = [
        _record("rome", rome, "2202.05262", "10.48550/toy"),
        _record("toy", "Toy Models of Superposition", "2209.10652", "10.48550/toy"),
        _record("no-id", "Anything", None, "10.48550/toy"),  # a DOI without another arXiv id still merges
        _record("same-title", rome.lower(), "2301.05217"),
    ]
    merged = dedupe_records(records)
    assert [r.arxiv_id for r in merged] == ["2202.05262", "2209.10652", "2301.05217"]
    assert merged[1].title == "Toy Models of Superposition"
    assert same_paper_groups(records) == [[0, 2], [1], [3]]


# -- merge rules of dedupe_records (mutation audit: N8, N9, N11) -----------------------------------
_ROME = "Locating and Editing Factual Associations in GPT"


def test_an_empty_venue_of_a_richer_record_is_filled_from_the_list_row() -> None:
    """A records-file entry with venue "" outranks the list row, yet "" is no venue: the row's "ICML"
    is kept (an empty string is filled like None)."""
    entry = Record(source="records", source_id="x", title="Sparse probing of neurons", venue="")
    row = _record("row", "Sparse probing of neurons")
    row.venue = "ICML"
    for records in ([entry, row], [row, entry]):
        [merged] = dedupe_records(records)
        assert merged.venue == "ICML"
        assert merged.sources == ["records", "list"]


@pytest.mark.parametrize("tool_first", [True, False])
def test_a_tool_stays_a_tool_whichever_record_comes_first(tool_first: bool) -> None:
    entry = Record(source="records", source_id="circuitsvis", title="CircuitsVis", item_type="paper")
    tool = Record(source="list", source_id="row", title="CircuitsVis", item_type="tool")
    [merged] = dedupe_records([tool, entry] if tool_first else [entry, tool])
    assert merged.item_type == "tool"
    assert merged.source == "records"  # the richer record's metadata, the tool type from either


def test_a_list_rows_own_title_finds_its_paper_after_arxiv_renamed_it() -> None:
    """The row "ROME: Locating ..." merges with arXiv's record by id and takes arXiv's title; a later row
    with the same list title and no id still belongs to that paper (the row's own title key is kept)."""
    arxiv = Record(source="arxiv", source_id="2202.05262", title=_ROME, arxiv_id="2202.05262",
                   abstract="We locate factual associations.")
    with_id = _record("r1", f"ROME: {_ROME}", "2202.05262")
    without_id = _record("r2", f"ROME: {_ROME}")
    assert same_paper_groups([arxiv, with_id, without_id]) == [[0, 1, 2]]
    [merged] = dedupe_records([arxiv, with_id, without_id])
    assert (merged.title, merged.arxiv_id) == (_ROME, "2202.05262")


# -- keys and DOIs (mutation audit: N2, N3) ---------------------------------------------------------
@pytest.mark.parametrize(("accented", "plain", "key"), [
    ("Naïve Bayes probing of GPT-2", "Naive Bayes probing of GPT-2", "naive bayes probing of gpt 2"),
    ("Ångström-scale Übersetzung with café features", "Angstrom-scale Ubersetzung with cafe features",
     "angstrom scale ubersetzung with cafe features"),
])
def test_accents_do_not_change_the_title_key(accented: str, plain: str, key: str) -> None:
    assert title_key(accented) == title_key(plain) == key
    assert len(dedupe_records([_record("a", accented), _record("b", plain)])) == 1


@pytest.mark.parametrize("text", [
    "(doi:10.1145/3442188.3445922)",
    "[10.1145/3442188.3445922]",
    "{10.1145/3442188.3445922}",
    "see https://doi.org/10.1145/3442188.3445922).",
])
def test_a_doi_in_brackets_loses_the_closing_bracket(text: str) -> None:
    assert doi_from_text(text) == "10.1145/3442188.3445922"


# -- merging a paper's records once (security QA: merging was quadratic in a paper's records) ------------
def _varied_records() -> list[Record]:
    """Records of three papers from every source, in an order that makes each merge step differ: the
    richer record arriving first or later, repeated and differing rows, URLs repeated, empty or new."""
    from ingest.records import ListRowRecord

    def row(section: str, tldr: str, *urls: str, tool: bool = False) -> ListRowRecord:
        return ListRowRecord(section_path=[section], title_in_list="Row title", tldr=tldr, urls=list(urls),
                             item_type="tool" if tool else "paper")

    def record(source: str, sid: str, title: str, arxiv: str | None = None, urls: tuple[str, ...] = (),
               rows: tuple[ListRowRecord, ...] = (), **kw: object) -> Record:
        return Record(source=source, source_id=sid, title=title, arxiv_id=arxiv, urls=list(urls),
                      list_rows=list(rows), **kw)  # type: ignore[arg-type]

    return [
        record("list", "l1", _ROME, "2202.05262", ("https://a", "https://a", ""), (row("S", "t1", "https://a"),)),
        record("list", "l2", "Toy Models of Superposition", None, ("https://t",), (row("S", "toy", "https://t"),)),
        record("list", "l3", _ROME, None, ("https://b", "https://a"), (row("S", "t1", "https://b"),
                                                                        row("T", "t2"))),
        record("arxiv", "2202.05262", _ROME, "2202.05262", ("https://arxiv.org/abs/2202.05262",),
               abstract="We locate.", authors=["Meng"], year=2022),
        record("records", "r1", _ROME.lower(), "2202.05262", ("https://c", "https://b"),
               (row("S", "t1", "https://c", "https://a"), row("S", "t3")), venue="NeurIPS", doi="10.1/rome"),
        record("list", "l4", "Toy Models of Superposition", None, ("https://t2",),
               (row("S", "toy", "https://t2"), row("S", "toy")), item_type="tool"),
        record("records", "r2", "Another paper", None, ("https://x", "https://x")),
        record("list", "l5", "ROME title from the list", None, ("https://d",), (row("S", "t1", "https://d"),),
               doi="10.1/rome"),
    ]


def test_merging_each_paper_once_gives_what_merging_record_by_record_gave() -> None:
    """dedupe_records joins a paper's URLs and rows once; the result is folding merge_two over the
    paper's records in order, as it was computed before (field by field, rows and their counts)."""
    import functools

    from ingest.normalize import merge_two

    records = _varied_records()
    before = [r.to_dict() for r in records]
    groups = same_paper_groups(records)
    assert groups == [[0, 2, 3, 4, 7], [1, 5], [6]]
    merged = dedupe_records(records)
    for paper, group in zip(merged, groups, strict=True):
        folded = functools.reduce(merge_two, [records[i] for i in group])
        assert paper.to_dict() == folded.to_dict()
    assert merged[2] is records[6]  # a paper of one record is that record, untouched
    # The richer record's URLs first, at each step: arXiv's came third, the records file's fourth.
    assert merged[0].urls == ["https://arxiv.org/abs/2202.05262", "https://a", "https://b", "https://c",
                              "https://d"]
    assert [(r.section_path, r.tldr, r.occurrences, r.urls) for r in merged[0].list_rows] == [
        (["S"], "t1", 4, ["https://a", "https://b", "https://c", "https://d"]), (["T"], "t2", 1, []),
        (["S"], "t3", 1, [])]
    assert merged[1].item_type == "tool"
    assert [r.to_dict() for r in records] == before  # the inputs are untouched


def test_a_papers_rows_are_copied_once_however_many_records_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    """300 rows of one paper (each its own TL;DR): each row is copied once into the merged record; the
    pairwise merge copied every row merged so far at each step (45,000 copies here; 2,000 rows took
    minutes)."""
    from ingest.records import ListRowRecord

    rows = [ListRowRecord(section_path=["S"], title_in_list="IOI", tldr=f"TL;DR {i}", urls=[f"https://x/{i}"])
            for i in range(300)]
    records = [Record(source="list", source_id=f"r{i}", title="IOI", urls=[f"https://x/{i}"], list_rows=[r])
               for i, r in enumerate(rows)]
    copies = 0
    post_init = ListRowRecord.__post_init__

    def counted(self: ListRowRecord) -> None:
        nonlocal copies
        copies += 1
        post_init(self)

    monkeypatch.setattr(ListRowRecord, "__post_init__", counted)
    [merged] = dedupe_records(records)
    assert copies == 300
    assert [r.tldr for r in merged.list_rows] == [f"TL;DR {i}" for i in range(300)]
    assert merged.urls == [f"https://x/{i}" for i in range(300)]


def test_a_row_repeated_with_other_links_keeps_every_link_once() -> None:
    from ingest.normalize import merge_list_rows
    from ingest.records import ListRowRecord

    rows = [ListRowRecord(section_path=["S"], title_in_list="IOI", tldr="same", urls=urls)
            for urls in (["https://a", "https://a"], ["https://b", ""], ["https://a", "https://c"])]
    [kept] = merge_list_rows(rows)
    assert (kept.occurrences, kept.urls) == (3, ["https://a", "https://b", "https://c"])
    [alone] = merge_list_rows(rows[:1])
    assert alone.urls == ["https://a", "https://a"] and alone is not rows[0]  # one row: a copy, as it was


# Titles no slug tells apart: non-Latin scripts (the slug is empty: every one was `untitled`), and
# long titles that differ only after their first 80 characters of slug.
_NON_LATIN = ["大型语言模型中的归纳头机制研究", "稀疏自编码器特征的可解释性",
              "Интерпретируемость языковых моделей", "Ερμηνευσιμότητα γλωσσικών μοντέλων",
              "言語モデルの回路解析：間接目的語識別"]
_LONG = "Mechanistic Interpretability of Large Language Models Trained on Synthetic Data: Part "
_TITLE_IDS_APART = [*_NON_LATIN, _LONG + "One on Induction Heads", _LONG + "Two on MLP Neurons",
                    _LONG + "Three on Attention Sinks", "GPT-2中的归纳头", "GPT-2中的稀疏特征",
                    "Steering with ΔW", "Steering with ΣW"]


def test_titles_no_slug_tells_apart_get_different_url_safe_ids() -> None:
    from kg.validation import check_paper_id

    ids = [paper_id_for(None, title) for title in _TITLE_IDS_APART]
    assert len(set(ids)) == len(ids), ids
    for title, paper_id in zip(_TITLE_IDS_APART, ids, strict=True):
        assert check_paper_id(paper_id) == paper_id and paper_id.isascii() and len(paper_id) <= 80
        # The same on every run: the slug's words, then 12 hex digits of the title key's sha256.
        digest = hashlib.sha256(title_key(title).encode("utf-8")).hexdigest()[:12]
        assert paper_id.endswith(digest) and paper_id == Record("records", "x", title).paper_id
    assert ids[0] == "068dee6f0b58"  # a title of no ASCII word is the hash alone
    assert ids[5].startswith("mechanistic-interpretability-of-large-language-models-trained-on-")
    assert ids[8].startswith("gpt-2-") and ids[10].startswith("steering-with-w-")


def test_titles_their_slug_spells_keep_the_slug_as_id(shared_data: Path, seed_list: str,
                                                      taxonomy: Any) -> None:
    """Ids given before stay: a title whose slug spells its whole title key keeps its plain slug. Of
    the seed titles only those over 80 characters of slug do not (papers of the seed with an arXiv id,
    which names them once known)."""
    from ingest.awesome_list import parse_list

    titles = [json.loads(line)["title"] for line in
              (shared_data / "seed_papers.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    titles += [paper.title for paper in parse_list(seed_list, taxonomy).papers]
    plain = [t for t in titles if slugify(t).replace("-", " ") == title_key(t)]
    assert len(plain) > 40 and all(len(title_key(t)) > 80 for t in titles if t not in plain)
    assert all(paper_id_for(None, t) == slugify(t) for t in plain)
    assert paper_id_for(None, "Toy Models of Superposition") == "toy-models-of-superposition"
    assert paper_id_for(None, "Naïve Übersetzung: Straße") == "naive-ubersetzung-strasse"
    assert paper_id_for("2211.00593v3", "大型语言模型") == "2211.00593"  # an arXiv id, then an explicit id
    assert paper_id_for(None, "大型语言模型", "my-id") == "my-id"


def test_a_title_id_can_be_forced_to_its_hashed_form() -> None:
    """For a title whose plain slug is another paper's id: the slug, then the title key's hash, the same
    on every run and apart from the plain slug; a title already hashed keeps its id."""
    from kg.validation import check_paper_id

    digest = hashlib.sha256(b"a slug collision").hexdigest()[:12]
    assert title_id("A Slug Collision") == "a-slug-collision"
    assert title_id("A Slug Collision", hashed=True) == f"a-slug-collision-{digest}"
    assert title_id("A  slug collision!", hashed=True) == f"a-slug-collision-{digest}"  # one title key
    for title in _TITLE_IDS_APART:
        assert title_id(title, hashed=True) == title_id(title) == paper_id_for(None, title)
    long_plain = "word " * 20  # a slug of 99 characters: cut to 67 and hashed either way
    forced = title_id(long_plain, hashed=True)
    assert check_paper_id(forced) == forced and len(forced) <= 80 and forced == title_id(long_plain)


@pytest.mark.parametrize(("text", "expected"), [
    ("2211.00593v3", "2211.00593"), ("arXiv:2211.00593", "2211.00593"), ("hep-th/9901001", "hep-th/9901001"),
    ("https://arxiv.org/abs/2211.00593v3#S1", "2211.00593"), ("arxiv.org/pdf/2211.00593v2.pdf", "2211.00593"),
    ("https://export.arxiv.org/abs/2211.00593?context=cs", "2211.00593"),
    ("see:arxiv.org/abs/2401.00001", None), ("https://example.com/?u=arxiv.org/pdf/2401.00001", None),
    ("circuits 2211.00593", None), ("logit-lens", None), ("https://evilarxiv.org/abs/2211.00593", None),
])
def test_whole_arxiv_id_is_an_id_or_url_and_nothing_more(text: str, expected: str | None) -> None:
    from ingest.normalize import whole_arxiv_id

    assert whole_arxiv_id(text) == expected


# -- DOIs given whole (QA: SICI DOIs were cut at "<", merging every article of an issue into one) -------
_SICI_1 = "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0"
_SICI_2 = "10.1002/(SICI)1097-4571(199806)49:8<700::AID-ASI5>3.0.CO;2-X"


@pytest.mark.parametrize(("text", "expected"), [
    (_SICI_1, _SICI_1.lower()),
    (f"  doi: {_SICI_2}\n", _SICI_2.lower()),
    ("10.1000/{braced}", "10.1000/{braced}"),
    ("10.1002/(SICI)1097-4571(199806)", "10.1002/(sici)1097-4571(199806)"),  # balanced: kept
    # The resolver's URL, percent-encoded as browsers copy it: decoded, as the resolver reads it.
    ("https://doi.org/10.1002/%28SICI%291097-4571%28199806%2949%3A8%3C693%3A%3AAID-ASI4%3E3.0.CO%3B2-0",
     _SICI_1.lower()),
    (f"http://dx.doi.org/{_SICI_1}", _SICI_1.lower()),
])
def test_a_doi_given_as_a_doi_keeps_every_character(text: str, expected: str) -> None:
    from ingest.normalize import normalize_doi

    assert doi_from_text(text) == normalize_doi(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("10.1234/abc.", "10.1234/abc"),
    ("doi:10.1234/abc.", "10.1234/abc"),
    ("10.1234/ABC)", "10.1234/abc"),
    ("DOI: 10.1234/abc;", "10.1234/abc"),
    ("10.1234/abc),", "10.1234/abc"),
    ("https://doi.org/10.1234/abc.", "10.1234/abc"),
    ("doi:10.1145/3442188.3445922.", "10.1145/3442188.3445922"),  # as a reference list ends it
    (f"{_SICI_1}.", _SICI_1.lower()),
    (f"doi:{_SICI_2};", _SICI_2.lower()),
])
def test_a_doi_given_whole_loses_the_punctuation_it_ends_with(text: str, expected: str) -> None:
    """Review: a bare or `doi:` DOI kept a trailing "." or ")" (the doi.org form lost it), so a records
    file's DOI copied from a reference list no longer matched arXiv's DOI of the same paper."""
    from ingest.normalize import normalize_doi

    assert doi_from_text(text) == normalize_doi(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("see 10.1000/{braced}.", "10.1000/{braced}"),
    ("(see 10.1000/a(b)c(d))", "10.1000/a(b)c(d)"),
    (f"the article ({_SICI_1}), and more", _SICI_1.lower()),
    ("<https://doi.org/10.1234/abc>.", "10.1234/abc"),
    # A publisher's URL encodes "<" and ">": the same DOI as a records file gives.
    ("https://onlinelibrary.wiley.com/doi/abs/10.1002/(SICI)1097-4571(199806)49:8%3C693::AID-ASI4%3E3.0.CO;2-0",
     _SICI_1.lower()),
    ("https://doi.org/10.1234/abc).", "10.1234/abc"),  # a bare link closing the sentence around it
])
def test_a_doi_in_text_loses_only_the_closing_brackets_that_close_nothing(text: str, expected: str) -> None:
    assert doi_from_text(text) == expected


def _sici_file(path: Path) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in [
        {"title": "First Article in the Issue on Neural Networks", "doi": _SICI_1, "authors": ["A One"],
         "abstract": "About neurons in networks."},
        {"title": "A Completely Different Second Article on Syntax", "doi": _SICI_2, "authors": ["B Two"],
         "abstract": "About syntax trees."},
    ]) + "\n", encoding="utf-8")
    return path


def test_two_articles_of_one_issue_are_two_papers_with_their_whole_dois(tmp_path: Path) -> None:
    from ingest.records_file import read_records_file

    records = read_records_file(_sici_file(tmp_path / "sici.jsonl")).records
    assert [r.doi for r in records] == [_SICI_1.lower(), _SICI_2.lower()]
    assert [p.title for p in dedupe_records(records)] == [r.title for r in records]


def test_a_store_holding_a_cut_doi_gets_the_whole_one_and_the_lost_paper_on_reingest(
    tmp_path: Path, taxonomy: Any
) -> None:
    """What an upgrade sees: a store written before the fix holds the first article under the DOI cut
    at "<" (the second was merged into it). A re-ingest finds the first by its title key and gives it
    its whole DOI, and adds the second as a new paper; a second re-ingest changes nothing."""
    from ingest.extract import Extractor
    from ingest.pipeline import ingest_records_file, run_ingest
    from tests.embedders import HashEmbedder
    from tests.seed_store import taxonomy_store

    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    embedder, extractor = HashEmbedder(), Extractor(taxonomy)
    cut = Record(source="records", source_id="old", title="First Article in the Issue on Neural Networks",
                 authors=["A One"], abstract="About neurons in networks.",
                 doi="10.1002/(sici)1097-4571(199806)49:8")
    run_ingest(store, [cut], source="records", embedder=embedder, extractor=extractor, progress=False)
    path = _sici_file(tmp_path / "sici.jsonl")
    summary = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (summary.papers, summary.new, summary.updated) == (2, 1, 1)
    stored = store.get_papers(sorted(store.paper_ids()))
    assert sorted((p.title, p.doi) for p in stored) == [
        ("A Completely Different Second Article on Syntax", _SICI_2.lower()),
        ("First Article in the Issue on Neural Networks", _SICI_1.lower())]
    again = ingest_records_file(store, path, embedder=embedder, extractor=extractor, progress=False)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    store.close()


def test_records_merged_on_one_doi_under_different_titles_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ingest.normalize import titles_clearly_differ

    first = _record("a", "First Article in the Issue on Neural Networks", doi="10.5555/same")
    other = _record("b", "A Completely Different Second Article on Syntax", doi="10.5555/same")
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert len(dedupe_records([first, other])) == 1  # one DOI is one paper: merged, but said
    (warning,) = caplog.records
    assert "10.5555/same" in warning.getMessage() and first.title in warning.getMessage()
    assert other.title in warning.getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert same_paper_groups([first, other]) == [[0, 1]]  # the list parser's second pass: said once
    assert caplog.records == []
    # One paper's titles as two sources write them: no warning.
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        dedupe_records([_record("c", "Toy Models", doi="10.5555/toy"),
                        _record("d", "Toy Models of Superposition (ICLR'24)", doi="10.5555/toy")])
    assert caplog.records == []
    assert not titles_clearly_differ(title_key("Interpretability in the Wild"),
                                     title_key("Interpretability in the Wild: a Circuit for IOI in GPT-2"))


# -- trailing square brackets: a source's tag goes, the title's own numbering stays ------------------
@pytest.mark.parametrize("first, second", [
    ("Circuits Updates [July 2024]", "Circuits Updates [August 2024]"),
    ("Circuits Updates [July 12 2024]", "Circuits Updates [July 19 2024]"),
    ("Interim Report [Part 1]", "Interim Report [Part 2]"),
    ("Interim Report [Part II]", "Interim Report [Part III]"),
    ("Interim Report [Part One]", "Interim Report [Part Two]"),
    ("Attention SAE Features [Layer 10]", "Attention SAE Features [Layer 11]"),
    ("State of Mech Interp [Mid-2024]", "State of Mech Interp [Late 2024]"),
    ("Results [2023]", "Results [2024]"),
    ("Circuits Updates [July]", "Circuits Updates [August]"),
    ("Interim Report [Part 1, revised]", "Interim Report [Part 2, revised]"),
])
def test_a_trailing_bracket_that_numbers_the_title_stays_in_its_key(first: str, second: str) -> None:
    """QA: any trailing [...] was dropped as a tag, so "Circuits Updates [July 2024]" and "[August 2024]"
    became one paper and August's record was lost."""
    assert title_key(first) != title_key(second)
    assert title_key(first) == title_key(first.replace("[", "(").replace("]", ")"))  # as in parentheses
    assert len(dedupe_records([_record("a", first), _record("b", second)])) == 2


@pytest.mark.parametrize("tagged, plain", [
    ("Causal Scrubbing: a method for rigorously testing interpretability hypotheses [Redwood Research]",
     "Causal Scrubbing: a method for rigorously testing interpretability hypotheses"),
    ("Toy Models of Superposition [Anthropic]", "Toy Models of Superposition"),
    ("Toy Models of Superposition [Blog Post]", "Toy Models of Superposition"),
    ("Toy Models of Superposition [NeurIPS 2023]", "Toy Models of Superposition"),
])
def test_a_trailing_bracketed_source_tag_still_leaves_the_key(tagged: str, plain: str) -> None:
    assert title_key(tagged) == title_key(plain)


def test_a_series_in_brackets_keeps_every_post_with_its_own_data() -> None:
    """The QA's records: the August post kept its abstract instead of being merged into July's."""
    july = Record(source="records", source_id="j", title="Circuits Updates [July 2024]", abstract="July.")
    august = Record(source="records", source_id="a", title="Circuits Updates [August 2024]",
                    abstract="August.")
    merged = dedupe_records([july, august])
    assert [(r.title, r.abstract) for r in merged] == [
        ("Circuits Updates [July 2024]", "July."), ("Circuits Updates [August 2024]", "August.")]
    assert len({r.paper_id for r in merged}) == 2


def test_list_rows_of_a_series_in_brackets_are_two_papers(taxonomy: Any) -> None:
    """QA: the list's "[Part 1]" and "[Part 2]" rows were one paper, Part 1's TL;DR lost."""
    from ingest.awesome_list import parse_list

    markdown = ("# A list\n\n## Papers\n\n### Circuits\n| Paper | Techniques | TL;DR |\n| --- | --- | --- |\n"
                "| [Interim Report [Part 1]](https://example.org/one) | Probing | first |\n"
                "| [Interim Report [Part 2]](https://example.org/two) | Probing | second |\n")
    parsed = parse_list(markdown, taxonomy)
    assert sorted(p.title for p in parsed.papers) == ["Interim Report [Part 1]", "Interim Report [Part 2]"]
    assert parsed.row_warnings == []


def test_the_title_rule_fingerprint_notices_the_bracket_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores keyed by the old bracket rule (any trailing [...] dropped) recompute their keys."""
    import re

    from ingest import normalize

    current = normalize.title_key_rule()
    monkeypatch.setattr(normalize, "_TRAILING_BRACKET", re.compile(r"\s*\[[^\[\]]{1,60}\]\s*$"))
    assert normalize.title_key_rule.__wrapped__() != current


# -- records merged on one title but carrying different DOIs ------------------------------------------
def test_records_merged_on_one_title_under_different_dois_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """QA: two "Editorial" records with different DOIs became one paper, the second DOI and abstract
    dropped without a word; a shared DOI under different titles was already warned about."""
    first = Record(source="records", source_id="a", title="Editorial", doi="10.1000/journal-a.1",
                   abstract="A.")
    other = Record(source="records", source_id="b", title="editorial", doi="10.2000/journal-b.7",
                   abstract="B.")
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert len(dedupe_records([first, other])) == 1  # one title is one paper: merged, but said
    (warning,) = caplog.records
    message = warning.getMessage()
    assert "10.1000/journal-a.1" in message and "10.2000/journal-b.7" in message
    assert "'Editorial'" in message and "'editorial'" in message
    caplog.clear()
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert same_paper_groups([first, other]) == [[0, 1]]  # the list parser's second pass: said once
    assert caplog.records == []


@pytest.mark.parametrize("records", [
    # A paper's arXiv DOI beside its journal DOI: one paper, as arXiv and the records file give it.
    [Record(source="arxiv", source_id="x", title="Toy Models", arxiv_id="2209.10652", doi="10.1000/toy.1"),
     Record(source="records", source_id="r", title="Toy Models", doi="10.48550/arXiv.2209.10652")],
    [Record(source="records", source_id="r", title="Toy Models", doi="10.48550/arxiv.2209.10652"),
     Record(source="records", source_id="j", title="Toy Models", doi="10.1000/toy.1")],
    # One DOI, or a DOI on one record only: nothing dropped.
    [Record(source="records", source_id="a", title="Toy Models", doi="10.1000/toy.1"),
     Record(source="list", source_id="b", title="Toy Models", doi="10.1000/toy.1")],
    [Record(source="records", source_id="a", title="Toy Models", doi="10.1000/toy.1"),
     Record(source="list", source_id="b", title="Toy Models (ICLR'24)")],
])
def test_one_papers_versions_merged_on_a_title_are_not_warned_about(
    records: list[Record], caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert len(dedupe_records(records)) == 1
    assert caplog.records == []


def test_another_papers_arxiv_doi_under_one_title_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """An arXiv DOI naming another arXiv paper than the one merged into is no version of it."""
    records = [Record(source="arxiv", source_id="x", title="Toy Models", arxiv_id="2209.10652"),
               Record(source="records", source_id="r", title="Toy Models", doi="10.1000/toy.1"),
               Record(source="records", source_id="s", title="Toy Models", doi="10.48550/arXiv.2301.00001")]
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert len(dedupe_records(records)) == 1
    (warning,) = caplog.records
    assert "10.1000/toy.1" in warning.getMessage() and "10.48550/arXiv.2301.00001" in warning.getMessage()


@pytest.mark.parametrize("records", [
    # Neither record gives an arXiv id: each arXiv DOI was taken for the paper's own.
    [Record(source="records", source_id="a", title="Toy Models", doi="10.48550/arXiv.2209.10652"),
     Record(source="records", source_id="b", title="Toy Models", doi="10.48550/arXiv.2301.00001")],
    # The paper's own arXiv DOI beside another preprint's: the other is still no version of it.
    [Record(source="arxiv", source_id="x", title="Toy Models", arxiv_id="2209.10652",
            doi="10.48550/arXiv.2209.10652"),
     Record(source="records", source_id="b", title="Toy Models", doi="10.48550/arXiv.2301.00001")],
])
def test_two_arxiv_dois_of_different_ids_under_one_title_are_warned_about(
    records: list[Record], caplog: pytest.LogCaptureFixture,
) -> None:
    """Review: two different arXiv DOIs under one title were merged without a word when neither record
    gave an arXiv id (any arXiv DOI passed for the paper's own): two preprints, one DOI kept."""
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert len(dedupe_records(records)) == 1  # one title is one paper: merged, but said
    (warning,) = caplog.records
    assert "10.48550/arXiv.2209.10652" in warning.getMessage()
    assert "10.48550/arXiv.2301.00001" in warning.getMessage()


def test_one_arxiv_doi_with_and_without_its_version_under_one_title_is_not_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = [Record(source="records", source_id="a", title="Toy Models", doi="10.48550/arXiv.2209.10652"),
               Record(source="records", source_id="b", title="Toy Models", doi="10.48550/arxiv.2209.10652v2")]
    with caplog.at_level("WARNING", logger="ingest.normalize"):
        assert len(dedupe_records(records)) == 1
    assert caplog.records == []


@pytest.mark.parametrize("title", [
    "Sparse Probing [Retracted]", "Sparse Probing [Draft]", "Sparse Probing [WIP]", "Sparse Probing [ICML]",
    "Sparse Probing [Extended Abstract]", "Sparse Probing [Oral]", "Sparse Probing [Spotlight]",
    "[Re] Sparse Probing [Re]", "Sparse Probing [Blog Post]", "Sparse Probing [draft]", "Sparse Probing [C]",
    "Circuits Updates [July 2024]",
])
def test_a_trailing_tag_saying_what_the_paper_is_stays_in_the_title(title: str) -> None:
    """Review: records titles lost "[Retracted]", "[Draft]", "[ICML]" ... when the list's organisation-tag
    rule came to records files: the stored title was the only place that said so."""
    from ingest.normalize import without_publisher_tag

    assert without_publisher_tag(title) == title


@pytest.mark.parametrize(("title", "bare"), [
    ("Causal Scrubbing [Redwood Research]", "Causal Scrubbing"), ("Toy Models [Anthropic]", "Toy Models"),
    ("Grokking Notes [OpenAI]", "Grokking Notes"), ("Steering  [Google DeepMind]", "Steering"),
])
def test_a_trailing_organisation_tag_is_dropped(title: str, bare: str) -> None:
    from ingest.normalize import without_publisher_tag

    assert without_publisher_tag(title) == bare
