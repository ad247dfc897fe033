"""The WSGI entry point for production servers: `gunicorn -w 2 --timeout 120 -b 0.0.0.0:8000 api.wsgi:app`.

Each worker imports this module after the fork, so each opens its own store and loads its own
copy of the embedding model, in the background from the start (the --timeout: a busy machine can take
a minute to load it, past gunicorn's default 30 s, and a worker's first search waits for it). A data
directory that holds no store is never given one: every request answers 503 until one is created there.
"""

from api.app import create_app
from kg.config import configure_logging, load_config

# gunicorn sets up only its own loggers: without this, PAPERKG_LOG_LEVEL had no effect on the API.
config = load_config()
configure_logging(config.log_level)
app = create_app({"WARM_EMBEDDER": True, "PAPERKG_CONFIG": config})
