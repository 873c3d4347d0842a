"""Rule pages (rules/CCLnnn.md): located in the package, or in a source checkout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

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
