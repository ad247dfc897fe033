"""The Atom feed filtered by author: /feeds/new.atom?author=<key> (api/feeds.py author_filter)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from api.feeds import FEED_LIMIT_DEFAULT
from kg.entities import Paper, PaperBundle
from tests.api.author_store import author_client_of
from tests.api.conftest import app_config
from tests.embedders import HashEmbedder
from tests.seed_store import taxonomy_store


@pytest.fixture(scope="module")
def author_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """A client of the app on the author test store (tests/api/author_store.py)."""
    with author_client_of(tmp_path_factory) as client:
        yield client


A = "{http://www.w3.org/2005/Atom}"


def _feed(client: FlaskClient, query: str) -> ET.Element:
    r = client.get(f"/feeds/new.atom?{query}")
    assert r.status_code == 200, r.get_data(as_text=True)
    return ET.fromstring(r.data)


def test_author_feed_has_their_papers_and_its_own_id_and_title(author_client: FlaskClient) -> None:
    feed = _feed(author_client, "author=ada+lovelace")
    assert feed.findtext(f"{A}id") == "urn:paperkg:feeds:new:author:ada%20lovelace"
    assert feed.findtext(f"{A}title") == "paperkg: new papers by Ada Lovelace"
    alternate = [link.get("href") for link in feed.findall(f"{A}link") if link.get("rel") == "alternate"]
    assert alternate == ["http://localhost/authors/ada%20lovelace"]
    ids = [e.findtext(f"{A}id") for e in feed.findall(f"{A}entry")]
    # Newest stored first, as the unfiltered feed: one batch stored them, so by id, descending.
    assert ids == ["urn:paperkg:paper:plain-slug", "urn:paperkg:paper:hostile-author",
                   "https://arxiv.org/abs/2401.00001"]


def test_author_feed_takes_a_name_as_written_limit_and_since(author_client: FlaskClient) -> None:
    one = _feed(author_client, "author=Ada%20Lovelace&limit=1")
    assert one.findtext(f"{A}id") == "urn:paperkg:feeds:new:author:ada%20lovelace"
    assert [e.findtext(f"{A}id") for e in one.findall(f"{A}entry")] == ["urn:paperkg:paper:plain-slug"]
    later = _feed(author_client, "author=ada+lovelace&since=2999-01-01")
    assert later.findtext(f"{A}title") == "paperkg: new papers by Ada Lovelace"
    assert later.findall(f"{A}entry") == []


def test_unknown_author_is_a_400_as_an_unknown_technique_is(author_client: FlaskClient) -> None:
    for query in ("author=nobody", "technique=no_such_technique", "author=ada+lovelace&technique=sae"):
        r = author_client.get(f"/feeds/new.atom?{query}")
        assert r.status_code == 400, query
        assert r.get_json()["error"]["code"] == "bad_parameter"


def test_the_unfiltered_feed_keeps_its_id(author_client: FlaskClient) -> None:
    assert _feed(author_client, "").findtext(f"{A}id") == "urn:paperkg:feeds:new"


def _by_ann(pid: str, year: int) -> PaperBundle:
    return PaperBundle(Paper(id=pid, title=f"Paper {pid}", abstract="Words.", authors=["Ann Author"],
                             year=year, published=f"{year}-03-01", sources=["records"]))


def test_author_feed_shows_a_paper_stored_last_with_an_old_date(tmp_path: Path) -> None:
    # More papers than the feed holds, all dated 2023; then a records ingest stores one from 2019. By
    # date it would be the last of them and never reach the feed; the feed is newest stored first.
    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        store.upsert_papers([_by_ann(f"recent-{i:02d}", 2023) for i in range(FEED_LIMIT_DEFAULT + 1)])
        store.upsert_papers([_by_ann("old-but-new", 2019)])
        app = create_app(app_config(tmp_path / "api", STORE=store, EMBEDDER=HashEmbedder()))
        feed = _feed(app.test_client(), "author=ann+author")
    finally:
        store.close()
    ids = [e.findtext(f"{A}id") for e in feed.findall(f"{A}entry")]
    assert len(ids) == FEED_LIMIT_DEFAULT
    # The 2019 paper first, then the batch before it, by id descending (the unfiltered feed's ties).
    assert ids[:3] == ["urn:paperkg:paper:old-but-new", f"urn:paperkg:paper:recent-{FEED_LIMIT_DEFAULT:02d}",
                       f"urn:paperkg:paper:recent-{FEED_LIMIT_DEFAULT - 1:02d}"]
