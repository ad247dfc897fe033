"""ingest/reextract.py: `ingest reextract` names the papers whose tags changed, under each tag in the text
and per paper in --json (QA: "tags removed: probing: 1 paper" never said Tuned Lens lost it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.store import GraphStore
from kg.taxonomy import Taxonomy

from .test_reextract import _load_edited, _stitching_store

STITCHED = ["stitch-1", "stitch-2", "stitching-models-together"]


def test_reextract_names_the_papers_that_gained_and_lost_a_tag(
    store: GraphStore, seed_list: str, tmp_path: Path, taxonomy: Taxonomy, extractor: Any,
) -> None:
    from ingest.extract import Extractor
    from ingest.reextract import run_reextract
    from tests.embedders import HashEmbedder

    _stitching_store(store, seed_list, tmp_path, taxonomy, extractor)
    edited = _load_edited(store, tmp_path)
    dry = run_reextract(store, extractor=Extractor(edited), taxonomy=edited, progress=False, dry_run=True)
    gained = [{"id": pid, "added": ["model_stitching"], "removed": []} for pid in STITCHED]
    assert dry.to_dict()["retagged_papers"] == gained
    assert dry.to_dict()["tags_added"] == {"model_stitching": 3}  # the existing keys stay
    assert ("  tags added:\n    model_stitching: 3 papers\n"
            "      stitch-1, stitch-2, stitching-models-together") in dry.text()
    done = run_reextract(store, embedder=HashEmbedder(), extractor=Extractor(edited), taxonomy=edited,
                         progress=False)
    assert done.to_dict()["retagged_papers"] == gained
    # Back to the packaged file (the store keeps the node): the same papers lose the tag, by name.
    back = run_reextract(store, embedder=HashEmbedder(), extractor=Extractor(taxonomy), taxonomy=taxonomy,
                         progress=False)
    assert back.to_dict()["retagged_papers"] == [
        {"id": pid, "added": [], "removed": ["model_stitching"]} for pid in STITCHED]
    assert back.text().endswith(
        "  tags removed:\n    model_stitching: 3 papers\n      stitch-1, stitch-2, stitching-models-together")


def test_many_retagged_papers_are_capped_in_the_text_and_the_json() -> None:
    from ingest.reextract import RETAGGED_PAPERS_LISTED, ReextractSummary

    many = {f"p{i:04d}": (["probing"], []) for i in range(RETAGGED_PAPERS_LISTED + 5)}
    summary = ReextractSummary(run_id="", source="reextract", dry_run=True, retagged=len(many),
                               tags_added={"probing": len(many)}, retagged_papers=many)
    listed = summary.to_dict()["retagged_papers"]
    assert len(listed) == RETAGGED_PAPERS_LISTED and listed[0] == {"id": "p0000", "added": ["probing"],
                                                                   "removed": []}
    assert summary.to_dict()["retagged"] == RETAGGED_PAPERS_LISTED + 5  # the count of them all
    shown = ", ".join(f"p{i:04d}" for i in range(10))
    assert summary.text().endswith(f"    probing: 1005 papers\n      {shown} and 995 more")
