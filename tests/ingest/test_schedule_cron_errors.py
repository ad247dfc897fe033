"""QA (a copy editor): a bad cron field was APScheduler's "Error validating expression '99': the last value
(99) is higher than the maximum value (59)"; it names the field by place and name now, and the help says
how many fields an expression has."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.schedule import ScheduleError, make_trigger
from kg.cli import main
from tests.seed_store import taxonomy_store


@pytest.mark.parametrize("expr, said", [
    ("99 * * * * *", "cron field 1 (second) is 99; it must be 0–59"),
    ("61 6 * * 1", "cron field 1 (minute) is 61; it must be 0–59"),
    ("0 24 * * 1", "cron field 2 (hour) is 24; it must be 0–23"),
    ("0 6 0 * *", "cron field 3 (day) is 0; it must be 1–31"),
    ("0 6 * 13 *", "cron field 4 (month) is 13; it must be 1–12 or jan–dec"),
    ("0 6 * * 9", "cron field 5 (weekday) is 9; it must be 0–7 or sun–sat"),
    ("0 6 * * * 8", "cron field 6 (weekday) is 8; it must be 0–7 or sun–sat"),
    ("5-99 * * * *", "cron field 1 (minute) has 99 (in '5-99'); it must be 0–59"),
    ("*/0 * * * *", "cron field 1 (minute) is '*/0': the step must be at least 1, not '0'"),
    ("*/x * * * *", "cron field 1 (minute) is '*/x': the step must be a whole number, not 'x'"),
    # A step past the field's span was the generic "give a number …" although a step was given.
    ("*/61 * * * *", "cron field 1 (minute) is '*/61': the step must be at most 59, not '61'"),
    ("0 */24 * * *", "cron field 2 (hour) is '*/24': the step must be at most 23, not '24'"),
    ("0-30/31 * * * *",
     "cron field 1 (minute) is '0-30/31': the step must be at most 30 from '0-30', not '31'"),
    ("0 6 * * */0", "cron field 5 (weekday) is '*/0': the step must be at least 1, not '0'"),
    ("0 6 9-5 * *", "cron field 3 (day) is '9-5': the range '9-5' runs backwards"),
    ("abc 6 * * *", "cron field 1 (minute) is 'abc': give a number (0–59), a range (1-5), a list (1,3), a "
                    "step (*/15) or *"),
    # Weekday ranges and names in the words of the other fields (one form: "0–7 or sun–sat").
    ("0 6 * * sat-sun", "cron field 5 (weekday) is 'sat-sun': the range 'sat-sun' runs backwards"),
    ("0 6 * * 5-2", "cron field 5 (weekday) is '5-2': the range '5-2' runs backwards"),
    ("0 6 * * xyz", "cron field 5 (weekday) is 'xyz': unknown weekday 'xyz'; it must be 0–7 or sun–sat"),
])
def test_a_bad_field_is_named_by_its_place_and_name(expr: str, said: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        make_trigger(expr)
    assert str(refused.value) == said
    assert "Error validating" not in said and "maximum value" not in said


def test_names_and_apscheduler_extras_still_work() -> None:
    for expr in ("0 6 * jan-mar mon", "0 6 last * *", "0 0-5/2 * * *", "*/5 * * * * *"):
        make_trigger(expr)


def test_the_cli_error_and_help(data_dir: Path) -> None:
    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    result = CliRunner().invoke(main, ["schedule", "--cron", "99 * * * * *"])
    assert result.exit_code == 2, result.output
    assert result.stderr.endswith(
        "Error: Invalid value for '--cron': cron field 1 (second) is 99; it must be 0–59\n")
    help_text = " ".join(CliRunner().invoke(main, ["schedule", "--help"]).stdout.split())
    assert "'0 6 * * 1'): 5 fields (minute hour day month weekday), or 6 with seconds first." in help_text
