"""The shipped gunicorn settings (api/gunicorn_conf.py), run by a real gunicorn on real sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import gunicorn_conf

REPO = Path(__file__).resolve().parents[2]
# The recommended production settings, as the README, the Dockerfile and docker-compose.yml load them.
CONFIG = ["-c", "python:api.gunicorn_conf"]


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Gunicorn:
    """A gunicorn started by running_gunicorn(): its port, and its log (stderr) as it is written."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.lines: list[str] = []
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:  # end of the log: gunicorn and its workers have exited
            self._ended = True
            self._changed.notify_all()

    @property
    def log(self) -> str:
        """Everything gunicorn has logged so far."""
        with self._changed:
            return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> bool:
        """Whether a log line containing `text` arrives within `timeout` seconds; False at once when
        gunicorn exits first (waiting on would only delay the failure)."""
        with self._changed:
            self._changed.wait_for(lambda: self._ended or any(text in line for line in self.lines), timeout)
            return any(text in line for line in self.lines)

    def url(self, path: str) -> str:
        """The URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), SIGKILL if it is still there after 30 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._reader.join(timeout=10)


def small_store(data: Path) -> None:
    """An initialised embedded store with three papers in `data`."""
    from tests.api.conftest import plumbing_bundles
    from tests.embedders import HashEmbedder
    from tests.seed_store import taxonomy_store

    store = taxonomy_store(data / "paperkg.sqlite3")
    store.upsert_papers(plumbing_bundles(HashEmbedder()))
    store.close()


@contextlib.contextmanager
def running_gunicorn(args: list[str], tmp_path: Path, log_level: str = "INFO") -> Iterator[Gunicorn]:
    """gunicorn ARGS -b 127.0.0.1:PORT api.wsgi:app on the store in tmp_path/data, stopped on exit.

    HOME is tmp_path/home and XDG_RUNTIME_DIR unset: a control socket gunicorn makes (25.1+, unless
    disabled) goes there, not to the user's $HOME/.gunicorn/gunicorn.ctl, which gunicorn deletes on
    exit, breaking any other gunicorn the same user runs."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PAPERKG_") and k not in ("XDG_RUNTIME_DIR", "GUNICORN_CMD_ARGS")}
    env.update(HOME=str(home), PAPERKG_DATA_DIR=str(data), PAPERKG_STORE="embedded",
               PAPERKG_LOG_LEVEL=log_level, HF_HUB_OFFLINE="1")
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), *args, "-b", f"127.0.0.1:{port}", "api.wsgi:app"],
                            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    server = Gunicorn(proc, port)
    try:
        yield server
    finally:
        server.stop()


def get_status(url: str, timeout: float) -> int:
    """The status of GET url (raises on no answer within `timeout` seconds)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return int(response.status)


def wait_until_healthy(server: Gunicorn) -> None:
    """Wait until `server` listens and a worker answers /healthz (its app imported); fail with its log."""
    assert server.wait_for("Listening at:", timeout=60), server.log
    try:
        assert get_status(server.url("/healthz"), timeout=180) == 200
    except OSError as exc:
        pytest.fail(f"gunicorn did not answer ({exc}):\n{server.log}")


def test_idle_and_half_sent_connections_do_not_block_the_recommended_server(tmp_path: Path) -> None:
    """Sockets that connect and send nothing, and one that stops halfway through its headers, held
    both sync workers (`gunicorn -w 2 --timeout 120`) until WORKER TIMEOUT killed them (~2 min, then
    the model reloaded). With the shipped settings /healthz still answers. A liveness check: the
    client's 60 s bound is only there so a blocked server fails the test instead of hanging it."""
    small_store(tmp_path / "data")
    with running_gunicorn(CONFIG, tmp_path) as server:
        # Up first (listening, a worker's app imported), so that what follows measures blocking,
        # not a slow start.
        wait_until_healthy(server)
        # More silent connections than the server has threads, and one stopped mid-header.
        silent = gunicorn_conf.workers * gunicorn_conf.threads + 2
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(silent)]
        half = socket.create_connection(("127.0.0.1", server.port))
        half.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        try:
            try:
                status = get_status(server.url("/healthz"), timeout=60)
            except OSError as exc:  # socket.timeout included
                pytest.fail(f"/healthz got no answer with idle connections open ({exc}):\n{server.log}")
            assert status == 200
        finally:
            for sock in [*idle, half]:
                sock.close()
        assert "WORKER TIMEOUT" not in server.log
        # The settings were those of the config module (and it made no control socket).
        assert "Using worker: gthread" in server.log
        assert not (tmp_path / "home" / ".gunicorn").exists()


def test_a_gunicorn_that_exits_ends_the_wait_and_shows_its_log(tmp_path: Path) -> None:
    """A worker that cannot load the app (here: an invalid PAPERKG_LOG_LEVEL) makes gunicorn exit; a
    test waiting for a log line stops then, with the reason in the log, instead of waiting out its bound
    (the bound here is far longer than any test may take)."""
    with running_gunicorn(CONFIG, tmp_path, log_level="NOPE") as server:
        assert not server.wait_for("embedding model loaded", timeout=3600)
        assert server.proc.wait(timeout=60) != 0
        assert "PAPERKG_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not 'NOPE'" in server.log


def effective_settings(command: list[str], tmp_path: Path) -> dict[str, str]:
    """The settings gunicorn runs `command` with (its --print-config), by name."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "GUNICORN_CMD_ARGS")}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.run([str(gunicorn), *command[1:-1], "--print-config", command[-1]], cwd=REPO,
                          env={**env, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    pairs = (line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def test_the_shipped_commands_run_with_these_settings(tmp_path: Path) -> None:
    """The README's command (`paperkg serve` prints it) and the image's run threaded workers with the
    120 s worker timeout and no control socket (the old commands gave sync workers)."""
    import json
    import shlex

    from api.cli import GUNICORN_COMMAND

    cmd = [line for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    assert len(cmd) == 1
    for command in (shlex.split(GUNICORN_COMMAND), json.loads(cmd[0][len("CMD "):])):
        assert command[0] == "gunicorn" and command[-1] == "api.wsgi:app", command
        settings = effective_settings(command, tmp_path)
        assert settings["worker_class"] == "gthread", command
        assert int(settings["threads"]) > 1 and int(settings["workers"]) == 2, command
        # A worker's start (imports, app, the model loading beside it) takes a minute on a busy machine.
        assert int(settings["timeout"]) >= 120, command
        assert settings["control_socket_disable"] == "True", command


def test_every_setting_is_one_gunicorn_knows() -> None:
    """gunicorn silently ignores a name in a config module that is not one of its settings: a
    misspelt `worker_class` would have served with sync workers again."""
    from gunicorn.config import Config

    names = {k for k in vars(gunicorn_conf) if not k.startswith("_")}
    assert "worker_class" in names and names <= set(Config().settings), names - set(Config().settings)


def test_every_search_the_api_takes_fits_gunicorns_request_line(tmp_path: Path) -> None:
    """QA: a query within the documented 1,000 characters got gunicorn's HTML 414 (460 CJK characters
    are 4,140 percent-encoded; gunicorn's default limit_request_line is 4094). Under the shipped settings
    the longest query the app takes (MAX_QUERY_BYTES, every byte percent-encoded) with every other
    single-valued parameter gets the app's JSON 200, one character more the app's JSON 400, never a 414."""
    from urllib.parse import quote

    from api.params import MAX_LIMIT, MAX_OFFSET, MAX_QUERY_BYTES, SOURCES
    from kg.search import MODES, SENTENCE_MODES
    from kg.validation import YEAR_MAX, YEAR_MIN
    from tests.api.test_hostile_outputs import raw_request

    longest = "\u4e00" * (MAX_QUERY_BYTES // 3) + "!" * (MAX_QUERY_BYTES % 3)  # 666 CJK: 2,000 bytes
    assert len(longest.encode("utf-8")) == MAX_QUERY_BYTES

    def line(query: str, mode: str, explain: str) -> bytes:
        rest = (f"mode={mode}&explain={explain}&limit={MAX_LIMIT}&offset={MAX_OFFSET}&year_from={YEAR_MIN}"
                f"&year_to={YEAR_MAX}&refinements=false&source={max(SOURCES, key=len)}")
        return f"GET /api/search?q={quote(query, safe='')}&{rest} HTTP/1.1".encode("ascii")

    # The longest line of all (the longest mode and explain names) fits; the default limit did not.
    widest = line(longest, max(MODES, key=len), max(SENTENCE_MODES, key=len))
    assert 4094 < len(widest) <= gunicorn_conf.limit_request_line == 8190, len(widest)
    small_store(tmp_path / "data")
    with running_gunicorn(CONFIG, tmp_path) as server:
        wait_until_healthy(server)
        # A keyword search, which needs no model (the store's vectors are the test's HashEmbedder's).
        taken = raw_request(server.port, line(longest, "keyword", "overlap"))
        assert taken.status == 200, (taken.status, taken.body[:300])
        assert taken.json()["query"] == longest
        refused = raw_request(server.port, line(longest + "!", "keyword", "overlap"))
        assert refused.status == 400, (refused.status, refused.body[:300])
        assert refused.json()["error"] == {"code": "bad_parameter", "message": (
            f"parameter 'q': at most {MAX_QUERY_BYTES} bytes as UTF-8 allowed (got {MAX_QUERY_BYTES + 1}; "
            "a character outside ASCII takes 2 to 4, a CJK character 3): shorten it"), "parameter": "q"}
        # An escape that is not UTF-8 reaches the app under gunicorn too, and gets its JSON 400 ...
        escaped = raw_request(server.port, b"GET /api/search?q=na%EFve&mode=keyword HTTP/1.1")
        assert escaped.status == 400 and "percent-decodes to bytes that are not UTF-8 (at %EF)" in (
            escaped.json()["error"]["message"]), escaped
        # ... while a raw byte outside ASCII is refused by gunicorn itself (its own page, not the app's).
        raw = raw_request(server.port, b"GET /api/search?q=na\xc3\xafve&mode=keyword HTTP/1.1")
        assert raw.status == 400 and not raw.headers.get("content-type", "").startswith("application/json")
        # A doubled slash with a forged Host: the app's JSON 404, no redirect to that host.
        doubled = raw_request(server.port, b"GET /api//stats HTTP/1.1", host=b"evil.example")
        assert doubled.status == 404 and "location" not in doubled.headers, doubled.headers
        assert doubled.json()["error"]["code"] == "not_found"
