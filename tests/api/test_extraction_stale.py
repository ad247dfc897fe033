"""Stored papers extracted with another taxonomy or extractor (api/health.py stale_extractions): GET
/api/status lists them as the notice extraction_stale and the About page says so, until `paperkg ingest
reextract` runs (QA, the taxonomy maintainer: only init's stderr note said so, and a forgotten reextract
left the old tags for good). A notice, not a problem: an upgrade or a taxonomy edit is a to-do, and a 503
paged monitoring for it (review); counted by one request at a time (review: requests at expiry all
counted)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

import ingest.reextract
from api.app import close_app, create_app
from ingest import pipeline
from kg.cli import main
from kg.config import PACKAGED_TAXONOMY, load_config
from kg.embedded import EmbeddedStore
from kg.schema import RUN_SOURCE_WEEKLY
from tests.api.conftest import serving
from tests.broken_imports import ERRORS, break_import
from tests.embedders import HashEmbedder
from tests.ingest.test_reextract import STITCHING, STITCHING_RECORDS, edited_taxonomy

STALE_MESSAGE = ("3 stored papers were extracted with another taxonomy or extractor: run "
                 "`paperkg ingest reextract` (after `paperkg init` if the taxonomy file changed)")
STALE_NOTICE = {"code": "extraction_stale", "message": STALE_MESSAGE}
ABOUT_LINE = re.compile(r"<p class=\"notice\" data-stale-extractions>(.*?)</p>", re.S)


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def real_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's pipeline with the hash embedder and a real extractor of the taxonomy it is given
    (PAPERKG_TAXONOMY's), as tests/ingest/test_cli.py's reextract tests run it."""
    from ingest.extract import Extractor

    embedder = HashEmbedder()
    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy: Extractor(taxonomy))


def _ingest_records(tmp_path: Path) -> None:
    """`paperkg ingest records` of three small papers (two name model stitching, a node the edited
    taxonomy adds)."""
    path = tmp_path / "stitching.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in STITCHING_RECORDS), encoding="utf-8")
    _run("ingest", "records", str(path))


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    """Apps a test creates, closed at its end."""
    made: list[Flask] = []
    yield made
    for app in made:
        close_app(app)


def _server(apps: list[Flask]) -> Flask:
    """A server's app as `paperkg serve` builds it from the environment (PAPERKG_*), no model loaded."""
    app = create_app({"TESTING": True, "PAPERKG_CONFIG": load_config(), "WARM_EMBEDDER": False})
    apps.append(app)
    return app


def _status(app: Flask) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/api/status")
    return response.status_code, response.get_json()


def _about_line(app: Flask) -> str | None:
    """The About page's line on stale extractions (tags removed, spaces joined), None when it has none."""
    response = app.test_client().get("/about")
    assert response.status_code == 200
    found = ABOUT_LINE.search(response.get_data(as_text=True))
    return None if found is None else " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def test_a_taxonomy_edit_is_a_status_notice_and_an_about_line_until_reextract(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_extraction: None,
    apps: list[Flask]
) -> None:
    monkeypatch.delenv("PAPERKG_TAXONOMY", raising=False)  # the packaged file
    _run("init")
    _ingest_records(tmp_path)
    before = _server(apps)
    status, body = _status(before)
    assert status == 200 and body["problems"] == [] and body["notices"] == []
    assert _about_line(before) is None

    monkeypatch.setenv("PAPERKG_TAXONOMY", str(edited_taxonomy(tmp_path)))
    init = _run("init")
    assert "run `paperkg ingest reextract`" in init.stderr
    app = _server(apps)  # the server restarted with the edited file
    # Over HTTP, as monitoring polls it: still a 200 "ok" (nothing failed), with the notice.
    with serving(app) as port, urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status",
                                                      timeout=30) as answer:
        assert answer.status == 200 and answer.headers["Retry-After"] is None
        body = json.loads(answer.read())
    assert body["status"] == "ok" and body["problems"] == []
    assert body["notices"] == [STALE_NOTICE]
    assert _about_line(app) == ("3 stored papers were extracted with another taxonomy or extractor: their "
                                "extracted tags stay as they were until paperkg ingest reextract runs (after "
                                "paperkg init if the taxonomy file changed).")

    _run("ingest", "reextract")
    # The same server, without a restart: the reextract run is the store's newest run.
    status, body = _status(app)
    assert status == 200 and body["status"] == "ok" and body["problems"] == [] and body["notices"] == []
    assert _about_line(app) is None


def _store_after_a_taxonomy_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed records ingested with the packaged taxonomy, then PAPERKG_TAXONOMY edited and init run
    again: every stored paper's extraction is another taxonomy's."""
    _run("init")
    _ingest_records(tmp_path)
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(edited_taxonomy(tmp_path)))
    _run("init")


def test_a_real_problem_fails_the_status_and_the_notice_is_listed_beside_it(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_extraction: None,
    apps: list[Flask]
) -> None:
    _store_after_a_taxonomy_edit(tmp_path, monkeypatch)
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")  # the weekly ingest, failing in its own process
    try:
        run = store.start_run(RUN_SOURCE_WEEKLY)
        store.finish_run(run.id, "failed", {}, message="arXiv answered 503")
    finally:
        store.close()
    app = _server(apps)
    with serving(app) as port, pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=30)
    assert failed.value.code == 503 and failed.value.headers["Retry-After"] == "60"
    body = json.loads(failed.value.read())
    assert body["status"] == "failing"
    assert [p["code"] for p in body["problems"]] == ["weekly_failed"]
    assert "arXiv answered 503" in body["problems"][0]["message"]
    assert body["notices"] == [STALE_NOTICE]


# How long a test waits, at most, for the requests it started (a guard against a hang, never a pass).
HANG_GUARD_SECONDS = 120.0


def test_requests_at_expiry_count_once_and_the_others_answer_with_the_last_count(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_extraction: None,
    apps: list[Flask]
) -> None:
    """Several requests over HTTP at once when the count is out of date: one counts again, the others
    answer with the last count meanwhile rather than each reading every paper's hash."""
    _store_after_a_taxonomy_edit(tmp_path, monkeypatch)
    app = _server(apps)
    status, body = _status(app)  # the first count
    assert status == 200 and body["notices"] == [STALE_NOTICE]
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")  # another process's run: the count is out of date
    try:
        store.finish_run(store.start_run("records").id, "succeeded", {})
    finally:
        store.close()

    check = ingest.reextract.check_extractions
    state = threading.Condition()
    calls: list[int] = []
    answers: list[tuple[int, dict[str, Any]]] = []
    release = threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        """The check, held until the test lets it go: the requests arriving meanwhile find it under way."""
        with state:
            calls.append(1)
            state.notify_all()
        release.wait(HANG_GUARD_SECONDS)
        return check(*args, **kwargs)

    monkeypatch.setattr(ingest.reextract, "check_extractions", held)
    requests = 6
    with serving(app) as port:
        def poll() -> None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status",
                                            timeout=HANG_GUARD_SECONDS) as answer:
                    answered = (answer.status, json.loads(answer.read()))
            except urllib.error.HTTPError as error:  # a 503 is an answer too
                answered = (error.code, json.loads(error.read()))
            with state:
                answers.append(answered)
                state.notify_all()

        threads = [threading.Thread(target=poll) for _ in range(requests)]
        for thread in threads:
            thread.start()
        with state:
            # Either every request but the counting one answered, or a second one started counting.
            state.wait_for(lambda: len(answers) == requests - 1 or len(calls) > 1, HANG_GUARD_SECONDS)
            early = len(answers)
        release.set()
        for thread in threads:
            thread.join(HANG_GUARD_SECONDS)
    assert len(calls) == 1
    assert early == requests - 1
    assert len(answers) == requests
    assert all(status == 200 and body["notices"] == [STALE_NOTICE] for status, body in answers)


def test_a_running_server_sees_the_file_edited_in_place_and_counts_once_per_store_state(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_extraction: None,
    apps: list[Flask]
) -> None:
    """The count is kept while nothing it depends on changes (GET /api/status is polled often), and made
    again when the taxonomy file changes or the store's newest run does."""
    own = tmp_path / "taxonomy.yaml"
    own.write_text(PACKAGED_TAXONOMY.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(own))
    _run("init")
    _ingest_records(tmp_path)
    counted: list[int] = []
    check = ingest.reextract.check_extractions

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return check(*args, **kwargs)

    monkeypatch.setattr(ingest.reextract, "check_extractions", counting)
    app = _server(apps)
    assert [_status(app)[1]["notices"] for _ in range(3)] == [[], [], []]
    assert _about_line(app) is None
    assert len(counted) == 1

    # The maintainer edits the file the server reads, and loads it into the store.
    anchor = "\nextensions_not_in_figure:\n"
    own.write_text(own.read_text(encoding="utf-8").replace(anchor, anchor + STITCHING, 1), encoding="utf-8")
    _run("init")
    del counted[:]  # init's own check (its stderr note) was counted too
    for _ in range(3):
        status, body = _status(app)
        assert status == 200 and body["problems"] == [] and body["notices"] == [STALE_NOTICE]
    assert _about_line(app) is not None
    assert len(counted) == 1

    store = EmbeddedStore(data_dir / "paperkg.sqlite3")  # another process's run: counted again after it
    try:
        run = store.start_run("records")
        store.finish_run(run.id, "succeeded", {})
    finally:
        store.close()
    assert _status(app)[1]["notices"] == [STALE_NOTICE]
    assert len(counted) == 2


def test_the_check_loads_no_model_and_no_spacy(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_extraction: None,
    apps: list[Flask]
) -> None:
    """Hashes only: a server whose torch and spaCy cannot even be imported still counts the papers."""
    _store_after_a_taxonomy_edit(tmp_path, monkeypatch)
    finders = [break_import(monkeypatch, name, ERRORS["ImportError"])
               for name in ("torch", "spacy", "sentence_transformers")]
    app = _server(apps)
    status, body = _status(app)
    assert status == 200 and body["notices"] == [STALE_NOTICE]
    assert body["model"] == "not_loaded"
    assert [f.tries for f in finders] == [0, 0, 0]
