"""A deterministic bag-of-words hashing embedder (Embedder interface) for plumbing tests only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Lowercased word tokens hashed (signed) into 384 buckets, L2-normalised: similar texts are close."""

    model_name = "hash-embedder-test"
    dim = 384

    def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
        self.calls = 0  # how many texts were encoded (lets tests check caching)

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for token in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            bucket = value % self.dim
            sign = 1.0 if (value >> 32) & 1 else -1.0
            vec[bucket] += sign
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            # An empty or token-free text still gets a valid unit vector (fixed bucket).
            vec[0] = 1.0
            return vec
        return vec / norm

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode texts to a float32 (n, 384) matrix of unit rows."""
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one text to a float32 (384,) unit vector."""
        return self.encode([text])[0]


class OtherModel(HashEmbedder):
    """The same embedder under another model name: papers it embedded are another model's to a store."""

    model_name = "another-model"
