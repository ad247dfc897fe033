"""The Atom feed of the newest papers (api/feeds.py): valid Atom, hostile text escaped, ids and links."""

from __future__ import annotations

import feedparser
from flask.testing import FlaskClient

from tests.api.conftest import HOSTILE_TITLE
from tests.api.test_json_api import error_of


def test_atom_feed_is_valid_and_escaped(plumbing_client: FlaskClient, client: FlaskClient) -> None:
    response = plumbing_client.get("/feeds/new.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    titles = {e.title for e in feed.entries}
    assert HOSTILE_TITLE in titles  # the exact text survives, escaped on the wire
    assert b"<script>" not in response.data
    entry = next(e for e in feed.entries if e.title == HOSTILE_TITLE)
    assert entry.id == "urn:paperkg:paper:hostile-1" and entry.link == "https://example.org/a?b=1&c=<2>"
    arxiv_entry = next(e for e in feed.entries if e.title.startswith("Sparse autoencoders"))
    assert arxiv_entry.id == "https://arxiv.org/abs/2401.00001"
    seed = feedparser.parse(client.get("/feeds/new.atom?limit=5").data)
    assert not seed.bozo and len(seed.entries) == 5
    assert error_of(client.get("/feeds/new.atom?since=never"), 400)

