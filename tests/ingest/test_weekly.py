"""The weekly arXiv ingest through the local arXiv server (a real HTTP server on 127.0.0.1).

Plumbing tests: the deterministic HashEmbedder stands in for the model (the gate's similarity
quality is tested with the real model in test_relevance.py); extraction is the real Extractor.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from click.testing import CliRunner

import ingest.store_lock as lock_module
import ingest.weekly as weekly_module
from ingest.arxiv_server import LocalArxivServer
from ingest.arxiv_source import ArxivSource
from ingest.extract import Extractor
from ingest.pipeline import ingest_records_file, run_ingest
from ingest.records import Record
from ingest.store_lock import LOCK_NAME, LOCK_TTL_SECONDS
from ingest.weekly import (
    RUN_SOURCE,
    WeeklyError,
    WeeklyLocked,
    build_queries,
    query_terms,
    rejected_since,
    run_weekly,
)
from kg.embedded import EmbeddedStore
from kg.store import LockHeld
from kg.taxonomy import Taxonomy, load_taxonomy
from tests.embedders import HashEmbedder
from tests.processes import stop_when_blocked
from tests.seed_store import taxonomy_store

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(arxiv_id: str, title: str, abstract: str, *, published: datetime, categories: list[str],
          version: int = 1, updated: datetime | None = None) -> dict[str, Any]:
    """A record in the shared seed format that the local arXiv server serves."""
    return {
        "arxiv_id": arxiv_id, "version": version, "title": title, "abstract": abstract,
        "authors": ["Test Author"], "published": _day(published), "updated": _day(updated or published),
        "categories": categories, "primary_category": categories[0],
    }


def mi_entry(arxiv_id: str, title: str, abstract: str, when: datetime, **kw: Any) -> dict[str, Any]:
    """An MI-on-LM candidate (cs.CL / cs.LG)."""
    return entry(arxiv_id, title, abstract, published=when, categories=["cs.CL", "cs.LG"], **kw)


MI_CANDIDATES = [
    mi_entry("2611.10001", "Sparse Autoencoders Uncover Arithmetic Features in Language Models",
             "We train sparse autoencoders on GPT-2 small and find features that represent operands of "
             "addition problems. Activation patching shows these features are causally necessary for "
             "the correct answer.", NOW - 5 * DAY),
    mi_entry("2611.10002", "Path Patching Reveals a Date-Comparison Circuit in Pythia",
             "We use path patching and mean ablation to find the circuit a Pythia language model uses to "
             "compare dates. A few attention heads move the month tokens and MLP layers compute the "
             "comparison.", NOW - 4 * DAY),
    mi_entry("2611.10003", "Steering Vectors Control Formality in Large Language Models",
             "Adding steering vectors computed by activation addition to the residual stream of Llama "
             "changes the formality of generated text. We show the effect is linear in the steering "
             "coefficient.", NOW - 2 * DAY),
]
# Papers the taxonomy query also matches, from fields where "circuit", "probing", "attention" and
# "features" mean something else; each is cross-listed in cs.LG so arXiv returns it.
NON_MI_CANDIDATES = [
    entry("2611.20001", "Symbolic Circuit Analysis of Switched-Capacitor Filters with Graph Learning",
          "Circuit analysis of switched-capacitor filters derives transfer functions from netlists. We learn "
          "a graph model that predicts pole locations from the circuit topology and the capacitor ratios.",
          published=NOW - 6 * DAY, categories=["cs.LG", "eess.SP"]),
    entry("2611.20002", "Automated Circuit Discovery for Analog Front-Ends via Evolutionary Search",
          "We present automated circuit discovery for analog front-ends: an evolutionary search proposes "
          "transistor-level topologies, and a SPICE simulator scores gain, noise and power.",
          published=NOW - 3 * DAY, categories=["cs.NE", "cs.LG"]),
    entry("2611.30001", "Probing Enzyme Active Sites with Machine-Learned Fluorescent Dyes",
          "Probing enzyme active sites requires dyes that bind selectively. We train a model on binding "
          "assays to design fluorescent dyes and validate eight of them in the wet lab.",
          published=NOW - 5 * DAY, categories=["q-bio.BM", "cs.LG"]),
    entry("2611.30002", "Linear Probes of Neural Population Activity in Mouse Visual Cortex",
          "We fit linear probes to calcium imaging recordings from mouse visual cortex and decode stimulus "
          "orientation. Probing accuracy peaks in layer 2/3 neurons and declines under anaesthesia.",
          published=NOW - 1 * DAY, categories=["q-bio.NC", "cs.LG"]),
    entry("2611.40001", "Attention Heads in Vision Transformers Specialise in Object Parts",
          "We analyse the attention heads of vision transformers trained on ImageNet. Heads in late layers "
          "attend to object parts such as wheels and eyes, and pruning them hurts fine-grained image "
          "classification.", published=NOW - 4 * DAY, categories=["cs.CV", "cs.LG"]),
    entry("2611.40002", "Interpretable Features for Satellite Image Classification",
          "We learn interpretable features for land-use classification from satellite images with a "
          "prototype layer, and show the features align with expert annotations of fields and roads.",
          published=NOW - 2 * DAY, categories=["cs.CV", "cs.AI"]),
]
KNOWN_ID = "2611.70001"
KNOWN_V1 = mi_entry(KNOWN_ID, "Logit Lens Decoding of Multilingual Latents",
                    "We apply the logit lens to a multilingual language model and decode intermediate "
                    "layers.", NOW - 6 * DAY)
KNOWN_V2 = mi_entry(KNOWN_ID, "Logit Lens Decoding of Multilingual Latents",
                    "We apply the logit lens and the tuned lens to multilingual language models and find "
                    "that middle layers decode to English before the output language.", NOW - 6 * DAY,
                    version=2, updated=NOW - 1 * DAY)
OFF_CATEGORY = entry("2611.50001", "Sparse Autoencoders for Image Denoising",
                     "Sparse autoencoders remove noise from photographs.", published=NOW - 3 * DAY,
                     categories=["cs.CV"])
OUT_OF_WINDOW = mi_entry("2611.60001", "Activation Patching in Old Papers",
                         "Activation patching of a GPT-2 language model, submitted long before the window.",
                         NOW - 30 * DAY)


def as_record(item: dict[str, Any]) -> Record:
    """A served entry as a records-file Record (how a paper got into the graph before the run)."""
    return Record(source="records", source_id=item["arxiv_id"], title=item["title"],
                  abstract=item["abstract"], arxiv_id=item["arxiv_id"], published=item["published"][:10],
                  authors=item["authors"],
                  categories=item["categories"], primary_category=item["primary_category"], version=1)


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, taxonomy: Taxonomy,
              extractor: Extractor) -> Path:
    """A store holding the seed corpus (the MI corpus the gate compares with), built once."""
    path = tmp_path_factory.mktemp("seeded") / "paperkg.sqlite3"
    store = taxonomy_store(path)
    ingest_records_file(store, shared_data / "seed_papers.jsonl", embedder=HashEmbedder(),
                        extractor=extractor, progress=False)
    store.close()
    return path


@pytest.fixture
def store(seeded_db: Path, tmp_path: Path) -> EmbeddedStore:
    """A fresh copy of the seeded store for one test."""
    path = tmp_path / "paperkg.sqlite3"
    shutil.copy(seeded_db, path)
    opened = EmbeddedStore(path)
    yield opened
    opened.close()


def source_for(server: LocalArxivServer, **kw: Any) -> ArxivSource:
    """An ArxivSource on the local server: no rate-limit wait, quick retries."""
    args = {"delay": 0.0, "timeout": 5.0, "retries": 3, "backoff": 0.01, "page_size": 100, **kw}
    return ArxivSource(url=server.url, **args)


def weekly(store: EmbeddedStore, source: ArxivSource, extractor: Extractor, **kw: Any) -> Any:
    """run_weekly with the plumbing embedder."""
    return run_weekly(store, source=source, embedder=HashEmbedder(), extractor=extractor, **kw)


def test_query_is_built_from_the_taxonomy_and_split_when_long(taxonomy: Taxonomy) -> None:
    terms = query_terms(taxonomy)
    lowered = {t.casefold() for t in terms}
    assert {"activation patching", "sparse autoencoder", "logit lens", "interpretability"} <= lowered
    assert "probe" not in lowered and "ablation" not in lowered  # ambiguous aliases are not queried
    queries = build_queries(terms, ["cs.CL", "cs.LG", "cs.AI"], max_chars=400)
    assert len(queries) > 1 and all(len(q) <= 400 for q in queries)
    assert all(q.endswith("AND (cat:cs.CL OR cat:cs.LG OR cat:cs.AI)") for q in queries)
    # Every term is in exactly one query.
    joined = [q for q in queries for t in terms if f'all:"{t}"' in q]
    assert len(joined) == len(terms)


def test_the_mi_query_is_unchanged_by_weekly_blocks(taxonomy: Taxonomy, shared_data: Path) -> None:
    """mi.yaml has no `weekly:` block: its queries are the built-in MI ones, byte for byte (pinned in
    data/weekly_queries_mi.txt, written before blocks existed; rewrite it when mi.yaml's aliases change)."""
    from kg.config import load_config

    pinned = (Path(__file__).parent / "data" / "weekly_queries_mi.txt").read_text(encoding="utf-8")
    assert taxonomy.weekly is None
    assert load_config().arxiv_categories == ("cs.CL", "cs.LG", "cs.AI")
    assert build_queries(query_terms(taxonomy), load_config().arxiv_categories) == pinned.splitlines()
    shared = load_taxonomy(shared_data / "taxonomy.yaml")  # the shared transcription: no block either
    assert shared.weekly is None and {"interpretability", "induction heads"} <= set(query_terms(shared))


BIO_TAXONOMY = Path(__file__).parent / "data" / "bio_taxonomy.yaml"
# The block's query_terms, then its specific_phrases (a generic technique's own aliases are not queried,
# so without them its papers were never candidates: field QA), then the technique aliases.
BIO_TERMS = ["ion channel structure", "membrane protein", "site-directed mutagenesis", "cryo-EM",
             "cryo-electron microscopy", "single-particle analysis", "x-ray crystallography",
             "crystal structure"]


def bio_entry(arxiv_id: str, title: str, abstract: str, when: datetime) -> dict[str, Any]:
    """A structural-biology candidate (q-bio.BM)."""
    return entry(arxiv_id, title, abstract, published=when, categories=["q-bio.BM"])


def test_a_taxonomy_of_another_field_is_queried_and_gated_by_its_weekly_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PAPERKG_TAXONOMY naming a biology file with its own block: the query holds only its terms (no MI
    phrase, no generic technique's alias, no stopword) and its paper is kept by its own cue, where the
    built-in gate refused it as "not about language models"."""
    bio = load_taxonomy(BIO_TAXONOMY)
    # "knockout" (a stopword) and "mutagenesis" (generic) left out, "site-directed mutagenesis" asked for.
    assert query_terms(bio) == BIO_TERMS
    path = tmp_path / "paperkg.sqlite3"
    opened = EmbeddedStore(path)
    opened.init_schema()
    opened.load_taxonomy(bio.nodes)
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(BIO_TAXONOMY))
    monkeypatch.setenv("PAPERKG_ARXIV_CATEGORIES", "q-bio.BM")
    channel = bio_entry("2611.80001", "Cryo-EM reveals the structure of a bacterial ion channel",
                        "We determine the cryo-EM structure of a mechanosensitive ion channel from E. coli "
                        "and describe how it opens.", NOW - 3 * DAY)
    battery = bio_entry("2611.80002", "Cryo-EM of frozen battery electrolytes",
                        "Cryo-electron microscopy images lithium dendrites in battery electrolytes.",
                        NOW - 2 * DAY)
    # Matched only by the built-in MI phrases: the bio query never asks for it.
    mi_only = bio_entry("2611.80003", "Mechanistic interpretability of a model of DNA",
                        "We find induction heads and superposition in a model of DNA.", NOW - 2 * DAY)
    try:
        with LocalArxivServer([channel, battery, mi_only]) as server:
            summary = run_weekly(opened, source=source_for(server), embedder=HashEmbedder(), now=NOW)
            queries = [unquote_plus(q) for q in server.requests]
        assert summary.queries == 1 and summary.candidates == 2
        assert summary.new_ids == ["2611.80001"]
        assert {t.technique_id for t in opened.get_paper("2611.80001").techniques} == {"cryo_em"}
        [rejection] = opened.rejections()
        assert rejection.arxiv_id == "2611.80002"
        assert rejection.reason.startswith("not about the taxonomy's field (techniques: cryo_em;")
        assert rejection.reason.endswith("; no domain cue)")
        for query in queries:
            terms = re.findall(r'all:"([^"]+)"', query)
            assert terms == BIO_TERMS and "cat:q-bio.BM" in query, query
    finally:
        opened.close()


def test_mixed_window_keeps_mi_rejects_others_and_updates_known(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    run_ingest(store, [as_record(KNOWN_V1)], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)
    papers_before = len(store.paper_ids())
    served = [*MI_CANDIDATES, *NON_MI_CANDIDATES, KNOWN_V2, OFF_CATEGORY, OUT_OF_WINDOW]
    with LocalArxivServer(served) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)
        assert all("cat%3Acs.CL" in q for q in server.requests)
        # Candidates come from the submittedDate window; new versions from the lastUpdatedDate walk.
        assert all("submittedDate" in q or "sortBy=lastUpdatedDate" in q for q in server.requests)

    mi_ids = {e["arxiv_id"] for e in MI_CANDIDATES}
    non_mi_ids = {e["arxiv_id"] for e in NON_MI_CANDIDATES}
    assert summary.candidates == len(mi_ids) + len(non_mi_ids) + 1  # off-category / old ones not returned
    assert set(summary.new_ids) == mi_ids
    assert (summary.new, summary.updated, summary.known) == (3, 1, 1)
    assert len(store.paper_ids()) == papers_before + 3  # the known paper was not duplicated
    for pid in non_mi_ids | {OFF_CATEGORY["arxiv_id"], OUT_OF_WINDOW["arxiv_id"]}:
        assert store.get_paper(pid) is None
    known = store.get_paper(KNOWN_ID)
    assert known is not None and "tuned lens" in known.paper.abstract
    assert {t.technique_id for t in known.techniques} >= {"logit_lens", "tuned_lens"}

    rejected = {r.arxiv_id: r for r in store.rejections()}
    assert set(rejected) == non_mi_ids
    for rejection in rejected.values():
        assert rejection.run_id == summary.run_id
        assert "not about language models" in rejection.reason
        assert "similarity" in rejection.reason and isinstance(rejection.score, float)
    # "automated circuit discovery" is an ACDC alias: the reason shows the hit was not enough.
    assert "acdc" in rejected["2611.20002"].reason

    run = store.runs(RUN_SOURCE)[0]
    assert run.status == "succeeded" and run.watermark == "2026-11-23T06:00:00Z"
    assert run.counts["rejected"] == len(non_mi_ids) and run.counts["kept"] == 3
    assert store.last_watermark(RUN_SOURCE) == "2026-11-23T06:00:00Z"

    # Re-running the same window (--since) sees the same papers again: nothing is duplicated, and
    # `ingest rejected` shows each rejected paper once.
    papers_after = len(store.paper_ids())
    with LocalArxivServer(served) as server:
        again = weekly(store, source_for(server), extractor, since=NOW - 7 * DAY,
                       now=NOW + timedelta(hours=1))
    assert (again.new, again.known, again.rejected) == (0, 4, len(non_mi_ids))
    assert len(store.paper_ids()) == papers_after
    assert len(store.rejections()) == 2 * len(non_mi_ids)  # every run's verdict is kept for auditing
    latest = rejected_since(store, None)
    assert {r.arxiv_id for r in latest} == non_mi_ids and len(latest) == len(non_mi_ids)
    assert all(r.run_id == again.run_id for r in latest)


def test_a_store_with_no_papers_is_gated_with_a_warning(
    tmp_path: Path, extractor: Extractor, caplog: pytest.LogCaptureFixture
) -> None:
    """Compose's scheduler runs on a store `paperkg init` made and nothing loaded: the gate has no corpus
    and keeps only candidates naming a technique, which the log says, with what to do; a store with
    papers is gated without it."""
    empty = taxonomy_store(tmp_path / "paperkg.sqlite3")
    warning = "the store holds no embedded papers, so the relevance gate keeps only candidates naming"
    with caplog.at_level(logging.WARNING, logger="ingest.weekly"), LocalArxivServer(MI_CANDIDATES) as server:
        summary = weekly(empty, source_for(server), extractor, now=NOW)
    assert summary.candidates == len(MI_CANDIDATES)
    assert [r.getMessage() for r in caplog.records if warning in r.getMessage()] != []
    assert "`paperkg ingest list`" in caplog.text
    assert "`paperkg ingest weekly --since 2026-11-16`" in caplog.text  # the window just judged
    empty.close()
    caplog.clear()
    seeded = EmbeddedStore(shutil.copy(tmp_path / "paperkg.sqlite3", tmp_path / "seeded.sqlite3"))
    run_ingest(seeded, [as_record(KNOWN_V1)], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)
    with caplog.at_level(logging.WARNING, logger="ingest.weekly"), LocalArxivServer(MI_CANDIDATES) as server:
        weekly(seeded, source_for(server), extractor, now=NOW)
    assert warning not in caplog.text
    seeded.close()


def test_new_version_of_a_paper_submitted_before_the_window_updates_it(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    old_v1 = mi_entry("2608.70002", "Path Patching of Factual Recall in Language Models",
                      "We use path patching on GPT-2 to trace factual recall.", NOW - 90 * DAY)
    old_v2 = {**old_v1, "version": 2, "updated": _day(NOW - 2 * DAY),
              "abstract": "We use path patching and causal scrubbing on GPT-2 and Pythia to trace factual "
                          "recall through a few MLP layers."}
    stranger = mi_entry("2608.70003", "Sparse Autoencoders on an Old Topic", "Unrelated old paper, v2 now.",
                        NOW - 80 * DAY, version=2, updated=NOW - 1 * DAY)
    run_ingest(store, [as_record(old_v1)], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)
    with LocalArxivServer([old_v2, stranger, *MI_CANDIDATES]) as server:
        summary = weekly(store, source_for(server, page_size=2), extractor, now=NOW)
    assert summary.updated == 1 and summary.new == len(MI_CANDIDATES)
    detail = store.get_paper("2608.70002")
    assert detail is not None and "causal scrubbing" in detail.paper.abstract
    assert "causal_scrubbing" in {t.technique_id for t in detail.techniques}
    # An old paper the graph never had is not a weekly candidate, updated or not.
    assert store.get_paper("2608.70003") is None
    ids = store.paper_ids()
    assert len(ids) == len(set(ids))


# Operator QA: 2611.03001 gets v2 (02:00 UTC), loaded by a weekly run, then v3 (12:00 UTC the same day).
SAME_DAY = datetime(2026, 11, 30, tzinfo=UTC)
SAME_DAY_V1 = mi_entry("2611.03001", "Attribution Patching Localises Refusal in Chat Language Models",
                       "We use activation patching on a chat language model to localise refusal.",
                       datetime(2026, 11, 2, tzinfo=UTC))
SAME_DAY_V2 = {**SAME_DAY_V1, "version": 2, "updated": _day(SAME_DAY + timedelta(hours=2)),
               "abstract": "We use activation patching and attribution patching on a chat language model "
                           "to localise refusal in a few attention heads."}
SAME_DAY_V3 = {**SAME_DAY_V1, "version": 3, "updated": _day(SAME_DAY + timedelta(hours=12)),
               "abstract": "We use activation patching, attribution patching and steering vectors on a chat "
                           "language model: refusal is one direction in the residual stream."}
# A paper submitted in every window below (a window of days with no candidate at all is a failed answer).
SAME_DAY_FRESH = {**MI_CANDIDATES[0], "published": _day(SAME_DAY - 2 * DAY),
                  "updated": _day(SAME_DAY - 2 * DAY)}


def _store_v1(store: EmbeddedStore, extractor: Extractor) -> None:
    """2611.03001 in the graph before the weekly runs, as v1 (submitted long before their windows)."""
    run_ingest(store, [as_record(SAME_DAY_V1)], source="records", embedder=HashEmbedder(),
               extractor=extractor, progress=False)


def _abstract_and_version(store: EmbeddedStore, item: dict[str, Any]) -> tuple[str, int | None]:
    detail = store.get_paper(item["arxiv_id"])
    assert detail is not None
    return detail.paper.abstract, detail.paper.arxiv_version


def test_a_new_version_posted_the_same_day_as_the_stored_one_is_loaded(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """arXiv dates are days, so v3 posted the day v2 was loaded has v2's date: it was skipped by that
    run and every later one. The stored version number tells them apart."""
    _store_v1(store, extractor)
    with LocalArxivServer([SAME_DAY_V2, SAME_DAY_FRESH]) as server:
        first = weekly(store, source_for(server), extractor, now=SAME_DAY + timedelta(hours=6))
    assert (first.known, first.updated) == (1, 1)
    assert _abstract_and_version(store, SAME_DAY_V2) == (SAME_DAY_V2["abstract"], 2)

    with LocalArxivServer([SAME_DAY_V3, SAME_DAY_FRESH]) as server:
        second = weekly(store, source_for(server), extractor, now=SAME_DAY + timedelta(hours=18))
    # Known: the fresh paper (in the window again) and v3 of the older one (last-updated walk).
    assert (second.known, second.updated, second.unchanged) == (2, 1, 1)
    assert _abstract_and_version(store, SAME_DAY_V3) == (SAME_DAY_V3["abstract"], 3)
    detail = store.get_paper(SAME_DAY_V3["arxiv_id"])
    assert detail is not None and "steering_vector" in {t.technique_id for t in detail.techniques}
    assert store.paper_ids().count(SAME_DAY_V3["arxiv_id"]) == 1

    # De-duplicated on id + version across runs: the next run does not load v3 again.
    with LocalArxivServer([SAME_DAY_V3, SAME_DAY_FRESH]) as server:
        third = weekly(store, source_for(server), extractor, now=SAME_DAY + DAY + timedelta(hours=6))
    assert (third.known, third.updated, third.unchanged) == (1, 0, 1)


def test_an_older_version_never_overwrites_a_newer_stored_one(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """`ingest arxiv --ids` answered with an older version than the weekly run loaded (a stale mirror,
    a replayed answer) leaves the newer metadata and its version as they are."""
    _store_v1(store, extractor)
    with LocalArxivServer([SAME_DAY_V3, SAME_DAY_FRESH]) as server:
        weekly(store, source_for(server), extractor, now=SAME_DAY + timedelta(hours=18))
    assert _abstract_and_version(store, SAME_DAY_V3) == (SAME_DAY_V3["abstract"], 3)
    with LocalArxivServer([SAME_DAY_V2]) as server:
        records = source_for(server).fetch_by_ids([SAME_DAY_V2["arxiv_id"]])
    assert [r.version for r in records] == [2]
    summary = run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=extractor,
                         progress=False)
    assert (summary.updated, summary.unchanged) == (0, 1)
    assert _abstract_and_version(store, SAME_DAY_V3) == (SAME_DAY_V3["abstract"], 3)
    # The same version again, or a newer one, is arXiv's word as before.
    with LocalArxivServer([{**SAME_DAY_V3, "version": 4, "abstract": "Withdrawn."}]) as server:
        newer = source_for(server).fetch_by_ids([SAME_DAY_V3["arxiv_id"]])
    run_ingest(store, newer, source="arxiv", embedder=HashEmbedder(), extractor=extractor, progress=False)
    assert _abstract_and_version(store, SAME_DAY_V3) == ("Withdrawn.", 4)


def test_a_store_written_before_versions_were_kept_is_upgraded_and_compares_dates(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """A store file without the papers.arxiv_version column (an older paperkg) is upgraded in place
    when opened: its papers read as version unknown, the weekly run compares their dates as before,
    and the version the load brings is kept from then on."""
    _store_v1(store, extractor)
    papers = store.paper_ids()
    path = store.path
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE papers DROP COLUMN arxiv_version")
    conn.commit()
    conn.close()
    older = EmbeddedStore(path)
    try:
        assert older.paper_ids() == papers
        assert _abstract_and_version(older, SAME_DAY_V1) == (SAME_DAY_V1["abstract"], None)
        with LocalArxivServer([SAME_DAY_V2, SAME_DAY_FRESH]) as server:
            first = weekly(older, source_for(server), extractor, now=SAME_DAY + timedelta(hours=6))
        assert (first.known, first.updated) == (1, 1)  # v2's date is after v1's: loaded by date
        assert _abstract_and_version(older, SAME_DAY_V2) == (SAME_DAY_V2["abstract"], 2)
        with LocalArxivServer([SAME_DAY_V3, SAME_DAY_FRESH]) as server:
            weekly(older, source_for(server), extractor, now=SAME_DAY + timedelta(hours=18))
        assert _abstract_and_version(older, SAME_DAY_V3) == (SAME_DAY_V3["abstract"], 3)
    finally:
        older.close()


def test_candidate_stored_without_arxiv_id_is_known_not_gated(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    item = NON_MI_CANDIDATES[2]  # the gate would reject it: "not about language models"
    slug = Record(source="records", source_id="enzyme-probes", title=item["title"], abstract=item["abstract"],
                  explicit_id="enzyme-probes")
    run_ingest(store, [slug], source="records", embedder=HashEmbedder(), extractor=extractor, progress=False)
    with LocalArxivServer([item]) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)
    assert (summary.known, summary.rejected, summary.updated, summary.new) == (1, 0, 1, 0)
    assert store.rejections() == []
    ids = store.paper_ids()
    assert item["arxiv_id"] in ids and "enzyme-probes" not in ids  # the stored paper moved to its arXiv id


def _many(n: int, start: datetime) -> list[dict[str, Any]]:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    return [
        mi_entry(f"2611.{11000 + i}", f"Sparse Autoencoder Features for the {words[i % 10]} {i} Task",
                 f"We train sparse autoencoders on a GPT-2 language model and use activation patching to "
                 f"find the features behind task {words[i % 10]} number {i}.", start + timedelta(hours=i))
        for i in range(n)
    ]


class _Hooked(ArxivSource):
    """An ArxivSource that runs `hook(start)` before fetching each page (to break the server mid-window)."""

    def __init__(self, hook: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.hook = hook
        self.pages: list[int] = []

    def fetch_page(self, search: Any, start: int, size: int, **kw: Any) -> Any:
        self.pages.append(start)
        self.hook(start)
        return super().fetch_page(search, start, size, **kw)


def test_multi_page_window_with_empty_page_and_503(store: EmbeddedStore, extractor: Extractor) -> None:
    items = _many(25, NOW - 6 * DAY)
    with LocalArxivServer(items) as server:
        injected: list[int] = []

        def hook(start: int) -> None:
            if start == 10 and not injected:  # the middle page of the first query
                injected.append(start)
                server.fail_next("empty")
                server.fail_next("503")

        source = _Hooked(hook, url=server.url, delay=0.0, timeout=5.0, retries=3, backoff=0.01, page_size=10)
        summary = weekly(store, source, extractor, now=NOW)
        at_10 = [q for q in server.requests if "&start=10&" in f"&{q}&"]
    assert injected == [10]
    # Two extra requests for that page (the empty one and the 503): retried, not skipped.
    assert len(at_10) == source.pages.count(10) + 2
    assert summary.candidates == 25 and summary.new == 25 and summary.rejected == 0
    assert all(store.get_paper(e["arxiv_id"]) is not None for e in items)  # no gaps
    assert store.runs(RUN_SOURCE)[0].status == "succeeded"


def test_server_dies_mid_window_then_next_run_covers_the_whole_window(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    last_week = [mi_entry("2611.09999", "Activation Patching of Negation in Language Models",
                          "We use activation patching on GPT-2 to locate negation handling.", NOW - 10 * DAY)]
    items = _many(25, NOW - 6 * DAY)
    with LocalArxivServer(last_week + items) as server:
        first = weekly(store, source_for(server), extractor, now=NOW - 7 * DAY)
    assert first.new == 1
    watermark = store.last_watermark(RUN_SOURCE)
    assert watermark == "2026-11-16T06:00:00Z"

    server = LocalArxivServer(last_week + items).start()
    try:
        def die(start: int) -> None:
            if start == 10:
                server.stop()  # arXiv goes away in the middle of the window

        dying = _Hooked(die, url=server.url, delay=0.0, timeout=2.0, retries=1, backoff=0.01, page_size=10)
        with pytest.raises(WeeklyError, match="watermark unchanged"):
            weekly(store, dying, extractor, now=NOW)
    finally:
        server.stop()
    failed = store.runs(RUN_SOURCE)[0]
    assert failed.status == "failed" and failed.watermark is None and "ArxivError" in (failed.message or "")
    assert store.last_watermark(RUN_SOURCE) == watermark
    # Windows from a watermark reach back over arXiv's announcement lag (3 days).
    reach = "2026-11-13T06:00:00Z"
    assert failed.counts["window_start"] == reach

    with LocalArxivServer(last_week + items) as server:
        retry = weekly(store, source_for(server, page_size=10), extractor, now=NOW + DAY)
    assert retry.window_start == reach  # the whole window again, not just the missing part
    assert retry.new == 25 and retry.candidates == 26 and retry.known == 1  # last week's paper again
    ids = store.paper_ids()
    assert len(ids) == len(set(ids))
    assert all(e["arxiv_id"] in ids for e in items)
    assert store.last_watermark(RUN_SOURCE) == "2026-11-24T06:00:00Z"


def test_an_empty_answer_for_a_whole_window_fails_and_keeps_the_watermark(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    items = _many(5, NOW - 9 * DAY)
    with LocalArxivServer(items) as server:
        weekly(store, source_for(server), extractor, now=NOW - 7 * DAY)
        watermark = store.last_watermark(RUN_SOURCE)
        server.entries.clear()  # arXiv answers totalResults 0 for the whole week
        # It names the categories asked, the setting another field most likely has to change.
        with pytest.raises(WeeklyError, match=r"no candidates at all .* in the categories cs\.CL, .*"
                                              r"\(PAPERKG_ARXIV_CATEGORIES\)"):
            weekly(store, source_for(server), extractor, now=NOW)
    assert store.runs(RUN_SOURCE)[0].status == "failed"
    assert store.last_watermark(RUN_SOURCE) == watermark


def test_second_run_while_locked_is_refused(store: EmbeddedStore, extractor: Extractor) -> None:
    store.acquire_lock(LOCK_NAME, "other-host:4242:0000beef:weekly-0123abcd")
    with LocalArxivServer(MI_CANDIDATES) as server:
        with pytest.raises(WeeklyLocked, match="another weekly ingest holds the lock"):
            weekly(store, source_for(server), extractor, now=NOW)
        assert server.requests == []  # refused before asking arXiv anything
    assert store.runs(RUN_SOURCE) == []
    store.release_lock(LOCK_NAME, "other-host:4242:0000beef:weekly-0123abcd")
    with LocalArxivServer(MI_CANDIDATES) as server:
        assert weekly(store, source_for(server), extractor, now=NOW).new == 3


def test_lock_is_refreshed_during_a_long_run_and_a_dead_runs_lock_expires(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    import threading

    from kg.store import LockHeld

    store.acquire_lock(LOCK_NAME, "killed-host:1:dead", ttl_seconds=0)  # a kill -9'd run's stale lock
    checked: list[str] = []
    done = threading.Event()

    def slow(start: int) -> None:
        if not checked:
            done.wait(3.0)  # outlive the 1 s lock TTL several times over
            try:
                store.acquire_lock(LOCK_NAME, "competitor:2:x", ttl_seconds=60)
                checked.append("taken")
            except LockHeld:
                checked.append("held")

    with LocalArxivServer(MI_CANDIDATES) as server:
        source = _Hooked(slow, url=server.url, delay=0.0, timeout=5.0, retries=1, backoff=0.01)
        summary = weekly(store, source, extractor, now=NOW, lock_ttl=1)
    assert summary.new == 3  # the stale lock did not block the run
    assert checked == ["held"]  # the heartbeat kept the lock although the run outlived its TTL
    store.acquire_lock(LOCK_NAME, "next-run:3:y")  # released at the end of the run


def test_cli_weekly_exits_nonzero_while_another_run_holds_the_lock(
    data_dir: Path, taxonomy: Taxonomy
) -> None:
    from kg.cli import main

    holder = taxonomy_store(data_dir / "paperkg.sqlite3")
    holder.acquire_lock(LOCK_NAME, "scheduler-host:77:0000beef:weekly-00c0ffee")
    try:
        result = CliRunner().invoke(main, ["ingest", "weekly", "--since", "2026-11-16"])
        assert result.exit_code != 0
        # Another host's run (or a holder without a pid space): it may be running or dead.
        assert "another weekly ingest holds the lock" in result.output
        assert "scheduler-host:77:0000beef:weekly-00c0ffee" in result.output
        assert "the lock is stale" in result.output
        assert result.exit_code == 75  # EX_TEMPFAIL: another ingest holds the lock, try again later
        assert holder.runs(RUN_SOURCE) == []
    finally:
        holder.release_lock(LOCK_NAME, "scheduler-host:77:0000beef:weekly-00c0ffee")
        holder.close()


def test_cli_weekly_refused_while_a_run_is_in_progress(
    data_dir: Path, taxonomy: Taxonomy, extractor: Extractor
) -> None:
    import threading

    from kg.cli import main

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    inside, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def hold(start: int) -> None:
        inside.set()
        release.wait(30)  # the first run sits in the middle of its window

    with LocalArxivServer(MI_CANDIDATES) as server:
        source = _Hooked(hold, url=server.url, delay=0.0, timeout=5.0, retries=1, backoff=0.01)

        def first_run() -> None:
            try:
                outcome["summary"] = weekly(store, source, extractor, now=NOW)
            except Exception as exc:  # surfaced by the assertions below
                outcome["error"] = exc

        thread = threading.Thread(target=first_run)
        thread.start()
        try:
            assert inside.wait(30)
            result = CliRunner().invoke(main, ["ingest", "weekly"])
        finally:
            release.set()
            thread.join(60)
    assert result.exit_code != 0
    assert "another weekly ingest is running" in result.output
    assert "error" not in outcome and outcome["summary"].new == 3  # the first run was not disturbed
    assert [r.status for r in store.runs(RUN_SOURCE)] == ["succeeded"]
    store.close()


# -- a dead run's lock ----------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
# A process that takes the weekly lock and records its run as a weekly run does, then holds both
# until its stdin closes (or it is killed).
_HOLDER = """
import sys
from ingest.store_lock import LOCK_NAME, LOCK_TTL_SECONDS, make_owner
from ingest.weekly import RUN_SOURCE
from kg.embedded import EmbeddedStore

store = EmbeddedStore(sys.argv[1])
owner = make_owner("weekly")
store.acquire_lock(LOCK_NAME, owner, ttl_seconds=LOCK_TTL_SECONDS)
run = store.start_run(RUN_SOURCE)
print(owner, run.id, flush=True)
sys.stdin.read()
"""


def spawn_holder(path: Path) -> tuple[subprocess.Popen[str], str, str]:
    """A live process holding the weekly lock on the store at `path`: (process, holder, run id)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the lock-holder process failed: {err}")
    owner, run_id = line.split()
    return proc, owner, run_id


def killed_holder(path: Path) -> tuple[int, str, str]:
    """A holder that took the weekly lock and was kill -9'd (and reaped): (pid, holder, run id)."""
    proc, owner, run_id = spawn_holder(path)
    proc.kill()  # SIGKILL: no finally, no release
    proc.communicate()
    return proc.pid, owner, run_id


def test_a_kill_9d_weekly_run_is_taken_over_at_once_by_the_next_run(
    store: EmbeddedStore, extractor: Extractor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The QA repro: `paperkg ingest weekly` killed with -9 mid-window; the next run starts right away."""
    env = {**os.environ, "PAPERKG_DATA_DIR": str(tmp_path), "PAPERKG_STORE": "embedded",
           "PAPERKG_ARXIV_DELAY": "600"}  # after its first request it sleeps until killed
    env.pop("PAPERKG_NEO4J_URI", None)
    with LocalArxivServer(MI_CANDIDATES) as server:
        env["PAPERKG_ARXIV_URL"] = server.url
        with (tmp_path / "killed.log").open("w") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from kg.cli import main; main()", "ingest", "weekly",
                 "--since", "2026-11-16"], cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                # It asks arXiv only after taking the lock and recording its run.
                deadline = time.monotonic() + 120
                while not server.requests:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("the weekly run ended or hung before asking arXiv: "
                                    + (tmp_path / "killed.log").read_text())
                    time.sleep(0.05)
            finally:
                proc.kill()
                proc.wait()
        [killed] = store.runs(RUN_SOURCE)
        assert killed.status == "running"
        with pytest.raises(LockHeld, match=f":{proc.pid}:"):  # the dead run still holds the lock
            store.acquire_lock(LOCK_NAME, "someone-else")
        with caplog.at_level(logging.WARNING, logger="ingest.weekly"):
            summary = weekly(store, source_for(server), extractor, now=NOW)
    assert summary.new == 3
    assert f"took over the lock of a dead weekly run (pid {proc.pid}" in caplog.text
    runs = {r.id: r for r in store.runs(RUN_SOURCE)}
    assert {i: r.status for i, r in runs.items()} == {killed.id: "failed", summary.run_id: "succeeded"}
    # The kill stays on record, no longer "running" forever: the next run (which holds the lock, so
    # nothing else is running) records it as ended.
    assert "did not finish: its process ended (killed or crashed)" in (runs[killed.id].message or "")
    store.acquire_lock(LOCK_NAME, "next-run:3:y")  # the run released the lock it took over


def test_a_killed_but_not_yet_reaped_run_counts_as_dead(store: EmbeddedStore, extractor: Extractor) -> None:
    """A zombie still answers os.kill(pid, 0), but it runs no more."""
    proc, _, run_id = spawn_holder(store.path)
    proc.kill()
    try:
        # Wait for it to die without reaping it (WNOWAIT): it stays a zombie, still "there" for kill(pid, 0).
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        os.kill(proc.pid, 0)
        with LocalArxivServer(MI_CANDIDATES) as server:
            summary = weekly(store, source_for(server), extractor, now=NOW)
    finally:
        proc.communicate()
    assert summary.new == 3
    statuses = {r.id: r.status for r in store.runs(RUN_SOURCE)}
    assert statuses == {run_id: "failed", summary.run_id: "succeeded"}


def test_a_live_run_on_this_host_is_refused(store: EmbeddedStore, extractor: Extractor) -> None:
    proc, owner, _ = spawn_holder(store.path)
    try:
        with LocalArxivServer(MI_CANDIDATES) as server:
            with pytest.raises(WeeklyLocked) as refused:
                weekly(store, source_for(server), extractor, now=NOW)
            assert server.requests == []
        assert proc.poll() is None  # still alive, still the holder
        with pytest.raises(LockHeld, match=owner):
            store.acquire_lock(LOCK_NAME, "someone-else")
    finally:
        proc.communicate()  # closes its stdin: it exits
    message = str(refused.value)
    assert f"another weekly ingest is running: pid {proc.pid} on this host is alive and not stopped" in (
        message)
    # With the lock's expiry (read with its holder, without taking the lock).
    assert f"lock '{LOCK_NAME}' is held by '{owner}' until " in message and "(in 15 min));" in message
    assert "--wait SECONDS" in message
    assert [r.status for r in store.runs(RUN_SOURCE)] == ["running"]  # only the holder's own run


def test_a_holder_pid_that_exists_under_another_user_counts_as_alive(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """pid 1 always exists; os.kill(1, 0) raises PermissionError unless we are root: alive either way."""
    holder = f"{socket.gethostname()}:1:{lock_module._pid_space()}:init"
    store.acquire_lock(LOCK_NAME, holder)
    alive = pytest.raises(WeeklyLocked, match="pid 1 on this host is alive")
    with LocalArxivServer(MI_CANDIDATES) as server, alive:
        weekly(store, source_for(server), extractor, now=NOW)


@pytest.mark.parametrize(("holder", "where"), [
    ("other-host:{pid}:{space}:weekly-0123abcd",
     "It belongs to host 'other-host': if that run died, the lock is stale"),
    # Same hostname, another boot or pid namespace: there the pid names another process (or none).
    ("{host}:{pid}:0000beef:weekly-0123abcd", "before a reboot, or a container sharing this hostname"),
    ("{host}:{pid}:weekly-0123abcd", "It belongs to a holder this host cannot check"),  # no pid space
])
def test_a_holder_this_host_cannot_check_is_refused_with_its_expiry(
    store: EmbeddedStore, extractor: Extractor, holder: str, where: str
) -> None:
    """Its pid is dead here, but that says nothing about a process elsewhere: wait for the expiry."""
    pid, killed, _ = killed_holder(store.path)  # a pid that is surely dead on this host
    store.release_lock(LOCK_NAME, killed)
    space = lock_module._pid_space()
    assert space != "0000beef"
    holder = holder.format(host=socket.gethostname(), pid=pid, space=space)
    store.acquire_lock(LOCK_NAME, holder, ttl_seconds=LOCK_TTL_SECONDS)
    with LocalArxivServer(MI_CANDIDATES) as server:
        with pytest.raises(WeeklyLocked) as refused:
            weekly(store, source_for(server), extractor, now=NOW)
        assert server.requests == []
    message = str(refused.value)
    assert message.startswith("another weekly ingest holds the lock")
    assert "is running" not in message  # it may be running, or dead: this host cannot tell
    assert where in message and "frees itself when it expires" in message
    assert f"held by {holder!r}" in message and re.search(r"until \S+Z \(in 15 min\)", message)
    with pytest.raises(LockHeld, match=re.escape(holder)):
        store.acquire_lock(LOCK_NAME, "someone-else")


def test_two_runs_taking_over_the_same_dead_run_exactly_one_wins(store: EmbeddedStore) -> None:
    _, dead, _ = killed_holder(store.path)
    barrier = threading.Barrier(2)
    outcomes: list[tuple[str, str]] = []

    def contend() -> None:
        mine = EmbeddedStore(store.path)  # each run opens the store itself
        owner = lock_module.make_owner("weekly")
        barrier.wait()
        try:
            lock_module.take_lock(mine, owner, LOCK_TTL_SECONDS)
            outcomes.append(("took", owner))
        except WeeklyLocked as exc:
            outcomes.append(("refused", str(exc)))
        finally:
            mine.close()

    threads = [threading.Thread(target=contend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(kind for kind, _ in outcomes) == ["refused", "took"]
    [winner] = [text for kind, text in outcomes if kind == "took"]
    [refusal] = [text for kind, text in outcomes if kind == "refused"]
    # The loser sees the winner (alive, in this process) as the holder, not the dead run.
    assert winner in refusal and f"pid {os.getpid()} on this host is alive" in refusal
    with pytest.raises(LockHeld, match=re.escape(winner)):
        store.acquire_lock(LOCK_NAME, "someone-else")
    # Taking over the same dead holder later fails too: the compare-and-set sees the winner.
    with pytest.raises(LockHeld, match=re.escape(winner)):
        store.acquire_lock(LOCK_NAME, "late", replacing=dead)


def test_cli_json_of_a_failed_run_is_the_run_and_its_error_on_stdout(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer([]) as server:  # arXiv answers a week with nothing: a failed answer
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        result = CliRunner().invoke(main, ["ingest", "weekly", "--json"])
    assert result.exit_code == 69  # EX_UNAVAILABLE: no usable answer from arXiv
    doc = json.loads(result.stdout)
    assert doc["status"] == "failed" and "no candidates at all" in doc["error"]
    assert doc["watermark"] is None and doc["candidates"] == 0
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.id, run.status) == (doc["run_id"], "failed")
    finally:
        store.close()
    assert "no candidates at all" in result.stderr  # people still read the error where errors go


def _weekly_stopped_by_sigterm(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `paperkg ingest weekly ARGS` sent SIGTERM while it waits for
    arXiv's first answer (a real subprocess and a local arXiv server that stalls)."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with LocalArxivServer([*MI_CANDIDATES], timeout_sleep=60) as server:
        server.fail_next("timeout")  # the first request stalls: the run is mid-way when it is stopped
        env = dict(os.environ, PAPERKG_DATA_DIR=str(data_dir), PAPERKG_STORE="embedded",
                   PAPERKG_ARXIV_URL=server.url, PAPERKG_ARXIV_DELAY="0", PAPERKG_ARXIV_TIMEOUT="120")
        env.pop("PAPERKG_NEO4J_URI", None)
        proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "ingest", "weekly", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not server.requests and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.requests and proc.poll() is None, "the weekly run never asked arXiv"
            # Once it waits for the stalled answer: see tests/processes.py.
            out, err = stop_when_blocked(proc, "poll", signum=signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc.returncode, out, err


def test_sigterm_mid_run_records_the_weekly_run_as_failed_and_frees_the_lock(data_dir: Path) -> None:
    """systemctl stop / docker stop send SIGTERM: the run used to stay `running`, its lock held until
    the next ingest took it over (a week later), with exit 143 and no word."""
    status, _out, err = _weekly_stopped_by_sigterm(data_dir)
    assert status == 143, err
    assert "stopped by SIGTERM: the run is recorded as failed" in err and "Traceback" not in err
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.source, run.status) == ("arxiv-weekly", "failed")
        assert "stopped by SIGTERM" in (run.message or "")
        store.acquire_lock(LOCK_NAME, "next-run")  # free at once
    finally:
        store.close()


def test_sigterm_mid_run_with_json_prints_the_failed_run_on_stdout(data_dir: Path) -> None:
    """A scheduler reading --json gets the stopped run as it gets any failed run (stdout was empty),
    and the exit is still 143."""
    status, out, err = _weekly_stopped_by_sigterm(data_dir, "--json")
    assert status == 143, err
    assert "stopped by SIGTERM: the run is recorded as failed" in err and "Traceback" not in err
    doc = json.loads(out)  # stdout is the one JSON document
    assert doc["error"] == "weekly ingest failed, watermark unchanged: Terminated: stopped by SIGTERM"
    assert (doc["status"], doc["watermark"], doc["candidates"], doc["new_ids"]) == ("failed", None, 0, [])
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        (run,) = store.runs()
        assert (run.id, run.status) == (doc["run_id"], "failed")
        assert run.message == "Terminated: stopped by SIGTERM"
        assert {key: doc[key] for key in run.counts} == run.counts  # the counts the run was recorded with
    finally:
        store.close()


def test_cli_rejects_a_bad_since_date(data_dir: Path) -> None:
    from kg.cli import main

    result = CliRunner().invoke(main, ["ingest", "weekly", "--since", "last tuesday"])
    assert result.exit_code != 0 and "not an ISO date" in result.output


@pytest.mark.model
def test_cli_weekly_then_rejected_then_export_with_the_real_model(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: Taxonomy, shared_data: Path
) -> None:
    import json

    from ingest.awesome_list import parse_list
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()  # `ingest weekly` needs an existing store
    real_now = datetime.now(UTC)
    shift = real_now - NOW  # move the fixed-date candidates into the last days of real time
    served = []
    for item in [*MI_CANDIDATES, *NON_MI_CANDIDATES]:
        moved = dict(item)
        for key in ("published", "updated"):
            moved[key] = _day(datetime.fromisoformat(item[key].replace("Z", "+00:00")) + shift)
        served.append(moved)
    taxonomy_store(data_dir / "paperkg.sqlite3").close()  # the weekly ingest needs an existing store
    runner = CliRunner()
    with LocalArxivServer(served) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        result = runner.invoke(main, ["ingest", "weekly", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["status"] == "succeeded"
    assert set(summary["new_ids"]) == {e["arxiv_id"] for e in MI_CANDIDATES}

    rejected = runner.invoke(main, ["ingest", "rejected", "--since", real_now.date().isoformat(), "--json"])
    assert rejected.exit_code == 0, rejected.output
    rows = json.loads(rejected.output)
    assert {r["arxiv_id"] for r in rows} == {e["arxiv_id"] for e in NON_MI_CANDIDATES}
    assert all(r["reason"] and r["run_id"] == summary["run_id"] for r in rows)
    text = runner.invoke(main, ["ingest", "rejected"])
    assert text.exit_code == 0 and "not about language models" in text.output

    exported = runner.invoke(main, ["export", "list-rows", "--since", real_now.date().isoformat()])
    assert exported.exit_code == 0, exported.output
    parsed = parse_list(exported.output, taxonomy)
    assert {r.url_in_list for r in parsed.rows} == {
        f"https://arxiv.org/pdf/{e['arxiv_id']}" for e in MI_CANDIDATES}
    # Given the list, each block takes its table's columns; the rows are the same papers.
    in_columns = runner.invoke(main, ["export", "list-rows", "--since", real_now.date().isoformat(),
                                      "--list", str(shared_data / "awesome-list-seed.md")])
    assert in_columns.exit_code == 0, in_columns.output
    assert {r.url_in_list for r in parse_list(in_columns.output, taxonomy).rows} == {
        r.url_in_list for r in parsed.rows}
    missing = runner.invoke(main, ["export", "list-rows", "--since", "2024-01-01", "--list", "/nope/list.md"])
    assert missing.exit_code == 2
    assert "Invalid value for '--list': the list file /nope/list.md does not exist" in missing.output


@pytest.mark.parametrize("args", [["ingest", "rejected"], ["export", "list-rows", "--since", "2024-01-01"]])
def test_reading_weekly_commands_refuse_a_directory_with_no_store(data_dir: Path, args: list[str]) -> None:
    from kg.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in result.output
    assert list(data_dir.iterdir()) == []


@pytest.mark.parametrize("pid", ["０１２", "99999999999999999999", "0", "-5", "012", ""])
def test_a_holder_with_an_odd_pid_is_never_signalled(pid: str) -> None:
    """Pids that are not plain ASCII numbers the OS can take are "foreign": refused, never os.kill'ed
    (before: "０１２" read as 12, and a huge pid raised OverflowError out of the weekly run)."""
    holder = f"{socket.gethostname()}:{pid}:{lock_module._pid_space()}:abcd1234"
    assert lock_module.holder_state(holder).state == "foreign"


# -- QA fixes: a missing store, counts that add up, stored text on the terminal ------------------
def test_cli_weekly_refuses_a_data_dir_without_a_store(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.cli import main

    with socket.socket() as closed:  # a port nothing listens on: the run must not reach the real arXiv
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("PAPERKG_ARXIV_URL", f"http://127.0.0.1:{port}/api/query")
    monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "0")
    result = CliRunner().invoke(main, ["ingest", "weekly", "--since", "2026-11-16"])
    assert result.exit_code == 74, result.output  # EX_IOERR
    assert f"no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in result.output
    assert "`paperkg init`" in result.output and "`paperkg ingest list`" in result.output
    assert list(data_dir.iterdir()) == []  # before: a new, empty store that rejects with score 0.000
    # A 0-byte store file (a failed copy or restore) holds no corpus either, and stays untouched.
    empty = data_dir / "paperkg.sqlite3"
    empty.touch()
    again = CliRunner().invoke(main, ["ingest", "weekly", "--since", "2026-11-16"])
    assert again.exit_code == 74, again.output
    assert f"{empty.resolve()} is empty: not a paperkg store" in again.output
    assert "does not create a store" in again.output and empty.stat().st_size == 0


def _summary_counts(line: str) -> dict[str, int]:
    found = re.findall(r"(\d+) (candidates?|known|kept|rejected|new versions?)", line)
    # One name a count, whatever its number ("1 candidate", "2 candidates").
    return {"candidates" if name.startswith("candidate") else name.rstrip("s") if name.startswith("new")
            else name: int(n) for n, name in found}


def test_summary_text_adds_up_when_the_last_updated_walk_finds_older_papers(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    old_v1 = mi_entry("2608.70002", "Path Patching of Factual Recall in Language Models",
                      "We use path patching on GPT-2 to trace factual recall.", NOW - 90 * DAY)
    old_v2 = {**old_v1, "version": 2, "updated": _day(NOW - 2 * DAY),
              "abstract": "We use path patching and causal scrubbing on GPT-2 to trace factual recall."}
    run_ingest(store, [as_record(old_v1), as_record(KNOWN_V1)], source="records", embedder=HashEmbedder(),
               extractor=extractor, progress=False)
    with LocalArxivServer([old_v2, KNOWN_V2, *MI_CANDIDATES, *NON_MI_CANDIDATES[:2]]) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)
    assert (summary.candidates, summary.known, summary.kept, summary.rejected) == (6, 2, 3, 2)
    line = summary.text()
    counts = _summary_counts(line)
    # The window's 6 candidates are 1 known + 3 kept + 2 rejected; the older paper is counted apart.
    assert counts == {"candidates": 6, "known": 1, "kept": 3, "rejected": 2, "new version": 1}
    assert "+ 1 new version of older papers (last-updated walk)" in line
    assert "loaded 3 new, 2 updated, 0 unchanged" in line


@pytest.mark.model
def test_cli_weekly_prints_counts_that_add_up(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, extractor: Extractor, model_embedder: Any
) -> None:
    from kg.cli import main

    real_now = datetime.now(UTC)
    old_v1 = mi_entry("2608.70012", "Path Patching of Factual Recall in Language Models",
                      "We use path patching on GPT-2 to trace factual recall.", real_now - 90 * DAY)
    old_v2 = {**old_v1, "version": 2, "updated": _day(real_now - 2 * DAY),
              "abstract": "We use path patching and causal scrubbing on GPT-2 to trace factual recall."}
    in_window = mi_entry("2611.80001", "Logit Lens Decoding of Multilingual Latents",
                         "We apply the logit lens to a multilingual language model.", real_now - 2 * DAY)
    setup = taxonomy_store(data_dir / "paperkg.sqlite3")
    run_ingest(setup, [as_record(old_v1), as_record(in_window)], source="records", embedder=model_embedder,
               extractor=extractor, progress=False)
    setup.close()
    with LocalArxivServer([old_v2, in_window]) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        result = CliRunner().invoke(main, ["ingest", "weekly"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("weekly arXiv ingest"))
    counts = _summary_counts(line)
    assert " 1 candidate from " in line  # one candidate, in the singular
    # Before: "1 candidates ...; 2 known, 0 kept, 0 rejected".
    assert counts == {"candidates": 1, "known": 1, "kept": 0, "rejected": 0, "new version": 1}
    assert counts["candidates"] == counts["known"] + counts["kept"] + counts["rejected"]


def test_cli_rejected_prints_stored_text_without_terminal_controls(
    data_dir: Path, taxonomy: Taxonomy
) -> None:
    from kg.cli import main
    from kg.entities import Rejection

    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    # Stored by an older version or another writer: the terminal must not act on it.
    store.record_rejections([Rejection(
        arxiv_id="2611.99999", run_id="run-1", score=0.125,
        title="Probing \x1b]0;pwned\x07Enzymes\x1b[2J with \x9b31mDyes\nFAKE 2611.00001  score 0.999",
        reason="not about language models\x1b[8m hidden\r\nline")])
    store.close()
    result = CliRunner().invoke(main, ["ingest", "rejected"])
    assert result.exit_code == 0, result.output
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", result.output), repr(result.output)
    lines = result.output.splitlines()
    assert len(lines) == 2  # one row and its reason: the title's line break does not forge a row
    assert "2611.99999" in lines[0] and "Probing Enzymes with Dyes FAKE 2611.00001" in lines[0]
    assert lines[1].strip() == "not about language models hidden line"
    as_json = CliRunner().invoke(main, ["ingest", "rejected", "--json"])
    assert json.loads(as_json.output)[0]["title"].startswith("Probing \x1b]0;pwned")  # JSON keeps the data


# -- one query part answered empty, gaps, failed first runs, the load run, rejected-then-added ----------
# MI candidates that every query part returns something for (so only a zeroed part is empty).
EVERY_PART = [*MI_CANDIDATES, mi_entry(
    "2611.10004", "Representation Engineering Reads Honesty from Language Models",
    "We use representation engineering on a Llama language model to read and control honesty.",
    NOW - 3 * DAY)]


def _only_part(taxonomy: Taxonomy, item: dict[str, Any]) -> tuple[int, str]:
    """The one query part (1-based) that returns `item`, and a term of it no other part has."""
    from ingest.arxiv_server import entry_from_record, parse_query
    from kg.config import load_config

    queries = build_queries(query_terms(taxonomy), load_config().arxiv_categories)
    served = entry_from_record(item)
    parts = [i for i, q in enumerate(queries, 1) if parse_query(q)(served)]
    assert len(parts) == 1, parts
    return parts[0], re.search(r'all:"[^"]+"', queries[parts[0] - 1]).group()


def _sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses slept, recorded instead (delay 0: no rate-limit sleeps, so only backoffs)."""
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    return pauses


def test_a_query_part_answered_empty_once_is_asked_again_and_gets_its_papers(
    store: EmbeddedStore, extractor: Extractor, taxonomy: Taxonomy, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review of 8e07143: arXiv sometimes answers a valid query with totalResults 0 (arXiv.py issues #119,
    #157); taken at once, that part's papers were lost and the watermark moved past them. A part answered
    so while others have papers is asked once more after the backoff, at INFO, and its papers are kept."""
    lonely = MI_CANDIDATES[0]  # only one query part finds it
    part, term = _only_part(taxonomy, lonely)
    pauses = _sleeps(monkeypatch)
    with LocalArxivServer(EVERY_PART) as server:
        server.fail_next("zero", 1, matching=term)  # that part's first answer only
        with caplog.at_level(logging.INFO, logger="ingest"):
            summary = weekly(store, source_for(server, retries=3, backoff=1.5), extractor, now=NOW)
        asked = [q for q in map(unquote_plus, server.requests) if "submittedDate" in q and term in q]
    assert len(asked) == 2 and pauses == [1.5]  # asked once more, after the backoff
    assert store.get_paper(lonely["arxiv_id"]) is not None
    assert summary.new == len(EVERY_PART) and summary.empty_queries == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    again = [r for r in caplog.records if "asking once more" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in again] == [
        ("INFO", f"query part {part}/{summary.queries} had no papers; asking once more")]
    assert "arXiv has no papers in the window" not in caplog.text
    assert store.last_watermark(RUN_SOURCE) == _day(NOW)


def test_a_query_part_with_no_papers_is_asked_twice_without_a_warning(
    store: EmbeddedStore, extractor: Extractor, taxonomy: Taxonomy, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA (weekly reader): a quiet query part (totalResults 0 on its first page) was asked again four times
    with retry warnings and "accepted as empty" on every run, so the Monday log always looked alarming.
    It is asked exactly once more (arXiv's flaky empty answer, see above), then accepted, all at INFO; its
    number is still noted in the run's counts."""
    from ingest.arxiv_server import entry_from_record, parse_query
    from kg.config import load_config

    part, term = _only_part(taxonomy, MI_CANDIDATES[0])
    queries = build_queries(query_terms(taxonomy), load_config().arxiv_categories)
    # Without the papers of that part it has none; every other part still has some (EVERY_PART).
    served = [e for e in EVERY_PART if not parse_query(queries[part - 1])(entry_from_record(e))]
    assert all(any(parse_query(q)(entry_from_record(e)) for e in served)
               for i, q in enumerate(queries, 1) if i != part)
    pauses = _sleeps(monkeypatch)
    with LocalArxivServer(served) as server:
        with caplog.at_level(logging.INFO, logger="ingest"):
            summary = weekly(store, source_for(server, retries=3, backoff=1.5), extractor, now=NOW)
        asked = [q for q in map(unquote_plus, server.requests) if "submittedDate" in q and term in q]
    assert len(asked) == 2 and pauses == [1.5]  # asked once more, not the source's retry ladder
    assert summary.new == len(served) and summary.empty_queries == [part]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    n = summary.queries
    said = [r.getMessage() for r in caplog.records if f"query part {part}/{n} had" in r.getMessage()
            or f"no papers in the window for query {part}/{n} " in r.getMessage()]
    assert len(said) == 2 and said[0] == f"query part {part}/{n} had no papers; asking once more"
    assert said[1].startswith(f"arXiv has no papers in the window for query {part}/{n} (")
    assert said[1].endswith("asked twice: accepted as empty")
    assert "no papers" not in summary.text() and "accepted as empty" not in summary.text()
    run = store.runs(RUN_SOURCE)[0]
    assert run.status == "succeeded" and run.counts["empty_queries"] == [part]
    assert store.last_watermark(RUN_SOURCE) == _day(NOW)


def test_a_query_parts_flaky_empty_second_page_is_asked_again(
    store: EmbeddedStore, extractor: Extractor, taxonomy: Taxonomy, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty page after a first page with results is arXiv's flaky page, even when it says totalResults
    0: retried with the backoff, and the papers of the pages after it are loaded."""
    items = _many(5, NOW - 3 * DAY)
    with LocalArxivServer(items) as server:
        server.fail_next("zero", 2, matching="start=2&")
        with caplog.at_level(logging.WARNING, logger="ingest"):
            summary = weekly(store, source_for(server, page_size=2), extractor, now=NOW)
    assert summary.new == len(items)
    assert caplog.text.count("empty page saying totalResults=0 although earlier pages said") == 2
    assert all(store.get_paper(e["arxiv_id"]) is not None for e in items)


def test_a_re_post_of_a_stored_paper_under_a_new_arxiv_id_is_flagged(
    store: EmbeddedStore, extractor: Extractor, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """QA (weekly reader): 2611.10005, with exactly the title and authors of the stored 2403.19647, was
    stored as a second paper and listed as new with no word ("0 known, 4 kept"). Two arXiv ids stay two
    papers, but the run warns and names both in its summary (text and JSON)."""
    seed = next(json.loads(line) for line in (shared_data / "seed_papers.jsonl").open(encoding="utf-8")
                if '"2403.19647"' in line)
    repost = {**mi_entry("2611.10005", seed["title"], seed["abstract"], NOW - 2 * DAY),
              "authors": seed["authors"]}
    with LocalArxivServer([*MI_CANDIDATES, repost]) as server, caplog.at_level(logging.WARNING,
                                                                                logger="ingest"):
        summary = weekly(store, source_for(server), extractor, now=NOW)
    assert "2611.10005" in summary.new_ids and store.get_paper("2403.19647") is not None
    assert summary.possible_duplicates == [{
        "arxiv_id": "2611.10005", "title": seed["title"], "matches": "2403.19647",
        "matches_title": seed["title"], "stored": True, "authors": "same"}]
    assert summary.to_dict()["possible_duplicates"] == summary.possible_duplicates
    assert ("1 possible duplicate (stored apart, check it): 2611.10005 has the title of the stored paper "
            "2403.19647 ('Sparse Feature Circuits: ") in summary.text()
    warned = [r.getMessage() for r in caplog.records if "possible duplicate" in r.getMessage()]
    assert len(warned) == 1 and "the same authors" in warned[0]
    # The next week sees it again, stored under its own id now: known, not flagged again.
    with LocalArxivServer([*MI_CANDIDATES, repost]) as server:
        again = weekly(store, source_for(server), extractor, since=NOW - 7 * DAY, now=NOW + HOUR)
    assert again.possible_duplicates == [] and again.new == 0


def test_a_since_later_than_the_watermark_leaves_it_where_it_was(
    store: EmbeddedStore, extractor: Extractor, caplog: pytest.LogCaptureFixture
) -> None:
    """QA: `--since` after the watermark moved it past papers that run never asked for."""
    before = mi_entry("2611.09998", "Activation Patching of Negation in Language Models",
                      "We use activation patching on GPT-2 to locate negation handling.", NOW - 10 * DAY)
    in_gap = mi_entry("2611.09997", "Path Patching of Gendered Pronouns in GPT-2",
                      "We use path patching on GPT-2 small to find the pronoun circuit.", NOW - 5 * DAY)
    late = mi_entry("2611.09996", "Logit Lens Readouts of Arithmetic in Pythia",
                    "We apply the logit lens to a Pythia language model doing addition.", NOW - 2 * DAY)
    with LocalArxivServer([before, in_gap, late]) as server:
        weekly(store, source_for(server), extractor, now=NOW - 7 * DAY)
        watermark = store.last_watermark(RUN_SOURCE)
        assert watermark == "2026-11-16T06:00:00Z"

        with caplog.at_level(logging.WARNING, logger="ingest.weekly"):
            gap = weekly(store, source_for(server), extractor, since="2026-11-20", now=NOW)
        assert gap.new_ids == [late["arxiv_id"]] and store.get_paper(in_gap["arxiv_id"]) is None
        assert gap.watermark is None and gap.gap_from == watermark
        assert store.runs(RUN_SOURCE)[0].status == "succeeded"
        assert store.last_watermark(RUN_SOURCE) == watermark  # not moved past the unfetched papers
        assert f"watermark not moved: the window starts after {watermark}" in gap.text()
        assert "watermark not moved" in caplog.text

        # The next ordinary run starts from the watermark (less arXiv's lag), so the gap is filled.
        following = weekly(store, source_for(server), extractor, now=NOW + DAY)
        assert following.window_start == "2026-11-13T06:00:00Z"
        assert store.get_paper(in_gap["arxiv_id"]) is not None
        assert following.watermark == store.last_watermark(RUN_SOURCE) == "2026-11-24T06:00:00Z"

        # A --since at the watermark leaves no gap: the watermark moves as usual, also after a run
        # that failed (its window began 3 days before the watermark, which is no gap to fill).
        server.fail_next("503", 10)
        with pytest.raises(WeeklyError):
            weekly(store, source_for(server, retries=1), extractor, now=NOW + DAY + DAY // 2)
        server.clear_failures()
        again = weekly(store, source_for(server), extractor, since="2026-11-24T06:00:00Z",
                       now=NOW + 2 * DAY)
    assert again.gap_from is None and store.last_watermark(RUN_SOURCE) == "2026-11-25T06:00:00Z"


def test_a_failed_first_run_is_retried_whole(store: EmbeddedStore, extractor: Extractor) -> None:
    """QA: with no watermark yet, the run after a failed first run started at now - 7 days."""
    early = mi_entry("2611.09995", "Sparse Autoencoders Find Negation Features in GPT-2",
                     "We train sparse autoencoders on GPT-2 and find negation features.", NOW - 13 * DAY)
    with LocalArxivServer([early, *MI_CANDIDATES]) as server:
        server.fail_next("503", 10)
        with pytest.raises(WeeklyError, match="watermark unchanged") as failed:
            weekly(store, source_for(server, retries=1), extractor, now=NOW - 7 * DAY)
        server.clear_failures()
        [first] = store.runs(RUN_SOURCE)
        assert first.status == "failed" and first.counts["window_start"] == "2026-11-09T06:00:00Z"
        # The error names the request, not its thousand-character URL.
        for text in (str(failed.value), first.message or ""):
            assert "HTTP 503" in text and "query 1/" in text and "page 1 (start=0)" in text
            assert "search_query" not in text and len(text) < 300

        retry = weekly(store, source_for(server), extractor, now=NOW)
    assert retry.window_start == "2026-11-09T06:00:00Z"
    assert store.get_paper(early["arxiv_id"]) is not None and retry.new == 4
    assert store.last_watermark(RUN_SOURCE) == _day(NOW)


def test_a_failed_backfill_far_back_is_not_repeated_by_every_scheduled_run(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """A manual --since two months back that failed is the user's to run again: the next scheduled
    run starts from the watermark and moves it (windows are redone only RETRY_LOOKBACK back)."""
    with LocalArxivServer(MI_CANDIDATES) as server:
        weekly(store, source_for(server), extractor, now=NOW - 3 * DAY)
        server.fail_next("503", 10)
        with pytest.raises(WeeklyError):
            weekly(store, source_for(server, retries=1), extractor, since=NOW - 60 * DAY, now=NOW - DAY)
        server.clear_failures()
        scheduled = weekly(store, source_for(server), extractor, now=NOW)
    assert scheduled.window_start == _day(NOW - 6 * DAY)  # the watermark - the 3-day announcement lag
    assert scheduled.gap_from is None and store.last_watermark(RUN_SOURCE) == _day(NOW)


def test_a_killed_first_run_is_retried_whole(store: EmbeddedStore, extractor: Extractor) -> None:
    killed = store.start_run(RUN_SOURCE)  # what a kill -9 leaves: "running", its window never recorded
    began = datetime.fromisoformat(killed.started.replace("Z", "+00:00"))
    early = mi_entry("2611.09994", "Path Patching of Factual Recall in Pythia",
                     "We use path patching on a Pythia language model to trace factual recall.",
                     began - 5 * DAY)
    with LocalArxivServer([early]) as server:
        retry = weekly(store, source_for(server), extractor, now=began + 7 * DAY)
    assert retry.window_start == _day(began - 7 * DAY)  # the killed run's own window, not now - 7 days
    assert store.get_paper(early["arxiv_id"]) is not None


def test_the_papers_are_loaded_under_a_weekly_source_linked_from_the_run(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """QA: each weekly run also recorded an "arxiv" run, mixed with `ingest arxiv --ids` runs."""
    with LocalArxivServer(MI_CANDIDATES) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)
    assert store.runs("arxiv") == []
    [load] = store.runs(weekly_module.LOAD_SOURCE)
    assert load.id == summary.load_run and load.counts["new"] == 3
    assert store.runs(RUN_SOURCE)[0].counts["load_run"] == load.id


def test_a_rejected_paper_added_later_leaves_the_rejected_list(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """QA: `ingest rejected` kept listing a near-miss after `ingest arxiv --ids` had added it."""
    with LocalArxivServer([*MI_CANDIDATES, *NON_MI_CANDIDATES]) as server:
        weekly(store, source_for(server), extractor, now=NOW)
        rejected = {r.arxiv_id for r in rejected_since(store, None)}
        added = NON_MI_CANDIDATES[4]["arxiv_id"]
        assert added in rejected
        records = source_for(server).fetch_by_ids([added])  # what `paperkg ingest arxiv --ids` does
    run_ingest(store, records, source="arxiv", embedder=HashEmbedder(), extractor=extractor, progress=False)
    assert {r.arxiv_id for r in rejected_since(store, None)} == rejected - {added}
    assert len(store.rejections()) == len(rejected)  # the verdict itself stays on record



# -- new versions of candidates rejected before (QA: a year of weekly runs on the dev arXiv server) -----
# Run 1 (NOW) rejects these v1s. Run 2, a week later, asks arXiv for papers submitted from NOW - 3 days
# (the watermark less the announcement lag): their v2s, posted in its window, come only from the
# last-updated walk, which before kept new versions of stored papers alone, so the MI one was lost.
SOIL_V1 = entry("2611.11001", "Interpretability of Random Forests for Soil Moisture Prediction",
                "We study the interpretability of random forests that predict soil moisture from weather "
                "station records, with SHAP values and permutation importance.",
                published=NOW - 5 * DAY, categories=["cs.LG", "physics.geo-ph"])
SOIL_V2 = {**SOIL_V1, "version": 2, "updated": _day(NOW + 5 * DAY),
           "title": "Probing Language Models for Soil Science Knowledge: Linear Probes and Attention Heads",
           "abstract": "We train linear probes on the residual stream of GPT-2 and Llama language models to "
                       "decode soil science facts, and use activation patching to find the attention heads "
                       "that move them to the answer."}
CROP_V1 = entry("2611.11002", "Interpretable Features for Crop Yield Forecasting",
                "We learn interpretable features for crop yield forecasting from weather records with "
                "gradient boosting.", published=NOW - 4 * DAY, categories=["cs.LG", "stat.AP"])
CROP_V2 = {**CROP_V1, "version": 2, "updated": _day(NOW + 5 * DAY),
           "title": "Interpretable Features for Crop Yield Forecasting from Satellite Images",
           "abstract": "We learn interpretable features for crop yield forecasting from satellite images "
                       "with a prototype layer, and show that they match agronomists' field annotations."}
# Rejected by run 1 and submitted inside run 2's window as well (its 3-day overlap): window candidates
# of run 2 again, which the walk also returns, the second as a new version.
OVERLAP_V1 = NON_MI_CANDIDATES[5]
OVERLAP_V2 = {**NON_MI_CANDIDATES[3], "version": 2, "updated": _day(NOW + 5 * DAY),
              "abstract": "We fit linear probes to calcium imaging recordings from mouse visual cortex and "
                          "decode stimulus orientation and contrast, in awake and anaesthetised mice."}
# Rejected by run 1 and submitted on the day run 2's window starts, before its hour: the submittedDate
# query leaves it out, the walk (which compares days) returns it, as a v1 run 1 judged.
EARLY_V1 = entry("2611.11003", "Interpretability of Gradient Boosting for Flood Forecasting",
                 "We compare interpretability methods for gradient boosted trees that forecast river floods "
                 "from rainfall gauges.", published=NOW - 3 * DAY - 4 * HOUR, categories=["cs.LG"])
FRESH_MI = mi_entry("2611.11004", "Attribution Patching Finds Negation Heads in Language Models",
                    "We use attribution patching on Pythia language models to find the attention heads that "
                    "handle negation.", NOW + 5 * DAY)


def test_a_new_version_of_a_rejected_candidate_is_judged_again(
    store: EmbeddedStore, extractor: Extractor, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """QA: 2611.11001 was rejected at v1 (random forests); its v2, retitled to probe language models, was
    never a candidate again: every later window starts after its first submission, and the walk kept only
    stored papers. It is judged again now: kept (stored as new), or rejected again under its new title."""
    from kg.cli import main

    with LocalArxivServer([SOIL_V1, CROP_V1, OVERLAP_V1, NON_MI_CANDIDATES[3], EARLY_V1, *MI_CANDIDATES]
                          ) as server:
        first = weekly(store, source_for(server), extractor, now=NOW)
    gated = {SOIL_V1["arxiv_id"], CROP_V1["arxiv_id"], OVERLAP_V1["arxiv_id"], OVERLAP_V2["arxiv_id"],
             EARLY_V1["arxiv_id"]}
    assert {r["arxiv_id"] for r in first.rejections} == gated and first.rejudged == []

    with LocalArxivServer([SOIL_V2, CROP_V2, OVERLAP_V1, OVERLAP_V2, EARLY_V1, FRESH_MI, *MI_CANDIDATES]
                          ) as server:
        second = weekly(store, source_for(server), extractor, now=NOW + 7 * DAY)
    assert second.window_start == _day(NOW - 3 * DAY)
    # The window's 4 (the two OVERLAPs, FRESH_MI, MI_CANDIDATES[2], known) and the 2 new versions, each
    # once: the OVERLAPs are window candidates (the v2 is not judged twice); EARLY_V1 is a v1 run 1 judged.
    assert (second.candidates, second.known, second.kept, second.rejected) == (6, 1, 2, 3)
    assert second.rejudged == [SOIL_V1["arxiv_id"], CROP_V1["arxiv_id"]]
    assert set(second.new_ids) == {SOIL_V1["arxiv_id"], FRESH_MI["arxiv_id"]}
    soil = store.get_paper(SOIL_V1["arxiv_id"])
    assert soil is not None and (soil.paper.title, soil.paper.arxiv_version) == (SOIL_V2["title"], 2)
    assert {t.technique_id for t in soil.techniques} >= {"probing", "activation_patching"}
    assert store.get_paper(CROP_V1["arxiv_id"]) is None
    assert {r["arxiv_id"]: r["title"] for r in second.rejections} == {
        CROP_V1["arxiv_id"]: CROP_V2["title"], OVERLAP_V1["arxiv_id"]: OVERLAP_V1["title"],
        OVERLAP_V2["arxiv_id"]: OVERLAP_V2["title"]}
    line = second.text()
    counts = _summary_counts(line)
    assert counts == {"candidates": 6, "known": 1, "kept": 2, "rejected": 3}
    assert "3 rejected; 2 of them new versions of papers rejected before, judged again)" in line
    assert second.to_dict()["rejudged"] == second.rejudged

    # `ingest rejected` shows the latest verdict: the new title, and no longer the paper now stored.
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    monkeypatch.delenv("PAPERKG_NEO4J_URI", raising=False)
    listed = CliRunner().invoke(main, ["ingest", "rejected", "--json"])
    assert listed.exit_code == 0, listed.output
    titles = {r["arxiv_id"]: r["title"] for r in json.loads(listed.output)}
    assert titles == {CROP_V1["arxiv_id"]: CROP_V2["title"], OVERLAP_V1["arxiv_id"]: OVERLAP_V1["title"],
                      OVERLAP_V2["arxiv_id"]: OVERLAP_V2["title"], EARLY_V1["arxiv_id"]: EARLY_V1["title"]}

    # The next run's window overlaps: the stored v2 is not loaded again, the rejected v2 gets one more
    # verdict (as a re-seen window candidate does), each counted once.
    with LocalArxivServer([SOIL_V2, CROP_V2, FRESH_MI]) as server:
        third = weekly(store, source_for(server), extractor, now=NOW + 14 * DAY)
    assert (third.candidates, third.known, third.kept, third.rejected) == (2, 1, 0, 1)
    assert third.rejudged == [CROP_V1["arxiv_id"]] and (third.new, third.updated) == (0, 0)
    assert store.paper_ids().count(SOIL_V1["arxiv_id"]) == 1
    latest = {r.arxiv_id: r for r in rejected_since(store, None)}
    assert latest[CROP_V1["arxiv_id"]].title == CROP_V2["title"]
    assert latest[CROP_V1["arxiv_id"]].run_id == third.run_id


def test_a_new_version_of_a_stored_paper_updates_it_without_the_gate(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """What the README says: the gate judges candidates, not stored papers, so a stored paper's new
    version updates it even when it reads as off-topic now."""
    off_topic_v2 = {**SOIL_V1, "arxiv_id": KNOWN_ID, "published": KNOWN_V1["published"], "version": 2,
                    "updated": _day(NOW - 1 * DAY)}
    run_ingest(store, [as_record(KNOWN_V1)], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)
    with LocalArxivServer([off_topic_v2, *MI_CANDIDATES]) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)
    assert (summary.known, summary.updated, summary.rejected, summary.rejudged) == (1, 1, 0, [])
    detail = store.get_paper(KNOWN_ID)
    assert detail is not None and (detail.paper.title, detail.paper.arxiv_version) == (SOIL_V1["title"], 2)
    assert store.rejections() == []

def test_a_new_version_of_a_rejected_candidate_stored_since_is_known_not_judged_again(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """Review: a rejected paper whose new version was stored since under its title (a list paper without
    an arXiv id) goes to the pipeline as known, without the gate, yet the summary said it was judged again
    (`2 known, 0 kept, 0 rejected; 1 of them ... judged again`)."""
    with LocalArxivServer([SOIL_V1, MI_CANDIDATES[2]]) as server:
        first = weekly(store, source_for(server), extractor, now=NOW)
    assert [r["arxiv_id"] for r in first.rejections] == [SOIL_V1["arxiv_id"]]
    listed = Record(source="records", source_id="soil-probes", title=SOIL_V2["title"],
                    abstract=SOIL_V2["abstract"], authors=SOIL_V2["authors"])
    run_ingest(store, [listed], source="records", embedder=HashEmbedder(), extractor=extractor,
               progress=False)

    with LocalArxivServer([SOIL_V2, MI_CANDIDATES[2]]) as server:
        second = weekly(store, source_for(server), extractor, now=NOW + 7 * DAY)
    assert (second.candidates, second.known, second.kept, second.rejected) == (2, 2, 0, 0)
    assert second.rejudged == [] and second.to_dict()["rejudged"] == []
    line = second.text()
    assert _summary_counts(line) == {"candidates": 2, "known": 2, "kept": 0, "rejected": 0}
    assert "(2 known, 0 kept, 0 rejected)" in line and "judged again" not in line
    assert len(store.rejections()) == 1  # no new verdict: the gate did not see it


def test_a_rejection_older_than_100000_others_is_still_judged_again(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """Review: each run read the newest 100,000 rejection rows to test a few ids, so a candidate rejected
    before 100,000 later verdicts (years of weekly runs) was never judged again; the store is now asked
    about the new versions' ids alone."""
    from kg.entities import Rejection

    with LocalArxivServer([SOIL_V1, MI_CANDIDATES[2]]) as server:
        weekly(store, source_for(server), extractor, now=NOW)
    later = (datetime.now(UTC) + DAY).isoformat()
    store.record_rejections([Rejection(f"2612.{i:06d}", "Off topic", "r", 0.1, run_id="later", seen_at=later)
                             for i in range(100_000)])
    assert SOIL_V1["arxiv_id"] not in {r.arxiv_id for r in store.rejections(limit=100_000)}

    with LocalArxivServer([SOIL_V2, MI_CANDIDATES[2]]) as server:
        second = weekly(store, source_for(server), extractor, now=NOW + 7 * DAY)
    assert second.rejudged == [SOIL_V1["arxiv_id"]] and second.new_ids == [SOIL_V1["arxiv_id"]]


def test_a_new_version_is_told_by_its_number_else_by_its_dates() -> None:
    """The walk's entries: a v2 or later is a new version; without a number (arXiv always gives one,
    other feeds may not), one updated after its first submission is."""
    def record(version: int | None, updated: str, *, title: str = "T") -> Record:
        return Record(source="arxiv", source_id="2611.11001", title=title, arxiv_id="2611.11001",
                      published="2026-11-18", updated=updated, version=version)

    assert [weekly_module.is_revision(record(v, "2026-11-30")) for v in (1, 2, 3)] == [False, True, True]
    assert not weekly_module.is_revision(record(None, "2026-11-18"))
    assert weekly_module.is_revision(record(None, "2026-11-30"))
    # An entry without a number stands (it was dropped before) until a numbered one replaces it.
    unnumbered = record(None, "2026-11-30", title="unnumbered")
    assert weekly_module.newest_versions([unnumbered], set()) == {"2611.11001": unnumbered}
    numbered = record(2, "2026-11-30", title="numbered")
    assert weekly_module.newest_versions([unnumbered, numbered, record(1, "2026-11-18")], set()) == {
        "2611.11001": numbered}
    assert weekly_module.newest_versions([numbered], {"2611.11001"}) == {}

def test_cli_weekly_summary_appears_once(
    data_dir: Path, taxonomy: Taxonomy, extractor: Extractor, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    # The summary was printed on stdout and logged at INFO as well: twice on a terminal.
    import ingest.embed as embed_module
    import ingest.pipeline as pipeline
    from kg.cli import main

    embedder = HashEmbedder()
    monkeypatch.setattr(embed_module, "get_embedder", lambda *_args: embedder)
    monkeypatch.setattr(pipeline, "_load_embedder", lambda: embedder)
    monkeypatch.setattr(pipeline, "_load_extractor", lambda taxonomy=None: extractor)
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    paper = mi_entry("2611.90001", "Sparse Autoencoder Features in GPT-2 Language Models",
                     "We train sparse autoencoders on GPT-2 and use activation patching on the features.",
                     datetime.now(UTC) - DAY)
    caplog.set_level(logging.INFO)
    with LocalArxivServer([paper]) as server:
        monkeypatch.setenv("PAPERKG_ARXIV_URL", server.url)
        monkeypatch.setenv("PAPERKG_ARXIV_DELAY", "0")
        result = CliRunner().invoke(main, ["ingest", "weekly"])
    assert result.exit_code == 0, result.output
    [line] = [x for x in result.stdout.splitlines() if x.startswith("weekly arXiv ingest")]
    assert "1 kept" in line
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in logged if line in m], logged


# -- QA: --since values the API refuses, and moments outside the datetime range ---------------------
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00", "20240131",
                                   "2024-W05-3", "2024-01-31T12:00:00", "2024-01-31xyz"])
def test_cli_weekly_refuses_a_since_before_it_records_a_run_or_takes_the_lock(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, since: str
) -> None:
    """Year 1 with an offset was a traceback from iso() after the run was recorded, which stayed
    "running" with its lock left behind; "20240131", ISO weeks and naive times were taken although
    the API refuses them. Now each is a usage error before anything is opened."""
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    with socket.socket() as closed:  # a port nothing listens on: the run must not reach the real arXiv
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("PAPERKG_ARXIV_URL", f"http://127.0.0.1:{closed.getsockname()[1]}/api/query")
    monkeypatch.setenv("PAPERKG_ARXIV_RETRIES", "0")
    result = CliRunner().invoke(main, ["ingest", "weekly", "--since", since])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, OverflowError)
    assert "Invalid value for '--since': " in result.output and repr(since) in result.output
    assert "from 0001-01-01 to 9999-12-31 in UTC" in result.output
    store = EmbeddedStore(data_dir / "paperkg.sqlite3")
    try:
        assert store.runs() == []
        store.acquire_lock(LOCK_NAME, "next-run:3:y")  # free: raises LockHeld otherwise
    finally:
        store.close()


@pytest.mark.parametrize("args", [["ingest", "rejected", "--since", "0001-01-01T00:00:00+00:01"],
                                  ["export", "list-rows", "--since", "9999-12-31T23:59:59-01:00"],
                                  ["ingest", "rejected", "--since", "2024-01-31T12:00:00"],
                                  ["export", "list-rows", "--since", "20240131"]])
def test_reading_weekly_commands_refuse_a_since_the_api_refuses(data_dir: Path, args: list[str]) -> None:
    """An OverflowError traceback before (year 1 or 9999 with an offset); the other forms were taken."""
    from kg.cli import main

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Invalid value for '--since': " in result.output
    assert "from 0001-01-01 to 9999-12-31 in UTC" in result.output


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+00:01", "20240131",
                                   datetime(1, 1, 1, tzinfo=timezone(timedelta(minutes=1)))])
def test_run_weekly_refuses_a_since_before_it_records_a_run(store: EmbeddedStore, since: Any) -> None:
    with pytest.raises(ValueError, match=r"^(out of range|not an ISO date or timestamp): "):
        run_weekly(store, since=since, now=NOW, source=object(), embedder=HashEmbedder())
    assert store.runs(RUN_SOURCE) == []
    store.acquire_lock(LOCK_NAME, "next-run:3:y")  # the run released the lock it took


def test_a_failed_run_from_year_1_leaves_a_window_start_the_next_run_reads(store: EmbeddedStore) -> None:
    """iso() wrote year 1 as "1-01-01T00:00:00Z" (strftime), a window start that no parser reads back:
    every later run failed reading the failed run's window to retry it."""
    with pytest.raises(WeeklyError):
        run_weekly(store, since="0001-01-01", now=NOW, source=object(), embedder=HashEmbedder())
    (failed,) = store.runs(RUN_SOURCE)
    assert failed.status == "failed" and failed.counts["window_start"] == "0001-01-01T00:00:00Z"
    start, end, _gap = weekly_module.window_for(store, since=None, now=NOW)
    assert end == NOW and start == NOW - DAY * 7  # a retry reaches no further than RETRY_LOOKBACK


def test_an_unreadable_recorded_window_start_is_skipped_with_a_warning(
    store: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A store of an older version holds "1-01-01T00:00:00Z" for a failed year-1 run: reading it failed
    every later weekly run, --since included, before any run was recorded."""
    run = store.start_run(RUN_SOURCE)
    store.finish_run(run.id, "failed", {"window_start": "1-01-01T00:00:00Z"}, message="old failure")
    with caplog.at_level(logging.WARNING, logger="ingest.weekly"):
        start, end, _gap = weekly_module.window_for(store, since=None, now=NOW)
    assert end == NOW and start == NOW - DAY * 7
    assert f"weekly run {run.id} recorded a window start that cannot be read" in caplog.text


def test_a_run_with_a_fast_clock_loses_no_papers_and_the_next_runs_heal(
    store: EmbeddedStore, extractor: Extractor, caplog: pytest.LogCaptureFixture
) -> None:
    """Clock QA (libfaketime, clock 5 days fast for one run): its watermark, its window end, lay days
    ahead; every later run failed with "empty window" (not even recorded) until real time reached it
    less 3 days, and then started there, so the papers submitted after the fast run were never fetched.
    The next run now starts from the last watermark not ahead of its clock, says so, and sets its own."""
    first = mi_entry("2611.80001", MI_CANDIDATES[0]["title"], MI_CANDIDATES[0]["abstract"], NOW - 9 * DAY)
    seen_fast = mi_entry("2611.80002", MI_CANDIDATES[1]["title"], MI_CANDIDATES[1]["abstract"], NOW - 3 * DAY)
    after_fast = mi_entry("2611.80003", MI_CANDIDATES[2]["title"], MI_CANDIDATES[2]["abstract"],
                          NOW - DAY - 12 * HOUR)
    with LocalArxivServer([first]) as server:
        weekly(store, source_for(server), extractor, now=NOW - 7 * DAY)
    # Real time NOW - 2 days, the clock 5 days fast: arXiv has no `after_fast` yet.
    with LocalArxivServer([first, seen_fast]) as server:
        fast = weekly(store, source_for(server), extractor, now=NOW + 3 * DAY)
    assert fast.watermark == _day(NOW + 3 * DAY)
    with LocalArxivServer([first, seen_fast, after_fast]) as server:
        with caplog.at_level(logging.WARNING, logger="ingest.weekly"):
            healed = weekly(store, source_for(server), extractor, now=NOW)  # the clock right again
        # The window starts from the last watermark not ahead of the clock, less the 3-day lag.
        assert (healed.window_start, healed.window_end) == (_day(NOW - 10 * DAY), _day(NOW))
        assert store.get_paper(after_fast["arxiv_id"]) is not None and healed.new_ids == ["2611.80003"]
        assert healed.watermark == _day(NOW) and store.last_watermark(RUN_SOURCE) == _day(NOW)
        future = f"the stored watermark {_day(NOW + 3 * DAY)} is ahead of the clock ({_day(NOW)})"
        assert future in caplog.text and future in healed.text()
        assert healed.to_dict()["future_watermark"] == _day(NOW + 3 * DAY)
        # Healed: the next run starts from the watermark the healing run set, and warns no more.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ingest.weekly"):
            after = weekly(store, source_for(server), extractor, now=NOW + DAY)
    assert after.window_start == _day(NOW - 3 * DAY) and after.future_watermark is None
    assert "ahead of the clock" not in caplog.text and "ahead of the clock" not in after.text()
    assert after.to_dict()["future_watermark"] is None


def test_a_fast_clock_sets_arxivs_time_as_the_watermark_so_the_next_weekly_run_loses_nothing(
    store: EmbeddedStore, extractor: Extractor, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Review: a run whose clock was 5 days fast stored its window end, that clock's time, as the
    watermark; the next scheduled run, a week later on a right clock, trusted it (no longer ahead) and
    started 3 days before it, so the papers submitted in the 2 days after the fast run were never fetched.
    The window end is now checked against arXiv's clock (its answers' Date): arXiv's time is the watermark."""
    t0 = datetime.now(UTC).replace(microsecond=0)  # real time of the fast run
    before = mi_entry("2611.80011", MI_CANDIDATES[0]["title"], MI_CANDIDATES[0]["abstract"], t0 - DAY)
    between = mi_entry("2611.80012", MI_CANDIDATES[1]["title"], MI_CANDIDATES[1]["abstract"], t0 + DAY)
    later = mi_entry("2611.80013", MI_CANDIDATES[2]["title"], MI_CANDIDATES[2]["abstract"], t0 + 6 * DAY)
    monkeypatch.setattr(weekly_module, "wall_clock", lambda: t0 + 5 * DAY)  # this machine, 5 days fast
    with LocalArxivServer([before]) as server, caplog.at_level(logging.WARNING, logger="ingest.weekly"):
        fast = weekly(store, source_for(server), extractor)
    answered = datetime.now(UTC)
    assert fast.window_end == _day(t0 + 5 * DAY) and fast.arxiv_clock is not None
    assert fast.watermark == fast.arxiv_clock == store.last_watermark(RUN_SOURCE)
    assert t0 <= weekly_module.parse_when(fast.watermark) <= answered  # arXiv's time, not the window end
    said = weekly_module.arxiv_clock_note(fast.window_end, fast.arxiv_clock, watermark=fast.watermark)
    assert said in caplog.text and said in fast.text()
    assert fast.to_dict()["arxiv_clock"] == fast.arxiv_clock
    # A week later, arXiv's time and this machine's agree; arXiv now has the papers of that week.
    monkeypatch.setattr(weekly_module, "wall_clock", lambda: t0 + 7 * DAY)
    with LocalArxivServer([before, between, later], clock_offset=7 * DAY) as server:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ingest.weekly"):
            after = weekly(store, source_for(server), extractor)
    start = weekly_module.parse_when(fast.watermark) - 3 * DAY
    assert (after.window_start, after.window_end) == (weekly_module.iso(start), _day(t0 + 7 * DAY))
    assert after.new_ids == ["2611.80012", "2611.80013"]  # before: 2611.80012 was never fetched
    assert all(store.get_paper(e["arxiv_id"]) is not None for e in (before, between, later))
    assert after.watermark == _day(t0 + 7 * DAY) and after.arxiv_clock is None
    assert "ahead of arXiv's" not in caplog.text


def test_a_window_end_given_by_the_caller_is_trusted_over_arxivs_clock(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """`now=` is the caller's today (tests, a backfill tool): arXiv's Date does not override it."""
    ahead = datetime.now(UTC).replace(microsecond=0) + 5 * DAY
    with LocalArxivServer([mi_entry("2611.80021", MI_CANDIDATES[0]["title"], MI_CANDIDATES[0]["abstract"],
                                    ahead - 2 * DAY)]) as server:
        summary = weekly(store, source_for(server), extractor, now=ahead)
    assert summary.watermark == _day(ahead) and summary.arxiv_clock is None


def test_the_arxiv_clock_note() -> None:
    assert weekly_module.arxiv_clock_note("2026-11-28T06:00:00Z", "2026-11-23T05:58:30Z",
                                          watermark="2026-11-23T05:58:30Z") == (
        "this machine's clock is ahead of arXiv's by 5 days 0 h 1 min (the window ends at "
        "2026-11-28T06:00:00Z, arXiv's answers are dated 2026-11-23T05:58:30Z): the watermark is arXiv's "
        "time, 2026-11-23T05:58:30Z, not the window end; check this machine's clock")
    # A gap run sets no watermark: only the clock is named.
    assert weekly_module.arxiv_clock_note("2026-11-23T08:00:00Z", "2026-11-23T06:30:00Z", watermark=None) == (
        "this machine's clock is ahead of arXiv's by 1 h 30 min (the window ends at 2026-11-23T08:00:00Z, "
        "arXiv's answers are dated 2026-11-23T06:30:00Z); check this machine's clock")


def test_an_arxiv_date_before_the_window_never_moves_the_watermark_back(
    store: EmbeddedStore, extractor: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Date ten years old (a stale answer from a cache or proxy) set the watermark ten years back, and
    the next run asked arXiv for ten years (review): the watermark is at least the window start."""
    t0 = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(weekly_module, "wall_clock", lambda: t0)
    entry = mi_entry("2611.80031", MI_CANDIDATES[0]["title"], MI_CANDIDATES[0]["abstract"], t0 - DAY)
    with LocalArxivServer([entry], clock_offset=-3650 * DAY) as server:
        first = weekly(store, source_for(server), extractor)
        assert first.watermark == first.window_start and first.arxiv_clock is not None
        assert "the watermark is the window start" in first.text()
        second = weekly(store, source_for(server), extractor)
    when = weekly_module.parse_when
    assert when(second.window_start) == when(first.window_start) - 3 * DAY


def test_a_future_watermark_with_since_says_the_window_came_from_since(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """Review: with --since the note said "the window is reckoned from the latest watermark not ahead of
    the clock", though the window came from --since."""
    run = store.start_run(RUN_SOURCE)
    store.finish_run(run.id, "succeeded", {"window_start": _day(NOW - 14 * DAY)},
                     watermark=_day(NOW + 5 * DAY))
    with LocalArxivServer(MI_CANDIDATES) as server:
        summary = weekly(store, source_for(server), extractor, since="2026-11-16", now=NOW)
    assert summary.future_watermark == _day(NOW + 5 * DAY) and summary.window_start == "2026-11-16T00:00:00Z"
    assert (f"the stored watermark {_day(NOW + 5 * DAY)} is ahead of the clock ({_day(NOW)}), set by a run "
            "whose clock was fast: not trusted: the window starts at --since, and whether it leaves a gap is "
            "judged from the latest watermark not ahead of the clock; check this machine's clock"
            ) in summary.text()
    assert "reckoned" not in summary.text()


def test_entries_skipped_for_an_unusable_date_are_counted_in_the_summary(
    store: EmbeddedStore, extractor: Extractor
) -> None:
    """Review: an entry arXiv answered with an unusable date was dropped with a warning but appeared in no
    count of the summary, whose counts are said to add up."""
    bad = {**mi_entry("2611.90001", "Induction Heads in Tiny Language Models", "Induction heads.", NOW),
           "published": "2026-11-20T25:00:00Z", "updated": "2026-11-20T25:00:00Z"}  # hour 25: unreadable
    with LocalArxivServer([*MI_CANDIDATES, bad]) as server:
        summary = weekly(store, source_for(server), extractor, now=NOW)
    assert (summary.candidates, summary.skipped) == (3, ["2611.90001"])
    assert "3 candidates from" in summary.text()
    assert "; 1 arXiv entry skipped (unusable date): 2611.90001; loaded 3 new" in summary.text()
    assert summary.to_dict()["skipped"] == ["2611.90001"]


def test_an_alias_too_long_for_a_query_is_not_queried(tmp_path: Path) -> None:
    """Review: a technique alias of ~1,000 characters made build_queries fail every weekly run."""
    from kg.taxonomy import MAX_QUERY_TERM_CHARS

    long_alias = "sparse " * 200
    text = BIO_TAXONOMY.read_text(encoding="utf-8").replace(
        "aliases: [cryo-EM", f"aliases: [{long_alias.strip()}, cryo-EM", 1)
    assert long_alias.strip() in text and len(long_alias.strip()) > MAX_QUERY_TERM_CHARS
    path = tmp_path / "long.yaml"
    path.write_text(text, encoding="utf-8")
    terms = query_terms(load_taxonomy(path))
    assert "cryo-EM" in terms and all(len(t) <= MAX_QUERY_TERM_CHARS for t in terms)
    assert build_queries(terms, ["q-bio.BM"])


# `python -c _WEEKLY_DISK_FILLS STORE`: a weekly run whose disk fills while arXiv answers: RLIMIT_FSIZE 1
# (SIGXFSZ is ignored by Python: a write past it fails with EFBIG), so every write after (the gate's
# embeddings, the run's end, the lock's release) fails as on a full disk. Logs as the CLI does, on stderr.
_WEEKLY_DISK_FILLS = """
import logging, resource, sys
from datetime import UTC, datetime
from ingest.records import Record
from ingest.weekly import WeeklyError, run_weekly
from kg.embedded import EmbeddedStore
from tests.embedders import HashEmbedder

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

class DiskFillsWhileFetching:
    def search(self, query, start_date, end_date, label):
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        return [Record(source="arxiv", source_id="2611.70001", arxiv_id="2611.70001", version=1,
                       title="Sparse autoencoders on induction heads", published="2026-11-20",
                       abstract="We train sparse autoencoders on a language model's induction heads.")]

    def updated_since(self, query, start, label):
        return []

try:
    run_weekly(EmbeddedStore(sys.argv[1]), now=datetime(2026, 11, 23, 6, tzinfo=UTC),
               source=DiskFillsWhileFetching(), embedder=HashEmbedder())
except WeeklyError as exc:
    print(f"Error: {exc}", file=sys.stderr)
"""


def test_a_weekly_run_on_a_full_disk_warns_once_without_tracebacks(store: EmbeddedStore) -> None:
    """QA: a weekly run on a full disk logged the failed run it could not record and the lock it could
    not release with a traceback each (over 100 lines): now one warning line each."""
    done = subprocess.run([sys.executable, "-c", _WEEKLY_DISK_FILLS, str(store.path)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [run] = store.runs(RUN_SOURCE)
    assert run.status == "running"  # it could not be recorded: the next run records it as failed
    assert "Traceback" not in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING ")]
    assert warnings == [
        f"WARNING ingest.weekly: could not record weekly run {run.id} as failed: the same error as the run; "
        "it stays 'running' until the next ingest records it as failed",
        "WARNING ingest.store_lock: could not release the ingest lock: the same error as the run; the next "
        "ingest takes it over (in another process, once this one has ended)",
    ], done.stderr
    error = done.stderr.splitlines()[-1]
    assert error.startswith("Error: weekly ingest failed, watermark unchanged: StoreError: ") and (
        f"while writing {store.path}" in error), error
