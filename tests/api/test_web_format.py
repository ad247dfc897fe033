"""api/web_format.py: the web UI's template filters on their own (dates, snippets, page links, hosts)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from api.web_format import highlight, host, shorten, when, with_page


@pytest.mark.parametrize(("stamp", "shown"), [
    ("2024-01-31", "2024-01-31"),  # a date alone gets no invented midnight
    ("2024-01-31T12:30:45Z", "2024-01-31 12:30 UTC"),
    ("2024-01-31T23:30:00-02:00", "2024-02-01 01:30 UTC"),  # shown in UTC
    ("not a date", "not a date"),
    (None, "—"),
    ("", "—"),
])
def test_when(stamp: str | None, shown: str) -> None:
    assert when(stamp) == shown


def test_shorten_keeps_text_of_exactly_the_limit_and_cuts_longer_at_a_word() -> None:
    assert shorten("a" * 10, 10) == "a" * 10
    assert shorten("  ten\nchars\t ", 9) == "ten chars"  # whitespace folded before measuring
    assert shorten("alpha beta gamma", 15) == "alpha beta …"
    assert shorten(None) == ""


def test_with_page_replaces_the_page_and_leaves_page_1_out() -> None:
    args = {"q": "induction heads", "technique": ["sae", "probing"], "page": "3", "year_from": "",
            "mode": None}
    assert parse_qsl(with_page(args, 2)) == [("q", "induction heads"), ("technique", "sae"),
                                             ("technique", "probing"), ("page", "2")]
    assert parse_qsl(with_page(args, 1)) == [("q", "induction heads"), ("technique", "sae"),
                                             ("technique", "probing")]
    assert with_page({"q": "a&page=9"}, 1) == "q=a%26page%3D9"  # values are encoded, never spliced in


@pytest.mark.parametrize(("url", "shown"), [
    ("https://arxiv.org/abs/2211.00593", "arxiv.org"),
    ("http://localhost:8000/papers/x", "localhost:8000"),
    ("not a url", "link"),
    ("", "link"),
    (None, "link"),
    # Unparsable (urlsplit raises): a store written before records files' URLs were checked may hold one,
    # and every page showing its link answered 500.
    ("https://x[evil]/p", "link"),
    ("ftp://x[31mRED]0;pwn", "link"),
    ("http://[x", "link"),
    ("https://[::1]:8000/p", "[::1]:8000"),
])
def test_host(url: str | None, shown: str) -> None:
    assert host(url) == shown


# highlight marks what keyword search matched, and keyword search folds accents, stroked letters and
# ligatures (kg.validation.fold_for_search): the words are compared folded, shown as written.
@pytest.mark.parametrize(("text", "query", "shown"), [
    ("Anders Søgaard", "sogaard", "Anders <mark>Søgaard</mark>"),
    ("Anders Sogaard", "Søgaard", "Anders <mark>Sogaard</mark>"),  # folded on the query side too
    ("Naïve Bayes probes", "naive", "<mark>Naïve</mark> Bayes probes"),
    ("Nai\u0308ve probes", "naive", "<mark>Nai\u0308ve</mark> probes"),  # decomposed: the mark is kept
    ("cafe\u0301 heads", "cafe", "<mark>cafe\u0301</mark> heads"),  # a trailing mark stays inside
    ("Łukasz Kaiser", "lukasz", "<mark>Łukasz</mark> Kaiser"),
    ("Die Straße der Köpfe", "strasse", "Die <mark>Straße</mark> der Köpfe"),
    # ß folds to two letters: the words after it are still cut in the right place.
    ("Straße heads and Straße circuits", "heads circuits",
     "Straße <mark>heads</mark> and Straße <mark>circuits</mark>"),
    ("ﬁnding circuits", "finding", "<mark>ﬁnding</mark> circuits"),
    ("the ﬁrst ﬁnding: æsthetic heads", "finding heads",
     "the ﬁrst <mark>ﬁnding</mark>: æsthetic <mark>heads</mark>"),
    ("Interprétabilité des modèles", "interpret", "<mark>Interprétabilité</mark> des modèles"),  # prefix
])
def test_highlight_compares_folded_words_and_marks_the_original(text: str, query: str, shown: str) -> None:
    assert str(highlight(text, query)) == shown


def test_highlight_still_escapes_before_marking_folded_words() -> None:
    out = highlight("<b>Søgaard</b> & Æsir say 1<2", "sogaard aesir")
    assert str(out) == "&lt;b&gt;<mark>Søgaard</mark>&lt;/b&gt; &amp; <mark>Æsir</mark> say 1&lt;2"
    assert str(highlight("<i>Straße</i>", "")) == "&lt;i&gt;Straße&lt;/i&gt;"


def test_highlight_leaves_unmatched_and_stop_words_alone() -> None:
    assert str(highlight("Søren and the Ørsted", "sogaard the")) == "Søren and the Ørsted"


def test_highlight_leaves_question_framing_words_alone() -> None:
    """ "what do papers say about Pythia" marked every "about" and "papers" of a snippet, as Pythia."""
    shown = str(highlight("Papers about Pythia heads", "what do papers say about Pythia"))
    assert shown == "Papers about <mark>Pythia</mark> heads"
    # A query of framing words alone still marks them.
    assert str(highlight("Papers about heads", "papers")) == "<mark>Papers</mark> about heads"


def test_display_is_plain_text_for_autoescape_and_shorten_converts_before_cutting() -> None:
    from markupsafe import Markup, escape

    from api.web_format import display

    shown = display(Markup(r"\textless{}b\textgreater{}bold"))
    assert type(shown) is str and str(escape(shown)) == "&lt;b&gt;bold"
    assert display(None) == ""
    # Cut after converting: no "\textit{" or lone brace left at the cut.
    cut = shorten(r"We find \textit{continuous progress measures} here", 38)
    assert cut == "We find continuous progress measures …"
