"""A package that cannot be imported, as a broken install leaves it (torch missing, or a wheel whose
shared library fails to load), simulated without touching the venv: in-process by a finder that fails
the import, in a subprocess by a shadowing package on PYTHONPATH."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest

# What the QA laptop saw: torch not installed, and a torch wheel whose libtorch is missing.
ERRORS: dict[str, Callable[[], Exception]] = {
    "ImportError": lambda: ImportError("simulated: torch cannot be loaded"),
    "OSError": lambda: OSError("libtorch_cpu.so: cannot open shared object file"),
    # QA: a NumPy torch was not built for, a half-installed package.
    "RuntimeError": lambda: RuntimeError("Numpy is not available"),
    "AttributeError": lambda: AttributeError("partially initialized module 'torch' has no attribute 'nn'"),
}


class BrokenImport(importlib.abc.MetaPathFinder):
    """Fails every import of one top-level package with a fresh error, counting the attempts."""

    def __init__(self, name: str, error: Callable[[], Exception]) -> None:
        self.name = name
        self.error = error
        self.tries = 0

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        """Raise for the package (as its broken __init__ would), let every other import through."""
        if fullname != self.name:
            return None
        self.tries += 1
        raise self.error()


def break_import(monkeypatch: pytest.MonkeyPatch, name: str, error: Callable[[], Exception]) -> BrokenImport:
    """Make `import NAME` fail with error() until the test ends (monkeypatch restores the module)."""
    finder = BrokenImport(name, error)
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    return finder


def shadow_package(folder: Path, name: str, raise_statement: str) -> Path:
    """A folder holding a package NAME whose import runs `raise_statement`: put it first on a subprocess's
    PYTHONPATH to break that package there. Returns the folder."""
    package = folder / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(raise_statement + "\n", encoding="utf-8")
    return folder
