"""Unicode that looks like plain text to a reader but is not to a program: decomposed letters (NFD),
invisible format characters (zero-width space ...), other spaces (no-break ...), and the script ℓ of a
norm's name. Imported text is cleaned of them (clean_text), queries and author keys read them as a
reader does, and keyword search finds either spelling in a store indexed before this rule."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from kg.embedded import EmbeddedStore
from kg.entities import Paper, PaperBundle
from kg.validation import FORMAT_CHARACTERS, author_key, clean_text, paper_authors, query_words, search_terms

NFD = "NFD"


def test_clean_text_composes_drops_format_characters_and_plain_spaces_others() -> None:
    assert clean_text(unicodedata.normalize(NFD, "Kurt Gödel")) == "Kurt Gödel"
    assert clean_text("Ilya Sutskever\u200b") == "Ilya Sutskever"
    cleaned = clean_text("acti\u200bvation\u00a0patching\u2060 \ufeffof\u00adheads")
    assert cleaned == "activation patching ofheads"
    assert clean_text("a\u2009b\u3000c\u202fd") == "a b c d"
    # Direction marks of right-to-left text are text, and stay (as before).
    assert clean_text("\u05e9\u05dc\u05d5\u05dd\u200f (v2)") == "\u05e9\u05dc\u05d5\u05dd\u200f (v2)"
    assert clean_text("plain ascii\ttext\n") == "plain ascii\ttext\n"


def test_every_invisible_format_character_is_removed_and_visible_ones_stay() -> None:
    import sys

    kept = {"\u200e", "\u200f", "\u061c"}  # direction marks
    # The visible prepended signs (Arabic number signs, Syriac abbreviation mark, Kaithi, Egyptian).
    visible = {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,
               0x110BD, 0x110CD}
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if unicodedata.category(ch) != "Cf" or ch in kept or cp in visible or 0x13430 <= cp <= 0x1345F:
            continue
        if 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069:
            continue  # bidi embedding/isolate controls: clean_text's older rule removes them
        assert FORMAT_CHARACTERS.fullmatch(ch), f"U+{cp:04X} {unicodedata.name(ch, '')}"


def test_author_keys_of_one_name_typed_differently_are_one() -> None:
    assert author_key(unicodedata.normalize(NFD, "Kurt Gödel")) == author_key("Kurt Gödel") == "kurt gödel"
    assert author_key("Ilya Sutskever\u200b") == author_key("Ilya\u00a0Sutskever") == "ilya sutskever"
    paper = Paper(id="p", title="T", authors=["Ilya Sutskever", "Ilya Sutskever\u200b"])
    assert {key for _, key, _ in paper_authors(paper)} == {"ilya sutskever"}


def test_query_words_of_decomposed_and_invisibly_split_words() -> None:
    assert query_words(unicodedata.normalize(NFD, "Gödel circuits")) == ["Gödel", "circuits"]
    assert query_words("acti\u200bvation patching") == ["activation", "patching"]


@pytest.mark.parametrize(("query", "terms"), [
    ("l1", ["l1", "ℓ1", "ℓ₁"]), ("ℓ1", ["ℓ1", "l1", "ℓ₁"]), ("ℓ₁", ["ℓ₁", "l1", "ℓ1"]),
    ("L0", ["L0", "ℓ0", "ℓ₀"]), ("llama", ["llama", "llamas"]), ("l1x", ["l1x"]),
])
def test_a_norms_name_is_searched_in_every_spelling(query: str, terms: list[str]) -> None:
    assert search_terms(query) == terms


def test_keyword_search_of_an_older_store_finds_every_spelling(tmp_path: Path) -> None:
    """Only queries changed: a store indexed before (its text stored decomposed, as an older clean_text
    left it) finds the composed and decomposed spellings, and ℓ1 / l1 find each other, without a reindex."""
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.init_schema()
    store.upsert_papers([
        PaperBundle(paper=Paper(id="godel", title=unicodedata.normalize(NFD, "Gödel Numbering of Circuits"))),
        PaperBundle(paper=Paper(id="script", title="Sparse Features in ℓ1-Regularised Residual Streams")),
        PaperBundle(paper=Paper(id="ascii", title="An L1 Penalty for Sparse Probes")),
        PaperBundle(paper=Paper(id="other", title="Induction Heads")),
    ])
    try:
        for query in ("Gödel", unicodedata.normalize(NFD, "Gödel"), "godel"):
            assert [h.id for h in store.keyword_search(query, 5)] == ["godel"], query
        for query in ("l1", "ℓ1", "L1", "ℓ₁"):
            assert {h.id for h in store.keyword_search(query, 5)} == {"script", "ascii"}, query
    finally:
        store.close()
