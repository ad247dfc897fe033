"""One model shared by a web worker's threads: a query is not held up for a whole long encode (an
`explain=embedding` page), and sharing never changes a vector or puts two threads inside the model."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

from ingest.embed import Embedder
from kg.explain import split_sentences
from kg.search import MAX_EMBED_SENTENCES

QUERY = "sparse autoencoders find interpretable features in language models"
# Bounds the test's waits for another thread, so a broken build fails instead of hanging.
PATIENCE = 120.0


@pytest.fixture(scope="module")
def page_sentences(seed_records: list[dict[str, Any]]) -> list[str]:
    """As many abstract sentences as one explain=embedding page may encode (kg.search)."""
    sentences: list[str] = []
    for record in seed_records:
        sentences += split_sentences(record.get("abstract") or "")
        if len(sentences) >= MAX_EMBED_SENTENCES:
            break
    assert len(sentences) >= MAX_EMBED_SENTENCES
    return sentences[:MAX_EMBED_SENTENCES]


def _until(condition: Callable[[], bool]) -> None:
    """Wait (bounded by PATIENCE) until another thread makes condition true."""
    deadline = time.monotonic() + PATIENCE
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def _in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_query_started_during_a_long_encode_finishes_before_it(
        model_embedder: Embedder, page_sentences: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The QA report: one user's explain=embedding search stalled every other user's query in the worker
    for seconds, the query waiting for all 240 sentences. Now it waits for one turn of the long encode."""
    page_sentences = page_sentences[:96]  # a dozen turns: enough to come before, quicker than all 240
    expected_page = model_embedder.encode(page_sentences)
    expected_query = model_embedder.encode_query(QUERY)

    model = model_embedder._model
    real_encode = model.encode
    long_running = threading.Event()
    query_entered = threading.Event()
    query_thread: list[threading.Thread] = []

    def encode_signalling(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is not query_thread[0] and not long_running.is_set():
            long_running.set()
            # Hold the long encode's first model call until the query is waiting for the model.
            query_entered.wait(PATIENCE)
            turns = model_embedder._lock
            _until(lambda: getattr(turns, "waiting", lambda: 1)() >= 1)
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(model, "encode", encode_signalling)
    finished: list[str] = []
    results: dict[str, np.ndarray] = {}
    record = threading.Lock()

    def long_encode() -> None:
        vectors = model_embedder.encode(page_sentences)
        with record:
            finished.append("long")
            results["long"] = vectors

    def query() -> None:
        long_running.wait(PATIENCE)
        query_entered.set()
        vector = model_embedder.encode_query(QUERY)
        with record:
            finished.append("query")
            results["query"] = vector

    query_thread.append(threading.Thread(target=query, daemon=True))
    query_thread[0].start()
    long_thread = _in_thread(long_encode)
    long_thread.join(PATIENCE)
    query_thread[0].join(PATIENCE)

    assert finished == ["query", "long"]
    np.testing.assert_allclose(results["long"], expected_page, atol=1e-6)
    np.testing.assert_allclose(results["query"], expected_query, atol=1e-6)


def test_an_encode_in_turns_gives_the_vectors_of_one_encode_in_input_order(
        model_embedder: Embedder, page_sentences: list[str]) -> None:
    """Turns change nothing a search reads: each text's vector as one sentence-transformers encode of all
    the texts gives it, in the order given."""
    texts = [*page_sentences[:45], "", "x", page_sentences[0]]  # repeats, an empty text, one letter
    in_turns = model_embedder.encode(texts)
    at_once = np.asarray(model_embedder._model.encode(texts, batch_size=64, normalize_embeddings=True,
                                                      convert_to_numpy=True), dtype=np.float32)
    assert in_turns.dtype == np.float32 and in_turns.shape == at_once.shape
    np.testing.assert_allclose(in_turns, at_once, atol=1e-5)
    np.testing.assert_allclose(in_turns[-1], in_turns[0], atol=1e-5)
    # The CLI's ingest (progress bar) encodes in one go: the same vectors.
    np.testing.assert_allclose(model_embedder.encode(texts, progress=True), at_once, atol=1e-5)


def test_threads_sharing_the_model_never_run_inside_it_together(
        model_embedder: Embedder, page_sentences: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two long encodes and queries at once, through the web worker's twin (1 torch thread) and the
    process-wide embedder: one thread at a time in the model (torch modules are not re-entrant), and
    every result as it is alone."""
    web = model_embedder.with_threads(1)
    texts = page_sentences[:60]
    queries = [QUERY, "logit lens", "activation patching circuits", "induction heads"]
    expected_texts = model_embedder.encode(texts)
    expected_queries = [model_embedder.encode_query(q) for q in queries]

    model = model_embedder._model
    real_encode = model.encode
    inside = [0]
    most_inside = [0]
    count = threading.Lock()

    def encode_counting(*args: Any, **kwargs: Any) -> Any:
        with count:
            inside[0] += 1
            most_inside[0] = max(most_inside[0], inside[0])
        try:
            return real_encode(*args, **kwargs)
        finally:
            with count:
                inside[0] -= 1

    monkeypatch.setattr(model, "encode", encode_counting)
    results: dict[str, Any] = {}
    jobs: dict[str, Callable[[], Any]] = {
        "long web": lambda: web.encode(texts),
        "long process": lambda: model_embedder.encode(texts),
        **{f"query {i}": partial(web.encode_query, q) for i, q in enumerate(queries)},
    }

    def run(name: str, job: Callable[[], Any]) -> None:
        results[name] = job()

    threads = [_in_thread(partial(run, name, job)) for name, job in jobs.items()]
    for thread in threads:
        thread.join(PATIENCE)

    assert most_inside[0] == 1
    assert set(results) == set(jobs)
    np.testing.assert_allclose(results["long web"], expected_texts, atol=1e-6)
    np.testing.assert_allclose(results["long process"], expected_texts, atol=1e-6)
    for i, vector in enumerate(expected_queries):
        np.testing.assert_allclose(results[f"query {i}"], vector, atol=1e-6)


def test_a_stream_of_queries_still_lets_a_long_encode_on() -> None:
    """Queries go before a long encode's next turn, but at most SHORT_ENCODES_AHEAD of them: a worker
    flooded with queries does not stall an explain=embedding page for ever."""
    # Imported here, not at the top: the other tests of this file run on any build.
    from ingest.embed import SHORT_ENCODES_AHEAD, ModelTurns

    turns = ModelTurns()
    order: list[str] = []
    record = threading.Lock()
    holder_release = threading.Event()
    holder_in = threading.Event()

    def holder() -> None:
        with turns.turn(short=False):
            holder_in.set()
            holder_release.wait(PATIENCE)

    def waiter(name: str, short: bool) -> None:
        with turns.turn(short=short), record:
            order.append(name)

    threads = [_in_thread(holder)]
    holder_in.wait(PATIENCE)
    # Queued one by one, so the queue's order is known: the long turn first, then the queries.
    names = ["long", *(f"query {i}" for i in range(SHORT_ENCODES_AHEAD + 2))]
    for queued, name in enumerate(names, start=1):
        threads.append(_in_thread(partial(waiter, name, short=name != "long")))
        _until(partial(lambda q: turns.waiting() >= q, queued))
    assert turns.waiting() == len(names)
    holder_release.set()
    for thread in threads:
        thread.join(PATIENCE)

    queries = names[1:]
    assert order == [*queries[:SHORT_ENCODES_AHEAD], "long", *queries[SHORT_ENCODES_AHEAD:]]
    assert turns.waiting() == 0
