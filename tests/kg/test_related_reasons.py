"""Related papers' reasons explain their score (QA audit of kg/related.py): every family credit is named
as a pair, no reason adds nothing, reasons come strongest first, and what each adds is in the parts."""

from __future__ import annotations

import pytest

from kg.embedded import EmbeddedStore
from kg.explain import Labels
from kg.related import DEFAULT_WEIGHTS, RelatedHit, idf_weights, join_names, related
from kg.schema import Label

IOI = "2211.00593"


@pytest.fixture(scope="module")
def labels(seed_store: EmbeddedStore) -> Labels:
    """The seed store's taxonomy look-ups."""
    return Labels(seed_store.taxonomy_nodes())


def hit_of(store: EmbeddedStore, paper_id: str, other: str) -> RelatedHit:
    """`other` in `paper_id`'s related list (all of it)."""
    hits = {h.id: h for h in related(store, paper_id, limit=100)}
    assert other in hits, f"{other} is not related to {paper_id}"
    return hits[other]


def techniques(store: EmbeddedStore, labels: Labels, paper_id: str) -> set[str]:
    """A paper's technique ids, from its stored profile."""
    return set(labels.of_label(store.paper_profiles([paper_id])[paper_id], Label.TECHNIQUE))


def explained_technique_part(store: EmbeddedStore, labels: Labels, paper_id: str, hit: RelatedHit) -> float:
    """The technique part rebuilt from what the hit's parts name: the shared techniques plus half of
    each of this paper's techniques named in a related pair, over this paper's idf total."""
    idf = idf_weights(store)
    mine = techniques(store, labels, paper_id)
    total = max(sum(idf[t] for t in mine), max(idf.values()))
    credited = [m for _, m in hit.parts["related_pairs"]]
    assert len(credited) == len(set(credited)), "one pair per credited technique"
    return (sum(idf[t] for t in hit.parts["shared_techniques"])
            + DEFAULT_WEIGHTS.family_credit * sum(idf[m] for m in credited)) / total


@pytest.mark.parametrize(("paper_id", "other"), [
    (IOI, "2202.05262"), (IOI, "2304.14997"), ("2303.08112", "2203.14680"),
    ("causal-scrubbing", "2403.19647"),
])
def test_every_family_credit_is_a_named_pair(seed_store: EmbeddedStore, labels: Labels, paper_id: str,
                                            other: str) -> None:
    """QA: "shares Activation Patching" with a technique part of 0.43 where sharing explains 0.24 (the
    rest an unshown Activation Patching ~ Path Patching credit); Knockout ~ Causal Scrubbing shown, the
    Knockout ~ Resampling Ablation half credit not."""
    hit = hit_of(seed_store, paper_id, other)
    explained = explained_technique_part(seed_store, labels, paper_id, hit)
    assert hit.parts["techniques"] == pytest.approx(explained, abs=1e-3)
    pairs = hit.parts["related_pairs"]
    if pairs:
        reason = next(r for r in hit.reasons if r.startswith("related techniques "))
        assert reason == "related techniques " + join_names(
            [f"{labels.name(t)} ~ {labels.name(m)}" for t, m in pairs], 3)
        assert hit.parts["related_techniques"] == list(dict.fromkeys(t for t, _ in pairs))
    else:
        assert not any(r.startswith("related techniques") for r in hit.reasons)


def test_the_qa_examples_name_their_pairs(seed_store: EmbeddedStore) -> None:
    """The four pairs the QA found credited but unnamed are now in the reasons."""
    ioi_rome = hit_of(seed_store, IOI, "2202.05262")
    assert any(r.startswith("related techniques ") and "~ Path Patching" in r for r in ioi_rome.reasons)
    tuned = hit_of(seed_store, "2303.08112", "2203.14680")
    assert ["logit_lens", "tuned_lens"] in tuned.parts["related_pairs"]
    assert "related techniques Logit Lens ~ Tuned Lens" in tuned.reasons
    scrub = hit_of(seed_store, "causal-scrubbing", "2403.19647")
    credited = {m for _, m in scrub.parts["related_pairs"]}
    assert {"causal_scrubbing", "resampling_ablation"} <= credited
    reason = next(r for r in scrub.reasons if r.startswith("related techniques "))
    assert "~ Causal Scrubbing" in reason and "~ Resampling Ablation" in reason


def test_every_reason_adds_to_the_score_and_they_come_strongest_first(seed_store: EmbeddedStore) -> None:
    """QA: the reasons came in a fixed order (shares first, cosine last) though the cosine is most of
    the score; a "related techniques" reason could add nothing. The weighted parts rebuild the score."""
    seen_cosine_first = False
    for paper_id in (IOI, "2303.08112", "causal-scrubbing", "2309.08600"):
        for hit in related(seed_store, paper_id, limit=15):
            weighted = hit.parts["weighted"]
            assert sum(weighted.values()) == pytest.approx(hit.score, abs=1e-3)
            assert len(hit.contributions) == len(hit.reasons)
            assert hit.contributions == sorted(hit.contributions, reverse=True), hit.reasons
            for reason, added in zip(hit.reasons, hit.contributions, strict=True):
                if not reason.startswith("cosine "):
                    assert added > 0, (hit.id, reason)
            seen_cosine_first |= hit.reasons[0].startswith("cosine ")
            if hit.parts["related_pairs"]:
                assert weighted["related_techniques"] > 0
    assert seen_cosine_first, "the cosine leads where it adds the most"


def test_one_name_left_is_shown_not_counted() -> None:
    """QA: "(+1 more)" hid one name in as much room as the name takes."""
    assert join_names(["a", "b", "c", "d", "e"]) == "a, b, c, d, e"
    assert join_names(["a", "b", "c", "d", "e", "f"]) == "a, b, c, d (+2 more)"
    assert join_names(["a", "b"], 1) == "a, b"
    assert join_names(["a", "b", "c"], 1) == "a (+2 more)"
