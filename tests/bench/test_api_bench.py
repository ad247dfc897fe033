"""bench/api_bench.py: the floor is timed between the server's requests, every measurement is repeated in
rounds, and the target verdict compares the rounds' ranges. Checks the script's logic and printed rows,
never its timings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.api_bench import TARGETS, floor_targets, interleaved, percentile, report, summarize, verdict

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "api_bench.py"
CLIENT, CLIENT_FLOOR = TARGETS[0]
GUNICORN, GUNICORN_FLOOR = TARGETS[1]


def test_floor_and_server_alternate_query_by_query() -> None:
    calls: list[str] = []

    def floor(q: str) -> float:
        calls.append(f"floor {q}")
        return 1.0

    floor_ms, server_ms = interleaved(["a", "b", "c"], floor, lambda q: calls.append(f"server {q}"))
    assert calls == ["floor a", "server a", "floor b", "server b", "floor c", "server c"]
    assert floor_ms == [1.0, 1.0, 1.0] and len(server_ms) == 3


def test_summarize_takes_the_median_over_rounds_and_the_p95_range() -> None:
    rounds = [[float(v) for v in range(start, start + 20)] for start in (1, 11, 6)]
    assert [percentile(r, 95) for r in rounds] == [19.0, 29.0, 24.0]
    p50, p95, mean, low, high = summarize(rounds)
    assert (p50, p95, low, high) == (15.0, 24.0, 19.0, 29.0)
    assert mean == pytest.approx(15.5)
    assert floor_targets([[10.0] * 20, [20.0] * 20]) == [20.0, 35.0]


@pytest.mark.parametrize(("server", "targets", "expected"), [
    ([40.0, 42.0, 45.0], [46.0, 50.0, 60.0], "meets"),
    ([61.0, 62.0], [46.0, 50.0, 60.0], "misses"),
    ([40.0, 55.0], [46.0, 50.0, 60.0], "within noise"),  # the ranges overlap
    ([59.5, 60.2, 60.7], [59.9, 60.5], "within noise"),  # the audit's case: a verdict 0.5 ms from the target
    ([50.0, 50.0], [50.0, 50.0], "within noise"),
    ([10.0], [10.5], "within noise (one round)"),  # review: a single round is no range
])
def test_verdict_compares_whole_ranges(server: list[float], targets: list[float], expected: str) -> None:
    assert verdict(server, targets) == expected


def test_report_prints_one_row_per_measurement_and_a_verdict_per_hybrid_row() -> None:
    floor = [[10.0] * 20, [12.0] * 20]  # targets 20 and 23 ms
    rows = [(CLIENT_FLOOR, floor), (CLIENT, [[15.0] * 20, [18.0] * 20]), ("/api/recommend (test client)",
            [[5.0] * 20, [6.0] * 20]), (GUNICORN_FLOOR, floor), (GUNICORN, [[19.0] * 20, [30.0] * 20]),
            ("wrk -t2 -c16 /api/search (gunicorn)", "21.3 req/s")]
    lines = report(rows, 2)
    assert lines[0].split() == ["measurement", "p50", "ms", "p95", "ms", "mean", "ms", "p95", "range"]
    assert [line[:44].rstrip() for line in lines[1:7]] == [name for name, _ in rows]
    assert lines[2].split()[-4:] == ["16.50", "16.50", "16.50", "15.0-18.0"]
    assert lines[6].endswith("21.3 req/s")
    assert lines[7].startswith("(each figure the median over 2 rounds; p95 range:")
    assert lines[8].startswith(" each floor row timed query by query")
    assert lines[9:] == [
        f"target {CLIENT}: p95 16.5 ms (15.0-18.0) vs 1.5 x floor p95 + 5 = 21.5 ms (20.0-23.0) -> meets",
        f"target {GUNICORN}: p95 24.5 ms (19.0-30.0) vs 1.5 x floor p95 + 5 = 21.5 ms (20.0-23.0) "
        "-> within noise",
    ]
    # Without gunicorn: no gunicorn rows, one verdict.
    assert len([line for line in report(rows[:3], 2) if line.startswith("target ")]) == 1


def test_a_small_run_prints_the_table_and_the_verdict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "300", "--queries", "12", "--rounds", "2", "--no-gunicorn",
         "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("measurement"))
    assert [line[:44].rstrip() for line in lines[start + 1:start + 9]] == [
        CLIENT_FLOOR, CLIENT, "/api/search keyword (test client)", "/search web page, hybrid (test client)",
        "/api/papers/<id>/related (test client)", "/papers/<id>/graph.json (test client)",
        "/api/recommend (test client)", "kg.recommend.recommend() (library)"]
    assert lines[start + 9].startswith("(each figure the median over 2 rounds")
    assert lines[start + 11].startswith(f"target {CLIENT}: p95 ")
    assert lines[start + 11].rsplit(" -> ", 1)[1] in {"meets", "misses", "within noise"}
    assert len(lines) == start + 12
    assert [line for line in result.stderr.splitlines() if "round" in line] == [
        "  round 1/2 done", "  round 2/2 done"]


def test_rounds_must_be_positive() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "0"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2
    assert "argument --rounds: must be at least 1, not 0" in result.stderr
