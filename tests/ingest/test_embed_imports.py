"""A broken install of the libraries the model runs on (torch, sentence-transformers) is a missing model.

QA (a laptop with torch shadowed by an ImportError, or an OSError as a broken libtorch raises):
`paperkg search "logit lens"` printed a 30-line traceback and the API answered a bare 500, where a missing
model package already gave one `Error:` line and a 503 model_unavailable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ingest.embed
from ingest.arxiv_server import LocalArxivServer
from ingest.embed import Embedder, ModelMissing
from tests.broken_imports import ERRORS, break_import, shadow_package
from tests.seed_store import taxonomy_store

from .conftest import REPO_ROOT

# An ImportError: spaCy (the extractor, which ingest runs too) tolerates a torch that raises only that.
MISSING_TORCH = "raise ImportError('simulated: torch cannot be loaded')"


@pytest.mark.parametrize(("package", "module", "error"), [
    ("torch", "torch", "ImportError"),
    ("torch", "torch", "OSError"),
    ("torch", "torch", "RuntimeError"),
    ("torch", "torch", "AttributeError"),
    ("sentence-transformers", "sentence_transformers", "ImportError"),
])
def test_a_library_that_cannot_be_imported_is_a_missing_model_naming_it(
    monkeypatch: pytest.MonkeyPatch, package: str, module: str, error: str
) -> None:
    make: Callable[[], Exception] = ERRORS[error]
    finder = break_import(monkeypatch, module, make)
    with pytest.raises(ModelMissing) as missing:
        Embedder()  # the packaged model: its directory is there, only the library is broken
    assert finder.tries == 1
    message = str(missing.value)
    reinstall = ingest.embed.REINSTALL[package]
    assert message == (f"the embedding model cannot run: importing {package} failed ({error}: {make()}); "
                       f"reinstall it: {reinstall} (see the README's install steps); keyword search needs "
                       "no model")
    assert type(missing.value.__cause__).__name__ == error


def test_the_reinstall_commands_pin_what_pyproject_pins() -> None:
    """The hint is the README's install step: the exact torch pin, the sentence-transformers range."""
    pinned = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(d for d in pinned if d.startswith("torch"))
    sentence = next(d for d in pinned if d.startswith("sentence-transformers"))
    expected = {"torch": f"pip install --force-reinstall {torch}",
                "sentence-transformers": f"pip install --force-reinstall --no-deps '{sentence}'"}
    shipped = ingest.embed.REINSTALL
    assert shipped == expected


def _paperkg(args: list[str], env: dict[str, str], shadow: Path) -> subprocess.CompletedProcess[str]:
    """`paperkg ARGS` in a process of its own with the shadowing folder first on PYTHONPATH."""
    full = {**os.environ, "PAPERKG_STORE": "embedded", **env, "PYTHONPATH": str(shadow)}
    full.pop("PAPERKG_NEO4J_URI", None)
    full.pop("PAPERKG_EMBEDDING_MODEL", None)
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=REPO_ROOT, env=full,
                          capture_output=True, text=True, timeout=600, check=False)


def test_ingest_with_a_broken_torch_is_one_error_line(data_dir: Path, tmp_path: Path) -> None:
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"id": "p-1", "title": "Probing circuits in a toy model",
                                   "abstract": "We use activation patching."}) + "\n", encoding="utf-8")
    shadow = shadow_package(tmp_path / "shadow", "torch", MISSING_TORCH)
    proc = _paperkg(["ingest", "records", str(records)], {"PAPERKG_DATA_DIR": str(data_dir)}, shadow)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "Error: records ingest failed: the embedding model cannot run: importing torch failed (ImportError: "
        "simulated: torch cannot be loaded); reinstall it: pip install --force-reinstall torch==2.13.0"
    ), proc.stderr


def test_weekly_with_a_broken_torch_exits_78_as_a_missing_model(
    data_dir: Path, tmp_path: Path, seed_records: list[dict[str, Any]]
) -> None:
    """The weekly ingest's status for a missing model (78, a setting to fix), not 1 for an unexpected
    failure; the line says nothing of a retry, which would not help until the install is put right."""
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    shadow = shadow_package(tmp_path / "shadow", "torch", MISSING_TORCH)
    with LocalArxivServer(seed_records) as server:
        proc = _paperkg(["ingest", "weekly", "--since", "2019-01-01"],
                        {"PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_ARXIV_URL": server.url,
                         "PAPERKG_ARXIV_DELAY": "0", "PAPERKG_ARXIV_RETRIES": "1"}, shadow)
    assert proc.returncode == 78, proc.stderr
    line = proc.stderr.rstrip("\n").rsplit("\n", 1)[-1]
    assert line.startswith("Error: weekly ingest failed, watermark unchanged: ModelMissing: the embedding "
                           "model cannot run: importing torch failed (ImportError: "), line
    assert "next run" not in line and "Traceback" not in proc.stderr


def test_the_process_wide_embedder_is_not_cached_after_a_broken_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed load leaves nothing behind: once the library imports, the model loads."""
    monkeypatch.setattr(ingest.embed, "_CACHE", {})
    break_import(monkeypatch, "torch", ERRORS["OSError"])
    with pytest.raises(ModelMissing):
        ingest.embed.get_embedder()
    assert ingest.embed.loaded_embedder() is None
