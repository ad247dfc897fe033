"""The search page's "None of these papers contains the words you typed" notice counts only the words
most papers lack (GraphStore.common_words): QA typed plain questions ("why do models hallucinate") and
every hit "matched" through "models". The seed corpus through the real pipeline, HashEmbedder queries."""

from __future__ import annotations

import json
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


def _rows(html: str) -> dict[str, str]:
    """Each result row's HTML by its paper id."""
    parts = re.split(r'data-paper-row data-paper-id="([^"]+)"', html)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("q", ["models behaviour", "models behavior"])
def test_a_row_with_the_other_spelling_has_the_word(client: FlaskClient, q: str) -> None:
    """Keyword search finds "behavior" for "behaviour" and the reverse: a row holding either spelling
    matched a rarer word, not common words only (QA: 8 such rows for "behaviour", 4 for "behavior")."""
    from kg.explain import paper_words

    store = client.application.config["STORE"]
    rows = _rows(search(client, q))
    papers = {p.id: p for p in store.get_papers(list(rows))}
    spelled = [pid for pid, row in rows.items()
               if "word match #" in row and paper_words(papers[pid]) & {"behaviour", "behavior"}]
    assert len(spelled) >= 2
    assert [pid for pid in spelled if "common words only" in rows[pid]] == []


def _record(pid: str, title: str, abstract: str) -> str:
    """One line of a records file (seed_papers.jsonl's format)."""
    return json.dumps({"id": pid, "title": title, "abstract": abstract, "authors": ["A. Author"],
                       "year": 2024})


# Two small corpora, each writing a word only one way, and rarer words besides, so that no word is in
# more than half of the papers.
_FILLER = [("f1", "Grokking modular arithmetic", "Networks generalise late on modular addition."),
           ("f2", "Attention sinks", "Softmax puts mass on the first token."),
           ("f3", "Logit attribution", "Direct effects of heads on the output."),
           ("f4", "Toy superposition", "Features share dimensions in small networks."),
           ("f5", "Induction heads", "Copying previous tokens in context.")]
_CORPORA = {
    "a": [("s1", "Steering behavior with vectors", "Adding a vector changes the behavior of the network."),
          ("s2", "Sparse autoencoder dictionaries", "An autoencoder finds interpretable directions."),
          ("s3", "Probing pre-trained transformers", "Linear probes read pre-trained representations."),
          *_FILLER],
    "b": [("s1", "Steering behaviour with vectors", "Adding a vector changes the behaviour of the network."),
          ("s3", "Probing pretrained transformers", "Linear probes read pretrained representations."),
          *_FILLER],
}


@pytest.fixture(scope="module")
def spelled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FlaskClient]]:
    """An app over each corpus (_CORPORA) in a real SQLite file, HashEmbedder queries."""
    from ingest.pipeline import ingest_records_file

    clients, stores = {}, []
    for name, papers in _CORPORA.items():
        directory = tmp_path_factory.mktemp(f"spelled-{name}")
        records = directory / "records.jsonl"
        records.write_text("".join(_record(*p) + "\n" for p in papers), encoding="utf-8")
        store: EmbeddedStore = taxonomy_store(directory / "paperkg.sqlite3")
        embedder = HashEmbedder()
        assert ingest_records_file(store, records, embedder=embedder, progress=False).new == len(papers)
        stores.append(store)
        clients[name] = create_app({"STORE": store, "EMBEDDER": embedder, "TESTING": True}).test_client()
    yield clients
    for store in stores:
        store.close()


@pytest.mark.parametrize(("corpus", "q", "pid"), [
    ("a", "behaviour", "s1"), ("b", "behavior", "s1"),  # the other spelling
    ("a", "auto-encoder", "s2"),  # joined
    ("a", "pretrained", "s3"), ("b", "pre-trained", "s3"),  # hyphenated, and joined
])
def test_a_paper_with_another_form_of_the_word_has_the_words(
        spelled: dict[str, FlaskClient], corpus: str, q: str, pid: str) -> None:
    """No paper has the word as typed, one has it in a form keyword search also matches: no notice, and
    its row is a word match of a rarer word (the notice said no paper has the words)."""
    html = search(spelled[corpus], q)
    row = _rows(html)[pid]
    assert NOTICE not in html
    assert re.search(r"word match #\d+<", row) and "common words only" not in row
