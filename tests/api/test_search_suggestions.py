"""Search's suggestions where people see them: `did_you_mean` and `non_latin_query` on GET /api/search,
a line in `paperkg search`, a notice on the web search page (the seed store, the real model)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from api.openapi import build_document
from kg.cli import main
from tests.kg.search_queries import QUERIES

CJK_QUERY = "稀疏自编码器"  # "sparse autoencoder"


@pytest.mark.parametrize(("query", "mode", "meant"), [
    ("activaton patching", "hybrid", "activation patching"),
    ("superpositon", "keyword", "superposition"),
    ("grokkking", "semantic", "grokking"),
    ("inducton heads", "hybrid", "induction heads"),
])
def test_the_api_suggests_the_taxonomy_name_a_query_misspells(client: FlaskClient, query: str, mode: str,
                                                              meant: str) -> None:
    body = client.get(f"/api/search?q={quote(query)}&mode={mode}").get_json()
    assert body["did_you_mean"] == meant and body["non_latin_query"] is False
    assert body["query"] == query  # the search is the one asked, not the suggestion
    schema = build_document()["components"]["schemas"]["SearchPage"]
    assert {"did_you_mean", "non_latin_query"} <= set(schema["required"])


@pytest.mark.parametrize("query", [*QUERIES, "papers on grokking", "what do transformers learn in context"])
def test_the_api_suggests_nothing_for_real_words(client: FlaskClient, query: str) -> None:
    body = client.get(f"/api/search?q={quote(query)}&mode=keyword&limit=1").get_json()
    assert body["did_you_mean"] is None and body["non_latin_query"] is False


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_the_api_flags_a_query_in_another_script(client: FlaskClient, mode: str) -> None:
    body = client.get(f"/api/search?q={quote(CJK_QUERY)}&mode={mode}").get_json()
    assert body["non_latin_query"] is True and body["did_you_mean"] is None


def test_the_cli_prints_the_suggestion_and_the_script_hint(env: None) -> None:
    typo = CliRunner().invoke(main, ["search", "grokkking", "--mode", "keyword"])
    assert typo.exit_code == 0, typo.output
    assert typo.output.startswith("0 papers (keyword); none at offset 0")
    assert "  did you mean: grokking\n" in typo.output
    assert "did you mean" not in CliRunner().invoke(main, ["search", "grokking", "--mode", "keyword"]).output
    script = CliRunner().invoke(main, ["search", CJK_QUERY, "--mode", "keyword"])
    assert script.exit_code == 0, script.output
    assert "  the search model reads English: try the English term\n" in script.output
    as_json = CliRunner().invoke(main, ["search", "inducton heads", "--mode", "keyword", "--json"])
    body = json.loads(as_json.output[as_json.output.index("{"):])
    assert body["did_you_mean"] == "induction heads" and body["non_latin_query"] is False


def _notice(page: str, state: str) -> str | None:
    found = re.search(rf'<p[^>]*data-state="{state}"[^>]*>(.*?)</p>', page, re.S)
    return " ".join(found.group(1).split()) if found else None


def test_the_search_page_links_the_suggestion_with_the_same_mode_and_filters(client: FlaskClient) -> None:
    page = client.get("/search?q=activaton+patching&mode=semantic&year_from=2020&technique=cma")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    notice = _notice(html, "did-you-mean")
    assert notice is not None and notice.startswith("Did you mean <a href=")
    assert notice.endswith("><bdi>activation patching</bdi></a>?")
    href = re.search(r'href="([^"]+)" data-did-you-mean', html)
    assert href is not None
    link = urlsplit(href.group(1).replace("&amp;", "&"))
    assert link.path == "/search"
    assert parse_qs(link.query) == {"q": ["activation patching"], "mode": ["semantic"], "year_from": ["2020"],
                                    "technique": ["cma"]}
    # The link runs the search it names, with no suggestion left.
    followed = client.get(f"{link.path}?{link.query}").get_data(as_text=True)
    assert _notice(followed, "did-you-mean") is None and 'data-state="results"' in followed
    # An empty answer says it too (keyword mode: no paper has the misspelt word).
    empty = client.get("/search?q=grokkking&mode=keyword").get_data(as_text=True)
    assert 'data-state="empty"' in empty
    assert _notice(empty, "did-you-mean") == ('Did you mean <a href="/search?q=grokking&amp;mode=keyword" '
                                              'data-did-you-mean><bdi>grokking</bdi></a>?')
    assert _notice(client.get("/search?q=papers+on+grokking").get_data(as_text=True), "did-you-mean") is None


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_the_search_page_says_the_model_reads_english(client: FlaskClient, mode: str) -> None:
    html = client.get(f"/search?q={quote(CJK_QUERY)}&mode={mode}").get_data(as_text=True)
    notice = _notice(html, "non-latin-query")
    assert notice is not None
    # The example is the taxonomy file's first example query (meta examples).
    assert notice == ("The search model reads English: try the English term "
                      "(e.g. “<bdi>how do induction heads form?</bdi>”).")
    # Not "check the spelling": the spelling is not what is wrong.
    assert _notice(html, "no-word-match") is None
    assert _notice(client.get(f"/search?q=sparse+autoencoder&mode={mode}").get_data(as_text=True),
                   "non-latin-query") is None
