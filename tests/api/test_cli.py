"""The api package's CLI twins (`paperkg search`, `paperkg related`) and an app built from the
environment alone (the store opened lazily from PAPERKG_DATA_DIR, closed by close_app)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient

from api.app import close_app, create_app
from api.params import listed_by
from kg.cli import main
from kg.entities import Paper, PaperBundle, TechniqueUse
from kg.store import StoreError
from tests.seed_store import taxonomy_store


def test_search_json_matches_the_api_format(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "indirect object identification", "--json", "--limit", "3"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("{"):])
    assert body["results"][0]["id"] == "2211.00593" and len(body["results"]) == 3
    assert {"id", "title", "score", "techniques", "why"} <= set(body["results"][0])
    # Every key of the API's answer (it lacked limit and offset), as its OpenAPI schema lists them.
    from api.openapi import build_document

    assert set(body) == set(build_document()["components"]["schemas"]["SearchPage"]["properties"])
    assert (body["limit"], body["offset"]) == (3, 0)


def test_search_text_with_technique_filter(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "lens", "--mode", "keyword", "--technique", "logit_lens"])
    assert result.exit_code == 0, result.output
    assert "Tuned Lens" in result.output and "techniques: Logit Lens (matched)" in result.output
    bad = CliRunner().invoke(main, ["search", "x", "--technique", "nope"])
    assert bad.exit_code == 2 and "Invalid value for '--technique': unknown technique id 'nope'" in bad.output


# (CLI arguments, the same search as an API query string, the CLI's name of the parameter at fault)
SAME_BAD_SEARCHES = [
    (["x", "--technique", "superposition"], "q=x&technique=superposition", "--technique"),  # a topic id
    (["", "--topic", "cma"], "q=&topic=cma", "--topic"),  # a technique id
    (["x", "--year-from", "99999"], "q=x&year_from=99999", "--year-from"),
    (["x", "--year-to", "soon"], "q=x&year_to=soon", "--year-to"),
    ([""], "q=", "QUERY"),
    (["   "], "q=%20%20%20", "QUERY"),
    (["x" * 1001], "q=" + "x" * 1001, "QUERY"),
    (["x", "--limit", "0"], "q=x&limit=0", "--limit"),
    (["x", "--offset", "10001"], "q=x&offset=10001", "--offset"),
    (["x", "--mode", "fuzzy"], "q=x&mode=fuzzy", "--mode"),
    (["x", "--topic", "induction_head"], "q=x&topic=induction_head", "--topic"),  # a component
    (["x", "--component", "sae"], "q=x&component=sae", "--component"),  # a technique id
    (["x", "--component", "Induction head"], "q=x&component=Induction%20head", "--component"),
    (["x", "--model", "sae"], "q=x&model=sae", "--model"),  # a technique id
    (["x", "--model", "Pythia"], "q=x&model=Pythia", "--model"),
    (["x", "--technique", "cma", "--technique-match", "every"], "q=x&technique=cma&technique_match=every",
     "--technique-match"),
    (["x", "--technique-match", ""], "q=x&technique_match=", "--technique-match"),
    ([" ", "--technique-match", "all"], "q=%20&technique_match=all", "QUERY"),  # not a filter on its own
]


@pytest.mark.parametrize(("query", "expected"), [
    ("technique=superposition",
     "'superposition' is not a technique id (it is a topic: use the topic filter)"),
    ("topic=cma", "'cma' is not a topic id (it is a technique: use the technique filter)"),
    ("topic=gpt2", "'gpt2' is not a topic id (it is a model: use the model filter)"),
    # QA: "it is a component, which no filter takes; search for it by name".
    ("topic=induction_head",
     "'induction_head' is not a topic id (it is a component: use the component filter)"),
    ("technique=nope", "unknown technique id 'nope' (see /api/techniques)"),
    # A name or alias typed for an id: the hint gives the id (filters themselves stay exact).
    ("technique=logit%20lens",
     "unknown technique id 'logit lens' (did you mean 'logit_lens'? see /api/techniques)"),
    ("technique=Activation-Patching",
     "unknown technique id 'Activation-Patching' (did you mean 'activation_patching'? see /api/techniques)"),
    ("topic=Superposition",
     "unknown topic id 'Superposition' (did you mean 'superposition'? see /api/techniques)"),
    # A misspelt id, and a topic's alias given to the technique filter.
    ("technique=logit_len",
     "unknown technique id 'logit_len' (did you mean 'logit_lens'? see /api/techniques)"),
    ("technique=polysemantic", "unknown technique id 'polysemantic' (it names the topic 'polysemanticity': "
                               "use the topic filter; see /api/techniques)"),
])
def test_an_id_of_the_wrong_kind_names_the_filter_that_takes_it(
    client: FlaskClient, query: str, expected: str
) -> None:
    api = client.get(f"/api/search?q=x&{query}")
    assert api.status_code == 400 and api.get_json()["error"]["message"].endswith(expected)


@pytest.mark.parametrize(("cli_args", "query", "option"), SAME_BAD_SEARCHES)
def test_search_cli_rejects_what_the_api_rejects_in_the_same_words(
    env: dict[str, str], client: FlaskClient, cli_args: list[str], query: str, option: str
) -> None:
    api = client.get(f"/api/search?{query}")
    assert api.status_code == 400
    detail = api.get_json()["error"]["message"].split(": ", 1)[1]  # "parameter 'x': <detail>"
    # The same words, but for where the ids are listed: the CLI's command, not the API's route.
    detail = listed_by(detail, "`paperkg filters`")
    result = CliRunner().invoke(main, ["search", *cli_args])
    assert result.exit_code == 2, result.output  # a usage error
    assert f"Error: Invalid value for '{option}': {detail}\n" in result.output
    # click's own exit, not an exception escaping the command
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert "papers (" not in result.output


def test_search_cli_names_the_other_year_option_as_it_spells_it(
    env: dict[str, str], client: FlaskClient
) -> None:
    """The same rule, each naming the parameters its own way: `--year-to` in the CLI (it said "year_to")."""
    api = client.get("/api/search?q=x&year_from=2025&year_to=2020")
    detail = api.get_json()["error"]["message"].removeprefix("parameter 'year_from': ")
    assert "year_to" in detail
    result = CliRunner().invoke(main, ["search", "x", "--year-from", "2025", "--year-to", "2020"])
    assert result.exit_code == 2, result.output
    said = detail.replace("year_to", "--year-to")
    assert result.output.endswith(f"Error: Invalid value for '--year-from': {said}\n")


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
@pytest.mark.parametrize(("args", "option", "shown"), [
    ([b"circuit \xff\xfe"], "QUERY", "'circuit \\xff\\xfe'"),
    ([b"circuit", b"--technique", b"sae\xed\xb2\x80"], "--technique", "'sae\\xed\\xb2\\x80'"),
])
def test_search_refuses_bytes_that_are_not_utf8_as_a_usage_error(
    env: dict[str, str], mode: str, args: list[bytes], option: str, shown: str
) -> None:
    """`paperkg search $'circuit \\xff\\xfe'`: the bytes reach Python as lone surrogates, which crashed
    the tokenizer in hybrid and semantic mode (a TypeError traceback, once a segfault); now one usage
    line naming the bytes typed, in every mode (the API's rule: no lone surrogate in any text)."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("paperkg")
    result = subprocess.run([exe, b"search", *args, b"--mode", mode.encode()], capture_output=True,
                            timeout=120)
    stderr = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == 2, stderr
    expected = f"\nError: Invalid value for '{option}': is not valid UTF-8 text: {shown}\n"
    assert stderr.endswith(expected), stderr
    assert "Traceback" not in stderr and result.stdout == b""


def test_search_cli_accepts_what_the_api_accepts(env: dict[str, str], client: FlaskClient) -> None:
    # A filter alone lists the filtered papers newest first, in the CLI as in the API.
    result = CliRunner().invoke(main, ["search", "", "--topic", "superposition", "--json", "--limit", "5"])
    assert result.exit_code == 0, result.output
    cli_ids = [r["id"] for r in json.loads(result.output[result.output.index("{"):])["results"]]
    api = client.get("/api/search?q=&topic=superposition&limit=5").get_json()
    assert cli_ids == [r["id"] for r in api["results"]] and cli_ids
    models = CliRunner().invoke(main, ["search", "", "--model", "gpt2", "--model", "pythia", "--json"])
    assert models.exit_code == 0, models.output
    model_ids = [r["id"] for r in json.loads(models.output[models.output.index("{"):])["results"]]
    api_models = client.get("/api/search?q=&model=gpt2&model=pythia").get_json()
    assert model_ids == [r["id"] for r in api_models["results"]] and model_ids
    components = CliRunner().invoke(main, ["search", "", "--component", "induction_head", "--json"])
    assert components.exit_code == 0, components.output
    component_ids = [r["id"] for r in json.loads(components.output[components.output.index("{"):])["results"]]
    api_components = client.get("/api/search?q=&component=induction_head").get_json()
    assert component_ids == [r["id"] for r in api_components["results"]] and component_ids
    text = CliRunner().invoke(main, ["search", "", "--technique", "cma", "--year-from", "2023", "--offset",
                                     "10000", "--mode", "keyword"])
    assert text.exit_code == 0, text.output
    assert "none at offset 10000" in text.output and "showing" not in text.output


def test_search_cli_filters_by_section_and_source_as_the_api_does(
    env: dict[str, str], client: FlaskClient
) -> None:
    for cli_args, query in ((["--section", "techniques"], "section=techniques"),
                            (["--source", "records", "--section", "findings-and-applications"],
                             "source=records&section=findings-and-applications")):
        result = CliRunner().invoke(main, ["search", "", *cli_args, "--json", "--limit", "50"])
        assert result.exit_code == 0, result.output
        cli_ids = [r["id"] for r in json.loads(result.output[result.output.index("{"):])["results"]]
        api = client.get(f"/api/search?q=&{query}&limit=50").get_json()
        assert cli_ids == [r["id"] for r in api["results"]] and 0 < len(cli_ids) < 38
    bad = CliRunner().invoke(main, ["search", "x", "--source", "blog"])
    assert bad.exit_code == 2
    # The API's words (api.params), the bad value echoed.
    api = client.get("/api/search?q=x&source=blog").get_json()["error"]["message"]
    detail = api.removeprefix("parameter 'source': ")
    assert f"Invalid value for '--source': {detail}" in bad.output and "blog" in detail


def test_a_query_naming_only_a_technique_says_its_users_come_first(
    env: dict[str, str], client: FlaskClient
) -> None:
    result = CliRunner().invoke(main, ["search", "logit lens", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "  papers tagged Logit Lens come first, then the rest; each part in score order\n" in result.output
    assert client.get("/api/search?q=logit+lens").get_json()["using_first"] == ["logit_lens"]
    page = client.get("/search?q=logit+lens").get_data(as_text=True)
    assert ('data-state="using-first">Papers tagged <a href="/techniques/logit_lens">Logit Lens</a> '
            "come first") in page
    # Other words in the query: the named technique only joins the fusion, and nothing is said.
    mixed = client.get("/api/search?q=logit+lens+on+chain+of+thought").get_json()
    assert mixed["using_first"] == []


@pytest.mark.parametrize(("cli_args", "expected"), [
    (["circuits", "--mode", "keyword", "--year-from", "2099"], "no paper passes the filter years 2099-"),
    (["induction heads", "--mode", "keyword", "--technique", "sae", "--year-to", "2022"],
     "each filter alone passes papers (technique sae: "),
    (["zzzqq xylophone", "--mode", "keyword"], "no paper contains these words"),
    # Techniques no paper uses together: the technique filter, as asked, passes none on its own.
    (["circuits", "--mode", "keyword", "--technique", "cma", "--technique", "sae",
      "--technique-match", "all"], "no paper passes the filter technique cma and sae"),
])
def test_an_empty_search_says_what_emptied_it(
    env: dict[str, str], cli_args: list[str], expected: str
) -> None:
    result = CliRunner().invoke(main, ["search", *cli_args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 papers")
    assert expected in result.output


def test_search_cli_matches_all_techniques_as_the_api_does(env: dict[str, str], client: FlaskClient) -> None:
    """--technique-match all: the papers using each --technique (or a refinement), as technique_match=all;
    any, the default, is the union."""
    techniques = ["--technique", "cma", "--technique", "faithfulness"]
    found: dict[str, list[str]] = {}
    for match in ("any", "all"):
        for mode in ("hybrid", "keyword"):
            query = "circuits" if mode == "keyword" else ""
            result = CliRunner().invoke(main, ["search", query, *techniques, "--technique-match", match,
                                               "--mode", mode, "--json", "--limit", "50"])
            assert result.exit_code == 0, result.output
            cli_ids = [r["id"] for r in json.loads(result.output[result.output.index("{"):])["results"]]
            api = client.get(f"/api/search?q={query}&technique=cma&technique=faithfulness"
                             f"&technique_match={match}&mode={mode}&limit=50").get_json()
            assert cli_ids == [r["id"] for r in api["results"]] and cli_ids, (match, mode)
            found[f"{match} {mode}"] = cli_ids
    assert set(found["all hybrid"]) < set(found["any hybrid"])
    default = CliRunner().invoke(main, ["search", "", *techniques, "--json", "--limit", "50"])
    assert [r["id"] for r in json.loads(default.output[default.output.index("{"):])["results"]] == (
        found["any hybrid"])
    shown = " ".join(CliRunner().invoke(main, ["search", "--help"]).output.split())
    assert ("--technique-match any|all Papers using any of the --technique ids, or all of them (each, or a "
            "refinement of it). [default: any]") in shown


def test_a_filter_only_search_says_it_lists_newest_first_without_scores(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["search", "", "--technique", "acdc"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 paper (filtered, newest first); showing 1-1\n")
    assert "score" not in result.output


def test_related_cli(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["related", "2211.00593", "--limit", "4"])
    assert result.exit_code == 0, result.output
    assert result.output.count("cosine") == 4
    as_json = json.loads(CliRunner().invoke(main, ["related", "2211.00593", "--json"]).output)
    assert len(as_json["results"]) == 10 and all(r["reasons"] for r in as_json["results"])
    missing = CliRunner().invoke(main, ["related", "nope"])
    # A usage error (2), as `export papers --id nope`: an argument naming a paper that is not there.
    assert missing.exit_code == 2 and "Error: unknown paper id: nope (" in missing.output
    assert "ids are shown in brackets by `paperkg search \"words of its title\"`" in missing.output


@pytest.mark.parametrize("empty", ["", "   "])
def test_related_says_an_empty_id_is_empty(env: dict[str, str], empty: str) -> None:
    """It printed "unknown paper id(s):  (", echoing nothing; now a usage error saying what is wrong."""
    result = CliRunner().invoke(main, ["related", empty])
    assert result.exit_code == 2, result.output
    assert "Error: Invalid value for 'PAPER_ID': is empty: give a paper id such as 2211.00593" in (
        result.output)
    assert "unknown paper id" not in result.output


def test_related_echoes_a_long_unknown_id_shortened(env: dict[str, str]) -> None:
    """A 100,000-character id was echoed whole; its first 80 characters and "…" say which it was."""
    result = CliRunner().invoke(main, ["related", "y" + "x" * 99_999])
    assert result.exit_code == 2, result.output[:300]
    assert result.output.endswith("\nError: unknown paper id: y" + "x" * 79 + "… (ids are shown in brackets "
                                  "by `paperkg search \"words of its title\"`)\n")
    # What is echoed is what was typed, without terminal control (as a terminal would get it).
    result = CliRunner().invoke(main, ["related", "\x1b]0;owned\x07nope\x1b[2K"], color=True)
    assert "\nError: unknown paper id: nope (ids are shown" in result.output, repr(result.output)
    assert "\x1b" not in result.output


@pytest.mark.parametrize("given", ["2211.00593v3", "https://arxiv.org/abs/2211.00593v3",
                                   "https://arxiv.org/pdf/2211.00593v1.pdf"])
def test_related_cli_takes_versioned_ids_and_arxiv_urls(env: dict[str, str], given: str) -> None:
    # Ingest stores the paper under 2211.00593: the CLI finds it from what a reader copies from arXiv.
    runner = CliRunner()
    canonical = json.loads(runner.invoke(main, ["related", "2211.00593", "--json", "--limit", "3"]).output)
    result = CliRunner().invoke(main, ["related", given, "--json", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == canonical and canonical["id"] == "2211.00593"
    missing = CliRunner().invoke(main, ["related", "0000.00000v2"])
    assert missing.exit_code == 2 and "unknown paper id: 0000.00000v2" in missing.output


def test_app_from_environment_opens_and_closes_its_store(env: dict[str, str]) -> None:
    app = create_app({"TESTING": True})
    client = app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ready", "model": "not_loaded"}
    stats = client.get("/api/stats").get_json()
    assert stats["nodes"]["Paper"] >= 30
    store = app.extensions["paperkg_store"]
    close_app(app)
    assert "paperkg_store" not in app.extensions
    with pytest.raises(StoreError, match="closed"):
        store.ping()


@pytest.mark.parametrize("args", [["search", "circuits", "--mode", "keyword"], ["related", "2211.00593"]])
def test_reading_commands_refuse_a_directory_with_no_store(data_dir: Path, args: list[str]) -> None:
    """A mistyped PAPERKG_DATA_DIR is an error naming it, not an empty graph (and nothing is created)."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in result.output
    assert list(data_dir.iterdir()) == []


def test_serve_warns_when_the_directory_has_no_store(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`paperkg serve` still starts (it picks the store up once one is created there) but says why every
    page answers 503, and its app never creates a store in the directory (a mistyped PAPERKG_DATA_DIR
    got an empty one, which reading commands then took for the graph)."""
    from flask import Flask

    served: list[tuple[Flask, str, int]] = []
    monkeypatch.setattr(Flask, "run", lambda self, host, port, **kw: served.append((self, host, port)))
    port = _free_port()
    result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    app, host, served_port = served[0]
    assert (host, served_port) == ("127.0.0.1", port)
    assert f"warning: no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in result.output
    assert "every page answers 503" in result.output
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "PAPERKG_DATA_DIR" in ready.get_json()["error"]["message"]  # api.health's words say what to check
    assert client.get("/api/stats").status_code == 503
    assert list(data_dir.iterdir()) == []
    assert CliRunner().invoke(main, ["stats"]).exit_code == 1


@pytest.mark.parametrize(("host", "allowed"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                               ("0.0.0.0", False), ("192.168.1.5", False),
                                               ("lab-server.example", False)])
def test_serve_debug_only_on_a_loopback_host(host: str, allowed: bool, data_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Privacy QA: `paperkg serve --debug --host 0.0.0.0` served Werkzeug's interactive console (code
    execution behind a PIN) to the network."""
    from flask import Flask

    served: list[bool] = []
    monkeypatch.setattr(Flask, "run", lambda self, **kw: served.append(kw["debug"]))
    monkeypatch.setattr("api.cli._check_port_free", lambda host, port: None)
    result = CliRunner().invoke(main, ["serve", "--debug", "--host", host, "--port", str(_free_port())])
    if allowed:
        assert result.exit_code == 0, result.output
        assert served == [True]
    else:
        assert result.exit_code == 2, result.output
        assert served == []
        assert f"only on a loopback --host (127.0.0.1, ::1 or localhost), not {host!r}" in result.output


def test_serve_names_the_readmes_production_command(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command `paperkg serve` and api/wsgi.py suggest is the README's, loading the shipped settings
    (api/gunicorn_conf.py: threaded workers, the 120 s worker timeout; tests/api/test_gunicorn_conf.py
    runs it)."""
    import ast

    from flask import Flask

    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = "gunicorn -c python:api.gunicorn_conf -b 127.0.0.1:8000 api.wsgi:app"
    assert command in " ".join(readme.split())
    monkeypatch.setattr(Flask, "run", lambda self, **kw: None)
    result = CliRunner().invoke(main, ["serve", "--port", str(_free_port())])
    assert result.exit_code == 0, result.output
    assert f"production: {command})" in result.output
    # Read, not imported: importing api.wsgi starts loading the model.
    source = (root / "api" / "wsgi.py").read_text(encoding="utf-8")
    assert f"`{command}`" in " ".join((ast.get_docstring(ast.parse(source)) or "").split())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_refuses_a_port_in_use_before_saying_it_serves(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask import Flask

    monkeypatch.setattr(Flask, "run", lambda self, **kw: pytest.fail("the dev server must not start"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 1 and "serving on" not in result.output
    assert f"cannot listen on 127.0.0.1:{port}: " in result.output
    assert "choose another with --port" in result.output


def test_port_problem_names_why_a_port_cannot_be_bound_and_serve_says_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One public check for `paperkg serve` and `make demo` (the demo used to import the private one
    # and cut its message at the first "; ").
    import errno
    import os

    from flask import Flask

    from api.cli import port_problem

    monkeypatch.setattr(Flask, "run", lambda self, **kw: pytest.fail("the dev server must not start"))
    assert port_problem("127.0.0.1", _free_port()) is None
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        problem = port_problem("127.0.0.1", port)
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert problem is not None
    assert problem.startswith(f"cannot listen on 127.0.0.1:{port}: {os.strerror(errno.EADDRINUSE)}")
    assert result.exit_code == 1
    assert result.output == (f"Error: {problem}; another program may be using the port: choose another "
                             "with --port\n")


def test_search_help_states_the_ranges_it_enforces(env: dict[str, str]) -> None:
    """QA: `related --help` showed its --limit range (click's IntRange), `search --help` none, though the
    API's parser refuses what is outside them; stated the same way, from the parser's own limits."""
    from api.params import MAX_LIMIT, MAX_OFFSET
    from kg.validation import YEAR_MAX, YEAR_MIN

    shown = " ".join(CliRunner().invoke(main, ["search", "--help"]).output.split())
    assert f"--limit N Results to show. [default: 10; 1<=x<={MAX_LIMIT}]" in shown
    assert f"--offset N Results to skip. [default: 0; 0<=x<={MAX_OFFSET}]" in shown
    assert f"--year-from YEAR First year. [{YEAR_MIN}<=x<={YEAR_MAX}]" in shown
    assert f"--year-to YEAR Last year. [{YEAR_MIN}<=x<={YEAR_MAX}]" in shown
    # The ends are the enforced ones: taken, and one past them refused.
    edges = ["--limit", str(MAX_LIMIT), "--offset", str(MAX_OFFSET), "--year-from", str(YEAR_MIN),
             "--year-to", str(YEAR_MAX)]
    assert CliRunner().invoke(main, ["search", "x", "--mode", "keyword", *edges]).exit_code == 0
    for args in (["--limit", str(MAX_LIMIT + 1)], ["--limit", "0"], ["--offset", str(MAX_OFFSET + 1)],
                 ["--year-from", str(YEAR_MIN - 1)], ["--year-to", str(YEAR_MAX + 1)]):
        assert CliRunner().invoke(main, ["search", "x", *args]).exit_code == 2, args


def test_search_json_to_a_full_disk_is_one_line(env: dict[str, str]) -> None:
    """QA: `paperkg search … --json > /dev/full` ended in an OSError traceback."""
    paperkg = str(Path(sys.executable).parent / "paperkg")
    with open("/dev/full", "w") as full:
        done = subprocess.run([paperkg, "search", "circuits", "--mode", "keyword", "--json"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert (done.returncode, done.stderr) == (1, "error writing output: No space left on device\n")


def _serve_a_404(stderr: Any, no_color: bool) -> None:
    """Run `paperkg serve` with `stderr` until it has answered one 404, then stop it as Ctrl-C does."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = "1"
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "paperkg"), "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert requests.get(f"http://127.0.0.1:{port}/no-such-page", timeout=30).status_code == 404
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)


def _serve_log_on_a_terminal(no_color: bool) -> str:
    """What `paperkg serve` logs on a terminal (a pty) while it answers one 404."""
    import pty
    import threading

    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read_all() -> None:  # a pty holds little: read as it comes, until the server has gone
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: no process has the terminal open any more
                return
            if not chunk:
                return
            chunks.append(chunk)

    drain = threading.Thread(target=read_all, daemon=True)
    drain.start()
    try:
        try:
            _serve_a_404(slave, no_color)
        finally:
            os.close(slave)
        drain.join(timeout=30)
    finally:
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(("stderr_tty", "no_color", "coloured"), [
    (False, False, False),  # QA: a log file got werkzeug's escape codes
    (True, True, False),  # NO_COLOR (no-color.org)
    (True, False, True),  # a terminal keeps them
])
def test_serve_colours_its_log_only_on_a_terminal_without_no_color(
    env: dict[str, str], tmp_path: Path, stderr_tty: bool, no_color: bool, coloured: bool
) -> None:
    if stderr_tty:
        log = _serve_log_on_a_terminal(no_color)
    else:
        with open(tmp_path / "serve.log", "wb") as file:
            _serve_a_404(file, no_color)
        log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    plain, styled = '"GET /no-such-page HTTP/1.1" 404', '"\x1b[33mGET /no-such-page HTTP/1.1\x1b[0m" 404'
    assert (styled if coloured else plain) in log, log
    assert ("\x1b[" in log) == coloured, log


@pytest.mark.parametrize("closed", [
    "2>&-",  # review: an AttributeError at once (is stderr a terminal? sys.stderr is None), exit 1
    ">&-",  # review: "error writing output: Bad file descriptor" (the banner), exit 1; daemons close it
])
def test_serve_with_a_standard_stream_closed_serves(env: dict[str, str], tmp_path: Path, closed: str) -> None:
    """A server started with stdout or stderr closed serves: its banner is informational, written if it
    can be; Ctrl-C still ends it as it ends the dev server (status 0)."""
    port = _free_port()
    paperkg = str(Path(sys.executable).parent / "paperkg")
    with open(tmp_path / "other-stream.txt", "w", encoding="utf-8") as other:  # the one left open
        proc = subprocess.Popen(["bash", "-c", f'exec "$@" {closed}', "bash", paperkg, "serve", "--port",
                                 str(port)], stdout=other, stderr=other)
        try:
            deadline = time.monotonic() + 120
            ready = None
            while ready is None and proc.poll() is None and time.monotonic() < deadline:
                try:
                    ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                except requests.ConnectionError:
                    time.sleep(0.1)
            assert ready is not None, f"the server never answered (exit status {proc.poll()})"
            assert ready.status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)  # by its pid: bash exec'd it
            proc.wait(timeout=60)
    said = (tmp_path / "other-stream.txt").read_text(encoding="utf-8")
    assert proc.returncode == 0, said
    assert "error writing output" not in said and "Traceback" not in said


# Stored text with terminal control: OSC "set window title" (BEL- and ST-terminated), erase line,
# hidden text, an 8-bit CSI (U+009B), a bare BEL, DEL and a line break.
HOSTILE_TITLE = ("Induction \x1b]0;pwned\x07heads \x1b[2Kin \x1b[8mhidden\x1b[0m \x9b31mtransformers\x07"
                 " \x1b]2;again\x1b\\ç\u00e9\u4e2d\x7f")
HOSTILE_AUTHOR = "Eve \x1b]0;owned\x07Mallory\x9d0;x\x07"


def _terminal_clean(text: str) -> bool:
    """No C0 control but the line feed, no DEL, no C1 control."""
    return not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)


@pytest.fixture
def hostile_store(data_dir: Path) -> Path:
    """A store (inserted directly, not through ingest) whose titles, abstract and authors carry
    terminal escape sequences; two papers sharing that author and a technique."""
    store = taxonomy_store(data_dir / "paperkg.sqlite3")
    try:
        bundles = []
        for pid, axes in (("h1", [0]), ("h2", [0, 1])):
            vector = np.zeros(384, dtype=np.float32)
            vector[axes] = 1.0
            abstract = "We study induction \x1b]0;pwned\x07heads.\nThey \x1b[8mcopy\x1b[0m tokens."
            paper = Paper(id=pid, title=f"{HOSTILE_TITLE} {pid}", year=2024, authors=[HOSTILE_AUTHOR],
                          abstract=abstract,
                          sources=["records"], embedding=vector / np.linalg.norm(vector),
                          embedding_model="test")
            bundles.append(PaperBundle(paper=paper, techniques=[TechniqueUse("probing", "list")]))
        store.upsert_papers(bundles)
    finally:
        store.close()
    return data_dir


def test_search_and_related_print_stored_text_without_terminal_control(hostile_store: Path) -> None:
    # color=True: output as a terminal gets it (click strips nothing then).
    runner = CliRunner()
    found = runner.invoke(main, ["search", "induction", "--mode", "keyword"], color=True)
    assert found.exit_code == 0, found.output
    assert _terminal_clean(found.output), repr(found.output)
    assert "Induction heads in hidden transformers" in found.output
    assert "> We study induction heads." in found.output
    related = runner.invoke(main, ["related", "h1"], color=True)
    assert related.exit_code == 0, related.output
    assert _terminal_clean(related.output), repr(related.output)
    assert "[h2] Induction heads in hidden transformers" in related.output
    assert "shared author Eve Mallory" in related.output
    # --json keeps the stored text exactly, every control character escaped.
    for args in (["search", "induction", "--mode", "keyword", "--json"], ["related", "h1", "--json"]):
        result = runner.invoke(main, args, color=True)
        assert result.exit_code == 0, result.output
        assert _terminal_clean(result.output), repr(result.output)
        titles = {r["title"] for r in json.loads(result.output)["results"]}
        assert f"{HOSTILE_TITLE} h2" in titles


def test_search_and_related_mark_a_withdrawn_paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A paper whose stored abstract is arXiv's withdrawal notice is marked after its title, as the web UI
    and the API mark it; the paper whose abstract only discusses withdrawn papers is not."""
    from tests.api.test_json_api import KEPT_ID, WITHDRAWN_ID, withdrawn_store

    withdrawn_store(tmp_path / "paperkg.sqlite3").close()
    monkeypatch.setenv("PAPERKG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAPERKG_STORE", "embedded")
    found = CliRunner().invoke(main, ["search", "activation patching", "--mode", "keyword"])
    assert found.exit_code == 0, found.output
    title = "Activation Patching Finds a Refusal Circuit in Llama"
    assert f"[{WITHDRAWN_ID}] {title} [withdrawn] (" in found.output
    assert f"[{KEPT_ID}] Activation Patching on Papers Withdrawn by Their Authors (" in found.output
    related = CliRunner().invoke(main, ["related", KEPT_ID])
    assert related.exit_code == 0, related.output
    assert "Refusal Circuit in Llama [withdrawn]  score" in related.output


def test_a_query_that_is_an_arxiv_id_names_its_paper(env: dict[str, str]) -> None:
    """Author QA: `paperkg search 2309.08600` listed other papers, and 2309.08600 was not in the top 10
    (the keyword index holds no ids; the web form opens the paper's page)."""
    text = CliRunner().invoke(main, ["search", "2309.08600v2", "--mode", "keyword"])
    assert text.exit_code == 0, text.output
    assert text.output.splitlines()[0].startswith("the arXiv id of [2309.08600] Sparse Autoencoders Find")
    for query, named in (("https://arxiv.org/abs/2211.00593", "2211.00593"),
                         ("arXiv:2211.00593", "2211.00593"),
                         ("indirect object identification", None), ("9999.99999", None)):
        out = CliRunner().invoke(main, ["search", query, "--mode", "keyword", "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output[out.output.index("{"):])["named_paper"] == named, query
    other = CliRunner().invoke(main, ["search", "indirect object identification", "--mode", "keyword"])
    assert "the arXiv id of" not in other.output


def test_an_empty_filtered_answer_says_which_filter_emptied_it_everywhere(env: dict[str, str]) -> None:
    """Novelty-reviewer QA: only the CLI's text said which filter emptied an answer ("each filter alone
    passes papers ..., but no paper passes them all"); --json, the API and the web page said nothing."""
    args = ["search", "", "--technique", "attribution_patching", "--model", "pythia", "--component",
            "induction_head"]
    text = CliRunner().invoke(main, args)
    assert "but no paper passes them all" in text.output, text.output
    body = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert body["total"] == 0 and body["papers_passing_filters"] == 0
    counts = {c["filter"]: c["papers"] for c in body["filter_counts"]}
    assert set(counts) == {"technique attribution_patching", "model pythia", "component induction_head"}
    assert all(n > 0 for n in counts.values())
    found = json.loads(CliRunner().invoke(main, ["search", "", "--model", "pythia", "--json"]).output)
    assert found["total"] > 0 and found["filter_counts"] is None and found["papers_passing_filters"] is None
