"""The commands' bad option values in one wording, the parameter and the value given named (QA: `related
--limit 0` said click's "0 is not in the range 1<=x<=100." where `search --limit 0` said it in the API's
words, and `related --limit abc` "'abc' is not a valid integer range.")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from kg.cli import main

CLICK_WORDING = ("is not in the range", "is not a valid integer", "is not a valid float")


@pytest.mark.parametrize("value", ["0", "101", "abc", "", "-3", "1.5"])
def test_related_limit_is_refused_in_the_apis_words(env: dict[str, str], client: FlaskClient, value: str
                                                     ) -> None:
    api = client.get("/api/papers/2211.00593/related", query_string={"limit": value})
    assert api.status_code == 400
    detail = api.get_json()["error"]["message"].removeprefix("parameter 'limit': ")
    result = CliRunner().invoke(main, ["related", "2211.00593", "--limit", value])
    assert result.exit_code == 2, result.output
    assert result.output.endswith(f"\nError: Invalid value for '--limit': {detail}\n"), result.output
    assert not any(words in result.output for words in CLICK_WORDING)
    # The same words as `search --limit`, the value given echoed.
    search = CliRunner().invoke(main, ["search", "x", "--mode", "keyword", "--limit", value])
    assert search.output.endswith(f"\nError: Invalid value for '--limit': {detail}\n"), search.output
    assert (value or "empty value") in detail


def test_related_limit_still_takes_a_number(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["related", "2211.00593", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("cosine") == 2
    shown = " ".join(CliRunner().invoke(main, ["related", "--help"]).output.split())
    assert "--limit N Related papers to show. [default: 10; 1<=x<=100]" in shown


@pytest.mark.parametrize(("value", "detail"), [("0", "0"), ("65536", "65536"), ("http", "'http'")])
def test_serve_port_is_refused_in_the_same_words(data_dir: Path, value: str, detail: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", value])
    assert result.exit_code == 2, result.output
    said = result.output.rsplit("Error: Invalid value for '--port': ", 1)[1]
    assert detail in said and not any(words in said for words in CLICK_WORDING)
    assert said.startswith(("must be between 1 and 65535", "must be an integer"))


@pytest.mark.parametrize(("value", "said"), [("-1", "must be 0 or more, not '-1'"),
                                             ("nan", "must be a finite number, not 'nan'"),
                                             ("soon", "must be a number of seconds, not 'soon'")])
def test_keys_restore_wait_is_refused_as_a_setting_is(data_dir: Path, tmp_path: Path, value: str,
                                                      said: str) -> None:
    keys = tmp_path / "keys.jsonl"
    keys.write_text('{"id": "2211.00593", "citation_key": "wang2022interpretability"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["keys", "restore", str(keys), "--wait", value])
    assert result.exit_code == 2, result.output
    assert result.output.endswith(f"\nError: Invalid value for '--wait': {said}\n"), result.output
