"""Helpers that explain results: taxonomy labels, query terms, sentence splitting and matching."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from kg.acronyms import taxonomy_long_forms
from kg.entities import Paper, TaxonomyNode
from kg.validation import (
    FRAMING_WORDS,
    fold_for_search,
    initials,
    joined_forms,
    query_words,
    search_forms,
    search_terms,
    venue_search_text,
)

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
    # A citation's "et al." (validation.STOPWORDS: keyword search does not look for them either).
    "et", "al",
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
    words = [t for t in _WORD.findall(fold_for_search(query or "")) if t.casefold() not in _STOPWORDS]
    # Nor an initial ("N. Nanda", not the "k" of "top-k"), unless nothing else is left, as keyword
    # search (validation.initials).
    dropped = initials(query or "")
    content = [t for t in words if t.casefold() not in dropped]
    return {_norm(t) for t in content or words}


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


# Words that only frame a request for a technique ("papers that use probing"): kg.search's evidence
# rule and the best sentence both leave them out.
REQUEST_WORDS = frozenset(query_terms(
    "paper papers use uses using used apply applies applying applied method methods technique "
    "techniques work works study studies approach approaches evaluate evaluates evaluating "
    "evaluation evaluations measure measures measuring about"))

# Words that frame a question rather than name what it is about ("what do papers say about Pythia",
# "what has been found about the residual stream"): a sentence sharing only these with the query is
# no answer. Added to REQUEST_WORDS and kg.validation.FRAMING_WORDS (see _filler_terms).
QUESTION_WORDS = frozenset((
    "say", "says", "said", "saying", "tell", "tells", "told", "know", "knows", "known", "found",
    "been", "being", "done", "did", "doing", "there", "any", "anything", "whether", "recent", "latest",
))


@functools.cache
def _filler_terms() -> frozenset[str]:
    """The query terms (query_terms' normal form) of the words that only frame a question."""
    return frozenset(REQUEST_WORDS | query_terms(" ".join(FRAMING_WORDS | QUESTION_WORDS)))


def content_terms(terms: set[str]) -> set[str]:
    """The terms less those only framing a question (QUESTION_WORDS and kind); all of them when
    nothing else is left ("papers")."""
    return (terms - _filler_terms()) or terms


# A word of letters followed, after a hyphen or a space, by a word starting with a digit: "GPT-2",
# "Llama 2", "Pythia-70M". Written as one word ("GPT2") in other papers and queries.
_SPLIT_NAME = re.compile(r"(?<![^\W_])([^\W_]*[^\W\d_])[-\u2010\u2011 ](\d[^\W_]*)(?![^\W_])")
# One word of letters then digits ("gpt2", "pythia70m"): also written apart ("GPT-2").
_JOINED_NAME = re.compile(r"([^\W\d_]+)(\d[^\W_]*)")


def sentence_words(sentence: str) -> set[str]:
    """The sentence's words as query_terms normalises them (stop words kept), with each name of letters
    and digits in both spellings: "GPT-2" and "Llama 2" also as "gpt2" and "llama2", "GPT2" also as
    "gpt" and "2", so the query "GPT2" matches a sentence saying "GPT-2" and the other way round."""
    folded = fold_for_search(sentence or "")
    words = {_norm(w) for w in _WORD.findall(folded)}
    for match in _SPLIT_NAME.finditer(folded):
        words.add(_norm(match.group(1) + match.group(2)))
    for word in list(words):
        joined = _JOINED_NAME.fullmatch(word)
        if joined:
            words.update((joined.group(1), joined.group(2)))
    return words


# A sentence that only points to code or data: a URL, or "code ... available" with nothing else to say.
_URL = re.compile(r"(?:https?://|www\.|github\.com/|huggingface\.co/)\S+", re.IGNORECASE)
_POINTER = re.compile(
    r"\b(?:code|data|datasets?|implementations?|models|weights|repository|demo)\b[^.]{0,40}?"
    r"(?:\b(?:is|are)\s+(?:(?:publicly|freely|also|now)\s+)?available\b|\bcan\s+be\s+found\b"
    r"|\bavailable\s+(?:at|online|on)\b|\b(?:is|are)\s+(?:publicly\s+)?released\b)"
    r"|\bwe\s+(?:publicly\s+)?(?:release|open[- ]source)\s+(?:all\s+)?(?:our\s+|the\s+)?"
    r"(?:code|implementation|library)\b",
    re.IGNORECASE)
# A pointer sentence this long (in words) carries a claim too ("We find X ... (code: https://...)").
POINTER_MAX_WORDS = 25


def is_pointer(sentence: str) -> bool:
    """Whether a sentence is only a pointer to code, data or a web page ("All code ... can be found
    at https://github.com/..."): a URL or an availability phrase, in a short sentence."""
    if len(_WORD.findall(_URL.sub(" ", sentence))) > POINTER_MAX_WORDS:
        return False
    return bool(_URL.search(sentence) or _POINTER.search(sentence))


# Claim cues, as the extractor finds findings (ingest/extract.py is_claim: "we (also) find / show /
# discover / demonstrate ...", "our results suggest ..."), in plain words: used only to break ties
# when the caller has no findings to pass.
_CLAIM_CUE = re.compile(
    r"\bwe\s+(?:\w+\s+){0,2}?(?:find|found|show|showed|shown|discover|discovered|demonstrate|"
    r"demonstrated|observe|observed|identify|identified|reveal|revealed|uncover|uncovered|confirm|"
    r"confirmed|establish|established|prove|proved|localize|localized|unveil)\b"
    r"|\b(?:results|findings|experiments|analysis|analyses|evidence)\s+(?:\w+\s+)?(?:show|shows|"
    r"suggest|suggests|reveal|reveals|indicate|indicates|demonstrate|demonstrates|confirm|confirms|"
    r"uncover|uncovers|unveil|unveils)\b",
    re.IGNORECASE)


def _same_sentence(a: str, b: str) -> bool:
    # A finding is stored as the extractor split it, which may differ from split_sentences: either
    # may hold the other (as kg.search matches tag evidence).
    a, b = " ".join(a.split()), " ".join(b.split())
    return bool(a and b) and (a in b or b in a)


def best_sentence_by_overlap(
    query: str, sentences: Sequence[str], terms: set[str] | None = None,
    matched: Callable[[str], set[str]] | None = None, claims: Sequence[str] | None = None,
) -> tuple[str | None, float]:
    """The sentence sharing the most of the query's content terms, the rarer among the sentences
    weighing more (_rarity), and how many it shares.

    Words are compared folded, as keyword search compares them (query_terms), names of letters and
    digits in either spelling (sentence_words: "GPT2" matches "GPT-2"). Words that only frame a
    question ("what do papers say about ...") count only when the query has nothing else
    (content_terms). A sentence that only points to code or a URL (is_pointer) is not chosen while
    another is left. Ties (no sentence sharing a word included): the first of the paper's findings
    (`claims`: the texts of its claim findings; None: sentences saying "we find / show ..." stand in
    for them), else the earlier sentence. `matched`: the terms a sentence has, when another rule
    counts them too (an acronym's long form: kg.search)."""
    terms = query_terms(query) if terms is None else terms
    content = content_terms(terms)
    candidates = [s for s in sentences if not is_pointer(s)] or list(sentences)
    if not candidates:
        return None, 0.0

    def is_claim(sentence: str) -> bool:
        if claims is None:
            return bool(_CLAIM_CUE.search(sentence))
        return any(_same_sentence(sentence, c) for c in claims)

    shared = []
    for sentence in candidates:
        found = content & sentence_words(sentence)
        if matched is not None:
            found |= content & matched(sentence)
        shared.append(found)
    weight = _rarity(shared)
    best, best_key, best_count = candidates[0], (-1.0, False), 0
    for sentence, found in zip(candidates, shared, strict=True):
        # fsum: the same words weigh the same whatever the set's order, so equals stay equal.
        key = (math.fsum(weight[t] for t in found), is_claim(sentence))
        # The first claim among the sentences of the highest weight, else the first of them.
        if key > best_key:
            best, best_key, best_count = sentence, key, len(found)
    return best, float(best_count)


def _rarity(shared: Sequence[set[str]]) -> dict[str, float]:
    """Each query term's weight among the sentences (`shared`: the query terms each has): log(1 + N / n)
    of N sentences, n of them with the term."""
    # Why: a word most sentences of the abstract have ("model") tells none apart, and counted as much
    # as a rare one ("detect") it chose a sentence that merely mentions it (the tuned lens for "can we
    # detect if a model is lying"). Within the abstract, so both backends weigh alike with no store
    # read. Smoothed (never 0): a sentence sharing a word still beats one sharing none, and two shared
    # words mostly beat one rarer one.
    counts: dict[str, int] = {}
    for found in shared:
        for term in found:
            counts[term] = counts.get(term, 0) + 1
    return {term: math.log1p(len(shared) / n) for term, n in counts.items()}


def paper_words(paper: Paper) -> set[str]:
    """The words keyword search finds a paper by (title, abstract, authors and venue:
    validation.venue_search_text), as sentence_words gives them."""
    return sentence_words(" ".join((paper.title, paper.abstract or "", " ".join(paper.authors),
                                    venue_search_text(paper.venue, paper.url))))


def telling_words(query: str, common: Callable[[list[str]], set[str]]) -> list[list[frozenset[str]]] | None:
    """The query's content words that most papers lack, each as the forms keyword search matches for it
    alone, each form as its query terms ("behaviour": behaviour, behavior; "pretrained": pretrained,
    pre + trained): a paper with all the terms of any one form has the word. None when it has no such
    word (every one common: having any of them is a match). `common`: which of some words most papers
    have (GraphStore.common_words)."""
    # Keyword search also looks for a hyphenated pair joined ("auto-encoder": autoencoder) as a word of
    # its own. Words that only frame the question ("papers", "there") are left out, as content_terms does.
    typed = [*query_words(query), *joined_forms(query)]
    words = list(dict.fromkeys(w for w in typed if query_terms(w) - _filler_terms()))
    if not words:
        return None
    most = common(words)
    # Every form common_words counts (search_terms, search_forms): a paper keyword search found by
    # "behavior" for "behaviour" holds the word, not only common ones.
    telling = [forms for w in words if w not in most and (forms := list(dict.fromkeys(
        frozenset(terms) for t in search_terms(w) for f in search_forms(t) if (terms := query_terms(f)))))]
    return telling or None


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
        self._ancestors: dict[str, tuple[str, ...]] = {}  # related() asks for the same few ids per candidate

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

    def ancestors(self, node_id: str) -> tuple[str, ...]:
        """The node's parent, its parent's parent ... of the same label, nearest first."""
        cached = self._ancestors.get(node_id)
        if cached is not None:
            return cached
        up: list[str] = []
        node = self.nodes.get(node_id)
        seen = {node_id}
        while node is not None and node.parent in self.nodes and node.parent not in seen:
            parent = self.nodes[node.parent]
            if parent.label != node.label:
                break
            seen.add(parent.id)
            up.append(parent.id)
            node = parent
        found = self._ancestors[node_id] = tuple(up)
        return found

    def family(self, node_id: str) -> str:
        """The node's top ancestor of the same label (CMA for ACDC, Knockout for mean ablation)."""
        up = self.ancestors(node_id)
        return up[-1] if up else node_id

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
