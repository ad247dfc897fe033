"""bench/ingest_bench.py: rounds of raw encode and pipeline ingest summarised as medians of per-round ratios
with their range, a NOTE when the raw rates of a run disagree, peak RSS per phase, a warmed extractor.
Checks the script's logic and its printed rows, never its timings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.ingest_bench import (
    Round,
    median_range,
    peak_rss_mb,
    prepare,
    reset_peak_rss,
    spread,
    synthetic_records,
    table,
)
from ingest.embed import embedding_text
from kg.taxonomy import Taxonomy

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "ingest_bench.py"
ROW_NAMES = ["texts", "raw model.encode", "pipeline, first ingest", "pipeline / raw", "re-ingest unchanged",
             "re-ingest speed-up", "RSS before timing", "peak RSS, raw encode", "peak RSS, first ingest",
             "peak RSS, re-ingest"]
PEAKS = {"raw encode": 900.0, "first ingest": 1000.0, "re-ingest": 700.0}


def _rows(lines: list[str]) -> dict[str, str]:
    """Table rows by measure name (the names are separated from the value by two spaces)."""
    out = {}
    for line in lines:
        name = line.split("  ")[0]
        if name in ROW_NAMES:
            out[name] = line
    return out


def test_median_range_and_spread() -> None:
    assert median_range([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    assert median_range([1.0, 4.0]) == (2.5, 1.0, 4.0)
    assert spread([10.0, 12.0, 11.0]) == pytest.approx(0.2)
    assert spread([7.0]) == 0.0
    with pytest.raises(ValueError):
        median_range([])


def test_the_table_gives_the_median_of_per_round_ratios_with_their_range() -> None:
    # Per-round pipeline / raw ratios 0.5, 1.5, 0.8: median 0.80. The ratio of the median times would be
    # 30 / 20 = 1.50, the old table's mean-of-raw-runs formula another number again.
    rounds = [Round(10.0, 20.0, 0.5, PEAKS), Round(30.0, 20.0, 0.4, PEAKS), Round(40.0, 50.0, 1.0, PEAKS)]
    lines = table(100, 150.0, rounds, 650.0)
    rows = _rows(lines)
    assert list(rows) == ROW_NAMES
    assert lines[0].split() == ["measure", "median", "range", "note"]
    assert rows["pipeline / raw"].split()[3:5] == ["0.80x", "0.50-1.50x"]
    # Re-ingest speed-ups 40, 50, 50: median 50.0.
    assert rows["re-ingest speed-up"].split()[2:4] == ["50.0x", "40.0-50.0x"]
    assert rows["raw model.encode"].split()[2:6] == ["30.0", "s", "10.0-40.0", "s"]
    assert "3.3 texts/s (range 2.5-10.0)" in rows["raw model.encode"]
    assert rows["re-ingest unchanged"].split()[2:4] == ["0.50", "s"]  # two decimals for short times
    assert rows["RSS before timing"].split()[3:5] == ["650", "MB"]
    assert rows["peak RSS, first ingest"].split()[4:6] == ["1000", "MB"]
    # Raw rates 10, 3.3, 2.5 texts/s: far more than 20% apart.
    note = " ".join(lines[len(ROW_NAMES) + 2:])
    assert "NOTE: raw encode rates differ by 300% within this run (2.5-10.0 texts/s, more than 20%)" in note
    assert "Peak RSS: the process's resident-set high-water mark during the phase" in note


def test_no_note_when_the_raw_rates_agree_and_highest_peak_over_rounds() -> None:
    low = {"raw encode": 800.0, "first ingest": 1200.0, "re-ingest": 700.0}
    rounds = [Round(10.0, 11.0, 0.5, PEAKS), Round(11.5, 12.0, 0.5, low)]  # rates 10 and 8.7: 15% apart
    lines = table(100, 150.0, rounds, 650.0)
    assert not any("NOTE" in line for line in lines)
    rows = _rows(lines)
    assert rows["peak RSS, raw encode"].split()[4:6] == ["900", "MB"]
    assert rows["peak RSS, first ingest"].split()[4:6] == ["1200", "MB"]
    unmeasured = {phase: None for phase in PEAKS}
    rows = _rows(table(100, 150.0, [Round(10.0, 11.0, 0.5, unmeasured)], None))
    assert rows["peak RSS, re-ingest"].split()[3] == "n/a"
    assert rows["RSS before timing"].split()[3] == "n/a"


def test_peak_rss_is_reset_per_phase() -> None:
    if not reset_peak_rss():
        pytest.skip("no /proc/self/clear_refs (not Linux)")
    before = peak_rss_mb()
    block = bytearray(200 * 2**20)  # 200 MB touched: resident
    block[:: 4096] = b"x" * len(block[:: 4096])
    high = peak_rss_mb()
    del block
    assert reset_peak_rss()
    after = peak_rss_mb()
    assert before is not None and high is not None and after is not None
    assert high >= before + 150
    assert after <= high - 150  # reset to the current RSS, the block freed


def test_prepare_warms_the_extractor_before_anything_is_timed(taxonomy: Taxonomy) -> None:
    records = synthetic_records(3)
    texts = [embedding_text(r.title, r.abstract or "") for r in records]
    _embedder, extractor = prepare(texts, records, taxonomy)
    # The spaCy pipeline is built on the first extract; built here, the first timed ingest does not pay it.
    assert extractor._nlp is not None


def test_bad_counts_are_usage_errors() -> None:
    for args in (["--rounds", "0"], ["--n", "many"]):
        result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 2
        assert result.stdout == ""
    assert "argument --rounds: must be at least 1, not 0" in subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "0"], capture_output=True, text=True, timeout=120,
        check=False).stderr


def test_a_small_run_prints_every_row() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--n", "6", "--rounds", "2", "--batch-size", "4"],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert list(_rows(lines)) == ROW_NAMES
    assert "6 synthetic abstracts" not in result.stdout  # n is in the value column
    assert _rows(lines)["texts"].split()[1:3] == ["6", "synthetic"]
    assert "2 rounds" in _rows(lines)["texts"]
    assert [line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("round ")] == [
        "round 1/2", "round 2/2"]
