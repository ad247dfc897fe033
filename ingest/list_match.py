"""Matching records to stored papers: by arXiv id, DOI or title key (resolve_stored_ids), a list row by
its link (match_by_link); and the id each record is written under (target_ids), with the clash of two
papers on one id (id_clash) and the records a run merged into one paper, by the key that joined them
(merges_of). Records of a new arXiv id with the title of another arXiv paper are kept apart but flagged
(possible_duplicates)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any, Literal
from urllib.parse import urlsplit

from ingest.normalize import (
    PaperLike,
    arxiv_id_from_url,
    slugify,
    title_id,
    title_key,
    warn_if_dois_differ,
    warn_if_titles_differ,
)
from ingest.records import Record
from ingest.summary import shortened
from ingest.titles import same_paper_title
from kg.entities import Paper, PaperDetail
from kg.schema import EDGE_SOURCE_LIST
from kg.store import GraphStore
from kg.validation import author_key

log = logging.getLogger(__name__)


def resolve_stored_ids(
    store: GraphStore, records: Sequence[Record], *, warn: bool = False,
) -> list[str | None]:
    """The stored paper id each record matches (arXiv id, then a link kept on a renamed paper, then DOI,
    then title key), or None.

    A title key matches a stored paper by its current title, else by a title its list rows give
    (find_paper_ids): a records file made from the list names a paper by the list's title, which arXiv
    may have changed since. A list record without an arXiv id whose rows link one (the run's arXiv
    look-up found another title for it) stays on that id's stored paper when the paper has a list row of
    the record's title (_kept_on_link): arXiv renamed the paper after it was listed, and the row must not
    move to another paper of the old title.

    `warn`: log a record matched by its DOI alone to a stored paper of a clearly different title, or by
    its title alone to one of another DOI, as dedupe_records does for records of one run (the merge
    keeps one title, or one DOI and abstract), and one whose title several stored papers have (the one
    written into is named with the others: find_paper_ids prefers one). Only the run that writes the
    records warns: the weekly run's look-up of which candidates are known does not."""
    linked = _linked_arxiv_ids(records)
    shared: dict[str, list[str]] = {}
    found = store.find_paper_ids(
        arxiv_ids=sorted({r.arxiv_id for r in records if r.arxiv_id} | set(linked.values())),
        dois=sorted({r.doi for r in records if r.doi}),
        title_keys=sorted({r.title_key for r in records if r.title_key}),
        shared=shared,
    )
    kept_on_link = _kept_on_link(store, records, linked, found)
    by_title = {r.title_key: found.get(r.title_key) for r in records if r.title_key}
    wanted = {v for v in by_title.values() if v}
    if warn:  # the stored papers matched by a DOI too, for their titles
        wanted |= {found[r.doi] for r in records if r.doi and r.doi in found}
    stored = {p.id: p for p in store.get_papers(sorted(wanted))} if wanted else {}
    out: list[str | None] = []
    for i, record in enumerate(records):
        hit = None
        if record.arxiv_id and record.arxiv_id in found:
            hit = found[record.arxiv_id]
        elif i in kept_on_link:
            hit = kept_on_link[i]
        elif record.doi and record.doi in found:
            hit = found[record.doi]
            if warn and hit in stored:
                warn_if_titles_differ(record, stored[hit], stored_id=hit)
        elif record.title_key and found.get(record.title_key):
            candidate = found[record.title_key]
            paper = stored.get(candidate)
            other = paper.arxiv_id if paper else None
            if not (record.arxiv_id and other and other != record.arxiv_id):
                hit = candidate
                if warn and paper is not None:
                    warn_if_dois_differ(record, paper, stored_id=hit)
                if warn and record.title_key in shared:
                    log.warning("%s", _shared_title_warning(record, shared[record.title_key]))
        out.append(hit)
    return _by_former_ids(store, records, out)


def _shared_title_warning(record: Record, ids: Sequence[str]) -> str:
    """The warning of a record matched by a title several stored papers have: `ids`, the one it is
    written into first (find_paper_ids' preference)."""
    line = record.line
    where = f"line {line}: " if line is not None else ""
    return (f"{where}'{shortened(record.title, 100)}' has the title of {len(ids)} stored papers "
            f"({', '.join(ids)}): written into {ids[0]} (the first not withdrawn, by arXiv id, then by when "
            "stored); check whether they are one paper")


def _linked_arxiv_ids(records: Sequence[Record]) -> dict[int, str]:
    """The records without an arXiv id whose list rows all link one arXiv id (arxiv.org/pdf/...): that
    id, by record index. The run's arXiv look-up takes a link's id off a record whose title is not the
    id's arXiv title (ingest.arxiv_source's title mismatch)."""
    out: dict[int, str] = {}
    for i, record in enumerate(records):
        if record.arxiv_id or not record.list_rows:
            continue
        ids = {arxiv_id_from_url(row.url_in_list) for row in record.list_rows}
        if len(ids) == 1 and (only := ids.pop()) is not None:
            out[i] = only
    return out


def _kept_on_link(store: GraphStore, records: Sequence[Record], linked: Mapping[int, str],
                  found: Mapping[str, str]) -> dict[int, str]:
    """The records (by index) of `linked` that stay on the stored paper of their link's arXiv id: it has
    a list row whose title has the record's title key (or one of its rows'), so the row was matched to
    it before, and arXiv has renamed the paper since. Reads only those papers' list rows."""
    papers = sorted({found[aid] for aid in linked.values() if aid in found})
    row_keys: dict[str, set[str]] = {}
    for paper_id in papers:
        detail = store.get_paper(paper_id)
        row_keys[paper_id] = {title_key(row.title_in_list) for row in (detail.list_rows if detail else [])
                              if row.title_in_list} - {""}
    out: dict[int, str] = {}
    for i, aid in linked.items():
        if (stored_id := found.get(aid)) is None:
            continue
        keys = {records[i].title_key} | {title_key(row.title_in_list) for row in records[i].list_rows}
        if keys & row_keys[stored_id]:
            out[i] = stored_id
            log.debug("list row %r kept on %s: it was listed under that title before arXiv renamed it",
                      shortened(records[i].title, 100), stored_id)
    return out


def _by_former_ids(store: GraphStore, records: Sequence[Record], stored_ids: list[str | None]
                   ) -> list[str | None]:
    """`stored_ids` with the records no key matched whose records-file `id` is a former id of a stored
    paper (an alias: the id a record merged into that paper was given, or a slug it replaced) matched to
    that paper: a records file is how a list-only paper's metadata is updated, and with a new title the
    record matched nothing, so it was stored as a second paper that took over the alias. A record with an
    arXiv id is written under it, whatever its `id`; an `id` that is a stored paper's own is that paper
    already (the record is written under it)."""
    asked = {i: r.explicit_id for i, r in enumerate(records)
             if stored_ids[i] is None and not r.arxiv_id and r.explicit_id}
    if not asked:
        return stored_ids
    own = {p.id for p in store.get_papers(sorted(set(asked.values())))}
    # One look-up an id (the store has no batched one); only for unmatched records that name an id.
    successors = {explicit: store.successor_of(explicit) for explicit in sorted(set(asked.values()) - own)}
    out = list(stored_ids)
    for index, explicit in asked.items():
        successor = successors.get(explicit)
        if successor and successor != explicit:
            out[index] = successor
    return out


def possible_duplicates(store: GraphStore, records: Sequence[Record]) -> list[dict[str, Any]]:
    """The records that would be stored as new papers with another arXiv paper's title: a re-post under a
    new arXiv id, most likely, but two arXiv ids can share a title, so they are not merged (see
    _possible_duplicates for the entries). The pipeline warns of each and lists them in its summary; the
    weekly run lists the ones its load will warn of."""
    found = store.find_paper_ids(
        arxiv_ids=sorted({r.arxiv_id for r in records if r.arxiv_id}),
        dois=sorted({r.doi for r in records if r.doi}),
        title_keys=sorted({r.title_key for r in records if r.arxiv_id and r.title_key}),
    )
    wanted = sorted({found[r.title_key] for r in records if r.arxiv_id and r.title_key in found})
    stored = {p.id: p for p in store.get_papers(wanted)} if wanted else {}
    return _possible_duplicates(records, found, stored)


def _possible_duplicates(records: Sequence[Record], found: Mapping[str, str],
                         stored: Mapping[str, Paper]) -> list[dict[str, Any]]:
    """Records with an arXiv id not stored (by that id or their DOI) whose title key (title_key, the rule
    the stores key titles by) is a stored paper's of another arXiv id (its title, or the title its list
    rows give when no paper has it as its title: the entry then shows the paper's current title, which
    arXiv renamed), or an earlier record's of the run
    with another arXiv id: {arxiv_id, title, matches (the paper id), matches_title, stored (False: a
    record of this run), authors: "same", "overlap", "different" or "unknown" (one has none)}.

    `found` is the store's find_paper_ids answer for the records' ids, DOIs and title keys; `stored` the
    papers it names by title key."""
    out: list[dict[str, Any]] = []
    first: dict[str, Record] = {}  # title key -> the run's first record of it with an arXiv id
    for record in records:
        key = record.title_key
        if not record.arxiv_id or not key:
            continue
        earlier = first.setdefault(key, record)
        if record.arxiv_id in found or (record.doi and record.doi in found):
            continue  # stored already under its id, or joins a stored paper by its DOI
        paper = stored.get(found.get(key, ""))
        if paper is not None and paper.arxiv_id and paper.arxiv_id != record.arxiv_id:
            out.append(_duplicate_entry(record, paper.id, paper.title, paper.authors, stored=True))
        elif earlier.arxiv_id != record.arxiv_id:
            out.append(_duplicate_entry(record, earlier.paper_id, earlier.title, earlier.authors,
                                        stored=False))
    return out


def _duplicate_entry(record: Record, matches: str, title: str, authors: Sequence[str], *, stored: bool
                     ) -> dict[str, Any]:
    return {"arxiv_id": record.arxiv_id, "title": record.title, "matches": matches, "matches_title": title,
            "stored": stored, "authors": _authors_overlap(record.authors, authors)}


def _authors_overlap(authors: Sequence[str], others: Sequence[str]) -> str:
    """How two author lists compare by their Author node keys: same, overlap, different or unknown."""
    keys, other_keys = {author_key(a) for a in authors} - {""}, {author_key(a) for a in others} - {""}
    if not keys or not other_keys:
        return "unknown"
    if keys == other_keys:
        return "same"
    return "overlap" if keys & other_keys else "different"


def list_link_key(url: str | None) -> str | None:
    """A list row's link as rows are matched by it: no scheme, fragment, "www." or trailing slash, the
    host casefolded, the query kept (openreview.net/forum?id=...); None for no link or a site's front
    page ("https://www.lesswrong.com/"), which names no paper."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = parts.netloc.casefold().removeprefix("www.")
    path = parts.path.rstrip("/")
    if not host or (not path and not parts.query):
        return None
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def match_by_link(store: GraphStore, records: Sequence[Record],
                  stored_ids: Sequence[str | None]) -> list[str | None]:
    """`stored_ids` (resolve_stored_ids') with list records no key matched given the stored paper their
    row's link identifies: a row whose title was edited (or misspelt, so no arXiv match) is still the
    stored row of its link, not a new paper beside the old one.

    The link is taken as enough only when it is specific: the stored paper has a list row of the same
    section with the same link (list_link_key), no other record of the run matches that paper by a key
    (else the row is a new one that shares a link, say a blog's index page, with a listed paper), no
    other record of the run has a row with that link, and no other stored paper the run leaves unmatched
    has a row with it (one link, two papers: it names neither); nor may the record's arXiv id or DOI
    differ from the paper's, and the titles must be alike (_link_titles_alike: a row replaced by
    another paper under the same link, a blog's index page say, is that other paper). Else the record
    stays unmatched (a new paper; the old row is reported stale), as before."""
    out = list(stored_ids)
    carriers: dict[str, set[int]] = {}
    for i, record in enumerate(records):
        for row in record.list_rows:
            if (link := list_link_key(row.url_in_list)) is not None:
                carriers.setdefault(link, set()).add(i)
    wanted: dict[int, set[tuple[str, str]]] = {}
    for i, (record, stored_id) in enumerate(zip(records, stored_ids, strict=True)):
        if stored_id is None and EDGE_SOURCE_LIST in record.sources:
            rows = {(row.section_id, link) for row in record.list_rows
                    if (link := list_link_key(row.url_in_list)) is not None and carriers[link] == {i}}
            if rows:
                wanted[i] = rows
    if not wanted:
        return out
    claimed = {s for s in stored_ids if s} | {r.arxiv_id for r in records if r.arxiv_id}
    # The stored list papers no record of the run matched: those whose rows would be reported stale.
    orphans = sorted({str(row["paper_id"]) for row in store.list_rows_from(EDGE_SOURCE_LIST)} - claimed)
    owners: dict[str, set[str]] = {}  # link -> the orphans with a row of it (any section)
    by_row: dict[tuple[str, str], str] = {}
    row_titles: dict[tuple[str, str], str | None] = {}
    papers: dict[str, Paper] = {}
    for paper_id in orphans:
        detail = store.get_paper(paper_id)
        if detail is None:
            continue
        papers[paper_id] = detail.paper
        for stored_row in detail.list_rows:
            if (link := list_link_key(stored_row.url_in_list)) is not None:
                owners.setdefault(link, set()).add(paper_id)
                by_row[(stored_row.section_id, link)] = paper_id
                row_titles[(stored_row.section_id, link)] = stored_row.title_in_list
    found: dict[int, str] = {}
    for i, rows in wanted.items():
        hits = {by_row[key] for key in rows if key in by_row and len(owners[key[1]]) == 1}
        if len(hits) != 1:
            continue
        paper = papers[hit := next(iter(hits))]
        record = records[i]
        if ((record.arxiv_id and paper.arxiv_id and record.arxiv_id != paper.arxiv_id)
                or (record.doi and paper.doi and record.doi.casefold() != paper.doi.casefold())):
            continue
        keys = {key for key in rows if by_row.get(key) == hit}
        # The stored paper's title may be arXiv's, not the list's: either one alike is enough.
        old_titles = [paper.title, *(row_titles[key] for key in keys)]
        new_titles = [record.title, *(row.title_in_list for row in record.list_rows
                                      if (row.section_id, list_link_key(row.url_in_list)) in keys)]
        if not any(_link_titles_alike(new, old) for new in new_titles for old in old_titles if new and old):
            log.debug("list row %r not matched to stored paper %s by its link: the titles differ",
                      shortened(record.title, 100), hit)
            continue
        found[i] = hit
    taken = Counter(found.values())
    for i, paper_id in found.items():
        if taken[paper_id] == 1:  # one paper's two links carried by two records: neither is it
            out[i] = paper_id
            log.debug("list row %r matched to stored paper %s by its link", shortened(records[i].title, 100),
                     paper_id)
    return out


# A word a row's edit may replace by another spelling of it ("interpretable" -> "interpretible"), and
# how many words an edit may add or remove ("testing interpretability" -> "testing mechanistic ...").
_SPELLING_MATCH = 0.8
_WORDS_EDITED = 2


def _link_titles_alike(title: str, other: str) -> bool:
    """Whether a list row's title and a stored title of the row's link are one paper's, as a maintainer
    edits a row: the titles name the same paper by same_paper_title (a typo, a subtitle or short name
    added or dropped, the same content words), or one is the other with at most two words added or
    removed (fewer than the words both have) and any other word changed only in spelling (not a number).

    Not a similarity ratio of the whole titles: "Circuits Updates - July 2023" and "... August 2023"
    (one index page's link, two papers) are 0.85 alike, more than a ratio must allow to keep "...
    testing interpretability hypotheses" -> "... testing mechanistic interpretability hypotheses" one
    paper; a word replaced by another word is another paper."""
    if same_paper_title(title, other):
        return True
    words, other_words = title_key(title).split(), title_key(other).split()
    edited = 0
    matcher = SequenceMatcher(None, words, other_words, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "replace" and i2 - i1 == j2 - j1:
            if not all(_respelt(a, b) for a, b in zip(words[i1:i2], other_words[j1:j2], strict=True)):
                return False
        elif op != "equal":
            edited += (i2 - i1) + (j2 - j1)
    unchanged = sum(block.size for block in matcher.get_matching_blocks())
    return edited <= _WORDS_EDITED and unchanged > edited


def _respelt(word: str, other: str) -> bool:
    """Whether one title word is another spelling of the other: alike letters, no digits (a year or
    version changed is another paper)."""
    if any(ch.isdigit() for ch in word + other):
        return False
    return SequenceMatcher(None, word, other).ratio() >= _SPELLING_MATCH


def _holds_by_key(record: Record, stored_id: str | None, target: str) -> bool:
    """Whether a record is written under `target` by a key: it is its arXiv id, or the id of the stored
    paper its arXiv id, DOI or title key matched (resolve_stored_ids)."""
    return record.arxiv_id == target or stored_id == target


def id_clash(target: str, earlier: Record, earlier_stored: str | None, later: Record,
              later_stored: str | None) -> str | None:
    """None when two records (of different papers by dedupe_records' rule) written under one target id
    are one paper, else which of them is turned away: "later", or "earlier" when only the later one
    holds the id by a key (_holds_by_key).

    One paper: both hold the id by a key (an arXiv record and a list row matched to the stored paper
    with that arXiv id), or one by a key and the other by its title's id, unless the first was given
    that id by a records file (a paper stored under its title's id whose title a richer source has
    since changed: the title no longer matches, its id does). An id a records file gave, or two titles'
    ids alike, say nothing of the paper: merging on them wrote one paper over another. (A record that
    only the id of a stored paper of another title leads to was already given its hashed title id by
    target_ids when that paper shows it is another.)
    """
    keyed = (_holds_by_key(earlier, earlier_stored, target), _holds_by_key(later, later_stored, target))
    if all(keyed):
        return None
    if not any(keyed):
        return "later"
    holder, other = (earlier, later) if keyed[0] else (later, earlier)
    if other.explicit_id is None and holder.explicit_id != target:  # `other` has its title's id
        return None
    return "later" if keyed[0] else "earlier"


def clash_reason(target: str, rejected: Record, kept: Record) -> str:
    """Why `rejected` is not merged into `kept`, the other paper written under `target`, naming both."""
    given = rejected.explicit_id is not None  # else the id is its title's (an arXiv id holds by a key)
    what = f"id {target!r}" if given else f"the id from its title, {target!r},"
    held = "is the arXiv id of" if kept.arxiv_id == target else "is already the id of"
    fix = "give one of them another id" if given else "give one of them an explicit id"
    return (f"{what} {held} another paper in this run ('{shortened(kept.title, 100)}'); "
            f"not merged into it ({fix})")


def merged_away_ids(records: Sequence[Record], kept: dict[str, list[int]]) -> dict[str, list[str]]:
    """Per target id, the ids a records file gave to the records written under it (the indices in
    `kept`) other than that id: they lead to the paper (PaperBundle.aliases). An id that is also a
    target of the run is that paper's, and one given to records of two papers names neither."""
    claims: dict[str, set[str]] = {}
    for target, indices in kept.items():
        for i in indices:
            given = records[i].explicit_id
            if given and given != target:
                claims.setdefault(given, set()).add(target)
    out: dict[str, list[str]] = {}
    for given, targets in claims.items():
        if given not in kept and len(targets) == 1:
            out.setdefault(next(iter(targets)), []).append(given)
    return out


def _target_id(record: Record, stored_id: str | None) -> str:
    """The id to write: the arXiv id when known, else the stored id, else the record's own id."""
    if record.arxiv_id:
        return record.arxiv_id
    return stored_id or record.paper_id


def target_ids(
    store: GraphStore, records: Sequence[Record], stored_ids: Sequence[str | None],
) -> tuple[list[str], list[str | None]]:
    """Each record's id to write (_target_id) and stored id, for records whose id is only their title's
    plain slug (no arXiv id, no records-file `id`, no stored paper matched by a key) that land on a stored
    paper of another title: by _title_id_match, that paper is the record's (its stored id then, as if
    matched by a key), another paper's (the record gets its hashed title id, title_id(hashed=True), and
    is stored as its own paper), or unknown: the record keeps the id when another record of the run is
    written under it (the run's rule, id_clash, decides), else it gets its hashed title id.

    The slug alone says nothing of the paper: it is also a records file's `id` or, in a store written
    before hashed title ids, another title's slug cut at 80 characters, and merging on it wrote one paper
    over another. Deterministic: the next run finds a paper stored under a hashed id by its title, and a
    record the run's rule turned away is turned away again. The stored papers are read in one batch; the
    list rows only of those whose title and id leave it open.
    """
    targets = [_target_id(r, s) for r, s in zip(records, stored_ids, strict=True)]
    stored_ids = list(stored_ids)
    suspects = [i for i, (record, stored_id) in enumerate(zip(records, stored_ids, strict=True))
                if not record.arxiv_id and stored_id is None and record.explicit_id is None
                # an id already hashed spells the whole title key: it names this title's paper
                and targets[i] != title_id(record.title, hashed=True)]
    if not suspects:
        return targets, stored_ids
    stored = {paper.id: paper for paper in store.get_papers(sorted({targets[i] for i in suspects}))}
    shared = Counter(targets)
    details: dict[str, PaperDetail | None] = {}
    for i in suspects:
        paper = stored.get(targets[i])
        if paper is None:
            continue
        match = _title_id_match(records[i], paper, details, store)
        if match == "same":
            stored_ids[i] = paper.id
        elif match == "other" or shared[paper.id] == 1:
            targets[i] = title_id(records[i].title, hashed=True)
    return targets, stored_ids


def _title_id_match(record: Record, paper: Paper, details: dict[str, PaperDetail | None],
                    store: GraphStore) -> Literal["same", "other", "unknown"]:
    """Whether the stored `paper` under the record's title id is the record's paper: "same" when it has
    the record's title or a list row titled so (a paper stored under that title's id from the list,
    whose title a richer source has since changed), "other" when its id is its own title's slug (cut at
    80 characters, as ids were before hashed title ids) or its list rows have titles and none is the
    record's, else "unknown". Reads the paper's list rows (into `details`) only when needed."""
    if title_key(paper.title) == record.title_key:
        return "same"
    if slugify(paper.title) == paper.id:
        return "other"
    if paper.id not in details:
        details[paper.id] = store.get_paper(paper.id)
    detail = details[paper.id]
    titles = {title_key(row.title_in_list) for row in (detail.list_rows if detail else [])
              if row.title_in_list} - {""}
    if record.title_key in titles:
        return "same"
    return "other" if titles else "unknown"


def joined_by(record: Record, others: Sequence[PaperLike]) -> str:
    """The key `record` shares with one of `others` (the stored paper or records it was written with):
    "arxiv_id", "doi" or "title", else "id" (it was written under the same id, a records file's `id` or
    its title's)."""
    if record.arxiv_id and any(o.arxiv_id == record.arxiv_id for o in others):
        return "arxiv_id"
    if record.doi and any(o.doi and o.doi.casefold() == record.doi.casefold() for o in others):
        return "doi"
    if record.title_key and any(title_key(o.title) == record.title_key for o in others):
        return "title"
    return "id"


def merges_of(records: Sequence[Record], kept: Mapping[str, Sequence[int]], matched: Mapping[int, str],
              written: Mapping[str, tuple[Record, str | None]], store: GraphStore) -> list[dict[str, Any]]:
    """The run's merges in file order: each record written under a paper id with others but the first,
    as {line, source_id, title, into (the id), into_title, by, retitled}. `kept`: the record indices of
    each id; `matched`: how dedupe_groups merged a record (by "arxiv_id", "doi" or "title"); a record
    it did not merge joined the others through the stored paper (`written`: each id's record and the
    stored id it matched) or the id (joined_by). `retitled`: title keys that differ."""
    joins = {target: indices for target, indices in kept.items()
             if any(i not in matched for i in indices[1:])}
    stored_ids = sorted({s for t in joins if (s := written[t][1]) is not None})
    stored = {p.id: p for p in store.get_papers(stored_ids)} if stored_ids else {}
    found: list[tuple[int, dict[str, Any]]] = []
    for target, indices in kept.items():
        paper, stored_id = written[target]
        for n, i in enumerate(indices[1:], start=1):
            record = records[i]
            by = matched.get(i)
            if by is None:
                before: list[PaperLike] = [records[j] for j in indices[:n]]
                if stored_id in stored:
                    before.insert(0, stored[stored_id])
                by = joined_by(record, before)
            found.append((i, {
                "line": record.line, "source_id": shortened(record.source_id),
                "title": shortened(record.title), "into": target, "into_title": shortened(paper.title),
                "by": by, "retitled": record.title_key != paper.title_key,
            }))
    return [entry for _i, entry in sorted(found, key=lambda item: item[0])]
