"""The search page's "None of these papers contains the words you typed" notice counts only the words
most papers lack (GraphStore.common_words): QA typed plain questions ("why do models hallucinate") and
every hit "matched" through "models". The seed corpus through the real pipeline, HashEmbedder queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store

NOTICE = 'data-state="no-word-match"'


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[FlaskClient]:
    """The app over the seed corpus (HashEmbedder) in a real SQLite file."""
    from ingest.pipeline import ingest_records_file

    store: EmbeddedStore = taxonomy_store(tmp_path_factory.mktemp("notice") / "paperkg.sqlite3")
    embedder = HashEmbedder()
    assert ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=embedder,
                               progress=False).new == 38
    # The words the cases below rest on: more than half of the 38 papers have these, not the others.
    assert store.common_words(["models", "language", "hallucinate", "DeepMind", "honesty"]) == {
        "models", "language"}
    yield create_app({"STORE": store, "EMBEDDER": embedder, "TESTING": True}).test_client()
    store.close()


def search(client: FlaskClient, q: str) -> str:
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("q", ["why do models hallucinate", "DeepMind papers",
                               "hallucinations in language models"])
def test_a_common_word_alone_is_no_match(client: FlaskClient, q: str) -> None:
    """Hits share only "models" / "language" (or "papers", a word that frames the request): the notice."""
    html = search(client, q)
    assert NOTICE in html and "may be unrelated" in html


@pytest.mark.parametrize("q", ["language models", "indirect object identification", "honesty direction"])
def test_a_rarer_word_or_only_common_words_match(client: FlaskClient, q: str) -> None:
    """A hit holding a rarer word ("direction", "indirect") matches; a query of common words only
    ("language models") matches any paper holding them, as before."""
    assert NOTICE not in search(client, q)


def test_a_topic_s_papers_do_not_answer_the_words(client: FlaskClient) -> None:
    """No paper has the word "deception", a cue word of the AI Safety topic: the topic's list lifts its
    paper, which may share nothing else with the query (QA: "jailbreak" lost the notice), so it stays."""
    html = search(client, "deception")
    assert NOTICE in html


def test_a_row_matching_only_common_words_says_so(client: FlaskClient) -> None:
    """The notice said no paper has the words while rows said "word match #1": such a row now says its
    words are common ones only; a row holding a rarer word of the query does not."""
    html = search(client, "why do models hallucinate")
    assert NOTICE in html and "word match #1, common words only" in html
    assert re.search(r"word match #\d+<", html) is None
    rarer = search(client, "honesty direction")
    assert re.search(r"word match #\d+<", rarer) and "common words only" not in rarer
