"""Configuration from PAPERKG_* environment variables: one table of settings, one loader."""

from __future__ import annotations

import difflib
import ipaddress
import logging
import math
import os
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from kg.taxonomy import Taxonomy

DEFAULT_LIST_URL = (
    "https://raw.githubusercontent.com/Dakingrai/"
    "awesome-mechanistic-interpretability-lm-papers/main/README.md"
)
DEFAULT_ARXIV_URL = "https://export.arxiv.org/api/query"
PACKAGED_TAXONOMY = Path(__file__).parent / "taxonomies" / "mi.yaml"
# The exit status of a command refused for a bad PAPERKG_* setting or a missing local resource it names
# (sysexits.h EX_CONFIG): apart from 1 (a failure), so a monitor tells "fix the configuration" from "retry".
EXIT_CONFIG = 78


class ConfigError(ValueError):
    """A PAPERKG_* setting is invalid; the message names the variable and its value."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default and meaning."""

    name: str
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("PAPERKG_DATA_DIR", "paperkg-data", "directory of the embedded store and caches"),
    Setting("PAPERKG_STORE", "embedded",
            "'embedded', or a Neo4j URI (bolt://, neo4j://, or their TLS forms bolt+s://, neo4j+ssc:// …)"),
    Setting("PAPERKG_NEO4J_URI", "", "Neo4j URI (a scheme as for PAPERKG_STORE); when set, the Neo4j backend "
            "is used"),
    Setting("PAPERKG_NEO4J_USER", "neo4j", "Neo4j user"),
    Setting("PAPERKG_NEO4J_PASSWORD", "", "Neo4j password", secret=True),
    Setting("PAPERKG_NEO4J_DATABASE", "neo4j", "Neo4j database name"),
    Setting("PAPERKG_EMBEDDING_MODEL", "",
            "local sentence-transformers model directory (empty: the packaged all-MiniLM-L6-v2)"),
    Setting("PAPERKG_TAXONOMY", str(PACKAGED_TAXONOMY),
            "taxonomy YAML: loaded by `paperkg init`, read by every ingest"),
    Setting("PAPERKG_ARXIV_URL", DEFAULT_ARXIV_URL, "arXiv API query endpoint"),
    Setting("PAPERKG_ARXIV_DELAY", "3.0", "seconds between arXiv requests (arXiv asks for >= 3)"),
    Setting("PAPERKG_ARXIV_TIMEOUT", "30", "seconds before an arXiv request times out (> 0)"),
    Setting("PAPERKG_ARXIV_RETRIES", "4", "retries of a failed arXiv request"),
    Setting("PAPERKG_ARXIV_CATEGORIES", "cs.CL,cs.LG,cs.AI",
            "categories of the weekly query: comma-separated arXiv ids (cs.LG, math.ST, hep-th)"),
    Setting("PAPERKG_LIST_SOURCE", DEFAULT_LIST_URL, "the awesome-list: a file path or URL"),
    Setting("PAPERKG_SHARED_DATA", "../shared/data",
            "folder with seed_papers.jsonl and awesome-list-seed.md (offline demo, tests)"),
    Setting("PAPERKG_OFFLINE", "1", "1: the demo uses the shared seed data; 0: the live list and arXiv"),
    Setting("PAPERKG_SCHEDULE", "0 6 * * 1", "cron expression of the weekly ingest (UTC)"),
    Setting("PAPERKG_SCHEDULE_MAX_RUNS", "", "stop `paperkg schedule` after N >= 1 runs (empty: never)"),
    Setting("PAPERKG_LOG_LEVEL", "INFO", "log level"),
    Setting("PAPERKG_CORS_ORIGINS", "",
            "origins (scheme://host[:port], comma-separated) whose pages may read /api/ and /feeds/ "
            "with fetch(); * any site (public instances only); empty: none"),
    Setting("PAPERKG_FRAME_ANCESTORS", "",
            "origins (scheme://host[:port], comma-separated) whose pages may show the web pages in a "
            "frame; empty: none"),
)
_BY_NAME = {s.name: s for s in SETTINGS}
# PAPERKG_* names that are no setting of paperkg's own but are used beside it (docker-compose's .env
# reads them): not warned about as unknown.
OTHER_NAMES = frozenset({"PAPERKG_PORT", "PAPERKG_BIND"})


@dataclass(frozen=True)
class Config:
    """The effective configuration."""

    data_dir: Path
    neo4j_uri: str
    neo4j_user: str
    neo4j_password: str
    neo4j_database: str
    embedding_model: str
    taxonomy: Path
    arxiv_url: str
    arxiv_delay: float
    arxiv_timeout: float
    arxiv_retries: int
    arxiv_categories: tuple[str, ...]
    list_source: str
    shared_data: Path
    offline: bool
    schedule: str
    log_level: str
    schedule_max_runs: int | None = None
    cors_origins: tuple[str, ...] = ()
    frame_ancestors: tuple[str, ...] = ()

    @property
    def embedded_store_file(self) -> Path:
        """The embedded store's SQLite file under the data directory."""
        return self.data_dir / "paperkg.sqlite3"

    @property
    def backend(self) -> str:
        """'neo4j' or 'embedded'."""
        return "neo4j" if self.neo4j_uri else "embedded"


def _raw(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    return _BY_NAME[name].default if value is None or value == "" else value


# How an error names the kind of number a setting takes ("a int" read badly).
_KIND_WORDS: dict[type, str] = {int: "an integer", float: "a number"}


def _number(env: Mapping[str, str], name: str, kind: type[float] | type[int]) -> float | int:
    """A non-negative, finite number setting; the error names the variable and its value."""
    text = _raw(env, name)
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be {_KIND_WORDS[kind]}, not {text!r}") from None
    if not math.isfinite(value):  # "nan" passes every comparison below; "inf" would wait forever
        raise ValueError(f"{name} must be a finite number, not {text!r}")
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, not {text!r}")
    return value


def _positive(env: Mapping[str, str], name: str) -> float:
    """A number setting that must be above 0 (a timeout of 0 makes every request fail at once)."""
    value = float(_number(env, name, float))
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, not {_raw(env, name)!r}")
    return value


# An arXiv category id: archive ("cs", "hep-th", "cond-mat") and an optional subject class
# ("LG", "ST", "stat-mech"). Checked because the value goes into the query as `cat:ID`: a typo or
# a ";" separator would otherwise come back as "arXiv returned no candidates".
_CATEGORY = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]+(?:-[A-Za-z]+)?)?")


def _categories(env: Mapping[str, str]) -> tuple[str, ...]:
    """PAPERKG_ARXIV_CATEGORIES: a comma-separated list of arXiv category ids, at least one."""
    name = "PAPERKG_ARXIV_CATEGORIES"
    text = _raw(env, name)
    items = tuple(c.strip() for c in text.split(",") if c.strip())
    if not items:
        # Blank or only commas: refusing beats silently querying every category of arXiv.
        raise ValueError(f"{name} lists no category: {text!r} (unset it for the default cs.CL,cs.LG,cs.AI)")
    bad = [c for c in items if not _CATEGORY.fullmatch(c)]
    if bad:
        raise ValueError(f"{name} must be comma-separated arXiv category ids such as cs.LG, math.ST or "
                         f"hep-th; {bad[0]!r} is not one (in {text!r})")
    return items


def _max_runs(env: Mapping[str, str]) -> int | None:
    """PAPERKG_SCHEDULE_MAX_RUNS: empty for no limit, else a whole number >= 1."""
    name = "PAPERKG_SCHEDULE_MAX_RUNS"
    text = _raw(env, name).strip()
    if not text:
        return None
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"{name} must be a whole number of runs, not {text!r}")
    value = int(text)
    if value < 1:
        # 0 or less would give a scheduler that never runs the ingest and never stops.
        raise ValueError(f"{name} must be at least 1 (empty: no limit), not {text!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A boolean setting: 1/true/yes/on or 0/false/no/off."""
    text = _raw(env, name).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0 (true/false), not {text!r}")


# How an error names the control characters a file edited elsewhere leaves in a value.
_CONTROL_NAMES = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\t": "a tab"}


def _path(env: Mapping[str, str], name: str) -> Path:
    """A path setting (PAPERKG_DATA_DIR, PAPERKG_TAXONOMY, PAPERKG_SHARED_DATA), ~ expanded; refused when
    it holds a control character or starts or ends with whitespace. An env file saved with Windows line
    endings and sourced in bash leaves a CR at the end of each value: the store was then silently created
    in a new directory named "data\\r", and a taxonomy or shared-data path was "not found"."""
    text = _raw(env, name)
    control = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        what = _CONTROL_NAMES.get(control, f"the control character U+{ord(control):04X}")
        hint = (" (a file saved with Windows line endings leaves one: save it with Unix (LF) line endings)"
                if control == "\r" else "")
        raise ValueError(f"{name} holds {what} at position {text.index(control) + 1}{hint}, not {text!r}")
    if text != text.strip():
        # As PAPERKG_STORE refuses "embedded ": a space there is a slip, never a directory's name.
        raise ValueError(f"{name} starts or ends with a space, not {text!r} (remove it)")
    return Path(text).expanduser()


def _log_level(env: Mapping[str, str]) -> str:
    text = _raw(env, "PAPERKG_LOG_LEVEL").strip().upper()
    if text not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"PAPERKG_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {text!r}")
    return text


# The URI schemes the neo4j driver takes (+s: TLS with a verified certificate, +ssc: any certificate).
NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
_URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def _neo4j_uri(env: Mapping[str, str]) -> str:
    """The Neo4j URI (PAPERKG_NEO4J_URI, else PAPERKG_STORE unless 'embedded'), '' for the embedded store.

    Each set URI must use a scheme of the driver's: checked here because the driver reports another one
    (http://, or "localhost:7687" with no scheme) as "cannot reach Neo4j", a setting's typo passing for a
    database down (http:// even with a warning about an experimental transport)."""
    store = _raw(env, "PAPERKG_STORE")
    store_uri = "" if store == "embedded" else store
    explicit = _raw(env, "PAPERKG_NEO4J_URI")
    for name, value in (("PAPERKG_STORE", store_uri), ("PAPERKG_NEO4J_URI", explicit)):
        match = _URI_SCHEME.match(value)
        if value and (match is None or match.group(1).lower() not in NEO4J_SCHEMES):
            either = "'embedded' or " if name == "PAPERKG_STORE" else ""
            schemes = ", ".join(f"{s}://" for s in NEO4J_SCHEMES)
            raise ValueError(f"{name} must be {either}a Neo4j URI ({schemes}) such as "
                             f"bolt://localhost:7687, not {without_password(value)!r}")
    return explicit or store_uri


def _arxiv_url(env: Mapping[str, str]) -> str:
    """PAPERKG_ARXIV_URL: an http(s) URL with a host and no query or fragment (the query is appended).

    Checked here because requests reports "htp:/bad" or "export.arxiv.org/api/query" only when the weekly
    run asks arXiv, as "No connection adapters were found", naming no variable."""
    name = "PAPERKG_ARXIV_URL"
    text = _raw(env, name)
    why = ""
    try:
        parts = urlsplit(text)
        if parts.port is not None and parts.port == 0:
            why = " (port 0)"
    except ValueError as exc:  # a port that is no number or out of range, a bad IPv6 address
        why = f" ({exc})"
    else:
        if any(c.isspace() for c in text):
            why = " (it holds a space)"
        elif parts.query or parts.fragment or "?" in text or "#" in text:
            why = " (a query or fragment: paperkg adds the query itself)"
        elif parts.scheme.lower() in ("http", "https") and parts.hostname and not why:
            return text
    raise ValueError(f"{name} must be an http:// or https:// URL with a host and no query, such as "
                     f"{DEFAULT_ARXIV_URL}, not {without_password(text)!r}{why}")


# A web origin as browsers send it in an Origin header: http(s), a host name (ASCII: an IDN in its
# xn-- form), an IPv4 or a bracketed IPv6 address, an optional port, and nothing else. Checked strictly
# because an allowed origin is sent back in a response header. re.ASCII: with IGNORECASE alone, [a-z]
# also matched 'ſ' (U+017F), the Kelvin sign and 'İ', which then broke every page's latin-1 header.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(rf"(https?)://({_LABEL}(?:\.{_LABEL})*|\[[0-9a-f:.]+\])(?::([0-9]{{1,5}}))?",
                     re.IGNORECASE | re.ASCII)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(text: str) -> str | None:
    """`text` as the origin a browser sends (scheme and host lower case, a default port dropped, an IPv6
    address compressed), or None when it is not scheme://host[:port]."""
    match = _ORIGIN.fullmatch(text) if text.isascii() else None
    if match is None:
        return None
    scheme, host, port = match.group(1).lower(), match.group(2).lower(), match.group(3)
    if host.startswith("["):
        try:
            host = f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if port is None or int(port) == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    if not 1 <= int(port) <= 65535:
        return None
    return f"{scheme}://{host}:{int(port)}"


def _origins(env: Mapping[str, str], name: str, *, any_origin: bool = False,
             ipv6: bool = True) -> tuple[str, ...]:
    """A comma-separated list of web origins (https://lab.example.org, http://127.0.0.1:8080), each as a
    browser sends it; `any_origin`: "*" alone is allowed too; not `ipv6`: no [IPv6] host (a CSP source
    list cannot name one). Empty: none."""
    text = _raw(env, name)
    if not text:
        return ()
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ValueError(f"{name} lists no origin: {text!r} (unset it for none)")
    if any_origin and "*" in items:
        if len(items) > 1:
            raise ValueError(f"{name}: '*' allows every origin, so it must be given alone, not in {text!r}")
        return ("*",)
    found = []
    for item in items:
        origin = _origin(item)
        if origin is not None and (ipv6 or "://[" not in origin):
            found.append(origin)
            continue
        if origin is not None:
            # CSP's host-source grammar has no IPv6 literal: browsers drop the source, framing refused.
            why = " (a Content-Security-Policy cannot name an IPv6 address: use a host name)"
        elif any(c.isspace() or not c.isprintable() for c in item):
            why = " (it holds a space or a control character)"
        elif not item.isascii():
            why = " (a host name is ASCII: give an international one in its xn-- form)"
        elif item == "*":
            why = " ('*' is not allowed here)"
        elif item.lower() == "null":
            # Sandboxed frames and file:// pages send "null": any site can make one.
            why = " ('null' is the origin of any sandboxed frame or local file)"
        elif re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*[/?#]", item):
            why = " (an origin has no path, query or fragment, not even a trailing /)"
        else:
            why = ""
        raise ValueError(f"{name} must be comma-separated origins, scheme://host[:port] with http or https "
                         f"such as https://lab.example.org; {item!r} is not one{why}")
    return tuple(dict.fromkeys(found))


def unknown_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """One line for each PAPERKG_* variable in the environment that is no setting (a misspelt name is
    otherwise silently ignored), with the setting it most likely meant; values are not shown (a
    misspelt password variable holds a password)."""
    env = os.environ if env is None else env
    lines = []
    for name in sorted(n for n in env if n.startswith("PAPERKG_")):
        if name in _BY_NAME or name in OTHER_NAMES:
            continue
        # Compared without the shared "PAPERKG_", which would make any name look close to every setting.
        close = difflib.get_close_matches(name[8:], [n[8:] for n in _BY_NAME], n=1, cutoff=0.7)
        hint = f" (did you mean PAPERKG_{close[0]}?)" if close else ""
        lines.append(f"{name} is not a paperkg setting and is ignored{hint}")
    return lines


def load_config(env: Mapping[str, str] | None = None, **overrides: object) -> Config:
    """Read the configuration from the environment (or `env`); keyword overrides win. A bad setting
    raises ConfigError."""
    env = os.environ if env is None else env
    try:
        values: dict[str, object] = dict(
            data_dir=_path(env, "PAPERKG_DATA_DIR"),
            neo4j_uri=_neo4j_uri(env),
            neo4j_user=_raw(env, "PAPERKG_NEO4J_USER"),
            neo4j_password=_raw(env, "PAPERKG_NEO4J_PASSWORD"),
            neo4j_database=_raw(env, "PAPERKG_NEO4J_DATABASE"),
            embedding_model=_raw(env, "PAPERKG_EMBEDDING_MODEL"),
            taxonomy=_path(env, "PAPERKG_TAXONOMY"),
            arxiv_url=_arxiv_url(env),
            arxiv_delay=float(_number(env, "PAPERKG_ARXIV_DELAY", float)),
            arxiv_timeout=_positive(env, "PAPERKG_ARXIV_TIMEOUT"),
            arxiv_retries=int(_number(env, "PAPERKG_ARXIV_RETRIES", int)),
            arxiv_categories=_categories(env),
            list_source=_raw(env, "PAPERKG_LIST_SOURCE"),
            shared_data=_path(env, "PAPERKG_SHARED_DATA"),
            offline=_flag(env, "PAPERKG_OFFLINE"),
            schedule=_raw(env, "PAPERKG_SCHEDULE"),
            log_level=_log_level(env),
            schedule_max_runs=_max_runs(env),
            cors_origins=_origins(env, "PAPERKG_CORS_ORIGINS", any_origin=True),
            frame_ancestors=_origins(env, "PAPERKG_FRAME_ANCESTORS", ipv6=False),
        )
    except ValueError as exc:
        raise ConfigError(f"invalid PAPERKG_* setting: {exc}") from exc
    values.update({name: _path_override(name, value) if name in PATH_FIELDS else value
                   for name, value in overrides.items()})
    return Config(**values)  # type: ignore[arg-type]


# The Config fields that are paths, with the variable each is read from.
PATH_FIELDS = {"data_dir": "PAPERKG_DATA_DIR", "taxonomy": "PAPERKG_TAXONOMY",
                "shared_data": "PAPERKG_SHARED_DATA"}


def load_configured_taxonomy(config: Config | None = None) -> Taxonomy:
    """The taxonomy PAPERKG_TAXONOMY names; a file that is missing or cannot be read is a ConfigError
    naming the setting (exit status 78 on every command that reads it), not a bare path."""
    from kg.taxonomy import TAXONOMY_HINT, file_problem, load_taxonomy

    path = (config or load_config()).taxonomy
    try:
        return load_taxonomy(path)
    except ValueError as exc:
        if not isinstance(exc.__cause__, OSError):
            raise  # a file that is there but holds no taxonomy: its own error names what is wrong
        raise ConfigError(f"PAPERKG_TAXONOMY names {path}, which {file_problem(exc.__cause__)} "
                          f"{TAXONOMY_HINT}") from exc


def _path_override(name: str, value: object) -> object:
    """A path keyword override of load_config read as its variable is (a str or os.PathLike, ~ expanded,
    checked by _path): load_config(data_dir="~/mi-kg") from Python gave a str that open_store failed on
    ("unsupported operand type(s) for /: 'str' and 'str'"). Anything else is left for Config to refuse."""
    if not isinstance(value, (str, os.PathLike)):
        return value
    variable = PATH_FIELDS[name]
    try:
        return _path({variable: os.fspath(value)}, variable)
    except (TypeError, ValueError) as exc:  # a bytes path (TypeError from str checks), a control character
        raise ConfigError(f"invalid load_config override {name}={value!r}: {exc}") from exc


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UTCFormatter(logging.Formatter):
    """Log times in UTC, marked so (2026-11-26T20:06:18.123Z), as every other time paperkg shows is: the
    local time with no offset (logging's default) did not say which zone it was in."""

    # time.gmtime is a builtin, so never bound as a method; mypy types it as one and drops its argument.
    converter = time.gmtime  # type: ignore[assignment]
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


def configure_logging(level: str) -> None:
    """Log to stderr at `level` (the CLI's -v or PAPERKG_LOG_LEVEL), unless the process has set logging up,
    times in UTC (UTCFormatter)."""
    handler = logging.StreamHandler()
    handler.setFormatter(UTCFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    request_log_level(level)


def request_log_level(level: str) -> None:
    """Let `level` govern the dev server's request log (client address and full URL) too."""
    # Werkzeug sets its logger to INFO when it has no level of its own, so PAPERKG_LOG_LEVEL=WARNING
    # left every request line of `paperkg serve` and `make demo` in the log (privacy QA).
    logging.getLogger("werkzeug").setLevel(level)


def describe(env: Mapping[str, str] | None = None) -> list[tuple[str, str, str, bool, str]]:
    """Rows (name, effective value, default, is-set, help) with secrets masked."""
    env = os.environ if env is None else env
    rows = []
    for s in SETTINGS:
        is_set = bool(env.get(s.name))
        value = _raw(env, s.name)
        if s.secret and value:
            value = "********"
        rows.append((s.name, without_password(value), s.default, is_set, s.help))
    return rows


def without_password(value: str) -> str:
    """A URI's password masked ("bolt://neo4j:********@host"): any setting may hold a URI with one.
    Up to the value's last "@", so an unescaped "@" or "/" in a password is masked too (a broken URI is
    when `paperkg config` is run to debug it); masking more than the password is the safe mistake."""
    masked = re.sub(r"(?<=://)([^/:\s]*):\S*@", r"\1:********@", value)
    # An http(s) URL's user name alone is usually a token (https://TOKEN@host/...); a bolt one's is not.
    masked = re.sub(r"\b(https?://)[^/:@\s]+@", r"\1********@", masked, flags=re.IGNORECASE)
    # So is a query parameter named for one (?token=, ?api_key=, &access_token=, ?sig=).
    return _SECRET_PARAMETER.sub(r"\1********", masked)


_SECRET_PARAMETER = re.compile(r"([?&;][\w.-]*(?:token|key|secret|password|passwd|sig|signature|auth)"
                               r"[\w.-]*=)[^&#\s'\"]+", re.IGNORECASE)
