"""The WSGI entry point for production servers: `gunicorn -w 2 -b 0.0.0.0:8000 api.wsgi:app`.

Each worker imports this module after the fork, so each opens its own store and loads its own
copy of the embedding model, in the background from the start.
"""

from api.app import create_app

app = create_app({"WARM_EMBEDDER": True})
