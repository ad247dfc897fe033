"""Ingest throughput: the full pipeline vs raw model.encode on the same texts, re-ingest, peak RSS.

    .venv/bin/python bench/ingest_bench.py [--n 2000] [--batch-size 256] [--rounds 3]

Targets: pipeline >= 0.85x raw encode throughput; re-ingest of unchanged papers >= 20x faster.

The model and spaCy's extractor are loaded and warmed before anything is timed, and the same warmed
ones serve every run. Each round times raw model.encode, a first pipeline ingest into a fresh store
and a re-ingest of the same records, adjacent in time (the order alternates round by round, so a load
that drifts over minutes favours neither side); the table gives the median of the per-round ratios
with their range, and a NOTE when the raw encode rates of the run differ by more than 20% (a machine
whose load changed: run again). Per-round times go to stderr as they come.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import positive_int
from ingest.records import Record

_SUBJECTS = [
    "sparse autoencoders", "attention heads", "induction heads", "linear probes", "the residual stream",
    "MLP neurons", "steering vectors", "the logit lens", "activation patching", "path patching",
    "attribution patching", "causal scrubbing", "transcoders", "superposition", "polysemantic neurons",
    "factual recall circuits", "successor heads", "copy suppression", "feature dashboards",
]
_MODELS = ["GPT-2 small", "Pythia-1.4B", "Llama-2-7B", "Gemma-2-2B", "a two-layer attention-only transformer"]
_VERBS = ["We find that", "We show that", "Our results demonstrate that", "We observe that",
          "We discover that"]
_CLAIMS = [
    "{s} in {m} implement a small number of interpretable algorithms",
    "{s} recover most of the clean-run logit difference on the indirect object task",
    "mean ablation of {s} reduces accuracy to near chance",
    "{s} are reused across tasks and across random seeds",
    "a handful of {s} mediate in-context learning in {m}",
    "{s} become decodable only after the middle layers of {m}",
]
_FILLER = [
    "Mechanistic interpretability aims to reverse-engineer neural networks into human-understandable parts.",
    "We release code, trained dictionaries and an interactive visualisation of every feature.",
    "We discuss limitations, including the faithfulness and completeness of the recovered explanation.",
    "Experiments span several model sizes and three downstream tasks.",
    "Our method scales to models with billions of parameters at modest compute cost.",
]


def synthetic_records(n: int, seed: int = 7) -> list[Record]:
    """n abstract-like records (150-250 words) with MI vocabulary, deterministic."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s, m = rng.choice(_SUBJECTS), rng.choice(_MODELS)
        sentences = [rng.choice(_FILLER)]
        for _ in range(rng.randint(5, 9)):
            claim = rng.choice(_CLAIMS).format(s=rng.choice(_SUBJECTS), m=rng.choice(_MODELS))
            sentences.append(f"{rng.choice(_VERBS)} {claim}.")
            if rng.random() < 0.5:
                sentences.append(rng.choice(_FILLER))
        title = f"{s.capitalize()} in {m}: study {i}"
        out.append(Record(source="records", source_id=f"bench-{i}", title=title, abstract=" ".join(sentences),
                          authors=[f"Author {rng.randint(1, 400)}" for _ in range(3)], year=2020 + i % 6,
                          explicit_id=f"bench-{i:05d}"))
    return out


# Raw encode rates of one run further apart than this (max / min - 1) mean the machine's load changed.
RAW_SPREAD_LIMIT = 0.20
_PHASES = ("raw encode", "first ingest", "re-ingest")


@dataclass
class Round:
    """The seconds of one round's raw encode, first pipeline ingest and re-ingest, and each one's peak RSS."""

    raw_s: float
    first_s: float
    again_s: float
    peak_mb: dict[str, float | None]

    @property
    def pipeline_ratio(self) -> float:
        """Pipeline throughput over raw encode throughput (same texts, so raw time over pipeline time)."""
        return self.raw_s / self.first_s

    @property
    def speedup(self) -> float:
        """How many times faster the re-ingest of unchanged papers is than their first ingest."""
        return self.first_s / self.again_s


def median_range(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of a non-empty list of numbers."""
    if not values:
        raise ValueError("no values")
    return statistics.median(values), min(values), max(values)


def spread(values: Sequence[float]) -> float:
    """How far apart the largest and smallest values are, as max / min - 1 (0 for one value)."""
    return max(values) / min(values) - 1


def reset_peak_rss() -> bool:
    """Reset the process's resident-set high-water mark (Linux: VmHWM); False where that cannot be done."""
    # ru_maxrss only ever grows, so it cannot give one phase's peak; writing 5 to clear_refs resets the
    # kernel's high-water mark to the current RSS (Linux 4.0+).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status in MB (VmRSS, VmHWM), None where it is not readable."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024.0 if found else None


def rss_mb() -> float | None:
    """The process's resident set now (VmRSS, MB), None where it is not readable."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float | None:
    """The resident-set high-water mark since the last reset (VmHWM, MB), None where it is not readable."""
    return _status_mb("VmHWM")


def timed_phase(fn: Callable[[], Any]) -> tuple[float, Any, float | None]:
    """(seconds, fn's result, peak RSS MB during the call or None when it cannot be measured)."""
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    return seconds, result, peak_rss_mb() if reset else None


def prepare(texts: Sequence[str], records: Sequence[Record], taxonomy: Any) -> tuple[Any, Any]:
    """The embedder and the extractor every run uses, both loaded and warmed (not counted in any time)."""
    from ingest.embed import get_embedder
    from ingest.extract import Extractor

    embedder = get_embedder()
    embedder.encode(list(texts[:32]))  # weights, kernels
    extractor = Extractor(taxonomy)
    # spaCy's pipeline and the alias matcher are built on the first extract (seconds): once here, not
    # inside the first timed ingest, where it lowered the pipeline ratio and inflated the re-ingest speed-up.
    first = records[0]
    extractor.extract(first.explicit_id or first.source_id, first.title, first.abstract or "")
    return embedder, extractor


def run_round(index: int, records: Sequence[Record], texts: Sequence[str], embedder: Any, extractor: Any,
              taxonomy: Any, workdir: Path, batch_size: int) -> Round:
    """One round: raw encode, and a first ingest into a fresh store then a re-ingest (order by index)."""
    from ingest.pipeline import run_ingest
    from kg.embedded import EmbeddedStore

    n = len(records)
    peaks: dict[str, float | None] = {}

    def raw() -> float:
        seconds, _, peaks["raw encode"] = timed_phase(lambda: embedder.encode(list(texts), batch_size=64))
        return seconds

    def pipeline() -> tuple[float, float]:
        store = EmbeddedStore(workdir / f"round{index}.sqlite3")  # fresh: nothing cached from a round before
        store.init_schema()
        store.load_taxonomy(taxonomy.nodes)
        try:
            def ingest() -> Any:
                return run_ingest(store, records, source="records", embedder=embedder, extractor=extractor,
                                  progress=False, batch_size=batch_size)
            first_s, first, peaks["first ingest"] = timed_phase(ingest)
            again_s, again, peaks["re-ingest"] = timed_phase(ingest)
        finally:
            store.close()
        if not (first.new == n and again.unchanged == n and again.embedded == 0):
            raise RuntimeError(f"round {index + 1}: first ingest stored {first.new} new of {n}, the "
                               f"re-ingest found {again.unchanged} unchanged and embedded {again.embedded}")
        return first_s, again_s

    # Alternated so that a load drifting over minutes does not always hit the same side of the ratio.
    if index % 2 == 0:
        raw_s = raw()
        first_s, again_s = pipeline()
    else:
        first_s, again_s = pipeline()
        raw_s = raw()
    return Round(raw_s, first_s, again_s, peaks)


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MB"


def table(n: int, words: float, rounds: Sequence[Round], start_rss_mb: float | None) -> list[str]:
    """The printed table (measure, median, range over rounds, note), NOTE lines and the footnote."""
    def timing(name: str, seconds: list[float], unit: str) -> tuple[str, str, str, str]:
        med, lo, hi = median_range(seconds)
        rate, rate_lo, rate_hi = median_range([n / s for s in seconds])
        d = 2 if hi < 10 else 1  # a re-ingest takes well under a second
        return (name, f"{med:.{d}f} s", f"{lo:.{d}f}-{hi:.{d}f} s",
                f"{rate:.1f} {unit}/s (range {rate_lo:.1f}-{rate_hi:.1f})")

    def ratio(name: str, values: list[float], digits: int, note: str) -> tuple[str, str, str, str]:
        med, lo, hi = median_range(values)
        return (name, f"{med:.{digits}f}x", f"{lo:.{digits}f}-{hi:.{digits}f}x", note)

    raw_rates = [n / r.raw_s for r in rounds]
    rows = [
        ("texts", f"{n}", "", f"synthetic abstracts, {words:.0f} words avg; {len(rounds)} rounds"),
        timing("raw model.encode", [r.raw_s for r in rounds], "texts"),
        timing("pipeline, first ingest", [r.first_s for r in rounds], "papers"),
        ratio("pipeline / raw", [r.pipeline_ratio for r in rounds], 2,
              "median of per-round ratios; target >= 0.85x"),
        timing("re-ingest unchanged", [r.again_s for r in rounds], "papers"),
        ratio("re-ingest speed-up", [r.speedup for r in rounds], 1,
              "median of per-round ratios; target >= 20x"),
        ("RSS before timing", _mb(start_rss_mb), "", "model and spaCy loaded and warmed"),
    ]
    for phase in _PHASES:
        peaks = [r.peak_mb.get(phase) for r in rounds]
        known = [p for p in peaks if p is not None]
        rows.append((f"peak RSS, {phase}", _mb(max(known)) if len(known) == len(peaks) else "n/a",
                     "", "highest over the rounds"))
    widths = [max(len(row[i]) for row in [*rows, ("measure", "median", "range", "")]) for i in range(3)]
    lines = [f"{'measure':<{widths[0]}}  {'median':>{widths[1]}}  {'range':>{widths[2]}}  note",
             "-" * (sum(widths) + 40)]
    lines += [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]
    if len(rounds) > 1 and spread(raw_rates) > RAW_SPREAD_LIMIT:
        lines += textwrap.wrap(
            f"NOTE: raw encode rates differ by {spread(raw_rates):.0%} within this run "
            f"({min(raw_rates):.1f}-{max(raw_rates):.1f} texts/s, more than {RAW_SPREAD_LIMIT:.0%}): the "
            "machine's load changed, so the ratios are unreliable; run again on a quieter machine.",
            width=100)
    if len(rounds) == 1:
        lines.append("NOTE: one round: no range, and a change of load cannot be seen (use --rounds 3).")
    lines += textwrap.wrap(
        "Range: lowest-highest over the rounds. Peak RSS: the process's resident-set high-water mark "
        "during the phase (Linux VmHWM, reset as the phase starts), highest over the rounds. It counts "
        "everything resident when the phase started: the model and spaCy (RSS before timing) and memory "
        "earlier phases freed but the allocator kept. n/a: not measurable here (needs Linux "
        "/proc/self/status and /proc/self/clear_refs).", width=100)
    return lines


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=positive_int, default=2000, help="synthetic records (default 2000)")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="papers per pipeline chunk")
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="rounds of raw encode and pipeline ingest, alternated (default 3)")
    args = parser.parse_args()

    from ingest.embed import embedding_text
    from kg.taxonomy import load_taxonomy

    records = synthetic_records(args.n)
    texts = [embedding_text(r.title, r.abstract or "") for r in records]
    words = sum(len(t.split()) for t in texts) / len(texts)
    taxonomy = load_taxonomy()
    embedder, extractor = prepare(texts, records, taxonomy)
    start_rss = rss_mb()

    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            r = run_round(i, records, texts, embedder, extractor, taxonomy, Path(tmp), args.batch_size)
            print(f"round {i + 1}/{args.rounds}: raw encode {r.raw_s:.1f} s, first ingest {r.first_s:.1f} s "
                  f"({r.pipeline_ratio:.2f}x raw), re-ingest {r.again_s:.2f} s", file=sys.stderr, flush=True)
            rounds.append(r)
    print("\n".join(table(args.n, words, rounds, start_rss)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
