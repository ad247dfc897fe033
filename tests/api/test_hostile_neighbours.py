"""Hostile stored text that reaches a page through another paper: a stored URL no parser reads (as a store
written before records files' URLs were checked may hold), and HTML/JS in a neighbour's title, a shared
author and a "similar" edge's reason on a paper's graph page and graph.json (api/web_graph.py), checked
over a real HTTP server."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from flask import Flask

from api.app import create_app
from kg.embedded import EmbeddedStore
from kg.entities import ListRow, Paper, PaperBundle, TechniqueUse
from kg.taxonomy import load_taxonomy
from tests.api.conftest import app_config, serving
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

SCRIPT = '</script><script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
# Unparsable once ESC was removed: urlsplit raises on the bracketed host ("'evil' does not appear to be
# an IPv4 or IPv6 address"), which made every page showing the link answer 500.
BAD_URL = "https://x[evil]/p"
BAD_FTP = "ftp://x[31mRED]0;pwn"
HOSTILE_AUTHOR = f"Mallory {IMG}"
HOSTILE_TITLE = f"Logit lens neighbour {SCRIPT}"
# A taxonomy name is a "similar" edge's reason ("related techniques <name> ~ Activation Patching").
HOSTILE_TECHNIQUE_NAME = f"Path Patching {IMG} {SCRIPT}"
ABSTRACT = "We apply activation patching to attention heads in GPT-2 small. Heads matter for the circuit."


def _paper(embedder: HashEmbedder, pid: str, title: str, abstract: str = ABSTRACT, **kw: Any) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, sources=["records"], year=2024,
                 published="2024-05-01",
                 embedding=np.asarray(embedder.encode_query(f"{title} {abstract}"), dtype=np.float32),
                 embedding_model=embedder.model_name, **kw)


def bundles(embedder: HashEmbedder) -> list[PaperBundle]:
    """The centre paper (activation patching, author Mallory); a neighbour sharing the technique and the
    hostile author, with a hostile title and an unparsable URL; a paper sharing nothing but a related
    technique (path patching, its name hostile) and an abstract like the centre's: a "similar" edge."""
    logit = [TechniqueUse("logit_lens", "extracted", evidence=f"lens {SCRIPT}")]
    return [
        PaperBundle(_paper(embedder, "centre", "Activation patching of heads",
                           authors=[HOSTILE_AUTHOR, "Carol"], url="https://example.org/centre"),
                    techniques=[TechniqueUse("activation_patching", "extracted")]),
        PaperBundle(_paper(embedder, "neighbour", HOSTILE_TITLE, authors=[HOSTILE_AUTHOR], url=BAD_URL,
                           pdf_url=BAD_FTP),
                    techniques=[TechniqueUse("activation_patching", "extracted"), *logit],
                    list_rows=[ListRow(section_id="circuits", section_title="Circuits",
                                       section_path=["Circuits"], title_in_list=HOSTILE_TITLE,
                                       url_in_list=BAD_URL)]),
        PaperBundle(_paper(embedder, "similar", "Activation patching of heads, again"),
                    techniques=[TechniqueUse("path_patching", "extracted")]),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """A real SQLite store: the taxonomy with path patching's name hostile, and the three papers."""
    s = taxonomy_store(tmp_path_factory.mktemp("hostile-neighbours") / "paperkg.sqlite3")
    nodes = [n for n in load_taxonomy().nodes if n.id == "path_patching"]
    for node in nodes:
        node.name = HOSTILE_TECHNIQUE_NAME
    s.load_taxonomy(nodes)
    s.upsert_papers(bundles(HashEmbedder()))
    yield s
    s.close()


@pytest.fixture(scope="module")
def app(store: EmbeddedStore, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app over the module's store (HashEmbedder)."""
    return create_app(app_config(tmp_path_factory.mktemp("hostile-neighbours-app"), STORE=store,
                                 EMBEDDER=HashEmbedder()))


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server on a free loopback port."""
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}"


def _get(server: str, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET."""
    try:
        with urllib.request.urlopen(server + path, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


@pytest.mark.parametrize("path", [
    "/search?q=logit+lens", "/search?q=logit+lens&mode=keyword", "/papers/neighbour", "/papers/centre",
    "/techniques/logit_lens", "/techniques/activation_patching", "/new?since=2000-01-01",
    "/papers/neighbour/graph", "/papers/centre/graph", "/api/papers/neighbour", "/api/search?q=logit+lens",
    "/api/papers/neighbour/bibtex", "/feeds/new.atom", "/api/papers/centre/related",
])
def test_a_stored_url_no_parser_reads_is_no_500(server: str, path: str) -> None:
    status, _type, body = _get(server, path)
    assert status == 200, (path, body[:500])


def test_a_stored_url_no_parser_reads_is_shown_as_no_link(server: str) -> None:
    """The paper page's outbound link: "link" for its text, "#" for its href (never the URL)."""
    status, _type, body = _get(server, "/papers/neighbour")
    assert status == 200
    assert "x[evil]" not in body and "31mRED" not in body
    assert re.search(r'<a class="out" href="#"[^>]*>link</a>', body), body


def test_a_hostile_neighbour_author_and_similar_reason_are_escaped_on_the_graph_page(server: str) -> None:
    status, content_type, body = _get(server, "/papers/centre/graph")
    assert status == 200 and content_type.startswith("text/html")
    # The neighbour's title, the shared author and the similar paper's reason are all on the page...
    assert "Logit lens neighbour &lt;/script&gt;&lt;script&gt;alert(" in body
    assert "Mallory &lt;img src=x onerror=alert(1)&gt;" in body
    assert "related techniques Path Patching &lt;img src=x onerror=alert(1)&gt;" in body
    # ...as text only: no element nor script of theirs.
    for raw in (SCRIPT, IMG, "<script>alert", "<img src=x"):
        assert raw not in body, raw


def test_a_hostile_neighbour_author_and_similar_reason_are_plain_strings_in_graph_json(server: str) -> None:
    status, content_type, body = _get(server, "/papers/centre/graph.json")
    assert status == 200 and content_type.startswith("application/json")
    graph = json.loads(body)
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    assert labels["p:neighbour"] == HOSTILE_TITLE
    assert labels[f"a:{HOSTILE_AUTHOR.casefold()}"] == HOSTILE_AUTHOR
    # The author both papers share is one node, linked to both.
    author = f"a:{HOSTILE_AUTHOR.casefold()}"
    assert {(e["source"], e["target"]) for e in graph["edges"] if e["target"] == author} == {
        ("p:centre", author), ("p:neighbour", author)}
    (similar,) = [e for e in graph["edges"] if e["kind"] == "similar"]
    assert similar["target"] == "p:similar"
    assert f"related techniques {HOSTILE_TECHNIQUE_NAME} ~ Activation Patching" in similar["reason"]
    # Node links are the app's own pages (or none), never a stored URL.
    for node in graph["nodes"]:
        assert node["href"] is None or node["href"].startswith("/"), node


def test_the_hostile_neighbour_on_its_own_graph_page_is_escaped(server: str) -> None:
    status, _type, body = _get(server, "/papers/neighbour/graph")
    assert status == 200
    assert "Mallory &lt;img src=x onerror=alert(1)&gt;" in body
    for raw in (SCRIPT, IMG):
        assert raw not in body, raw
    status, _type, body = _get(server, "/papers/neighbour/graph.json")
    assert status == 200
    labels = {n["label"] for n in json.loads(body)["nodes"]}
    assert {HOSTILE_TITLE, HOSTILE_AUTHOR, "Activation patching of heads"} <= labels
