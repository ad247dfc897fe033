"""A failed run's message on the endpoints anyone can open (api/public_text.py): GET /api/status, GET
/api/runs and the About page write an internal arXiv API or list server as its variable, as /readyz does
the Neo4j server, while the public default arXiv API stays visible and the stored message stays whole
(privacy review: `ArxivError: arXiv API at http://arxiv-proxy.internal.example:8080/api/query …
HTTPConnectionPool(host='arxiv-proxy.internal.example', port=8080)` was published on all three)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from api.app import close_app, create_app
from kg.config import DEFAULT_ARXIV_URL, load_config
from kg.schema import RUN_SOURCE_WEEKLY
from tests.seed_store import taxonomy_store

INTERNAL_ARXIV = "http://aruser:arPW99@arxiv-proxy.internal.example:8080/api/query"
# What `paperkg ingest weekly` recorded with PAPERKG_ARXIV_URL=INTERNAL_ARXIV and no DNS for the host
# (ingest.arxiv_source.ArxivSource's message, the password already dropped).
ARXIV_DNS_FAILURE = (
    "ArxivError: arXiv API at http://arxiv-proxy.internal.example:8080/api/query failed after 1 attempts: "
    "connection failed: HTTPConnectionPool(host='arxiv-proxy.internal.example', port=8080): Max retries "
    "exceeded with url: /api/query?<query> (Caused by NameResolutionError(\"HTTPConnection(host='arxiv-"
    "proxy.internal.example', port=8080): Failed to resolve 'arxiv-proxy.internal.example' ([Errno -2] "
    "Name or service not known)\")) (1 ids from 2401.00001, page 1 (start=0))")
ARXIV_PUBLIC = (
    "ArxivError: arXiv API at $PAPERKG_ARXIV_URL failed after 1 attempts: connection failed: "
    "HTTPConnectionPool($PAPERKG_ARXIV_URL): Max retries exceeded with url: /api/query?<query> (Caused by "
    "NameResolutionError(\"HTTPConnection($PAPERKG_ARXIV_URL): Failed to resolve '$PAPERKG_ARXIV_URL' "
    "([Errno -2] Name or service not known)\")) (1 ids from 2401.00001, page 1 (start=0))")
INTERNAL_LIST = "https://u:tok@lists.internal.example/x/README.md"
# ingest.awesome_list.read_list_source's message for INTERNAL_LIST (no DNS): the password masked, the
# default https port named.
LIST_DNS_FAILURE = (
    "ListSourceError: cannot fetch the list from https://u:********@lists.internal.example/x/README.md: "
    "HTTPSConnectionPool(host='lists.internal.example', port=443): Max retries exceeded with url: "
    "/x/README.md (Caused by NameResolutionError(\"HTTPSConnection(host='lists.internal.example', "
    "port=443): Failed to resolve 'lists.internal.example' ([Errno -2] Name or service not known)\"))")
LIST_PUBLIC = ("ListSourceError: cannot fetch the list from $PAPERKG_LIST_SOURCE: HTTPSConnectionPool("
               "$PAPERKG_LIST_SOURCE): Max retries exceeded with url: /x/README.md (Caused by "
               "NameResolutionError(\"HTTPSConnection($PAPERKG_LIST_SOURCE): Failed to resolve "
               "'$PAPERKG_LIST_SOURCE' ([Errno -2] Name or service not known)\"))")
DEFAULT_HOST_FAILURE = ("ArxivError: arXiv API at https://export.arxiv.org/api/query answered HTTP 503 "
                        "(HTTPSConnectionPool(host='export.arxiv.org', port=443))")


def _shown(tmp_path: Path, env: dict[str, str], message: str) -> dict[str, Any]:
    """What GET /api/status, GET /api/runs and the About page show of one failed weekly run recorded
    with `message`, on a server configured by `env`; and the message the store kept."""
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        run = store.start_run(RUN_SOURCE_WEEKLY)
        store.finish_run(run.id, "failed", {"queries": 4}, message=message)
        config = load_config(env={"PAPERKG_DATA_DIR": str(tmp_path), **env})
        app = create_app({"TESTING": True, "PAPERKG_CONFIG": config, "STORE": store})
        client = app.test_client()
        status = client.get("/api/status")
        runs = client.get("/api/runs").get_json()["runs"]
        about = client.get("/about")
        close_app(app)
        stored = store.runs(RUN_SOURCE_WEEKLY, 1)[0].message
    finally:
        store.close()
    assert status.status_code == 503 and about.status_code == 200
    body = status.get_json()
    table = about.get_data(as_text=True).split('<table class="runs">', 1)[1].split("</table>", 1)[0]
    cell = table.split("<td", 6)[-1].split(">", 1)[1].split("</td>", 1)[0]  # the message column
    return {"problem": body["problems"][0]["message"], "last_message": body["weekly"]["last_message"],
            "runs": runs[0]["message"], "about": html.unescape(cell), "table": html.unescape(table),
            "stored": stored}


def _cut(message: str) -> str:
    """A message as the problem and the About page's cell cut it (300 characters, the last one "…")."""
    return message if len(message) <= 300 else message[:299] + "…"


def test_an_internal_arxiv_server_is_written_as_its_variable(tmp_path: Path) -> None:
    shown = _shown(tmp_path, {"PAPERKG_ARXIV_URL": INTERNAL_ARXIV}, ARXIV_DNS_FAILURE)
    assert shown["last_message"] == shown["runs"] == ARXIV_PUBLIC
    assert shown["problem"].split("failed: ", 1)[1] == shown["about"] == _cut(ARXIV_PUBLIC)
    for where in ("problem", "last_message", "runs", "table"):  # the table: the cell's title too
        text = shown[where]
        assert "internal.example" not in text and "8080" not in text and "arPW99" not in text, where
    assert shown["stored"] == ARXIV_DNS_FAILURE  # the CLI and the operators see it whole


def test_an_internal_list_url_is_written_as_its_variable(tmp_path: Path) -> None:
    shown = _shown(tmp_path, {"PAPERKG_LIST_SOURCE": INTERNAL_LIST}, LIST_DNS_FAILURE)
    assert shown["last_message"] == shown["runs"] == LIST_PUBLIC
    assert shown["problem"].split("failed: ", 1)[1] == shown["about"] == _cut(LIST_PUBLIC)
    assert shown["stored"] == LIST_DNS_FAILURE


def test_the_default_arxiv_api_stays_visible(tmp_path: Path) -> None:
    """export.arxiv.org is public and tells a reader which server failed."""
    assert load_config(env={}).arxiv_url == DEFAULT_ARXIV_URL
    shown = _shown(tmp_path, {}, DEFAULT_HOST_FAILURE)
    for where in ("problem", "last_message", "runs", "about"):
        assert "https://export.arxiv.org/api/query" in shown[where], where
        assert "host='export.arxiv.org', port=443" in shown[where], where
        assert "$PAPERKG" not in shown[where], where


def test_requests_forms_of_an_ip_and_a_one_word_host() -> None:
    """An IP address is replaced wherever it stands; a one-word name (it may be a word of the text) only
    where requests names it as the host."""
    from api.public_text import without_server

    text = ("arXiv API at http://10.1.2.3/api/query answered: HTTPConnectionPool(host='10.1.2.3', port=80) "
            "10.1.2.30 10.1.2.3")
    assert without_server(text, "http://10.1.2.3/api/query", "$V") == (
        "arXiv API at $V answered: HTTPConnectionPool($V) 10.1.2.30 $V")
    text = "HTTPSConnectionPool(host='arxivproxy', port=8443): the arxivproxy said no"
    assert without_server(text, "https://arxivproxy:8443/q", "$V") == (
        "HTTPSConnectionPool($V): the arxivproxy said no")
