"""Rule pages (rules/CCLnnn.md): located in the package, or in a source checkout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

_PACKAGE_PAGES = Path(__file__).parent / "_pages"
_CHECKOUT_PAGES = Path(__file__).resolve().parents[2] / "rules"
_BLOCK_RE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)


def pages_dir() -> Path:
    return _PACKAGE_PAGES if _PACKAGE_PAGES.is_dir() else _CHECKOUT_PAGES


def page_path(code: str) -> Path:
    return pages_dir() / f"{code.upper()}.md"


def read_page(code: str) -> Optional[str]:
    path = page_path(code)
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def sections(text: str) -> Dict[str, str]:
    """Page text by ``## Heading``."""
    out: Dict[str, str] = {}
    current = None
    lines: List[str] = []
    for line in text.splitlines():
        if line.startswith("## "):
            if current is not None:
                out[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines).strip()
    return out


def code_blocks(text: str) -> List[Tuple[str, str]]:
    """(tag, code) for each fenced block: ```python bad / good / fixed."""
    out = []
    for match in _BLOCK_RE.finditer(text):
        info = match.group("info").split()
        if info and info[0] == "python":
            out.append((info[1] if len(info) > 1 else "", match.group("body")))
    return out


def summary(text: str) -> str:
    """The first paragraph of "What it does"."""
    body = sections(text).get("What it does", "")
    return body.split("\n\n")[0].replace("\n", " ").strip()


# Where the rule pages are published, as a template with ``{code}``: None while they have no
# public home, and then no URL is printed anywhere (SARIF's helpUri, JSON's url, rdjson's).
RULE_URL_TEMPLATE: Optional[str] = None


def rule_url(code: str) -> Optional[str]:
    """The published page of rule ``code``, when pages are published."""
    return RULE_URL_TEMPLATE.format(code=code.upper()) if RULE_URL_TEMPLATE else None


_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_INLINE_CODE_RE = re.compile(r"`([^`]+)`")
_BULLET_RE = re.compile(r"^(\s*)[-*] ")


def render_for_terminal(text: str, width: int, style: Any) -> str:
    """A page as a terminal shows it best: headings styled (no ``#``), prose and list items
    wrapped to ``width`` columns, code blocks indented and left as written, tables as they
    are. ``style`` is ``click.style`` or a function returning the text unstyled; inline code
    loses its backticks only when styled."""
    import textwrap

    plain = style("x", bold=True) == "x"

    def inline(line: str) -> str:
        if plain:
            return line
        return _INLINE_CODE_RE.sub(lambda m: style(m.group(1), fg="yellow"), line)

    def wrap(words: str, first: str, rest: str) -> List[str]:
        # Wrapped on the unstyled text (escape codes take no columns), styled afterwards; a
        # code span is never split across lines (its spaces do not break while wrapping).
        words = _INLINE_CODE_RE.sub(lambda m: "`" + m.group(1).replace(" ", "\0") + "`", words)
        return [inline(line.replace("\0", " ")) for line in textwrap.wrap(
            words, width=max(width, 20), initial_indent=first, subsequent_indent=rest,
            break_long_words=False, break_on_hyphens=False,
        )] or [first.rstrip()]

    out: List[str] = []
    paragraph: List[str] = []
    bullet: Optional[Tuple[str, List[str]]] = None

    def flush() -> None:
        nonlocal bullet
        if paragraph:
            out.extend(wrap(" ".join(p.strip() for p in paragraph), "", ""))
            paragraph.clear()
        if bullet is not None:
            indent, words = bullet
            out.extend(wrap(" ".join(words), f"{indent}  • ", f"{indent}    "))
            bullet = None

    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("```"):
            flush()
            label = " ".join(line[3:].split()[1:]) or line[3:].strip()
            if label:
                out.append(style(f"  {label}:", dim=True))
            while index < len(lines) and not lines[index].startswith("```"):
                out.append(style(f"    {lines[index]}", fg="green") if lines[index] else "")
                index += 1
            index += 1  # the closing fence
            continue
        if line.startswith("#"):
            flush()
            title = line.lstrip("#").strip()
            if out and out[-1] != "":
                out.append("")
            out.append(style(title, bold=True, underline=line.startswith("# ")) if line.startswith("# ") else style(title, fg="cyan", bold=True))
            continue
        if not line.strip():
            flush()
            if out and out[-1] != "":
                out.append("")
            continue
        if line.lstrip().startswith("|"):
            flush()
            out.append(line)
            continue
        found = _BULLET_RE.match(line)
        if found:
            flush()
            bullet = (found.group(1), [line[found.end():]])
            continue
        if bullet is not None and line.startswith(" "):
            bullet[1].append(line.strip())
            continue
        if bullet is not None:
            flush()
        paragraph.append(line)
    flush()
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def visible_width(line: str) -> int:
    """Columns a rendered line takes (escape codes take none)."""
    return len(_ANSI_RE.sub("", line))
