"""The built sdist and wheel mark the packages typed (PEP 561 py.typed), so a user's type checker reads
paperkg's hints (README "Use from Python")."""

from __future__ import annotations

from pathlib import Path

from tests.test_packaging import _sdist_names, _wheel_names, dist

__all__ = ["dist"]  # the built sdist and wheel, one build per module (tests/test_packaging.py)

MARKERS = ("kg/py.typed", "api/py.typed", "ingest/py.typed")


def test_the_wheel_and_the_sdist_carry_py_typed(dist: dict[str, Path]) -> None:
    wheel, sdist = set(_wheel_names(dist["wheel"])), set(_sdist_names(dist["sdist"]))
    assert [m for m in MARKERS if m not in wheel] == []
    assert [m for m in MARKERS if m not in sdist] == []
