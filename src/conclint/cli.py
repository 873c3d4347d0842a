"""The ``conclint`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, TypedDict, cast

import click

from conclint import __version__
from conclint.formats import ALIASES, FORMATS, HUMAN as HUMAN_FORMATS, WITH_EDITS, Context

if TYPE_CHECKING:
    from conclint.config import Config, Overrides, Resolver
    from conclint.findings import Finding
    from conclint.runner import FileOutcome
    from conclint.settings import Settings



class UsageFailure(Exception):
    """Bad usage, bad configuration: exit 2 with a one-line message."""


if TYPE_CHECKING:

    class _Options(TypedDict):
        """The command's arguments and options, as click passes them to ``cli``."""

        paths: Tuple[str, ...]
        select: Tuple[str, ...]
        ignore: Tuple[str, ...]
        extend_select: Tuple[str, ...]
        fix: bool
        unsafe_fixes: Optional[bool]
        show_diff: bool
        output_format: Optional[str]
        output_file: Optional[Path]
        exit_zero: bool
        statistics: bool
        explain: Optional[str]
        list_rules: bool
        config_file: Optional[Path]
        stdin_filename: Optional[str]
        force_exclude: bool
        jobs: Optional[int]
        no_cache: bool
        cache_dir: Optional[Path]
        write_baseline: Optional[Path]
        baseline: Optional[Path]
        since: Optional[str]
        quiet: bool
        no_color: bool
        verbose: bool
        ignore_noqa: bool
        show_fixes: bool
        fix_only: bool
        exit_non_zero_on_fix: bool
        unfixable: Tuple[str, ...]
        add_noqa: bool
        isolated: bool
        show_settings: Optional[str]
        show_files: bool
        exclude: Tuple[str, ...]
        extend_exclude: Tuple[str, ...]
        per_file_ignores: Tuple[str, ...]
        extend_per_file_ignores: Tuple[str, ...]
        respect_gitignore: Optional[bool]

else:  # at run time a plain dict: a TypedDict compiles each of its 35 string annotations
    _Options = dict  # on import (11 ms of every run)


def _items(values: Sequence[str]) -> List[str]:
    """The comma-separated items of an option given once or more, stripped."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _split(values: Sequence[str]) -> List[str]:
    return [v.upper() for v in _items(values)]  # rule codes are case-insensitive


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", multiple=True, metavar="CODES", help="Rules to enable (codes or prefixes: CCL2, CCL; comma-separated). Replaces the configured selection, its ignores included.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules to disable, on top of the configuration.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to enable on top of the selection.")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply (and mark) fixes that change behaviour.")
@click.option("--diff", "show_diff", is_flag=True, help="Print only a unified diff of what --fix would change (the summary goes to stderr); write nothing. Exit 1 if there are changes.")
# The fix controls (as ruff's); what they print: conclint.fixreport.
@click.option("--show-fixes", is_flag=True, help="List each fix applied (with --fix) or applicable (without): file, line, rule, the fix's message, safe or unsafe.")
@click.option("--fix-only", is_flag=True, help="Apply fixes and report only how many were applied, not the remaining problems; exit 0 (see --exit-non-zero-on-fix).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 if any fix was applied, even when no problem remains.")
@click.option("--unfixable", multiple=True, metavar="CODES", help="Rules whose fixes are never applied nor offered (codes or prefixes; adds to the configured unfixable).")
@click.option(
    "--output-format", "--format", "output_format", type=click.Choice([*FORMATS, *ALIASES]), default=None,
    envvar="CONCLINT_OUTPUT_FORMAT", show_envvar=True,
    help="Output format (default: full; --format is the old spelling, 'text' the old name of concise).",
)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the output to this file instead of standard output.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule.")
@click.option("--ignore-noqa", is_flag=True, help="Ignore every noqa comment: report what they silence.")
@click.option("--add-noqa", is_flag=True, help="Add a noqa comment to each line with findings (after selection and baseline); write nothing else.")
@click.option("--explain", metavar="CODE", help="Print a rule's documentation page and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the configuration of every file from this file (pyproject.toml or a TOML file with the keys at top level) instead of each file's nearest one.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file: the defaults and the command line's options only.")
@click.option("--show-settings", metavar="FILE", default=None, help="Print the settings that apply to FILE and the configuration files they come from, and exit.")
@click.option("--show-files", is_flag=True, help="List the files that would be linted (after excludes), one per line, and exit.")
@click.option("--stdin-filename", metavar="PATH", help="The name of the file read from standard input (for messages, configuration and per-file-ignores); given, standard input is read, '-' or not.")
@click.option("--exclude", multiple=True, metavar="PATTERNS", help="Files and directories not to lint (gitignore-style patterns relative to the project root, comma-separated), instead of the configured and default excludes.")
@click.option("--extend-exclude", multiple=True, metavar="PATTERNS", help="Like --exclude, on top of the excludes already in force.")
@click.option("--per-file-ignores", multiple=True, metavar="PATTERN:CODE", help="Rules not to report in the files a pattern matches (comma-separated PATTERN:CODE pairs), instead of the configured per-file-ignores.")
@click.option("--extend-per-file-ignores", multiple=True, metavar="PATTERN:CODE", help="Like --per-file-ignores, on top of the configured ones.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Whether files .gitignore ignores are skipped (default: the configuration's respect-gitignore, true).")
@click.option("--force-exclude", is_flag=True, help="Apply excludes to files named on the command line too (for pre-commit).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: the number of CPUs).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where to keep the cache (default: .conclint_cache at the project root).")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Record the current findings in this file and exit 0.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Report only findings not recorded in this baseline file.")
@click.option("--since", metavar="REV", default=None, help="Lint only Python files changed since this git revision (staged and unstaged included).")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary.")
@click.option("--no-color", is_flag=True, help="Never colour the output (by default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it).")
@click.option("-v", "--verbose", is_flag=True, help="Show the traceback of an internal error (--show-files lists what is linted, after excludes).")
@click.version_option(__version__, "-V", "--version", prog_name="conclint", message="%(prog)s %(version)s")
def cli(**options: Any) -> None:
    """Find (and fix) concurrency pitfalls in Python code.

    PATHS are files or directories (default: the current directory); '-' reads stdin.
    """
    verbose = bool(options["verbose"])
    try:
        code = _main(cast(_Options, options))  # what click makes of the parameters above
    except UsageFailure as exc:
        click.echo(f"conclint: error: {exc}", err=True)
        code = 2
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader went away (`conclint --list-rules | head`): quietly, as the report does;
        # stdout pointed at nothing first, or Python's flush at exit complains again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        code = 0
    except OSError as exc:  # writing the report, a diff, a listing: a full disk, a closed pipe
        if verbose:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"conclint: error: cannot write: {where}{exc.strerror or exc}", err=True)
        code = 2
    except Exception as exc:  # an internal error: one line unless --verbose
        if verbose:
            raise
        click.echo(f"conclint: internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", err=True)
        code = 2
    sys.exit(code)


def main() -> None:
    # `conclint server` starts the language server; a directory named server is `conclint ./server`.
    if sys.argv[1:2] == ["server"]:
        server_command(sys.argv[2:], prog_name="conclint server")
    cli()


SERVER_REQUIREMENTS = ("pygls", "lsprotocol")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
def server_command() -> None:
    """Run conclint as a language server (LSP) on stdin and stdout, for editors.

    Diagnostics as you type, fixes and "disable for this line" as code actions; see the
    README's Editors section. To lint a directory named server: conclint ./server
    """
    try:
        from conclint.server import serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in SERVER_REQUIREMENTS:
            raise
        click.echo(
            f"conclint: error: conclint server needs pygls and lsprotocol ({exc}): pip install 'conclint[server]'",
            err=True,
        )
        sys.exit(2)
    sys.exit(serve())


def _main(o: _Options) -> int:
    if o["explain"]:
        return _explain(str(o["explain"]), o)
    if o["list_rules"]:
        return _list_rules()

    paths = list(o["paths"]) or ["."]
    if o["select"] and not _items(o["select"]):  # `--select ""`: a mistake, not every rule (as ruff)
        raise UsageFailure("--select names no rule: give codes or prefixes (CCL2, CCL201)")
    _check_fix_options(o)
    if o["add_noqa"] and (
        o["fix"] or o["fix_only"] or o["show_diff"] or o["write_baseline"] or "-" in paths or o["stdin_filename"] is not None
    ):
        raise UsageFailure("--add-noqa cannot be combined with --fix, --fix-only, --diff, --write-baseline or '-' (stdin)")
    resolver, config, settings = _configuration(o, paths)
    unsafe = bool(o["unsafe_fixes"]) if o["unsafe_fixes"] is not None else config.unsafe_fixes
    if o["show_settings"]:
        return _show_settings(resolver, str(o["show_settings"]))

    if o["stdin_filename"] is not None:
        # A name for standard input means standard input is read (as ruff does): never the
        # files on disk, which a --fix would rewrite behind an editor's back.
        for path in dict.fromkeys(p for p in o["paths"] if p != "-"):
            click.echo(f"conclint: warning: ignoring {path} in favour of standard input (--stdin-filename)", err=True)
        _check_stdin_options(o)
        if o["force_exclude"] and not list(_discovery(o, resolver, config).files([str(o["stdin_filename"])])):
            return _stdin_excluded(o)
        return _run_stdin(_stdin_settings(resolver, o, settings), o, unsafe)
    if "-" in paths:
        if len(paths) > 1:
            raise UsageFailure("'-' (stdin) cannot be combined with other paths")
        _check_stdin_options(o)
        return _run_stdin(_stdin_settings(resolver, o, settings), o, unsafe)

    if o["since"]:
        from conclint.gitfiles import changed_files

        try:
            paths = changed_files(str(o["since"]), paths)
        except RuntimeError as exc:
            raise UsageFailure(str(exc)) from None
        o["force_exclude"] = True
    discovery = _discovery(o, resolver, config)
    # A path that does not exist is reported (CCL000, as ruff's and flake8's E902) and the
    # others are linted: a list of changed files may name one deleted since.
    missing = [raw for raw in dict.fromkeys(paths) if not os.path.lexists(raw)]
    if paths and paths[0] in missing and paths[0] in ("check", "format", "lint"):
        # ruff's habit (`ruff check .`): conclint's paths come straight after the command.
        click.echo(f"conclint: hint: conclint has no '{paths[0]}' subcommand; give the paths alone (conclint .)", err=True)
    present = [raw for raw in paths if raw not in missing]
    files = list(discovery.files(present)) if present else []
    discovery.problems.extend((raw, "no such file or directory") for raw in missing)
    _refuse_overwriting_sources(o, files)
    if missing and (o["show_files"] or o["add_noqa"]):
        for raw in missing:
            click.echo(f"conclint: error: {raw}: no such file or directory", err=True)
    if not files and not missing and not o["since"] and not o["quiet"]:
        # As ruff warns: "All checks passed!" alone would say something was checked (a
        # mistyped path, excludes or a .gitignore that take in everything).
        click.echo("conclint: warning: no Python files found under the given path(s)", err=True)
    if o["show_files"]:
        for path in files:
            click.echo(path)
        return 0

    from conclint.engine import PARSE_ERROR
    from conclint.findings import Finding

    fix = bool(o["fix"]) or bool(o["fix_only"]) or bool(o["show_diff"])
    with_edits = _format(o) in WITH_EDITS
    groups, unconfigured = _group_by_settings(resolver, files)
    if unconfigured and not groups:  # no file can be linted: a usage error, no report
        raise UsageFailure("\nconclint: error: ".join(dict.fromkeys(unconfigured.values())))
    # Fixes are written before the project phase runs: its findings must be of what is on
    # disk, the fixed file or, where a fix could not be written, the original.
    writing = fix and not o["show_diff"]
    outcomes = _run_cached(groups, config, o, fix=fix, with_edits=with_edits, project_phase=not writing)

    findings: List[Finding] = []
    for path, why in discovery.problems:
        if PARSE_ERROR in settings.enabled:
            findings.append(Finding(PARSE_ERROR, f"cannot read: {why}", path, 1, 1, 1, 1))
    errors = len(unconfigured)
    for message in dict.fromkeys(unconfigured.values()):  # each once, whatever number of files it governs
        click.echo(f"conclint: error: {message}", err=True)
    applied: List[Finding] = []  # written fixes; with --diff, those the diff shows
    unwritten = 0
    if fix and not o["show_diff"]:
        from conclint.writes import sweep_stale

        sweep_stale(os.path.dirname(os.path.realpath(outcome.path)) for outcome in outcomes if outcome.fixed is not None)
    outcome_root = {path: settings.root for settings, group in groups for path in group}
    diffs: List[bytes] = []
    for outcome in outcomes:
        if outcome.error:
            errors += 1
            _say_error(outcome, o)
        if outcome.notice:
            click.echo(f"conclint: warning: {outcome.notice}", err=True)
        if outcome.fixed is not None and outcome.original is not None:
            if o["show_diff"]:
                diffs.append(_unified_diff(outcome.path, outcome.original, outcome.fixed))
            elif not _write_fix(outcome.path, outcome.fixed, outcome.original, outcome_root.get(outcome.path, config.root)):
                # Not written: the file still has every finding it had.
                outcome.findings = outcome.unfixed
                outcome.summary = outcome.unfixed_summary
                unwritten += 1
                continue
            applied.extend(outcome.fixes)
    if writing:
        _project_phase(groups, outcomes)
    for outcome in outcomes:
        findings.extend(outcome.findings)
    if o["show_diff"]:
        _emit_diff(o, b"".join(diffs))
    findings.sort(key=Finding.sort_key)

    if o["write_baseline"]:
        from conclint.baseline import BaselineError, write_baseline

        try:
            write_baseline(o["write_baseline"], findings, _baseline_root(paths))
        except BaselineError as exc:
            raise UsageFailure(str(exc)) from None
        unlinted = sum(1 for f in findings if f.code == PARSE_ERROR)
        if not o["quiet"]:
            click.echo(f"Wrote {len(findings) - unlinted} finding(s) to {o['write_baseline']}.", err=True)
        if unlinted:
            click.echo(
                f"conclint: warning: {unlinted} CCL000 finding(s) (a file that cannot be linted) not written: "
                "a baseline never accepts them", err=True,
            )
        return 2 if errors else 0
    stale = None
    if o["baseline"]:
        from conclint.baseline import BaselineError, filter_baseline
        from conclint.engine import codes_for

        settings_of = {path: own for own, group in groups for path in group}

        def judged(code: str, path: str) -> bool:
            own = settings_of.get(path)
            # (CCL900 does not run with --ignore-noqa: nothing is silenced to judge)
            return own is not None and code in codes_for(own, path) and (own.noqa or code != "CCL900")

        try:
            findings, stale = filter_baseline(o["baseline"], findings, _baseline_root(paths), files, judged)
        except BaselineError as exc:
            raise UsageFailure(str(exc)) from None

    if o["add_noqa"]:
        from conclint.addnoqa import run_add_noqa

        return run_add_noqa(findings, outcomes, config.root, quiet=bool(o["quiet"]), errors=errors)
    _emit(findings, settings, o, unsafe, applied, stale, failed=errors)
    if unwritten:
        click.echo(f"conclint: {unwritten} file{'s' if unwritten != 1 else ''} not fixed (see above)", err=True)
    if errors:
        return 2
    if unwritten and not o["exit_zero"]:
        return 1
    return _exit_code(o, findings, applied)


def _say_error(outcome: Any, o: _Options) -> None:
    """A file's internal error, in one line; with --verbose, its traceback after it."""
    click.echo(f"conclint: error: {outcome.error}", err=True)
    if outcome.trace and o["verbose"]:
        click.echo(outcome.trace, err=True, nl=False)


def _check_fix_options(o: _Options) -> None:
    """--statistics is a text table or JSON (as ruff's); with another format it is ignored,
    with a warning (ruff refuses; conclint printed those formats' findings before)."""
    if o["statistics"] and _format(o) not in (*HUMAN_FORMATS, "json"):
        click.echo(f"conclint: warning: --statistics prints text or JSON; ignored with --output-format {_format(o)}", err=True)
        o["statistics"] = False


def _exit_code(o: _Options, findings: Sequence[Finding], applied: Sequence[Finding]) -> int:
    """As ruff's (errors and unwritten fixes aside): --exit-zero wins; --diff fails when
    there is a change to show; --fix-only succeeds unless --exit-non-zero-on-fix and
    something was fixed; otherwise remaining findings, or with --exit-non-zero-on-fix any
    fix applied, fail."""
    if o["exit_zero"]:
        return 0
    if o["show_diff"]:
        return 1 if applied else 0
    if o["exit_non_zero_on_fix"] and applied:
        return 1
    if o["fix_only"]:
        return 0
    return 1 if findings else 0


# ---------------------------------------------------------------- configuration per file
def _configuration(o: _Options, paths: Sequence[str]) -> Tuple[Resolver, Config, Settings]:
    """The run's resolver of each file's settings; the configuration of the paths' common
    directory (for discovery, the cache and what the summary says of unsafe fixes) and its
    settings. Only a --config file that cannot be used stops the run; a discovered
    configuration that cannot is reported for the files it governs (the defaults stand in
    for it here)."""
    from conclint.config import Config, ConfigError, Resolver

    if o["isolated"] and o["config_file"] is not None:
        raise UsageFailure("--config and --isolated cannot be used together")
    try:
        resolver = Resolver(lambda config: _settings(config, o), o["config_file"], bool(o["isolated"]), _overrides(o))
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    common = _common_directory([p for p in paths if p != "-"] or ["."])
    try:
        config = resolver.config_for(common)
        settings = resolver.settings_in(common)
    except ConfigError:
        config = Config()
        settings = _settings(config, o)
    return resolver, config, settings


def _overrides(o: _Options) -> "Overrides":
    """What the command line sets over every configuration file (``Overrides``)."""
    from conclint.config import Overrides
    from conclint.settings import SelectorError, resolve_selection

    def pairs(option: str, values: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
        out = []
        for item in _items(values):
            pattern, colon, code = item.rpartition(":")
            if not colon or not pattern.strip() or not code.strip():
                raise UsageFailure(f"{option}: {item!r} is not PATTERN:CODE (as in 'tests/*:CCL201')")
            try:
                resolve_selection([code.strip().upper()], [], [])
            except SelectorError as exc:
                raise UsageFailure(f"{option}: {exc}") from None
            out.append((pattern.strip(), code.strip().upper()))
        return tuple(out)

    return Overrides(
        exclude=tuple(_items(o["exclude"])) if o["exclude"] else None,
        extend_exclude=tuple(_items(o["extend_exclude"])),
        per_file_ignores=pairs("--per-file-ignores", o["per_file_ignores"]) if o["per_file_ignores"] else None,
        extend_per_file_ignores=pairs("--extend-per-file-ignores", o["extend_per_file_ignores"]),
        respect_gitignore=o["respect_gitignore"],
    )


def _check_stdin_options(o: _Options) -> None:
    """What standard input cannot do: record a baseline (a baseline is a whole run's), or
    write the report over the file standard input stands for (``--stdin-filename a.py -o
    a.py``: the editor's buffer is read, the file on disk would be replaced)."""
    if o["write_baseline"]:
        raise UsageFailure("--write-baseline cannot be used with standard input: a baseline records the findings of files")
    _refuse_overwriting_the_baseline(o)
    if o["stdin_filename"] is not None and o["output_file"] is not None:
        named = str(o["stdin_filename"])
        if os.path.realpath(o["output_file"]) == os.path.realpath(named) or _same_file_as_one_of(o["output_file"], [named]):
            raise UsageFailure(
                f"--output-file {o['output_file']}: it is the file standard input stands for (--stdin-filename); "
                "the report would replace it"
            )


def _stdin_baseline(o: _Options, findings: Sequence["Finding"], name: str) -> List["Finding"]:
    """``findings`` of standard input without those ``--baseline`` records for its file."""
    if not o["baseline"]:
        return list(findings)
    from conclint.baseline import BaselineError, filter_baseline

    try:
        kept, _ = filter_baseline(o["baseline"], findings, _baseline_root([name if name != "-" else "."]))
    except BaselineError as exc:
        raise UsageFailure(str(exc)) from None
    return kept


def _refuse_overwriting_sources(o: _Options, files: Sequence[str]) -> None:
    """``-o mod.py`` or ``--write-baseline mod.py`` naming a file being linted would replace
    the source with the report: refused, before anything is read or written."""
    targets = [(option, path) for option, path in (("--output-file", o["output_file"]), ("--write-baseline", o["write_baseline"])) if path]
    if not targets:
        return
    sources = {os.path.realpath(f) for f in files}
    for option, path in targets:
        if os.path.realpath(path) in sources or _same_file_as_one_of(path, files):
            raise UsageFailure(f"{option} {path}: it is one of the files to lint; the report would replace it")
    _refuse_overwriting_the_baseline(o)


def _refuse_overwriting_the_baseline(o: _Options) -> None:
    """``-o`` naming the ``--baseline`` it reads would replace the baseline with the report."""
    if o["output_file"] is not None and o["baseline"] is not None:
        if os.path.realpath(o["output_file"]) == os.path.realpath(o["baseline"]) or _same_file_as_one_of(o["output_file"], [str(o["baseline"])]):
            raise UsageFailure(f"--output-file {o['output_file']}: it is the --baseline file; the report would replace it")


def _same_file_as_one_of(path: "os.PathLike[str] | str", files: Sequence[str]) -> bool:
    """Whether ``path`` is a hard link of one of ``files`` (another name, the same inode)."""
    try:
        st = os.stat(path)
    except OSError:
        return False  # not there yet: created by the run
    if st.st_nlink < 2:
        return False
    for name in files:
        try:
            other = os.stat(name)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


def _baseline_root(paths: Sequence[str]) -> Path:
    """What a baseline's paths are relative to: the top of the git work tree holding what is
    linted, wherever the command runs from; outside one, the current directory."""
    from conclint.discovery import repository_root

    named = [p for p in paths if os.path.lexists(p)] or ["."]
    start = Path(_common_directory(named))
    top = repository_root(start)
    return top if (top / ".git").exists() else Path.cwd()


def _common_directory(paths: Sequence[str]) -> str:
    common = os.path.commonpath([os.path.abspath(p) for p in paths])
    return common if os.path.isdir(common) else os.path.dirname(common)


def _settings(config: Config, o: _Options) -> Settings:
    from conclint.config import ConfigError, settings_from_config

    try:
        settings = settings_from_config(
            config, _split(o["select"]), _split(o["extend_select"]), _split(o["ignore"]), _split(o["unfixable"])
        )
    except ConfigError as exc:
        if config.path is None:  # the command line's selectors: nothing can be linted
            raise UsageFailure(str(exc)) from None
        raise
    settings.noqa = not o["ignore_noqa"]
    settings.unsafe_fixes = bool(o["unsafe_fixes"]) if o["unsafe_fixes"] is not None else config.unsafe_fixes
    return settings


def _discovery(o: _Options, resolver: Resolver, config: Any) -> Any:
    """What to lint, with the run's excludes (and each subproject's below its own file)."""
    from conclint.discovery import DEFAULT_EXCLUDE, Discovery

    def nested(directory: Path) -> Optional[Tuple[Path, Sequence[str]]]:
        """A subproject's own excludes, below its configuration file (as ruff applies them)."""
        from conclint.config import ConfigError

        # Only the directory's own file is looked for: the walk carries a parent's down.
        try:
            governing = resolver.own_config(str(directory))
        except ConfigError:
            return None  # reported with its files
        if governing is None or governing.path == config.path:
            return None
        patterns = governing.exclude if governing.exclude is not None else DEFAULT_EXCLUDE
        return governing.root, [*patterns, *governing.extend_exclude]

    return Discovery(
        root=config.root,
        exclude=config.exclude if config.exclude is not None else DEFAULT_EXCLUDE,
        extend_exclude=config.extend_exclude,
        respect_gitignore=config.respect_gitignore,
        force_exclude=bool(o["force_exclude"]),
        nested=nested,
    )


def _stdin_excluded(o: _Options) -> int:
    """--force-exclude and a --stdin-filename the excludes match: nothing is linted; a fix
    gives the input back unchanged (as ruff does), for the editor that asked."""
    data = sys.stdin.buffer.read()
    if (o["fix"] or o["fix_only"]) and not o["show_diff"]:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _stdin_settings(resolver: Resolver, o: _Options, fallback: Settings) -> Settings:
    """Stdin's settings: those of --stdin-filename's place, else of the current directory."""
    from conclint.config import ConfigError

    try:
        return resolver.settings_for(str(o["stdin_filename"] or "-"))
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None


def _group_by_settings(resolver: Resolver, files: Sequence[str]) -> Tuple[List[Tuple[Settings, List[str]]], Dict[str, str]]:
    """The files by Settings, in order of first appearance; and the files whose
    configuration cannot be used, with why."""
    from conclint.config import ConfigError

    groups: Dict[Settings, List[str]] = {}
    unconfigured: Dict[str, str] = {}
    # Resolved once per directory as the files name it (thousands of files, a few hundred
    # directories): the resolver's own cache is keyed by the absolute path.
    by_directory: Dict[str, Any] = {}
    for path in files:
        directory = os.path.dirname(path)
        settings = by_directory.get(directory)
        if settings is None:
            try:
                settings = resolver.settings_for(path)
            except ConfigError as exc:
                settings = exc
            by_directory[directory] = settings
        if isinstance(settings, ConfigError):
            unconfigured[path] = str(settings)
            continue
        groups.setdefault(settings, []).append(path)
    return list(groups.items()), unconfigured


def _project_phase(groups: List[Tuple[Settings, List[str]]], outcomes: List[FileOutcome]) -> None:
    """The project phase over ``outcomes`` (in the order of ``groups``' files)."""
    from conclint import project

    parts = []
    start = 0
    for settings, group in groups:
        parts.append((outcomes[start:start + len(group)], settings, None))
        start += len(group)
    project.apply_groups(parts)


def _show_settings(resolver: Resolver, path: str) -> int:
    """--show-settings: what applies to ``path`` and where it comes from."""
    from conclint.config import ConfigError, describe_settings

    try:
        # A directory: what its files get (ruff takes one too), not what its parent's do.
        settings = resolver.settings_in(os.path.abspath(path)) if os.path.isdir(path) else resolver.settings_for(path)
        config = resolver.config_of(settings)
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    click.echo(describe_settings(path, config, settings, isolated=resolver.fixed is not None and resolver.fixed.path is None))
    return 0


def _run_cached(
    groups: List[Tuple[Settings, List[str]]], config: Config, o: _Options, *, fix: bool, with_edits: bool,
    project_phase: bool = True,
) -> List[FileOutcome]:
    from conclint import runner

    if fix or o["no_cache"]:
        table = [settings for settings, _ in groups]
        files = [path for _, group in groups for path in group]
        which = [index for index, (_, group) in enumerate(groups) for _ in group]
        outcomes = runner.run(files, table, fix=fix, unsafe=None, with_edits=with_edits, jobs=o["jobs"], which=which)
        if project_phase:  # (the cache runs it otherwise)
            _project_phase(groups, outcomes)
        return outcomes
    from conclint.cache import Cache, run_groups

    cache_dir = o["cache_dir"] or (config.root / ".conclint_cache")
    suffix = "e" if with_edits else ""
    caches = [(Cache(cache_dir, settings.cache_key() + suffix), settings, group) for settings, group in groups]
    results = run_groups(caches, with_edits=with_edits, jobs=o["jobs"])
    for cache, _, _ in caches:
        for warning in cache.warnings:
            click.echo(f"conclint: warning: {warning}", err=True)
    return [outcome for result in results for outcome in result]


def _run_stdin(settings: Settings, o: _Options, unsafe: bool) -> int:
    from conclint import project, runner
    from conclint.findings import Finding

    data = _read_stdin(runner.MAX_READ_BYTES)
    name = str(o["stdin_filename"] or "-")
    if o["fix"] or o["fix_only"] or o["show_diff"]:
        outcome = runner.fix_one(name, settings, unsafe, data=data, with_edits=_format(o) in WITH_EDITS)
        project.apply([outcome], settings)
        if outcome.notice:
            click.echo(f"conclint: warning: {outcome.notice}", err=True)
        new = outcome.fixed if outcome.fixed is not None else data
        if o["show_diff"]:
            if outcome.error:  # nothing was fixed: an empty diff would say "nothing to fix"
                _say_error(outcome, o)
                return 2
            applied = outcome.fixes if outcome.fixed is not None else []
            _emit_diff(o, _unified_diff(name, data, new) if applied else b"")
            remaining = _stdin_baseline(o, sorted(outcome.findings, key=Finding.sort_key), name)
            if not o["quiet"]:
                lines = _after_findings(remaining, o, unsafe, applied, None, _style(False))
                click.echo("".join(f"{line}\n" for line in lines), err=True, nl=False)
            return _exit_code(o, remaining, applied)
        sys.stdout.buffer.write(new)
        sys.stdout.flush()
        findings = _stdin_baseline(o, sorted(outcome.findings, key=Finding.sort_key), name)
        from conclint.formats import render
        from conclint.reading import decode_source

        context = _context(o, settings, unsafe, {name: decode_source(new)})
        context.color = False  # stdout holds the fixed source; stderr (or --output-file) the findings
        if not o["fix_only"]:
            report = render(_format(o), findings, context)
            if o["output_file"] is not None:
                output = _Output(o["output_file"])
                output.write(report, False)
                output.close()
            else:
                click.echo(report, err=True, nl=False)
        applied = outcome.fixes if outcome.fixed is not None else []
        if outcome.error:
            _say_error(outcome, o)
        if (o["show_fixes"] or o["fix_only"]) and not o["quiet"]:
            lines = _after_findings(findings, o, unsafe, applied, None, _style(False), failed=int(bool(outcome.error)))
            click.echo("".join(f"{line}\n" for line in lines), err=True, nl=False)
        if outcome.error:
            return 2
        return _exit_code(o, findings, applied)
    with_edits = _format(o) in WITH_EDITS
    outcome = runner.lint_one(name, settings, with_edits, data=data)
    project.apply([outcome], settings)
    if outcome.error:
        _say_error(outcome, o)
        return 2
    findings = _stdin_baseline(o, sorted(outcome.findings, key=Finding.sort_key), name)
    from conclint.reading import decode_source

    _emit(findings, settings, o, unsafe, [], None, {name: decode_source(data)})
    return 0 if o["exit_zero"] or not findings else 1


def _read_stdin(limit: int) -> bytes:
    """At most ``limit`` bytes of stdin (``conclint - < /dev/zero`` must end)."""
    if sys.stdin is None:
        raise UsageFailure("stdin: not open")
    try:
        data = sys.stdin.buffer.read(limit + 1)
    except OSError as exc:
        raise UsageFailure(f"stdin: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageFailure(f"stdin: input too large (over {limit // (1024 * 1024)} MiB)")
    return data


def _color(o: _Options) -> bool:
    """Colour on a terminal; never with --no-color, NO_COLOR or into an output file (as
    ruff: FORCE_COLOR is for a log that is not a terminal, not for a report file); else
    always with FORCE_COLOR (https://no-color.org, https://force-color.org)."""
    if o["no_color"] or os.environ.get("NO_COLOR") or o["output_file"] is not None:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return o["output_file"] is None and _isatty()


def _isatty() -> bool:
    return sys.stdout.isatty()


def _format(o: _Options) -> str:
    fmt = o["output_format"] or "full"
    return ALIASES.get(fmt, fmt)


def _context(o: _Options, settings: Settings, unsafe: bool, sources: Optional[Dict[str, str]] = None) -> Context:
    from conclint.formats import caching_reader

    from conclint.discovery import repository_root

    return Context(unsafe=unsafe, color=_color(o), root=repository_root(), source=caching_reader(sources))


class _Output:
    """Where the report goes: standard output or --output-file. A reader that went away
    (``conclint . | head``) ends the output quietly; the exit code is unchanged."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self.closed_by_reader = False
        self._file: Optional[IO[str]] = None

    def write(self, text: str, color: bool) -> None:
        if not text or self.closed_by_reader:
            return
        if self.path is not None:
            if self._file is None:
                try:
                    # (a file name that is not UTF-8 is written as its own bytes, as on a terminal)
                    self._file = open(self.path, "w", encoding="utf-8", errors="surrogateescape", newline="\n")
                except OSError as exc:
                    raise UsageFailure(f"{self.path}: cannot write: {exc.strerror or exc}") from None
            self._file.write(text)
            return
        try:
            click.echo(text, nl=False, color=color)
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed_by_reader = True
            # Python flushes stdout again at exit: point it at nothing first.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except OSError as exc:  # a full disk, a device that takes nothing (`> /dev/full`)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            raise UsageFailure(f"cannot write the report to standard output: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _emit(
    findings: List[Finding], settings: Settings, o: _Options, unsafe: bool, applied: Sequence[Finding],
    stale: Optional[int], sources: Optional[Dict[str, str]] = None, *, side_to_stderr: bool = False, failed: int = 0,
) -> None:
    """The report: the findings (or the --statistics table, or nothing with --fix-only and
    --diff), then what was fixed and the summary. Standard output holds only a document
    when it is one (a machine format, --statistics, the --diff patch, stdin's fixed source:
    ``side_to_stderr``): the rest goes to stderr then."""
    from conclint import fixreport
    from conclint.formats import HUMAN, render

    fmt = _format(o)
    context = _context(o, settings, unsafe, sources)
    style = _style(context.color)
    sink = _Output(o["output_file"])
    shown = False
    try:
        if o["statistics"] and not o["show_diff"]:  # --diff: the patch alone
            table = fixreport.statistics_table(findings, unsafe, style) if fmt in HUMAN else []
            text = fixreport.statistics_json(findings, unsafe) if fmt == "json" else "".join(f"{row}\n" for row in table)
            sink.write(text, context.color)
        elif not (o["fix_only"] or o["show_diff"]):
            sink.write(render(fmt, findings, context), context.color)
            shown = bool(findings)
        if o["quiet"]:
            return
        if side_to_stderr or o["show_diff"] or o["statistics"] or fmt not in HUMAN:
            # A machine format's run says nothing more, but what --fix did (as before).
            summary = fmt in HUMAN or bool(o["show_diff"] or o["fix_only"])
            lines = _after_findings(findings, o, unsafe, applied, stale, _style(False), summary, failed)
            click.echo("".join(f"{line}\n" for line in lines), err=True, nl=False)
            return
        lines = _after_findings(findings, o, unsafe, applied, stale, style, failed=failed)
        if lines and fmt == "full" and shown:
            lines.insert(0, "")
        sink.write("".join(f"{line}\n" for line in lines), context.color)
    finally:
        sink.close()


def _style(color: bool) -> Any:
    from conclint.formats import styler

    return styler(color)


def _after_findings(
    findings: Sequence[Finding], o: _Options, unsafe: bool, applied: Sequence[Finding], stale: Optional[int], style: Any,
    summary: bool = True, failed: int = 0,
) -> List[str]:
    """What follows the findings: the fixes (by file and rule after --fix; each one with
    --show-fixes, or, without fixing, each one --fix would apply), then the summary."""
    from conclint import fixreport, output

    would = bool(o["show_diff"])
    fixing = bool(o["fix"] or o["fix_only"] or would)
    lines: List[str] = []
    if fixing and (o["show_fixes"] or (o["fix"] and not o["fix_only"] and not would)):
        lines = fixreport.fix_block(applied, fixreport.fixed_heading(len(applied), would), bool(o["show_fixes"]), style)
    elif not fixing and o["show_fixes"]:
        fixes = fixreport.applicable(findings, unsafe)
        lines = fixreport.fix_block(fixes, fixreport.applicable_heading(len(fixes)), True, style)
    if lines and summary:
        lines.append("")
    if not summary:
        return lines
    if o["fix_only"] or would:
        lines.extend(fixreport.fix_summary(len(applied), fixreport.hidden_fixes(findings, unsafe), would))
        return lines
    lines.extend(output.summary_lines(findings, unsafe, len(applied), failed))
    if stale:
        lines.append(f"{stale} baseline entr{'ies no longer match' if stale != 1 else 'y no longer matches'} (fixed?): trim the baseline with --write-baseline.")
    return lines


def _write_fix(path: str, fixed: bytes, original: bytes, root: Path) -> bool:
    """Write one fixed file; False (with the reason on stderr) when it was not written."""
    from conclint.runner import ending_with_signals
    from conclint.writes import WriteRefused, write_fixed

    try:
        # SIGTERM/SIGHUP mid-write unwind first: a named temporary file is removed.
        with ending_with_signals():
            write_fixed(path, fixed, expected=original, root=root)
    except WriteRefused as exc:
        click.echo(f"conclint: error: {exc}", err=True)
        return False
    except OSError as exc:
        click.echo(f"conclint: error: {path}: not fixed: cannot write: {exc.strerror or exc}", err=True)
        return False
    return True


def _emit_diff(o: _Options, patch: bytes) -> None:
    """--diff's patch: to --output-file when given (written even if empty: nothing to fix),
    else to standard output, as the bytes it is."""
    if o["output_file"] is not None:
        try:
            with open(o["output_file"], "wb") as handle:
                handle.write(patch)
        except OSError as exc:
            raise UsageFailure(f"{o['output_file']}: cannot write: {exc.strerror or exc}") from None
        return
    if patch:
        try:
            sys.stdout.buffer.write(patch)
            sys.stdout.flush()
        except BrokenPipeError:  # (`conclint --diff | head`): ends quietly, as the report does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


def _unified_diff(path: str, before: bytes, after: bytes) -> bytes:
    """The patch from ``before`` to ``after`` in the file's own bytes (its encoding, BOM and
    line ends as they are: ``patch`` and ``git apply`` match bytes), with git's headers."""
    import difflib
    import re

    # Lines as patch and git count them: ended by "\n" only (str.splitlines also breaks at
    # form feeds, "\x1c" or U+2028 inside a line, which would run two diff lines together).
    lines = re.compile(rb"[^\n]*\n|[^\n]+\Z")
    from conclint.fixreport import diff_header_path

    name = os.fsencode(diff_header_path(path))
    out = []
    a, b = lines.findall(before), lines.findall(after)
    for line in difflib.diff_bytes(difflib.unified_diff, a, b, _diff_name(b"a/" + name), _diff_name(b"b/" + name)):
        out.append(line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n")
    return b"".join(out)


def _diff_name(name: bytes) -> bytes:
    """A header's file name as git writes it: in C-style quotes when it holds a quote, a
    backslash or a control character (a tab, a line break); a tab after one with a space,
    for GNU patch."""
    if any(c < 0x20 or c in (0x22, 0x5C, 0x7F) for c in name):
        escapes = {0x07: b"\\a", 0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0B: b"\\v", 0x0C: b"\\f", 0x0D: b"\\r", 0x22: b'\\"', 0x5C: b"\\\\"}
        quoted = b"".join(escapes.get(c) or (b"\\%03o" % c if c < 0x20 or c == 0x7F else bytes([c])) for c in name)
        return b'"' + quoted + b'"'
    return name + b"\t" if b" " in name else name


def _explain(code: str, o: _Options) -> int:
    """The rule's page: rendered for a terminal (or with FORCE_COLOR), as Markdown when piped
    or written to a file (for a viewer or another tool), as `gh` and `glow` do."""
    from conclint.docs import read_page, render_for_terminal
    from conclint.formats import styler

    page = read_page(code)
    if page is None:
        raise UsageFailure(f"unknown rule {code!r} (see --list-rules)")
    if o["output_file"] is None and (_isatty() or os.environ.get("FORCE_COLOR")):
        import shutil  # (not at the top: it costs the warm run ~10 ms to import)

        width = min(shutil.get_terminal_size((80, 24)).columns, 100)
        page = render_for_terminal(page, width, styler(_color(o)))
    click.echo(page, color=_color(o))
    return 0


def _list_rules() -> int:
    from conclint.rule import all_rules

    for code, cls in all_rules().items():
        fix = f"fix: {cls.fix.value}" if cls.fix else "no fix"
        default = "" if cls.default_enabled else " (off by default)"
        click.echo(f"{code}  {cls.name:<34} {fix:<12}{default} {cls.message}")
    return 0
