"""After a weekly run the new papers are in the digest: /api/new?since= and /feeds/new.atom (feedparser)."""

from __future__ import annotations

from pathlib import Path

import feedparser

from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.weekly import run_weekly
from kg.taxonomy import Taxonomy
from tests.embedders import HashEmbedder
from tests.ingest.test_weekly import MI_CANDIDATES, NON_MI_CANDIDATES, NOW
from tests.seed_store import taxonomy_store


def test_weekly_papers_appear_in_api_new_and_atom_feed(tmp_path: Path, taxonomy: Taxonomy) -> None:
    from api.app import create_app

    store = taxonomy_store(tmp_path / "paperkg.sqlite3")
    try:
        with LocalArxivServer([*MI_CANDIDATES, *NON_MI_CANDIDATES]) as server:
            source = ArxivSource(url=server.url, delay=0.0, timeout=5.0, retries=1, backoff=0.01)
            summary = run_weekly(store, source=source, embedder=HashEmbedder(), extractor=Extractor(taxonomy),
                                 now=NOW)
        new_ids = {e["arxiv_id"] for e in MI_CANDIDATES}
        rejected_ids = {e["arxiv_id"] for e in NON_MI_CANDIDATES}
        assert set(summary.new_ids) == new_ids
        since = store.runs("arxiv-weekly")[0].started[:10]

        client = create_app({"STORE": store, "EMBEDDER": HashEmbedder(), "TESTING": True}).test_client()
        api = client.get(f"/api/new?since={since}")
        assert api.status_code == 200
        listed = {item["id"] for item in api.get_json()["results"]}
        assert new_ids <= listed and not (rejected_ids & listed)

        atom = client.get(f"/feeds/new.atom?since={since}")
        assert atom.status_code == 200 and atom.mimetype == "application/atom+xml"
        feed = feedparser.parse(atom.data)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == "atom10"
        titles = {entry.title for entry in feed.entries}
        assert {e["title"] for e in MI_CANDIDATES} <= titles
        assert not ({e["title"] for e in NON_MI_CANDIDATES} & titles)
        links = " ".join(link.href for entry in feed.entries for link in entry.links)
        assert all(pid in links for pid in new_ids)
    finally:
        store.close()
