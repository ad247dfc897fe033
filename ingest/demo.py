"""`make demo`: initialise, ingest the seed list with its papers' metadata, embed, then serve.

Offline (PAPERKG_OFFLINE=1, the default): the list is ../shared/data/awesome-list-seed.md and arXiv
is a LocalArxivServer answering from ../shared/data/seed_papers.jsonl; papers that arXiv does not
have get their abstracts from a records import of the same file. Online (PAPERKG_OFFLINE=0): the
live list URL (PAPERKG_LIST_SOURCE) and the real arXiv API. Re-running is fast: every step is
idempotent and embeddings are cached.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import click


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _init_store() -> Any:
    from kg.config import load_config
    from kg.store import open_store
    from kg.taxonomy import load_taxonomy

    config = load_config()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    taxonomy = load_taxonomy(config.taxonomy)
    store = open_store(config)
    store.init_schema()
    store.load_taxonomy(taxonomy.nodes)
    _say(f"initialised the {config.backend} store in {config.data_dir} "
         f"(taxonomy: {len(taxonomy.nodes)} nodes)")
    return store


def _ingest_list(source: str) -> None:
    """The same code path as `paperkg ingest list --source SOURCE`."""
    from ingest.cli import ingest_list_cmd

    try:
        ingest_list_cmd.main(["--source", source], prog_name="paperkg ingest list", standalone_mode=False)
    except click.ClickException as exc:
        raise SystemExit(f"[demo] ingest list failed: {exc.format_message()}") from exc


def _fill_abstracts(store: Any, seed_path: Path) -> None:
    """Records import of the seed entries arXiv did not describe (their abstracts, authors, dates)."""
    from ingest.pipeline import run_ingest
    from ingest.records_file import read_records_file

    records = read_records_file(seed_path).records
    stored = store.find_paper_ids(arxiv_ids=[r.arxiv_id for r in records if r.arxiv_id],
                                  title_keys=[r.title_key for r in records])
    wanted_ids = {stored.get(r.arxiv_id or "") or stored.get(r.title_key) for r in records}
    papers = {p.id: p for p in store.get_papers([i for i in wanted_ids if i])}
    todo = []
    for record in records:
        pid = stored.get(record.arxiv_id or "") or stored.get(record.title_key)
        paper = papers.get(pid) if pid else None
        # Only papers nothing richer than the list has described (arXiv or records).
        if paper is None or not ({"arxiv", "records"} & set(paper.sources)):
            todo.append(record)
    if not todo:
        _say("every paper already has its metadata")
        return
    summary = run_ingest(store, todo, source="records", progress=True)
    _say(f"abstracts from {seed_path.name} for {len(todo)} papers arXiv does not have: "
         f"{summary.new} new, {summary.updated} updated, {summary.unchanged} unchanged")


def _check_shared_data(folder: Path, files: list[Path]) -> None:
    """Exit with one message naming the absolute paths looked at, and a command to copy, when an
    offline demo file is missing."""
    missing = [path for path in files if not path.is_file()]
    if not missing:
        return
    names = " and ".join(path.name for path in files)
    raise SystemExit(
        f"[demo] the offline demo data is missing: {', '.join(str(p.resolve()) for p in missing)} not found "
        f"(PAPERKG_SHARED_DATA={folder}). Point PAPERKG_SHARED_DATA at the folder holding {names}, e.g.\n"
        "  PAPERKG_SHARED_DATA=/path/to/shared/data make demo\n"
        "in a checkout, or with paperkg installed as a package:\n"
        "  PAPERKG_SHARED_DATA=/path/to/shared/data python -m ingest.demo\n"
        "(or PAPERKG_OFFLINE=0 instead, for the live list and arXiv); nothing was created")


def _check_port(host: str, port: int) -> None:
    """Exit with one line, before anything is loaded, when the web server could not listen on host:port."""
    from api.cli import port_problem

    problem = port_problem(host, port)
    if problem is not None:
        # `make demo` takes PORT=; an installed package has no Makefile, and the demo itself takes --port.
        other = port + 1 if port < 65535 else 8000
        raise SystemExit(f"[demo] {problem}; another program may be using the port: choose another, e.g. "
                         f"PORT={other} make demo (installed as a package: "
                         f"python -m ingest.demo --port {other})")


def prepare(offline: bool | None = None) -> None:
    """Initialise and load the demo data (no serving)."""
    from kg.config import load_config

    config = load_config()
    offline = config.offline if offline is None else offline
    seed = config.shared_data / "seed_papers.jsonl"
    list_file = config.shared_data / "awesome-list-seed.md"
    if offline:
        # Before anything is created: an empty store left behind would then answer every search
        # with "0 candidates" as if the demo had worked.
        _check_shared_data(config.shared_data, [seed, list_file])
    store = _init_store()
    try:
        if offline:
            from ingest.arxiv_server import LocalArxivServer
            from ingest.records_file import read_json_objects

            with LocalArxivServer(read_json_objects(seed)) as server:
                os.environ["PAPERKG_ARXIV_URL"] = server.url
                os.environ["PAPERKG_ARXIV_DELAY"] = "0.05"
                _say(f"offline: local arXiv API at {server.url} ({len(server.entries)} papers); "
                     f"list {list_file}")
                started = time.monotonic()
                _ingest_list(str(list_file))
                _say(f"ingested the list in {time.monotonic() - started:.1f} s")
            _fill_abstracts(store, seed)
        else:
            _say(f"online: list {config.list_source}, arXiv {config.arxiv_url}")
            _ingest_list(config.list_source)
        stats = store.stats()
        nodes = stats.get("nodes", {})
        rels = stats.get("relationships", {})
        _say("graph: " + ", ".join(f"{k} {v}" for k, v in sorted(nodes.items()) if v))
        _say("edges: " + ", ".join(f"{k} {v}" for k, v in sorted(rels.items()) if v))
        if config.backend == "embedded":
            # The CLI's default directory is another one: say how to reach this graph from a shell.
            _say(f"CLI on this graph: PAPERKG_DATA_DIR={config.data_dir} {_cli_path()} search \"logit lens\"")
    finally:
        store.close()


def _cli_path() -> str:
    """How to call `paperkg` from here: the script beside this interpreter (.venv/bin/paperkg)."""
    script = Path(sys.executable).parent / "paperkg"
    if not script.is_file():
        return "paperkg"
    with contextlib.suppress(ValueError):
        return str(script.relative_to(Path.cwd()))
    return str(script)


def _app() -> Any:
    from api.app import create_app

    return create_app({"WARM_EMBEDDER": True})


def main(argv: list[str] | None = None) -> int:
    """Prepare the demo data, then serve the web UI and API with werkzeug."""
    # Not __doc__: `python -OO` (PYTHONOPTIMIZE=2 in some images) strips docstrings, and the demo crashed.
    parser = argparse.ArgumentParser(description="Initialise, ingest the seed list and its papers' metadata, "
                                                 "embed, then serve the web UI and API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="load the data and exit")
    args = parser.parse_args(argv)
    if not args.no_serve:
        _check_port(args.host, args.port)  # before minutes of loading, not after
    prepare()
    if args.no_serve:
        return 0
    from werkzeug.serving import run_simple

    from kg.config import load_config, request_log_level

    request_log_level(load_config().log_level)
    _say(f"serving on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    run_simple(args.host, args.port, _app(), threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
