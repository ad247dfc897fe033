"""In-memory postings for the embedded store's related_candidates: which papers touch each
shared node, as integer rows, so the IDF sums run in numpy instead of an SQL GROUP BY."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np


class RelatedIndex:
    """Postings per kind ("technique", "about", ...) and node: the rows of the papers touching it,
    so IDF sums over the tens of thousands of papers sharing a common technique are numpy adds.

    A build numbers the papers in id order, so ties (broken by id) are settled on row numbers.
    Papers written later get appended rows (a rewritten paper's old row is marked dead); when the
    appended rows outnumber the built ones, the next sync builds afresh."""

    def __init__(self, kinds: Sequence[str], ids: list[str] | None = None) -> None:
        self.rev = -1
        self.ids: list[str] = ids or []  # row -> paper id
        self.row_of: dict[str, int] = {pid: row for row, pid in enumerate(self.ids)}  # live papers
        self.sorted_rows = len(self.ids)  # rows [0, sorted_rows) are in id order
        self.alive = np.ones(max(1024, 2 * len(self.ids)), dtype=bool)
        self.postings: dict[str, dict[str, list[int]]] = {kind: {} for kind in kinds}
        # Postings as sorted unique arrays, made on first use and dropped when a posting grows.
        self._arrays: dict[tuple[str, str], np.ndarray] = {}

    def stale(self) -> bool:
        """More rows appended since the build than built: time to build afresh."""
        return self.rev < 0 or len(self.ids) - self.sorted_rows > self.sorted_rows

    def drop(self, paper_id: str) -> None:
        """Mark a paper's row dead (no-op for unknown ids)."""
        row = self.row_of.pop(paper_id, None)
        if row is not None:
            self.alive[row] = False

    def add(self, paper_id: str) -> None:
        """Give a (re)written paper a fresh row; its postings follow with link()."""
        self.drop(paper_id)
        row = len(self.ids)
        if row == len(self.alive):
            self.alive = np.concatenate([self.alive, np.ones(len(self.alive), dtype=bool)])
        self.alive[row] = True
        self.ids.append(paper_id)
        self.row_of[paper_id] = row

    def link(self, kind: str, node: str, paper_ids: Sequence[str]) -> None:
        """Record papers (already given rows) touching `node`."""
        self.postings[kind].setdefault(node, []).extend(
            self.row_of[pid] for pid in paper_ids if pid in self.row_of
        )
        self._arrays.pop((kind, node), None)

    def rows(self, kind: str, node: str) -> np.ndarray:
        """Live rows of the papers touching a node, each once (a paper can touch it twice)."""
        arr = self._arrays.get((kind, node))
        if arr is None:
            arr = self._arrays[(kind, node)] = np.unique(
                np.asarray(self.postings[kind].get(node, ()), dtype=np.int64)
            )
        return arr if len(self.row_of) == len(self.ids) else arr[self.alive[arr]]

    def top(self, paper_id: str, postings: Sequence[np.ndarray], limit: int) -> list[str]:
        """Ids of the `limit` papers with the highest summed IDF over the postings they are in
        (the paper itself left out), ties by id. Weights are added in the order given, so papers
        in the same postings get bit-identical scores."""
        if limit <= 0:
            return []
        n_papers = len(self.row_of)
        scores = np.zeros(len(self.ids))
        for rows in postings:
            if len(rows):
                # Rare shared things weigh more: idf = ln((N + 1) / (df + 1)) + 1 > 0.
                scores[rows] += math.log((n_papers + 1) / (len(rows) + 1)) + 1.0
        own = self.row_of.get(paper_id)
        if own is not None:
            scores[own] = 0.0
        cand = np.flatnonzero(scores > 0)
        if len(cand) > limit:
            # Everything above the limit-th best score, then the smallest ids among those tied
            # with it (tens of thousands of papers can share just one common technique): the first
            # `need` rows of the id-ordered part, and any rows appended since the build.
            values = scores[cand]
            kth = np.partition(values, len(values) - limit)[len(values) - limit]
            above, tied = cand[values > kth], cand[values == kth]  # both in row order
            need = limit - len(above)
            pool = [*tied[tied < self.sorted_rows][:need], *tied[tied >= self.sorted_rows]]
            first = heapq.nsmallest(need, (self.ids[r] for r in pool))
            cand = np.concatenate([above, np.asarray([self.row_of[i] for i in first], dtype=np.int64)])
        ranked = sorted((-float(scores[r]), self.ids[r]) for r in cand)
        return [pid for _, pid in ranked]
