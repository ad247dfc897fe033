"""Who publishes a paper, as far as its URL's host tells: the BibTeX export's `howpublished` and
authorless key, and the organisation keyword search indexes beside the venue."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

from kg.safe_output import safe_http_url

# Hosts all of whose pages one publication series publishes: (its name, for `howpublished`; the
# organisation behind it, only when that is certain from the host, else None). transformer-circuits.pub
# is Anthropic's interpretability thread; Distill's authors come from many organisations.
PUBLISHING_HOSTS: dict[str, tuple[str, str | None]] = {
    "transformer-circuits.pub": ("Transformer Circuits Thread", "Anthropic"),
    "distill.pub": ("Distill", None),
}


def publisher(url: str | None) -> tuple[str, str | None] | None:
    """(publication series, organisation or None) the URL's host names, else None."""
    safe = safe_http_url(url)
    if not safe:
        return None
    host = (urlsplit(safe).hostname or "").casefold().removeprefix("www.")
    return PUBLISHING_HOSTS.get(host)


def host_organisation(url: str | None) -> str | None:
    """The organisation the URL's host names when that is certain ("Anthropic"), else None."""
    found = publisher(url)
    return found[1] if found else None


def hosts_rule() -> str:
    """A fingerprint of PUBLISHING_HOSTS: text indexed from it is redone when it changes."""
    return hashlib.sha256(json.dumps(sorted(PUBLISHING_HOSTS.items())).encode()).hexdigest()[:16]
