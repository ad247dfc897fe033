"""The server's taxonomy file, read for what the store does not hold: the meta texts of the pages, the
beginner's roadmap and the node summaries. The store holds the nodes; these parts live only in the file
the store was initialised with, so a file that cannot be read, or that is another field's, yields none."""

from __future__ import annotations

import logging

from flask import current_app

from api.app import get_taxonomy, paperkg_config
from kg.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

_FULL_TAXONOMY_KEY = "paperkg_web_full_taxonomy"
_WARNED_KEY = "paperkg_web_warned"


def full_taxonomy() -> Taxonomy:
    """The configured taxonomy file with its list-label maps, parsed again only when the file changes
    (its path, modification time and size: one stat a page view), so an edited file reaches a running
    server as it reaches `paperkg export list-rows`; ValueError when it cannot be read."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    path = paperkg_config().taxonomy
    try:
        # Stat before reading: a file changed in between is cached under its old key, so read again.
        st = path.stat()
        key: tuple[str, int, int] | None = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None  # load_taxonomy says why the file cannot be read
    # A file that cannot be loaded is cached as its error: every page reads the meta, and a full parse
    # per view of a file being edited cost 80 ms each (review).
    cached: tuple[tuple[str, int, int], Taxonomy | ValueError] | None = app.extensions.get(_FULL_TAXONOMY_KEY)
    if key is not None and cached is not None and cached[0] == key:
        if isinstance(cached[1], ValueError):
            raise cached[1]
        return cached[1]
    try:
        taxonomy = load_taxonomy(path)
    except ValueError as exc:
        if key is not None:
            app.extensions[_FULL_TAXONOMY_KEY] = (key, exc)
        raise
    if key is not None:
        app.extensions[_FULL_TAXONOMY_KEY] = (key, taxonomy)
    return taxonomy


def own_taxonomy_file(part: str, loss: str) -> Taxonomy | None:
    """The taxonomy file the store's nodes come from: the one the app was given, else the configured
    file when it has every node the store holds. None when it cannot be read (logged once, naming the
    `part` read from it and the `loss` to the pages) or is another field's (logged once)."""
    taxonomy = get_taxonomy()
    if taxonomy.source:  # a Taxonomy built from the store's nodes has no source
        return taxonomy
    try:
        full = full_taxonomy()
    except ValueError as exc:
        warn_once(f"taxonomy {part} unavailable, {loss}: {exc}")
        return None
    # A store initialised with another field's file, served without PAPERKG_TAXONOMY naming it: the
    # packaged file's texts would claim MI for it (review).
    lacking = _store_ids_lacking(taxonomy, full)
    if lacking:
        # One warning for all parts: the cause and the cure are the same.
        warn_once(f"the store holds {len(lacking)} taxonomy ids that {full.source or 'PAPERKG_TAXONOMY'} "
                  "lacks: neutral page texts, no start page and no node summaries (set PAPERKG_TAXONOMY to "
                  "the file the store was initialised with, or, when this is that file edited since, run "
                  "`paperkg init --prune` to remove from the store the ids it no longer has)")
        return None
    return full


def store_ids_the_file_lacks() -> int:
    """How many of the store's taxonomy ids the configured file lacks (0 when the app was given its
    taxonomy or the file cannot be read): why own_taxonomy_file gives none, for the pages to say."""
    taxonomy = get_taxonomy()
    if taxonomy.source:
        return 0
    try:
        return len(_store_ids_lacking(taxonomy, full_taxonomy()))
    except ValueError:
        return 0


def _store_ids_lacking(store_taxonomy: Taxonomy, file_taxonomy: Taxonomy) -> set[str]:
    return set(store_taxonomy.by_id) - set(file_taxonomy.by_id)


def node_summary(node_id: str) -> str | None:
    """What the node is, from the taxonomy file's `summaries:` block; None when it has no summary there."""
    taxonomy = own_taxonomy_file("summaries", "no node summaries")
    return taxonomy.summaries.get(node_id) if taxonomy is not None else None


def warn_once(message: str) -> None:
    """Log `message` at WARNING the first time this app sees it (pages would repeat it on every view)."""
    warned: set[str] = current_app.extensions.setdefault(_WARNED_KEY, set())
    if message not in warned:
        warned.add(message)
        log.warning("%s", message)
