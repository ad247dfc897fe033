"""gunicorn settings for the API, the one place they are set: `gunicorn -c python:api.gunicorn_conf
-b 127.0.0.1:8000 api.wsgi:app` (the README's command; the Dockerfile, docker-compose.yml and the API
bench load this module too). Flags given on the command line override these values.

Read by gunicorn's master process before any worker starts: it imports nothing of the app.
"""


def _workers(default: int = 2) -> int:
    """The worker count: WEB_CONCURRENCY (gunicorn's and hosting platforms' variable) if set, else
    `default`; anything but a whole number from 1 to 4 a CPU (at least 8) stops gunicorn with one line."""
    import os  # here: every public name of this module must be a gunicorn setting

    given = os.environ.get("WEB_CONCURRENCY")
    if given is None:
        return default
    try:
        count = int(given.strip())
    except ValueError:
        count = 0
    if count < 1:
        # SystemExit: gunicorn prints the message alone and exits 1 (any other error, a traceback).
        raise SystemExit(f"Error: WEB_CONCURRENCY (the number of gunicorn workers) must be a whole number of "
                         f"1 or more, not {given!r}; leave it unset for {default}")
    # Each worker loads its own model (about 0.5 GB): QA's WEB_CONCURRENCY=1000 forked hundreds of them
    # on a 2-core host, load average 340, still respawning minutes after the stop. A typo (20 for 2) too.
    most = max(8, 4 * (os.cpu_count() or 1))
    if count > most:
        raise SystemExit(f"Error: WEB_CONCURRENCY={count} workers is more than {most} (4 a CPU): each loads "
                         "its own embedding model, about 0.5 GB; give gunicorn -w N on the command line to "
                         "run more anyway")
    return count


# Two processes, one per core of the machines this is sized for: each loads its own copy of the
# embedding model (about 0.5 GB a worker with a 100,000-paper store's vectors). A low-memory host runs
# one (WEB_CONCURRENCY=1): its threads still serve requests side by side.
workers = _workers()

# Threaded workers. A sync worker serves one connection at a time and reads it until the request is
# complete: two clients that connect and send nothing (or half a request line) held both workers until
# the worker timeout killed them, and the restart reloaded the model. A gthread worker's threads wait
# at most a few seconds for a new connection's first bytes before handing it back to the worker's
# poller, which closes it after `keepalive` seconds, and kept-alive connections wait in that poller
# without a thread. The app is thread-safe (it runs threaded under `paperkg serve` too): one SQLite
# connection per thread, a thread-safe Neo4j driver, and one model per process encoding one query at a
# time on one torch thread. A client that stops halfway through its headers still holds a thread until
# it finishes or disconnects (no timeout applies): 4 such clients stall a worker, and the requests that
# worker accepts wait behind them, so a public deployment sits behind a buffering reverse proxy.
worker_class = "gthread"
threads = 4

# gunicorn kills a worker that has not checked in for this long. A gthread worker's main thread keeps
# checking in while its requests wait (for the model: a minute on a busy machine), but a worker's start
# (its imports and the app's creation, slow on a busy machine) counts, and so did every request under
# sync workers, a first search waiting for the model included.
timeout = 120

# Seconds an idle kept-alive connection (or a new one that has sent nothing) is kept: it costs a
# poller slot, not a thread. gunicorn's default; behind a proxy that reuses its upstream connections,
# set it above the proxy's idle timeout for them.
keepalive = 2

# No control socket (a setting of gunicorn 25.1+: pyproject.toml asks for 27): nothing uses `gunicornc`,
# and its default path ($XDG_RUNTIME_DIR or $HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn
# the same user runs, so one stopping deleted the socket of another.
control_socket_disable = True

# The longest request line (method, path, percent-encoded query string, protocol) gunicorn reads; a
# longer one gets gunicorn's own HTML 414, which the app never sees. gunicorn's default, 4094, refused
# searches the API documents as valid: 460 CJK characters are 4,140 percent-encoded (9 a character).
# 8190 is the most gunicorn allows (0 would allow any length: a client could send an unbounded line);
# api/params.py caps `q` (MAX_QUERY_BYTES) so that the longest query it takes, with the other parameters,
# fits in it; a query over that cap gets the app's JSON 400 (unless its line is over this limit too).
limit_request_line = 8190
