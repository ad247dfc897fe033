"""What the HTTP endpoints anyone can open show of a server's own text (a store error on /readyz, an
ingest run's message on GET /api/status, GET /api/runs and the About page): the data directory and the
servers the settings name written as their variables ($PAPERKG_DATA_DIR, $PAPERKG_NEO4J_URI,
$PAPERKG_ARXIV_URL, $PAPERKG_LIST_SOURCE). Internal host names, ports and paths stay in the server log, the
store and a run's own output (cron mail), while the text still says what is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from kg.config import DEFAULT_ARXIV_URL, DEFAULT_LIST_URL, Config, without_password
from kg.entities import IngestRun


def public_text(text: str, config: Config) -> str:
    """`text` with the data directory, the Neo4j server, and an arXiv API or list URL other than its
    default (the public ones, export.arxiv.org and the awesome list on GitHub, are worth seeing and no
    secret) written as their variables."""
    text = without_data_dir(text, config.data_dir)
    if config.neo4j_uri:
        text = without_server(text, config.neo4j_uri, "$PAPERKG_NEO4J_URI")
    if config.arxiv_url != DEFAULT_ARXIV_URL:
        text = without_server(text, config.arxiv_url, "$PAPERKG_ARXIV_URL")
    source = config.list_source
    if source != DEFAULT_LIST_URL and source.lower().startswith(("http://", "https://")):
        text = without_server(text, source, "$PAPERKG_LIST_SOURCE")
    return text


def without_data_dir(text: str, data_dir: Path) -> str:
    """The text with the data directory written as $PAPERKG_DATA_DIR."""
    for path in sorted({str(data_dir.resolve()), str(data_dir)}, key=len, reverse=True):
        # Whole paths only: a relative PAPERKG_DATA_DIR such as "data" must not rewrite the word
        # "data" in the text. Messages follow a path with a separator, a quote, a colon or nothing,
        # an absolute path (no word) also with a space ("no paperkg store in /srv/x (PAPERKG_DATA_DIR)").
        end = r"[/'\":)\s]" if path.startswith("/") else r"[/'\":)]"
        text = re.sub(rf"(?<![\w./-]){re.escape(path)}(?={end}|$)", "$PAPERKG_DATA_DIR", text)
    # "in /srv/x (PAPERKG_DATA_DIR)" would name the variable twice.
    return text.replace("$PAPERKG_DATA_DIR (PAPERKG_DATA_DIR)", "$PAPERKG_DATA_DIR")


# The port a client connects to when a URL names none: its messages name the address with it.
NEO4J_DEFAULT_PORT = 7687
DEFAULT_PORTS = {"http": 80, "https": 443}
# The Neo4j driver's words for the addresses a host name resolved to, when no shorter reason is in its
# message (a connection that timed out): "(resolved to ('10.0.0.5:7687',))" and
# "ResolvedIPv4Address(('10.0.0.5', 7687))". Internal addresses as much as the name is.
_RESOLVED_TO = re.compile(r" ?\(resolved to \([^()]*\)\)")
_RESOLVED_ADDRESS = re.compile(r"Resolved\w*Address\(\([^()]*\)\)")
_USERINFO = re.compile(r"(?<=://)[^/?#@]*@")  # as ingest.arxiv_source.endpoint drops it


def without_server(text: str, url: str, variable: str) -> str:
    """The text with a configured server's URL, and its host as clients' messages name it, written as
    `variable`: the URL (as given, with its password masked or its user:password dropped), host:port
    (the Neo4j driver's "Failed to DNS resolve address db.internal:7687"), requests' and urllib3's
    "host='proxy.internal', port=8080", and the bare host when it cannot be a word of the text (a dotted
    name, an IP address)."""
    from kg.neo4j_store import _public_uri  # the form StoreUnavailable names a Neo4j server by

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    default_port = DEFAULT_PORTS.get(scheme, NEO4J_DEFAULT_PORT)
    forms = {url, _public_uri(url), without_password(url), _USERINFO.sub("", url)}
    netloc = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    host = re.fullmatch(r"(\[[^\]]*\]|[^:\[\]]+)(?::(\d+))?", netloc)
    if host is not None:
        name, port_text = host.groups()
        port = port_text or default_port
        bare = name.strip("[]")  # requests names an IPv6 host without its brackets
        forms |= {f"{name}:{port}", f"host='{name}', port={port}", f"host='{bare}', port={port}"}
        # The bare name only when it cannot be a word of the text ("neo4j", docker-compose's, or
        # "localhost"): a dotted name, an IPv4 or an IPv6 address.
        if "." in name or name.startswith("["):
            forms |= {name, bare}
    for form in sorted(forms, key=len, reverse=True):  # the longest first: the URL before its host
        pattern = rf"(?<![\w.-]){re.escape(form)}(?![\w-]|\.\w)"
        text = re.sub(pattern, lambda _match: variable, text, flags=re.IGNORECASE)
    text = _RESOLVED_TO.sub("", text)
    return _RESOLVED_ADDRESS.sub(variable, text)


def public_runs(runs: Iterable[IngestRun], config: Config) -> list[IngestRun]:
    """Ingest runs as the endpoints show them: copies whose message is public_text's (the stored runs
    keep it whole)."""
    return [replace(run, message=public_text(run.message, config)) if run.message else run for run in runs]
