"""Findings as users and tools see them; the JSON form is a public contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Edit:
    """Replace [line:column, end_line:end_column) with ``content`` (1-based, end exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_json(self) -> Dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }


@dataclass
class FixInfo:
    applicability: str  # "safe" or "unsafe"
    message: str
    edits: List[Edit] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [e.to_json() for e in self.edits],
        }


@dataclass(frozen=True)
class Related:
    """Another place a finding concerns (the other half of a lock-order inversion), with
    what happens there; positions as a finding's."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str

    def to_json(self) -> Dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
        }


@dataclass
class Finding:
    code: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: Optional[FixInfo] = None
    fingerprint: str = ""
    related: List[Related] = field(default_factory=list)

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def to_json(self) -> Dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "fix": self.fix.to_json() if self.fix else None,
            "fingerprint": self.fingerprint,
            "related": [r.to_json() for r in self.related],
        }

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Finding":
        fix = data.get("fix")
        fix_info = None
        if fix:
            fix_info = FixInfo(fix["applicability"], fix["message"], [Edit(**e) for e in fix.get("edits", [])])
        return cls(
            data["code"], data["message"], data["path"], data["line"], data["column"],
            data["end_line"], data["end_column"], fix_info, data.get("fingerprint", ""),
            [Related(**r) for r in data.get("related", [])],
        )


def occurrences(findings: Sequence[Finding]) -> List[int]:
    """For each finding, its number among those of its file with its fingerprint (1, 2...,
    in order): what tells two copies of one pitfall in a file apart where a report format
    merges equal fingerprints (code scanning, GitLab)."""
    seen: Dict[Tuple[str, str], int] = {}
    out = []
    for f in findings:
        key = (f.path, f.fingerprint)
        seen[key] = seen.get(key, 0) + 1
        out.append(seen[key])
    return out
