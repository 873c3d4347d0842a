"""CCL900: ``# noqa`` codes that silence nothing, or name no rule."""

from __future__ import annotations

from conclint.interest import Interest, Text
from conclint.rule import Applicability, NoqaRule


class UnusedNoqa(NoqaRule):
    """A conclint code in a noqa comment that silences no finding, or names no rule."""

    code = "CCL900"
    name = "unused-noqa"
    message = "a noqa code that silences nothing here, or names no rule: remove it"
    fix = Applicability.SAFE
    # A noqa naming one of our codes on the same line (or a `# conclint: noqa: CCL…`): the
    # engine reads the comments of the files that pass this screen, parsed or not.
    interest = Interest(Text(r"(?i)noqa\s*:[^\r\n]*ccl"))
