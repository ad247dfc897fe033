"""The sdist and wheel built from this tree (as `make dist` builds them); the wheel installed elsewhere."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENDORED = REPO / "api" / "static" / "vendor" / "cytoscape.min.js"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One sdist and one wheel per module, built with the venv's setuptools as `make dist` builds them."""
    if not VENDORED.is_file():
        pytest.fail(f"{VENDORED} is missing: run `make node` first (`make test` and `make dist` do); "
                    "a package built without it has no graph library")
    out = tmp_path_factory.mktemp("dist")
    # The wheel is built from the sdist (build's default), so it holds only what the sdist carried.
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels, sdists = sorted(out.glob("paperkg-*.whl")), sorted(out.glob("paperkg-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_make_dist_vendors_cytoscape_before_building(tmp_path: Path) -> None:
    """make's own plan (-n: nothing run) for a tree without the vendored file: copy it, then build."""
    vendor, out = tmp_path / "vendor", tmp_path / "dist"
    done = subprocess.run(["make", "-n", "dist", f"VENDOR={vendor}", f"DIST={out}"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    copy = lines.index(f"cp node_modules/cytoscape/dist/cytoscape.min.js {vendor}/cytoscape.min.js")
    build = next(i for i, line in enumerate(lines) if " -m build " in line)
    assert copy < build
    assert lines[build].endswith(f"/python -m build --no-isolation --outdir {out} .")
    assert not vendor.exists() and not out.exists()


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def _sdist_names(sdist: Path) -> list[str]:
    """Member paths without the leading `paperkg-X.Y.Z/`."""
    with tarfile.open(sdist) as tf:
        return [name.split("/", 1)[1] for name in tf.getnames() if "/" in name]


def _dist_info(names: list[str]) -> str:
    (folder,) = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    return folder


def test_the_wheel_holds_the_data_files_and_the_graph_library(dist: dict[str, Path]) -> None:
    names = set(_wheel_names(dist["wheel"]))
    assert "kg/taxonomies/mi.yaml" in names
    templates = {p.relative_to(REPO).as_posix() for p in (REPO / "api" / "templates").rglob("*.html")}
    assert templates and templates <= names, sorted(templates - names)
    static = {p.relative_to(REPO).as_posix() for p in (REPO / "api" / "static").rglob("*") if p.is_file()}
    assert static <= names, sorted(static - names)
    assert "api/static/vendor/cytoscape.min.js" in names
    with zipfile.ZipFile(dist["wheel"]) as zf:
        assert zf.read("api/static/vendor/cytoscape.min.js") == VENDORED.read_bytes()


def test_the_wheel_holds_no_tests_benchmarks_node_modules_or_caches(dist: dict[str, Path]) -> None:
    names = _wheel_names(dist["wheel"])
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"kg", "api", "ingest", _dist_info(names)}, sorted(tops)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]


def test_the_sdist_holds_the_package_and_no_tests(dist: dict[str, Path]) -> None:
    names = _sdist_names(dist["sdist"])
    # tests/test_*.py were shipped by setuptools' defaults and failed at collection without the suite.
    assert not [n for n in names if n.startswith(("tests/", "bench/", "node_modules/", "test-artifacts/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    for name in ("pyproject.toml", "README.md", "LICENSE", "kg/cli.py", "kg/taxonomies/mi.yaml",
                 "api/templates/graph.html", "api/static/vendor/cytoscape.min.js", "ingest/demo.py"):
        assert name in names, name


def test_the_wheel_carries_the_mit_license(dist: dict[str, Path]) -> None:
    names = _wheel_names(dist["wheel"])
    info = _dist_info(names)
    with zipfile.ZipFile(dist["wheel"]) as zf:
        assert f"{info}/licenses/LICENSE" in names, [n for n in names if n.startswith(info)]
        text = zf.read(f"{info}/licenses/LICENSE").decode()
        metadata = email.message_from_bytes(zf.read(f"{info}/METADATA"))
    assert text.startswith("MIT License") and "paperkg contributors" in text
    assert metadata["License-Expression"] == "MIT" and metadata["License-File"] == "LICENSE"


def test_the_installed_wheel_reports_its_version_outside_the_checkout(dist: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    """The wheel installed (no dependencies: this venv has them) into a folder on PYTHONPATH, its
    `paperkg` script run from a directory away from the checkout: `--version` prints the wheel's version."""
    with zipfile.ZipFile(dist["wheel"]) as zf:
        names = zf.namelist()
        version = email.message_from_bytes(zf.read(f"{_dist_info(names)}/METADATA"))["Version"]
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                          "--target", str(site), str(dist["wheel"])],
                         capture_output=True, text=True, timeout=300, check=False)
    assert pip.returncode == 0, pip.stderr[-3000:]
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([str(site / "bin" / "paperkg"), "--version"], cwd=away, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == f"paperkg {version}\n"
    # It ran the installed package, whose data files are beside it, not the checkout's.
    where = subprocess.run([sys.executable, "-c", "import api, kg.config; print(kg.config.PACKAGED_TAXONOMY);"
                            "print(api.__file__)"],
                           cwd=away, env=env, capture_output=True, text=True, timeout=120, check=True)
    taxonomy, api_init = (Path(line) for line in where.stdout.splitlines())
    assert taxonomy.is_relative_to(site) and taxonomy.is_file()
    assert (Path(api_init).parent / "static" / "vendor" / "cytoscape.min.js").is_file()
