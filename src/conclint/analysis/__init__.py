"""What conclint knows of a file: the models rules query.

``catalogue`` (the standard library's concurrency API as data), ``facts`` (CPython's tree:
the second gate), ``scopes`` and ``types`` (the LibCST-side model, ``Semantic``), ``locks``
and ``spawn`` (what groups of rules share), ``cstutil`` (LibCST helpers), ``walk``,
``positions`` and ``parsing`` (traversal, positions, shielded parsing).

``Semantic`` is imported from here; it is loaded on first use, so that importing the
LibCST-free modules (``catalogue``, ``facts``) does not import LibCST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conclint.analysis.types import Semantic

__all__ = ["Semantic"]


def __getattr__(name: str) -> Any:
    if name == "Semantic":
        from conclint.analysis.types import Semantic

        return Semantic
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
