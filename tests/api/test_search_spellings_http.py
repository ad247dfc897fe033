"""What QA found on a served seed store, over real HTTP: a noun in -ing and a joined word find their other
spellings, a swapped letter in a model's name gets a "did you mean", and a named model no paper studies
gets the "no paper is tagged" note (GET /api/search and the web search page)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from kg.embedded import EmbeddedStore
from tests.api.conftest import serving


@pytest.fixture(scope="module")
def port(app: Flask) -> Iterator[int]:
    """The seed app on a real HTTP server on a loopback port."""
    with serving(app) as served:
        yield served


def _get(port: int, path: str, **params: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}?{urlencode(params)}", timeout=60) as answer:
        assert answer.status == 200
        return answer.read().decode("utf-8")


def _search(port: int, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(_get(port, "/api/search", limit="100", **params))
    return body


@pytest.mark.parametrize(("query", "spelt"), [
    ("docstring", r"\bdocstrings\b"), ("finding", r"\bfindings\b"),  # a noun in -ing and its plural
    ("GPT2", r"\bGPT-2\b"), ("pretrained", r"\bpre-trained\b"), ("ngram", r"\bn-gram\b"),  # hyphenated
    ("feedforward", r"\bfeed-forward\b"),  # an alias of the taxonomy's, joined
])
def test_a_keyword_search_finds_the_other_spelling(port: int, seed_store: EmbeddedStore, query: str,
                                                   spelt: str) -> None:
    """Every stored paper writing the other spelling is found."""
    pattern = re.compile(spelt, re.IGNORECASE)
    other = {p.id for p in seed_store.get_papers(seed_store.paper_ids())
             if pattern.search(f"{p.title} {p.abstract or ''}")}
    assert other, "the seed corpus has the other spelling"
    assert other <= {r["id"] for r in _search(port, q=query, mode="keyword")["results"]}


@pytest.mark.parametrize(("query", "meant"), [("Pythai", "Pythia"), ("Cluade", "Claude"), ("Lamma", "Llama")])
def test_a_swapped_letter_in_a_model_name_gets_a_suggestion(port: int, query: str, meant: str) -> None:
    assert _search(port, q=query, mode="keyword")["did_you_mean"] == meant
    assert "Did you mean" in _get(port, "/search", q=query, mode="keyword")


def test_a_named_model_no_paper_studies_gets_the_note(port: int) -> None:
    body = _search(port, q="Gemma 2")
    assert body["not_tagged"] == ["gemma"] and body["results"]
    page = _get(port, "/search", q="Gemma 2")
    assert 'data-state="not-tagged">No paper is tagged Gemma; these are the nearest matches.' in page
    assert _search(port, q="circuits in Pythia")["not_tagged"] == []
