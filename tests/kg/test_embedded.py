"""Embedded-store specifics: two processes on one file, threads, persistence, file-level integrity."""

from __future__ import annotations

import errno
import json
import logging
import math
import multiprocessing as mp
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kg.embedded import EmbeddedStore
from kg.entities import (
    Finding,
    FindingAbout,
    ListRow,
    Paper,
    PaperBundle,
    SearchFilters,
    TaxonomyNode,
    TechniqueUse,
)
from kg.schema import Label
from kg.store import StoreError
from kg.taxonomy import load_taxonomy
from kg.validation import author_key, paper_authors
from kg.vector_index import EmbeddingMatrix
from tests.kg.test_store_contract import bundle, unit_vectors
from tests.kg.title_rule_cases import OLDER_KEYS, TITLES

N_PAPERS = 500
BATCH = 25
TECHS = ("probing", "sae", "activation_patching", "logit_lens")


def _paper_bundles() -> list[Any]:
    vecs = unit_vectors(N_PAPERS, 100)
    return [
        bundle(f"2500.{i:05d}", f"Shared corpus paper {i}", abstract=f"common words and token{i}",
               techniques=(TECHS[i % 4],), vector=vecs[i], year=2018 + i % 7)
        for i in range(N_PAPERS)
    ]


def _writer(path: str, seen: Any, errors: Any) -> None:
    """Ingest process: writes the corpus in batches, waiting until the reader saw each batch."""
    try:
        store = EmbeddedStore(path)
        bundles = _paper_bundles()
        for start in range(0, N_PAPERS, BATCH):
            store.upsert_papers(bundles[start:start + BATCH])
            # The reader must see this batch without reopening before the next one is written.
            deadline = time.monotonic() + 60
            while seen.value < start + BATCH and time.monotonic() < deadline:
                time.sleep(0.02)
            if seen.value < start + BATCH:
                errors.put(f"reader never saw {start + BATCH} papers (saw {seen.value})")
                return
        store.close()
    except Exception:  # report everything to the test process
        errors.put("writer: " + traceback.format_exc())


def _reader(path: str, seen: Any, done: Any, errors: Any, results: Any) -> None:
    """API-like process: one store opened once, queried in a loop while the writer ingests."""
    try:
        store = EmbeddedStore(path)
        query = unit_vectors(1, 101)[0]
        last = 0
        loops = 0
        while True:
            finished = done.is_set()
            hits = store.vector_search(query, N_PAPERS + 10)
            keyword = store.keyword_search("common words", N_PAPERS + 10)
            filtered = store.vector_search(query, 10, SearchFilters(technique_ids=["cma"]))
            ids = store.paper_ids()
            if len(hits) < last or len(keyword) < last:
                errors.put(f"reader went backwards: {len(hits)}/{len(keyword)} after {last}")
                return
            if ids and store.get_paper(ids[-1]) is None:
                errors.put(f"get_paper({ids[-1]}) returned None")
                return
            if any(not h.id.startswith("2500.") for h in filtered):
                errors.put("filtered search returned a stranger")
                return
            last = min(len(hits), len(keyword))
            seen.value = last
            loops += 1
            if finished:
                break
        results.put({"vector": len(hits), "keyword": len(keyword), "ids": len(ids),
                     "loops": loops, "filtered": [h.id for h in filtered]})
        store.close()
    except Exception:
        errors.put("reader: " + traceback.format_exc())


def test_reader_process_sees_writes_of_another_process_without_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "data" / "paperkg.sqlite3")
    setup = EmbeddedStore(path)
    setup.load_taxonomy(load_taxonomy().nodes)
    setup.close()
    ctx = mp.get_context("spawn")
    seen, done = ctx.Value("i", 0), ctx.Event()
    errors, results = ctx.Queue(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(path, seen, done, errors, results))
    reader.start()
    writer = ctx.Process(target=_writer, args=(path, seen, errors))
    writer.start()
    writer.join(timeout=300)
    done.set()
    reader.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    assert writer.exitcode == 0 and reader.exitcode == 0
    final = results.get(timeout=5)
    assert final["vector"] == final["keyword"] == final["ids"] == N_PAPERS
    # The reader saw each batch appear (the writer waited for it), so it looped at least once a batch.
    assert final["loops"] >= N_PAPERS // BATCH
    patching = {f"2500.{i:05d}" for i in range(N_PAPERS) if TECHS[i % 4] == "activation_patching"}
    assert set(final["filtered"]) <= patching and len(final["filtered"]) == 10


def test_deletes_and_updates_from_another_store_reach_the_mirror(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite3"
    a, b = EmbeddedStore(path), EmbeddedStore(path)
    vecs = unit_vectors(3, 102)
    a.upsert_papers([bundle("x1", vector=vecs[0]), bundle("x2", vector=vecs[1])])
    assert b.vector_search(vecs[0], 1)[0].id == "x1"
    a.delete_paper("x1")
    assert [h.id for h in b.vector_search(vecs[0], 5)] == ["x2"]
    a.upsert_papers([bundle("x2", vector=vecs[2])])  # a new embedding replaces the old row
    top = b.vector_search(vecs[2], 1)[0]
    assert top.id == "x2" and top.score == pytest.approx(1.0, abs=1e-5)
    a.upsert_papers([bundle("x2", vector=None)])  # dropping the embedding drops the row
    assert b.vector_search(vecs[2], 5) == []
    a.upsert_papers([bundle("x1", vector=vecs[0])])  # re-inserted after its deletion
    assert [h.id for h in b.vector_search(vecs[0], 5)] == ["x1"]
    a.close()
    b.close()


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.load_taxonomy(load_taxonomy().nodes)
    bundles = _paper_bundles()[:200]
    query = unit_vectors(1, 103)[0]
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                store.vector_search(query, 5, SearchFilters(year_from=2019))
                store.keyword_search("common", 5)
                store.papers_by_technique("cma")
                store.related_candidates("2500.00001", 10)
                store.stats()
        except Exception:
            errors.append(traceback.format_exc())

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for start in range(0, len(bundles), 20):
        store.upsert_papers(bundles[start:start + 20])
    stop.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, errors[0]
    assert len(store.vector_search(query, 1000)) == 200
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.stats()


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    # A threaded server runs every request on a new thread: the connection each one opened must
    # not stay open after the thread ends, or the process runs out of file descriptors.
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)

    def open_files() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd).startswith(str(path)))

    def run_in_threads(n: int) -> None:
        for _ in range(n):
            thread = threading.Thread(target=store.stats)
            thread.start()
            thread.join()

    run_in_threads(5)
    # SQLite may keep a closed connection's descriptor for reuse while others lock the file, so
    # compare a settled count: without closing, every thread would add two (database and WAL).
    baseline = open_files()
    run_in_threads(50)
    assert open_files() <= baseline + 1
    store.close()
    assert open_files() == 0


def test_reopened_store_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    assert path.parent.is_dir()
    store.load_taxonomy(load_taxonomy().nodes)
    bundles = _paper_bundles()[:50]
    store.upsert_papers(bundles)
    stats = store.stats()
    store.close()
    again = EmbeddedStore(path)
    assert again.stats() == stats
    assert set(again.upsert_papers(bundles).values()) == {"unchanged"}
    assert again.vector_search(bundles[7].paper.embedding, 1)[0].id == bundles[7].paper.id
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    again.close()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_hostile_queries_leave_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    store.upsert_papers(_paper_bundles()[:30])
    before = _dump(path)
    for query in ("') OR 1=1 --", '" MATCH (n) DETACH DELETE n //', "NEAR(a b)", "title:x*", '^"',
                  "'; DELETE FROM papers; --", "語🧠" * 3000, ""):
        store.keyword_search(query, 10)
        store.keyword_search(query, 10, SearchFilters(technique_ids=[query], section_ids=[query],
                                                      topic_ids=[query], sources=[query]))
        store.find_paper_ids(arxiv_ids=[query], dois=[query], title_keys=[query])
        store.papers_by_technique(query)
        assert store.get_paper(query) is None
    assert _dump(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")  # raises if out of sync
    conn.close()
    store.close()


def test_fts_index_stays_in_sync_through_updates_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.upsert_papers([bundle("s1", "alpha beta"), bundle("s2", "gamma")])
    store.upsert_papers([bundle("s1", "delta epsilon")])
    store.delete_paper("s2")
    assert store.keyword_search("alpha", 5) == [] and store.keyword_search("gamma", 5) == []
    assert [h.id for h in store.keyword_search("epsilon", 5)] == ["s1"]
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
    assert conn.execute("SELECT count(*) FROM papers_fts").fetchone()[0] == 1
    conn.close()
    store.close()


def test_query_vector_is_validated(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.upsert_papers([bundle("q1", vector=unit_vectors(1, 104)[0])])
    with pytest.raises(ValueError, match="384"):
        store.vector_search(np.ones(10, dtype=np.float32), 5)
    with pytest.raises(ValueError):
        store.vector_search(np.full(384, np.nan, dtype=np.float32), 5)
    assert store.vector_search(np.zeros(384, dtype=np.float32), 5) == []
    assert store.vector_search(unit_vectors(1, 105)[0], 0) == []
    store.close()


def test_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    vec = unit_vectors(1, 106)[0]
    store.upsert_papers([bundle("x1", vector=vec)])
    assert store.vector_search(vec, 1)[0].id == "x1"
    pid = os.fork()
    if pid == 0:  # the child: like a gunicorn worker forked after the app opened the store
        try:
            ok = store.get_paper("x1") is not None and store.vector_search(vec, 1)[0].id == "x1"
            store.upsert_papers([bundle("x2", vector=vec)])
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted(store.paper_ids()) == ["x1", "x2"]
    store.close()


def test_technique_changes_reach_the_filter_mask_of_another_store(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite3"
    a, b = EmbeddedStore(path), EmbeddedStore(path)
    a.load_taxonomy(load_taxonomy().nodes)
    vec = unit_vectors(1, 107)[0]
    probing = SearchFilters(technique_ids=["probing"])
    patching = SearchFilters(technique_ids=["cma"])
    a.upsert_papers([bundle("t1", vector=vec, techniques=("probing",))])
    assert [h.id for h in b.vector_search(vec, 5, probing)] == ["t1"]
    assert b.vector_search(vec, 5, patching) == []
    a.upsert_papers([bundle("t1", vector=vec, techniques=("path_patching",))])
    assert b.vector_search(vec, 5, probing) == []
    assert [h.id for h in b.vector_search(vec, 5, patching)] == ["t1"]
    # Many distinct techniques (more columns than the mask starts with) still filter exactly.
    extra = [TaxonomyNode("Technique", f"extra_{i}", f"Extra {i}") for i in range(80)]
    a.load_taxonomy(extra)
    many = [bundle(f"m{i}", vector=unit_vectors(1, 200 + i)[0], techniques=(t.id, "probing"))
            for i, t in enumerate(extra)]
    a.upsert_papers(many)
    for m in many:
        flt = SearchFilters(technique_ids=[m.techniques[0].technique_id], include_refinements=False)
        assert {h.id for h in b.vector_search(vec, 100, flt)} == b.filter_ids(flt) == {m.paper.id}
    assert len(b.vector_search(vec, 100, probing)) == 80
    a.close()
    b.close()


def test_files_written_before_newer_columns_are_migrated(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    row = ListRow("findings/findings-on-learning-dynamics", "Learning dynamics",
                  ["Findings", "Learning dynamics"])
    store.upsert_papers([bundle("old-1", techniques=("probing",), year=2020, rows=(row,)),
                         bundle("old-2", techniques=("probing",), year=2022, published="2022-03-01")])
    store.close()
    conn = sqlite3.connect(path)  # make it look like a file from before those columns existed
    conn.executescript(
        "DROP INDEX papers_central_id; DROP INDEX papers_new; DROP INDEX papers_browse; "
        "DROP INDEX papers_id_browse; "
        "ALTER TABLE papers DROP COLUMN sort_date; "
        "ALTER TABLE list_sections DROP COLUMN topic_key; ALTER TABLE papers DROP COLUMN extraction_hash; "
        "ALTER TABLE papers DROP COLUMN arxiv_version;"
    )
    conn.close()
    again = EmbeddedStore(path)
    assert [p.id for p in again.papers_by_technique("probing")[0]] == ["old-2", "old-1"]
    assert again.filter_page(SearchFilters(technique_ids=["probing"])) == (["old-2", "old-1"], 2)
    assert again.filter_ids(SearchFilters(topic_ids=["learning_dynamics"])) == {"old-1"}
    old = again.get_paper("old-1")
    assert old is not None and old.paper.extraction_hash is None and old.paper.arxiv_version is None
    hashed = bundle("old-1", techniques=("probing",), year=2020, rows=(row,))
    hashed.paper.extraction_hash = "ab" * 32
    hashed.paper.arxiv_version = 2
    assert again.upsert_papers([hashed]) == {"old-1": "updated"}
    new = again.get_paper("old-1")
    assert new is not None and new.paper.extraction_hash == "ab" * 32 and new.paper.arxiv_version == 2
    again.close()


def test_older_sort_keys_of_a_year_0_or_an_empty_date_are_repaired(tmp_path: Path) -> None:
    """Files written before the browse order followed search's key kept a year 0 as "0" and
    back-filled an empty published date as "": reopening fixes those rows, and only those."""
    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.load_taxonomy(load_taxonomy().nodes)
    year0, empty = bundle("b-year0", year=0), bundle("a-empty", year=2021)
    empty.paper.published = ""
    store.upsert_papers([year0, empty, bundle("c-undated", year=None), bundle("d-dated", year=2020)])
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript("UPDATE papers SET sort_date = '0' WHERE id = 'b-year0'; "
                       "UPDATE papers SET sort_date = '' WHERE id = 'a-empty';")
    conn.commit()
    conn.close()
    again = EmbeddedStore(path)
    assert again.filter_page(SearchFilters(year_to=2030)) == (["a-empty", "d-dated", "b-year0"], 3)
    assert again.filter_page(SearchFilters(sources=["arxiv"])) == (
        ["a-empty", "d-dated", "c-undated", "b-year0"], 4)
    keys = dict(sqlite3.connect(path).execute("SELECT id, sort_date FROM papers").fetchall())
    assert keys == {"b-year0": "", "a-empty": "2021", "c-undated": "", "d-dated": "2020-01-15"}
    again.close()


def test_embedding_matrix_masks_and_top_k_match_brute_force() -> None:
    """The in-memory index: rows replaced and removed in place, filter masks, exact top-k."""
    vecs = unit_vectors(300, 11)
    index = EmbeddingMatrix()
    years = [None if i % 10 == 0 else 2015 + i % 9 for i in range(300)]
    rows = [(f"p{i}", i, (vecs[i] * 3).tobytes(), years[i], '["arxiv"]' if i % 2 else '["list"]')
            for i in range(300)]
    index.put_many(rows)
    index.set_techniques([(f"p{i}", "probing") for i in range(0, 300, 3)])
    index.put_many([("p5", 5, None, 2020, '["list"]')])  # no embedding any more: removed
    index.remove("p7")
    index.put_many([("p8", 8, (-vecs[8]).tobytes(), 2016, '["records"]')])  # replaced in place
    alive = [i for i in range(300) if i not in (5, 7)]
    assert index.n == len(alive) and set(index.ids) == {f"p{i}" for i in alive}
    query = vecs[4]

    def expected(keep: list[int], k: int) -> list[str]:
        stored = {i: (-vecs[8] if i == 8 else vecs[i]) for i in keep}
        return [f"p{i}" for i in sorted(keep, key=lambda i: (-float(stored[i] @ query), i))][:k]

    assert [h.id for h in index.top_k(query, 10)] == expected(alive, 10)
    assert index.top_k(query, 1)[0].score == pytest.approx(1.0, abs=1e-5)  # rows are unit length
    mask = index.mask(technique_ids=["probing"], year_from=2018, year_to=2020, sources=["arxiv"],
                      allowed=[{f"p{i}" for i in range(150)}])
    keep = [i for i in alive if i % 3 == 0 and years[i] is not None and 2018 <= years[i] <= 2020
            and i % 2 == 1 and i < 150]
    assert keep and int(mask.sum()) == len(keep)
    assert [h.id for h in index.top_k(query, 50, mask)] == expected(keep, 50)
    no_year = index.mask(year_to=3000)
    assert int(no_year.sum()) == sum(1 for i in alive if years[i] is not None)
    assert index.top_k(query, 5, index.mask(technique_ids=["unknown"])) == []
    assert index.mask(sources=["records"]).sum() == 1


# -- related_candidates: in-memory postings kept in step with the file -----------------------

_REL_TECHS = ("probing", "sae", "activation_patching", "causal_scrubbing")
_REL_ABOUT = ((Label.TOPIC, "lm_behavior"), (Label.COMPONENT, "name_mover_head"),
              (Label.MODEL, "gpt2"), (Label.MODEL, "pythia"))
_REL_AUTHORS = ("Ann Lee", "Ann  Lee", "Bo Chen", "Cy Diaz", "Di Eng")
# Per paper: (candidate id, [techniques, topics, components, models, author keys] shared).
Ranked = dict[str, list[tuple[str, list[list[str]]]]]


def _related_bundle(rng: random.Random, pid: str) -> PaperBundle:
    """A paper with a random few techniques (one maybe from two sources), findings about topics,
    components and models, studied models and authors (two names may share one author key)."""
    techs = tuple(rng.sample(_REL_TECHS, rng.randint(0, 2)))
    b = bundle(pid, techniques=techs, authors=tuple(rng.sample(_REL_AUTHORS, rng.randint(0, 2))),
               models=tuple(m for label, m in _REL_ABOUT if label == Label.MODEL and rng.random() < 0.2))
    if techs and rng.random() < 0.3:
        b.techniques.append(TechniqueUse(techs[0], "list"))
    for j in range(rng.randint(0, 2)):
        about = [FindingAbout(label, node) for label, node in rng.sample(_REL_ABOUT, rng.randint(1, 2))]
        b.findings.append(Finding(f"{pid}#f{j}", "A finding.", "claim", "extracted", about=about))
    return b


def _reference_related(store: EmbeddedStore, limit: int) -> Ranked:
    """related_candidates of every paper by brute force over the public reads: candidates ranked by
    the summed idf = ln((N + 1) / (df + 1)) + 1 of the techniques, finding/studies nodes and author
    keys they share, added in that order (each by id), ties by id; with what each shares."""
    labels = {n.id: n.label for n in store.taxonomy_nodes()}
    ids = store.paper_ids()
    papers = {p.id: p for p in store.get_papers(ids)}
    profiles = store.paper_profiles(ids)
    order = {Label.TECHNIQUE: 0, Label.TOPIC: 1, Label.OBJECT: 1, Label.COMPONENT: 1, Label.MODEL: 1}
    # Evaluation criteria are in the profile but are not related-candidate keys.
    keys = {pid: {(order[labels[node]], node) for node in profiles[pid] if labels[node] in order}
                 | {(2, key) for _, key, _ in paper_authors(papers[pid])} for pid in ids}
    df: dict[tuple[int, str], int] = {}
    for ks in keys.values():
        for k in ks:
            df[k] = df.get(k, 0) + 1
    idf = {k: math.log((len(ids) + 1) / (n + 1)) + 1.0 for k, n in df.items()}
    out = {}
    for pid in ids:
        scored = []
        for other in ids:
            shared = sorted(keys[pid] & keys[other])
            if other != pid and shared:
                score = 0.0
                for k in shared:
                    score += idf[k]
                scored.append((-score, other, shared))
        out[pid] = [
            (other, [[n for kind, n in shared if kind == 0],
                     sorted(n for kind, n in shared if labels.get(n) in (Label.TOPIC, Label.OBJECT)),
                     sorted(n for kind, n in shared if labels.get(n) == Label.COMPONENT),
                     sorted(n for kind, n in shared if kind == 1 and labels.get(n) == Label.MODEL),
                     [n for kind, n in shared if kind == 2]])
            for _, other, shared in sorted(scored)[:limit]
        ]
    return out


def _related_answers(store: EmbeddedStore, ids: list[str], limit: int) -> Ranked:
    """related_candidates of every paper in the reference's shape (authors as their keys)."""
    return {pid: [(c.id, [c.shared_techniques, c.shared_topics, c.shared_components, c.shared_models,
                          sorted({author_key(a) for a in c.shared_authors})])
                  for c in store.related_candidates(pid, limit)] for pid in ids}


def test_related_candidates_follow_writes_of_another_store(tmp_path: Path) -> None:
    """The reader's postings follow updates, deletions, replacements and a rewrite of every paper
    (which rebuilds them) made through another store, and always rank as the brute force does:
    with a few techniques among 40 papers most scores tie, so limits cut inside tie groups."""
    path = tmp_path / "paperkg.sqlite3"
    writer, reader = EmbeddedStore(path), EmbeddedStore(path)
    writer.load_taxonomy(load_taxonomy().nodes)
    rng = random.Random(5)
    ids = [f"2401.{i:05d}" for i in range(40)]

    def check() -> None:
        live = writer.paper_ids()
        for limit in (1, 5, 200):
            assert _related_answers(reader, live, limit) == _reference_related(writer, limit), limit
        assert reader.related_candidates("2401.99999") == []

    writer.upsert_papers([_related_bundle(rng, pid) for pid in ids])
    check()
    writer.upsert_papers([_related_bundle(rng, pid) for pid in ids[:5]])  # a few papers rewritten
    check()
    for pid in ids[5:8]:
        assert writer.delete_paper(pid)
    check()
    successor = _related_bundle(rng, "2401.00100")
    successor.replaces = [ids[8]]
    writer.upsert_papers([successor, *[_related_bundle(rng, f"2300.{i:05d}") for i in range(10)]])
    check()
    writer.upsert_papers([_related_bundle(rng, pid) for pid in writer.paper_ids()])  # all rewritten
    check()
    assert reader.related_candidates(ids[0], 0) == []
    writer.close()
    reader.close()


@pytest.mark.parametrize("stored_rule", [None, "an-older-rule"])
def test_title_keys_of_an_older_title_key_rule_are_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, stored_rule: str | None
) -> None:
    """A file written before a title_key rule change (no fingerprint, or another one) kept the old keys,
    so ingesting "X (ICML'24 Oral)" again missed the stored paper and stored a second one: the next
    read-write open recomputes every key (in batches), records the rule, and names papers whose new
    keys coincide (all kept). A read-only open changes nothing."""
    import kg.embedded as embedded
    from ingest.normalize import title_key, title_key_rule
    path = tmp_path / "paperkg.sqlite3"
    titles, older = TITLES, OLDER_KEYS
    store = EmbeddedStore(path)
    store.upsert_papers([PaperBundle(paper=Paper(id=pid, title=t)) for pid, t in titles.items()])
    store.close()
    with sqlite3.connect(path) as conn:
        conn.executemany("UPDATE papers SET title_key = ? WHERE id = ?", [(k, i) for i, k in older.items()])
        if stored_rule is None:
            conn.execute("DELETE FROM meta WHERE key = 'title_key_rule'")
        else:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'title_key_rule'", (stored_rule,))
    conn.close()

    def stored() -> tuple[dict[str, str], str | None]:
        with sqlite3.connect(path) as conn:
            keys = dict(conn.execute("SELECT id, title_key FROM papers").fetchall())
            rule = conn.execute("SELECT value FROM meta WHERE key = 'title_key_rule'").fetchone()
        conn.close()
        return keys, rule and rule[0]

    reader = EmbeddedStore(path, read_only=True)  # a reading command: reads, writes nothing
    assert reader.paper_ids() == list(titles)
    reader.close()
    assert stored() == (older, stored_rule)

    monkeypatch.setattr(embedded, "_REKEY_BATCH", 2)
    with caplog.at_level(logging.WARNING, logger="kg.embedded"):
        again = EmbeddedStore(path)
    assert stored() == ({pid: title_key(t) for pid, t in titles.items()}, title_key_rule())
    wanted = title_key("A Study of Feature Splitting in Small Transformers (ICML'24 Oral)")
    assert again.find_paper_ids(title_keys=[wanted]) == {wanted: "feature-splitting"}
    assert again.paper_ids() == list(titles)  # both papers now keyed "sparse probing" are kept
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'sparse probing': probes, probes-2" in warnings[0], warnings
    caplog.clear()
    again.close()
    with caplog.at_level(logging.WARNING, logger="kg.embedded"):
        EmbeddedStore(path).close()  # the rule is recorded: nothing to do (and nothing said) again
    assert not caplog.records


# Papers with letters fold_for_search spells in ASCII (and one without), as keyword search finds them.
_STROKED = {"f-sogaard": ("Probing syntax", "Anders Søgaard"), "f-kaiser": ("Attention", "Łukasz Kaiser"),
            "f-plain": ("Circuits", "Chris Olah"), "f-dorr": ("Œuvre of Ærø", "Bonnie Đorr")}


def _index_as_an_older_paperkg(path: Path) -> None:
    """papers_fts as a paperkg from before fold_for_search left it: the text as given, no fold recorded."""
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM papers_fts")
        conn.execute("INSERT INTO papers_fts (rowid, title, abstract, authors) "
                     "SELECT pk, title, abstract, authors_text FROM papers")
        conn.execute("DELETE FROM meta WHERE key = 'search_fold_rule'")
    conn.close()


def _refold_and_die(path: str, batch: int, folded: int) -> None:
    """Open the store (re-folding papers_fts `batch` papers per transaction) and be killed by SIGKILL in
    the middle of it: when folding the paper after the first `folded`, inside a transaction, after the
    earlier batches committed."""
    import signal

    import kg.embedded as embedded

    fold = embedded._fts_text
    seen = iter(range(folded))

    def fold_then_die(*text: Any) -> tuple[str, ...]:  # (title, abstract, authors, venue, url)
        if next(seen, None) is None:
            os.kill(os.getpid(), signal.SIGKILL)
        return fold(*text)

    embedded._REKEY_BATCH = batch
    embedded._fts_text = fold_then_die
    EmbeddedStore(Path(path))


def test_full_text_of_an_older_fold_is_refolded_even_after_a_kill(tmp_path: Path) -> None:
    """A store an older paperkg wrote indexed "Anders Søgaard" as it is, which the query "Sogaard" (now
    folded as the indexed text is) misses: a reading command still finds the older fold's words, and
    the next read-write open rewrites the index's rows, in batches. Killed in the middle, the next open
    finishes it: every paper indexed once, folded, and the fold recorded."""
    from kg.validation import search_fold_rule

    path = tmp_path / "paperkg.sqlite3"
    store = EmbeddedStore(path)
    store.upsert_papers([PaperBundle(paper=Paper(id=pid, title=t, authors=[a]))
                         for pid, (t, a) in _STROKED.items()])
    store.close()
    _index_as_an_older_paperkg(path)

    def found(s: EmbeddedStore, query: str) -> list[str]:
        return sorted(h.id for h in s.keyword_search(query, 10))

    reader = EmbeddedStore(path, read_only=True)  # a reading command changes nothing
    assert found(reader, "Søgaard") == ["f-sogaard"] and found(reader, "Łukasz") == ["f-kaiser"]
    assert found(reader, "Sogaard") == []
    reader.close()

    ctx = mp.get_context("spawn")
    child = ctx.Process(target=_refold_and_die, args=(str(path), 1, 1))
    child.start()
    child.join(120)  # a hang guard only
    assert child.exitcode == -9  # killed in the second batch, the first one committed
    with sqlite3.connect(path) as conn:
        indexed = dict(conn.execute("SELECT p.id, f.authors FROM papers_fts f "
                                    "JOIN papers p ON p.pk = f.rowid"))
        assert conn.execute("SELECT value FROM meta WHERE key = 'search_fold_rule'").fetchone() is None
    conn.close()
    assert indexed == {"f-sogaard": "Anders Sogaard", "f-kaiser": "Łukasz Kaiser", "f-plain": "Chris Olah",
                       "f-dorr": "Bonnie Đorr"}

    again = EmbeddedStore(path)
    assert found(again, "Sogaard") == found(again, "Søgaard") == ["f-sogaard"]
    assert found(again, "Lukasz") == found(again, "łukasz") == ["f-kaiser"]
    assert found(again, "Dorr") == found(again, "oeuvre") == found(again, "aero") == ["f-dorr"]
    assert found(again, "olah") == ["f-plain"]
    again.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")  # raises if out of sync
        rows = conn.execute("SELECT rowid, title, authors FROM papers_fts ORDER BY rowid").fetchall()
        assert conn.execute("SELECT value FROM meta WHERE key = 'search_fold_rule'").fetchone() == (
            search_fold_rule(),)
    conn.close()
    assert [(t, a) for _, t, a in rows] == [
        ("Probing syntax", "Anders Sogaard"), ("Attention", "Lukasz Kaiser"), ("Circuits", "Chris Olah"),
        ("OEuvre of AEro", "Bonnie Dorr")]
    assert len({r[0] for r in rows}) == len(_STROKED)  # nothing indexed twice


def test_technique_counts_are_kept_until_a_write(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.load_taxonomy(load_taxonomy().nodes)
    store.upsert_papers([bundle("c1", techniques=("path_patching",))])
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)  # this thread's connection: every statement run
    first = store.technique_counts()
    counted = [s for s in statements if "count(DISTINCT" in s]
    assert counted  # the first call counts
    statements.clear()
    assert store.technique_counts() == first
    assert not [s for s in statements if "count(DISTINCT" in s]  # the second does not count again
    store.upsert_papers([bundle("c2", techniques=("cma",))])
    statements.clear()
    counts = {c.id: c for c in store.technique_counts()}
    assert [s for s in statements if "count(DISTINCT" in s]  # a write of its own: counted anew
    assert (counts["cma"].own_count, counts["cma"].total_count) == (1, 2)
    store.close()


def test_technique_counts_follow_writes_of_another_store(tmp_path: Path) -> None:
    path = tmp_path / "paperkg.sqlite3"
    a, b = EmbeddedStore(path), EmbeddedStore(path)
    a.load_taxonomy(load_taxonomy().nodes)
    a.upsert_papers([bundle("o1", techniques=("probing",))])

    def counts(store: EmbeddedStore) -> dict[str, tuple[int, int]]:
        return {c.id: (c.own_count, c.total_count) for c in store.technique_counts()}

    assert counts(a)["cma"] == (0, 0)
    assert counts(a) == counts(a)  # kept
    b.upsert_papers([bundle("o2", techniques=("attribution_graph",))])  # cma > attribution_patching > it
    seen = counts(a)
    assert seen["cma"] == (0, 1) and seen["attribution_patching"] == (0, 1)
    assert seen["attribution_graph"] == (1, 1)
    b.upsert_papers([bundle("o3", findings=(Finding("o3#f1", "Grokking happens.", about=[
        FindingAbout(Label.TOPIC, "learning_dynamics")]),))])
    assert counts(a)["learning_dynamics"] == (1, 1)
    b.delete_paper("o2")
    assert counts(a)["cma"] == (0, 0)
    # A taxonomy change alone (no paper written, so no new revision): a new refinement of probing
    # used by a stored paper, then another process re-parents it under cma.
    b.load_taxonomy([TaxonomyNode(Label.TECHNIQUE, "probe_variant", "Probe variant", parent="probing")])
    b.upsert_papers([bundle("o4", techniques=("probe_variant",))])
    assert counts(a)["probing"] == (1, 2)
    b.load_taxonomy([TaxonomyNode(Label.TECHNIQUE, "probe_variant", "Probe variant", parent="cma")])
    assert counts(a)["probing"] == (1, 1) and counts(a)["cma"] == (0, 1)
    assert counts(a) == counts(EmbeddedStore(path))  # as a store that never counted before
    a.close()
    b.close()


def test_a_topic_init_adds_is_counted_by_an_open_store_without_a_paper_write(tmp_path: Path) -> None:
    """A list section's papers count for the Topic its segment names once the taxonomy has that topic:
    `paperkg init` loading it writes no paper (no new revision), and a running server still counts it."""
    path = tmp_path / "paperkg.sqlite3"
    server, init = EmbeddedStore(path), EmbeddedStore(path)
    server.load_taxonomy(load_taxonomy().nodes)
    row = ListRow("findings-and-applications/grokking-zoo", "Grokking zoo", ["Findings", "Grokking zoo"])
    server.upsert_papers([bundle("g1", rows=(row,), sources=("list",))])
    assert "grokking_zoo" not in {c.id for c in server.technique_counts()}  # counted, and kept
    init.load_taxonomy([TaxonomyNode(Label.TOPIC, "grokking_zoo", "Grokking zoo")])
    counts = {c.id: (c.own_count, c.total_count) for c in server.technique_counts()}
    assert counts["grokking_zoo"] == (1, 1)
    server.close()
    init.close()


# Filtered keyword search: the plan that gathers the filtered papers first (a common word) and the
# plan that joins each match to its paper (a rare word) against the straightforward full join.
_KW_TECHNIQUES = ("cma", "activation_patching", "path_patching", "attribution_graph", "probing", "sae",
                  "transcoder", "knockout", "mean_ablation", "logit_lens")
_KW_EVALUATIONS = ("faithfulness", "completeness", "automated_explanation_score")
_KW_SECTIONS = (
    ("findings-and-applications/learning-dynamics", ["Findings and Applications", "Learning Dynamics"]),
    ("findings-and-applications/findings-on-features", ["Findings and Applications", "Findings on Features"]),
    ("techniques/probing", ["Techniques", "Probing"]),
)
_KW_TOPICS = ("learning_dynamics", "superposition", "ai_safety", "lm_enhancement", "knowledge_editing")


def _keyword_corpus(n: int) -> list[PaperBundle]:
    """n papers: "common" in each, "frequent" in half, "sparse" in a few percent, "scarce" in a
    handful; one paper in four shares its exact text with others (equal bm25 scores)."""
    rng = random.Random(11)
    filler = ["signal", "trace", "model", "layer", "token", "head", "circuit", "probe", "vector", "basis"]
    templates = [(f"Repeated study {t}", "common frequent words of a repeated abstract " + " ".join(
        rng.sample(filler, 4))) for t in range(6)]
    out = []
    for i in range(n):
        if i % 4 == 0:
            title, abstract = templates[i % len(templates)]
        else:
            words = ["common", *rng.sample(filler, rng.randint(2, 8))]
            words += ["frequent"] * (i % 2) + ["sparse"] * (i % 37 == 5) + ["scarce"] * (i % 401 == 7)
            rng.shuffle(words)
            title, abstract = f"Paper {i} on {rng.choice(filler)}", " ".join(words)
        techniques = tuple(rng.sample(_KW_TECHNIQUES, rng.randint(0, 2)))
        evaluations = tuple(rng.sample(_KW_EVALUATIONS, rng.randint(0, 1))) if i % 3 == 0 else ()
        findings = tuple(
            Finding(f"kw{i}#f1", "A finding.", about=[FindingAbout(Label.TOPIC, rng.choice(_KW_TOPICS))])
            for _ in range(i % 5 == 0))
        rows = tuple(ListRow(section, path[-1], path) for section, path in [rng.choice(_KW_SECTIONS)]
                     if i % 7 == 0)
        sources = ("arxiv",) if i % 6 else ("list", "arxiv") if i % 12 else ("list",)
        year = None if i % 50 == 3 else 2016 + i % 10
        out.append(bundle(f"kw{i:05d}", title, abstract=abstract, year=year, techniques=techniques,
                          evaluations=evaluations, findings=findings, rows=rows, sources=sources))
    return out


_KW_FILTERS = [
    SearchFilters(technique_ids=["cma"]),
    SearchFilters(technique_ids=["cma"], include_refinements=False),
    SearchFilters(technique_ids=["attribution_patching", "sae"]),
    SearchFilters(technique_ids=["faithfulness"]),
    SearchFilters(year_from=2020, year_to=2022),
    SearchFilters(year_from=2025),
    SearchFilters(sources=["list"]),
    SearchFilters(section_ids=["findings-and-applications"]),
    SearchFilters(section_ids=["techniques/probing"]),
    SearchFilters(topic_ids=["learning_dynamics"]),
    SearchFilters(topic_ids=["lm_enhancement"]),
    SearchFilters(technique_ids=["knockout"], year_from=2018, sources=["arxiv"]),
    SearchFilters(technique_ids=["probing"], topic_ids=["learning_dynamics"]),
    SearchFilters(technique_ids=["no_such_technique"]),
]


def test_filtered_keyword_search_plans_agree_with_the_full_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kg.embedded as embedded

    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.load_taxonomy(load_taxonomy().nodes)
    corpus = _keyword_corpus(2400)
    for start in range(0, len(corpus), 400):
        store.upsert_papers(corpus[start:start + 400])
    conn = store._conn()

    statements: list[str] = []  # what keyword_search runs (the reference's own SQL left out)

    def full_join(query: str, k: int, filters: SearchFilters) -> list[tuple[str, float]]:
        conn.set_trace_callback(None)
        match = " OR ".join(f'"{w}"' for w in query.split())
        where, params = store._filter_sql(conn, filters)
        rows = conn.execute(
            f"SELECT p.id, {embedded._BM25} AS r FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
            f"WHERE papers_fts MATCH ? AND {where} ORDER BY r, p.pk LIMIT ?", [match, *params, k],
        ).fetchall()
        conn.set_trace_callback(statements.append)
        return [(r[0], -float(r[1])) for r in rows]

    queries = ["common", "frequent", "sparse", "scarce", "repeated", "sparse scarce", "frequent token"]
    # 1: always join each match; 10**9: always gather the filtered set first; 20: chosen per query.
    for share in (1, 10**9, embedded._COMMON_MATCH_SHARE):
        monkeypatch.setattr(embedded, "_COMMON_MATCH_SHARE", share)
        statements.clear()
        for query in queries:
            for filters in _KW_FILTERS:
                expected_all = full_join(query, 5000, filters)
                for k in (1, 3, 10, 37, 150, 5000):
                    got = [(h.id, h.score) for h in store.keyword_search(query, k, filters)]
                    assert got == full_join(query, k, filters) == expected_all[:k], (share, query, filters, k)
        used_set = any("+rowid IN" in s for s in statements)
        used_join = any("JOIN papers p ON p.pk = papers_fts.rowid" in s for s in statements)
        assert (used_set, used_join) == {1: (False, True), 10**9: (True, False)}.get(share, (True, True))
    conn.set_trace_callback(None)
    # The corpus does what the test needs: ties in bm25 cut by k, and filters that keep many or few.
    ranked = full_join("common", 5000, SearchFilters(year_from=2016))
    assert len({score for _, score in ranked}) < len(ranked) / 4
    assert any(ranked[k - 1][1] == ranked[k][1] for k in (10, 37, 150))
    passing = [len(store.filter_ids(f)) for f in _KW_FILTERS]
    assert max(passing) > len(corpus) / 3 and 0 < min(p for p in passing if p) < 50 and 0 in passing
    store.close()


def test_warm_loads_vectors_and_the_related_index_before_the_first_request(tmp_path: Path) -> None:
    """A server's worker warms its store at start: afterwards the first semantic search and related
    request (any thread) read no embeddings and no postings, only the revision."""
    path = tmp_path / "paperkg.sqlite3"
    writer = EmbeddedStore(path)
    writer.load_taxonomy(load_taxonomy().nodes)
    vecs = unit_vectors(3, 5)
    writer.upsert_papers([bundle(f"w{i}", techniques=("probing",), vector=vecs[i]) for i in range(3)])
    writer.close()
    store = EmbeddedStore(path, read_only=True)
    warmer = threading.Thread(target=store.warm)
    warmer.start()
    warmer.join()
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)  # this thread's connection: every statement run
    assert [h.id for h in store.vector_search(vecs[1], 1)] == ["w1"]
    assert {c.id for c in store.related_candidates("w0")} == {"w1", "w2"}
    loads = [s for s in statements if "embedding" in s or "ORDER BY id" in s or "json_group_array" in s]
    assert loads == [], loads
    assert any("key = 'rev'" in s for s in statements)  # each still checks it is up to date
    # The warm-up thread's connection (and its page cache) is closed when it ends, not kept.
    assert [t for t, _ in store._connections if t is warmer] == []
    store.close()


def test_a_backup_failing_after_the_copy_is_written_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy is written beside the destination first: when renaming it into place fails (a full
    disk), the store-sized partial file goes too, and the error says why."""
    store = EmbeddedStore(tmp_path / "paperkg.sqlite3")
    store.load_taxonomy(load_taxonomy().nodes)
    store.upsert_papers([bundle("b1")])

    def no_room(src: object, dst: object, **_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("kg.embedded.os.replace", no_room)
    monkeypatch.setattr("kg.embedded.os.link", no_room)  # how a copy goes in place where no file may be
    with pytest.raises(StoreError, match="No space left on device"):
        store.backup(tmp_path / "copy.sqlite3")
    with pytest.raises(StoreError, match="No space left on device"):
        store.backup(tmp_path / "copy.sqlite3", replace=True)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("copy")] == []
    store.close()


REPO = Path(__file__).resolve().parents[2]
_BACKUP_PAST_A_LIMIT = """
    import json, os, resource, sqlite3, sys
    from pathlib import Path
    from kg.embedded import EmbeddedStore
    from kg.store import StoreError

    folder = Path(sys.argv[1])
    store = EmbeddedStore(folder / "small.sqlite3", check_schema=False)
    store.backup(folder / "first.sqlite3")  # opens the store (its -shm file made) before the limit
    # Room for the copy (three pages), not for the 32 KiB -shm file SQLite makes beside it once the copied
    # header puts it in WAL mode: the copy fails after SQLite made its -wal and -shm, as on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, resource.RLIM_INFINITY))
    try:
        store.backup(folder / "copy.sqlite3")
    except StoreError as exc:
        print(json.dumps({"error": str(exc)}))
    else:
        print(json.dumps({"error": None}))
"""


def test_a_backup_failing_on_a_full_disk_leaves_no_partial_wal_or_shm(tmp_path: Path) -> None:
    """QA: a backup that failed on a full disk left FILE.partial-journal (or -wal and -shm) beside FILE.
    The store is the smallest WAL file backup copies (papers and locks only), so that a file size limit
    (RLIMIT_FSIZE, in a subprocess: SIGXFSZ is ignored by Python, a write past it fails with EFBIG)
    lets the copy be written but not the -shm file beside it."""
    small = sqlite3.connect(tmp_path / "small.sqlite3")
    small.execute("PRAGMA journal_mode = WAL")
    small.execute("CREATE TABLE papers (id TEXT)")
    small.execute("CREATE TABLE locks (name TEXT)")
    small.commit()
    small.close()
    assert (tmp_path / "small.sqlite3").stat().st_size < 16384  # the copy fits under the limit
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_BACKUP_PAST_A_LIMIT), str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error is not None and error.startswith(f"cannot back up {tmp_path / 'small.sqlite3'} to "), error
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == []
    # What it leaves is the store's and the first backup's, nothing of the failed one.
    assert (tmp_path / "first.sqlite3").is_file()
