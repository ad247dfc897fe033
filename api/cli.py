"""CLI commands of the api package: `paperkg serve`, `search`, `related`."""

from __future__ import annotations

import json
from typing import Any

import click

from kg.store import StoreError


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--debug", is_flag=True, help="Flask debug mode (never in production).")
def serve_cmd(host: str, port: int, debug: bool) -> None:
    """Run the API and web UI on Flask's development server (use gunicorn in production)."""
    from api.app import create_app

    app = create_app({"WARM_EMBEDDER": True})
    click.echo(f"paperkg serving on http://{host}:{port}/ (dev server; production: "
               "gunicorn -w 2 api.wsgi:app)")
    app.run(host=host, port=port, debug=debug, threaded=True, use_reloader=False)


@click.command("search")
@click.argument("query")
@click.option("--mode", type=click.Choice(["hybrid", "semantic", "keyword"]), default="hybrid",
              show_default=True)
@click.option("--technique", "techniques", multiple=True, help="Technique id filter (repeatable).")
@click.option("--topic", "topics", multiple=True, help="Topic id filter (repeatable).")
@click.option("--year-from", type=int, default=None)
@click.option("--year-to", type=int, default=None)
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0, 10_000), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's result format).")
def search_cmd(query: str, mode: str, techniques: tuple[str, ...], topics: tuple[str, ...],
               year_from: int | None, year_to: int | None, limit: int, offset: int, as_json: bool) -> None:
    """Search the graph (hybrid, semantic or keyword) and print the results with why they match."""
    from kg.cli import open_configured_store
    from kg.config import load_config
    from kg.entities import SearchFilters
    from kg.search import search
    from kg.taxonomy import Taxonomy

    if len(query) > 1000:
        raise click.BadParameter("at most 1000 characters", param_hint="QUERY")
    store = open_configured_store()
    try:
        taxonomy = Taxonomy(nodes=store.taxonomy_nodes())
        unknown = [t for t in (*techniques, *topics) if t not in taxonomy.by_id]
        if unknown:
            raise click.BadParameter(f"unknown taxonomy id(s): {', '.join(unknown)}")
        embedder = None
        if mode != "keyword":
            from ingest.embed import ModelMissing, get_embedder

            try:
                embedder = get_embedder(load_config().embedding_model or None)
            except ModelMissing as exc:
                raise click.ClickException(str(exc)) from exc
        filters = SearchFilters(technique_ids=list(techniques), topic_ids=list(topics),
                                year_from=year_from, year_to=year_to)
        page = search(store, query, mode=mode, filters=filters, limit=limit, offset=offset,
                      embedder=embedder, taxonomy=taxonomy)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        from api.json_api import hit_dict

        labels = {n.id: n.name for n in taxonomy.nodes}
        _print_json({"query": query, "mode": mode, "total": page.total,
                     "results": [hit_dict(h, labels) for h in page.results]})
        return
    click.echo(f"{page.total} candidates ({mode}); showing {offset + 1}-{offset + len(page.results)}")
    for i, hit in enumerate(page.results, start=offset + 1):
        year = hit.paper.year or "----"
        click.echo(f"{i:>3}. [{hit.id}] {hit.title} ({year})  score {hit.score:.4f}")
        parts = [f"{k} {hit.why[k]}" for k in ("semantic", "keyword") if hit.why.get(k) is not None]
        if hit.why.get("matched_technique_labels"):
            parts.append("techniques: " + ", ".join(hit.why["matched_technique_labels"]))
        if parts:
            click.echo("     " + "; ".join(parts))
        if hit.why.get("best_sentence"):
            click.echo(f"     > {hit.why['best_sentence']}")


@click.command("related")
@click.argument("paper_id")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's result format).")
def related_cmd(paper_id: str, limit: int, as_json: bool) -> None:
    """Papers related to PAPER_ID, each with the reasons it was picked."""
    from kg.cli import open_configured_store
    from kg.related import UnknownPaper, related

    store = open_configured_store()
    try:
        hits = related(store, paper_id, limit=limit)
    except UnknownPaper as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        from api.json_api import related_dict

        _print_json({"id": paper_id, "results": [related_dict(h) for h in hits]})
        return
    for i, hit in enumerate(hits, start=1):
        click.echo(f"{i:>3}. [{hit.id}] {hit.title}  score {hit.score:.3f}")
        click.echo("     " + "; ".join(hit.reasons))


def register(main: click.Group) -> None:
    """Attach this package's commands to the root `paperkg` group."""
    main.add_command(serve_cmd)
    main.add_command(search_cmd)
    main.add_command(related_cmd)
