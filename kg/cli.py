"""The `paperkg` console script: one click group; each package adds its own sub-commands."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kg.cli_values import SECONDS, shown_arg
from kg.config import EXIT_CONFIG, configure_logging, describe, load_config, unknown_settings
from kg.paths import UserPath
from kg.schema import Label, Rel
from kg.store import GraphStore, StoreError, open_store, require_store

if TYPE_CHECKING:
    from ingest.reextract import ExtractionCheck
    from kg.entities import TaxonomyNode
    from kg.taxonomy import Taxonomy

log = logging.getLogger(__name__)

def open_configured_store(must_exist: bool = False, *, read_only: bool | None = None) -> GraphStore:
    """Open the configured store, turning connection failures into a one-line CLI error.

    `must_exist` (commands that only read, and writing ones that must not start a new store): an
    embedded store that was never created, or a file that holds none (0 bytes, another database), is
    an error naming it, not a new empty graph (a mistyped or unset PAPERKG_DATA_DIR, a failed restore).
    `read_only` (default: `must_exist`): the file is opened read-only, so nothing is written and opening
    does not wait for an ingest's write lock."""
    try:
        config = load_config()
        if must_exist:
            require_store(config)
        return open_store(config, read_only=must_exist if read_only is None else read_only)
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def configured_taxonomy() -> Taxonomy:
    """The taxonomy PAPERKG_TAXONOMY names, as a command reads it: a file missing or unreadable is a bad
    setting (exit status 78, naming PAPERKG_TAXONOMY), a file holding no taxonomy a one-line error (1)."""
    from kg.config import ConfigError, load_configured_taxonomy

    try:
        return load_configured_taxonomy()
    except ConfigError as exc:
        raise ConfigClickError(str(exc)) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def open_ready_store(*, must_exist: bool = False, read_only: bool = False) -> GraphStore:
    """The configured store with its schema and taxonomy in place (both idempotent).

    Ingest classifies with PAPERKG_TAXONOMY, so a store initialised with another file is refused
    here with what to do, rather than every paper being rejected for an unknown node id
    (check_store_taxonomy). `must_exist`: a store that was never created is an error, not a new one
    (open_configured_store). `read_only`: the store must exist and is opened read-only; its schema and
    taxonomy are only checked, never written (a dry run)."""
    store = open_configured_store(must_exist=must_exist or read_only, read_only=read_only)
    try:
        taxonomy = configured_taxonomy()
    except click.ClickException:
        store.close()
        raise
    try:
        if not read_only:
            store.init_schema()
            if not store.taxonomy_nodes():
                store.load_taxonomy(taxonomy.nodes)
        check_store_taxonomy(store, taxonomy)
    except (StoreError, ValueError) as exc:
        store.close()
        raise click.ClickException(str(exc)) from exc
    return store


def _matching(node: TaxonomyNode) -> tuple[object, ...]:
    """What of a taxonomy node shapes extraction (ingest.extract.extractor_signature): its label,
    aliases, ambiguous aliases and parent; not its name or kind."""
    return node.label, list(node.aliases), list(node.ambiguous_aliases), node.parent


def taxonomy_differences(stored: Sequence[TaxonomyNode], given: Sequence[TaxonomyNode]
                         ) -> tuple[list[str], list[str], list[str]]:
    """How the `given` nodes differ from the `stored` ones, as sorted ids: (given only, stored only,
    in both with other aliases, ambiguous aliases, parent or label)."""
    held = {n.id: n for n in stored}
    ids = {n.id: n for n in given}
    return (sorted(set(ids) - set(held)), sorted(set(held) - set(ids)),
            sorted(i for i in set(ids) & set(held) if _matching(ids[i]) != _matching(held[i])))


def check_store_taxonomy(store: GraphStore, taxonomy: Taxonomy) -> None:
    """Raise ValueError when the taxonomy (PAPERKG_TAXONOMY, which ingest classifies with) has ids the
    store lacks; log one WARNING when the store holds some of its ids with other aliases or parents (the
    store was loaded from another file): an ingest then tags the papers it writes by the file.

    Nodes only the store holds are no warning: `paperkg init` removes a node only with --prune, so a
    node removed from the file may stay in the store, where a warning on every later ingest would nag
    about a choice (init names those nodes instead)."""
    missing, _stored_only, other = taxonomy_differences(store.taxonomy_nodes(), taxonomy.nodes)
    if missing:
        # Most often the file was edited and `paperkg init` not run yet; else the store was loaded from
        # another file.
        raise ValueError(
            f"PAPERKG_TAXONOMY ({taxonomy.source}) has {len(missing)} "
            f"{'id' if len(missing) == 1 else 'ids'} the store lacks ({_named(missing)}): run `paperkg init` "
            "to load the edited file into the store (or point PAPERKG_TAXONOMY at the file the store was "
            "initialised with)"
        )
    if other:
        log.warning("PAPERKG_TAXONOMY (%s) is not the taxonomy the store holds: the store holds %s with "
                    "other aliases or parents than the file's (e.g. %s); the papers this process writes are "
                    "tagged by the file. Set PAPERKG_TAXONOMY to the file the store was initialised with, or "
                    "run `paperkg init` with this one (it updates aliases and parents)",
                    taxonomy.source, _nodes(len(other)), ", ".join(other[:3]))


def _check_extractions(store: GraphStore, taxonomy: Taxonomy, removed: Sequence[str]) -> ExtractionCheck:
    """ingest.reextract.check_extractions with an extractor of `taxonomy` (the file init loaded)."""
    from ingest.reextract import check_extractions

    return check_extractions(store, taxonomy=taxonomy, node_ids=removed)


def _removed_tags(check: ExtractionCheck, one: bool) -> str:
    """What happens to the stored papers' tags to the nodes only the store holds, for init's note."""
    its = "its" if one else "their"
    extracted = set[str]().union(*check.extracted_tags.values())
    listed = set[str]().union(*check.list_tags.values())
    if not extracted and not listed:
        return f"no stored paper is tagged with {'it' if one else 'them'}"
    parts = []
    if extracted:
        parts.append(f"{_papers(len(extracted))} {'has' if len(extracted) == 1 else 'have'} {its} extracted "
                     "tags, which `paperkg ingest reextract` removes")
    if listed:
        # Reextract keeps list edges, and an ingest no longer writes one to an id the file lacks: they go
        # when a list ingest replaces the paper's rows (a records file fills only a paper without rows).
        whose = "that paper's" if len(listed) == 1 else "those papers'"
        parts.append(f"{_papers(len(listed))} {'has' if len(listed) == 1 else 'have'} {its} list tags "
                     f"(`source: list`), which stay until `paperkg ingest list` writes {whose} rows again")
    return "; ".join(parts)


def _papers(n: int) -> str:
    """"1 stored paper", "2 stored papers"."""
    return f"{n} stored paper" if n == 1 else f"{n} stored papers"


# How many ids `paperkg init` names when nodes are in the store but not in the file.
_NAMED_IDS = 10


def _named(ids: Sequence[str]) -> str:
    """Ids for one line: the first _NAMED_IDS, then how many more (terminal controls removed)."""
    from kg.safe_output import terminal_safe

    text = ", ".join(terminal_safe(i) for i in ids[:_NAMED_IDS])
    return text + (f" and {len(ids) - _NAMED_IDS} more" if len(ids) > _NAMED_IDS else "")


def _nodes(n: int) -> str:
    """"1 node", "2 nodes"."""
    return f"{n} node" if n == 1 else f"{n} nodes"


DISTRIBUTION = "paperkg"


def package_version(distribution: str = DISTRIBUTION) -> str:
    """The installed distribution's version, or a line saying it is not installed and how to install it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        # Run from a checkout without an install (PYTHONPATH=. python -m kg.cli): no metadata to read.
        return (f"(version unknown: the {distribution} distribution is not installed; "
                "run `make install` in a checkout, or `pip install` a wheel from `make dist`)")


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--version`: print "paperkg X.Y.Z" and exit, before the group's callback reads the configuration."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"paperkg {package_version()}")
    ctx.exit()


class _ClosedStdout(io.TextIOBase):
    """sys.stdout when the process was started without one (`paperkg stats >&-`): writing fails with
    EBADF, as on a closed descriptor, where Python (sys.stdout None) and click dropped every line unseen
    and exited 0."""

    encoding = "utf-8"  # what click asks before writing (a stream without one is "misconfigured")

    def writable(self) -> bool:
        """Whether the stream takes writes (it does, and fails them)."""
        return True

    def write(self, text: str) -> int:
        """Fail as writing to a closed file descriptor does."""
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def _writing_stdout(exc: OSError) -> bool:
    """Whether `exc` was raised by click.echo writing to stdout: every line the commands print goes
    through it, and click's own messages go to stderr (`err`, or `file` sys.stderr). Any other OSError
    reaching the entry point is a bug, kept as its traceback."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is click.utils.echo.__code__:
            return not frame.f_locals.get("err") and frame.f_locals.get("file") is not sys.stderr
        tb = tb.tb_next
    return False


def _discard_stdout() -> None:
    """Point stdout's file descriptor at /dev/null: what its buffer still holds is flushed there at exit,
    where the same error again would be printed as "Exception ignored" (and exit with status 120)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # _ClosedStdout, or no descriptor: nothing buffered
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


class _DroppedStdout(_ClosedStdout):
    """sys.stdout once a long-running command has given it up (echo_best_effort): lines are dropped."""

    def write(self, text: str) -> int:
        """Drop `text`, as /dev/null takes it."""
        return len(text)


def echo_best_effort(text: str) -> None:
    """Print an informational line of a long-running command (the banner of serve, schedule or dev
    arxiv-server) on stdout, best effort: when stdout cannot be written (closed, as daemon setups leave
    it; a full disk) this line and every later one on stdout are dropped, one WARNING says so, and the
    command goes on.

    Not for a command whose output is its result: that is an error (_Paperkg.main)."""
    try:
        click.echo(text)
    except OSError as exc:
        # Later lines too (Flask's own " * Serving Flask app"): dropped, not failed. Not by pointing
        # descriptor 1 at /dev/null: closed at start, it may be a socket or the store's file by now.
        sys.stdout = _DroppedStdout()
        logging.getLogger("paperkg").warning("stdout cannot be written (%s): its informational lines are "
                                             "dropped", exc.strerror or exc)


class _Paperkg(click.Group):
    """The root group, ending in one line on stderr where click gave a traceback (output that cannot be
    written: a full disk, /dev/full), exit status 0 (a closed stdout) or "Aborted!" (Ctrl-C)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """click's main, with output that cannot be written said in one line: exit status 1.

        A broken pipe (`paperkg stats | head -1`) stays click's: exit status 1 with nothing said."""
        if sys.stdout is None:
            sys.stdout = _ClosedStdout()
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:
            if not _writing_stdout(exc):
                raise
            _discard_stdout()
            with contextlib.suppress(OSError):  # stderr the same full file: the exit status says it
                click.echo(f"error writing output: {exc.strerror or exc}", err=True)
            sys.exit(1)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; Ctrl-C outside a command's own handling (ingest.cli.stop_on_sigterm) ends in
        "interrupted" and exit status 130."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            from ingest.cli import Interrupted, say_stopped

            say_stopped("interrupted", exc)
            raise Interrupted from exc




class ConfigClickError(click.ClickException):
    """A configuration error (a bad PAPERKG_* setting; for `ingest weekly` and `schedule` also a missing
    embedding model or one other than the store's): exit status 78 (EX_CONFIG), so a monitor tells it
    from a failed run."""

    exit_code = EXIT_CONFIG


@click.group(cls=_Paperkg)
# Not click.version_option(package_name=...): it raises a RuntimeError (a traceback) when the
# distribution is not installed, and names the program after the script (`cli.py` under `python -m`).
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the installed version and exit.")
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """paperkg: a knowledge graph and search service for research papers (mechanistic interpretability
    with the shipped taxonomy; another field brings its own file: PAPERKG_TAXONOMY)."""
    try:
        config = load_config()  # checks every setting, with -v too
        level = "DEBUG" if verbose else config.log_level
    except ValueError as exc:
        raise ConfigClickError(str(exc)) from exc
    configure_logging(level)


@main.command("config")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: per setting its value, default, whether it is set, help, and `resolved` (a "
                   "path setting's absolute path, null for the others).")
def config_cmd(as_json: bool) -> None:
    """Print the effective configuration (secrets masked); warn about PAPERKG_* names that are no setting.

    A relative path setting (PAPERKG_DATA_DIR=data) is shown with the absolute path it names from the
    current directory: `data -> /home/me/kg/data`."""
    for line in unknown_settings():  # on stderr: --json keeps stdout a JSON document
        click.echo(f"warning: {line}", err=True)
    rows = describe()
    resolved = _resolved_paths()
    if as_json:
        click.echo(json.dumps(
            {name: {"value": value, "default": default, "set": is_set, "help": help_,
                    "resolved": resolved.get(name)}
             for name, value, default, is_set, help_ in rows}, indent=2))
        return
    width = max(len(r[0]) for r in rows)
    for name, value, _default, is_set, help_ in rows:
        origin = "set" if is_set else "default"
        where = resolved.get(name)
        shown = f"{value} -> {where}" if where is not None and where != value else value
        click.echo(f"{name:<{width}}  {shown}  ({origin})")
        click.echo(f"{'':<{width}}    {help_}")


def _resolved_paths() -> dict[str, str]:
    """Each path setting's variable -> the absolute path it names (a relative one from the current
    directory, ~ expanded, `..` folded), as the commands run here use it."""
    from kg.config import PATH_FIELDS

    config = load_config()
    return {variable: os.path.abspath(getattr(config, field)) for field, variable in PATH_FIELDS.items()}


@main.command("init")
# Not click's exists/dir_okay/readable checks: load_taxonomy says what is wrong with the file, in the
# words PAPERKG_TAXONOMY's errors use (click's "File '…' is a directory." was another wording).
@click.option("--taxonomy", "taxonomy_path", type=UserPath(readable=False, path_type=Path),
              default=None, help="Taxonomy YAML (default: PAPERKG_TAXONOMY, the packaged MI file); "
                   "ingest classifies with PAPERKG_TAXONOMY, so set that to the same file. A FILE that "
                   "does not exist or cannot be read is a usage error (exit status 2).")
@click.option("--prune", is_flag=True,
              help="Also remove the taxonomy nodes the file lacks: a removed node's tags move to the node "
                   "the file names by its id or name (as an id, name or alias), else they are dropped.")
@click.option("--dry-run", is_flag=True,
              help="Say what init would do (nodes added, changed, removed with --prune and where their tags "
                   "go, papers left stale) and write nothing.")
@click.option("--force", is_flag=True,
              help="With --prune: prune even when more than half of the stored nodes would go, or hand "
                   "tags (`source: list`) would be dropped.")
def init_cmd(taxonomy_path: Path | None, prune: bool, dry_run: bool, force: bool) -> None:
    """Create the store's schema and load the taxonomy (idempotent)."""
    from kg.taxonomy import load_taxonomy

    if force and not prune:
        raise click.UsageError("--force only goes with --prune")
    config = load_config()
    if taxonomy_path is None:
        taxonomy = configured_taxonomy()  # a missing PAPERKG_TAXONOMY file: 78, as for every command
    else:
        try:
            taxonomy = load_taxonomy(taxonomy_path)
        except ValueError as exc:
            if isinstance(exc.__cause__, OSError):
                # An argument naming a file that is not there (or no file) is a usage error, as for
                # `ingest records FILE`; a file that is there but holds no taxonomy stays an error (1).
                raise click.UsageError(str(exc)) from exc
            raise click.ClickException(str(exc)) from exc
    if dry_run:
        _init_dry_run(taxonomy, prune)
        _taxonomy_option_note(taxonomy_path)
        return
    store = open_configured_store()
    try:
        store.init_schema()
        before = store.taxonomy_nodes()
        added, removed, _changed = taxonomy_differences(before, taxonomy.nodes)
        # Read before the load, as the dry run reads it; a new store's nodes are all added (the head line
        # counts them), so only a store that held a taxonomy lists them.
        node_lines = _node_change_lines(before, taxonomy, added, done=True, indent="") if before else []
        moves = _prune_moves(before, removed, taxonomy) if prune else {}
        if moves and not force:
            # Before the file is loaded: a refused prune writes nothing (a wrong file would otherwise
            # add its own nodes to the store).
            impact = _prune_impact(_check_extractions(store, taxonomy, list(moves)), moves, len(before))
            if impact.refusal():
                raise click.ClickException(impact.refusal(dry_run=False))
        with contextlib.ExitStack() as stack:
            if moves:
                # A prune moves and drops tags an ingest running meanwhile would write back or fail on
                # (its nodes gone): the two never run at once (taxonomy QA).
                from ingest.cli_failures import IngestLockedError
                from ingest.store_lock import IngestLocked, ingest_lock

                try:
                    stack.enter_context(ingest_lock(store, "init"))
                except IngestLocked as exc:
                    raise IngestLockedError(f"{exc}; nothing was written: run `paperkg init --prune` again "
                                            "when it has finished") from exc
            store.load_taxonomy(taxonomy.nodes)
            # After the file is loaded, so every node a tag moves to is in the store.
            pruned = store.prune_taxonomy(moves) if moves else {}
        # The papers themselves, not the store's taxonomy before and after, say what is stale: a second
        # init, a reextract run before init, or an EXTRACTOR_VERSION bump change nothing in the store's
        # taxonomy. Hashes only (the comparison reextract makes first): about 0.1 s for 6,150 papers.
        check = _check_extractions(store, taxonomy, [] if prune else removed)
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(
        f"initialised {config.backend} store; taxonomy {taxonomy.source}: "
        f"{len(taxonomy.nodes)} nodes"
    )
    for line in node_lines:
        click.echo(line)
    if moves:
        click.echo(f"removed {_nodes(len(moves))} the file lacks:")
        for node_id, target in moves.items():
            click.echo(f"  {_pruned(node_id, target, pruned.get(node_id, 0), done=True)}")
    if check.stale:
        click.echo(f"note: {_stale(check)} extracted with another taxonomy or extractor: run "
                   "`paperkg ingest reextract`", err=True)
    if removed and not prune:
        one = len(removed) == 1
        click.echo(f"note: {_nodes(len(removed))} {'is' if one else 'are'} in the store but not in "
                   f"{taxonomy.source} ({_named(removed)}): {'it stays' if one else 'they stay'} in the "
                   f"store (`paperkg init --prune` removes {'it' if one else 'them'}); "
                   f"{_removed_tags(check, one)}", err=True)
    _taxonomy_option_note(taxonomy_path)


def _taxonomy_option_note(taxonomy_path: Path | None) -> None:
    """The note that ingest classifies with PAPERKG_TAXONOMY, when init was given another file."""
    configured = load_config().taxonomy
    if taxonomy_path is not None and taxonomy_path.resolve() != Path(configured).resolve():
        click.echo(f"note: ingest classifies with PAPERKG_TAXONOMY ({configured}); "
                   f"set PAPERKG_TAXONOMY={taxonomy_path} before ingesting", err=True)


@dataclasses.dataclass
class _PruneImpact:
    """What `init --prune` would do to the store's papers: the ids of the papers whose tags it would
    move, drop, and drop hand tags of (list and records-file rows, `source: list`)."""

    removed: int
    stored: int
    moved: set[str]
    dropped: set[str]
    hand: set[str]

    def summary(self) -> str:
        """"3 of 75 nodes removed; 2 papers' tags moved, 1 paper's tags dropped (1 with hand tags)"."""
        return (f"{self.removed} of {_nodes(self.stored)} removed; {_whose(len(self.moved))} moved, "
                f"{_whose(len(self.dropped))} dropped ({len(self.hand)} with hand tags)")

    def refusal(self, *, dry_run: bool = True) -> str:
        """Why `init --prune` refuses this prune without --force ("" when it does not): more than half of
        the stored nodes go (a wrong file's look), or hand tags, which no re-extraction brings back."""
        many = 2 * self.removed > self.stored
        if not many and not self.hand:
            return ""
        hand = len(self.hand)
        at_stake = (f"it would remove {self.removed} of the {self.stored} taxonomy nodes stored"
                    f"{', more than half, as a wrong file would' if many else ''}, and drop the hand tags "
                    f"(`source: list`) of {hand} {'paper' if hand == 1 else 'papers'}")
        if dry_run:
            return f"without --force, `paperkg init --prune` would refuse this: {at_stake}"
        return (f"--prune refused: {at_stake}; nothing was written (check the file with "
                "`paperkg init --prune --dry-run`, or run again with --prune --force)")


def _whose(n: int) -> str:
    """"1 paper's tags", "2 papers' tags"."""
    return "1 paper's tags" if n == 1 else f"{n} papers' tags"


def _prune_impact(check: ExtractionCheck, moves: Mapping[str, str | None], stored: int) -> _PruneImpact:
    """The papers `moves` would move or drop tags of, from a check of the removed ids (their tags)."""
    def tagged(ids: Sequence[str], *, hand_only: bool = False) -> set[str]:
        papers: set[str] = set()
        for node_id in ids:
            papers |= check.list_tags.get(node_id, set())
            if not hand_only:
                papers |= check.extracted_tags.get(node_id, set())
        return papers

    dropped = [node_id for node_id, target in moves.items() if target is None]
    return _PruneImpact(removed=len(moves), stored=stored,
                        moved=tagged([node_id for node_id, target in moves.items() if target is not None]),
                        dropped=tagged(dropped), hand=tagged(dropped, hand_only=True))


def _stale(check: ExtractionCheck, *, verb: bool = True) -> str:
    """"the stored paper was", "3 of the 10 stored papers were" (without `verb`: "… papers"): the
    papers init leaves stale."""
    # An ingest re-extracts only the papers it writes: the others keep the tags they were given.
    n, total = len(check.stale), check.papers
    subject = (("the stored paper" if n == 1 else f"the {n} stored papers") if n == total
               else f"{n} of the {total} stored papers")
    return f"{subject} {'was' if n == 1 else 'were'}" if verb else subject


def prune_target(taxonomy: Taxonomy, node: TaxonomyNode) -> str | None:
    """The node of `taxonomy` (of `node`'s label) a removed node's tags move to: the one its id, else its
    name, spells exactly as an id, name or alias (the rule that redirects an old id's page, e.g. an id
    kept as an alias of the node it was renamed to); None when none or several do (no guess)."""
    from kg.taxonomy import node_spelt_exactly

    for text in (node.id, node.name):
        found = node_spelt_exactly(taxonomy, text, (node.label,))
        if found is not None:
            return found.id
    return None


def _prune_moves(stored: Sequence[TaxonomyNode], removed: Sequence[str], taxonomy: Taxonomy
                 ) -> dict[str, str | None]:
    """Each removed id -> the id its tags move to, or None (dropped), in the store's order."""
    wanted = set(removed)
    return {n.id: prune_target(taxonomy, n) for n in stored if n.id in wanted}


def _pruned(node_id: str, target: str | None, papers: int, *, done: bool) -> str:
    """One removed node, for init's report: "knockout: 3 papers' tags moved to ablation"."""
    from kg.safe_output import terminal_safe

    whose = "1 paper's tags" if papers == 1 else f"{papers} papers' tags"
    if not papers:
        what = "no paper tagged" + (f"; its id leads to {terminal_safe(target)}" if target else "")
    elif target is not None:
        what = f"{whose} {'moved' if done else 'would move'} to {terminal_safe(target)}"
    else:
        what = f"{whose} {'dropped' if done else 'would be dropped'}"
    return f"{terminal_safe(node_id)}: {what}"


def _node_changes(old: TaxonomyNode, new: TaxonomyNode) -> list[str]:
    """What loading `new` changes of the stored `old` (label, name, parent, kind, aliases)."""
    from kg.safe_output import terminal_safe

    changes = []
    for what, before, after in (("label", old.label, new.label), ("name", old.name, new.name),
                                ("parent", old.parent, new.parent), ("kind", old.kind, new.kind)):
        if before != after:
            changes.append(f"{what} {terminal_safe(before or '(none)')} -> "
                           f"{terminal_safe(after or '(none)')}")
    if (list(old.aliases), list(old.ambiguous_aliases)) != (list(new.aliases), list(new.ambiguous_aliases)):
        changes.append("aliases")
    return changes


def _init_dry_run(taxonomy: Taxonomy, prune: bool) -> None:
    """`paperkg init --dry-run`: what init (with `prune`) would do to the configured store, read only."""
    config = load_config()
    head = f"dry run, nothing written: init with {taxonomy.source} ({_nodes(len(taxonomy.nodes))})"
    if not config.neo4j_uri and not config.embedded_store_file.exists():
        click.echo(f"{head} would create the store {config.embedded_store_file} and load every node")
        return
    store = open_configured_store(must_exist=True)
    try:
        stored = store.taxonomy_nodes()
        added, removed, _ = taxonomy_differences(stored, taxonomy.nodes)
        moves = _prune_moves(stored, removed, taxonomy)
        counts = store.prune_taxonomy(moves, write=False) if moves else {}
        # The removed ids' tags too: which papers' tags move or go (the summary, the --force guard).
        check = _check_extractions(store, taxonomy, list(moves) if prune else [])
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    node_lines = _node_change_lines(stored, taxonomy, added, done=False, indent="  ")
    click.echo(f"{head} would:")
    for line in node_lines:
        click.echo(line)
    if moves:
        click.echo(f"  remove {_nodes(len(moves))} the file lacks:" if prune else
                   f"  keep {_nodes(len(moves))} the file lacks (with --prune, init would remove "
                   f"{'it' if len(moves) == 1 else 'them'}):")
        for node_id, target in moves.items():
            click.echo(f"    {_pruned(node_id, target, counts.get(node_id, 0), done=False)}")
    if not (node_lines or moves):
        click.echo("  change no taxonomy node")
    if check.stale:
        click.echo(f"  leave {_stale(check, verb=False)} extracted with another taxonomy or extractor "
                   "(then run `paperkg ingest reextract`)")
    if prune:
        impact = _prune_impact(check, moves, len(stored))
        refusal = impact.refusal()
        click.echo(impact.summary() + (f"; {refusal}" if refusal else ""))


def _node_change_lines(stored: Sequence[TaxonomyNode], taxonomy: Taxonomy, added: Sequence[str], *,
                       done: bool, indent: str) -> list[str]:
    """The nodes loading `taxonomy` over the `stored` ones adds (`added`) and changes, as init reports
    them: "change 1 node:" then "  attribution_graph: aliases" (done: "added", "changed")."""
    held = {n.id: n for n in stored}
    changed = [(n.id, c) for n in taxonomy.nodes if n.id in held and (c := _node_changes(held[n.id], n))]
    add, change = ("added", "changed") if done else ("add", "change")
    lines = []
    if added:
        lines.append(f"{indent}{add} {_nodes(len(added))}: {', '.join(map(_safe, added))}")
    if changed:
        lines.append(f"{indent}{change} {_nodes(len(changed))}:")
        lines += [f"{indent}  {_safe(node_id)}: {', '.join(changes)}" for node_id, changes in changed]
    return lines


def _safe(text: str) -> str:
    """`text` with terminal controls removed (ids from a file or the store, echoed)."""
    from kg.safe_output import terminal_safe

    return terminal_safe(text)


# The tag relationships a paper may hold twice for one node, once per source (the list's tag and the
# extractor's), with the words the distinct pairs are counted in.
_TAG_PAIRS = {Rel.USES: (Label.TECHNIQUE, "paper-technique"),
              Rel.EVALUATES: (Label.EVALUATION, "paper-criterion")}


@main.command("stats")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: `nodes` and `relationships` by label and type, and `distinct_pairs`.")
def stats_cmd(as_json: bool) -> None:
    """Node and relationship counts by label and type.

    USES and EVALUATES count edges: a paper the list and the extractor both tag with one technique has
    two USES edges to it. The distinct (paper, technique) and (paper, criterion) pairs, which the
    technique counts of `paperkg filters` and the web add up to, are given beside them."""
    store = open_configured_store(must_exist=True)
    try:
        stats = store.stats()
        # A node's own count is its papers, each once: summed over a label, the distinct pairs (ABOUT
        # never reaches a technique or criterion, so only USES or EVALUATES count there).
        pairs = dict.fromkeys(_TAG_PAIRS, 0)
        for row in store.technique_counts():
            for rel, (label, _words) in _TAG_PAIRS.items():
                if row.label == label:
                    pairs[rel] += row.own_count
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({**stats, "distinct_pairs": pairs}, indent=2, sort_keys=True))
        return
    for kind in ("nodes", "relationships"):
        click.echo(f"{kind}:")
        for name, count in sorted(stats.get(kind, {}).items()):
            pair = ""
            if kind == "relationships" and name in pairs:
                pair = f"  ({pairs[name]} distinct {_TAG_PAIRS[name][1]} pairs)"
            click.echo(f"  {name:<14} {count}{pair}")
    click.echo("note: USES and EVALUATES count edges, one per source: a paper the list and the extractor "
               "both tag with a technique has two USES edges to it; the distinct pairs count it once")


@main.command("backup")
@click.argument("destination", metavar="FILE", type=UserPath(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup_cmd(destination: Path, force: bool) -> None:
    """Copy the embedded store to FILE, consistent while the API and ingests keep running."""
    from kg.embedded import EmbeddedStore

    config = load_config()
    if config.backend != "embedded":
        raise click.ClickException("paperkg backup copies the embedded store; back up Neo4j with its own "
                                   "tools (neo4j-admin database dump, or Aura's snapshots)")
    from ingest.cli import stop_on_sigterm

    check_output_file(destination, force, config.embedded_store_file)
    try:
        require_store(config)
        store = EmbeddedStore(config.embedded_store_file, read_only=True)
        try:
            # Only the copy itself is stopped by SIGTERM or SIGHUP (the backup removes its partial file;
            # exit 143 or 129); Ctrl-C too says so (exit 130).
            with stop_on_sigterm("{stopped}: no backup was written"):
                # Checked again as the copy is put in place: another backup to FILE may have written it.
                papers = store.backup(destination, replace=force)
        finally:
            store.close()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up {papers} papers to {shown_arg(str(destination), 200)} "
               f"({destination.stat().st_size / 1e6:.1f} MB)")


def check_output_file(path: Path, force: bool, store_file: Path) -> None:
    """Refuse as a usage error a FILE a command would write (backup, export): a link or anything but a
    regular file (--force would replace the link itself, not write where it leads), the store's own file
    or one SQLite keeps beside it, or an existing file without --force."""
    shown = shown_arg(str(path))
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise click.UsageError(f"{shown} is not a regular file: give a file's path")
    try:
        part_of_store = _is_part_of_store(path, store_file)
    except (OSError, RuntimeError) as exc:  # a symbolic link loop on the way
        raise click.UsageError(f"{shown}: {exc}") from exc
    if part_of_store:
        raise click.UsageError("FILE is the store itself or its -wal/-shm file: give another path")
    if path.exists() and not force:
        raise click.UsageError(f"{shown} exists (--force replaces it)")


def _is_part_of_store(path: Path, store_file: Path) -> bool:
    """Whether `path` is the store's file or one SQLite keeps beside it (a backup written over the -wal
    would drop the writes still in it), by name or, for an existing file, as the same file (a link)."""
    parts = [store_file.with_name(store_file.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    if path.resolve() in {p.resolve() for p in parts}:
        return True
    return path.exists() and any(p.exists() and os.path.samefile(path, p) for p in parts)


@main.group("keys")
def keys_group() -> None:
    """Citation keys the store issued."""


def read_key_pins(path: Path) -> tuple[list[tuple[int, str, str | None, str]], list[str]]:
    """([(line, id, arxiv_id or None, citation key)], [error naming a bad line]) of a `paperkg export
    papers` file, JSONL (a line starting `{`) or CSV (its header names the columns; a cell's leading
    apostrophe, spreadsheet_safe's, removed). Only `id`, `arxiv_id` and `citation_key` are read: a line
    without a key (a store not yet upgraded wrote none) is left out. OSError, csv.Error when the file
    cannot be read; RecordsFileError naming the file when it is no UTF-8 text (ingest.records_file.utf8_text:
    "keys.csv is not UTF-8 text: byte 0x97 at line 3, column 12 (Windows-1252 text? ...)")."""
    import csv

    from ingest.export_papers import spreadsheet_value
    from ingest.records_file import not_valid_json, utf8_text
    from kg.store import check_citation_key
    from kg.text_files import text_lines
    from kg.validation import check_paper_id

    pins: list[tuple[int, str, str | None, str]] = []
    errors: list[str] = []
    # A byte order mark, which a spreadsheet saving the CSV again may add, is left out by utf8_text.
    text = utf8_text(path.read_bytes(), shown_arg(str(path), 200))
    rows: list[tuple[int, Any]]
    if text.lstrip().startswith("{"):
        rows = []
        # Lines end at LF, CR LF, CR only: a JSON string may hold U+2028 or NEL raw (text_lines).
        for n, line in enumerate(text_lines(text), start=1):
            if line.strip():
                # Said as `ingest records` says it: "not valid JSON (expecting value, column 1)".
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    errors.append(f"line {n}: {not_valid_json(exc.msg.removesuffix(' at'), exc.colno)}")
                except RecursionError:  # [[[[… nested past the parser's stack
                    errors.append(f"line {n}: {not_valid_json('nested too deeply')}")
                except ValueError as exc:  # an integer of more than 4,300 digits
                    errors.append(f"line {n}: {not_valid_json(str(exc).split(';')[0])}")
    else:
        # An abstract may be longer than the csv module's default field limit (128 KiB).
        csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))
        # newline="": the csv module ends rows itself, CR-only ones (Excel for Mac) included.
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not {"id", "citation_key"} <= set(reader.fieldnames or ()):
            return [], ["no JSON object on the first line, and no CSV header naming `id` and `citation_key`: "
                        "give a file `paperkg export papers --format jsonl` or `--format csv` wrote"]
        rows = [(reader.line_num, {k: spreadsheet_value(v) if isinstance(v, str) else v
                                   for k, v in row.items()}) for row in reader]
    for n, obj in rows:
        if not isinstance(obj, dict):
            errors.append(f"line {n}: not a JSON object")
            continue
        key, pid, arxiv_id = obj.get("citation_key"), obj.get("id"), obj.get("arxiv_id") or None
        if key in (None, ""):
            continue
        try:
            check_citation_key(key)
            if not isinstance(pid, str):
                raise ValueError("'id' must be a string")
            check_paper_id(pid)
            if arxiv_id is not None and not isinstance(arxiv_id, str):
                raise ValueError("'arxiv_id' must be a string")
        except ValueError as exc:
            errors.append(f"line {n}: {shown_arg(str(exc), 200)}")
            continue
        pins.append((n, pid, arxiv_id, key))
    if not pins and not errors:
        # A records file, or `{"id": "2211.00593"}`, restored nothing and said "0 restored" (exit 0).
        return [], [f"no line has a `citation_key`: {_EXPORT_FILE_HINT}"]
    return pins, errors + _pin_conflicts(pins)


# What keys restore takes, for its refusal of a file that holds no key.
_EXPORT_FILE_HINT = ("give a file `paperkg export papers --format jsonl` or `--format csv` wrote (a records "
                     "file, or an export of a store that issued no keys, holds none)")


def _pin_conflicts(pins: Sequence[tuple[int, str, str | None, str]]) -> list[str]:
    """An error for each key a file gives two papers, and each id it gives two keys, naming their lines
    (a line repeated whole is no conflict). Refused up front: which row would win is a guess, and the
    warning the store gives then quotes the file's own other row as the key's holder."""
    by_key: dict[str, dict[str, list[int]]] = {}
    by_id: dict[str, dict[str, list[int]]] = {}
    for n, pid, _arxiv_id, key in pins:
        by_key.setdefault(key, {}).setdefault(pid, []).append(n)
        by_id.setdefault(pid, {}).setdefault(key, []).append(n)
    conflicts: list[tuple[int, str]] = []
    for key, holders in by_key.items():
        if len(holders) > 1:
            lines = sorted(n for ns in holders.values() for n in ns)
            conflicts.append((lines[0], f"lines {_line_list(lines)}: citation key {key} is given to "
                                        f"{len(holders)} papers ({_some_ids(list(holders))})"))
    for pid, keys in by_id.items():
        if len(keys) > 1:
            lines = sorted(n for ns in keys.values() for n in ns)
            conflicts.append((lines[0], f"lines {_line_list(lines)}: paper {shown_arg(pid, 200)} is given "
                                        f"{len(keys)} keys ({', '.join(keys)})"))
    return [text for _, text in sorted(conflicts)]


def _line_list(lines: Sequence[int]) -> str:
    """Line numbers as a message lists them: "3 and 7", "3, 5 and 7"."""
    shown = [str(n) for n in lines]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _some_ids(ids: Sequence[str], limit: int = 10) -> str:
    """The first `limit` of `ids`, then "and N more"."""
    shown = ", ".join(shown_arg(i, 200) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@keys_group.command("restore")
@click.argument("path", metavar="FILE", type=UserPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--reserve", is_flag=True,
              help="Reserve the keys of ids no stored paper has, for when they are stored (run before the "
                   "catch-up). Without it they are named and skipped, and a FILE none of whose ids is "
                   "stored is refused.")
@click.option("--wait", "wait", default=0.0, show_default=True, type=SECONDS,
              metavar="SECONDS",
              help="When an ingest holds the store lock, wait up to SECONDS for it to finish "
                   "(default: refuse at once with exit status 75).")
def keys_restore_cmd(path: Path, reserve: bool, wait: float) -> None:
    """Give papers the citation keys a `paperkg export papers` FILE (JSONL or CSV) names, nothing else.

    After restoring an older backup and catching up, papers sharing a key base may have been issued
    their keys in another order: this gives each paper the key FILE (an export from before the restore)
    has for it. A key issued to another paper is never taken from it (a warning names both; each keeps
    its own), except one the FILE gives that paper another key for (two keys swapped back). An id no
    stored paper has is named and skipped; with --reserve its key waits for it, which gets it when
    stored. Holds the store's ingest lock: refused (exit 75) while an ingest runs."""
    import csv

    from ingest.cli_failures import IngestLockedError
    from ingest.export_papers import resolve_each
    from ingest.records_file import RecordsFileError
    from ingest.store_lock import IngestLocked, ingest_lock

    try:
        pins, errors = read_key_pins(path)
    except RecordsFileError as exc:  # names the file, and the line and column of a byte not UTF-8
        raise click.ClickException(str(exc)) from exc
    except (OSError, csv.Error) as exc:
        raise click.ClickException(f"cannot read {shown_arg(str(path), 200)}: {exc}") from exc
    if errors:
        shown = "; ".join(errors[:10]) + (f"; and {len(errors) - 10} more" if len(errors) > 10 else "")
        raise click.ClickException(f"{shown_arg(str(path), 200)}: nothing restored: {shown}")
    store = open_configured_store(must_exist=True, read_only=False)
    try:
        # An ingest reads the keys its papers hold and writes them back later: a restore committed in
        # between would be overwritten (a paper left with two keys), so the two never run at once.
        # Taking the lock also issues an older paperkg's store its keys first (init_schema).
        with ingest_lock(store, "keys", wait=wait) as held:
            found = resolve_each(store, [i for _, pid, arxiv_id, _ in pins for i in (pid, arxiv_id) if i])
            resolved: list[tuple[str, str]] = []
            missing: dict[str, None] = {}  # the ids no stored paper has, once each, in file order
            for _n, pid, arxiv_id, key in pins:
                paper = found.get(pid) or (found.get(arxiv_id) if arxiv_id else None)
                if paper is not None:
                    resolved.append((paper.id, key))
                    continue
                missing[pid] = None
                if reserve:  # the catch-up has not stored it yet: its key waits for it
                    resolved.append((pid, key))
            if missing and not reserve and not resolved:
                # A spreadsheet's 2305.0161, or another store's export: reserving would hold keys for
                # papers that never arrive.
                raise click.ClickException(
                    f"{shown_arg(str(path), 200)}: nothing restored: no id in it names a stored paper "
                    f"({_some_ids(list(missing))}); to reserve their keys for when they are stored (before "
                    "the catch-up), pass --reserve")
            held.check()
            outcome = store.restore_citation_keys(resolved)
    except IngestLocked as exc:
        raise IngestLockedError(str(exc)) from exc
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if missing:
        what = "keys reserved for them" if reserve else "skipped (--reserve reserves their keys)"
        click.echo(f"warning: {len(missing)} id(s) name no stored paper, {what}: {_some_ids(list(missing))}",
                   err=True)
    for pid, key, other in outcome.refused:
        if other == pid:
            click.echo(f"warning: paper {pid}: the file gives it two keys; the later, {key}, is not restored",
                       err=True)
        else:
            click.echo(f"warning: paper {pid} keeps its key: {key} belongs to paper {other}", err=True)
    reserved = sum(1 for _, _, before in outcome.restored if before is None)
    skipped = 0 if reserve else len(missing)
    click.echo(f"citation keys: {len(outcome.restored) - reserved} restored, {reserved} reserved for papers "
               f"not stored yet, {len(outcome.unchanged)} held already, {len(outcome.refused)} refused, "
               f"{skipped} not found")


def _register_subcommands() -> None:
    from api.cli import register as register_api
    from ingest.cli import register as register_ingest

    register_ingest(main)
    register_api(main)


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
