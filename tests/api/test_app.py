"""The app factory: the embedding model warmed in the background for servers, and not otherwise."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.app import create_app, get_embedder
from api.errors import NO_STORE_MESSAGE
from kg.config import load_config
from kg.embedded import EmbeddedStore
from tests.api.conftest import app_config

WARM_THREAD = "paperkg-warm-worker"


def _wait_for_warm_thread(timeout: float = 180.0) -> None:
    """Join the warm-up thread (the model load takes a few seconds, longer on a busy machine)."""
    for thread in threading.enumerate():
        if thread.name == WARM_THREAD:
            thread.join(timeout)


def test_servers_load_the_model_before_the_first_query(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`api.wsgi:app` (what gunicorn runs) starts loading the real model (and search's English word list)
    as it is created, so no request pays for them."""
    from kg.validation import english_words

    monkeypatch.delenv("PAPERKG_EMBEDDING_MODEL", raising=False)
    english_words.cache_clear()
    sys.modules.pop("api.wsgi", None)
    wsgi = importlib.import_module("api.wsgi")
    assert wsgi.app.config["WARM_EMBEDDER"] is True
    _wait_for_warm_thread()
    warmed = wsgi.app.extensions.get("paperkg_embedder")
    assert warmed is not None, "the model was not loaded in the background"
    assert get_embedder(wsgi.app) is warmed  # requests share it; nothing loads again
    vector = warmed.encode_query("induction heads")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    # Search's word list too (a query with a joined word, "pretrained", read it: 0.5-1 s).
    assert english_words.cache_info().currsize == 1
    sys.modules.pop("api.wsgi", None)


def test_gunicorn_logs_at_paperkg_log_level(tmp_path: Path) -> None:
    """gunicorn sets up only its own loggers: before, the API's log lines (PAPERKG_LOG_LEVEL) vanished."""
    from tests.api.test_gunicorn_conf import CONFIG, running_gunicorn

    # The shipped settings, one worker; HOME is tmp_path's, and the settings make no control socket.
    with running_gunicorn([*CONFIG, "-w", "1"], tmp_path, log_level="INFO") as server:
        # The warm-up logs at INFO once the model is loaded. A generous bound on loading it, so that a
        # missing line fails instead of hanging; a gunicorn that exits fails at once, with its log.
        assert server.wait_for("INFO api.app: embedding model loaded", timeout=180), (
            f"no INFO line from the API (gunicorn exit code {server.proc.poll()}):\n{server.log}")


def test_the_plain_factory_loads_nothing_until_asked(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))
    assert WARM_THREAD not in {t.name for t in threading.enumerate()}
    time.sleep(0.2)  # a thread, had one started, would be loading by now
    assert "paperkg_embedder" not in app.extensions


def test_a_failed_warm_up_is_reported_by_the_first_search(
    tmp_path: Path, seed_store: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing model does not break start-up: the warm-up logs it, a semantic search tries again
    and gets a 503, and keyword search works."""
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path),
                              "PAPERKG_EMBEDDING_MODEL": str(tmp_path / "no-model")})
    with caplog.at_level("WARNING", logger="api.app"):
        app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": seed_store,
                          "WARM_EMBEDDER": True})
        _wait_for_warm_thread()
    assert any("could not preload the embedding model" in r.getMessage() for r in caplog.records)
    client = app.test_client()
    caplog.clear()
    with caplog.at_level("WARNING"):
        semantic = client.get("/api/search", query_string={"q": "induction heads", "mode": "semantic"})
    assert semantic.status_code == 503
    assert "no usable embedding model; mode=keyword needs none" in semantic.get_json()["error"]["message"]
    # The request answers from the warm-up's failure (the log names the path; the client is not told it).
    assert any("no-model" in r.getMessage() and r.name == "api.json_api" for r in caplog.records)
    keyword = client.get("/api/search", query_string={"q": "induction heads", "mode": "keyword"})
    assert keyword.status_code == 200 and keyword.get_json()["results"]


def test_a_process_that_loaded_the_model_shares_it_with_the_app(
    tmp_path: Path, seed_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` ingests, then serves in the same process: the app reuses the ingest's weights
    (no second load) but encodes on one torch thread, and the ingest's embedder keeps its own."""
    monkeypatch.delenv("PAPERKG_EMBEDDING_MODEL", raising=False)
    from ingest.embed import get_embedder as process_embedder
    from ingest.embed import loaded_embedder

    ingest = process_embedder()
    assert loaded_embedder() is ingest
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)}),
                      "STORE": seed_store})
    served = get_embedder(app)
    assert served is not ingest and served._model is ingest._model and served._lock is ingest._lock
    assert served.threads == 1 and ingest.threads is None
    query = "logit lens"
    np.testing.assert_allclose(served.encode_query(query), ingest.encode_query(query), atol=1e-6)


def test_a_query_model_other_than_the_stores_is_refused_not_ranked_at_random(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Papers embedded by one model, queries by another (PAPERKG_EMBEDDING_MODEL changed after the
    ingest): the cosines would be meaningless, so semantic search says why and keyword search works."""
    from click.testing import CliRunner

    from kg.cli import main
    from tests.api.conftest import another_models_store
    from tests.embedders import HashEmbedder, OtherModel

    data = another_models_store(tmp_path / "data")
    app = create_app(app_config(data, EMBEDDER=HashEmbedder()))
    client = app.test_client()
    semantic = client.get("/api/search", query_string={"q": "patching", "mode": "semantic"})
    assert semantic.status_code == 503
    assert semantic.get_json()["error"]["code"] == "model_mismatch"
    assert client.get("/api/search", query_string={"q": "patching", "mode": "keyword"}).status_code == 200
    page = client.get("/search", query_string={"q": "patching", "mode": "hybrid"}).get_data(as_text=True)
    assert "not the one the papers were embedded with" in page
    # The same embedder for the store's own model is accepted.
    same = create_app(app_config(tmp_path / "again", STORE=EmbeddedStore(data / "paperkg.sqlite3"),
                                 EMBEDDER=OtherModel()))
    assert same.test_client().get("/api/search", query_string={"q": "patching"}).status_code == 200
    # The CLI loads the configured (packaged) model, which is not the store's either.
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data))
    cli = CliRunner().invoke(main, ["search", "patching", "--mode", "semantic"])
    assert cli.exit_code == 1 and "the store holds embeddings of 'another-model'" in cli.output


def test_the_app_never_creates_a_store_and_picks_one_up_once_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped PAPERKG_DATA_DIR (gunicorn's api.wsgi:app, `paperkg serve`): every request answers 503
    saying there is no store, and nothing is created there (an empty store made by a request passed
    the reading commands' "no store" check); once `paperkg init` makes one, the running app serves it."""
    from click.testing import CliRunner

    from api.app import close_app
    from kg.cli import main

    data = tmp_path / "typo"
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(data)})})
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    message = ready.get_json()["error"]["message"]
    # The message every route gives for a missing store (the paths and details go to the log only).
    assert message == NO_STORE_MESSAGE and "paperkg init" in message
    for url in ("/api/stats", "/api/techniques", "/feeds/new.atom"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.get_json()["error"]["code"] == "store_unavailable"
    page = client.get("/")
    assert page.status_code == 503 and "The graph store is unavailable" in page.get_data(as_text=True)
    shown = page.get_data(as_text=True).split("<main")[1]
    assert "There is no graph store here: the operator must check PAPERKG_DATA_DIR" in shown
    assert "or run paperkg init and an ingest there." in shown
    assert "`" not in shown  # text, not Markdown
    assert "paperkg init" in client.get("/api/stats").get_json()["error"]["message"]
    assert not data.exists()
    # Tables without a taxonomy (what such a request used to leave) are no store either.
    EmbeddedStore(data / "paperkg.sqlite3").close()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["message"] == NO_STORE_MESSAGE
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(data))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    try:
        assert client.get("/readyz").get_json() == {"status": "ready", "model": "not_loaded"}
        assert client.get("/api/stats").get_json()["nodes"]["Technique"] > 20
    finally:
        close_app(app)


def test_servers_warm_the_store_before_the_first_request(
    tmp_path: Path, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The warm-up also reads the store's vectors and related-papers index (seconds at 100k papers), so
    the first semantic search or related request reads neither."""
    import shutil

    from tests.seed_store import seed_db_path

    shutil.copy(seed_db_path(shared_data), tmp_path / "paperkg.sqlite3")
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})
    with caplog.at_level("INFO", logger="api.app"):
        app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": store, "WARM_EMBEDDER": True})
        _wait_for_warm_thread()
    assert any(r.getMessage() == "store vectors and related-papers index loaded" for r in caplog.records)
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)  # the request thread's connection (test client)
    client = app.test_client()
    semantic = client.get("/api/search", query_string={"q": "induction heads", "mode": "semantic"})
    assert semantic.status_code == 200
    assert client.get("/api/papers/2211.00593/related").status_code == 200
    assert not [s for s in statements if "embedding, year" in s or "json_group_array" in s]
    store.close()


def _init_with_a_new_technique(data: Path, monkeypatch: pytest.MonkeyPatch, node_id: str) -> None:
    """`paperkg init` (the real command) with a copy of the packaged taxonomy adding technique `node_id`."""
    import yaml
    from click.testing import CliRunner

    from kg.cli import main
    from kg.config import PACKAGED_TAXONOMY

    file = data / "edited.yaml"
    taxonomy = yaml.safe_load(PACKAGED_TAXONOMY.read_text(encoding="utf-8"))
    taxonomy["techniques"].append({"id": node_id, "label": "QA New Technique",
                                   "aliases": ["qa new technique"]})
    file.write_text(yaml.safe_dump(taxonomy, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for name, value in (("PAPERKG_DATA_DIR", str(data)), ("PAPERKG_TAXONOMY", str(file)),
                        ("PAPERKG_STORE", "embedded")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output


def test_a_technique_init_adds_is_a_search_filter_on_the_next_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running server, its taxonomy cached; `paperkg init` adds a technique and an ingest a paper using
    it: the next /search and /api/search take it as a filter (they answered 400 "Unknown technique" until
    the taxonomy cache expired, 30 s, while the technique's own page already linked to that search)."""
    from kg.entities import Paper, PaperBundle, TechniqueUse
    from tests.embedders import HashEmbedder
    from tests.seed_store import taxonomy_store

    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        assert client.get("/api/search?technique=probing").status_code == 200  # the taxonomy is cached
        _init_with_a_new_technique(tmp_path, monkeypatch, "qa_newtech2")
        store.upsert_papers([PaperBundle(Paper(id="qa-paper", title="A QA new technique paper"),
                                         techniques=[TechniqueUse("qa_newtech2", "extracted")])])
        assert 'href="/search?technique=qa_newtech2"' in client.get("/techniques/qa_newtech2").get_data(True)
        for path in ("/", "/search"):  # the home page is a search view too (review)
            web = client.get(f"{path}?technique=qa_newtech2")
            assert web.status_code == 200 and 'data-paper-id="qa-paper"' in web.get_data(as_text=True)
        api = client.get("/api/search?technique=qa_newtech2")
        assert api.status_code == 200 and [r["id"] for r in api.get_json()["results"]] == ["qa-paper"]
        topic = client.get("/api/search?topic=qa_newtech2")  # known now: refused as the wrong kind
        assert topic.status_code == 400 and "is not a topic id" in topic.get_json()["error"]["message"]
    finally:
        store.close()


def test_a_flood_of_unknown_ids_reads_the_taxonomy_once_per_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id the cached taxonomy lacks has it read again, but made-up ids sent over and over read it once
    per UNKNOWN_ID_RELOAD_SECONDS, not once a request (the store's taxonomy reads are counted)."""
    from tests.embedders import HashEmbedder
    from tests.seed_store import taxonomy_store

    # The periods far longer than the test, however slow the machine: only the bound decides.
    monkeypatch.setattr("api.app.TAXONOMY_CACHE_SECONDS", 3600.0)
    monkeypatch.setattr("api.web.FORM_OPTIONS_CACHE_SECONDS", 3600.0)
    monkeypatch.setattr("api.app.UNKNOWN_ID_RELOAD_SECONDS", 3600.0)
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    reads: list[str | None] = []
    real_taxonomy_nodes = store.taxonomy_nodes

    def counted(label: str | None = None) -> list[Any]:
        reads.append(label)
        return real_taxonomy_nodes(label)

    monkeypatch.setattr(store, "taxonomy_nodes", counted)
    try:
        client = create_app(app_config(tmp_path, STORE=store, EMBEDDER=HashEmbedder())).test_client()
        assert client.get("/api/search?technique=probing").status_code == 200
        assert len(reads) == 1  # the first request reads the taxonomy
        assert client.get("/search?technique=probing").status_code == 200
        assert len(reads) == 2  # and the web form's technique list, kept as long as the taxonomy
        for i in range(20):
            assert client.get(f"/api/search?technique=made_up_{i}").status_code == 400
            assert client.get(f"/search?technique=made_up_{i}").status_code == 400
            assert client.get(f"/api/search?topic=made_up_{i},also_{i}").status_code == 400
        assert len(reads) == 3  # the first unknown id read it again; the other 59 requests did not
        assert client.get("/api/search?technique=probing").status_code == 200
        assert len(reads) == 3  # known ids never read it
        monkeypatch.setattr("api.app.UNKNOWN_ID_RELOAD_SECONDS", 0.0)  # the period is over
        assert client.get("/api/search?technique=made_up_x").status_code == 400
        assert len(reads) == 4
        # Only the search views check these filters: other routes never read the taxonomy for them
        # (a liveness probe with a stray ?technique= does not touch the store).
        for path in ("/healthz", "/readyz", "/feeds/new.atom", "/api/openapi.json", "/no/such/page"):
            client.get(f"{path}?technique=made_up_y&topic=made_up_z")
        assert len(reads) == 4
    finally:
        store.close()


def test_the_model_is_checked_again_once_an_empty_store_gets_papers(tmp_path: Path) -> None:
    """A store without papers passes any query model; the check is not settled by it: once an ingest
    with another model fills the store, semantic search refuses the running app's model."""
    from tests.api.conftest import plumbing_bundles
    from tests.embedders import HashEmbedder, OtherModel
    from tests.seed_store import taxonomy_store

    data = tmp_path / "data"
    taxonomy_store(data / "paperkg.sqlite3").close()  # initialised, no papers yet
    client = create_app(app_config(data, EMBEDDER=HashEmbedder())).test_client()
    query = {"q": "patching", "mode": "semantic"}
    assert client.get("/api/search", query_string=query).status_code == 200
    ingest = EmbeddedStore(data / "paperkg.sqlite3")  # another process's ingest, with another model
    ingest.upsert_papers(plumbing_bundles(OtherModel()))
    ingest.close()
    semantic = client.get("/api/search", query_string=query)
    assert semantic.status_code == 503 and semantic.get_json()["error"]["code"] == "model_mismatch"


def test_a_damaged_store_met_by_the_warm_up_is_logged_as_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged store file is an ERROR wherever it is met (the operator must restore a backup), the
    server's warm-up included, not a WARNING as a store that cannot be reached yet."""
    import logging

    from tests.embedders import HashEmbedder
    from tests.kg.test_embedded_durability import damage_papers_table, seeded_store

    seeded_store(tmp_path / "paperkg.sqlite3")
    damage_papers_table(tmp_path / "paperkg.sqlite3")
    config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path)})
    with caplog.at_level("WARNING", logger="api.app"):
        create_app({"TESTING": True, "PAPERKG_CONFIG": config, "EMBEDDER": HashEmbedder(),
                    "WARM_EMBEDDER": True})
        _wait_for_warm_thread()
    preload = [r for r in caplog.records if "could not preload the store" in r.getMessage()]
    assert [r.levelno for r in preload] == [logging.ERROR]
    assert "is damaged" in preload[0].getMessage()


def test_a_search_during_the_model_load_is_told_to_come_back(
    plumbing_store: EmbeddedStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a semantic search arriving while the warm-up loaded the model (~45 s beside a running ingest)
    was held until clients and proxies timed out. It now waits MODEL_WAIT_SECONDS, then gets a 503 that
    says the model is loading (the web page says so too); keyword search answers throughout."""
    import ingest.embed
    from tests.embedders import HashEmbedder

    started, release = threading.Event(), threading.Event()

    class SlowModel(HashEmbedder):
        """A model whose load takes until the test releases it."""

        def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
            started.set()
            release.wait(30)
            super().__init__(model_path, threads)

    monkeypatch.setattr(ingest.embed, "Embedder", SlowModel)
    monkeypatch.setattr(ingest.embed, "loaded_embedder", lambda path: None)
    app = create_app(app_config(tmp_path, STORE=plumbing_store, MODEL_WAIT_SECONDS=0.2))
    warm = threading.Thread(target=get_embedder, args=(app,), kwargs={"patient": True}, daemon=True)
    warm.start()
    assert started.wait(10)
    client = app.test_client()
    try:
        for mode in ("semantic", "hybrid"):
            response = client.get("/api/search", query_string={"q": "attention heads", "mode": mode})
            assert response.status_code == 503 and response.headers["Retry-After"]
            assert response.get_json()["error"] == {
                "code": "model_loading",
                "message": "semantic search is not ready yet: the embedding model is still loading (the "
                           "server has just started); try again shortly, or mode=keyword needs none"}
        page = client.get("/search", query_string={"q": "attention heads", "mode": "semantic"})
        assert "the embedding model is still loading" in page.get_data(as_text=True)
        keyword = client.get("/api/search", query_string={"q": "attention heads", "mode": "keyword"})
        assert keyword.status_code == 200
    finally:
        release.set()
        warm.join(10)
    ready = client.get("/api/search", query_string={"q": "attention heads", "mode": "semantic"})
    assert ready.status_code == 200
