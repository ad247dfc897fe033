"""API latency and throughput on synthetic corpora (10k and 100k papers) in the embedded store.

Usage: .venv/bin/python bench/api_bench.py [--sizes 10000,100000] [--queries 200] [--rounds 3]
       [--wrk-seconds 20] [--workdir /tmp/paperkg-api-bench] [--no-gunicorn]
Quick check: --sizes 1000 --queries 40 --rounds 2 --wrk-seconds 5

For each size: builds (or reuses) a synthetic store (clustered unit vectors, Zipf-distributed
words, taxonomy techniques/models/authors on every paper), then measures with the real model, in
--rounds rounds:
- GET /api/search (hybrid) through the Flask test client and through gunicorn on loopback, run with
  the shipped settings (api/gunicorn_conf.py: 2 workers of 4 threads, as the README and the image),
  each interleaved query by query with the floor: query embedding (1 torch thread) + numpy top-k over
  the same matrix (1 BLAS thread), so server and floor see the same machine load;
- GET /api/search (keyword), the /search page, GET /api/papers/<id>/related, the graph page's
  /papers/<id>/graph.json and POST /api/recommend (3 liked, 1 disliked) through the client;
- after the rounds, requests/s of /api/search under `wrk -t 2 -c 16 -d 20s` against that gunicorn
  (errors counted; skipped, with a note, when wrk is not installed).
Prints one table per size (each statistic the median over the rounds, with the range of the p95s)
plus the target check, p95 <= 1.5 x floor p95 + 5 ms per round: "meets" when the server's p95 range is
wholly under the target's range, "misses" when wholly over, else "within noise".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.shared_data import positive_int  # noqa: E402
from kg.embedded import EmbeddedStore  # noqa: E402
from kg.entities import Paper, PaperBundle, TechniqueUse  # noqa: E402
from kg.schema import EMBEDDING_DIM, Label  # noqa: E402
from kg.taxonomy import load_taxonomy  # noqa: E402

# gunicorn's settings as the README and the image run it (api/gunicorn_conf.py).
GUNICORN_SETTINGS = ["-c", "python:api.gunicorn_conf"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zen", "qui", "dra", "pol", "sem", "tur", "gal", "fi"]
SEED = 1234


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of a list of numbers."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def vocabulary(rng: random.Random, taxonomy_words: list[str], size: int = 4000) -> list[str]:
    """Invented words plus the taxonomy's words, in Zipf rank order (taxonomy words mid-ranked)."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    for i, w in enumerate(taxonomy_words):
        ordered.insert(50 + 7 * i, w)
    return ordered


def build_store(path: Path, n: int, model_name: str) -> None:
    """Write n synthetic papers (with edges, and embeddings labelled with the query model's name, which
    they stand in for) into a fresh store at path."""
    rng = random.Random(SEED)
    nprng = np.random.default_rng(SEED)
    taxonomy = load_taxonomy()
    techniques = [t.id for t in taxonomy.of_label(Label.TECHNIQUE)]
    models = [m.id for m in taxonomy.of_label(Label.MODEL)]
    tax_words = sorted({w for node in taxonomy.of_label(Label.TECHNIQUE) for a in node.aliases
                        for w in re.findall(r"[a-z]+", a.lower()) if len(w) > 3})
    vocab = vocabulary(rng, tax_words)
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    centers = nprng.standard_normal((64, EMBEDDING_DIM)).astype(np.float32)
    authors = [f"Author {i}" for i in range(max(50, n // 3))]
    store = EmbeddedStore(path)
    store.init_schema()
    store.load_taxonomy(taxonomy.nodes)
    start = time.perf_counter()
    batch: list[PaperBundle] = []
    for i in range(n):
        words = nprng.choice(len(vocab), size=120, p=weights)
        abstract = ". ".join(" ".join(vocab[w] for w in words[j:j + 15]).capitalize()
                             for j in range(0, 120, 15)) + "."
        title = " ".join(vocab[w] for w in nprng.choice(len(vocab), size=8, p=weights)).capitalize()
        vec = centers[i % 64] + 0.8 * nprng.standard_normal(EMBEDDING_DIM).astype(np.float32)
        vec /= np.linalg.norm(vec)
        year = 2015 + i % 10
        paper = Paper(
            id=f"syn-{i:06d}", title=title, abstract=abstract, authors=rng.sample(authors, rng.randint(1, 5)),
            year=year, published=f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}", sources=["records"],
            # Named after the query model: the server refuses (model_mismatch) to rank papers of
            # another model, and these vectors stand in for its embeddings in the latency runs.
            embedding=vec.astype(np.float32), embedding_model=model_name,
        )
        used = rng.sample(techniques, rng.choice([0, 1, 1, 2, 2, 3]))
        batch.append(PaperBundle(
            paper=paper, techniques=[TechniqueUse(t, rng.choice(["list", "extracted"])) for t in used],
            models=rng.sample(models, rng.choice([0, 1, 1, 2])),
        ))
        if len(batch) == 1000:
            store.upsert_papers(batch)
            batch = []
    if batch:
        store.upsert_papers(batch)
    store.close()
    print(f"  built {n} synthetic papers in {time.perf_counter() - start:.0f} s")


def make_queries(rng: random.Random, count: int) -> list[str]:
    """Short MI-style queries: taxonomy aliases, sometimes with a corpus word."""
    taxonomy = load_taxonomy()
    phrases = sorted({a for n in taxonomy.of_label(Label.TECHNIQUE) for a in [n.name, *n.aliases]})
    extra = ["circuits in attention heads", "features of language models", "superposition of neurons",
             "how transformers do arithmetic", "induction heads", "factual recall in MLP layers"]
    pool = phrases + extra
    return [rng.choice(pool) + ("" if rng.random() < 0.5 else " " + rng.choice(pool)) for _ in range(count)]


class Floor:
    """Query embedding + numpy top-10 over the store's matrix: what any hybrid search costs at least."""

    def __init__(self, store_path: Path, embedder: Any) -> None:
        from threadpoolctl import ThreadpoolController

        store = EmbeddedStore(store_path)
        ids = store.paper_ids()
        vectors = store.get_embeddings(ids)
        store.close()
        self.matrix = np.stack([vectors[i] for i in ids]).astype(np.float32)
        self.embedder = embedder
        self._controller = ThreadpoolController()

    def __call__(self, query: str) -> float:
        """Milliseconds of one query's embedding and top-10 (numpy on 1 BLAS thread)."""
        # The limit is set and lifted outside the timed part, and only around the floor: the servers
        # timed in between run with their own settings.
        with self._controller.limit(limits=1, user_api="blas"):
            start = time.perf_counter()
            scores = self.matrix @ self.embedder.encode_query(query)
            top = np.argpartition(-scores, 10)[:10]
            top[np.argsort(-scores[top])]
            return (time.perf_counter() - start) * 1000


def interleaved(queries: Sequence[str], floor: Callable[[str], float],
                request: Callable[[str], object]) -> tuple[list[float], list[float]]:
    """Floor and server timed query by query, one after the other (same machine load): (floor, server) ms."""
    floor_ms, server_ms = [], []
    for q in queries:
        floor_ms.append(floor(q))
        start = time.perf_counter()
        request(q)
        server_ms.append((time.perf_counter() - start) * 1000)
    return floor_ms, server_ms


def timed_each(items: Sequence[Any], request: Callable[[Any], object]) -> list[float]:
    """Milliseconds of request(item) for each item."""
    out = []
    for item in items:
        start = time.perf_counter()
        request(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 60) -> int:
    """GET a URL and return the status (body read and discarded)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def gunicorn_server(data_dir: Path) -> Iterator[str]:
    """gunicorn with the shipped settings serving data_dir on loopback, ready: yields its base URL."""
    # The log goes to a file (a pipe nobody reads would block gunicorn once full), shown if it exits.
    with tempfile.TemporaryFile("w+") as log:
        port = free_port()
        env = {**os.environ, "PAPERKG_DATA_DIR": str(data_dir), "PAPERKG_STORE": "embedded",
               "PAPERKG_NEO4J_URI": "", "HF_HUB_OFFLINE": "1", "PAPERKG_LOG_LEVEL": "WARNING"}
        env.pop("GUNICORN_CMD_ARGS", None)  # the settings measured are the shipped ones
        gunicorn = Path(sys.executable).with_name("gunicorn")
        # The shipped settings make no control socket, which would be $HOME/.gunicorn/gunicorn.ctl, shared
        # with (and deleted on exit from under) any other gunicorn of this user.
        proc = subprocess.Popen(
            [str(gunicorn), *GUNICORN_SETTINGS, "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             "api.wsgi:app"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while True:
                if proc.poll() is not None:  # waiting on would only delay the error
                    log.seek(0)
                    raise RuntimeError(f"gunicorn exited with code {proc.returncode}:\n{log.read()}")
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not become ready in 120 s")
                try:
                    if http_get(f"{base}/readyz", timeout=5) == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            yield base
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def search_url(base: str, query: str) -> str:
    """The /api/search URL of a hybrid query, top 10."""
    return f"{base}/api/search?" + urllib.parse.urlencode({"q": query, "limit": 10})


WRK_MISSING = "wrk is not installed (apt install wrk)"


def run_wrk(base: str, urls: list[str], seconds: int) -> dict[str, Any]:
    """wrk -t2 -c16 with a Lua script cycling through the query URLs."""
    paths = [u[len(base):] for u in urls]
    script = (
        "local paths = " + "{" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "local i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        lua = f.name
    try:
        out = subprocess.run(["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "--timeout", "10s",
                              "-s", lua, base], capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(lua)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0,
        "raw": out,
    }


Samples = list[list[float]]  # one list of milliseconds per round

FLOOR = "floor: embed + numpy top-10"
# Each hybrid search row and the floor row timed interleaved with it, query by query.
TARGETS = (("/api/search hybrid (test client)", f"{FLOOR}, with client"),
           ("/api/search hybrid (gunicorn)", f"{FLOOR}, with gunicorn"))


def summarize(rounds: Samples) -> tuple[float, float, float, float, float]:
    """(p50, p95, mean) each the median over the rounds, then the lowest and highest p95 of the rounds."""
    p95s = [percentile(r, 95) for r in rounds]
    return (statistics.median(percentile(r, 50) for r in rounds), statistics.median(p95s),
            statistics.median(statistics.fmean(r) for r in rounds), min(p95s), max(p95s))


def floor_targets(floor: Samples) -> list[float]:
    """Each round's latency target: 1.5 x that round's floor p95 + 5 ms."""
    return [1.5 * percentile(r, 95) + 5 for r in floor]


def verdict(server_p95s: Sequence[float], targets: Sequence[float]) -> str:
    """The verdict: "meets" if every round's p95 is under every round's target, "misses" if over them all.

    Otherwise "within noise": the ranges of the server's p95s and of the targets overlap. One round has
    no range, so no margin tells the machine's noise apart: "within noise (one round)".
    """
    if len(server_p95s) < 2 or len(targets) < 2:
        return "within noise (one round)"
    if max(server_p95s) < min(targets):
        return "meets"
    if min(server_p95s) > max(targets):
        return "misses"
    return "within noise"


def bench_size(n: int, args: argparse.Namespace, embedder: Any) -> list[tuple[str, Samples | str]]:
    """All measurements for one corpus size: row name -> per-round samples (or a text), in table order."""
    from api.app import create_app
    from kg.config import load_config
    from kg.recommend import recommend

    data_dir = args.workdir / f"n{n}"
    db = data_dir / "paperkg.sqlite3"
    if db.exists():
        probe = EmbeddedStore(db)
        have = probe.embedding_models()
        probe.close()
        if have != {embedder.model_name: n}:  # another size or model, or an older version of this bench
            shutil.rmtree(data_dir)
    if not db.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        build_store(db, n, embedder.model_name)
    rng = random.Random(SEED + n)
    queries = make_queries(rng, args.queries)
    floor = Floor(db, embedder)

    store = EmbeddedStore(db)
    app = create_app({"STORE": store, "EMBEDDER": embedder,
                      "PAPERKG_CONFIG": load_config(env={"PAPERKG_DATA_DIR": str(data_dir)})})
    client = app.test_client()
    ids = store.paper_ids()
    for q in queries[:10]:  # warm: vector mirror, taxonomy, IDF cache
        client.get("/api/search", query_string={"q": q})
    # The same papers every round. Four distinct ones for /api/recommend: it refuses a paper both liked
    # and disliked (likely in a small corpus).
    picks = [rng.choice(ids) for _ in range(args.queries)]
    likes = [rng.sample(ids, 4) for _ in range(args.queries)]

    def client_search(q: str) -> None:
        response = client.get("/api/search", query_string={"q": q, "limit": 10})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    def client_get(path: str, **params: str) -> None:
        response = client.get(path, query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    def client_recommend(picked: list[str]) -> None:
        body = {"liked": picked[:3], "disliked": picked[3:], "limit": 10}
        response = client.post("/api/recommend", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    samples: dict[str, Samples] = {}
    errors = 0
    with contextlib.ExitStack() as stack:
        base = None if args.no_gunicorn else stack.enter_context(gunicorn_server(data_dir))
        if base is not None:
            # Both workers must load the model and fill their vector mirror before timing: sequential
            # requests may all reach one worker, and the other's first timed request then costs ~2 s.
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(http_get, [search_url(base, q) for q in queries[:40]]))
        for r in range(args.rounds):
            round_rows: dict[str, list[float]] = {}
            round_rows[TARGETS[0][1]], round_rows[TARGETS[0][0]] = interleaved(queries, floor, client_search)
            round_rows["/api/search keyword (test client)"] = timed_each(
                queries, lambda q: client_get("/api/search", q=q, mode="keyword"))
            round_rows["/search web page, hybrid (test client)"] = timed_each(
                queries, lambda q: client_get("/search", q=q))
            round_rows["/api/papers/<id>/related (test client)"] = timed_each(
                picks, lambda pid: client_get(f"/api/papers/{pid}/related", limit="10"))
            round_rows["/papers/<id>/graph.json (test client)"] = timed_each(
                picks, lambda pid: client_get(f"/papers/{pid}/graph.json"))
            round_rows["/api/recommend (test client)"] = timed_each(likes, client_recommend)
            round_rows["kg.recommend.recommend() (library)"] = timed_each(
                likes, lambda picked: recommend(store, picked[:3], picked[3:], limit=10))
            if base is not None:
                statuses: list[int] = []

                def served(q: str, base: str = base, statuses: list[int] = statuses) -> None:
                    statuses.append(http_get(search_url(base, q)))

                round_rows[TARGETS[1][1]], round_rows[TARGETS[1][0]] = interleaved(queries, floor, served)
                errors += sum(status != 200 for status in statuses)
            for name, values in round_rows.items():
                samples.setdefault(name, []).append(values)
            print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        wrk = None
        if base is not None and shutil.which("wrk"):
            wrk = run_wrk(base, [search_url(base, q) for q in queries], args.wrk_seconds)
    store.close()

    order = [*TARGETS[0][::-1], "/api/search keyword (test client)", "/search web page, hybrid (test client)",
             "/api/papers/<id>/related (test client)", "/papers/<id>/graph.json (test client)",
             "/api/recommend (test client)",
             "kg.recommend.recommend() (library)", *TARGETS[1][::-1]]
    rows: list[tuple[str, Samples | str]] = [(name, samples[name]) for name in order if name in samples]
    if base is not None:
        rows.append(("wrk -t2 -c16 /api/search (gunicorn)",
                     f"{wrk['rps']:.1f} req/s, {wrk['requests']} requests, {wrk['non2xx']} non-2xx, "
                     f"{wrk['socket_errors']} socket errors; sequential errors {errors}" if wrk else
                     f"not measured: {WRK_MISSING}; sequential errors {errors}"))
    return rows


def report(rows: Sequence[tuple[str, Samples | str]], rounds: int) -> list[str]:
    """The table of one size and its target lines."""
    lines = [f"{'measurement':<44} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'p95 range':>15}"]
    for name, values in rows:
        if isinstance(values, str):
            lines.append(f"{name:<44} {values}")
            continue
        p50, p95, mean, low, high = summarize(values)
        lines.append(f"{name:<44} {p50:8.2f} {p95:8.2f} {mean:8.2f} {f'{low:.1f}-{high:.1f}':>15}")
    lines.append(f"(each figure the median over {rounds} round{'s' if rounds > 1 else ''}; p95 range: the "
                 "lowest and highest p95 of the rounds;")
    lines.append(" each floor row timed query by query between the requests of the hybrid row after it)")
    by_name = dict(rows)
    for server_name, floor_name in TARGETS:
        server, floor = by_name.get(server_name), by_name.get(floor_name)
        if server is None or floor is None or isinstance(server, str) or isinstance(floor, str):
            continue
        p95s = [percentile(r, 95) for r in server]
        targets = floor_targets(floor)
        lines.append(
            f"target {server_name}: p95 {statistics.median(p95s):.1f} ms ({min(p95s):.1f}-{max(p95s):.1f})"
            f" vs 1.5 x floor p95 + 5 = {statistics.median(targets):.1f} ms "
            f"({min(targets):.1f}-{max(targets):.1f}) -> {verdict(p95s, targets)}")
    return lines


def main() -> None:
    """Run the benchmark for every size and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="rounds of every measurement (default 3): the target check compares the "
                             "rounds' ranges")
    parser.add_argument("--wrk-seconds", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "paperkg-api-bench")
    parser.add_argument("--no-gunicorn", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ingest.embed import Embedder

    if not args.no_gunicorn and not shutil.which("wrk"):
        # Said first, not after the long 100k runs: the throughput row will be missing.
        print(f"note: {WRK_MISSING}: the throughput row is skipped", file=sys.stderr)
    embedder = Embedder(threads=1)
    embedder.encode_query("warm up")
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"\n== {n} papers (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        rows = bench_size(n, args, embedder)
        print("\n".join(report(rows, args.rounds)))


if __name__ == "__main__":
    main()
