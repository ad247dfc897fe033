"""Helpers that explain results: taxonomy labels, query terms, sentence splitting and matching."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from kg.acronyms import taxonomy_long_forms
from kg.entities import TaxonomyNode
from kg.validation import fold_for_search

# A sentence ends at . ! ? before a capital or digit, except after abbreviations abstracts use
# mid-sentence ("e.g. GPT-2", "Olsson et al. 2022").
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bet al\.)(?<!\bcf\.)(?<!\bvs\.)(?<!\bFig\.)"
    r"(?<!\bEq\.)(?<!\bSec\.)(?<!\bapprox\.)\s+(?=[\"'(\[]?[A-Z0-9])"
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "how", "in",
    "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to", "was",
    "were", "what", "when", "where", "which", "who", "why", "with", "we", "our", "us", "do",
    "does", "not", "can",
))


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Any of the (case-folded) phrases as whole words, plural allowed ("lens" finds "lenses"),
    longest first; group 1 is the phrase as given. None for no phrase."""
    ordered = sorted(set(phrases), key=lambda s: (-len(s), s))
    if not ordered:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in ordered) + r")(?:e?s)?(?!\w)")


def split_sentences(text: str) -> list[str]:
    """Split an abstract into sentences (simple punctuation rule; good enough to pick a snippet)."""
    text = " ".join((text or "").split())
    if not text:
        return []
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@functools.lru_cache(maxsize=65536)
def _norm(token: str) -> str:
    # A crude plural rule so "probes" matches "probe" and "heads" matches "head".
    token = token.casefold()
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    return token


def query_terms(query: str) -> set[str]:
    """Normalised content words of a query (stop words dropped), folded as keyword search folds them
    (fold_for_search: "Søgaard" and "Sogaard" are one term), so the words shown as matched are the ones
    keyword search matched."""
    # Folded before the split: a decomposed accent ("i" + U+0308) is no word character and would
    # cut the word in two, where keyword search drops it.
    words = _WORD.findall(fold_for_search(query or ""))
    return {_norm(t) for t in words if t.casefold() not in _STOPWORDS}


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


@functools.lru_cache(maxsize=8192)
def _fold_run(run: str) -> tuple[str, ...] | None:
    """What each character of a run of non-ASCII text folds to; None when each folds to one character."""
    # fold_for_search folds character by character (a translate table), so this is the run's fold.
    pieces = tuple(fold_for_search(ch) for ch in run)
    return None if all(len(piece) == 1 for piece in pieces) else pieces


def _fold_spans(length: int, runs: list[tuple[int, tuple[str, ...]]]) -> tuple[list[int], list[int]]:
    """For each character of fold_for_search(text) (`length`: len(text); `runs`: where a run of
    characters folds to a different length, and to what), the start and end in `text` of the
    character it was folded from. One character may fold to two ("ß" -> "ss"), or to none (an accent
    of decomposed text: it joins the span of the character before it)."""
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for at, pieces in runs:
        starts.extend(range(pos, at))
        ends.extend(range(pos + 1, at + 1))
        for i, piece in enumerate(pieces, start=at):
            if piece:
                starts.extend([i] * len(piece))
                ends.extend([i + 1] * len(piece))
            elif ends:
                ends[-1] = i + 1
        pos = at + len(pieces)
    starts.extend(range(pos, length))
    ends.extend(range(pos + 1, length + 1))
    return starts, ends


def folded_words(text: str) -> Iterator[tuple[str, int, int]]:
    """The words of fold_for_search(text), each with the start and end of the span of `text` it was
    folded from ("Straße ﬁnding" -> ("Strasse", 0, 6), ("finding", 7, 13)), to mark the original."""
    if text.isascii():
        for match in _WORD.finditer(text):
            yield match.group(0), match.start(), match.end()
        return
    folded = fold_for_search(text)
    # Only where a character folds to more or fewer than one (rare: ß, ligatures, decomposed accents)
    # do positions shift; elsewhere the folded text's positions are the original's (é -> e, ø -> o).
    runs = [(m.start(), pieces) for m in _NON_ASCII_RUN.finditer(text)
            if (pieces := _fold_run(m.group(0))) is not None]
    if not runs:
        for match in _WORD.finditer(folded):
            yield match.group(0), match.start(), match.end()
        return
    starts, ends = _fold_spans(len(text), runs)
    for match in _WORD.finditer(folded):
        yield match.group(0), starts[match.start()], ends[match.end() - 1]


def best_sentence_by_overlap(
    query: str, sentences: Sequence[str], terms: set[str] | None = None,
    matched: Callable[[str], set[str]] | None = None,
) -> tuple[str | None, float]:
    """The sentence sharing the most query terms (ties: the earlier one) and its overlap count; words
    are compared folded, as keyword search compares them (query_terms). `matched`: the terms a sentence
    has, when another rule counts them (an acronym's long form: kg.search)."""
    terms = query_terms(query) if terms is None else terms
    best, best_score = None, 0.0
    for sentence in sentences:
        if matched is not None:
            score = float(len(matched(sentence)))
        else:
            score = float(len(terms & set(map(_norm, _WORD.findall(fold_for_search(sentence))))))
        if score > best_score:
            best, best_score = sentence, score
    if best is None and sentences:
        return sentences[0], 0.0
    return best, best_score


def best_sentence_by_cosine(
    query_vector: np.ndarray, sentences: Sequence[str], vectors: np.ndarray
) -> tuple[str | None, float]:
    """The sentence whose embedding is closest to the query embedding, and that cosine."""
    if not sentences or vectors.size == 0:
        return None, 0.0
    sims = vectors @ query_vector.astype(np.float32)
    i = int(np.argmax(sims))
    return sentences[i], float(sims[i])


class Labels:
    """Taxonomy look-ups by id: display name and graph label (Technique, Topic, Model ...)."""

    def __init__(self, nodes: Iterable[TaxonomyNode]) -> None:
        self.nodes = {n.id: n for n in nodes}
        self._phrases: dict[str, dict[str, set[str]]] = {}
        self._phrase_re: dict[str, re.Pattern[str] | None] = {}
        self._family: dict[str, str] = {}  # related() asks for the same few ids per candidate

    @functools.cached_property
    def acronym_long_forms(self) -> dict[str, str]:
        """Acronym (case-folded) -> long form its node's aliases spell out ("icl": "in-context learning")."""
        return taxonomy_long_forms(self.nodes.values())

    def name(self, node_id: str) -> str:
        """Display name of a node (its id when unknown)."""
        node = self.nodes.get(node_id)
        return node.name if node else node_id

    def label(self, node_id: str) -> str | None:
        """Graph label of a node, or None when unknown."""
        node = self.nodes.get(node_id)
        return node.label if node else None

    def of_label(self, ids: Iterable[str], label: str) -> list[str]:
        """The ids that are nodes of one graph label, sorted."""
        return sorted(i for i in ids if self.label(i) == label)

    def family(self, node_id: str) -> str:
        """The node's top ancestor of the same label (CMA for ACDC, Knockout for mean ablation)."""
        cached = self._family.get(node_id)
        if cached is not None:
            return cached
        node = self.nodes.get(node_id)
        seen = {node_id}
        while node is not None and node.parent in self.nodes and node.parent not in seen:
            parent = self.nodes[node.parent]
            if parent.label != node.label:
                break
            seen.add(parent.id)
            node = parent
        root = self._family[node_id] = node.id if node is not None else node_id
        return root

    def descendants(self, node_id: str) -> set[str]:
        """The node and every node refining it (same label), transitively."""
        children: dict[str, list[str]] = {}
        for n in self.nodes.values():
            if n.parent:
                children.setdefault(n.parent, []).append(n.id)
        root = self.nodes.get(node_id)
        out, stack = set(), [node_id]
        while stack:
            current = stack.pop()
            if current in out:
                continue
            out.add(current)
            stack.extend(
                c for c in children.get(current, [])
                if root is None or self.nodes[c].label == root.label
            )
        return out

    def techniques_in_text(self, text: str, label: str = "Technique") -> set[str]:
        """Ids of nodes of `label` whose name or unambiguous alias occurs in the text as words."""
        return {i for ids in self.phrases_in_text(text, label).values() for i in ids}

    def criteria_in_query(self, text: str) -> dict[str, set[str]]:
        """Evaluation criteria a query names, by matched phrase: the name or a multi-word alias.

        One-word aliases such as "faithful" also describe other things ("faithful chain-of-thought")
        and do not count here.
        """
        return {phrase: ids for phrase, ids in self.phrases_in_text(text, "Evaluation").items()
                if " " in phrase or any(phrase == self.name(i).casefold() for i in ids)}

    def phrases_in_text(self, text: str, label: str) -> dict[str, set[str]]:
        """Names and unambiguous aliases of `label` nodes that occur in the text as words, with their ids."""
        if label not in self._phrase_re:
            # One alternation per label, longest phrase first, compiled once per Labels object.
            phrases: dict[str, set[str]] = {}
            for node in self.nodes.values():
                if node.label != label:
                    continue
                ambiguous = {a.casefold() for a in node.ambiguous_aliases}
                for phrase in {node.name, *node.aliases}:
                    key = phrase.casefold().strip()
                    if key and key not in ambiguous:
                        phrases.setdefault(key, set()).add(node.id)
            self._phrases[label] = phrases
            self._phrase_re[label] = phrase_pattern(phrases)
        pattern = self._phrase_re[label]
        if pattern is None or not text:
            return {}
        return {m.group(1): self._phrases[label][m.group(1)] for m in pattern.finditer(text.casefold())}
