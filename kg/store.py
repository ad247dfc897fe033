"""The GraphStore interface: domain operations every backend implements, and the factory."""

from __future__ import annotations

import abc
import enum
import re
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

import numpy as np

from kg.config import Config
from kg.entities import (
    IngestRun,
    Paper,
    PaperBundle,
    PaperDetail,
    Rejection,
    RelatedCandidate,
    ScoredId,
    SearchFilters,
    TaxonomyNode,
    TechniqueCount,
)
from kg.validation import check_paper_id


def common_word_limit(papers: int) -> int:
    """How many of `papers` papers must have a word for it to be common (GraphStore.common_words):
    more than half."""
    # Past half, BM25's own weight of a word (Robertson-Sparck Jones idf, log((N - n + 0.5) / (n + 0.5)))
    # is zero or less: having it tells nothing about what a paper is about ("models", "language").
    return max(0, papers) // 2 + 1


# One wording for a store with no papers, on every surface (CLI, web, JSON API): what is wrong and
# the two commands that fix it.
EMPTY_STORE_MESSAGE = ("this store has no papers yet: load some with `paperkg ingest list` (the awesome-list "
                       "and its arXiv papers) or `paperkg ingest records FILE.jsonl`")
# What to do about papers extracted with another taxonomy or extractor (GET /api/status, the weekly summary):
# after a taxonomy edit the store's copy of the taxonomy is updated first, or the re-extraction reads the old.
REEXTRACT_ADVICE = "run `paperkg ingest reextract` (after `paperkg init` if the taxonomy file changed)"

# Whether a word is common changes only when papers are ingested or deleted, and every hybrid search page
# asks (api.web: the no-word-match notice): one count walks up to half the papers' matches per word (50k
# at 100k papers). Per store, at most COMMON_WORDS_CACHE_SIZE words (oldest first out: made-up words must
# not grow it for ever), each for COMMON_WORDS_TTL seconds.
COMMON_WORDS_TTL = 600.0
COMMON_WORDS_CACHE_SIZE = 4096
_COMMON_WORDS_LOCK = threading.Lock()
_COMMON_WORDS: weakref.WeakKeyDictionary[GraphStore, OrderedDict[str, tuple[float, int, bool]]] = (
    weakref.WeakKeyDictionary())


def _common_words_cache(store: GraphStore) -> OrderedDict[str, tuple[float, int, bool]]:
    """The store's cache of common_words answers: word -> (when read, paper count then, common)."""
    try:
        return _COMMON_WORDS.setdefault(store, OrderedDict())
    except TypeError:  # a store that cannot be weakly referenced is simply not cached
        return OrderedDict()


class StoreError(RuntimeError):
    """The store cannot do what was asked (unreachable, locked, corrupt)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (e.g. Neo4j down)."""


class StoreDamaged(StoreError):
    """The store's file is damaged (a corrupt page or header): the message names it and what to do."""


class NoStore(StoreUnavailable):
    """The configured place holds no paperkg store (no file, an empty file, another database, a store
    never initialised). A StoreUnavailable: a server answers 503 until `paperkg init` or an ingest
    creates one."""


class AnyHolder(enum.Enum):
    """acquire_lock's `expected` when the caller read no holder: the holder is not compared."""

    ANY = "any"


ANY_HOLDER = AnyHolder.ANY


class LockHeld(StoreError):
    """A named lock is held by another owner: `owner` and `expires` (epoch seconds) say who and until when."""

    def __init__(self, message: str, *, name: str = "", owner: str = "",
                 expires: float | None = None) -> None:
        super().__init__(message)
        self.name, self.owner, self.expires = name, owner, expires


def alias_rows(bundles: Sequence[PaperBundle]) -> list[dict[str, str]]:
    """A batch's PaperBundle.aliases as {"old_id": alias, "paper_id": its paper} rows, in batch order,
    without the aliases that are the id of a paper of the batch; ValueError naming the paper for an
    alias that is not a valid paper id (checked before anything is written)."""
    written = {b.paper.id for b in bundles}
    rows: dict[str, str] = {}
    for b in bundles:
        for alias in b.aliases:
            if not isinstance(alias, str):
                raise ValueError(f"paper {b.paper.id!r}: alias must be a string, not {type(alias).__name__}")
            try:
                check_paper_id(alias, "alias")
            except ValueError as exc:
                raise ValueError(f"paper {b.paper.id!r}: {exc}") from None
            if alias not in written:
                rows[alias] = b.paper.id  # an alias two papers of the batch claim leads to the later one
    return [{"old_id": alias, "paper_id": paper_id} for alias, paper_id in rows.items()]


# -- citation keys ------------------------------------------------------------------------------
# A paper's BibTeX citation key is issued by the store when the paper is first written: its base
# (api.bibtex.key_base: first author's family name, year, first title word) or, when an earlier paper
# was issued that, the base with the first free suffix a, b, ..., z, aa, ... Every key ever issued stays
# reserved (a registry of keys, kept when its paper is merged into another or deleted), so no two papers
# ever share one and a key a document cites never comes to name another paper. Once the paper has
# authors its key is pinned: a retitle, a new author order or a venue never changes it. A paper without
# authors (a list-only page) holds a provisional key, replaced once, when its authors first arrive.


def key_suffix(n: int) -> str:
    """The n-th key suffix (from 1): a, b, ..., z, aa, ab, ..."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def citation_key_base(paper: Paper) -> str:
    """The key the paper would have with no earlier paper holding it (api.bibtex.key_base)."""
    # The rule lives with the BibTeX writer (its author-name and publishing-host rules); imported only
    # when a write issues keys, so reads never load it.
    from api.bibtex import key_base

    return key_base(paper)


def has_authors(authors: Sequence[str]) -> bool:
    """Whether an author list names anyone (blank names are no author)."""
    return any(isinstance(a, str) and a.strip() for a in authors)


def _derived_from(key: str, base: str) -> bool:
    """Whether `key` is `base` or `base` with a key suffix (a, b, ..., aa, ...)."""
    rest = key[len(base):] if key.startswith(base) else None
    return rest is not None and (not rest or (rest.isascii() and rest.isalpha() and rest.islower()))


# What a store holds of a paper's key: (key or None when it has none, pinned).
HeldKey = tuple[str | None, bool]


def plan_citation_keys(
    bundles: Sequence[PaperBundle], held: dict[str, HeldKey], former: dict[str, str] | None = None,
    seen: dict[str, str] | None = None,
) -> tuple[dict[str, HeldKey], list[tuple[str, str]]]:
    """For papers about to be written, ({paper id: (key, pinned)} of those keeping a key, [(paper id,
    base)] of those to issue one, in the order to issue them: issue_order). `held`: the stored keys of
    the batch's papers and of the papers they replace (PaperBundle.replaces), by id; `seen`: the stored
    first_seen of those of them stored, by id; `former`: a key issued before to a paper id
    no stored paper has now (removed, say by a prune: the key it held last), by id. A paper keeps its
    own key, or takes over one of the stored papers it replaces (a slug by its arXiv id): the first
    pinned key of its own and theirs, else its own, else the first replaced one's (a provisional key
    left so stays taken); a paper stored again under an id that had a key gets it back. A kept key
    is pinned when it was or the paper now has authors. A provisional key (never pinned) is replaced
    once the paper has authors, unless it is already its base's."""
    kept: dict[str, HeldKey] = {}
    wanted: list[tuple[str, str]] = []
    for b in bundles:
        p = b.paper
        authored = has_authors(p.authors)
        own = held.get(p.id, (None, False))
        # Its own key and the replaced papers' (in order), those that have one: a pinned key is one a
        # document may cite for good, so it wins over a provisional one, even the paper's own.
        keyed = [h for h in (own, *(held.get(o, (None, False)) for o in b.replaces)) if h[0]]
        key, pinned = next((h for h in keyed if h[1]), keyed[0] if keyed else own)
        if not key and (former or {}).get(p.id):
            key, pinned = (former or {})[p.id], authored
        if key and (pinned or not authored):
            kept[p.id] = (key, pinned)
            continue
        base = citation_key_base(p)
        if key and _derived_from(key, base):
            kept[p.id] = (key, True)
        else:
            wanted.append((p.id, base))
    return kept, issue_order(bundles, wanted, seen or {})


def arxiv_order(arxiv_id: str | None) -> tuple[int, int, int] | None:
    """(year, month, number) of an arXiv id (`2311.01234`, `hep-th/9901001`, a version allowed): the
    order arXiv numbered its papers in, which is the order they were submitted; None for anything else."""
    new = re.fullmatch(r"(\d{2})(\d{2})\.(\d{4,5})(?:v\d+)?", arxiv_id or "")
    if new:
        return 2000 + int(new[1]), int(new[2]), int(new[3])
    old = re.fullmatch(r"[a-z][a-z-]*(?:\.[A-Za-z-]+)?/(\d{2})(\d{2})(\d{3})(?:v\d+)?", arxiv_id or "")
    if old:  # 1991 to 2007
        return (1900 if int(old[1]) >= 91 else 2000) + int(old[1]), int(old[2]), int(old[3])
    return None


def issue_order(bundles: Sequence[PaperBundle], wanted: list[tuple[str, str]], seen: dict[str, str]
                ) -> list[tuple[str, str]]:
    """`wanted` in the order its papers get keys: oldest first, by the first_seen each will have (its
    stored one, or the earliest of the papers it replaces; papers new to the store last, as they get
    the write's), and among papers of one first_seen first those with arXiv ids in the order arXiv
    numbered them, then the others by content_order, then by id: never in the order the batch has
    them, so the same papers get the same keys whatever order a source lists them in. A catch-up run
    that stores in one write what earlier runs stored one at a time (after a restored backup) so
    issues the suffixes they issued, whatever order arXiv listed the papers in, whenever the earlier
    runs stored the papers in arXiv's order; that order is also `paperkg export papers`'s (first_seen,
    then id) and the upgrade's for arXiv papers."""
    replaces = {b.paper.id: b.replaces for b in bundles}
    papers = {b.paper.id: b.paper for b in bundles}

    def rank(item: tuple[str, str]
             ) -> tuple[bool, str, bool, tuple[int, int, int], tuple[bool, str, str], str]:
        stamps = [seen[i] for i in (item[0], *replaces.get(item[0], ())) if seen.get(i)]
        paper = papers.get(item[0])
        arxiv = arxiv_order(paper.arxiv_id) if paper else None
        content = content_order(paper) if paper and not arxiv else (False, "", "")
        return not stamps, min(stamps, default=""), arxiv is None, arxiv or (0, 0, 0), content, item[0]

    # arXiv papers first, as before: their order is arXiv's, the one separate runs stored them in. No
    # place is kept for the others: where a source lists a paper says nothing of the paper.
    return sorted(wanted, key=rank)


def content_order(paper: Paper) -> tuple[bool, str, str]:
    """Where a paper without an arXiv id comes among the papers of one write getting keys, from the
    paper alone: by published date (a paper with only a year: that year, before its dates; with
    neither: last), then title key (ingest.normalize.title_key)."""
    # Imported only when a write issues keys, as citation_key_base's rule.
    from ingest.normalize import title_key

    date = (paper.published or "")[:10] or (f"{paper.year:04d}" if paper.year else "")
    return not date, date, title_key(paper.title)


# `paperkg keys restore`: a key BibTeX, biblatex and natbib read in \cite{...}, and a file name.
CITATION_KEY_MAX_CHARS = 100
_CITATION_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")


def check_citation_key(key: object) -> str:
    """`key` when it is a citation key a store may hold (1 to CITATION_KEY_MAX_CHARS ASCII letters,
    digits and `-_:.`), else ValueError saying why."""
    if not isinstance(key, str):
        raise ValueError(f"citation key must be a string, not {type(key).__name__}")
    if not key:
        raise ValueError("citation key is empty")
    if len(key) > CITATION_KEY_MAX_CHARS:
        raise ValueError(f"citation key is longer than {CITATION_KEY_MAX_CHARS} characters")
    if not set(key) <= _CITATION_KEY_CHARS:
        raise ValueError("citation key may hold only ASCII letters, digits and - _ : .")
    return key


@dataclass(frozen=True)
class KeyRestore:
    """What GraphStore.restore_citation_keys did: `restored` (paper id, key, the key it held before; None
    for an id no stored paper has, whose key is reserved for it), `unchanged` (ids already holding
    theirs, or with it reserved) and `refused` (paper id, key, the other paper id the key was issued
    to: each keeps its own)."""

    restored: list[tuple[str, str, str | None]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)


def plan_key_restore(
    pins: Sequence[tuple[str, str]], held: dict[str, str | None], issued: dict[str, tuple[str, bool]],
) -> tuple[dict[str, str], KeyRestore]:
    """({paper id: key} to give, the outcome without those) for restore_citation_keys. `pins`: (paper id,
    key) in file order; `held`: the stored papers among them -> the key each holds; `issued`: each pinned
    key that was ever issued -> (paper id, held). A key goes to its paper when it was never issued, was
    issued to that paper, or is held by a stored paper the pins give another key that it gets too (keys
    a catch-up swapped swap back). A key issued to any other paper, held or not, is never given: a document
    citing that paper would come to cite another. An id pinned twice keeps its first key; a key pinned to two
    papers goes to the first."""
    outcome = KeyRestore()
    wanted: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for pid, key in pins:
        if pid in wanted or key in claimed:
            if wanted.get(pid) != key:  # a line repeated is no conflict
                outcome.refused.append((pid, key, claimed.get(key, pid)))
            continue
        wanted[pid], claimed[key] = key, pid
    # A paper holding its key, or an id no paper has with its key reserved already, is left as it is.
    moves = {pid: key for pid, key in wanted.items()
             if held.get(pid) != key and (pid in held or issued.get(key) != (pid, True))}
    outcome.unchanged.extend(pid for pid in wanted if pid not in moves)

    def free(pid: str, key: str) -> bool:
        owner, owner_holds = issued.get(key, (pid, False))
        return owner == pid or (owner_holds and held.get(owner) == key and owner in moves
                                and moves[owner] != key)

    # A swap needs both moves: drop the blocked ones until none is (each pass drops one or ends).
    while blocked := [pid for pid, key in moves.items() if not free(pid, key)]:
        for pid in blocked:
            outcome.refused.append((pid, moves.pop(pid), issued[wanted[pid]][0]))
    outcome.restored.extend((pid, key, held.get(pid)) for pid, key in moves.items())
    return moves, outcome


def issue_citation_keys(wanted: Sequence[tuple[str, str]], taken: set[str]) -> dict[str, str]:
    """{paper id: key} for each (paper id, base) of `wanted`, in order: the base, else the base with the
    first suffix no key of `taken` (every issued key starting with those bases) has; each added to it."""
    issued: dict[str, str] = {}
    # The suffix each base was last given here: those before it are taken (taken only grows), so many
    # papers sharing a base cost one try each, not one per earlier paper.
    tried: dict[str, int] = {}
    for paper_id, base in wanted:
        n = tried.get(base, 0)
        key = base + key_suffix(n)
        while key in taken:
            n += 1
            key = base + key_suffix(n)
        tried[base] = n
        taken.add(key)
        issued[paper_id] = key
    return issued


@dataclass(frozen=True)
class AuthorPage:
    """An author's papers (GraphStore.author_papers): the names the store holds for the key (the Author
    node's first, then the other spellings the papers' author lists give), a page of papers newest first,
    how many there are in all, and the most frequent coauthors as (key, name, shared papers)."""

    key: str
    names: list[str]
    papers: list[Paper]
    total: int
    coauthors: list[tuple[str, str, int]] = field(default_factory=list)


class GraphStore(abc.ABC):
    """Domain operations on the paper graph. Every backend passes tests/kg/test_store_contract.py."""

    # -- lifecycle -------------------------------------------------------------------------
    @abc.abstractmethod
    def init_schema(self) -> None:
        """Create tables / constraints / indexes idempotently (waits until they are usable), and bring
        stored data up to this version, e.g. title keys computed by an older title_key rule."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    @abc.abstractmethod
    def warm(self) -> None:
        """Load now what this process's first semantic search or related-papers request would load."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Self:
        """The store itself: `with open_store(config) as store:` closes it when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store (an exception raised in the block goes on)."""
        self.close()

    # -- taxonomy --------------------------------------------------------------------------
    @abc.abstractmethod
    def load_taxonomy(self, nodes: Sequence[TaxonomyNode]) -> None:
        """Upsert taxonomy nodes and their REFINES edges (child -> parent of the same label)."""

    @abc.abstractmethod
    def taxonomy_nodes(self, label: str | None = None) -> list[TaxonomyNode]:
        """All taxonomy nodes, or those of one label."""

    @abc.abstractmethod
    def prune_taxonomy(self, moves: Mapping[str, str | None], *, write: bool = True) -> dict[str, int]:
        """Remove the taxonomy nodes `moves` names (its keys), in one transaction: each one's paper edges
        (USES, EVALUATES, STUDIES, a finding's ABOUT; of any source) move to the node its value names
        (one of the same label; an edge the paper already has there is kept as it is), or are dropped
        when the value is None; its REFINES edges go. Ids the store lacks are skipped. Returns each
        removed id -> how many papers had an edge to it. `write=False`: only counts (a dry run: the
        targets need not be stored yet)."""

    # -- writes ----------------------------------------------------------------------------
    @abc.abstractmethod
    def upsert_papers(self, bundles: Sequence[PaperBundle]) -> dict[str, str]:
        """Insert or replace papers and all their outgoing edges, atomically per batch.

        Validates every bundle first (title present, embedding of EMBEDDING_DIM finite floats, not
        all zero, strings valid UTF-8) and raises ValueError naming the record before writing
        anything. Keeps `first_seen` of existing papers. A bundle's `replaces` ids are deleted in
        the same transaction and the paper takes the earliest first_seen of itself and the papers
        it replaced (stored ones only); it then counts as updated, even with an unchanged bundle.
        A bundle's `aliases` are written in the same transaction: each then leads to the paper
        (successor_of; an alias another paper claims later leads to that one), except one that is
        the id of a stored paper or of a paper of the batch. Aliases leave the status as it is.
        Each paper written holds a citation key (Paper.citation_key; the bundle's own is ignored): kept,
        taken over from a paper it replaces, or issued now (plan_citation_keys, issue_citation_keys).
        Returns {paper id: "new"|"updated"|"unchanged"} where unchanged means every stored
        property and edge was already equal.
        """

    @abc.abstractmethod
    def delete_paper(self, paper_id: str) -> bool:
        """Remove a paper and its edges (authors and taxonomy nodes stay). True if it existed."""

    @abc.abstractmethod
    def restore_citation_keys(self, pins: Sequence[tuple[str, str]]) -> KeyRestore:
        """Give each (paper id, key) of `pins` that key (after a restored backup re-issued keys in another
        order; `paperkg keys restore`), in one transaction, by plan_key_restore's rules: pinned when the
        paper has authors; the key it held stays taken (by it); an id no stored paper has gets the key
        reserved, as a removed paper's (upsert_papers gives it when that id is stored). Ids are the
        stored ids (resolve them first); keys must pass check_citation_key (ValueError before writing)."""

    # -- reads -----------------------------------------------------------------------------
    @abc.abstractmethod
    def successor_of(self, paper_id: str) -> str | None:
        """The id a paper now has when `paper_id` was replaced (a slug by its arXiv id) or given to a
        record merged into it (PaperBundle.aliases), else None."""

    @abc.abstractmethod
    def former_ids(self, paper_id: str) -> list[str]:
        """The ids that lead to the paper (successor_of gives `paper_id` for each), sorted: a slug it
        replaced, a record's id merged into it. Empty for an id that is no paper's."""

    @abc.abstractmethod
    def get_paper(self, paper_id: str) -> PaperDetail | None:
        """The paper with techniques, evaluations, findings, models and list rows."""

    def get_papers(self, paper_ids: Iterable[str]) -> list[Paper]:
        """Papers by id in the order given (missing ids are skipped, repeated ones repeated), without
        embeddings."""
        if isinstance(paper_ids, str):  # one id was taken as a list of one-letter ids: [] came back
            raise TypeError(f"get_papers takes a list of paper ids, not one string: "
                            f"get_papers([{paper_ids!r}])")
        given = list(paper_ids)  # once: a generator read twice gave [] (its second pass is empty)
        ids = list(dict.fromkeys(given))
        by_id = {p.id: p for p in self._papers_by_id(ids)} if ids else {}
        return [by_id[i] for i in given if i in by_id]

    @abc.abstractmethod
    def _papers_by_id(self, ids: list[str]) -> list[Paper]:
        """The stored papers of `ids` (distinct, not empty), in any order, without embeddings."""

    @abc.abstractmethod
    def find_paper_ids(
        self, *, arxiv_ids: Sequence[str] = (), dois: Sequence[str] = (),
        title_keys: Sequence[str] = (), shared: dict[str, list[str]] | None = None,
    ) -> dict[str, str]:
        """Map known arXiv ids / DOIs / normalised title keys to stored paper ids (for dedupe).

        A title key matches a paper by its current title, else (no current title has it) by the title one
        of its list rows gives (title_in_list, keyed by the same title_key): a records file made from the
        list names a paper arXiv has since renamed by its old title. A key several papers have gives the
        one to prefer (not withdrawn, then the oldest arXiv id, then the earliest first_seen, then
        insertion order); `shared`, when given, gets each such key with all their ids, that one first."""

    @abc.abstractmethod
    def paper_ids(self) -> list[str]:
        """Every paper id."""

    @abc.abstractmethod
    def papers_by_technique(
        self, technique_id: str, *, include_refinements: bool = True, sort: str = "date",
        limit: int = 20, offset: int = 0,
    ) -> tuple[list[Paper], int]:
        """Papers touching a taxonomy node, and their total count: a Technique by USES, an Evaluation
        by EVALUATES, a Topic or Object by the topic rule of the filters (a finding ABOUT it, or a
        list section whose innermost id segment contains its id); with include_refinements, the
        nodes refining it count too. Sort "date": newest first; "centrality": most connected.
        Unknown ids and other labels give ([], 0)."""

    @abc.abstractmethod
    def keyword_search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        """Full-text search over title, abstract and authors; user text is never interpreted as
        query syntax. Higher score is better."""

    def common_words(self, words: Sequence[str]) -> set[str]:
        """Those of `words` (query words) that more than half of the papers have in their title,
        abstract or authors (common_word_limit), each in any form keyword search gives it alone
        (validation.search_terms: "model" also as "models"); each word's answer cached per store."""
        wanted = list(dict.fromkeys(w for w in words if w))
        if not wanted:
            return set()
        papers = self._paper_count()
        limit = common_word_limit(papers)
        now = time.monotonic()
        # Keyed by the paper count too: a paper added or deleted counts at once, an edit within the TTL.
        with _COMMON_WORDS_LOCK:
            cache = _common_words_cache(self)
            known = {w: hit[2] for w in wanted if (hit := cache.get(w)) is not None
                     and hit[1] == papers and now - hit[0] < COMMON_WORDS_TTL}
        found = {w: self._text_matches(w, limit) >= limit for w in wanted if w not in known}
        with _COMMON_WORDS_LOCK:
            for word, common in found.items():
                cache.pop(word, None)
                cache[word] = (now, papers, common)
            while len(cache) > COMMON_WORDS_CACHE_SIZE:
                cache.popitem(last=False)
        return {w for w in wanted if known.get(w, found.get(w))}

    def holds_no_papers(self) -> bool:
        """Whether the store holds no paper at all: what every surface then says (EMPTY_STORE_MESSAGE)."""
        return self._paper_count() == 0

    @abc.abstractmethod
    def _paper_count(self) -> int:
        """How many papers there are (common_words' limit, holds_no_papers)."""

    @abc.abstractmethod
    def _text_matches(self, word: str, limit: int) -> int:
        """How many papers, counted up to `limit`, have `word` in their title, abstract or authors in any
        form keyword search gives it alone (common_words); 0 for a word with no form to look for."""

    @abc.abstractmethod
    def vector_search(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        """Top-k papers by cosine similarity to `vector`, after filters (exact on embedded)."""

    @abc.abstractmethod
    def filter_ids(self, filters: SearchFilters) -> set[str]:
        """Ids of the papers that pass the filters."""

    @abc.abstractmethod
    def filter_page(
        self, filters: SearchFilters, *, limit: int = 20, offset: int = 0
    ) -> tuple[list[str], int]:
        """A page of filtered ids newest first (published, else year, then id; undated last) and the total."""

    @abc.abstractmethod
    def get_embeddings(self, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of the given papers (papers without one are left out)."""

    @abc.abstractmethod
    def related_candidates(self, paper_id: str, limit: int = 200) -> list[RelatedCandidate]:
        """Papers sharing techniques, topics, components, models or authors with a paper."""

    @abc.abstractmethod
    def technique_document_frequency(self) -> dict[str, int]:
        """Number of papers using each technique (for IDF weighting)."""

    @abc.abstractmethod
    def paper_profiles(self, paper_ids: Sequence[str]) -> dict[str, set[str]]:
        """For each paper, the technique, evaluation, topic, object, component and model ids it touches."""

    @abc.abstractmethod
    def tag_evidence(self, paper_ids: Sequence[str], node_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """{paper id: {node id: evidence}}: the stored non-empty evidence of the papers' extracted USES and
        EVALUATES edges to the given nodes, as stored (USES first should a node have both)."""

    @abc.abstractmethod
    def technique_counts(self) -> list[TechniqueCount]:
        """Every Technique, Evaluation, Topic and Object node with own/total paper counts."""

    @abc.abstractmethod
    def cooccurring_techniques(self, technique_id: str, limit: int = 10) -> list[tuple[str, int]]:
        """Techniques used by the papers touching a node (as papers_by_technique, refinements
        included), most frequent first: technique X counts the papers the AND search of the node and X
        returns (technique_match "all", or the topic filter and X for a topic), X's refinements included.
        The node, its refinements and its ancestors are left out: with those the AND search gives a
        refinement's own papers (listed as refinements) or every paper of the node."""

    @abc.abstractmethod
    def papers_per_year(self, technique_id: str) -> dict[int, int]:
        """Counts by year of the papers touching a node (as papers_by_technique, refinements included)."""

    @abc.abstractmethod
    def new_papers(self, since: str, limit: int = 100, *, technique_ids: Sequence[str] = ()) -> list[Paper]:
        """Papers first seen at or after `since` (a date or RFC 3339 timestamp: kg.validation.parse_since),
        newest first; with `technique_ids`, only those using (USES) or evaluating by (EVALUATES) one of
        those Technique or Evaluation nodes or a refinement of one, transitively (the search filter's
        technique rule, matching any)."""

    @abc.abstractmethod
    def new_papers_page(self, since: str, *, limit: int = 50, offset: int = 0,
                        technique_ids: Sequence[str] = ()) -> tuple[list[Paper], int]:
        """A page of the papers first seen at or after `since` (new_papers' order, the first `offset`
        skipped, `technique_ids` as there) and how many there are in all, read together (one snapshot)."""

    @abc.abstractmethod
    def list_sections(self) -> list[dict[str, object]]:
        """List sections: id, title, path, paper count."""

    @abc.abstractmethod
    def list_rows_from(self, source: str) -> list[dict[str, object]]:
        """Every list row (LISTED_IN) of the papers whose sources include `source`, as {paper_id,
        title, section_id, section_path, line}, by paper id, then the paper's row order.

        With "list": the rows a list ingest wrote. A row does not record its own origin, but a list
        ingest always replaces the rows of the papers it stores and other sources never replace
        stored rows, so the rows of a paper with source "list" are a list ingest's (see
        ingest.prune.stale_list_rows)."""

    @abc.abstractmethod
    def stats(self) -> dict[str, dict[str, int]]:
        """{"nodes": {label: count}, "relationships": {type: count}}."""

    @abc.abstractmethod
    def embedding_models(self) -> dict[str, int]:
        """Number of stored papers with an embedding per `embedding_model` ("" for a vector without a
        model name); papers without an embedding are not counted."""

    @abc.abstractmethod
    def author_papers(self, key: str, *, limit: int = 20, offset: int = 0, since: str | None = None,
                      coauthors: int = 10, order: str = "date") -> AuthorPage | None:
        """The papers an Author (by kg.validation.author_key) wrote (AUTHORED_BY), a page of them and
        their total; `order` "date": newest first as papers_by_technique's "date" order (the author
        page), "first_seen": newest stored first, ties by id, as new_papers (the author
        feed: a paper stored today with an old date must not fall past the feed's first page); any
        other order is a ValueError. With `since`, only those first seen at or after it
        (kg.validation.parse_since); its names (the Author node's, then the papers' spellings in
        first_seen, id order) and at most `coauthors` coauthors, most shared papers first. None when
        no paper has that author."""

    # -- embedding cache -------------------------------------------------------------------
    @abc.abstractmethod
    def cached_embeddings(self, model: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors by sha256 of the embedded text, for one model."""

    @abc.abstractmethod
    def cache_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors keyed by sha256 of the embedded text."""

    # -- ingest runs, locks, rejections ----------------------------------------------------
    @abc.abstractmethod
    def start_run(self, source: str) -> IngestRun:
        """Record a run as started (status "running")."""

    @abc.abstractmethod
    def finish_run(
        self, run_id: str, status: str, counts: dict[str, object] | None = None,
        watermark: str | None = None, message: str | None = None,
    ) -> None:
        """Record how a run ended. The watermark is stored only with status "succeeded"."""

    @abc.abstractmethod
    def runs(self, source: str | None = None, limit: int = 50, status: str | None = None) -> list[IngestRun]:
        """Recent runs (of a source, with a status), newest first."""

    @abc.abstractmethod
    def last_watermark(self, source: str) -> str | None:
        """Watermark of the newest succeeded run of a source."""

    @abc.abstractmethod
    def acquire_lock(self, name: str, owner: str, ttl_seconds: int = 6 * 3600, *,
                     replacing: str | None = None, expected: str | AnyHolder | None = ANY_HOLDER) -> None:
        """Take a named lock or raise LockHeld (an expired lock is taken over).

        With `replacing`, a lock held by exactly that owner is taken over too (e.g. a holder known to be
        dead): a compare-and-set on the holder, so of several callers replacing the same holder one wins.
        With `expected`, the holder the caller read (None: nobody), another owner holding it now is
        refused even when its lock has expired: the caller decided about that holder, not this one.
        """

    @abc.abstractmethod
    def refresh_lock(self, name: str, owner: str, ttl_seconds: int) -> bool:
        """Push the expiry of a lock `owner` still holds (expired or not) `ttl_seconds` ahead; False,
        changing nothing, when another owner holds it or nobody does (it was taken over meanwhile)."""

    @abc.abstractmethod
    def lock_holder(self, name: str) -> tuple[str, float] | None:
        """Who holds a named lock and until when (epoch seconds), expired or not (None when nobody does);
        reading it changes nothing."""

    def lock_owner(self, name: str) -> str | None:
        """Who holds a named lock, expired or not (None when nobody does); reading it changes nothing."""
        holder = self.lock_holder(name)
        return None if holder is None else holder[0]

    @abc.abstractmethod
    def release_lock(self, name: str, owner: str) -> None:
        """Release a lock held by `owner` (no-op otherwise)."""

    @abc.abstractmethod
    def record_rejections(self, rejections: Sequence[Rejection]) -> None:
        """Keep rejected candidates (upsert by arXiv id + run)."""

    @abc.abstractmethod
    def rejections(self, since: str | None = None, limit: int = 500) -> list[Rejection]:
        """Rejected candidates seen at or after `since`, newest first."""

    @abc.abstractmethod
    def rejected_arxiv_ids(self, arxiv_ids: Sequence[str]) -> set[str]:
        """Which of these arXiv ids a weekly run rejected (any run, however long ago)."""


def require_store(config: Config) -> None:
    """Raise NoStore unless the configured embedded store file holds an initialised paperkg store
    (missing, 0 bytes, without paperkg's tables, or without a taxonomy: never initialised), StoreDamaged
    when it cannot be read; reads only. A Neo4j store is not checked here (an empty database is one
    `paperkg init` away)."""
    if config.neo4j_uri:
        return
    from kg.embedded import EmbeddedStore, check_store_file

    path = config.embedded_store_file
    check_store_file(path)
    # `paperkg init`, every ingest and `make demo` load the taxonomy right after creating the tables, so a
    # file with the tables but no taxonomy was made by something else (a server of an older paperkg
    # opening a mistyped PAPERKG_DATA_DIR) or by an init that stopped half-way: no store to read.
    store = EmbeddedStore(path, read_only=True, check_schema=False)
    try:
        has_taxonomy = bool(store.taxonomy_nodes())
    except sqlite3.Error as exc:
        from kg.sqlite_errors import sqlite_store_error

        raise sqlite_store_error(path, exc, writing=False) from exc
    finally:
        store.close()
    if not has_taxonomy:
        raise NoStore(f"{path.resolve()} holds paperkg's tables but no taxonomy: the store was never "
                      "initialised; run `paperkg init` there, or point PAPERKG_DATA_DIR at the directory you "
                      "ingested into")


def open_store(config: Config | None = None, *, read_only: bool = False) -> GraphStore:
    """Open the store the configuration names: Neo4j when a Neo4j URI is set, else embedded.

    `read_only` (commands that only read): the embedded file is opened read-only, never created,
    initialised or migrated, so opening never waits for a writer's lock; Neo4j ignores it."""
    from kg.config import load_config

    config = config or load_config()
    if config.neo4j_uri:
        from kg.neo4j_store import Neo4jStore

        return Neo4jStore(
            config.neo4j_uri, config.neo4j_user, config.neo4j_password, config.neo4j_database
        )
    from kg.embedded import EmbeddedStore

    return EmbeddedStore(config.embedded_store_file, read_only=read_only)
