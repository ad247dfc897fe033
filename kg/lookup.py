"""Paper ids as users give them: an arXiv id with a version, an arXiv URL or a former id (a slug
since replaced by the paper's arXiv id, or the id a records file gave a record merged into the
paper) finds the stored paper."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ingest.normalize import arxiv_id_from_url, whole_arxiv_id, without_trailing
from kg.entities import TaxonomyNode
from kg.related import RelatedHit, UnknownPaper, related
from kg.store import GraphStore

T = TypeVar("T")


def paper_named_by_query(store: GraphStore, query: str) -> str | None:
    """The stored id of the paper a query names when the whole query is an arXiv id or URL
    (`2211.00593v3`, `arXiv:2211.00593`, `https://arxiv.org/abs/2211.00593`), else None. Other queries
    name no paper, even when a paper's slug id reads like them ("logit-lens")."""
    from kg.search import normalise_query  # as search reads it: an id pasted with a zero-width space

    arxiv_id = whole_arxiv_id(normalise_query(query))  # not a sentence, or another site's URL, holding one
    if arxiv_id is None:
        return None
    found = find_paper(arxiv_id, store.get_paper, store.successor_of)
    return found[0] if found is not None else None


def find_paper(paper_id: str, find: Callable[[str], T | None],
               moved: Callable[[str], str | None] | None = None) -> tuple[str, T] | None:
    """(stored id, what `find` returned) for a paper id as given, else for the id ingest would have
    stored it under (arXiv version and abs/pdf URL prefix stripped: `2211.00593v3` -> `2211.00593`),
    else for the id the paper `moved` to (GraphStore.successor_of); None when none is found. The
    exact id goes first: a stored slug may look like anything."""
    found = find(paper_id)
    if found is not None:
        return paper_id, found
    # Ingest's own parser, which knows the arXiv id forms: a slug ending in "v2" is left alone.
    canonical = arxiv_id_from_url(paper_id)
    if canonical and canonical != paper_id:
        found = find(canonical)
        if found is not None:
            return canonical, found
    successor = moved(paper_id) if moved is not None else None
    if successor and successor != paper_id:
        found = find(successor)
        if found is not None:
            return successor, found
    return None


# What a link picks up from the text it was pasted from: sentence punctuation and closing quotes after it
# ("see https://…/papers/2211.00593."), a closing bracket that closes nothing in it ("(…/2211.00593)").
_TRAILING_PUNCTUATION = ".,;:!?'\"”’»…"
_CLOSING_OF = {")": "(", "]": "[", "}": "{", ">": "<"}


def _pasted_punctuation(ch: str) -> bool:
    return ch in _TRAILING_PUNCTUATION or ch.isspace()


def without_pasted_punctuation(paper_id: str) -> str:
    """`paper_id` without the whitespace, sentence punctuation, closing quotes and unpartnered closing
    brackets a pasted link ends with: "2211.00593)," -> "2211.00593", while "a-(b)" keeps its bracket."""
    return without_trailing(paper_id.strip(), _pasted_punctuation, _CLOSING_OF)


def find_pasted_paper(paper_id: str, find: Callable[[str], T | None],
                      moved: Callable[[str], str | None]) -> tuple[str, T] | None:
    """find_paper for an id typed or pasted into a URL: as find_paper reads it, else without the
    punctuation a pasted link picks up (without_pasted_punctuation), else in lower case
    (`A-Mathematical-Framework…` -> `a-mathematical-framework…`, `2211.00593V2` -> `2211.00593`)."""
    found = find_paper(paper_id, find, moved)
    if found is not None:
        return found
    trimmed = without_pasted_punctuation(paper_id)
    if trimmed and trimmed != paper_id:
        found = find_paper(trimmed, find, moved)
        if found is not None:
            return found
    # Lower case, not every stored id compared without case (a read of all ids per 404, which any random
    # link could ask for): the ids ingest makes are lower case (arXiv ids, title slugs); a records file's
    # id with capitals is found as it was given.
    given = trimmed or paper_id
    lowered = given.lower()
    return find_paper(lowered, find, moved) if lowered != given else None


def find_related(store: GraphStore, paper_id: str, limit: int,
                 taxonomy_nodes: Sequence[TaxonomyNode] | None = None) -> tuple[str, list[RelatedHit]] | None:
    """(stored id, related papers) for a paper id as given or as ingest stores it (see find_paper)."""
    def related_or_none(pid: str) -> list[RelatedHit] | None:
        try:
            return related(store, pid, limit=limit, taxonomy_nodes=taxonomy_nodes)
        except UnknownPaper:
            return None

    return find_paper(paper_id, related_or_none, store.successor_of)
