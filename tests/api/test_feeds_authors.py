"""The Atom feed filtered by author: /feeds/new.atom?author=<key> (api/feeds.py author_filter)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.api.author_store import author_client_of


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
    assert ids == ["https://arxiv.org/abs/2401.00001", "urn:paperkg:paper:hostile-author",
                   "urn:paperkg:paper:plain-slug"]


def test_author_feed_takes_a_name_as_written_limit_and_since(author_client: FlaskClient) -> None:
    one = _feed(author_client, "author=Ada%20Lovelace&limit=1")
    assert one.findtext(f"{A}id") == "urn:paperkg:feeds:new:author:ada%20lovelace"
    assert [e.findtext(f"{A}id") for e in one.findall(f"{A}entry")] == ["https://arxiv.org/abs/2401.00001"]
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
