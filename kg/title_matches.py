"""Which stored papers a normalised title names: the look-up by the titles list rows give
(title_in_list, for a paper arXiv has renamed since) and the choice among papers sharing a title. Both
stores' find_paper_ids use it."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Sequence

from ingest.normalize import title_key
from kg.entities import Paper
from kg.store import arxiv_order
from kg.withdrawn import is_withdrawn

# What lets title_key give a title words its lower case does not have (list_title_matches): a character that
# is not printable ASCII, or a TeX sign title_key reads as text (G\"odel is "godel", $x^2$ is "x2").
# One character class (printable ASCII but "$", "\\", "^", "_", "{", "}" and "~"): a scan, no alternation.
_MAY_MAKE_WORDS = re.compile(r"[^\x20-\x23\x25-\x5b\x5d\x60-\x7a\x7c]")


def list_title_matches(rows: Iterable[tuple[str, str]], keys: Iterable[str]) -> dict[str, list[str]]:
    """Each title key's paper ids among `rows` (a list row's title_in_list, its paper's id), in the rows'
    order: the rows whose title has that key (title_key). Both stores' look-up by list rows' titles.

    Only the titles that can have one of the keys are keyed, as title_key costs tens of microseconds: a
    title of printable ASCII without TeX signs only loses characters, is lower-cased and split at the
    others by title_key, so each word of its key is in its lower case, and a title whose lower case lacks
    a word of every key has none of them. Any other title (accents, math symbols spelled as words, TeX)
    may make words of its own, so it is keyed whatever its words. The titles are searched joined by "|"
    for each key's longest word (no key's word holds a "|", so no hit spans two titles)."""
    wanted = set(keys)
    rows = list(rows)
    if not wanted or not rows:
        return {}
    titles = [title for title, _paper_id in rows]
    starts = _joined_starts(titles)
    keyed = {bisect.bisect_right(starts, m.start()) - 1 for m in _MAY_MAKE_WORDS.finditer("|".join(titles))}
    lowered = [title.lower() for title in titles]  # one by one: lower() may change a title's length
    text, starts = "|".join(lowered), _joined_starts(lowered)
    by_probe: dict[str, list[list[str]]] = {}  # a key's longest word -> the words of the keys it is of
    for key in wanted:
        if words := key.split():
            by_probe.setdefault(max(words, key=len), []).append(words)
    for probe, keys_words in by_probe.items():
        at = text.find(probe)
        while at >= 0:
            row = bisect.bisect_right(starts, at) - 1
            if row not in keyed and any(all(w in lowered[row] for w in words) for words in keys_words):
                keyed.add(row)
            at = text.find(probe, starts[row] + len(lowered[row]))  # one hit a title is enough
    found: dict[str, list[str]] = {}
    for i in sorted(keyed):
        title, paper_id = rows[i]
        key = title_key(title)
        if key in wanted and paper_id not in found.setdefault(key, []):
            found[key].append(paper_id)
    return {key: ids for key, ids in found.items() if ids}


def _joined_starts(parts: Sequence[str]) -> list[int]:
    """Where each part starts in the parts joined by one character."""
    return list(itertools.accumulate((len(part) + 1 for part in parts[:-1]), initial=0))


def preferred_title_matches(found: dict[str, list[str]], get_papers: Callable[[Sequence[str]], list[Paper]]
                            ) -> dict[str, list[str]]:
    """Each title key's matched paper ids (in insertion order) with the one to prefer first, when a key
    matches several papers: not withdrawn, then the oldest arXiv id (arXiv numbers papers in the order
    they were submitted; a paper with one before a paper without), then the earliest first_seen, then
    insertion order. Papers of one weekly run are stored in arXiv's newest-first order, so insertion
    order alone picked a re-post over the original. The papers are read only for keys shared."""
    shared = sorted({pid for ids in found.values() if len(ids) > 1 for pid in ids})
    if not shared:
        return found
    papers = {p.id: p for p in get_papers(shared)}

    def rank(pid: str, position: int) -> tuple[bool, bool, tuple[int, int, int], str, int]:
        paper = papers.get(pid)
        order = arxiv_order(paper.arxiv_id) if paper else None
        return (paper is not None and is_withdrawn(paper.abstract), order is None, order or (0, 0, 0),
                (paper.first_seen if paper else None) or "~", position)

    return {key: ids if len(ids) == 1 else [pid for _rank, pid in sorted(
                (rank(pid, i), pid) for i, pid in enumerate(ids))]
            for key, ids in found.items()}
