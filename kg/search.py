"""Search on any GraphStore: semantic (kNN), keyword (full text) and hybrid (reciprocal rank fusion).

`SearchPage.total` is the number of ranked candidates the page was cut from:
- keyword: papers matching the query terms (after filters), counted up to the candidate window;
- semantic: papers with an embedding that pass the filters, up to the candidate window;
- hybrid: the papers in the fused rankings of the tiers the page reaches (see below), each list
  cut at the deepest of their windows.
The candidate window is max(MIN_CANDIDATES, offset + limit + CANDIDATE_PAD), so a total equal
to the window means "at least this many". With an empty query the papers that pass the filters
are listed newest first and `total` is exact (no query and no filter: an empty page).

Hybrid positions come in fixed tiers, so that a paper's position does not depend on the page asked
or its size (fusing lists cut at a window that grows with the offset let papers from below the
earlier cut jump ahead of papers already shown: pages repeated some papers and skipped others).
Positions [0, 50) are fused from each list's top 100, as a first page always was; then the tiers
[50, 100), [100, 200), [200, 400), ... (the end doubling), each fused from each list's top
(tier end + 50). A position holds the next paper of its tier's fused ranking not placed in an
earlier tier; its score and ranks are those of that fusion, so scores need not decrease where two
tiers meet. Each tier asks the store for its own window rather than cutting a deeper list: an
approximate index (Neo4j's HNSW) or ties at the cut need not give prefixes of one another.

Withdrawn papers (kg.withdrawn) are marked, not hidden: in each ranking (a tier's fusion, or the keyword
or semantic list) one moves down past the papers after it that score within WITHDRAWN_PENALTY of its score
(the fused score, or the mode's own), so it no longer outranks a live re-submission; the score shown is
its own, so scores need not decrease there either. Without a withdrawn paper nothing moves. In keyword
and semantic mode that is the retriever's evidence: only papers scoring nearly as well pass it. In hybrid
mode the fused score is rank-based (1/(60 + rank) per list), so the same 5% is a move of a few places
whatever the evidence: about 3 near the top of a list, more further down. That is kept on purpose: a live
re-submission sits next to its withdrawn version in every list, so a few places put it first, and
comparing raw cosine with BM25 to do better would be a second fusion. The withdrawn papers are found by
one keyword look-up of the words every withdrawal notice uses (WITHDRAWAL_WORDS), then reading only the
candidates it returned, rather than reading every candidate's abstract.
"""

from __future__ import annotations

import difflib
import re
import threading
import time
import unicodedata
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from itertools import pairwise
from typing import Any, Protocol

import numpy as np

from kg.acronyms import expand, expansions, known_long_form, lowercase_acronyms, query_acronyms
from kg.entities import Paper, ScoredId, SearchFilters
from kg.explain import (
    REQUEST_WORDS,
    Labels,
    best_sentence_by_cosine,
    best_sentence_by_overlap,
    phrase_pattern,
    query_terms,
    split_sentences,
)
from kg.schema import TLDR_EVIDENCE_PREFIX, Label
from kg.store import GraphStore
from kg.taxonomy import Taxonomy
from kg.validation import (
    HYPHENS,
    STOPWORDS,
    clean_text,
    fold_for_search,
    initials,
    joined_forms,
    with_phrases,
)

MODES = ("hybrid", "semantic", "keyword")
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
MIN_CANDIDATES = 100
CANDIDATE_PAD = 50
# Hybrid search's first tier: the positions a page within the first 50 shows, fused from windows of
# MIN_CANDIDATES as before the tiers (so first pages, and the benchmark's nDCG, did not move).
FIRST_TIER_END = MIN_CANDIDATES - CANDIDATE_PAD
SENTENCE_MODES = ("auto", "embedding", "overlap")
# A withdrawn paper (kg.withdrawn: marked, not hidden) ranks as if its score were this much lower: after
# the papers just below it (its live re-submission under the same title, most often), not at the bottom.
WITHDRAWN_PENALTY = 0.05
# Every withdrawal notice kg.withdrawn recognises has one of these words: the papers the keyword index
# finds with them (the same index on both backends) are the only ones whose abstract search reads to find
# the withdrawn. More than WITHDRAWAL_LOOKUP of them (a store of papers about withdrawals) and the
# look-up may be cut: then every candidate within reach is read, as before the look-up.
WITHDRAWAL_WORDS = "withdrawn withdraw withdrew"
WITHDRAWAL_LOOKUP = 1000
# A hybrid query naming an author (names_author) lifts the author's papers among the keyword ranking's
# first AUTHOR_SAMPLE (their author lists are read in one call).
AUTHOR_SAMPLE = 20
# Acronym look-up: at most this many acronyms a query, each read in this many papers using it.
MAX_ACRONYMS = 4
ACRONYM_SAMPLE = 20
# Bounds on the abstract sentences embedded for `sentence_mode="embedding"` (one stored abstract
# of 900 KB once took 55 s). arXiv abstracts are at most 1,920 characters, typically at most 15
# sentences (seed corpus: at most 1,702 characters, 11 sentences). Per hit: the sentences within
# the first MAX_EMBED_CHARS_PER_HIT characters, at most MAX_EMBED_SENTENCES_PER_HIT of them, so an
# arXiv abstract is read whole unless it has over 24 sentences. Per request: what ten such hits
# cost, so a default 10-hit page is never cut; hits past that budget, in rank order, fall back to
# the overlap choice and say so (`best_sentence_by`).
MAX_EMBED_SENTENCES_PER_HIT = 24
MAX_EMBED_CHARS_PER_HIT = 2_000
MAX_EMBED_SENTENCES = 10 * MAX_EMBED_SENTENCES_PER_HIT
MAX_EMBED_CHARS = 10 * MAX_EMBED_CHARS_PER_HIT


class QueryEmbedder(Protocol):
    """What search needs from an embedder."""

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode texts to unit rows."""

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one query to a unit vector."""


@dataclass
class SearchHit:
    """One result: the paper, its fused score, its techniques and why it matched."""

    id: str
    title: str
    score: float
    paper: Paper
    techniques: list[str] = field(default_factory=list)  # the paper's technique ids, matched first
    why: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchPage:
    """A page of results and the number of candidates it was cut from (see module docstring)."""

    results: list[SearchHit]
    total: int
    # Acronyms of the query and the long forms the corpus defines for them, which the query
    # embedding was given ("IOI" -> "indirect object identification"), and hybrid's keyword half too.
    acronyms: dict[str, str] = field(default_factory=dict)
    # The techniques, criteria and topics (or fundamental objects) the query only named, a topic by its
    # own name ("AI safety", not its alias "deception"): papers using them (touching them) come first,
    # each part in fused order, so the scores shown are not monotonic where the parts meet. Only those
    # some paper passing the filters is tagged with (or with a refinement, a sub-topic of them).
    using_first: list[str] = field(default_factory=list)
    # The techniques, criteria, topics, models and components a hybrid query names (whose list was read)
    # that no paper passing the filters is tagged with, nor with a refinement: the results are only the
    # nearest matches by words and meaning.
    not_tagged: list[str] = field(default_factory=list)
    # The query with its misspelt taxonomy names put right ("activaton patching" -> "activation
    # patching"; suggest_query), for a "did you mean"; the results are still those of the query as typed.
    did_you_mean: str | None = None
    # Most letters of the query are of another script than Latin (mostly_non_latin): the model and the
    # keyword index read English, so the results are no answer to it.
    non_latin_query: bool = False


def candidate_window(limit: int, offset: int) -> int:
    """How many candidates each retriever returns for a keyword or semantic page."""
    return max(MIN_CANDIDATES, offset + limit + CANDIDATE_PAD)


def hybrid_tiers(end: int) -> list[tuple[int, int]]:
    """The hybrid position tiers that hold positions [0, end), in order, as (tier end, candidate window)."""
    tiers = [(FIRST_TIER_END, FIRST_TIER_END + CANDIDATE_PAD)]
    while tiers[-1][0] < end:
        tier_end = 2 * tiers[-1][0]
        tiers.append((tier_end, tier_end + CANDIDATE_PAD))
    return tiers


def _ranking_per_window(fetch: Callable[[int], list[ScoredId]], windows: list[int]) -> list[list[ScoredId]]:
    """One ranking per window (each its own store call): a ranking shorter than its window already
    holds every match, so the deeper windows reuse it (the same list object) instead of asking again."""
    rankings: list[list[ScoredId]] = []
    for i, window in enumerate(windows):
        if rankings and len(rankings[-1]) < windows[i - 1]:
            rankings.append(rankings[-1])
        else:
            rankings.append(fetch(window))
    return rankings


def rrf_fuse(lists: dict[str, list[ScoredId]], k: int = RRF_K) -> list[tuple[str, float, dict[str, int]]]:
    """Reciprocal rank fusion: score = sum over lists of 1 / (k + rank), rank starting at 1.

    Returns (id, fused score, {list name: rank}) best first. With two lists, swapped pairs
    (ranks 1+2 and 2+1) tie exactly; ties are broken by the sum of each list's scores divided by
    that list's best score (how decisively each retriever preferred the paper), then by order.
    """
    fused: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    order: dict[str, int] = {}
    strength: dict[str, float] = {}
    for name, hits in lists.items():
        best = max((h.score for h in hits), default=0.0)
        for rank, hit in enumerate(hits, start=1):
            fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(hit.id, {})[name] = rank
            order.setdefault(hit.id, len(order))
            if best > 0:
                strength[hit.id] = strength.get(hit.id, 0.0) + hit.score / best
    ids = sorted(fused, key=lambda i: (-round(fused[i], 12), -strength.get(i, 0.0), order[i]))
    return [(i, fused[i], ranks[i]) for i in ids]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _retrieval_pool() -> ThreadPoolExecutor:
    """A small process-wide pool for the keyword half of hybrid search (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="paperkg-keyword")
        return _POOL


# Labels compile their phrase patterns once; keep one per taxonomy object (the app shares one).
_LABELS: dict[int, tuple[weakref.ref[Taxonomy], Labels]] = {}


def _labels(store: GraphStore, taxonomy: Taxonomy | None) -> Labels:
    if taxonomy is None:
        return Labels(store.taxonomy_nodes())
    cached = _LABELS.get(id(taxonomy))
    if cached is not None and cached[0]() is taxonomy:
        return cached[1]
    labels = Labels(taxonomy.nodes)
    if len(_LABELS) > 16:  # taxonomies are few; drop stale entries of collected ones
        for key in [k for k, (ref, _) in _LABELS.items() if ref() is None]:
            _LABELS.pop(key, None)
    _LABELS[id(taxonomy)] = (weakref.ref(taxonomy), labels)
    return labels


def _sentence_vectors(embedder: QueryEmbedder, sentences: list[str]) -> np.ndarray:
    if not sentences:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(embedder.encode(sentences), dtype=np.float32)


def _sentences_to_embed(sentences: list[str]) -> list[str]:
    """The texts embedded for one hit: its first sentences within the per-hit bounds (see above).

    A first sentence longer than the character bound is cut to it (the model reads only its first
    256 tokens, ~1,000 characters, anyway), so every abstract with text has one candidate."""
    texts: list[str] = []
    chars = 0
    for sentence in sentences[:MAX_EMBED_SENTENCES_PER_HIT]:
        if chars + len(sentence) > MAX_EMBED_CHARS_PER_HIT:
            if not texts:
                texts.append(sentence[:MAX_EMBED_CHARS_PER_HIT])
            break
        texts.append(sentence)
        chars += len(sentence)
    return texts


def search(
    store: GraphStore,
    query: str,
    *,
    mode: str = "hybrid",
    filters: SearchFilters | None = None,
    limit: int = 10,
    offset: int = 0,
    embedder: QueryEmbedder | None = None,
    taxonomy: Taxonomy | None = None,
    sentence_mode: str = "overlap",
) -> SearchPage:
    """Rank papers for a query in one mode, after filters, and explain every hit.

    `sentence_mode` picks how the best abstract sentence is chosen: "overlap" (most query
    terms, an acronym the query was read with matched also by its whole long form; the default;
    when the query names a technique or criterion the hit is tagged with and no sentence has all
    its words, the sentence that tagged it, or, tagged from the title, the abstract's first
    sentence naming the node, `best_sentence_by` "evidence", unless another shares more of
    them), "embedding" (highest cosine between each abstract
    sentence and the query; needs an embedder), "auto" (embedding when an embedder is given). Embedding the
    sentences of a 10-hit page means running the model over ~80 sentences: measured ~0.4 s on an
    idle 2-core machine and 3-4 s under load, against ~10 ms for the whole search otherwise, so
    it is opt-in (the API's `explain=embedding`). The work is bounded per hit and per request
    (MAX_EMBED_*): only a hit's first sentences are candidates, and hits past the request's budget
    (beyond ten full-size abstracts) get the overlap choice, with `best_sentence_by` "overlap".
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if sentence_mode not in SENTENCE_MODES:
        raise ValueError(f"sentence_mode must be one of {', '.join(SENTENCE_MODES)}")
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must be >= 0")
    # Every reading of the query below (keyword, embedding, names, snippets) sees one text: two spaces,
    # a tab, a no-break space or a soft hyphen in it turned off the taxonomy names it holds.
    query = normalise_query(query)
    filters = filters if filters is not None and not filters.is_empty() else None
    labels = _labels(store, taxonomy)
    if not query:
        if filters is None:  # nothing asked: an empty page rather than the whole corpus
            return SearchPage(results=[], total=0)
        return _browse_filtered(store, filters, limit, offset, labels)
    # The query with the taxonomy's names spelt as the taxonomy spells them ("logitlens", "sparse
    # auto-encoder" -> "logit lens", "sparse autoencoder"): how the names are read, and what is embedded.
    # Keyword search gets the words as typed and the words the spelling adds (keyword_text).
    named_query = alias_spelling(query, labels)
    keyword_query = keyword_text(query, named_query)

    # Hybrid: one set of lists per position tier (see the module docstring); the other modes: one
    # list cut at the candidate window, whose prefixes are stable.
    if mode == "hybrid":
        tiers = hybrid_tiers(offset + limit)
    else:
        tiers = [(offset + limit, candidate_window(limit, offset))]
    windows = [window for _, window in tiers]
    query_vector = None
    if mode in ("semantic", "hybrid") and embedder is None:
        raise ValueError(f"{mode} search needs an embedder: pass embedder=get_embedder() (from ingest.embed "
                         f"import get_embedder), or use mode='keyword', which needs no model")
    acronyms: dict[str, str] = {}
    embedded_text = named_query
    if mode in ("semantic", "hybrid"):
        # Read first: the keyword half of hybrid looks for the long forms too (spelled_out_keywords).
        embedded_text, acronyms = _spell_out_acronyms(store, named_query, labels)
    keyword_future: Future[list[list[ScoredId]]] | None = None
    if mode == "hybrid":
        # The full-text query (SQLite / the database) and the query embedding (torch) both
        # release the GIL: run them side by side so hybrid costs max(), not the sum, of the two.
        keyword_future = _retrieval_pool().submit(
            _ranking_per_window,
            partial(store.keyword_search, spelled_out_keywords(keyword_query, acronyms), filters=filters),
            windows)
    tier_lists: list[dict[str, list[ScoredId]]] = [{} for _ in tiers]
    if mode in ("semantic", "hybrid"):
        assert embedder is not None
        try:
            query_vector = np.asarray(embedder.encode_query(embedded_text), dtype=np.float32)
            semantic = _ranking_per_window(
                partial(store.vector_search, query_vector, filters=filters), windows)
        except BaseException:
            if keyword_future is not None:
                keyword_future.cancel()
            raise
        for lists, ranking in zip(tier_lists, semantic, strict=True):
            lists["semantic"] = ranking
    if keyword_future is not None:
        for lists, ranking in zip(tier_lists, keyword_future.result(), strict=True):
            lists["keyword"] = ranking
    named_phrases = ({**labels.phrases_in_text(named_query, Label.TECHNIQUE),
                      **labels.criteria_in_query(named_query)}
                     or _whole_query_alias(named_query, labels))
    named_phrases.update(_criteria_by_adjective(named_query, labels))
    query_techniques = {i for ids in named_phrases.values() for i in ids}
    if mode == "hybrid" and query_techniques and query_vector is not None:
        # "activation patching" asks for papers that use it, "faithfulness of circuits" for papers
        # evaluating it: a third list, the nearest papers among those using (or evaluating) a named
        # node or a refinement.
        named = _using_named_techniques(filters, query_techniques, labels)
        if named is not None:
            technique = _ranking_per_window(
                partial(store.vector_search, query_vector, filters=named), windows)
            for lists, ranking in zip(tier_lists, technique, strict=True):
                lists["technique"] = ranking
    model_phrases = _phrases_named(named_query, labels, Label.MODEL)
    query_models = {i for ids in model_phrases.values() for i in ids}
    component_phrases = _phrases_named(named_query, labels, Label.COMPONENT)
    query_components = {i for ids in component_phrases.values() for i in ids}
    # The named lists follow the fusion of the lists before them (semantic, keyword, technique), not
    # each other's: the model list and the component list each lift their papers without reordering.
    before_named = [dict(lists) for lists in tier_lists]
    if mode == "hybrid" and query_models and query_vector is not None and not (filters and filters.model_ids):
        # "circuits in Pythia": one more list, of the papers studying a named model (the embedding
        # reads "Pythia" as Python; keyword search finds only abstracts naming it).
        studying = replace(filters or SearchFilters(), model_ids=sorted(query_models))
        studied = _ranking_per_window(partial(store.vector_search, query_vector, filters=studying), windows)
        _add_named_list(tier_lists, before_named, "model", studied)
    own_filter = bool(filters and filters.component_ids)  # the user's component filter decides instead
    if (mode == "hybrid" and query_components and query_vector is not None and not own_filter
            and _mostly_names(named_query, [*component_phrases, *model_phrases])):
        # "feed-forward layers in GPT-2": one more list, of the papers with a finding about a named
        # component or a sub-component of it (Key-Value Memories is about MLPs in words the embedding
        # and the keywords of the query miss). Only when the query is mostly the names: a component
        # is a common word of the field ("neurons": a quarter of the seed papers), and its list lifted
        # every neuron paper above ROME for "locating and editing factual knowledge in neurons".
        about = replace(filters or SearchFilters(), component_ids=sorted(query_components))
        found = _ranking_per_window(partial(store.vector_search, query_vector, filters=about), windows)
        _add_named_list(tier_lists, before_named, "component", found)
    # Topics are read only in a query naming no technique, criterion, model or component: beside one, a
    # topic qualifies it ("the faithfulness of circuits", "circuits in Pythia", "sparse autoencoders ...
    # interpretable features") and that node's own list answers more precisely. A Circuits or Features
    # list there (fundamental objects: most papers of the field) lowered those three (bench/search_eval.py
    # hybrid nDCG@10 0.978 -> 0.966, and Pythia's one paper lost #1), and "induction heads" is the component
    # before it is an example of LM Components.
    topic_phrases = ({} if named_phrases or model_phrases or component_phrases
                     else _topics_named(named_query, labels))
    query_topics = {i for ids in topic_phrases.values() for i in ids}
    all_named = [*topic_phrases, *named_phrases, *component_phrases, *model_phrases]
    if (mode == "hybrid" and query_topics and query_vector is not None and not (filters and filters.topic_ids)
            and _mostly_names(named_query, all_named)):
        # "AI safety", "jailbreaks", "knowledge editing", "universality": one more list, of the papers
        # touching a named topic (or fundamental object) or a sub-topic, as the topic filter finds them.
        # Fused as the model and component lists are (in the order the lists before it fuse its papers),
        # not as the technique list (its own nearest papers): a topic is a category of findings, often a
        # wide one (LM Components, Applications), whose own embedding order only repeats the semantic
        # list's vote. Only when the query is mostly names, as for components: topic aliases are common
        # words of the field ("reasoning", "circuits", "safety"). Lifted only: when the query is nothing
        # but topics' own names, the partition below puts these papers first, as for a technique.
        about_topic = replace(filters or SearchFilters(), topic_ids=sorted(
            {d for t in query_topics for d in labels.descendants(t)}))
        on_topic = _ranking_per_window(
            partial(store.vector_search, query_vector, filters=about_topic), windows)
        _add_named_list(tier_lists, before_named, "topic", on_topic)
    known: dict[str, Paper] = {}  # papers read (author lists, withdrawn ones), reused for the page
    if mode == "hybrid":
        # "Sam Marks", "Kevin Meng": one more list, of the papers by an author the query names (the
        # embedding reads a name as noise, and keyword search ranks papers sharing a first name as high).
        by_author = _by_named_author(store, query, tier_lists[0]["keyword"], known, labels)
        if by_author:
            _add_named_list(tier_lists, before_named, "author", [by_author] * len(tiers))
    if mode == "keyword":
        tier_lists[0]["keyword"] = store.keyword_search(keyword_query, windows[0], filters)

    using_first: list[str] = []
    not_tagged: list[str] = []
    partition = False
    tagged: set[str] = set()
    if "technique" in tier_lists[0]:
        # Every tier's technique list: the deepest holds the others unless the index is approximate.
        technique_hits = list({h.id: h for lists in tier_lists for h in lists["technique"]}.values())
        tagged = _tagged_among(store, query_techniques, technique_hits, labels)
        not_tagged = sorted(t for t in query_techniques - tagged
                            if not _any_tagged(store, filters, t, labels))
    if "topic" in tier_lists[0]:
        # By count, not by the list's papers' profiles: those hold a finding's topics, not a list section's.
        topic_hits = any(lists["topic"] for lists in tier_lists)
        on_topics = {t for t in query_topics if topic_hits and (
            len(query_topics) == 1 or _any_tagged(store, filters, t, labels, Label.TOPIC))}
        not_tagged += sorted(t for t in query_topics - on_topics
                             if not _any_tagged(store, filters, t, labels, Label.TOPIC))
        # Only a topic's own name puts its papers first ("AI safety", "universality"). Its aliases are the
        # cue words a finding is tagged by (deception, jailbreak, toxicity, bias): a query saying one asks
        # about that, not the whole category, and the one paper tagged AI Safety through "toxicity" came
        # first for "deception" at meaning rank 36 of 38. Such a list is only fused, as a component's is.
        if query_topics <= _topics_by_name(topic_phrases, labels):
            tagged |= on_topics
    if tagged and _asks_only_for(named_query, {**named_phrases, **topic_phrases}):
        # The query is the names and nothing else ("papers that use probing", "AI safety"): the question
        # is which papers use the technique (are on the topic), so those come first, above papers that
        # only share its words ("activation") or its neighbourhood in embedding space; each part in fused
        # order (in each tier). With other content words the named lists only join the fusion.
        partition = True
        using_first = sorted(tagged)
    # A named model (component) whose list was read and that no paper passing the filters studies (has a
    # finding about): said as for a technique, the results being only the nearest matches.
    for name, named_nodes, label in (("model", query_models, Label.MODEL),
                                     ("component", query_components, Label.COMPONENT)):
        if name in tier_lists[0]:
            named_hits = list({h.id: h for lists in tier_lists for h in lists[name]}.values())
            studied_by = _tagged_among(store, named_nodes, named_hits, labels)
            not_tagged += sorted(n for n in named_nodes - studied_by
                                 if not _any_tagged(store, filters, n, labels, label))
    # Each tier's fused ranking fills the tier's positions with the papers not placed before it.
    placed: list[tuple[str, float, dict[str, int], int]] = []  # id, fused score, ranks, tier index
    seen: set[str] = set()
    mentioning = _mentioning_withdrawal(store)  # None: every candidate may be one
    candidates: set[str] = set()
    fused_order: list[tuple[str, float, dict[str, int]]] = []
    for index, ((tier_end, _), lists) in enumerate(zip(tiers, tier_lists, strict=True)):
        if index == 0 or any(ranking is not tier_lists[index - 1][name] for name, ranking in lists.items()):
            fused_order = rrf_fuse(lists)  # (else every list was complete already: the same ranking)
            candidates.update(i for i, _, _ in fused_order)
        # Withdrawn papers are looked up among the papers this tier can place (and a margin), or among all
        # when the partition below may lift any of them into the page: read only when the keyword look-up
        # found them mentioning a withdrawal.
        reach = len(fused_order) if partition else min(tier_end, offset + limit) + CANDIDATE_PAD
        own = None if mode == "hybrid" else {h.id: h.score for h in lists[mode]}
        within = fused_order[:reach]
        fused = [*_withdrawn_moved_down(within, _withdrawn_among(store, within, known, mentioning), own),
                 *fused_order[reach:]]
        if partition:
            using = {h.id for name in ("technique", "topic") for h in lists.get(name, [])}
            fused.sort(key=lambda item: item[0] not in using)
        for paper_id, score, ranks in fused:
            if len(placed) >= min(tier_end, offset + limit):
                break
            if paper_id not in seen:
                seen.add(paper_id)
                placed.append((paper_id, score, ranks, index))
    page = [(paper_id, score, ranks) for paper_id, score, ranks, _ in placed[offset:offset + limit]]
    # A hit's scores come from the lists of the tier that placed it, as its ranks do.
    tier_of = {paper_id: index for paper_id, _, _, index in placed[offset:offset + limit]}
    scores_of: dict[int, dict[str, dict[str, float]]] = {
        index: {name: {h.id: h.score for h in tier_lists[index].get(name, [])}
                for name in ("semantic", "keyword")}
        for index in set(tier_of.values())}
    unread = [i for i, _, _ in page if i not in known]
    papers = {i: known[i] for i, _, _ in page if i in known}
    papers.update((p.id, p) for p in (store.get_papers(unread) if unread else []))
    profiles = store.paper_profiles(list(papers))

    filter_techniques: set[str] = set()
    if filters is not None:
        for tid in filters.technique_ids:
            filter_techniques |= labels.descendants(tid) if filters.include_refinements else {tid}
    named_family = {d for t in query_techniques for d in labels.descendants(t)}
    wanted = filter_techniques | named_family
    wanted_models = query_models | set(filters.model_ids if filters is not None else ())
    wanted_components = {d for c in query_components for d in labels.descendants(c)}
    if filters is not None:
        for cid in filters.component_ids:
            wanted_components |= labels.descendants(cid) if filters.include_refinements else {cid}

    use_embedding = sentence_mode == "embedding" or (sentence_mode == "auto" and embedder is not None)
    if use_embedding and embedder is None:
        raise ValueError("sentence_mode 'embedding' needs an embedder")
    sentences = {pid: split_sentences(p.abstract) for pid, p in papers.items()}
    # The words keyword search looked for, so the words shown as matched are the ones it matched.
    terms = query_terms(keyword_query)
    # An acronym the query was read with is matched by its long form too: an abstract spells it out
    # ("using sparse autoencoders") more often than it writes it ("SAE").
    spelled = _Spelled(terms, [(query_terms(token), query_terms(form)) for token, form in acronyms.items()])
    sentence_vectors: dict[str, np.ndarray] = {}
    if use_embedding and embedder is not None:
        if query_vector is None:
            query_vector = np.asarray(embedder.encode_query(named_query), dtype=np.float32)
        # Hits in rank order while the request's budget lasts (see MAX_EMBED_SENTENCES).
        flat: list[str] = []
        flat_chars = 0
        counts: dict[str, int] = {}
        for pid in dict.fromkeys(i for i, _, _ in page):
            if pid not in papers:
                continue
            texts = _sentences_to_embed(sentences[pid])
            chars = sum(map(len, texts))
            if len(flat) + len(texts) > MAX_EMBED_SENTENCES or flat_chars + chars > MAX_EMBED_CHARS:
                break
            flat += texts
            flat_chars += chars
            counts[pid] = len(texts)
        matrix = _sentence_vectors(embedder, flat)
        start = 0
        for pid, n in counts.items():
            sentence_vectors[pid] = matrix[start:start + n]
            start += n

    results: list[SearchHit] = []
    # Hits whose overlap sentence may give way to the evidence sentence: their evidence is read for the
    # whole page at once, after the loop (one store read, not one paper detail per hit).
    pending: list[_EvidenceWanted] = []
    for paper_id, score, ranks in page:
        paper = papers.get(paper_id)
        if paper is None:  # deleted between the two reads
            continue
        hit_scores = scores_of[tier_of[paper_id]]
        techniques = labels.of_label(profiles.get(paper_id, set()), Label.TECHNIQUE)
        matched = [t for t in techniques if t in wanted]
        techniques = matched + [t for t in techniques if t not in wanted]
        matched_evaluations = [e for e in labels.of_label(profiles.get(paper_id, set()), Label.EVALUATION)
                               if e in wanted]
        matched_models = [m for m in labels.of_label(profiles.get(paper_id, set()), Label.MODEL)
                          if m in wanted_models]
        matched_components = [c for c in labels.of_label(profiles.get(paper_id, set()), Label.COMPONENT)
                              if c in wanted_components]
        if use_embedding and query_vector is not None and paper_id in sentence_vectors:
            # Among the sentences embedded (the first ones, see _sentences_to_embed); the sentence
            # itself is reported whole, as in overlap mode.
            vectors = sentence_vectors[paper_id]
            sentence, sentence_score = best_sentence_by_cosine(
                query_vector, sentences[paper_id][:len(vectors)], vectors
            )
            sentence_by = "embedding"
        else:
            sentence, sentence_score = spelled.best_sentence(keyword_query, sentences[paper_id])
            sentence_by = "overlap"
            # The query names a technique (criterion) the paper is tagged with: unless a sentence has
            # every word of the query (request words aside), the sentence that tagged it says why
            # the paper is here, if no other shares more of the query's words. The named node's
            # evidence first, then its refinements'.
            named_here = [t for t in [*matched, *matched_evaluations] if t in named_family]
            named_here.sort(key=lambda t: t not in query_techniques)
            content = (terms - REQUEST_WORDS) or terms
            best_words = content & spelled.matched(sentence or "")
            if named_here and best_words != content:
                pending.append(_EvidenceWanted(paper_id, named_here, content, len(best_words)))
        why: dict[str, Any] = {
            "mode": mode,
            "semantic": _round(hit_scores["semantic"].get(paper_id)),
            "keyword": _round(hit_scores["keyword"].get(paper_id)),
            "ranks": ranks,
            "rrf": _round(score) if mode == "hybrid" else None,
            "matched_techniques": matched,
            "matched_technique_labels": [labels.name(t) for t in matched],
            "matched_evaluations": matched_evaluations,
            "matched_evaluation_labels": [labels.name(e) for e in matched_evaluations],
            "matched_models": matched_models,
            "matched_model_labels": [labels.name(m) for m in matched_models],
            "matched_components": matched_components,
            "matched_component_labels": [labels.name(c) for c in matched_components],
            "best_sentence": sentence,
            "best_sentence_score": _round(sentence_score),
            "best_sentence_by": sentence_by,
        }
        final = {"hybrid": score, "semantic": hit_scores["semantic"].get(paper_id, 0.0),
                 "keyword": hit_scores["keyword"].get(paper_id, 0.0)}[mode]
        results.append(SearchHit(paper_id, paper.title, float(final), paper, techniques, why))
    if pending:
        _explain_by_evidence(store, pending, {h.id: h.why for h in results}, sentences, spelled, labels)
    return SearchPage(results=results, total=len(candidates), acronyms=acronyms, using_first=using_first,
                      not_tagged=not_tagged, did_you_mean=suggest_query(store, query, labels),
                      non_latin_query=mostly_non_latin(query))


def _mentioning_withdrawal(store: GraphStore) -> set[str] | None:
    """The ids of the papers whose title or abstract has a word of WITHDRAWAL_WORDS (every withdrawn
    paper among them), or None when the look-up may have been cut at WITHDRAWAL_LOOKUP."""
    hits = store.keyword_search(WITHDRAWAL_WORDS, WITHDRAWAL_LOOKUP)
    return None if len(hits) >= WITHDRAWAL_LOOKUP else {h.id for h in hits}


def _withdrawn_among(store: GraphStore, fused: list[tuple[str, float, dict[str, int]]],
                     known: dict[str, Paper], mentioning: set[str] | None) -> set[str]:
    """The ids of the fused ranking whose stored abstract says the paper is withdrawn (kg.withdrawn, the
    rule every output uses), reading only those in `mentioning` (all when None); the papers read are kept
    in `known`."""
    from kg.withdrawn import is_withdrawn

    ids = [i for i, _, _ in fused if mentioning is None or i in mentioning]
    unread = [i for i in ids if i not in known]
    if unread:
        known.update((p.id, p) for p in store.get_papers(unread))
    return {i for i in ids if i in known and is_withdrawn(known[i].abstract)}


def _withdrawn_moved_down(fused: list[tuple[str, float, dict[str, int]]], withdrawn: set[str],
                          own: dict[str, float] | None) -> list[tuple[str, float, dict[str, int]]]:
    """The ranking with each withdrawn paper moved down past the papers after it that score at least its
    score less WITHDRAWN_PENALTY of it: "marked, not hidden", it no longer outranks its live re-submission.

    Scores are the fused ones, or `own` (the keyword or semantic mode's scores, those shown). Other papers
    keep their order, so a ranking without a withdrawn paper is returned as it is."""
    if not withdrawn:
        return fused

    def score(item: tuple[str, float, dict[str, int]]) -> float:
        return item[1] if own is None else own.get(item[0], 0.0)

    out: list[tuple[str, float, dict[str, int]]] = []
    waiting: list[tuple[tuple[str, float, dict[str, int]], float]] = []  # withdrawn, with the lower score
    for item in fused:
        if item[0] in withdrawn:
            value = score(item)
            waiting.append((item, value - abs(value) * WITHDRAWN_PENALTY))
            continue
        while waiting and waiting[0][1] > score(item):
            out.append(waiting.pop(0)[0])
        out.append(item)
    return out + [item for item, _ in waiting]


# Full-width forms of ASCII (U+FF01-U+FF5E), as Chinese and Japanese input methods type Latin letters,
# digits and punctuation ("ＳＡＥ", "ＧＰＴ－２"), and the ideographic space: read as the ASCII they stand
# for. Only these, not NFKC, which would also make "l1" of the norm name "ℓ₁" (kg.validation.norm_variants
# keeps its spellings apart) and fold other letters the index keeps.
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def normalise_query(query: str | None) -> str:
    """A search query as every part of search reads it: full-width ASCII as ASCII, control, bidi and
    invisible format characters (zero-width space, soft hyphen, BOM) removed, NFC, combining marks with
    no letter to sit on dropped, a space between a Latin word and the CJK characters it is written
    against, and every run of whitespace (tab, no-break and narrow spaces) one space.
    Empty when nothing else is left (a query of only a zero-width space or a lone accent)."""
    text = query or ""
    if not text.isascii():
        text = _without_lone_marks(clean_text(text.translate(_FULL_WIDTH)))
        text = _SCRIPT_BOUNDARY.sub(" ", text)
    else:
        text = clean_text(text)
    return " ".join(text.split())


# Chinese, Japanese and Korean characters (CJK punctuation, kana, Han, Hangul, half-width kana), which
# no space separates from a Latin word between them ("使用activation patching的论文", "SAEの論文"): both
# indexes and the name patterns read such a run as one word, so the word, name or acronym was never read.
_CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff61-\uff9f"
_SCRIPT_BOUNDARY = re.compile(rf"(?<=[{_CJK}])(?=[^\W_])(?![{_CJK}])|(?<=[^\W_])(?<![{_CJK}])(?=[{_CJK}])")


def _without_lone_marks(text: str) -> str:
    """`text` without the combining marks that start it or follow whitespace (they mark no letter)."""
    kept: list[str] = []
    for ch in text:
        if unicodedata.category(ch).startswith("M") and (not kept or kept[-1].isspace()):
            continue
        kept.append(ch)
    return "".join(kept)


# A taxonomy name or alias is read in a query written with its words joined, hyphenated or apart
# ("logitlens", "logit-lens", "activation-patching", "sparse auto-encoder", "auto encoder"), when its
# letters, spaces and hyphens aside, make at least this many characters: shorter ones ("gpt2", "MLP")
# meet other words by chance.
MIN_RESPELLED_CHARS = 6
_QUERY_WORD = re.compile(r"[^\W_]+")
# What may stand between two words of one name: one space or one hyphen.
_NAME_GAP = re.compile(f"[ {HYPHENS}]")
_ALIAS_SHAPE = re.compile(rf"[^\W_]+(?:[ {HYPHENS}][^\W_]+)*")


@dataclass(frozen=True)
class _Respellings:
    """The taxonomy's names by their letters alone (gaps removed, case folded), for alias_spelling."""

    spelling: dict[str, str]  # "logitlens" -> "logit lens", "autoencoder" -> "autoencoder"
    written: dict[str, set[str]]  # "logitlens" -> {"logit lens", "logit-lens"}: the spellings it has
    longest: int  # the most words a name has


_RESPELLINGS: weakref.WeakKeyDictionary[Labels, _Respellings] = weakref.WeakKeyDictionary()


def _respellings(labels: Labels) -> _Respellings:
    """The names and aliases of the techniques, criteria, models and components of a taxonomy, and the
    one-word parts of them written as one word ("autoencoder" of "sparse autoencoder"), by their letters
    (cached per Labels object)."""
    cached = _RESPELLINGS.get(labels)
    if cached is not None:
        return cached
    spelling: dict[str, str] = {}
    written: dict[str, set[str]] = {}
    parts: dict[str, str] = {}  # the one-word parts, by their letters: the first one's spelling
    longest = 1
    kinds = (Label.TECHNIQUE, Label.EVALUATION, Label.MODEL, Label.COMPONENT)
    for node in labels.nodes.values():
        if node.label not in kinds:
            continue
        for alias in (*node.aliases, node.name):
            text = " ".join(alias.split())
            if not _ALIAS_SHAPE.fullmatch(text):
                continue  # "AtP*", "Sparse Autoencoder (SAE)": no spelling of words alone
            words = _QUERY_WORD.findall(text)
            key = _NAME_GAP.sub("", text).casefold()
            if len(key) >= MIN_RESPELLED_CHARS:
                spelling.setdefault(key, text)
                written.setdefault(key, set()).add(text.casefold())
            for part in (w for w in text.split(" ") if len(words) > 1 and w.isalpha()):
                if len(part) >= MIN_RESPELLED_CHARS:
                    parts.setdefault(part.casefold(), part)
            longest = max(longest, len(words))
    # A part is a spelling of its own only where no whole name has its letters: "feedforward" of
    # "feedforward layers" is the alias "feed-forward" joined, which keyword search must also find split.
    for key, part in parts.items():
        if key not in spelling:
            spelling[key] = part
            written[key] = {key}
    tables = _RESPELLINGS[labels] = _Respellings(spelling, written, longest)
    return tables


def alias_spelling(query: str, labels: Labels) -> str:
    """The query with each run of its words that spells a taxonomy name or alias with other gaps
    (joined, hyphenated or apart; plural allowed) written as the taxonomy writes it: "logitlens" ->
    "logit lens", "activation-patching" -> "activation patching", "sparse auto-encoder" -> "sparse
    autoencoder". Names are read with literal spaces (kg.explain.phrase_pattern), so these found none.
    Runs already written one of the name's ways, and everything else, are left as they are."""
    tables = _respellings(labels)
    words = list(_QUERY_WORD.finditer(query))
    if not tables.spelling or not words:
        return query
    out: list[str] = []
    at = 0  # how much of the query is in `out`
    i = 0
    while i < len(words):
        found = _respelt_run(query, words, i, tables)
        if found is None:
            i += 1
            continue
        end, spelt = found
        out += [query[at:words[i].start()], spelt]
        at = words[end].end()
        i = end + 1
    return "".join(out) + query[at:]


def _respelt_run(query: str, words: list[re.Match[str]], first: int,
                 tables: _Respellings) -> tuple[int, str] | None:
    """The longest run of words from `first` that spells a name in another way than it is written:
    (index of its last word, the name as the taxonomy spells it, with the run's plural ending); or None."""
    last = first
    while (last + 1 < len(words) and last + 1 - first < tables.longest
           and _NAME_GAP.fullmatch(query[words[last].end():words[last + 1].start()])):
        last += 1
    for end in range(last, first - 1, -1):
        run = query[words[first].start():words[end].end()]
        letters = "".join(w.group(0) for w in words[first:end + 1]).casefold()
        for ending in ("", "s", "es"):
            key = letters[:len(letters) - len(ending)] if ending else letters
            if not letters.endswith(ending) or key not in tables.spelling:
                continue
            if run.casefold() in {w + ending for w in tables.written[key]}:
                return None  # written as the taxonomy writes it: nothing to change
            return end, tables.spelling[key] + ending
    return None


def spelled_out_keywords(keyword_query: str, acronyms: dict[str, str]) -> str:
    """What the keyword half of hybrid looks for: the keyword query and, OR-ed in, the long form of each
    acronym it was read as, the words the papers spell it out in, as phrases (with_phrases: "IOI"
    finds "indirect object identification", not every abstract with "object"). Its words are not the
    query's: "SAE features" still finds "SAEs" and "feature" (search_terms varies short queries only).
    Each two neighbouring words of it are a phrase too ("indirect object", "object identification"; not
    with a stop word): as one phrase it weighed what one word does, and "IOI circuit" ranked the paper
    citing "(IOI)" three times level with the one spelling it out in its title."""
    if not acronyms:
        return keyword_query
    phrases: list[str] = []
    for form in acronyms.values():
        words = _QUERY_WORD.findall(form)
        phrases += [" ".join(words), *(f"{a} {b}" for a, b in pairwise(words) if len(words) > 2
                                      and a.casefold() not in STOPWORDS and b.casefold() not in STOPWORDS)]
    return with_phrases(keyword_query, phrases)


def keyword_text(query: str, named_query: str) -> str:
    """What keyword search looks for: the query, and the words alias_spelling split out of a joined one
    ("logitlens" -> "logitlens logit lens"; the index has the words, never "logitlens"). A hyphenated
    word's joined form is looked for anyway (kg.validation.joined_forms), so the query is given as typed."""
    if named_query == query:
        return query
    have = {w.casefold() for w in _QUERY_WORD.findall(query)} | {w.casefold() for w in joined_forms(query)}
    added = [w for w in dict.fromkeys(_QUERY_WORD.findall(named_query)) if w.casefold() not in have]
    return " ".join([query, *added])


# "Did you mean": a query word that is no word of the taxonomy's names and aliases nor of the corpus is
# read as a misspelling when, put in its place, a word this close (difflib's ratio, the cutoff of the
# filters' Taxonomy.nearest_id) makes the query's words there spell a name or alias ("activaton
# patching", "inducton heads", "grokkking"). Shorter words have too many close neighbours to correct
# ("probs", for probabilities, is one letter from "probes").
SUGGEST_CUTOFF = 0.85
MIN_SUGGEST_CHARS = 6
# A slip that keeps a word's letters and length counts whatever the ratio, down to this length: two
# neighbours swapped ("Cluade", "Pythai": 0.83 from Claude, Pythia) or a letter doubled in the wrong place
# ("Lamma": Llama). Words of 5 letters have too many neighbours for the other typos ("probs": probes).
MIN_SLIP_CHARS = 5
# And a typo's few keystrokes away from the word (a letter left out, added, changed, two swapped): one,
# two in a word of TYPO_LONG_WORD letters or more. A word with a prefix is no typo, however close its
# ratio ("misalignment" is 0.86 from "alignment").
TYPO_LONG_WORD = 9
# At most this many words of a query are tried (each a difflib pass over the alias words, and a keyword
# index look-up when one comes close): a long query of unknown words must stay cheap.
MAX_SUGGEST_WORDS = 6
_SUGGEST_KINDS = (Label.TECHNIQUE, Label.EVALUATION, Label.TOPIC, Label.OBJECT, Label.COMPONENT, Label.MODEL)
_LATIN_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class _AliasWords:
    """The words of a taxonomy's names and aliases, for suggest_query."""

    words: frozenset[str]  # every word of every name and alias, case folded
    plain: list[str]  # the words of the names and aliases written as words alone, sorted (difflib's list)
    phrases: dict[str, list[tuple[str, ...]]]  # such a word -> the names and aliases (as words) holding it
    # Such a word by its letters sorted, and by each form of it with a doubled letter written once: where
    # a slip (_slipped) of a typed word can come from, found without a pass over `plain`.
    by_letters: dict[str, list[str]]
    by_undoubled: dict[str, list[str]]


_ALIAS_WORDS: weakref.WeakKeyDictionary[Labels, _AliasWords] = weakref.WeakKeyDictionary()


def _alias_words(labels: Labels) -> _AliasWords:
    """The alias word tables of the techniques, criteria, topics, objects, components and models of a
    taxonomy (cached per Labels object)."""
    cached = _ALIAS_WORDS.get(labels)
    if cached is not None:
        return cached
    words: set[str] = set()
    phrases: dict[str, set[tuple[str, ...]]] = {}
    for node in labels.nodes.values():
        if node.label not in _SUGGEST_KINDS:
            continue
        for alias in (node.name, node.id.replace("_", " "), *node.aliases, *node.ambiguous_aliases):
            parts = tuple(w.casefold() for w in _QUERY_WORD.findall(alias))
            words.update(parts)
            if parts and _ALIAS_SHAPE.fullmatch(" ".join(alias.split())):
                for part in parts:
                    phrases.setdefault(part, set()).add(parts)
    plain = sorted(w for w in phrases if w.isalpha())
    by_letters: dict[str, list[str]] = {}
    by_undoubled: dict[str, list[str]] = {}
    for word in plain:
        by_letters.setdefault("".join(sorted(word)), []).append(word)
        for form in _undoubled(word):
            by_undoubled.setdefault(form, []).append(word)
    tables = _ALIAS_WORDS[labels] = _AliasWords(
        frozenset(words), plain, {w: sorted(p) for w, p in phrases.items()}, by_letters, by_undoubled)
    return tables


def suggest_query(store: GraphStore, query: str, labels: Labels) -> str | None:
    """The query with each misspelt word of a taxonomy name or alias put right, for a "did you mean"
    ("activaton patching" -> "activation patching", "superpositon" -> "superposition"); None when no word
    is. Only a word of Latin letters that is no word of the taxonomy's names and aliases and that the
    keyword index does not hold is changed (a word some paper has is a real word, however close to a
    name), and only where the query's words around it then spell a whole name or alias, its other words as
    the name has them (plural allowed): "inducton" alone suggests nothing, "inducton heads" does."""
    words = list(_QUERY_WORD.finditer(query))
    tables = _alias_words(labels)
    found = [i for i, m in enumerate(words) if _may_be_misspelt(m.group(0), tables)]
    # Capped apart: a word too short for difflib's pass costs two look-ups, and takes no longer word's place.
    suspects = sorted([i for i in found if len(words[i].group(0)) < MIN_SUGGEST_CHARS][:MAX_SUGGEST_WORDS]
                      + [i for i in found if len(words[i].group(0)) >= MIN_SUGGEST_CHARS][:MAX_SUGGEST_WORDS])
    fixes: dict[int, str] = {}
    for i in suspects:
        if i not in fixes:
            fixes.update(_nearest_alias(query, words, i, set(suspects), tables))
    # Last, as it costs a store read a word: a word of the corpus is left as typed.
    fixes = {i: w for i, w in fixes.items() if not store.keyword_search(words[i].group(0), 1, None)}
    if not fixes:
        return None
    out: list[str] = []
    at = 0
    for i in sorted(fixes):
        out += [query[at:words[i].start()], _cased_like(words[i].group(0), fixes[i])]
        at = words[i].end()
    return "".join(out) + query[at:]


def _may_be_misspelt(word: str, tables: _AliasWords) -> bool:
    """Whether a query word may be a misspelling of a taxonomy word: Latin letters, long enough, and no
    word (nor the other number of a word) of the names and aliases, of framing or of stop words."""
    key = word.casefold()
    if len(key) < MIN_SLIP_CHARS or not _LATIN_WORD.fullmatch(word):
        return False
    forms = {key, key + "s", key + "es", key.removesuffix("s"), key.removesuffix("es")}
    return not (forms & tables.words or key in REQUEST_WORDS or key in STOPWORDS)


def _nearest_alias(query: str, words: list[re.Match[str]], i: int, suspects: set[int],
                   tables: _AliasWords) -> dict[int, str]:
    """The corrections (word index -> alias word) that make the query's words around word `i` spell a
    taxonomy name or alias, the longest name winning (its other words confirm the reading), then the
    closest; empty when none does. Only suspect words change, each to a word it is a typo of (_is_typo)."""
    typed = words[i].group(0).casefold()
    best: tuple[int, float] = (0, 0.0)
    found: dict[int, str] = {}
    slips = [*tables.by_letters.get("".join(sorted(typed)), ()),
             *(w for form in _undoubled(typed) for w in tables.by_undoubled.get(form, ()))]
    candidates = [*(difflib.get_close_matches(typed, tables.plain, n=5, cutoff=SUGGEST_CUTOFF)
                    if len(typed) >= MIN_SUGGEST_CHARS else ()), *(w for w in slips if _slipped(typed, w))]
    for close in dict.fromkeys(candidates):
        for phrase in tables.phrases[close]:
            for k in (k for k, w in enumerate(phrase) if w == close):
                start, end = i - k, i - k + len(phrase)
                if start < 0 or end > len(words) or not all(
                        _NAME_GAP.fullmatch(query[words[j].end():words[j + 1].start()])
                        for j in range(start, end - 1)):
                    continue
                fixes = _aligned(words[start:end], phrase, start, suspects)
                if not fixes:
                    continue
                closeness = sum(difflib.SequenceMatcher(None, words[j].group(0).casefold(), w).ratio()
                                for j, w in fixes.items()) / len(fixes)
                if (len(phrase), closeness) > best:
                    best, found = (len(phrase), closeness), fixes
    return found


def _aligned(typed: list[re.Match[str]], phrase: tuple[str, ...], start: int,
             suspects: set[int]) -> dict[int, str]:
    """The words to change for `typed` to spell `phrase`: each other word must be the phrase's (or its
    other number), each changed one a suspect within SUGGEST_CUTOFF of it; empty when it cannot."""
    fixes: dict[int, str] = {}
    for j, (match, want) in enumerate(zip(typed, phrase, strict=True), start=start):
        word = match.group(0).casefold()
        if word in (want, want + "s", want + "es") or want in (word + "s", word + "es"):
            continue
        if j not in suspects or not _is_typo(word, want):
            return {}
        fixes[j] = want
    return fixes


def _is_typo(typed: str, want: str) -> bool:
    """Whether `typed` (case folded) is a typo of the alias word `want`: a slip keeping its letters
    (_slipped), or, in a word of MIN_SUGGEST_CHARS or more, within SUGGEST_CUTOFF and a keystroke (two in
    a long word)."""
    if _slipped(typed, want):
        return True
    return (len(typed) >= MIN_SUGGEST_CHARS
            and difflib.SequenceMatcher(None, typed, want).ratio() >= SUGGEST_CUTOFF
            and _keystrokes(typed, want) <= (2 if len(want) >= TYPO_LONG_WORD else 1))


def _slipped(typed: str, want: str) -> bool:
    """Whether `typed` is `want` with two neighbouring letters swapped ("cluade": claude) or with its doubled
    letter doubled in another place ("lamma": llama), in a word of MIN_SLIP_CHARS letters or more: one slip
    of the fingers, however low difflib's ratio of a short word makes it."""
    if len(typed) != len(want) or len(typed) < MIN_SLIP_CHARS or typed == want:
        return False
    differ = [k for k, (a, b) in enumerate(zip(typed, want, strict=True)) if a != b]
    if len(differ) == 2 and differ[1] == differ[0] + 1:
        first, second = differ
        if typed[first] == want[second] and typed[second] == want[first]:
            return True
    return bool(_undoubled(typed) & _undoubled(want))


def _undoubled(word: str) -> set[str]:
    """The word with one of its doubled letters written once, for each ("llama": {"lama"})."""
    return {word[:k] + word[k + 1:] for k in range(1, len(word)) if word[k] == word[k - 1]}


def _keystrokes(a: str, b: str) -> int:
    """The typing mistakes between two words: letters left out, added or changed, and neighbours swapped
    (the optimal string alignment distance)."""
    previous: list[int] = []
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous, row = previous, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[-1]


def _cased_like(typed: str, word: str) -> str:
    """`word` in the case the user typed its misspelling in: all capitals, a capital first, or as is."""
    if len(typed) > 1 and typed.isupper():
        return word.upper()
    return word[:1].upper() + word[1:] if typed[:1].isupper() else word


def mostly_non_latin(query: str) -> bool:
    """Whether most letters of the query are of another script than Latin ("稀疏自编码器", "разреженный
    автоэнкодер"; "SAEの論文" is not): the embedding model and the keyword index read English, so the
    results are no answer to it and the user is better told to type the English term."""
    latin = other = 0
    for ch in query:
        if ch.isalpha():
            if ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"):
                latin += 1
            else:
                other += 1
    return other > latin


@dataclass(frozen=True)
class FilterKind:
    """One filter of SearchFilters as an empty answer's counts and tips handle it (FILTER_KINDS)."""

    # The first word of its facet names ("years 2030-"), the key filter_dropped_counts gives its count by.
    kind: str
    # The SearchFilters fields that set it (any of them not None or empty).
    fields: tuple[str, ...]
    # The search's query parameters removing it drops: a tip's link is the search without them.
    params: tuple[str, ...]
    # A tip names it so and ends so: f"Remove the {noun} filter ...{hint}".
    noun: str
    hint: str = "."
    # Fields that only shape it (technique_match), reset to their defaults with it.
    modifiers: tuple[str, ...] = ()
    # Its ids are taxonomy nodes (shown by name), and with `refines` nodes of a tree: include_refinements
    # applies to them and a node's parent is a wider choice.
    taxonomy: bool = False
    refines: bool = False
    # Its tip comes before the others': a range widened is the smallest change.
    tip_first: bool = False

    def ids(self, filters: SearchFilters) -> list[str]:
        """The ids it holds in `filters` ([] for a year range, which holds none)."""
        return [i for f in self.fields if isinstance(v := getattr(filters, f), list) for i in v]

    def is_set(self, filters: SearchFilters) -> bool:
        """Whether `filters` set it."""
        return any(getattr(filters, f) not in (None, []) for f in self.fields)

    def cleared(self, filters: SearchFilters) -> SearchFilters:
        """`filters` without it: its fields (and modifiers) back to their defaults."""
        blank = SearchFilters()  # made afresh: its lists are new ones
        return replace(filters, **{f: getattr(blank, f) for f in (*self.fields, *self.modifiers)})

    def alone(self, filters: SearchFilters) -> SearchFilters:
        """It alone, as `filters` set it."""
        own = {f: getattr(filters, f) for f in (*self.fields, *self.modifiers)}
        if self.refines:
            own["include_refinements"] = filters.include_refinements
        return SearchFilters(**own)

    def facet(self, filters: SearchFilters, name: Callable[[str], str] = str) -> str:
        """Its facet name in `filters` ("technique sae and probing", "years 2030-", "section tools"), each
        id as `name` gives it."""
        ids = self.ids(filters)
        if not ids:  # a range
            return f"{self.kind} " + "-".join(str(getattr(filters, f) or "") for f in self.fields)
        # Matching all of several ids, the facet is those ids together ("technique sae and probing").
        joiner = " and " if "technique_match" in self.modifiers and filters.technique_match == "all" else ", "
        return f"{self.kind} " + joiner.join(map(name, ids))


# Every filter of SearchFilters, in the order an empty answer names them (filter_facet_counts,
# filter_dropped_counts, the web page's tips). A new filter needs its entry here: tests check that each
# SearchFilters field but include_refinements (which shapes several) belongs to one.
FILTER_KINDS: dict[str, FilterKind] = {k.kind: k for k in (
    FilterKind("technique", ("technique_ids",), ("technique", "technique_match"), "technique",
               modifiers=("technique_match",), taxonomy=True, refines=True),
    FilterKind("topic", ("topic_ids",), ("topic",), "topic", taxonomy=True, refines=True),
    FilterKind("model", ("model_ids",), ("model",), "model",
               ": a paper counts for a model only where its abstract names it.", taxonomy=True),
    FilterKind("component", ("component_ids",), ("component",), "component",
               ": a paper counts for a component only where a finding of its abstract names it.",
               taxonomy=True, refines=True),
    FilterKind("section", ("section_ids",), ("section",), "list section"),
    FilterKind("years", ("year_from", "year_to"), ("year_from", "year_to"), "year", " or widen the range.",
               tip_first=True),
    FilterKind("source", ("sources",), ("source",), "source"),
)}


def set_filter_kinds(filters: SearchFilters) -> list[FilterKind]:
    """The filters `filters` set, in FILTER_KINDS' order: the order of filter_facet_counts' entries."""
    return [kind for kind in FILTER_KINDS.values() if kind.is_set(filters)]


def filter_facet_counts(store: GraphStore, filters: SearchFilters,
                        name: Callable[[str], str] = str) -> list[tuple[str, int]]:
    """Each filter that is set, alone, and how many papers pass it: what emptied an empty answer. `name`
    turns a taxonomy id into what the answer shows (the id itself by default; the web page, the name)."""
    return [(kind.facet(filters, name if kind.taxonomy else str), len(store.filter_ids(kind.alone(filters))))
            for kind in set_filter_kinds(filters)]


def why_empty(store: GraphStore, filters: SearchFilters | None, total: int, name: Callable[[str], str] = str
              ) -> tuple[list[tuple[str, int]], int | None]:
    """For an answer with no results under filters: each filter alone and how many papers pass it
    (filter_facet_counts), and how many pass them all (0: the filters together emptied it; more: the
    query's words did). ([], None) for an answer with results or without filters."""
    if total or filters is None or filters.is_empty():
        return [], None
    return filter_facet_counts(store, filters, name), len(store.filter_ids(filters))


def filter_dropped_counts(store: GraphStore, filters: SearchFilters) -> dict[str, int]:
    """For filters no paper passes together, each set filter kind ("technique", "years", as
    filter_facet_counts names them) and how many papers pass the others with it removed: which one
    removal would give results. One count per set filter, so only for an empty answer."""
    # With no filter left (the only one removed) the count is every paper's.
    return {kind.kind: store.filter_page(kind.cleared(filters), limit=0)[1]
            for kind in set_filter_kinds(filters)}


# Long forms found per store, with the time they were read: queries repeat the same few acronyms,
# and a definition changes only when papers arrive, so one look-up serves ACRONYM_TTL seconds. At
# most ACRONYM_CACHE_SIZE per store, oldest first out: made-up tokens must not grow it for ever.
_ACRONYM_CACHE: weakref.WeakKeyDictionary[GraphStore, OrderedDict[str, tuple[float, str | None]]] = (
    weakref.WeakKeyDictionary())
_ACRONYM_LOCK = threading.Lock()
ACRONYM_TTL = 600.0
ACRONYM_CACHE_SIZE = 4096


def _spell_out_acronyms(
    store: GraphStore, query: str, labels: Labels | None = None
) -> tuple[str, dict[str, str]]:
    """The query text to embed, with its acronyms followed by the long forms papers using them define,
    or else the taxonomy spells out ("ICL": "in-context learning", an alias of one node). A token in
    lower case is an acronym only as lowercase_acronyms says ("sae", not "rome")."""
    lowercase = _naming_tables(labels).lowercase_acronyms if labels is not None else frozenset()
    wanted = query_acronyms(query, lowercase)[:MAX_ACRONYMS]
    if not wanted:
        return query, {}
    now = time.monotonic()
    with _ACRONYM_LOCK:
        cache = _ACRONYM_CACHE.setdefault(store, OrderedDict())
        known = {a: cache[a][1] for a in wanted if a in cache and now - cache[a][0] < ACRONYM_TTL}
    missing = [a for a in wanted if a not in known]
    if missing:
        ids: list[str] = []
        for acronym in missing:
            ids += [h.id for h in store.keyword_search(acronym, ACRONYM_SAMPLE, None)]
        papers = store.get_papers(list(dict.fromkeys(ids)))
        found = expansions(missing, (f"{p.title}. {p.abstract or ''}" for p in papers))
        with _ACRONYM_LOCK:
            for acronym in missing:
                known[acronym] = found.get(acronym)
                cache.pop(acronym, None)
                cache[acronym] = (now, known[acronym])
            while len(cache) > ACRONYM_CACHE_SIZE:
                cache.popitem(last=False)
    taxonomy_forms = labels.acronym_long_forms if labels is not None else {}
    found_forms = {a: known.get(a) or known_long_form(a, taxonomy_forms) for a in wanted}
    long_forms = {a: f for a, f in found_forms.items() if f}
    return expand(query, long_forms), long_forms


@dataclass(frozen=True)
class _Spelled:
    """A query's terms and, for each acronym it was read with, the acronym's term and its long form's."""

    terms: set[str]
    acronyms: list[tuple[set[str], set[str]]]  # ({"sae"}, {"sparse", "autoencoder"})

    def matched(self, sentence: str) -> set[str]:
        """The query terms a sentence has, an acronym's counted also when the sentence has every word of
        its long form (a word of the long form alone, "sparse", counts for nothing)."""
        words = query_terms(sentence)
        found = self.terms & words
        for acronym, long_form in self.acronyms:
            if long_form and long_form <= words:
                found |= acronym & self.terms
        return found

    def best_sentence(self, query: str, sentences: list[str]) -> tuple[str | None, float]:
        """best_sentence_by_overlap, counting the words `matched` counts (ties: a sentence stating a
        finding, then the earlier one)."""
        return best_sentence_by_overlap(query, sentences, self.terms,
                                        matched=self.matched if self.acronyms else None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _asks_only_for(query: str, named_phrases: dict[str, set[str]]) -> bool:
    """Whether the query is the named phrases and request words, nothing else ("logit lenses")."""
    # Removed as they were matched, plural included, rather than by their words ("lenses" vs "lens").
    pattern = phrase_pattern(named_phrases)
    rest = pattern.sub(" ", query.casefold()) if pattern else query
    return not (query_terms(rest) - REQUEST_WORDS)


@dataclass(frozen=True)
class _NamingTables:
    """What the query-side naming rules below look up, built once per Labels object."""

    aliases: dict[str, set[str]]  # every name and alias of a technique or criterion -> node ids
    alias_pattern: re.Pattern[str] | None
    topic_aliases: dict[str, set[str]]  # likewise of a topic or fundamental object
    topic_alias_pattern: re.Pattern[str] | None
    adjectives: dict[str, set[str]]  # a criterion's adjective ("faithful") -> node ids
    lowercase_acronyms: frozenset[str]  # acronyms read in lower case too ("sae"; see kg.acronyms)


_NAMING: weakref.WeakKeyDictionary[Labels, _NamingTables] = weakref.WeakKeyDictionary()
# A criterion's adjective ("faithful", "complete", "minimal") names it only where it is said of
# something: after a copula or "how" ("whether circuits are faithful", "how complete are SAE
# features"), optionally with a degree word. Before a noun it is an ordinary word ("complete list of
# SAE papers", "minimal pairs", "faithful chain-of-thought").
_PREDICATIVE = re.compile(
    r"\b(?:is|are|be|been|being|was|were|remain|remains|how)\s+"
    r"(?:(?:not|more|less|fully|truly|really|actually|still)\s+)?([^\W\d_]+)\b")
# Noun suffix -> adjective suffix: faithfulness -> faithful, minimality -> minimal.
_ADJECTIVE_SUFFIXES = (("ness", ""), ("ality", "al"), ("ibility", "ible"), ("ability", "able"))


def _naming_tables(labels: Labels) -> _NamingTables:
    """The alias and adjective tables of a taxonomy (cached per Labels object)."""
    cached = _NAMING.get(labels)
    if cached is not None:
        return cached
    aliases: dict[str, set[str]] = {}
    topic_aliases: dict[str, set[str]] = {}
    adjectives: dict[str, set[str]] = {}
    for node in labels.nodes.values():
        if node.label in _TOPIC_LABELS:
            for alias in (node.name, *node.aliases, *node.ambiguous_aliases):
                if alias.strip():
                    topic_aliases.setdefault(alias.casefold().strip(), set()).add(node.id)
        if node.label not in (Label.TECHNIQUE, Label.EVALUATION):
            continue
        for alias in (node.name, *node.aliases, *node.ambiguous_aliases):
            if alias.strip():
                aliases.setdefault(alias.casefold().strip(), set()).add(node.id)
        name = node.name.casefold().strip()
        if node.label == Label.EVALUATION and " " not in name:
            # An adjective the taxonomy lists as an ambiguous alias ("plausible") does not count.
            ambiguous = {a.casefold() for a in node.ambiguous_aliases}
            for noun, adjective in _ADJECTIVE_SUFFIXES:
                if name.endswith(noun):
                    word = name[:-len(noun)] + adjective
                    if word not in ambiguous:
                        adjectives.setdefault(word, set()).add(node.id)
                    break
    tables = _NAMING[labels] = _NamingTables(aliases, phrase_pattern(aliases), topic_aliases,
                                             phrase_pattern(topic_aliases), adjectives,
                                             lowercase_acronyms(labels.nodes.values()))
    return tables


def _whole_query_alias(query: str, labels: Labels, *, topics: bool = False) -> dict[str, set[str]]:
    """A technique or criterion alias (with `topics`, a topic or object alias) that is the whole query,
    request words aside ("ablation", "which papers use probes", "alignment"), even one the taxonomy marks
    ambiguous or a one-word criterion alias ("faithful"): alone it can only mean that node. In a longer
    query ("ablation of attention heads") such an alias stays plain words, as in abstracts. Empty unless
    exactly one node is meant."""
    tables = _naming_tables(labels)
    aliases, pattern = ((tables.topic_aliases, tables.topic_alias_pattern) if topics
                        else (tables.aliases, tables.alias_pattern))
    if pattern is None:
        return {}
    found = {m.group(1): aliases[m.group(1)] for m in pattern.finditer(query.casefold())}
    if len({i for ids in found.values() for i in ids}) != 1 or not _asks_only_for(query, found):
        return {}
    return found


# The labels the topic filter takes (kg.embedded's topic rule: findings ABOUT them, list sections), read
# in a query as topics: "superposition" (Topic) and "universality" (a fundamental Object) alike.
_TOPIC_LABELS = (Label.TOPIC, Label.OBJECT)


def _topics_named(query: str, labels: Labels) -> dict[str, set[str]]:
    """The topics and fundamental objects the query names, by phrase, as techniques are read: a name or
    unambiguous alias, plural allowed ("jailbreaks"), an all-capital alias that is an English word typed
    in capitals (_phrases_named: "ROME"); alone, even an ambiguous alias ("alignment", "rome":
    _whole_query_alias). Word forms are those the tags are made with (ingest.extract matches aliases on
    lemmas): "deceptions" is Deception, but "deceptive" and "refuse" are other words, for which no paper
    was tagged AI Safety."""
    found: dict[str, set[str]] = {}
    for label in _TOPIC_LABELS:
        for phrase, ids in _phrases_named(query, labels, label).items():
            found.setdefault(phrase, set()).update(ids)
    return found or _whole_query_alias(query, labels, topics=True)


def _topics_by_name(topic_phrases: dict[str, set[str]], labels: Labels) -> set[str]:
    """The topics (objects) of _topics_named's phrases named by their own name, in either number and any
    case ("AI safety", "circuit", "Features"), not by an alias ("deception", "model editing")."""
    named: set[str] = set()
    for phrase, ids in topic_phrases.items():
        for node_id in ids:
            name = labels.nodes[node_id].name.casefold().strip()
            # The phrase is the alias as the taxonomy spells it (a plural typed is matched to it):
            # Circuits' alias "circuit" is its name in the singular.
            if phrase in (name, f"{name}s", f"{name}es") or name in (f"{phrase}s", f"{phrase}es"):
                named.add(node_id)
    return named


def _criteria_by_adjective(query: str, labels: Labels) -> dict[str, set[str]]:
    """Evaluation criteria whose one-word name the query says as a predicative adjective (see
    _PREDICATIVE), by adjective ("whether circuits are faithful": Faithfulness)."""
    adjectives = _naming_tables(labels).adjectives
    return {m.group(1): adjectives[m.group(1)] for m in _PREDICATIVE.finditer(query.casefold())
            if m.group(1) in adjectives}


def _by_named_author(store: GraphStore, query: str, keyword: list[ScoredId], known: dict[str, Paper],
                     labels: Labels) -> list[ScoredId]:
    """The papers among the first AUTHOR_SAMPLE of the keyword ranking with an author the query names
    (names_author), in keyword order; their author lists are read in one store call and kept in `known`
    (the page reuses them). A paper by the author has the name's words in its author list, so keyword
    search ranks it high. Nothing is read for a query with no two words side by side that may be a first
    name and a surname (_may_name_someone): "sparse autoencoders", "activation patching"."""
    words = _name_words(query, initials(query))
    if not keyword or not _may_name_someone(words, labels):
        return []
    sample = keyword[:AUTHOR_SAMPLE]
    unread = [h.id for h in sample if h.id not in known]
    if unread:
        known.update((p.id, p) for p in store.get_papers(unread))
    return [h for h in sample if h.id in known and any(names_author(words, a) for a in known[h.id].authors)]


def _may_name_someone(words: list[tuple[str, bool]], labels: Labels) -> bool:
    """Whether two words side by side may be a first name (or an initial) and a surname: letters, no stop
    or request word, no word of a taxonomy name or alias (the query's words about the field)."""
    vocabulary = _taxonomy_words(labels)

    def plain(word: str, least: int) -> bool:
        return (len(word) >= least and word.isalpha() and word not in STOPWORDS and word not in REQUEST_WORDS
                and word not in vocabulary)

    return any((is_initial or plain(first, 2)) and plain(last, 2)
               for (first, is_initial), (last, _) in pairwise(words))


_TAXONOMY_WORDS: weakref.WeakKeyDictionary[Labels, frozenset[str]] = weakref.WeakKeyDictionary()


def _taxonomy_words(labels: Labels) -> frozenset[str]:
    """Every word of every taxonomy node's id, name and aliases, folded as _name_words folds (cached per
    Labels object)."""
    cached = _TAXONOMY_WORDS.get(labels)
    if cached is None:
        cached = _TAXONOMY_WORDS[labels] = frozenset(
            w for node in labels.nodes.values()
            for text in (node.id.replace("_", " "), node.name, *node.aliases, *node.ambiguous_aliases)
            for w, _ in _name_words(text))
    return cached


def _name_words(text: str, initial: set[str] | None = None) -> list[tuple[str, bool]]:
    """The words of a name or query as author names are compared: folded as keyword search folds them
    (case, accents, stroked letters: "Kramár" and "Kramar" are one word), each with whether it is an
    initial (kg.validation.initials, given for a query: "S. Marks", "S Marks")."""
    return [(fold_for_search(w).casefold(), initial is not None and len(w) == 1 and w.casefold() in initial)
            for w in _QUERY_WORD.findall(text)]


# The forms of one first name a query may type for another (names_author), a name a line: a short form
# and the full names it stands for ("Sam Marks" is Samuel Marks, "Samuel McCandlish" Sam McCandlish).
# A table, not "one begins the other": that read "christmas olah" as Chris Olah, "benchmark lee" as Ben
# Lee and "deep mind" as Deepak Mind. Nor can a dictionary tell: WordNet, the English word list at hand
# (kg.acronyms), has samuel, christopher, daniel, max and will as words, and has not deepak.
_FIRST_NAME_FORMS = (
    "sam samuel samantha", "sammy samuel", "chris christopher christian christine christina",
    "ben benjamin benedict", "benny benjamin", "will william", "bill william", "billy william",
    "liam william", "tom thomas", "tommy thomas", "alex alexander alexandra alexandre alexandros "
    "alessandro alejandro aleksandr aleksander alexei", "nick nicholas nicolas nikolai niklas nikolaos",
    "nico nicholas nicolas nicola", "dan daniel", "danny daniel", "dani daniela danielle",
    "mike michael", "mick michael", "jim james", "jimmy james", "jamie james",
    "kate katherine catherine kathryn katharine", "katie katherine catherine kathryn katharine",
    "kathy katherine kathryn katharine", "cathy catherine", "liz elizabeth", "beth elizabeth",
    "max maximilian maxim maximillian maxwell", "rob robert", "bob robert", "bobby robert",
    "robbie robert", "rick richard", "rich richard", "richie richard", "matt matthew matthias mathias",
    "andy andrew andreas", "drew andrew", "joe joseph", "joey joseph", "steve stephen steven",
    "tim timothy", "greg gregory", "jon jonathan", "johnny john", "josh joshua",
    "dave david", "tony anthony antonio", "jen jennifer", "jenny jennifer", "fred frederick frederic",
    "ed edward", "eddie edward", "ted edward theodore", "theo theodore", "pete peter", "ken kenneth",
    "jeff jeffrey", "geoff geoffrey", "nate nathan nathaniel nathanael", "zach zachary zachariah",
    "zac zachary", "charlie charles", "phil philip phillip", "pat patrick patricia", "ray raymond",
    "don donald", "ron ronald", "jake jacob", "abby abigail", "becky rebecca", "becca rebecca",
    "sue susan", "maggie margaret", "meg margaret", "deb deborah", "debbie deborah", "gabe gabriel",
    "vlad vladimir", "toby tobias", "larry lawrence laurence", "doug douglas", "jess jessica",
    "ollie oliver", "leo leonard leonardo", "len leonard",
)


def _first_name_forms() -> dict[str, frozenset[str]]:
    """For each first name of _FIRST_NAME_FORMS, the others it is a form of (both ways)."""
    forms: dict[str, set[str]] = {}
    for line in _FIRST_NAME_FORMS:
        short, *full = line.split()
        for name in full:
            forms.setdefault(short, set()).add(name)
            forms.setdefault(name, set()).add(short)
    return {name: frozenset(others) for name, others in forms.items()}


_FIRST_NAME_FORM = _first_name_forms()


@lru_cache(maxsize=4096)
def _no_name_word(word: str) -> bool:
    """Whether a word is a stop or request word ("is", "papers", "using"), which no name word is taken for."""
    return word in STOPWORDS or not (query_terms(word) - REQUEST_WORDS)


def names_author(query_words: list[tuple[str, bool]], name: str) -> bool:
    """Whether a query (its _name_words) names an author: the name's words in order ("Kevin Meng",
    "Eric J Michaud"), or its first name and surname side by side, the first name as written, an initial
    of it ("S. Marks") or another form of it in _FIRST_NAME_FORMS ("Sam Marks" for Samuel Marks, "Samuel
    McCandlish" for Sam McCandlish). Only names of two words or more; a surname or a first name alone names
    nobody ("Marks" is also a word, "Sam" many people), nor does a stop or request word as either (as
    _may_name_someone: "attention is all you need" names no "Atte Is" and no "Is All")."""
    parts = [w for w, _ in _name_words(name)]
    if len(parts) < 2:
        return False
    first, last = parts[0], parts[-1]
    if len(last) < 2 or _no_name_word(last):
        return False
    words = [w for w, _ in query_words]
    if any(words[i:i + len(parts)] == parts for i in range(len(words) - len(parts) + 1)):
        return not (len(first) > 1 and _no_name_word(first))
    for (typed, is_initial), (word, _) in pairwise(query_words):
        if word != last:
            continue
        if is_initial:
            if len(first) > 1 and typed == first[0]:
                return True
        elif (typed == first or typed in _FIRST_NAME_FORM.get(first, ())) and not _no_name_word(typed):
            return True
    return False


def _in_fused_order(studying: list[ScoredId], lists: dict[str, list[ScoredId]]) -> list[ScoredId]:
    """The papers of a named model's list in the order the other lists fuse them, then those the other
    lists lack: fused in, it lifts the papers studying the model above the others without reordering
    them among themselves ("IOI in GPT-2 small" must not put another GPT-2 paper above IOI because
    the model list repeats the semantic list's vote)."""
    members = {h.id: h for h in studying}
    ordered = [members.pop(paper_id) for paper_id, _, _ in rrf_fuse(lists) if paper_id in members]
    return ordered + [h for h in studying if h.id in members]


def _add_named_list(tier_lists: list[dict[str, list[ScoredId]]], before: list[dict[str, list[ScoredId]]],
                    name: str, rankings: list[list[ScoredId]]) -> None:
    """Add a named model's or component's list to each tier, in the order `before` (that tier's lists
    without the named ones) fuses its papers; a tier whose list is unchanged reuses the one before."""
    previous: list[ScoredId] | None = None
    for lists, base, ranking in zip(tier_lists, before, rankings, strict=True):
        ordered = _in_fused_order(ranking, base)
        if previous is not None and [h.id for h in ordered] == [h.id for h in previous]:
            ordered = previous  # unchanged: the tier loop of search() reuses the fusion
        lists[name] = previous = ordered


def _phrases_named(query: str, labels: Labels, label: str) -> dict[str, set[str]]:
    """The names and unambiguous aliases of `label` nodes the query holds ("circuits in Pythia", "gpt2",
    "induction heads", "MLP"; "RS" and "FF" alone name none), with the nodes each names; also read with
    the query's spaces as hyphens: "gpt 2" is GPT-2 and "feed forward" is feed-forward, one name written
    two ways. An alias of capital letters that is also an English word ("OPT": "opt") counts only typed
    in capitals, as for acronyms (see kg.acronyms.lowercase_acronyms)."""
    found = {phrase: set(ids) for phrase, ids in labels.phrases_in_text(query, label).items()}
    hyphened = _SPACE_IN_WORDS.sub("-", query)
    if hyphened != query:
        # Only the hyphenated names the reading adds: "MLP-neurons" must not split "MLP neurons".
        for phrase, ids in labels.phrases_in_text(hyphened, label).items():
            if "-" in phrase:
                found.setdefault(phrase, set()).update(ids)
    if not found:
        return {}
    lowercase = _naming_tables(labels).lowercase_acronyms
    named: dict[str, set[str]] = {}
    for phrase, ids in found.items():
        for node_id in ids:
            node = labels.nodes[node_id]
            spellings = [a for a in (node.name, *node.aliases) if a.casefold() == phrase]
            if all(_CAPITALS.fullmatch(a) and phrase not in lowercase for a in spellings):
                typed = any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", query) for a in spellings)
                if not typed:
                    continue
            named.setdefault(phrase, set()).add(node_id)
    return named


def _mostly_names(query: str, phrases: Sequence[str]) -> bool:
    """Whether the phrases make up more than half of the query's content words (request words aside):
    "feed-forward layers in GPT-2" asks for papers on a component, "locating and editing factual
    knowledge in neurons" for papers on editing, where neurons only qualify the subject."""
    content = query_terms(query) - REQUEST_WORDS
    named = content & {t for phrase in phrases for t in query_terms(phrase)}
    return 2 * len(named) > len(content)


_CAPITALS = re.compile(r"[A-Z]+")
# A run of spaces between two word characters ("gpt 2", "feed forward").
_SPACE_IN_WORDS = re.compile(r"(?<=\w) +(?=\w)")


def _tagged_among(store: GraphStore, named: set[str], hits: list[ScoredId], labels: Labels) -> set[str]:
    """The named techniques (criteria, models, components) some paper of their list is tagged with, or
    with a refinement of them."""
    if not hits:
        return set()
    if len(named) == 1:  # the list holds only papers tagged with it or a refinement
        return set(named)
    nodes = set().union(*store.paper_profiles([h.id for h in hits]).values())
    return {t for t in named if labels.descendants(t) & nodes}


def _any_tagged(store: GraphStore, filters: SearchFilters | None, node_id: str, labels: Labels,
                label: str = Label.TECHNIQUE) -> bool:
    """Whether a paper passing the filters is tagged with the node or a refinement: uses the technique or
    criterion, studies the model, has a finding about the component, touches the topic (as the named
    lists read them; `label` Topic for topics and objects alike). A
    count: the list may be cut at the window, and it leaves out papers without an embedding."""
    if label == Label.MODEL:
        narrowed: SearchFilters | None = replace(filters or SearchFilters(), model_ids=[node_id])
    elif label == Label.COMPONENT:
        narrowed = replace(filters or SearchFilters(), component_ids=[node_id])
    elif label in (Label.TOPIC, Label.OBJECT):
        # The sub-topics spelt out: the user's include_refinements is about their own filters.
        narrowed = replace(filters or SearchFilters(), topic_ids=sorted(labels.descendants(node_id)))
    else:
        narrowed = _using_named_techniques(filters, {node_id}, labels)
    return narrowed is not None and store.filter_page(narrowed, limit=0)[1] > 0


@dataclass(frozen=True)
class _EvidenceWanted:
    """A hit whose overlap sentence lacks some content word of a query naming a node it is tagged with."""

    paper_id: str
    nodes: list[str]  # the named nodes (and refinements) it is tagged with, the named ones first
    content: set[str]  # the query's content words
    best_words: int  # how many of them the overlap sentence has


def _explain_by_evidence(
    store: GraphStore, pending: list[_EvidenceWanted], whys: dict[str, dict[str, Any]],
    sentences: dict[str, list[str]], spelled: _Spelled, labels: Labels,
) -> None:
    """Give each pending hit the sentence that tagged it (or, when that is its title or no abstract sentence,
    the abstract's first sentence naming the node) unless its overlap sentence shares more of the query's
    content words; the evidence of every pending hit comes from one store read."""
    evidence = store.tag_evidence([w.paper_id for w in pending],
                                  list(dict.fromkeys(n for w in pending for n in w.nodes)))
    for wanted in pending:
        sentence = (_evidence_sentence(evidence.get(wanted.paper_id, {}), wanted.nodes,
                                       sentences[wanted.paper_id])
                    or _naming_sentence(wanted.nodes, sentences[wanted.paper_id], labels))
        if sentence is None:
            continue
        # A TL;DR sentence is shown with its "List TL;DR: " mark, but the mark's words are no match.
        words = spelled.matched(sentence.removeprefix(TLDR_EVIDENCE_PREFIX))
        if len(wanted.content & words) >= wanted.best_words:
            why = whys[wanted.paper_id]
            why["best_sentence"] = sentence
            why["best_sentence_score"] = _round(float(len(words)))
            why["best_sentence_by"] = "evidence"


def _evidence_sentence(evidence: dict[str, str], nodes: list[str], sentences: list[str]) -> str | None:
    """The sentence a paper was tagged from as using (or evaluating) one of `nodes`, the first node
    with one winning: the abstract sentence holding its stored evidence (`evidence`, by node, as
    tag_evidence reads it), or a list TL;DR sentence as stored ("List TL;DR: ..."; IOI's abstract says
    only "causal interventions", its TL;DR names path patching). Title evidence is skipped."""
    for node_id in nodes:
        text = " ".join(evidence.get(node_id, "").split())
        if text.startswith(TLDR_EVIDENCE_PREFIX):
            return text
        # The extractor's sentence split and split_sentences may differ: either may hold the other.
        found = next((s for s in sentences if text and (text in s or s in text)), None)
        if found is not None:
            return found
    return None


def _naming_sentence(nodes: list[str], sentences: list[str], labels: Labels) -> str | None:
    """The first abstract sentence naming one of `nodes` by its name or an unambiguous alias, the first node
    with one winning: the abstract's word for a tag read from the title ("Sparse Probing" in the title,
    "linear classifiers (probes)" in the abstract)."""
    for node_id in nodes:
        label = labels.label(node_id)
        if label is None:
            continue
        found = next((s for s in sentences if node_id in labels.techniques_in_text(s, label)), None)
        if found is not None:
            return found
    return None


def _using_named_techniques(
    filters: SearchFilters | None, named: set[str], labels: Labels
) -> SearchFilters | None:
    """The user's filters narrowed to papers using a technique the query names (refinements
    included); None when the user already filters by technique (that filter decides)."""
    if filters is not None and filters.technique_ids:
        return None
    family = sorted({d for t in named for d in labels.descendants(t)})
    base = filters if filters is not None else SearchFilters()
    # Any of the family: the user's technique_match, with no technique filter of theirs, says nothing.
    return replace(base, technique_ids=family, include_refinements=True, technique_match="any")


def _browse_filtered(
    store: GraphStore, filters: SearchFilters, limit: int, offset: int, labels: Labels
) -> SearchPage:
    """An empty query lists the papers passing the filters, newest first."""
    only_technique = (len(filters.technique_ids) == 1 and not (
        filters.topic_ids or filters.section_ids or filters.sources or filters.model_ids
        or filters.component_ids or filters.year_from is not None or filters.year_to is not None))
    if only_technique:
        # The common case ("search within a technique"), as the technique page lists it: the id may
        # also be an evaluation criterion (EVALUATES). Equal dates go by id there too, as filter_page.
        page, total = store.papers_by_technique(
            filters.technique_ids[0], include_refinements=filters.include_refinements, sort="date",
            limit=limit, offset=offset)
    else:
        # The store sorts and pages the ids; only the page's papers are loaded.
        ids, total = store.filter_page(filters, limit=limit, offset=offset)
        page = store.get_papers(ids)
    profiles = store.paper_profiles([p.id for p in page])
    wanted = {d for t in filters.technique_ids
              for d in (labels.descendants(t) if filters.include_refinements else {t})}
    wanted_components = {d for c in filters.component_ids
                         for d in (labels.descendants(c) if filters.include_refinements else {c})}
    results = []
    for paper in page:
        profile = profiles.get(paper.id, set())
        techniques = labels.of_label(profile, Label.TECHNIQUE)
        # What the filters matched, as a query's hit says it (the API's why.matched_*).
        matched = [t for t in techniques if t in wanted]
        evaluations = [e for e in labels.of_label(profile, Label.EVALUATION) if e in wanted]
        models = [m for m in labels.of_label(profile, Label.MODEL) if m in filters.model_ids]
        components = [c for c in labels.of_label(profile, Label.COMPONENT) if c in wanted_components]
        why: dict[str, Any] = {
            "mode": "filter", "semantic": None, "keyword": None, "ranks": {}, "rrf": None,
            "matched_techniques": matched, "matched_technique_labels": [labels.name(t) for t in matched],
            "matched_evaluations": evaluations,
            "matched_evaluation_labels": [labels.name(e) for e in evaluations],
            "matched_models": models, "matched_model_labels": [labels.name(m) for m in models],
            "matched_components": components,
            "matched_component_labels": [labels.name(c) for c in components],
            "best_sentence": None,
            "best_sentence_score": None, "best_sentence_by": None,
        }
        ordered = matched + [t for t in techniques if t not in wanted]
        results.append(SearchHit(paper.id, paper.title, 0.0, paper, ordered, why))
    return SearchPage(results=results, total=total)
