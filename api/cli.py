"""CLI commands of the api package: `paperkg serve`, `search`, `related`."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any, cast

import click

from kg.safe_output import is_terminal, terminal_safe
from kg.store import StoreError
from kg.validation import YEAR_MAX, YEAR_MIN

if TYPE_CHECKING:
    from kg.entities import Paper

_JSON_UNESCAPED_CONTROL = re.compile(r"[\x7f-\x9f]")
# The production command the README gives. Its settings (threaded workers, which idle or slow clients
# cannot block, and the worker timeout) are in api/gunicorn_conf.py, which the Dockerfile and
# docker-compose.yml load too; loopback, as behind the reverse proxy a public deployment needs.
GUNICORN_COMMAND = "gunicorn -c python:api.gunicorn_conf -b 127.0.0.1:8000 api.wsgi:app"


def _withdrawn_mark(paper: Paper) -> str:
    """The mark put after the title of a paper whose stored abstract is arXiv's withdrawal notice."""
    from kg.withdrawn import is_withdrawn

    return " [withdrawn]" if is_withdrawn(paper.abstract) else ""


def _print_json(data: Any) -> None:
    # json.dumps escapes C0 controls (\u001b) but, with ensure_ascii=False, prints DEL and the C1
    # controls raw; they can only occur inside strings, where their \u escape means the same.
    text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(_JSON_UNESCAPED_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
# Read as text and checked by api.params, as the other commands' numbers are (one wording).
@click.option("--port", default=None, metavar="PORT", help="TCP port.  [default: 8000; 1<=x<=65535]")
@click.option("--debug", is_flag=True, help="Flask debug mode (never in production).")
def serve_cmd(host: str, port: str | None, debug: bool) -> None:
    """Run the API and web UI on Flask's development server (use gunicorn in production)."""
    number = checked_int("--port", port, 8000, 1, 65535)
    if debug and not _is_loopback(host):
        # Debug mode serves Werkzeug's interactive console: code execution behind a PIN (privacy QA).
        raise click.UsageError(f"--debug runs an interactive debugger; use it only on a loopback "
                               f"--host (127.0.0.1, ::1 or localhost), not {host!r}")
    from api.app import create_app
    from kg.cli import echo_best_effort
    from kg.config import load_config
    from kg.store import NoStore, require_store

    config = load_config()
    try:
        require_store(config)
    except NoStore as exc:
        # Served anyway (the server picks the store up once `paperkg init` or an ingest creates it there;
        # it never creates one), but say now why every page answers 503.
        click.echo(f"warning: {exc}. Serving anyway: every page answers 503 (store unavailable) until "
                   "a store is created there", err=True)
    except StoreError:
        pass  # e.g. a damaged file: the server answers each request with what is wrong
    _check_port_free(host, number)
    app = create_app({"WARM_EMBEDDER": True, "PAPERKG_CONFIG": config})
    # Best effort: a server started with stdout closed (a daemon setup) serves all the same.
    echo_best_effort(f"paperkg serving on http://{host}:{number}/ (dev server; production: "
                     f"{GUNICORN_COMMAND})")
    if not _colour_on_stderr():
        from werkzeug import serving

        # The dev server colours its request lines (a 404 in yellow) and warnings wherever they go; a log
        # file got the escape codes. Its own switch (a module global: werkzeug has no option for it).
        serving._log_add_style = False
    app.run(host=host, port=number, debug=debug, threaded=True, use_reloader=False)


def checked_int(option: str, value: str | None, default: int, low: int, high: int) -> int:
    """An integer option given as text, within [low, high] (`default` when not given); a usage error in
    api.params' words otherwise, as `search --limit` and the API say it (click's IntRange said "0 is not
    in the range 1<=x<=100." beside search's other wording)."""
    from werkzeug.datastructures import MultiDict

    from api.params import ParameterError, int_arg, lone_surrogate
    from kg.cli import shown_arg

    try:
        if value is not None and lone_surrogate(value):
            raise ParameterError(option, f"must be an integer, not '{shown_arg(value)}'")
        given = MultiDict([(option, value)] if value is not None else [])
        return int_arg(option, default, low, high, args=given)
    except ParameterError as exc:
        raise click.BadParameter(exc.worded({}), param_hint=f"'{option}'") from None


def _is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (a loopback address or "localhost")."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _colour_on_stderr() -> bool:
    """Whether the server's log may be coloured: stderr is a terminal and NO_COLOR (no-color.org) is
    not set."""
    # sys.stderr is None when the server was started with it closed (`2>&-`).
    return is_terminal(sys.stderr) and not os.environ.get("NO_COLOR")


def port_problem(host: str, port: int) -> str | None:
    """Why a server cannot listen on host:port ("cannot listen on HOST:PORT: REASON"), or None if it can."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line, before the model loads and before "serving on" is printed, when the
    address cannot be bound (the dev server would say so only after both)."""
    problem = port_problem(host, port)
    if problem is not None:
        raise click.ClickException(f"{problem}; another program may be using the port: choose another "
                                   "with --port")


# The API's parameter names as `paperkg search` spells them, for its usage errors.
_SEARCH_OPTIONS = {"q": "QUERY", "mode": "--mode", "technique": "--technique", "topic": "--topic",
                   "model": "--model", "component": "--component", "section": "--section",
                   "source": "--source", "year_from": "--year-from", "year_to": "--year-to",
                   "limit": "--limit", "offset": "--offset", "technique_match": "--technique-match",
                   "refinements": "--no-refinements"}


# Where the search command's errors send a reader for the filters' ids.
FILTERS_LISTING = "`paperkg filters`"


@click.command("search")
@click.argument("query", required=False)
# Every option is read as text and checked by api.params (imported when the command runs, so
# that `paperkg` starts without Flask). The help states its ranges as click's IntRange would show them
# (as `related --limit` and `serve --port` do); tests/api/test_cli.py checks --limit and --offset against
# api.params.
@click.option("--mode", default=None, metavar="hybrid|semantic|keyword", help="Default: hybrid.")
@click.option("--technique", "techniques", multiple=True, metavar="ID",
              help="Technique or evaluation id filter (repeatable, or ID,ID; several match any of them "
                   "unless --technique-match all; refinements included).")
@click.option("--technique-match", default=None, metavar="any|all",
              help="Papers using any of the --technique ids, or all of them (each, or a refinement of "
                   "it).  [default: any]")
@click.option("--topic", "topics", multiple=True, metavar="ID",
              help="Topic or fundamental-object id filter: papers with a finding about it or listed in a "
                   "section about it (repeatable, or ID,ID; several match any of them; sub-topics "
                   "included).")
@click.option("--model", "models", multiple=True, metavar="ID",
              help="Model id filter: papers studying the model or with a finding about it (repeatable, or "
                   "ID,ID; several match any of them; the taxonomy's model ids).")
@click.option("--component", "components", multiple=True, metavar="ID",
              help="Component id filter: papers with a finding about the component or a sub-component of "
                   "it (repeatable, or ID,ID; several match any of them; the taxonomy's component ids, "
                   "e.g. induction_head).")
@click.option("--section", "sections", multiple=True, metavar="ID",
              help="List section id filter, a heading matching the sections below it (repeatable, or "
                   "ID,ID; several match any of them; ids as `paperkg filters` lists them).")
@click.option("--source", "sources", multiple=True, metavar="list|arxiv|records",
              help="Papers having this source (repeatable, or list,arxiv; several match any of them): a "
                   "paper has every source that gave it a record, so a list paper with arXiv metadata is "
                   "both list and arxiv.")
@click.option("--year-from", default=None, metavar="YEAR", help=f"First year.  [{YEAR_MIN}<=x<={YEAR_MAX}]")
@click.option("--year-to", default=None, metavar="YEAR", help=f"Last year.  [{YEAR_MIN}<=x<={YEAR_MAX}]")
@click.option("--limit", default=None, metavar="N", help="Results to show.  [default: 10; 1<=x<=100]")
@click.option("--offset", default=None, metavar="N", help="Results to skip.  [default: 0; 0<=x<=10000]")
@click.option("--no-refinements", "exact", is_flag=True,
              help="--technique, --topic and --component match only papers tagged with the id itself, not "
                   "with a refinement, sub-topic or sub-component of it (the API's refinements=false): "
                   "`--technique cma --no-refinements` counts the papers tagged CMA itself.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's result format).")
def search_cmd(query: str | None, mode: str | None, techniques: tuple[str, ...], technique_match: str | None,
               topics: tuple[str, ...], models: tuple[str, ...], components: tuple[str, ...],
               sections: tuple[str, ...], sources: tuple[str, ...],
               year_from: str | None, year_to: str | None, limit: str | None, offset: str | None,
               exact: bool, as_json: bool) -> None:
    """Search the graph (hybrid, semantic or keyword) and print the results with why they match.

    QUERY may be left out, or be "", when a filter is given: the filtered papers are listed newest
    first. Without a QUERY, a filter is needed (as GET /api/search needs q or a filter).

    Several values of one filter (the option repeated, or ID,ID split at commas) match any of them;
    different filters combine with AND: a paper must pass each one given.

    Each row lists the paper's techniques, those the query or a filter matched first, marked
    "(matched)". A store with no papers is said to be empty, on stderr."""
    from dataclasses import replace

    from werkzeug.datastructures import MultiDict

    from api.json_api import empty_store_notice, search_page_dict
    from api.params import ParameterError, listed_by, lone_surrogate, search_request
    from kg.cli import open_configured_store, shown_arg
    from kg.config import load_config
    from kg.lookup import paper_named_by_query
    from kg.search import search, why_empty
    from kg.taxonomy import Taxonomy

    # The options go through the API's own parser (api.params.search_request), so the CLI and
    # GET /api/search accept and reject the same input with the same words.
    given = [("q", query), ("mode", mode), ("year_from", year_from), ("year_to", year_to),
             ("limit", limit), ("offset", offset), ("technique_match", technique_match),
             *(("technique", t) for t in techniques),
             *(("topic", t) for t in topics), *(("model", m) for m in models),
             *(("component", c) for c in components),
             *(("section", s) for s in sections),
             *(("source", s) for s in sources),
             *([("refinements", "false")] if exact else [])]
    for name, value in given:
        if value is not None and lone_surrogate(value):
            # Bytes the locale cannot decode ($'\xff') reach Python as lone surrogates, which the API's
            # rule refuses too; said here as the bytes typed (a tokenizer traceback, or a segfault, before).
            raise click.BadParameter(f"is not valid UTF-8 text: '{shown_arg(value)}'",
                                     ctx=click.get_current_context(),
                                     param_hint=f"'{_SEARCH_OPTIONS.get(name, name)}'")
    args = MultiDict([(name, value) for name, value in given if value is not None])
    store = open_configured_store(must_exist=True)
    try:
        taxonomy = Taxonomy(nodes=store.taxonomy_nodes())
        try:
            params = search_request(taxonomy, lambda: (str(s["id"]) for s in store.list_sections()), args)
        except ParameterError as exc:
            # Other parameters the detail names are named as this command's options (--year-to).
            # An unknown id's hint names this CLI's listing of the ids, not the API's route.
            raise click.BadParameter(listed_by(exc.worded(_SEARCH_OPTIONS), FILTERS_LISTING),
                                     ctx=click.get_current_context(),
                                     param_hint=f"'{_SEARCH_OPTIONS.get(exc.name, exc.name)}'") from None
        embedder = None
        if params.query.strip() and params.mode != "keyword":
            from ingest.embed import ModelMismatch, ModelMissing, check_store_model, get_embedder

            try:
                embedder = get_embedder(load_config().embedding_model or None)
                check_store_model(store, embedder.model_name)
            except (ModelMissing, ModelMismatch) as exc:
                raise click.ClickException(str(exc)) from exc
        page = search(store, params.query, mode=params.mode, filters=params.filters, limit=params.limit,
                      offset=params.offset, embedder=embedder, taxonomy=taxonomy,
                      sentence_mode=params.explain)
        facets, passing = why_empty(store, params.filters, page.total)
        # --no-refinements emptied it? How many papers the filters pass with their refinements' papers.
        wider = (store.filter_page(replace(params.filters, include_refinements=True), limit=0)[1]
                 if page.total == 0 and not params.filters.include_refinements else 0)
        named = paper_named_by_query(store, params.query)
        named_paper = next(iter(store.get_papers([named])), None) if named else None
        # Nothing found in a store with no papers at all: that is the one thing to say (a taxonomy but no
        # papers printed "no paper is tagged …; showing the nearest matches", with none shown).
        notice = empty_store_notice(store, page.total)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if notice:
        # On stderr: stdout keeps its usual shape (--json: the API's answer, with no results and its notice).
        click.echo(notice, err=True)
    if as_json:
        _print_json(search_page_dict(params, page, {n.id: n.name for n in taxonomy.nodes}, named,
                                     (facets, passing), notice=notice))
        return
    if notice:
        return
    if named_paper is not None:
        # The whole query is a stored paper's arXiv id or URL: that paper, whatever the search ranks.
        click.echo(f"the arXiv id of [{terminal_safe(named_paper.id)}] {terminal_safe(named_paper.title)} "
                   f"(paperkg related {terminal_safe(named_paper.id)}: its related papers)")
    first, last = params.offset + 1, params.offset + len(page.results)
    shown = f"showing {first}-{last}" if page.results else f"none at offset {params.offset}"
    # A blank query with filters lists the filtered papers newest first: no mode ranked them, no score.
    listed = not params.query.strip()
    how = "filtered, newest first" if listed else params.mode
    # "papers", as the web's count says: they are the papers found, not candidates of something else.
    click.echo(f"{page.total} paper{'' if page.total == 1 else 's'} ({how}); {shown}")
    # An empty answer says why: a filter no paper passes, filters no paper passes together, or
    # (keyword mode) words no paper contains.
    zero = [name for name, n in facets if n == 0]
    if zero:
        click.echo(f"  no paper passes the filter {'; '.join(zero)}")
    elif passing == 0:
        counts = "; ".join(f"{name}: {n} paper{'s' if n != 1 else ''}" for name, n in facets)
        click.echo(f"  each filter alone passes papers ({counts}), but no paper passes them all")
    elif page.total == 0 and params.mode == "keyword" and params.query.strip():
        click.echo("  no paper contains these words; semantic and hybrid modes also find other wordings")
    if wider:
        click.echo(f"  without --no-refinements the filters pass {wider} paper{'' if wider == 1 else 's'} "
                   "(tagged with a refinement, sub-topic or sub-component)")
    # Suggestions only: the results above and below are those of the query as typed.
    if page.did_you_mean:
        click.echo(f"  did you mean: {terminal_safe(page.did_you_mean)}")
    if page.non_latin_query:
        click.echo("  the search model reads English: try the English term")
    # Every stored string printed goes through terminal_safe (long forms come from abstracts, labels
    # from the taxonomy file).
    if page.using_first:
        names = " or ".join(terminal_safe(taxonomy.by_id[t].name) for t in page.using_first)
        click.echo(f"  papers tagged {names} come first, then the rest; each part in score order")
    if page.not_tagged:
        names = " or ".join(terminal_safe(taxonomy.by_id[t].name) for t in page.not_tagged)
        scope = " passing the filters" if not params.filters.is_empty() else ""
        click.echo(f"  no paper{scope} is tagged {names}; showing the nearest matches")
    for acronym, long_form in page.acronyms.items():
        click.echo(f"  {terminal_safe(acronym)} read as \"{terminal_safe(long_form)}\" "
                   "(as the papers using it or the taxonomy spell it out)")
    for i, hit in enumerate(page.results, start=first):
        year = hit.paper.year or "no year"
        score = "" if listed else f"  score {hit.score:.4f}"
        title = terminal_safe(hit.title) + _withdrawn_mark(hit.paper)
        click.echo(f"{i:>3}. [{terminal_safe(hit.id)}] {title} ({year}){score}")
        parts = [f"{k} {hit.why[k]}" for k in ("semantic", "keyword") if hit.why.get(k) is not None]
        if hit.techniques:
            # All the paper's techniques (the JSON's `techniques`), the ones the query or a filter matched
            # first and marked: listing only those read as if the paper used nothing else.
            matched = set(hit.why.get("matched_techniques") or ())
            parts.append("techniques: " + ", ".join(
                terminal_safe(taxonomy.by_id[t].name if t in taxonomy.by_id else t)
                + (" (matched)" if t in matched else "") for t in hit.techniques))
        # The criteria, models and components the query or a filter names, in the web row's words: a
        # hybrid list of its own (criteria: the technique list) lifts the papers matching them, which the
        # scores alone do not show.
        for key, words in (("matched_evaluation_labels", "evaluates"), ("matched_model_labels", "studies"),
                           ("matched_component_labels", "about")):
            if hit.why.get(key):
                parts.append(f"{words} " + ", ".join(map(terminal_safe, hit.why[key])))
        if parts:
            click.echo("     " + "; ".join(parts))
        if hit.why.get("best_sentence"):
            click.echo(f"     > {terminal_safe(hit.why['best_sentence'])}")


@click.command("related")
@click.argument("paper_id")
# Read as text and checked by api.params (checked_int), as GET /api/papers/{id}/related?limit= is.
@click.option("--limit", default=None, metavar="N", help="Related papers to show.  [default: 10; 1<=x<=100]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's result format).")
def related_cmd(paper_id: str, limit: str | None, as_json: bool) -> None:
    """Papers related to PAPER_ID, each with the reasons it was picked.

    PAPER_ID may carry an arXiv version or be an arXiv URL (2211.00593v3,
    https://arxiv.org/abs/2211.00593v3): the paper stored under the bare id is used. A former id
    (a slug since replaced by the paper's arXiv id, or a records file's id of a record merged into
    the paper) stands for that paper. An id no stored paper has is a usage error (exit status 2)."""
    from api.params import MAX_LIMIT
    from kg.cli import open_configured_store, shown_arg
    from kg.lookup import find_related
    from kg.related import UnknownPaper, shown_parts

    count = checked_int("--limit", limit, 10, 1, MAX_LIMIT)
    if not paper_id.strip():
        # "unknown paper id(s):  (" before: an id that is not there, echoed as nothing.
        raise click.BadParameter("is empty: give a paper id such as 2211.00593 (ids are shown in brackets "
                                 "by `paperkg search \"words of its title\"`)", param_hint="'PAPER_ID'")
    try:
        paper_id.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes the locale cannot decode ($'\xff') reach Python as lone surrogates, which no paper id
        # holds and the store cannot encode to look up (a traceback before). Shown as the bytes typed.
        raise click.UsageError(
            f"paper id '{shown_arg(paper_id)}' is not valid UTF-8 text, so no paper has it") from None
    store = open_configured_store(must_exist=True)
    try:
        found = find_related(store, paper_id, count)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if found is None:
        # A usage error (2), as `export papers --id` with an unknown id: an argument naming nothing there.
        # Echoed shortened and without terminal control: the id is whatever was typed or pasted.
        raise click.UsageError(f"{UnknownPaper([shown_arg(paper_id)])} (ids are shown in brackets by "
                               "`paperkg search \"words of its title\"`)")
    canonical, hits = found
    if as_json:
        from api.json_api import related_dict

        _print_json({"id": canonical, "results": [related_dict(h) for h in hits]})
        return
    for i, hit in enumerate(hits, start=1):
        # Reasons name authors, models and taxonomy labels: stored text too.
        title = terminal_safe(hit.title) + _withdrawn_mark(hit.paper)
        click.echo(f"{i:>3}. [{terminal_safe(hit.id)}] {title}  score {hit.score:.3f}")
        # Strongest first, each with what it adds to the score (as the paper page shows them), with the
        # score's three decimals and adding up to it as shown (each rounded alone, they did not).
        added = [f" (+{c:.3f})" for c in shown_parts(hit.contributions, hit.score, 3)]
        if len(added) != len(hit.reasons):
            added = [""] * len(hit.reasons)
        click.echo("     " + "; ".join(terminal_safe(r) + a for r, a in zip(hit.reasons, added, strict=True)))


@click.command("filters")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: GET /api/techniques' tree and /api/models', /api/components' and "
                   "/api/sections' lists, in one object.")
def filters_cmd(as_json: bool) -> None:
    """List the ids the search filters take, with their names and paper counts.

    --technique takes technique and evaluation ids, --topic topic and fundamental-object ids (each
    counting its refinements' papers), then --model, --component (sub-components' papers counted) and
    --section ids (a heading takes every section under it). The counts are the search's for that
    filter alone, as the API and the web search's selects give them: a parent's count takes its
    refinements' papers, and says how many are tagged with the parent itself (what `paperkg search
    --no-refinements` finds); --json gives both as own_count and total_count."""
    from api.sections import sections_with_headings
    from kg.browse import components, models, technique_tree
    from kg.cli import open_configured_store

    store = open_configured_store(must_exist=True)
    try:
        tree = technique_tree(store)
        nodes = store.taxonomy_nodes()
        listed = {"models": models(store, nodes), "components": components(store, nodes),
                  "sections": sections_with_headings(store)}
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        _print_json({**tree, **listed})
        return
    # Said once up front: a parent's count read as the papers tagged with it (QA: "cma (14 papers)",
    # 2 of them tagged CMA itself).
    click.echo("counts: the papers a filter finds, those of the refinements, sub-topics and sub-components "
               "listed under it included (`paperkg search --no-refinements` leaves them out)")
    groups = [("--technique", "techniques", tree.get("techniques", [])),
              ("--technique", "evaluation criteria", tree.get("evaluations", [])),
              ("--topic", "topics", tree.get("topics", [])),
              ("--topic", "fundamental objects", tree.get("objects", []))]
    for option, title, items in groups:
        if items:
            click.echo(f"{option}: {title}")
            _echo_tree(items, 1)
    depth: dict[str, int] = {}
    for option, title, entries in (("--model", "models", listed["models"]),
                                   ("--component", "components", listed["components"])):
        if entries:
            click.echo(f"{option}: {title}")
        for e in entries:
            # Components come each right after its parent (kg.browse.components): indent by the chain.
            depth[str(e["id"])] = depth.get(str(e.get("parent") or ""), 0) + 1
            _echo_entry(str(e["id"]), str(e["label"]), int(e["count"]), depth[str(e["id"])])
    if listed["sections"]:
        click.echo("--section: list sections (a heading takes every section under it)")
    seen: set[str] = set()
    for e in listed["sections"]:
        section_id = str(e["id"])
        if section_id in seen:  # a stored section with sections under it is listed as their heading
            continue
        seen.add(section_id)
        path = [str(p) for p in cast("list[str] | None", e["path"]) or []]  # loosely typed rows
        name = " › ".join(path) or str(e["title"] or section_id)
        _echo_entry(section_id, name + (" (all)" if e["heading"] else ""), int(cast("int", e["count"])),
                    section_id.count("/") + 1)


def _echo_tree(items: list[dict[str, Any]], depth: int) -> None:
    for item in items:
        _echo_entry(str(item["id"]), str(item["label"]), int(item["total_count"]), depth,
                    int(item["own_count"]))
        _echo_tree(item.get("children") or [], depth + 1)


def _echo_entry(entry_id: str, label: str, count: int, depth: int, own: int | None = None) -> None:
    # Ids and names come from the taxonomy file and the list: terminal_safe, as every stored string.
    shown_id = terminal_safe(entry_id)
    itself = ""
    if own is not None and own != count:
        # A count that takes refinements' papers says how many are tagged with the node itself, by the
        # short name the web's technique page uses ("1 tagged CMA itself"), not by its id.
        from kg.browse import short_name

        itself = f", {own} tagged {terminal_safe(short_name(label))} itself"
    click.echo(f"{'  ' * depth}{shown_id}  {terminal_safe(label)}  "
               f"({count} paper{'' if count == 1 else 's'}{itself})")


def register(main: click.Group) -> None:
    """Attach this package's commands to the root `paperkg` group."""
    main.add_command(serve_cmd)
    main.add_command(search_cmd)
    main.add_command(related_cmd)
    main.add_command(filters_cmd)
