"""`paperkg init --prune` and `--dry-run`: a lab changing its copy of the taxonomy (a renamed id, a merged
node, a retired node) gets the store the edited file describes, without a lossy rebuild."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from api.app import create_app
from kg.cli import main
from kg.config import PACKAGED_TAXONOMY, load_config
from kg.embedded import EmbeddedStore
from kg.entities import SearchFilters
from kg.schema import EDGE_SOURCE_EXTRACTED, EDGE_SOURCE_LIST, EMBEDDING_DIM
from tests.embedders import HashEmbedder

# Texts, not ids: a node's aliases and notes keep the old spellings (the old id stays an alias).
_TEXT_KEYS = frozenset({"aliases", "ambiguous_aliases", "label", "note", "dotted_box_label"})


def _edit(value: Any, renames: dict[str, str], gone: set[str], *, text: bool = False) -> Any:
    """The taxonomy data with the nodes of `gone` taken out and ids renamed (a node whose id is renamed to
    one that exists is merged into it: taken out, its references renamed); None for what is taken out."""
    if isinstance(value, dict):
        if value.get("id") in gone:
            return None
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key in gone:
                continue
            key = renames.get(key, key) if isinstance(key, str) else key
            if key in out:  # a merged node's entry (a summary): the kept node's stays
                continue
            edited = _edit(item, renames, gone, text=text or key in _TEXT_KEYS)
            if edited is None and item is not None:
                continue
            out[key] = edited
        return out
    if isinstance(value, list):
        kept: list[Any] = []
        for item in (_edit(v, renames, gone, text=text) for v in value):
            if item is not None and item not in kept:
                kept.append(item)
        return kept
    if isinstance(value, str) and not text:
        return None if value in gone else renames.get(value, value)
    return value


def _node(data: Any, node_id: str) -> dict[str, Any]:
    """The node entry of `node_id` anywhere in the taxonomy data."""
    if isinstance(data, dict):
        if data.get("id") == node_id:
            return data
        items = list(data.values())
    elif isinstance(data, list):
        items = data
    else:
        items = []
    for item in items:
        found = _node(item, node_id)
        if found:
            return found
    return {}


def lab_file_edited(path: Path) -> None:
    """The lab's edit a year in: knockout renamed ablation (the old id kept as an alias), path_patching
    merged into activation_patching, gradient_attribution retired."""
    data = yaml.safe_load(PACKAGED_TAXONOMY.read_text(encoding="utf-8"))
    data = _edit(data, {"knockout": "ablation"}, {"gradient_attribution"})
    _node(data, "ablation")["label"] = "Ablation"
    _node(data, "activation_patching")["aliases"] += ["path patching", "path-patching"]
    data = _edit(data, {"path_patching": "activation_patching"}, {"path_patching"})
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


_PAPERS = [
    # Tagged knockout by extraction and by hand (a records file's list row).
    {"id": "p-knock", "title": "Knocking out attention heads",
     "abstract": "We knock out attention heads to find the circuit.",
     "list_rows": [{"section": "Circuits", "technique_ids": ["knockout"]}]},
    # Tagged path_patching by hand, activation_patching by hand too: one tag there afterwards.
    {"id": "p-path", "title": "Tracing a circuit",
     "abstract": "We study how the model completes the task.",
     "list_rows": [{"section": "Circuits", "technique_ids": ["path_patching", "activation_patching"]}]},
    # Tagged gradient_attribution (retired) and probing, by hand.
    {"id": "p-grad", "title": "Attributing outputs", "abstract": "We attribute outputs to inputs.",
     "list_rows": [{"section": "Circuits", "technique_ids": ["gradient_attribution", "probing"]}]},
]


@pytest.fixture
def lab(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store initialised with the lab's copy of the taxonomy (PAPERKG_TAXONOMY) holding three papers
    tagged with the nodes the lab goes on to rename, merge and retire; returns the lab's file."""
    import ingest.pipeline as pipeline

    path = tmp_path / "lab.yaml"
    path.write_bytes(PACKAGED_TAXONOMY.read_bytes())
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(path))
    monkeypatch.setattr(pipeline, "_load_embedder", HashEmbedder)
    records = tmp_path / "papers.jsonl"
    records.write_text("".join(json.dumps(p) + "\n" for p in _PAPERS), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    ingest = runner.invoke(main, ["ingest", "records", str(records)])
    assert ingest.exit_code == 0, ingest.output
    return path


def _tags(store: EmbeddedStore, paper_id: str) -> set[tuple[str, str]]:
    """(technique id, source) of a stored paper."""
    detail = store.get_paper(paper_id)
    assert detail is not None
    return {(t.technique_id, t.source) for t in detail.techniques}


def _store_file(data_dir: Path) -> Path:
    return load_config().embedded_store_file


def _digest(store_file: Path) -> list[tuple[str, str]]:
    """sha256 of the store file and of its write-ahead log, when that holds anything (any reader opening
    the file creates an empty one)."""
    files = [store_file, store_file.with_name(store_file.name + "-wal")]
    return [(f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
            if f.exists() and f.stat().st_size]


def _app(data_dir: Path, taxonomy: Path, store: EmbeddedStore) -> Any:
    config = load_config(env={"PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_TAXONOMY": str(taxonomy)})
    return create_app({"TESTING": True, "STORE": store, "EMBEDDER": HashEmbedder(), "PAPERKG_CONFIG": config})


def test_prune_moves_tags_to_the_node_the_file_names_and_drops_the_others(
    lab: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """QA (taxonomy maintainer): init removed no node, so a renamed, merged or retired id stayed in the store
    for ever as an empty technique (a 200 "0 papers" page, "Knockout (0)" in the filters), its papers kept
    its tags, and the store holding ids the file lacks sent the whole site neutral (no /start). With
    --prune the old ids go, their tags move where the file's aliases send the old id, or are dropped."""
    store = EmbeddedStore(_store_file(data_dir))
    before = {pid: _tags(store, pid) for pid in ("p-knock", "p-path", "p-grad")}
    assert ("knockout", EDGE_SOURCE_LIST) in before["p-knock"]
    assert ("knockout", EDGE_SOURCE_EXTRACTED) in before["p-knock"]
    lab_file_edited(lab)
    runner = CliRunner()

    kept = runner.invoke(main, ["init"])  # without --prune: the old ids stay, and init says what removes them
    assert kept.exit_code == 0, kept.output
    assert (f"note: 3 nodes are in the store but not in {lab} (gradient_attribution, knockout, "
            "path_patching): they stay in the store (`paperkg init --prune` removes them); ") in kept.stderr
    assert {n.id for n in store.taxonomy_nodes()} >= {"knockout", "path_patching", "gradient_attribution"}
    with _app(data_dir, lab, store).test_request_context(), caplog.at_level("WARNING", "api.taxonomy_file"):
        from api.taxonomy_file import own_taxonomy_file

        assert own_taxonomy_file("roadmap", "no start page") is None  # the site is neutral
    # The advice named only another file ("set PAPERKG_TAXONOMY to the file the store was initialised
    # with"), wrong for a lab whose file it is, edited since.
    [warning] = [r.getMessage() for r in caplog.records if "taxonomy ids that" in r.getMessage()]
    assert warning == (f"the store holds 3 taxonomy ids that {lab} lacks: neutral page texts, no start page "
                       "and no node summaries (set PAPERKG_TAXONOMY to the file the store was initialised "
                       "with, or, when this is that file edited since, run `paperkg init --prune` to remove "
                       "from the store the ids it no longer has)")

    # gradient_attribution's hand tag (p-grad's list row) would be dropped: refused without --force, and
    # nothing written.
    stored = store.taxonomy_nodes()
    refused = runner.invoke(main, ["init", "--prune"])
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: --prune refused: it would remove 3 of the 76 taxonomy nodes stored, and drop the hand tags "
        "(`source: list`) of 1 paper; nothing was written (check the file with `paperkg init --prune "
        "--dry-run`, or run again with --prune --force)\n")
    assert store.taxonomy_nodes() == stored
    assert CliRunner().invoke(main, ["init", "--force"]).exit_code == 2  # --force only with --prune

    pruned = runner.invoke(main, ["init", "--prune", "--force"])
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.splitlines()[1:] == [
        "removed 3 nodes the file lacks:",
        "  path_patching: 1 paper's tags moved to activation_patching",
        "  knockout: 1 paper's tags moved to ablation",
        "  gradient_attribution: 1 paper's tags dropped",
    ]
    # The tags moved are stale extraction: the note to re-extract stays.
    assert "run `paperkg ingest reextract`" in pruned.stderr
    assert "in the store but not in" not in pruned.stderr

    ids = {n.id for n in store.taxonomy_nodes()}
    assert not ids & {"knockout", "path_patching", "gradient_attribution"}
    assert {"ablation", "activation_patching", "probing"} <= ids
    # Every source moves: the extracted tag and the hand tag (a records file's list row).
    assert _tags(store, "p-knock") == {(t, s) for t, s in before["p-knock"] if t != "knockout"} | {
        ("ablation", EDGE_SOURCE_LIST), ("ablation", EDGE_SOURCE_EXTRACTED)}
    # The paper already tagged activation_patching (by hand) keeps one tag there.
    assert _tags(store, "p-path") == {(t, s) for t, s in before["p-path"] if t != "path_patching"}
    assert ("activation_patching", EDGE_SOURCE_LIST) in _tags(store, "p-path")
    assert _tags(store, "p-grad") == {(t, s) for t, s in before["p-grad"] if t != "gradient_attribution"}
    assert ("probing", EDGE_SOURCE_LIST) in _tags(store, "p-grad")
    # The moved tags are found by the technique: the counts and the browse lists follow the store.
    counts = {c.id: c.own_count for c in store.technique_counts()}
    assert "knockout" not in counts and counts["ablation"] >= 1

    # A second run has nothing to remove and writes nothing more.
    again = runner.invoke(main, ["init", "--prune"])
    assert again.exit_code == 0 and "removed" not in again.stdout

    # The site: the old id's page is a redirect to the node that took it over, and the file is the
    # store's own again (start page, summaries).
    client = _app(data_dir, lab, store).test_client()
    old = client.get("/techniques/knockout")
    assert old.status_code == 301 and old.headers["Location"].endswith("/techniques/ablation")
    merged = client.get("/techniques/path_patching")
    assert merged.status_code == 301
    assert merged.headers["Location"].endswith("/techniques/activation_patching")
    assert client.get("/techniques/gradient_attribution").status_code == 404
    assert client.get("/start").status_code == 200
    api = client.get("/api/search", query_string={"technique": "knockout"})
    assert api.status_code == 400 and "did you mean 'ablation'?" in api.get_json()["error"]["message"]
    techniques = client.get("/techniques").get_data(as_text=True)
    assert "Knockout" not in techniques and "Path Patching" not in techniques
    with client.application.test_request_context():
        from api.taxonomy_file import own_taxonomy_file

        own = own_taxonomy_file("roadmap", "no start page")
        assert own is not None and own.source == str(lab)
    store.close()


def test_a_running_server_sees_the_pruned_taxonomy(
    lab: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app on the store before the prune answers by the pruned store once its taxonomy is read again
    (the revision bump reaches every process's caches: counts, technique lists)."""
    import api.app

    store = EmbeddedStore(_store_file(data_dir))
    lab_file_edited(lab)
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    app = _app(data_dir, lab, store)
    client = app.test_client()
    assert client.get("/techniques/knockout").status_code == 200  # the empty page of an old id
    assert "Knockout" in client.get("/techniques").get_data(as_text=True)
    query = np.ones(EMBEDDING_DIM, dtype=np.float32)
    ablation = SearchFilters(technique_ids=["ablation"])
    assert store.vector_search(query, 5, ablation) == []  # the in-memory matrix is built, no paper there
    assert runner.invoke(main, ["init", "--prune", "--force"]).exit_code == 0
    # The matrix's technique columns follow the write of another process.
    assert [hit.id for hit in store.vector_search(query, 5, ablation)] == ["p-knock"]
    monkeypatch.setattr(api.app, "TAXONOMY_CACHE_SECONDS", 0.0)  # the cache's 30 s, run out
    assert client.get("/techniques/knockout").status_code == 301
    page = client.get("/techniques/ablation").get_data(as_text=True)
    assert "Knocking out attention heads" in page
    assert "Knockout" not in client.get("/techniques").get_data(as_text=True)
    store.close()


def test_dry_run_says_what_init_would_do_and_writes_nothing(lab: Path, data_dir: Path) -> None:
    """QA: init with a wrong file could not be undone and had no preview."""
    lab_file_edited(lab)
    store_file = _store_file(data_dir)
    digest = _digest(store_file)
    runner = CliRunner()
    preview = runner.invoke(main, ["init", "--prune", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    lines = preview.stdout.splitlines()
    assert lines[0] == f"dry run, nothing written: init with {lab} (73 nodes) would:"
    assert "    ablation: name Knockout -> Ablation, aliases" not in lines  # ablation is a new id
    assert any(line.startswith("  add 1 node: ablation") for line in lines)
    assert "    activation_patching: aliases" in lines
    assert lines[lines.index("  remove 3 nodes the file lacks:") + 1:][:3] == [
        "    path_patching: 1 paper's tags would move to activation_patching",
        "    knockout: 1 paper's tags would move to ablation",
        "    gradient_attribution: 1 paper's tags would be dropped",
    ]
    assert lines[-2] == ("  leave the 3 stored papers extracted with another taxonomy or extractor (then run "
                         "`paperkg ingest reextract`)")
    # QA: nothing said how much a prune would take, nor that it would drop hand tags.
    assert lines[-1] == (
        "3 of 75 nodes removed; 2 papers' tags moved, 1 paper's tags dropped (1 with hand tags); without "
        "--force, `paperkg init --prune` would refuse this: it would remove 3 of the 75 taxonomy nodes "
        "stored, and drop the hand tags (`source: list`) of 1 paper")
    keep = runner.invoke(main, ["init", "--dry-run"])
    assert "  keep 3 nodes the file lacks (with --prune, init would remove them):" in keep.stdout.splitlines()
    assert _digest(store_file) == digest
    store = EmbeddedStore(store_file, read_only=True)
    assert {"knockout", "path_patching", "gradient_attribution"} <= {n.id for n in store.taxonomy_nodes()}
    assert "ablation" not in {n.id for n in store.taxonomy_nodes()}
    store.close()


def test_dry_run_of_a_store_not_made_yet(data_dir: Path) -> None:
    """A dry run never creates the store."""
    preview = CliRunner().invoke(main, ["init", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "would create the store" in preview.stdout
    assert not any(data_dir.iterdir())


def _extracted(store: EmbeddedStore) -> dict[str, set[str]]:
    """Each stored paper's extracted technique ids."""
    return {pid: {t for t, s in _tags(store, pid) if s == EDGE_SOURCE_EXTRACTED} for pid in store.paper_ids()}


def test_undoing_a_prune_then_reextracting_brings_the_extracted_tags_back(
    lab: Path, data_dir: Path, tmp_path: Path
) -> None:
    """QA (HIGH, data loss): a prune moved or dropped extracted tags but left each paper's extraction hash,
    so after putting the old file back (init --prune again) nothing was stale: reextract said "0 updated,
    40 unchanged" and the tags of the undone prune's nodes were gone for good, with no note."""
    records = tmp_path / "more.jsonl"
    records.write_text(json.dumps({
        "id": "p-trace", "title": "Tracing gradients through a circuit",
        "abstract": "We combine path patching with gradient attribution to trace the circuit."}) + "\n",
        encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "records", str(records)]).exit_code == 0
    store = EmbeddedStore(_store_file(data_dir))
    before = _extracted(store)
    assert {"path_patching", "gradient_attribution"} <= before["p-trace"]
    assert "knockout" in before["p-knock"]

    lab_file_edited(lab)
    assert runner.invoke(main, ["init", "--prune", "--force"]).exit_code == 0
    assert not {"path_patching", "gradient_attribution"} & _extracted(store)["p-trace"]
    lab.write_bytes(PACKAGED_TAXONOMY.read_bytes())  # undone: the original file back
    undone = runner.invoke(main, ["init", "--prune", "--force"])
    assert undone.exit_code == 0, undone.output
    # The papers the prune touched are stale, and init says so.
    assert "extracted with another taxonomy or extractor: run `paperkg ingest reextract`" in undone.stderr
    assert {p.id for p in store.get_papers(["p-trace", "p-knock"]) if p.extraction_hash is None} == {
        "p-trace", "p-knock"}

    reextract = runner.invoke(main, ["ingest", "reextract"])
    assert reextract.exit_code == 0, reextract.output
    assert _extracted(store) == before
    # And nothing is left stale: a second run has nothing to do.
    assert "extracted with another taxonomy" not in runner.invoke(main, ["init"]).stderr
    store.close()


def test_a_wrong_file_is_refused_before_anything_is_written(lab: Path, data_dir: Path) -> None:
    """QA (HIGH): `init --prune` with another field's taxonomy removed all 75 nodes (17 papers' hand tags
    dropped) and exited 0. Refused without --force, nothing written; the dry run says how much and why."""
    bio = Path(__file__).parents[1] / "ingest" / "data" / "bio_taxonomy.yaml"
    store_file = _store_file(data_dir)
    store = EmbeddedStore(store_file, read_only=True)
    stored = store.taxonomy_nodes()
    store.close()
    digest = _digest(store_file)
    runner = CliRunner()
    refused = runner.invoke(main, ["init", "--prune", "--taxonomy", str(bio)])
    assert refused.exit_code == 1
    # (The bio file's mutagenesis has knockout as an alias: p-knock's knockout tags would move there, its
    # other extracted tags be dropped.)
    assert refused.stderr == (
        "Error: --prune refused: it would remove 75 of the 75 taxonomy nodes stored, more than half, as a "
        "wrong file would, and drop the hand tags (`source: list`) of 2 papers; nothing was written (check "
        "the file with `paperkg init --prune --dry-run`, or run again with --prune --force)\n")
    assert _digest(store_file) == digest
    preview = runner.invoke(main, ["init", "--prune", "--dry-run", "--taxonomy", str(bio)])
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.splitlines()[-1] == (
        "75 of 75 nodes removed; 1 paper's tags moved, 3 papers' tags dropped (2 with hand tags); without "
        "--force, `paperkg init --prune` would refuse this: it would remove 75 of the 75 taxonomy nodes "
        "stored, more than half, as a wrong file would, and drop the hand tags (`source: list`) of 2 papers")
    assert _digest(store_file) == digest
    store = EmbeddedStore(store_file, read_only=True)
    assert store.taxonomy_nodes() == stored
    store.close()
    # The right file: nothing removed, nothing refused.
    same = runner.invoke(main, ["init", "--prune", "--dry-run"])
    assert same.stdout.splitlines()[-1] == (
        "0 of 75 nodes removed; 0 papers' tags moved, 0 papers' tags dropped (0 with hand tags)")


def test_a_file_with_no_node_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """QA: a file with only `techniques: []` loaded as 0 nodes (and `init --prune` would remove them all)."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("techniques: []\nevaluation: []\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", "--prune", "--taxonomy", str(empty)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {empty}: no taxonomy nodes (every section is empty)\n"
    assert not any(data_dir.iterdir())


def test_a_prune_waits_for_no_ingest_it_is_refused_while_one_runs(lab: Path, data_dir: Path) -> None:
    """Taxonomy QA: `init --prune` during a weekly run removed nodes the run was tagging papers with (the
    run failed with a misleading "run `paperkg init`"). A prune takes the ingest lock: while an ingest
    holds it, the prune is refused (exit 75, as a locked ingest) and writes nothing."""
    from ingest.store_lock import ingest_lock

    lab_file_edited(lab)
    store_file = _store_file(data_dir)
    holder = EmbeddedStore(store_file)
    try:
        with ingest_lock(holder, "list"):
            nodes = {n.id for n in holder.taxonomy_nodes()}
            refused = CliRunner().invoke(main, ["init", "--prune", "--force"])
            assert refused.exit_code == 75, refused.output
            said = "nothing was written: run `paperkg init --prune` again when it has finished"
            assert said in refused.stderr
            assert {n.id for n in holder.taxonomy_nodes()} == nodes
    finally:
        holder.close()
    pruned = CliRunner().invoke(main, ["init", "--prune", "--force"])
    assert pruned.exit_code == 0, pruned.output
    after = EmbeddedStore(store_file, read_only=True)
    assert not {"knockout", "path_patching", "gradient_attribution"} & {n.id for n in after.taxonomy_nodes()}
    after.close()
