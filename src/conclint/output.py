"""What follows the findings in the human formats: the summary (the findings themselves:
``conclint.formats``; the fix block and the statistics table: ``conclint.fixreport``)."""

from __future__ import annotations

from typing import List, Sequence

from conclint.findings import Finding


def fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (unsafe or finding.fix.applicability == "safe")


def summary_lines(findings: Sequence[Finding], unsafe: bool, fixed: int = 0, failed: int = 0) -> List[str]:
    """The summary; ``failed``: files conclint could not check (an internal error or a
    broken configuration, each said above), after which "All checks passed!" would claim
    what was not checked."""
    lines = []
    if fixed:
        lines.append(f"Fixed {fixed} problem{'s' if fixed != 1 else ''}.")
    unchecked = f"{failed} file{'s' if failed != 1 else ''} not checked (see the errors above)."
    if not findings:
        if failed:
            lines.append(f"No problems found; {unchecked}")
        elif not fixed:
            lines.append("All checks passed!")
        return lines
    n = len(findings)
    can_fix = sum(1 for f in findings if fixable(f, unsafe))
    hidden = sum(1 for f in findings if f.fix is not None and not fixable(f, unsafe))
    text = f"Found {n} problem{'s' if n != 1 else ''}"
    text += f" ({can_fix} fixable with --fix)." if can_fix else "."
    if fixed:
        text = text.replace("Found", "Remaining:", 1)
    lines.append(text)
    if hidden:
        lines.append(f"{hidden} more fix{'es' if hidden != 1 else ''} available with --unsafe-fixes.")
    if failed:
        lines.append(unchecked)
    return lines

