"""The list sections with the headings above them: what GET /api/sections lists and the web search's
section select offers, counted one way for both."""

from __future__ import annotations

from typing import cast

from kg.entities import SearchFilters
from kg.store import GraphStore


def sections_with_headings(store: GraphStore) -> list[dict[str, object]]:
    """Every stored section (`heading` false, as GraphStore.list_sections gives it) and every heading above
    one (`heading` true: id, title, path and its distinct papers under any of its sections), in the
    store's id order, each heading right before the first of its sections; a stored section with sections
    under it is listed twice, as itself and as their heading, since the section filter takes a heading."""
    rows = store.list_sections()  # GraphStore.list_sections: id, title, path, count, by id
    ids = {str(s["id"]) for s in rows}
    entries: list[dict[str, object]] = []
    seen: set[str] = set()
    for s in rows:
        section_id = str(s["id"])
        path = [str(p) for p in cast("list[str] | None", s["path"]) or []]  # loosely typed rows
        parts = section_id.split("/")
        # The id may leave out headings the path has above every section (the MI list's "Paper
        # Collection"): the id's last parts name the path's last headings.
        above = len(path) - len(parts)
        for depth in range(1, len(parts) + 1):
            heading_id = "/".join(parts[:depth])
            if heading_id in seen or (depth == len(parts) and not _has_sections_under(heading_id, ids)):
                continue
            seen.add(heading_id)
            if depth == len(parts):  # a stored section that is a heading too: its own names
                names, title = path, str(s["title"] or heading_id)
            else:
                names = path[:above + depth] if above >= 0 else []
                title = names[-1] if names else heading_id
            count = store.filter_page(SearchFilters(section_ids=[heading_id]), limit=0)[1]
            entries.append({"id": heading_id, "title": title, "path": names, "count": count, "heading": True})
        entries.append({**s, "heading": False})
    return entries


def _has_sections_under(section_id: str, ids: set[str]) -> bool:
    prefix = section_id + "/"
    return any(i.startswith(prefix) for i in ids)
