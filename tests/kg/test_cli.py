"""`paperkg init` / `stats` on a fresh embedded store, and clear errors for a bad taxonomy file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kg.cli import main, package_version
from tests.processes import open_fifo_writer, stop_when_blocked

REPO = Path(__file__).resolve().parents[2]


def test_version_is_the_installed_distributions(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Eager: shown even when the configuration is bad (the group callback would refuse it); creates nothing.
    monkeypatch.setenv("PAPERKG_LOG_LEVEL", "LOUD")
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"paperkg {version('paperkg')}\n"
    assert not any(data_dir.iterdir())
    assert "--version" in CliRunner().invoke(main, ["--help"]).output


def test_version_of_the_console_script_is_pyprojects(tmp_path: Path) -> None:
    """The `paperkg` script beside this interpreter, run away from the checkout: pyproject's version."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    done = subprocess.run([str(Path(sys.executable).parent / "paperkg"), "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"paperkg {project['version']}\n"


def test_version_of_a_distribution_not_installed_says_how_to_install() -> None:
    shown = package_version("paperkg-never-installed")
    assert shown.startswith("(version unknown: the paperkg-never-installed distribution is not installed;")
    assert "`make install`" in shown and "`make dist`" in shown


def test_init_then_stats(data_dir: Path) -> None:
    runner = CliRunner()
    # Reading a store that was never created is an error naming the directory, and creates nothing.
    missing = runner.invoke(main, ["stats", "--json"])
    assert missing.exit_code == 1
    assert f"no paperkg store in {data_dir.resolve()} (PAPERKG_DATA_DIR)" in missing.output
    assert not (data_dir / "paperkg.sqlite3").exists()
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert "initialised embedded store" in result.output
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert stats["nodes"]["Technique"] > 20 and stats["nodes"]["Paper"] == 0
    assert stats["relationships"]["REFINES"] > 0
    text = runner.invoke(main, ["stats"])
    assert text.exit_code == 0
    assert "nodes:" in text.output and "Technique" in text.output and "REFINES" in text.output


def test_a_store_never_initialised_is_no_store(data_dir: Path) -> None:
    """A file with paperkg's tables but no taxonomy (what a request to a server of an older paperkg left
    in a mistyped PAPERKG_DATA_DIR): reading commands and the weekly ingest refuse it, naming what to do,
    rather than showing zeros or judging candidates against an empty corpus; `paperkg init` makes it a
    store."""
    from kg.embedded import EmbeddedStore

    path = data_dir / "paperkg.sqlite3"
    EmbeddedStore(path).close()
    before = path.read_bytes()
    runner = CliRunner()
    for args, status in ((["stats"], 1), (["ingest", "weekly"], 74)):  # weekly: EX_IOERR, a store to fix
        result = runner.invoke(main, args)
        assert result.exit_code == status, (args, result.output)
        assert f"{path.resolve()} holds paperkg's tables but no taxonomy" in result.output
        assert "run `paperkg init`" in result.output
    assert path.read_bytes() == before
    assert runner.invoke(main, ["init"]).exit_code == 0
    stats = runner.invoke(main, ["stats", "--json"])
    assert stats.exit_code == 0 and json.loads(stats.output)["nodes"]["Technique"] > 20


def test_init_with_a_custom_taxonomy(data_dir: Path, tmp_path: Path) -> None:
    custom = tmp_path / "tiny.yaml"
    custom.write_text(
        "techniques:\n  - id: alpha\n    label: Alpha\n  - id: beta\n    label: Beta\n"
        "    children:\n      - {id: beta_one, label: Beta one}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["init", "--taxonomy", str(custom)])
    assert result.exit_code == 0, result.output
    assert "3 nodes" in result.output
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert stats["nodes"]["Technique"] == 3 and stats["relationships"]["REFINES"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("techniques: [unclosed\n", "not valid YAML"),
        ("just: a mapping\n", "not a taxonomy file"),
        ("", "the file is empty"),  # taxonomy QA: "no 'techniques' key" for an empty file
        ("# only a comment\n", "the file is empty"),
        ("techniques:\n  - {id: a, label: A}\n  - {id: a, label: B}\n", "duplicate ids"),
    ],
)
def test_init_with_a_bad_taxonomy_fails_cleanly(
    data_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    """A file that is there but holds no taxonomy: an error (1); a missing one is a usage error
    (tests/kg/test_cli_init_taxonomy.py)."""
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["init", "--taxonomy", str(path)])
    assert result.exit_code == 1
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    # Nothing was created: the taxonomy is read before the store is opened.
    assert not (data_dir / "paperkg.sqlite3").exists()


def test_ingest_refuses_a_store_initialised_with_another_taxonomy(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = tmp_path / "tiny.yaml"
    custom.write_text("techniques:\n  - id: alpha\n    label: Alpha\n    aliases: [alpha method]\n",
                      encoding="utf-8")
    records = tmp_path / "one.jsonl"
    records.write_text(json.dumps({"id": "p-1", "title": "Using the alpha method",
                                   "abstract": "We apply the alpha method."}) + "\n", encoding="utf-8")
    runner = CliRunner()
    init = runner.invoke(main, ["init", "--taxonomy", str(custom)])
    assert init.exit_code == 0, init.output
    assert f"set PAPERKG_TAXONOMY={custom}" in init.stderr

    monkeypatch.setenv("PAPERKG_EMBEDDING_MODEL", str(tmp_path / "no-model"))  # never reached
    refused = runner.invoke(main, ["ingest", "records", str(records)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    from kg.config import PACKAGED_TAXONOMY
    from kg.taxonomy import load_taxonomy

    # Counted from the shipped file, so adding a node to it does not break this test (contributor QA).
    lacking = sorted(set(load_taxonomy(PACKAGED_TAXONOMY).by_id) - {"alpha"})
    assert refused.stderr.startswith(f"Error: PAPERKG_TAXONOMY ({PACKAGED_TAXONOMY}) has {len(lacking)} "
                                     f"ids the store lacks ({lacking[0]}, {lacking[1]}, ")
    assert refused.stderr.endswith(f" and {len(lacking) - 10} more): run `paperkg init` to load the edited "
                                   "file into the store (or point PAPERKG_TAXONOMY at the file the store "
                                   "was initialised with)\n")
    assert json.loads(runner.invoke(main, ["stats", "--json"]).output)["nodes"].get("Paper", 0) == 0

    # With PAPERKG_TAXONOMY naming the file the store was initialised with, the ingest runs and
    # classifies with it.
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(custom))
    monkeypatch.delenv("PAPERKG_EMBEDDING_MODEL")
    again = runner.invoke(main, ["ingest", "records", str(records)])
    assert again.exit_code == 0, again.output
    assert "1 paper from 1 record -> 1 new" in again.output
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    assert stats["nodes"]["Paper"] == 1 and stats["relationships"]["USES"] == 1


def test_search_says_when_no_paper_is_tagged_with_the_named_technique(
    data_dir: Path, shared_data: Path
) -> None:
    """ "steering vectors": no seed paper is tagged Steering vectors, so none come first as such."""
    import shutil

    from tests.seed_store import seed_db_path

    shutil.copy(seed_db_path(shared_data), data_dir / "paperkg.sqlite3")
    runner = CliRunner()
    result = runner.invoke(main, ["search", "steering vectors", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "come first" not in result.output
    assert "  no paper is tagged Steering vectors / activation addition; showing the nearest matches\n" in (
        result.output)
    filtered = runner.invoke(main, ["search", "steering vectors", "--limit", "3", "--year-from", "2023"])
    assert "  no paper passing the filters is tagged Steering vectors" in filtered.output
    body = json.loads(runner.invoke(main, ["search", "steering vectors", "--json", "--limit", "3"]).output)
    assert body["using_first"] == [] and body["not_tagged"] == ["steering_vector"]
    named = runner.invoke(main, ["search", "logit lens", "--limit", "3"])
    assert "  papers tagged Logit Lens come first" in named.output
    assert "no paper is tagged" not in named.output


@pytest.mark.parametrize(("arg", "shown"), [
    (b"\xff", "'\\xff'"), (b"2211.00593\xed\xb2\x80", "'2211.00593\\xed\\xb2\\x80'"),
])
def test_related_refuses_an_id_that_is_not_utf8_in_one_line(data_dir: Path, arg: bytes, shown: str) -> None:
    """`paperkg related $'\\xff'`: the byte reaches Python as a lone surrogate, which the store's UTF-8
    encoder refused with a traceback; now one line saying what is wrong with the id."""
    import subprocess
    import sys

    from tests.seed_store import taxonomy_store

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    exe = Path(sys.executable).with_name("paperkg")
    result = subprocess.run([exe, b"related", arg], capture_output=True, timeout=120)
    stderr = result.stderr.decode("utf-8", "backslashreplace")
    assert result.returncode == 2, stderr  # a usage error: an id no stored paper has
    assert stderr.endswith(f"\nError: paper id {shown} is not valid UTF-8 text, so no paper has it\n")
    assert result.stdout == b""


def test_related_refuses_a_lone_surrogate_given_as_text(data_dir: Path) -> None:
    """The same id from a caller that passes text (CliRunner, a script): a surrogate no byte decodes to."""
    from tests.seed_store import taxonomy_store

    taxonomy_store(data_dir / "paperkg.sqlite3").close()
    result = CliRunner().invoke(main, ["related", "\ud800x"])
    assert result.exit_code == 2 and not isinstance(result.exception, UnicodeError), result.output
    assert result.output.endswith("\nError: paper id '\\ud800x' is not valid UTF-8 text, so no paper has "
                                  "it\n")


@pytest.mark.parametrize(("value", "shown"), [
    ("2211.00593", "2211.00593"),
    ("y" + "x" * 99_999, "y" + "x" * 79 + "…"),  # echoed whole before: 100,000 characters
    ("x" * 80, "x" * 80),
    ("a\udcffb", "a\\xffb"),  # a byte that is not UTF-8, as typed ($'a\xffb')
    ("\ud800", "\\ud800"),  # a surrogate no byte decodes to
    ("\x1b]0;owned\x07id\x1b[2K", "id"),  # terminal control removed
])
def test_shown_arg_echoes_a_value_short_and_safe(value: str, shown: str) -> None:
    from kg.cli import shown_arg

    assert shown_arg(value) == shown


def test_every_option_of_every_command_says_what_it_does() -> None:
    """`paperkg related --help` showed --limit, and `dev arxiv-server --help` --host, with no words."""
    import click

    def commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        found: list[tuple[str, click.Command]] = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{path} {name}")
            else:
                found.append((f"{path} {name}", command))
        return found

    every = commands(main, "paperkg")
    assert len(every) > 10
    bare = [(path, p.name) for path, command in every for p in command.params
            if isinstance(p, click.Option) and not p.help]
    assert bare == []


def test_backup_copies_a_consistent_store_while_a_writer_holds_its_write(
    data_dir: Path, tmp_path: Path, shared_data: Path
) -> None:
    """`paperkg backup FILE`: one self-contained file that opens as the same graph, taken while another
    process is mid-write (a WAL reader does not wait, and the uncommitted write is not in the copy)."""
    import shutil
    import sqlite3

    from kg.embedded import EmbeddedStore
    from tests.seed_store import seed_db_path

    shutil.copy(seed_db_path(shared_data), data_dir / "paperkg.sqlite3")
    runner = CliRunner()
    stats = json.loads(runner.invoke(main, ["stats", "--json"]).output)
    expected = {k: v for k, v in stats.items() if k != "distinct_pairs"}  # the command's, not store.stats()'s
    writer = sqlite3.connect(data_dir / "paperkg.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM papers_fts")
    writer.execute("DELETE FROM papers")
    try:
        target = tmp_path / "backups" / "paperkg-backup.sqlite3"
        target.parent.mkdir()
        result = runner.invoke(main, ["backup", str(target)])
        assert result.exit_code == 0, result.output
        assert f"backed up {expected['nodes']['Paper']} papers to {target}" in result.output
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert [p.name for p in target.parent.iterdir()] == ["paperkg-backup.sqlite3"]  # no -wal, no partial
    copy = EmbeddedStore(target, read_only=True)
    try:
        assert copy.stats() == expected
        assert copy.keyword_search("indirect object identification", 1)[0].id == "2211.00593"
    finally:
        copy.close()
    # An existing file is kept unless --force; the store itself is never the target.
    again = runner.invoke(main, ["backup", str(target)])
    assert again.exit_code == 2 and "exists (--force replaces it)" in again.output
    assert runner.invoke(main, ["backup", "--force", str(target)]).exit_code == 0
    store_file = data_dir / "paperkg.sqlite3"
    wal = data_dir / "paperkg.sqlite3-wal"
    linked = tmp_path / "linked.sqlite3"
    os.link(store_file, linked)
    # The store, its -wal (a copy written over it would drop the writes still in it) and a link to it.
    for path in (store_file, wal, data_dir / "paperkg.sqlite3-shm", linked):
        itself = runner.invoke(main, ["backup", "--force", str(path)])
        assert itself.exit_code == 2 and "the store itself or its -wal/-shm file" in itself.output, path
    assert json.loads(runner.invoke(main, ["stats", "--json"]).output) == stats


def test_backup_refuses_what_it_cannot_copy_and_leaves_no_file(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    target = tmp_path / "copy.sqlite3"
    nothing = runner.invoke(main, ["backup", str(target)])
    assert nothing.exit_code == 1 and "no paperkg store in" in nothing.output and not target.exists()
    assert runner.invoke(main, ["init"]).exit_code == 0
    missing_dir = tmp_path / "no-such-dir" / "copy.sqlite3"
    failed = runner.invoke(main, ["backup", str(missing_dir)])
    assert failed.exit_code == 1 and f"cannot back up {data_dir / 'paperkg.sqlite3'}" in failed.output
    # QA: SQLite's "unable to open database file" did not say which part was wrong.
    assert failed.output.endswith(f": the directory {missing_dir.parent} does not exist\n"), failed.output
    assert not missing_dir.parent.exists()
    monkeypatch.setenv("PAPERKG_NEO4J_URI", "bolt://127.0.0.1:9")
    neo4j = runner.invoke(main, ["backup", str(target)])
    assert neo4j.exit_code == 1 and "neo4j-admin database dump" in neo4j.output and not target.exists()


def test_sigterm_during_a_backup_exits_143_and_leaves_no_file(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM (systemctl stop, docker stop) while the copy is finished: the ingests' exit status, a
    line saying so, and no partial file."""
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0

    def terminated(fd: int) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread's handler at once

    monkeypatch.setattr(os, "fsync", terminated)
    result = runner.invoke(main, ["backup", str(tmp_path / "copy.sqlite3")])
    assert result.exit_code == 143 and "stopped by SIGTERM: no backup was written" in result.output
    assert list(tmp_path.glob("copy.sqlite3*")) == []


def test_a_link_or_leftover_at_the_partial_path_is_replaced_not_followed(
    data_dir: Path, tmp_path: Path
) -> None:
    """SQLite follows a link at FILE.partial: the copy's clean-up (deleting its ingest locks) ran on the
    live store it led to, dropping a running ingest's lock. A killed backup's leftovers go too."""
    from kg.embedded import EmbeddedStore

    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    live = EmbeddedStore(data_dir / "paperkg.sqlite3")
    live.acquire_lock("ingest", "host:1:running-ingest", ttl_seconds=600)
    target = tmp_path / "copy.sqlite3"
    (tmp_path / "copy.sqlite3.partial").symlink_to(data_dir / "paperkg.sqlite3")
    (tmp_path / "copy.sqlite3.partial-wal").write_bytes(b"a killed backup's leftover")
    assert runner.invoke(main, ["backup", str(target)]).exit_code == 0
    assert live.lock_owner("ingest") == "host:1:running-ingest"
    assert sorted(p.name for p in tmp_path.glob("copy.sqlite3*")) == ["copy.sqlite3"]
    live.close()


def test_a_symbolic_link_loop_as_file_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for args in ([str(loop)], ["--force", str(loop / "copy.sqlite3")]):
        result = runner.invoke(main, ["backup", *args])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output


def test_an_interrupted_backup_leaves_no_partial_file(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the copy is being finished: the store-sized FILE.partial is removed, FILE is not
    created, and the command says so in one line with exit status 130 (click's "Aborted!" and 1 before)."""
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(main, ["backup", str(target)])
    assert result.exit_code == 130, result.output
    assert (result.stdout, result.stderr) == ("", "interrupted: no backup was written\n")
    assert list(tmp_path.glob("copy.sqlite3*")) == []


def _paperkg(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The `paperkg` console script beside this interpreter, run to its end."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([str(Path(sys.executable).parent / "paperkg"), *args], text=True, timeout=120,
                          check=False, **kwargs)


def test_a_backup_into_a_path_under_a_regular_file_is_refused_in_one_line(
    data_dir: Path, tmp_path: Path
) -> None:
    """QA: FILE whose directory cannot hold files (here a regular file; a read-only mount the same way)
    ended in a traceback: the clean-up's unlink(missing_ok=True) raised again, so no one-line error."""
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    (tmp_path / "na.jsonl").write_text("{}\n")
    target = tmp_path / "na.jsonl" / "x.sqlite3"
    done = _paperkg("backup", str(target))
    assert done.returncode == 1, done.stderr
    assert done.stderr == (f"Error: cannot back up {data_dir / 'paperkg.sqlite3'} to {target}: "
                           "Not a directory\n")
    assert done.stdout == "" and (tmp_path / "na.jsonl").read_text() == "{}\n"


@pytest.mark.parametrize("args", [["stats"], ["stats", "--json"], ["config", "--json"]])
def test_output_that_cannot_be_written_is_one_line_and_exit_status_1(data_dir: Path, args: list[str]) -> None:
    """QA: `paperkg stats > /dev/full` ended in an OSError traceback (a full disk the same way)."""
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    with open("/dev/full", "w") as full:
        done = _paperkg(*args, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 1
    # Nothing more: no "Exception ignored" from the interpreter's last flush of stdout.
    assert done.stderr == "error writing output: No space left on device\n"


@pytest.mark.parametrize("args", [["stats", "--json"], ["config"]])
def test_a_closed_stdout_is_one_line_and_exit_status_1(data_dir: Path, args: list[str]) -> None:
    """QA: with stdout closed (`>&-`) the output was dropped unseen and the exit status was 0."""
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    script = str(Path(sys.executable).parent / "paperkg")
    done = subprocess.run(["bash", "-c", 'exec "$@" >&-', "bash", script, *args], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr == "error writing output: Bad file descriptor\n"


def test_a_broken_pipe_stays_quiet(data_dir: Path) -> None:
    """`paperkg config | head -1`: the reader went away, which needs no message (click's handling, kept).
    Here the pipe's read end is closed before the command starts, so every write fails."""
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _paperkg("config", stdout=write_end)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (1, "")


def test_ctrl_c_outside_an_ingest_says_interrupted_and_exits_130(data_dir: Path, tmp_path: Path) -> None:
    """QA: Ctrl-C (SIGINT to the foreground process group) ended in click's bare "Aborted!" and exit
    status 1. Here the command is blocked reading a FIFO no one writes to."""
    fifo = tmp_path / "records.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "paperkg"), "ingest", "records", str(fifo)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    writer = None
    try:
        writer = open_fifo_writer(fifo, proc)
        out, err = stop_when_blocked(proc, "pipe_read", "pipe_wait", group=True)  # see tests/processes.py
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if writer is not None:
            os.close(writer)
    assert proc.returncode == 130
    assert (out, err) == ("", "interrupted\n")


def test_backup_refuses_a_link_or_special_file_as_file(data_dir: Path, tmp_path: Path) -> None:
    """--force replaced a symbolic link (not the file it leads to), a FIFO or even /dev/null with a copy."""
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    real = tmp_path / "elsewhere.sqlite3"
    real.write_bytes(b"an older backup")
    link = tmp_path / "latest.sqlite3"
    link.symlink_to(real)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (link, fifo):
        result = runner.invoke(main, ["backup", "--force", str(path)])
        assert result.exit_code == 2 and "is not a regular file" in result.output, path
    folder = runner.invoke(main, ["backup", "--force", str(tmp_path)])
    assert folder.exit_code == 2 and "is a directory" in folder.output
    assert link.is_symlink() and real.read_bytes() == b"an older backup" and not fifo.is_file()


def test_a_backup_taken_during_an_ingest_holds_no_lock_and_its_run_is_ended_by_the_next(
    data_dir: Path, tmp_path: Path
) -> None:
    """A restored copy must not wait for the process that was ingesting into the original when the copy
    was taken: locks are not copied, and that run is recorded failed in the copy (QA: left "running", it
    was a 503 weekly_interrupted until the restored store's next ingest)."""
    from ingest.store_lock import ingest_lock
    from kg.embedded import EmbeddedStore

    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    live = EmbeddedStore(data_dir / "paperkg.sqlite3")
    with ingest_lock(live, "records") as held:
        run = live.start_run("records")
        target = tmp_path / "mid-ingest.sqlite3"
        assert runner.invoke(main, ["backup", str(target)]).exit_code == 0
        held.check()  # the original's lock is untouched
        restored_dir = tmp_path / "restored"
        restored_dir.mkdir()
        target.rename(restored_dir / "paperkg.sqlite3")
        restored = EmbeddedStore(restored_dir / "paperkg.sqlite3")
        [ended] = restored.runs()
        assert (ended.id, ended.status) == (run.id, "failed")
        assert "in progress when the backup was taken" in (ended.message or "")
        with ingest_lock(restored, "records", wait=0):  # not refused for the live process's lock
            pass
        restored.close()
        assert [r.status for r in live.runs()] == ["running"]  # the original is untouched
    live.close()


_TINY = ("techniques:\n  - id: alpha\n    label: Alpha\n    aliases: [alpha method]\n"
         "  - id: beta\n    label: Beta\n    aliases: [beta method]\n")


def _tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store initialised with a two-technique taxonomy (PAPERKG_TAXONOMY) holding one paper, ingested
    with the hash embedder and the real extractor; returns the taxonomy file."""
    import ingest.pipeline as pipeline
    from tests.embedders import HashEmbedder

    path = tmp_path / "tiny.yaml"
    path.write_text(_TINY, encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(path))
    monkeypatch.setattr(pipeline, "_load_embedder", HashEmbedder)
    records = tmp_path / "one.jsonl"
    records.write_text(json.dumps({"id": "p-1", "title": "Using the gamma method",
                                   "abstract": "We apply the gamma method and the alpha method."}) + "\n",
                       encoding="utf-8")
    runner = CliRunner()
    init = runner.invoke(main, ["init"])
    assert init.exit_code == 0 and init.stderr == ""  # an empty store: no paper keeps old tags
    ingest = runner.invoke(main, ["ingest", "records", str(records)])
    assert ingest.exit_code == 0, ingest.output
    return path


_STALE_ONE = ("note: the stored paper was extracted with another taxonomy or extractor: run "
              "`paperkg ingest reextract`\n")


def test_init_says_which_stored_papers_were_extracted_with_another_taxonomy(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA (taxonomy maintainer): `paperkg init` with a new technique said nothing, and the README's "taxonomy
    edits re-extract by themselves" read as if the store were re-tagged; it is not until reextract.
    QA again: the note followed the store's taxonomy, not the papers: a second init said nothing though
    the paper was still stale, and init after a reextract run first noted a paper that was current."""
    path = _tiny_store(tmp_path, monkeypatch)
    runner = CliRunner()
    same = runner.invoke(main, ["init"])
    assert same.exit_code == 0 and same.stderr == ""  # nothing changed for extraction
    path.write_text(_TINY.replace("[beta method]", "[beta method, gamma method]")
                    + "  - id: delta\n    label: Delta Renamed\n", encoding="utf-8")
    edited = runner.invoke(main, ["init"])
    assert edited.exit_code == 0, edited.output
    assert edited.stderr == _STALE_ONE
    # The store's taxonomy is the file's now, but the paper is still stale: said again.
    assert runner.invoke(main, ["init"]).stderr == _STALE_ONE
    assert runner.invoke(main, ["ingest", "reextract"]).exit_code == 0
    assert runner.invoke(main, ["init"]).stderr == ""
    path.write_text(_TINY.replace("[beta method]", "[beta method, gamma method]")
                    + "  - id: delta\n    label: Delta\n", encoding="utf-8")
    assert runner.invoke(main, ["init"]).stderr == ""  # a new name matches nothing: no note

    # Reextract run before init (it goes on, with a WARNING, when the file only changes aliases): the
    # paper is current, so init, which loads the aliases, has nothing to note.
    path.write_text(_TINY.replace("[alpha method]", "[alpha method, gamma method]")
                    + "  - id: delta\n    label: Delta\n", encoding="utf-8")
    early = runner.invoke(main, ["ingest", "reextract"])
    assert early.exit_code == 0 and "1 updated" in early.stdout, early.output
    assert runner.invoke(main, ["init"]).stderr == ""
    # A paper written after the edit is current, the one written before is not.
    path.write_text(_TINY.replace("[alpha method]", "[alpha method, epsilon method]")
                    + "  - id: delta\n    label: Delta\n", encoding="utf-8")
    records = tmp_path / "two.jsonl"
    records.write_text(json.dumps({"id": "p-2", "title": "The epsilon method", "abstract": "It."}) + "\n",
                       encoding="utf-8")
    assert runner.invoke(main, ["ingest", "records", str(records)]).exit_code == 0
    assert runner.invoke(main, ["init"]).stderr == (
        "note: 1 of the 2 stored papers was extracted with another taxonomy or extractor: run "
        "`paperkg ingest reextract`\n")
    assert runner.invoke(main, ["ingest", "reextract"]).exit_code == 0
    # An upgrade with other extraction rules (EXTRACTOR_VERSION) leaves every paper stale too.
    monkeypatch.setattr("ingest.extract.EXTRACTOR_VERSION", "bumped")
    assert runner.invoke(main, ["init"]).stderr == (
        "note: the 2 stored papers were extracted with another taxonomy or extractor: run "
        "`paperkg ingest reextract`\n")


def test_an_ingest_warns_when_its_taxonomy_file_is_not_the_one_the_store_holds(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """QA: a process whose PAPERKG_TAXONOMY had other aliases than the store, or lacked some of its nodes,
    re-tagged the papers it wrote by its own file without a word (only ids the store lacks stopped it)."""
    _tiny_store(tmp_path, monkeypatch)
    records = tmp_path / "one.jsonl"
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    other = tmp_path / "other.yaml"
    other.write_text("techniques:\n  - id: alpha\n    label: Alpha\n"
                     "    aliases: [alpha method, gamma method]\n", encoding="utf-8")
    monkeypatch.setenv("PAPERKG_TAXONOMY", str(other))
    result = CliRunner().invoke(main, ["ingest", "records", str(records)])
    assert result.exit_code == 0, result.output  # a warning, not an error
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    # beta, only in the store, is no part of it: `paperkg init` could not clear that (init names it).
    assert warning == (
        f"PAPERKG_TAXONOMY ({other}) is not the taxonomy the store holds: the store holds 1 node with other "
        "aliases or parents than the file's (e.g. alpha); the papers this process writes are tagged by the "
        "file. Set PAPERKG_TAXONOMY to the file the store was initialised with, or run `paperkg init` with "
        "this one (it updates aliases and parents)")
    caplog.clear()
    assert CliRunner().invoke(main, ["init"]).exit_code == 0  # the advice clears the warning
    result = CliRunner().invoke(main, ["ingest", "records", str(records)])
    assert result.exit_code == 0, result.output
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_node_removed_from_the_file_is_named_by_init_and_no_warning_of_every_ingest(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: init removes no node, so every later ingest warned "the store holds 1 node the file lacks",
    with advice (run init) that could not clear it, and init said nothing, though the stored paper kept
    the removed node's tag until `paperkg ingest reextract`. QA: a list tag (which reextract keeps) to a
    removed node kept the reextract note coming on every init; init now says which tags go how."""
    from kg.cli import _named

    path = _tiny_store(tmp_path, monkeypatch)  # its paper ("the gamma method and the alpha method"): alpha
    rows = tmp_path / "rows.jsonl"  # a paper tagged alpha by a records file's list row
    rows.write_text(json.dumps({"id": "p-2", "title": "Rowed", "list_rows": [
        {"section": "Circuits", "technique_ids": ["alpha"]}]}) + "\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "records", str(rows)]).exit_code == 0
    # alpha taken out, beta given the alias "gamma method", delta added.
    path.write_text("techniques:\n  - id: beta\n    label: Beta\n    aliases: [beta method, gamma method]\n"
                    "  - id: delta\n    label: Delta\n", encoding="utf-8")
    removed = runner.invoke(main, ["init"])
    assert removed.exit_code == 0, removed.output
    stays = (f"note: 1 node is in the store but not in {path} (alpha): it stays in the store (`paperkg init "
             "--prune` removes it); ")
    listed = ("1 stored paper has its list tags (`source: list`), which stay until `paperkg ingest list` "
              "writes that paper's rows again\n")
    assert removed.stderr == ("note: the 2 stored papers were extracted with another taxonomy or extractor: "
                              "run `paperkg ingest reextract`\n"
                              + stays + "1 stored paper has its extracted tags, which `paperkg ingest "
                              "reextract` removes; " + listed)
    caplog.clear()
    reextract = runner.invoke(main, ["ingest", "reextract"])
    assert reextract.exit_code == 0, reextract.output
    assert ("tags added:\n    beta: 1 paper\n      p-1\n  tags removed:\n    alpha: 1 paper\n      p-1"
            in reextract.stdout)
    assert not [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    # The extracted tag is gone: no more reextract note (the list tag stays, and says so).
    assert runner.invoke(main, ["init"]).stderr == stays + listed
    path.write_text("techniques:\n  - id: gamma\n    label: Gamma\n", encoding="utf-8")
    many = runner.invoke(main, ["init"])
    # The first paper is tagged beta now (not alpha, not delta).
    assert many.stderr == ("note: the 2 stored papers were extracted with another taxonomy or extractor: "
                           "run `paperkg ingest reextract`\n"
                           f"note: 3 nodes are in the store but not in {path} (alpha, beta, delta): they "
                           "stay in the store (`paperkg init --prune` removes them); 1 stored paper has "
                           "their extracted tags, which `paperkg ingest reextract` removes; 1 stored paper "
                           "has their list tags (`source: list`), which stay until `paperkg ingest list` "
                           "writes that paper's rows again\n")
    assert _named([f"n{i}" for i in range(12)]) == "n0, n1, n2, n3, n4, n5, n6, n7, n8, n9 and 2 more"


def test_an_ingest_of_a_file_with_a_node_the_store_lacks_says_run_init(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: "1 of its ids are not in the store", and "the store was initialised with another taxonomy"
    when the file was only edited and `paperkg init` not run yet."""
    path = _tiny_store(tmp_path, monkeypatch)
    path.write_text(_TINY + "  - id: delta\n    label: Delta\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["ingest", "records", str(tmp_path / "one.jsonl")])
    assert refused.exit_code == 1
    assert refused.stderr == (f"Error: PAPERKG_TAXONOMY ({path}) has 1 id the store lacks (delta): run "
                              "`paperkg init` to load the edited file into the store (or point "
                              "PAPERKG_TAXONOMY at the file the store was initialised with)\n")
