"""Which fixes a run may offer, and how far each is trusted: ``unfixable``,
``extend-safe-fixes`` and ``extend-unsafe-fixes``.

The engine applies the policy to every report as the rules make it (``FixPolicy.adjust``),
so the fixer, ``--diff``, every output format's "fix available" marker and the language
server's code actions all see the same fixes. Selectors are rule codes or prefixes (``CCL2``,
``ALL``), as in ``select``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from conclint.rule import Fix


def specificity(code: str, selectors: Sequence[str]) -> int:
    """How closely the best of ``selectors`` names ``code``: the length of the longest
    prefix of it among them, 0 for ``ALL``, -1 when none names it (as ``select`` resolves)."""
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best


@dataclass(frozen=True)
class FixPolicy:
    """Selectors of the rules whose fixes are withheld (``unfixable``), made safe
    (``extend_safe``) or made unsafe (``extend_unsafe``)."""

    unfixable: Tuple[str, ...] = ()
    extend_safe: Tuple[str, ...] = ()
    extend_unsafe: Tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.unfixable or self.extend_safe or self.extend_unsafe)

    def fixable(self, code: str) -> bool:
        return specificity(code, self.unfixable) < 0

    def applicability(self, code: str, declared: str) -> str:
        """``declared`` ("safe" or "unsafe") as this policy makes it for rule ``code``: the
        more specific selector wins; on a tie, unsafe (the cautious reading)."""
        safe = specificity(code, self.extend_safe)
        unsafe = specificity(code, self.extend_unsafe)
        if safe < 0 and unsafe < 0:
            return declared
        return "safe" if safe > unsafe else "unsafe"

    def adjust(self, code: str, fix: Optional[Fix]) -> Optional[Fix]:
        """``fix`` as this policy lets rule ``code`` offer it: None when the rule is
        unfixable, with its applicability overridden when one of the extend lists names it."""
        if fix is None or not self:
            return fix
        if not self.fixable(code):
            return None
        wanted = self.applicability(code, fix.applicability.value)
        if wanted == fix.applicability.value:
            return fix
        from conclint.rule import Applicability

        return replace(fix, applicability=Applicability(wanted))

    def key(self) -> Dict[str, Any]:
        """What the result cache must tell apart: findings carry the adjusted fixes."""
        return {
            "unfixable": sorted(self.unfixable),
            "extend_safe": sorted(self.extend_safe),
            "extend_unsafe": sorted(self.extend_unsafe),
        }
