"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

https://docs.github.com/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

from conclint.findings import Finding

# The runner decodes these percent escapes (actions/toolkit, command.ts): in the message
# only the characters that would end the command, in properties also the separators.
_DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = _DATA_ESCAPES + ((":", "%3A"), (",", "%2C"))


def _escape(text: str, escapes: Sequence[Tuple[str, str]]) -> str:
    for raw, escaped in escapes:  # "%" first, so later escapes are not escaped again
        text = text.replace(raw, escaped)
    return text


def format_github(findings: Sequence[Finding]) -> List[str]:
    lines = []
    for f in findings:
        properties = {
            "file": f.path.replace("\\", "/"),
            "line": f.line,
            "col": f.column,
            "endLine": f.end_line,
            "endColumn": f.end_column,
            "title": f.code,
        }
        rendered = ",".join(f"{key}={_escape(str(value), _PROPERTY_ESCAPES)}" for key, value in properties.items())
        lines.append(f"::error {rendered}::{_escape(f.message, _DATA_ESCAPES)}")
    return lines
