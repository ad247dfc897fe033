"""The in-memory vector index of the embedded store: one float32 matrix of unit-length paper
embeddings with per-row year, source and technique columns, so the common search filters are numpy
masks, and an exact cosine top-k over it."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

from kg.entities import ScoredId
from kg.schema import EMBEDDING_DIM

# The year of a row whose paper has none (never inside a year_from/year_to range).
NO_YEAR = -(2**31)
_BLAS = ThreadpoolController()


class EmbeddingMatrix:
    """Embeddings of every paper that has one, as one growable float32 matrix, plus each row's year,
    sources and techniques so the common filters are numpy masks."""

    def __init__(self) -> None:
        self.matrix = np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        self.pks = np.zeros(0, dtype=np.int64)
        self.years = np.zeros(0, dtype=np.int32)  # NO_YEAR when unknown
        self.source_bits = np.zeros(0, dtype=np.int64)
        self.techniques = np.zeros((0, 64), dtype=bool)  # row x technique column: USES
        self.technique_col: dict[str, int] = {}
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self.bit_of: dict[str, int] = {}
        self.n = 0
        self.rev = -1
        # The last query's scores: hybrid search asks twice for one query vector (all papers, and
        # those using a technique it names), and the mat-vec is most of the cost at 100k papers.
        self._last_scores: tuple[bytes, np.ndarray] | None = None

    def bits(self, sources: Sequence[str], add: bool = False) -> int:
        """The bitmask of a set of source names (unknown names get a bit when `add`)."""
        mask = 0
        for source in sources:
            bit = self.bit_of.get(source)
            if bit is None and add and len(self.bit_of) < 63:
                bit = self.bit_of[source] = 1 << len(self.bit_of)
            mask |= bit or 0
        return mask

    def _grow(self, need: int) -> None:
        """Make room for `need` rows (capacity doubles, so appends are amortised O(1))."""
        cap = max(1024, len(self.matrix))
        while cap < need:
            cap *= 2
        if cap != len(self.matrix):
            n = self.n
            for name, dtype, shape in (("matrix", np.float32, (cap, EMBEDDING_DIM)),
                                       ("pks", np.int64, (cap,)), ("years", np.int32, (cap,)),
                                       ("source_bits", np.int64, (cap,)),
                                       ("techniques", bool, (cap, self.techniques.shape[1]))):
                grown = np.zeros(shape, dtype=dtype)
                grown[:n] = getattr(self, name)[:n]
                setattr(self, name, grown)

    def remove(self, paper_id: str) -> None:
        """Drop a paper (the last row moves into its slot)."""
        idx = self.pos.pop(paper_id, None)
        if idx is None:
            return
        self._last_scores = None
        last = self.n - 1
        if idx != last:
            moved = self.ids[last]
            for arr in (self.matrix, self.pks, self.years, self.source_bits, self.techniques):
                arr[idx] = arr[last]
            self.ids[idx] = moved
            self.pos[moved] = idx
        self.ids.pop()
        self.n = last

    def put_many(self, rows: Sequence[tuple[str, int, bytes | None, int | None, str]]) -> None:
        """Insert or replace rows (id, pk, embedding blob, year, sources JSON); no blob removes."""
        self._last_scores = None
        fresh = []
        for row in rows:
            if row[2] is None:
                self.remove(row[0])
            else:
                fresh.append(row)
        if not fresh:
            return
        blob = b"".join(r[2] for r in fresh)  # type: ignore[misc]
        vectors = np.frombuffer(blob, dtype=np.float32).reshape(len(fresh), EMBEDDING_DIM)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # Cosine needs unit rows; a zero vector stays zero (it matches nothing).
        unit = vectors / np.where(norms > 0, norms, 1.0)
        self._grow(self.n + len(fresh))
        slots = np.empty(len(fresh), dtype=np.int64)
        bits_of_json: dict[str, int] = {}  # the same few source lists repeat on every row
        for j, (pid, _, _, _, sources) in enumerate(fresh):
            idx = self.pos.get(pid)
            if idx is None:
                idx = self.n
                self.ids.append(pid)
                self.pos[pid] = idx
                self.n += 1
            slots[j] = idx
            if sources not in bits_of_json:
                bits_of_json[sources] = self.bits(json.loads(sources), add=True)
        self.matrix[slots] = unit
        self.techniques[slots] = False
        self.pks[slots] = [r[1] for r in fresh]
        self.years[slots] = [NO_YEAR if r[3] is None else r[3] for r in fresh]
        self.source_bits[slots] = [bits_of_json[r[4]] for r in fresh]

    def set_techniques(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Mark (paper id, technique or criterion id) USES / EVALUATES pairs on rows already put."""
        rows, cols = [], []
        for pid, tid in pairs:
            idx = self.pos.get(pid)
            if idx is None:
                continue
            col = self.technique_col.get(tid)
            if col is None:
                col = self.technique_col[tid] = len(self.technique_col)
                if col >= self.techniques.shape[1]:
                    wider = np.zeros((len(self.techniques), 2 * self.techniques.shape[1]), dtype=bool)
                    wider[:, : self.techniques.shape[1]] = self.techniques
                    self.techniques = wider
            rows.append(idx)
            cols.append(col)
        self.techniques[rows, cols] = True

    def using(self, technique_ids: Sequence[str]) -> np.ndarray:
        """Rows whose paper uses any of the techniques."""
        cols = [self.technique_col[t] for t in technique_ids if t in self.technique_col]
        if not cols:
            return np.zeros(self.n, dtype=bool)
        # numpy's stubs allow a scalar for any(axis=...); on this 2-D slice it is always a 1-D array.
        return self.techniques[: self.n, cols].any(axis=1)  # type: ignore[return-value]

    def mask(
        self, *, technique_ids: Sequence[str] | None = None, year_from: int | None = None,
        year_to: int | None = None, sources: Sequence[str] = (), allowed: Sequence[set[str]] = (),
    ) -> np.ndarray:
        """Rows passing the filters: any of the techniques (None: no technique filter), the year
        range, any of the sources, and membership in every id set of `allowed`."""
        n = self.n
        mask = self.using(technique_ids) if technique_ids is not None else np.ones(n, dtype=bool)
        if year_from is not None:
            mask &= self.years[:n] >= int(year_from)
        if year_to is not None:
            mask &= (self.years[:n] <= int(year_to)) & (self.years[:n] != NO_YEAR)
        if sources:
            mask &= (self.source_bits[:n] & self.bits(sources)) != 0
        for ids in allowed:
            rows = np.zeros(n, dtype=bool)
            rows[[i for i in map(self.pos.get, ids) if i is not None]] = True
            mask &= rows
        return mask

    def top_k(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[ScoredId]:
        """Exact cosine top-k of a unit query among the rows `mask` allows (all when None),
        best first, scores rounded to 6 decimals, equal scores by id. Not thread-safe: the caller
        serialises calls."""
        n = self.n
        if n == 0:
            return []
        key = query.astype(np.float32, copy=False).tobytes()
        if self._last_scores is not None and self._last_scores[0] == key:
            scores = self._last_scores[1].copy()
        else:
            # One BLAS thread: on this class of machine a threaded mat-vec costs a flat ~8 ms.
            with _BLAS.limit(limits=1, user_api="blas"):
                scores = self.matrix[:n] @ query
            # The mat-vec's rounding depends on a row's place (insertion order): one vector under two
            # ids scored a float step apart. To the 6 decimals the API shows, they tie, and go by id.
            np.round(scores, 6, out=scores)
            self._last_scores = (key, scores.copy())
        available = n
        if mask is not None:
            scores[~mask] = -np.inf
            available = int(mask.sum())
        k = min(k, available)
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.isfinite(scores[top])]
        if k < n and len(top):
            # argpartition cuts through equal scores at any row: take every row of the k-th score, so
            # the id order below picks among them (rows are in insertion order, ids are not).
            edge = scores[top].min()
            tied = np.flatnonzero(scores == edge)
            if len(tied) > np.count_nonzero(scores[top] == edge):
                top = np.concatenate((top[scores[top] > edge], tied))
        order = top[np.lexsort((top, -scores[top]))]
        if len(order) > 1 and np.any(scores[order[1:]] == scores[order[:-1]]):
            # Equal scores (rare with real vectors) by id.
            ranked = sorted(order.tolist(), key=lambda i: (-scores[i], self.ids[i]))
            order = np.asarray(ranked, dtype=np.int64)
        return [ScoredId(id=self.ids[i], score=float(scores[i])) for i in order[:k]]
