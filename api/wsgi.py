"""The WSGI entry point for production servers:
`gunicorn -c python:api.gunicorn_conf -b 127.0.0.1:8000 api.wsgi:app`.

The settings (api/gunicorn_conf.py) run 2 workers of 4 threads each ("gthread": a client that connects
and sends nothing holds one thread for up to 5 s, not a whole worker until the timeout) with a 120 s
worker timeout. Each worker imports this module after
the fork, so each opens its own store and loads its own copy of the embedding model, in the background
from the start (a busy machine can take a minute; a worker's first search waits for it). A data
directory that holds no store is never given one: every request answers 503 until one is created there.
"""

from api.app import create_app
from kg.config import configure_logging, load_config

# gunicorn sets up only its own loggers: without this, PAPERKG_LOG_LEVEL had no effect on the API.
config = load_config()
configure_logging(config.log_level)
app = create_app({"WARM_EMBEDDER": True, "PAPERKG_CONFIG": config})
