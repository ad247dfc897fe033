"""The weekly relevance gate: keep an arXiv candidate only with evidence that it is MI on language models.

Evidence (see `RelevanceGate.judge`):
- an **LM cue**: the text is about language models ("language model", LLM, GPT, BERT, a model family
  of the taxonomy, "transformer" when nothing says vision / power electronics / biology), or a
  **network cue** standing in for it ("neural networks", "ReLU network": MI of toy models names no
  language model) when nothing says another field; with a network cue only the similarity below
  counts, AND
- either a **specific technique hit** from the taxonomy extractor (SAE, activation patching, logit
  lens...; generic words such as probing, visualization, ablation or knockout are recorded but do
  not count on their own, since they also match biology, vision and electronics), or an
  **embedding similarity** to the stored MI corpus (mean of the top-5 cosines to the stored
  papers' embeddings) at or above `SIMILARITY_THRESHOLD`.

`SIMILARITY_THRESHOLD` is calibrated for all-MiniLM-L6-v2 by `bench/relevance_eval.py`: leave-one-out
similarity of each seed paper to the other seed papers (positives) against the similarity of the
calibration split of hand-written non-MI records in tests/ingest/data/relevance_set.jsonl
(negatives); the threshold maximises Youden's J (TPR - FPR) and sits midway between the two scores
that bracket it. Re-run the script after changing the model or the corpus and copy its value here.

All of the above is the built-in gate for the mechanistic-interpretability taxonomy (a taxonomy file
without a `weekly:` block, such as the shipped mi.yaml). A file of another field brings its own block
(kg.taxonomy.WeeklySettings): its `domain_cues` (plain phrases, whole words, any case; none listed: no
cue required) stand in for the LM cue, with no cue pointing elsewhere, and its `generic_techniques` and
`specific_phrases` for the lists below; the similarity branch is the same, and the reasons say
"domain cue" and "stored corpus" rather than "language model" and "MI".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.entities import Rejection
from kg.schema import Label
from kg.taxonomy import Taxonomy, WeeklySettings

if TYPE_CHECKING:
    from ingest.extract import Extraction, PaperExtractor
    from kg.store import GraphStore

# Calibrated by bench/relevance_eval.py for all-MiniLM-L6-v2 (see the module docstring).
SIMILARITY_THRESHOLD = 0.465
TOP_K = 5

# Techniques whose usual names are everyday words in other fields (biology probes and knockouts,
# vision saliency / visualisation, statistics mediation analysis / PCA): a hit on them is recorded
# in the reason but is not evidence of MI by itself.
GENERIC_TECHNIQUES = frozenset({
    "probing", "visualization", "knockout", "cma", "dimensionality_reduction", "gradient_attribution",
})
# ...unless the text also uses one of these MI-specific spellings of the same technique.
SPECIFIC_PHRASES: dict[str, tuple[str, ...]] = {
    "probing": ("linear probe", "linear probing", "probing classifier", "sparse probing", "structural probe",
                "diagnostic classifier", "k-sparse probe", "linear classifier probe", "nonlinear probe"),
    "visualization": ("max-activating example", "maximally activating example", "top-activating dataset",
                      "feature dashboard", "attention pattern visualization"),
    "cma": ("causal mediation analysis",),
    "knockout": ("zero ablation", "mean ablation", "resample ablation", "resampling ablation"),
}

_FLAGS = re.IGNORECASE
# Strong cues: phrases only language-model papers use. "protein/genomic language model" is biology.
_STRONG_CUES = [
    r"(?<!protein )(?<!genomic )(?<!dna )(?<!chemical )\blanguage models?\b",
    r"\bLLMs?\b", r"\bGPT(?:-?\d[\w.]*)?\b", r"\bBERT\b", r"\bRoBERTa\b", r"\bnext[- ]token\b",
    r"\bin-context learning\b", r"\bchain[- ]of[- ]thought\b", r"\bnatural language processing\b",
    r"\bNLP\b", r"\bchatbots?\b", r"\binduction heads?\b", r"\bunembedding\b", r"\btext generation\b",
]
_CASE_SENSITIVE_CUES = [r"\bLMs?\b"]
# A weak cue ("transformer", "attention heads") counts only when nothing points elsewhere.
_WEAK_CUES = [
    r"\btransformers?\b", r"\battention heads?\b", r"\bautoregressive\b", r"\btokens?\b", r"\bvocabulary\b",
    r"\bresidual stream\b",
]
# MI of toy and small models ("Toy Models of Superposition", grokking, "The Clock and the Pizza") names
# no language model, only neural networks: such a cue stands in for the LM cue when nothing points to
# another field and the text is similar to the MI corpus (a technique hit alone is not enough). Three
# seed papers and four of 36 outside MI papers an expert listed were rejected without it.
_NETWORK_CUES = [r"\b(?:neural|ReLU|MLP) (?:networks?|nets?)\b"]
_COUNTER_CUES = [
    r"\bvision transformers?\b", r"\bViTs?\b", r"\bimages?\b", r"\bpixels?\b", r"\bvideos?\b",
    r"\bpower transformers?\b", r"\bvoltage\b", r"\bwinding\b", r"\bgrid\b", r"\bprotein\b",
    r"\bspeech\b", r"\baudio\b", r"\bpoint clouds?\b", r"\bsegmentation\b",
    # Electronics: a neural network for chips is no MI of a network (QA: "... in Digital Circuits").
    r"\bnetlists?\b", r"\btransistors?\b", r"\bCMOS\b", r"\bVLSI\b", r"\bFPGAs?\b",
    r"\b(?:digital|analog|integrated|electronic) circuits?\b",
    r"\b(?:protein|genomic|dna|chemical) language models?\b",
]


@dataclass
class RelevanceDecision:
    """Whether to keep a candidate, why, and its score (mean top-k cosine to the MI corpus)."""

    keep: bool
    reason: str
    score: float
    techniques: list[str] = field(default_factory=list)  # specific technique ids hit
    generic_techniques: list[str] = field(default_factory=list)  # generic hits (not evidence alone)
    lm_cue: str | None = None  # the phrase that says "language model" (a file's own block: its domain cue)


def _compile(patterns: Sequence[str], flags: int) -> list[re.Pattern[str]]:
    return [re.compile(p, flags) for p in patterns]


class LMCue:
    """Finds the phrase that shows a text is about language models (None when nothing does)."""

    required = True  # the built-in gate keeps no candidate without an LM cue

    def __init__(self, taxonomy: Taxonomy | None = None) -> None:
        model_names: list[str] = []
        if taxonomy is not None:
            for node in taxonomy.of_label(Label.MODEL):
                if node.id == "toy_transformer":  # toy models are not language models by name
                    continue
                # Short all-caps names (OPT, T5) are too ambiguous to be a cue alone.
                model_names += [a for a in [node.name, *node.aliases] if len(a) > 3]
        strong = list(_STRONG_CUES)
        if model_names:
            strong.append(r"\b(?:" + "|".join(re.escape(m) for m in sorted(set(model_names))) + r")\b")
        self._strong = _compile(strong, _FLAGS) + _compile(_CASE_SENSITIVE_CUES, 0)
        self._weak = _compile(_WEAK_CUES, _FLAGS)
        self._network = _compile(_NETWORK_CUES, _FLAGS)
        self._counter = _compile(_COUNTER_CUES, _FLAGS)

    def find(self, text: str) -> str | None:
        """The first LM cue phrase in `text`, or None."""
        for pattern in self._strong:
            match = pattern.search(text)
            if match:
                return match.group(0)
        if any(p.search(text) for p in self._counter):
            return None
        for pattern in self._weak:
            match = pattern.search(text)
            if match:
                return match.group(0)
        return None

    def network(self, text: str) -> str | None:
        """The first phrase of `text` naming neural networks ("neural networks", "ReLU network"), when
        nothing in it points to another field; else None."""
        if any(p.search(text) for p in self._counter):
            return None
        found = [m for m in (p.search(text) for p in self._network) if m]
        return min(found, key=lambda m: m.start()).group(0) if found else None

    def elsewhere(self, text: str) -> str | None:
        """The first phrase of `text` that points to another field ("images", "protein language
        model"), for a rejection's reason; None when there is none."""
        found = [m for m in (p.search(text) for p in self._counter) if m]
        return min(found, key=lambda m: (m.start(), -len(m.group(0)))).group(0) if found else None


def _cue_pattern(phrase: str) -> re.Pattern[str]:
    """`phrase` as plain text (not a regex) matched as whole words in any case; a space in it matches
    any run of whitespace (an abstract wraps lines)."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", _FLAGS)


class DomainCue:
    """The `domain_cues` of a taxonomy's own `weekly:` block: finds the one a text uses (None when it
    uses none). With no cues listed, none is required (`required` is False)."""

    def __init__(self, phrases: Sequence[str]) -> None:
        self._patterns = [_cue_pattern(p) for p in phrases if p.split()]
        self.required = bool(self._patterns)

    def find(self, text: str) -> str | None:
        """The earliest domain cue phrase in `text` (the longest of those starting there), or None."""
        found = [m for m in (p.search(text) for p in self._patterns) if m]
        return min(found, key=lambda m: (m.start(), -len(m.group(0)))).group(0) if found else None

    def elsewhere(self, text: str) -> str | None:
        """Always None: a block lists no phrases pointing to another field."""
        return None


def top_k_similarity(vectors: np.ndarray, corpus: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Mean of each row's k highest cosines to the corpus rows (0 for an empty corpus)."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if corpus.size == 0 or len(vectors) == 0:
        return np.zeros(len(vectors), dtype=np.float32)
    sims = vectors @ corpus.T
    k = min(k, sims.shape[1])
    top = -np.sort(-sims, axis=1)[:, :k]
    return top.mean(axis=1)


def leave_one_out_similarity(corpus: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """For each corpus row, the mean top-k cosine to the OTHER rows (positives for calibration)."""
    sims = corpus @ corpus.T
    np.fill_diagonal(sims, -np.inf)
    k = min(k, max(1, len(corpus) - 1))
    top = -np.sort(-sims, axis=1)[:, :k]
    return top.mean(axis=1)


def calibrate_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The cut maximising Youden's J (TPR - FPR), midway between the scores bracketing it."""
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("calibration needs positive and negative scores")
    scores = np.unique(np.concatenate([pos, neg]))
    best_j, best_cut = -np.inf, float(scores[0])
    for i, cut in enumerate(scores):
        j = float((pos >= cut).mean() - (neg >= cut).mean())
        if j > best_j:
            below = scores[i - 1] if i > 0 else cut
            best_j, best_cut = j, float((cut + below) / 2)
    return round(best_cut, 3)


def load_corpus(store: GraphStore, exclude: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
    """Ids and embedding matrix of the stored papers (the MI corpus the gate compares against)."""
    ids = [i for i in store.paper_ids() if i not in set(exclude)]
    vectors = store.get_embeddings(ids)
    kept = [i for i in ids if i in vectors]
    if not kept:
        return [], np.zeros((0, 0), dtype=np.float32)
    return kept, np.stack([np.asarray(vectors[i], dtype=np.float32) for i in kept])


class RelevanceGate:
    """Decides which weekly candidates are MI on language models, or in the field of a taxonomy with its
    own `weekly:` block (see the module docstring)."""

    def __init__(
        self, taxonomy: Taxonomy, *, extractor: PaperExtractor | None = None, corpus_ids: Sequence[str] = (),
        corpus: np.ndarray | None = None, threshold: float = SIMILARITY_THRESHOLD, k: int = TOP_K,
    ) -> None:
        if extractor is None:
            from ingest.extract import Extractor

            extractor = Extractor(taxonomy)
        self.taxonomy = taxonomy
        self.extractor = extractor
        self.corpus_ids = list(corpus_ids)
        self.corpus = corpus if corpus is not None else np.zeros((0, 0), dtype=np.float32)
        self.threshold = float(threshold)
        self.k = k
        # A taxonomy with its own weekly block is judged by its cues and lists; without one, by the
        # built-in MI rules, exactly as before blocks existed.
        self.settings: WeeklySettings | None = taxonomy.weekly
        self.cue: LMCue | DomainCue
        self.generic_ids: frozenset[str]
        self._specific: Mapping[str, Sequence[re.Pattern[str]]] = {}
        if self.settings is None:
            self.cue, self.generic_ids = LMCue(taxonomy), GENERIC_TECHNIQUES
        else:
            self.cue = DomainCue(self.settings.domain_cues)
            self.generic_ids = self.settings.generic_techniques
            self._specific = {tid: [_cue_pattern(p) for p in phrases]
                              for tid, phrases in self.settings.specific_phrases.items()}

    @classmethod
    def from_store(cls, store: GraphStore, taxonomy: Taxonomy, **kwargs: Any) -> RelevanceGate:
        """A gate comparing candidates with every paper embedding in the store."""
        ids, corpus = load_corpus(store)
        return cls(taxonomy, corpus_ids=ids, corpus=corpus, **kwargs)

    def similarity(self, vectors: np.ndarray, exclude_ids: Sequence[str | None] = ()) -> np.ndarray:
        """Mean top-k cosine of each vector to the corpus, leaving out the candidate's own paper."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if self.corpus.size == 0:
            return np.zeros(len(vectors), dtype=np.float32)
        out = np.empty(len(vectors), dtype=np.float32)
        index = {pid: i for i, pid in enumerate(self.corpus_ids)}
        for row, vector in enumerate(vectors):
            own = exclude_ids[row] if row < len(exclude_ids) else None
            if own in index:  # a new version of a stored paper must not match itself
                mask = np.ones(len(self.corpus), dtype=bool)
                mask[index[own]] = False
                out[row] = top_k_similarity(vector, self.corpus[mask], self.k)[0]
            else:
                out[row] = top_k_similarity(vector, self.corpus, self.k)[0]
        return out

    def technique_evidence(self, extraction: Extraction, text: str) -> tuple[list[str], list[str]]:
        """(specific technique ids, generic technique ids) of an extraction of `text`."""
        lowered = text.casefold()
        specific: list[str] = []
        generic: list[str] = []
        for use in extraction.techniques:
            node = self.taxonomy.by_id.get(use.technique_id)
            if node is not None and node.label != Label.TECHNIQUE:
                continue  # topics/evaluations are not technique evidence
            tid = use.technique_id
            is_generic = tid in self.generic_ids and not self._names_specifically(tid, text, lowered)
            target = generic if is_generic else specific
            if tid not in target:
                target.append(tid)
        return specific, [g for g in generic if g not in specific]

    def _names_specifically(self, tid: str, text: str, lowered: str) -> bool:
        """Whether `text` (`lowered`: case-folded) has a specific spelling of generic technique `tid`."""
        if self.settings is None:
            return any(phrase in lowered for phrase in SPECIFIC_PHRASES.get(tid, ()))
        return any(p.search(text) for p in self._specific.get(tid, ()))

    def judge(self, paper_id: str, title: str, abstract: str, score: float,
              extraction: Extraction | None = None) -> RelevanceDecision:
        """Decide for one candidate given its corpus similarity `score` (and its extraction, if known)."""
        text = f"{title}. {abstract}"
        if extraction is None:
            extraction = self.extractor.extract(paper_id, title, abstract)
        specific, generic = self.technique_evidence(extraction, text)
        cue = self.cue.find(text)
        network = None  # the built-in gate's stand-in for a missing LM cue
        score = round(float(score), 4)
        facts = [
            f"techniques: {', '.join(specific) or 'none'}",
            *([f"generic only: {', '.join(generic)}"] if generic else []),
            f"similarity {score:.3f} (threshold {self.threshold:.3f})",
        ]
        if isinstance(self.cue, LMCue):  # the built-in MI gate (no weekly block)
            network = None if cue else self.cue.network(text)
            if cue:
                facts.append(f"LM cue: {cue!r}")
            elif network:
                facts.append(f"no language-model cue; network cue: {network!r}")
            else:
                facts.append("no language-model cue")
            if cue is None and (other := self.cue.elsewhere(text)):
                facts.append(f"about another field: {other!r}")
            # What each outcome means for the built-in MI gate: (no cue, technique, similar, neither).
            whys = ("not about language models", "MI technique on a language model",
                    "similar to the MI corpus", "no MI technique and not similar enough to the MI corpus")
        else:
            if cue:
                facts.append(f"domain cue: {cue!r}")
            elif self.cue.required:
                facts.append("no domain cue")
            whys = ("not about the taxonomy's field", "specific technique of the taxonomy",
                    "similar to the stored corpus",
                    "no specific technique and not similar enough to the stored corpus")
        missing = cue is None and network is None and self.cue.required
        detail = "; ".join(facts)
        if missing:
            keep, why = False, whys[0]
        elif network is not None:
            # "Neural network" is in almost every ML abstract, and "sparse autoencoder" or "linear probe"
            # in many that are not MI (fault diagnosis, intrusion detection): only closeness to the MI
            # corpus stands in for the missing language-model cue (review).
            keep = score >= self.threshold
            why = whys[2] if keep else "not about language models and not similar enough to the MI corpus"
        elif specific:
            keep, why = True, whys[1]
        elif score >= self.threshold:
            keep, why = True, whys[2]
        else:
            keep, why = False, whys[3]
        return RelevanceDecision(keep, f"{why} ({detail})", score, specific, generic, cue)

    def judge_many(
        self, items: Sequence[tuple[str, str, str]], vectors: np.ndarray
    ) -> list[RelevanceDecision]:
        """Decide for (paper id, title, abstract) items with their embeddings (one row each)."""
        items = list(items)
        if not items:
            return []
        scores = self.similarity(vectors, [pid for pid, _t, _a in items])
        many = getattr(self.extractor, "extract_many", None)
        extractions = many(items) if many else [self.extractor.extract(*item) for item in items]
        return [
            self.judge(pid, title, abstract, float(s), extraction)
            for (pid, title, abstract), s, extraction in zip(items, scores, extractions, strict=True)
        ]


def rejection_for(arxiv_id: str, title: str, decision: RelevanceDecision, run_id: str | None) -> Rejection:
    """The audit record of a rejected candidate."""
    return Rejection(arxiv_id=arxiv_id, title=title, reason=decision.reason, score=decision.score,
                     run_id=run_id)
