"""What the command says about fixes: the "Fixed N problems:" block (by file and rule, each
fix listed with ``--show-fixes``), the one-line summaries of ``--fix-only`` and ``--diff``,
the paths of ``--diff`` headers and the ``--statistics`` table and JSON."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import PurePath
from typing import Callable, Dict, List, Sequence

from conclint.findings import Finding
from conclint.output import fixable
from conclint.settings import known_codes


def _plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n} {word}{suffix if n != 1 else ''}"


def shown_path(path: str) -> str:
    """``path`` as the user reads it: relative to the current directory when inside it."""
    if not os.path.isabs(path):
        return path
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith(os.pardir) else relative


def diff_header_path(path: str) -> str:
    """``path`` for a ``a/...``/``b/...`` header: relative to the current directory when
    inside it, otherwise without its root (``/tmp/x.py`` is ``a/tmp/x.py``, never
    ``a//tmp/x.py``), in POSIX form."""
    pure = PurePath(shown_path(path))
    if not pure.is_absolute() and ".." in pure.parts:
        normal = os.path.normpath(pure)  # `a/../b.py` is `b.py`; `../other/a.py` is outside it
        pure = PurePath(os.path.abspath(normal) if normal == ".." or normal.startswith(".." + os.sep) else normal)
    if pure.is_absolute():
        pure = PurePath(*pure.parts[1:]) if len(pure.parts) > 1 else PurePath(".")
    text = pure.as_posix()
    return text[2:] if text.startswith("./") else text


def fix_block(
    fixes: Sequence[Finding], heading: str, detailed: bool, style: Callable[..., str] = lambda t, **_: str(t)
) -> List[str]:
    """``heading`` ("Fixed 3 problems:"), then each file (sorted) with its rules, most fixes
    first: ``2 × CCL301 (deprecated-threading-alias)``; with ``detailed``, each fix under its
    rule: line:column, the fix's message, safe or unsafe. Empty without fixes."""
    if not fixes:
        return []
    names = known_codes()
    by_file: Dict[str, List[Finding]] = {}
    for f in fixes:
        by_file.setdefault(f.path, []).append(f)
    most = max(max(Counter(f.code for f in found).values()) for found in by_file.values())
    width = len(str(most))
    out = [style(heading, fg="green", bold=True)]
    for path in sorted(by_file):
        out.append(f"{style('-', fg='cyan')} {style(shown_path(path), bold=True)}{style(':', fg='cyan')}")
        found = by_file[path]
        counts = Counter(f.code for f in found)
        for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"    {count:>{width}} × {style(code, fg='red', bold=True)} ({names.get(code, '')})")
            if detailed:
                for f in sorted((f for f in found if f.code == code), key=lambda f: (f.line, f.column)):
                    assert f.fix is not None
                    out.append(f"        {f.line}:{f.column} {f.fix.message} ({f.fix.applicability})")
    return out


def fixed_heading(n: int, would: bool) -> str:
    return f"{'Would fix' if would else 'Fixed'} {_plural(n, 'problem')}:"


def applicable_heading(n: int) -> str:
    return f"{_plural(n, 'fix', 'es')} available with --fix:"


def applicable(findings: Sequence[Finding], unsafe: bool) -> List[Finding]:
    """The findings ``--fix`` (with ``--unsafe-fixes`` when ``unsafe``) would fix."""
    return [f for f in findings if fixable(f, unsafe)]


def fix_summary(fixed: int, hidden: int, would: bool) -> List[str]:
    """The one line ``--fix-only`` (``would``: ``--diff``) ends with: how many problems were
    (would be) fixed, and how many unsafe fixes were held back; nothing when neither."""
    hint = f" ({_plural(hidden, 'more fix', 'es')} available with --unsafe-fixes)" if hidden else ""
    if fixed:
        verb = "Would fix" if would else "Fixed"
        return [f"{verb} {_plural(fixed, 'problem')}{'.' if not hint else hint + '.'}"]
    if hidden:
        return [f"No problems {'would be ' if would else ''}fixed{hint}."]
    return []


def hidden_fixes(findings: Sequence[Finding], unsafe: bool) -> int:
    """Fixes left unapplied because they are unsafe and unsafe fixes are off."""
    return sum(1 for f in findings if f.fix is not None and not fixable(f, unsafe))


# ----------------------------------------------------------------------------- statistics


def statistics_entries(findings: Sequence[Finding], unsafe: bool) -> List[Dict[str, object]]:
    """One entry per rule, most frequent first (then by code): code, name, count and whether
    its findings are fixable (with this run's unsafe setting)."""
    from conclint.formats import statistics_rows

    return [
        {"code": code, "name": name, "count": count, "fixable": fixes > 0}
        for code, name, count, fixes in statistics_rows(findings, unsafe)
    ]


def statistics_json(findings: Sequence[Finding], unsafe: bool) -> str:
    return json.dumps(statistics_entries(findings, unsafe), indent=2) + "\n"


def statistics_table(findings: Sequence[Finding], unsafe: bool, style: Callable[..., str] = lambda t, **_: str(t)) -> List[str]:
    """count, code, fixable marker, name: counts right-aligned, codes padded to one width;
    the marker column (``[*]`` fixable, ``[ ]`` not) only when some rule is fixable."""
    entries = statistics_entries(findings, unsafe)
    if not entries:
        return []
    count_width = max(len(str(e["count"])) for e in entries)
    code_width = max(len(str(e["code"])) for e in entries)
    any_fixable = any(e["fixable"] for e in entries)
    rows = []
    for e in entries:
        marker = ("[" + style("*", fg="cyan") + "] " if e["fixable"] else "[ ] ") if any_fixable else ""
        count = style(f"{e['count']:>{count_width}}", bold=True)
        code = style(f"{e['code']:<{code_width}}", fg="red", bold=True)
        rows.append(f"{count}\t{code}\t{marker}{e['name']}")
    return rows
