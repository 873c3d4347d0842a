"""Bundled rules: every ``cclNNN_<name>.py`` module here registers one rule."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Dict, List

_MODULE_RE = re.compile(r"^ccl\d{3}_[a-z0-9_]+$")
_loaded = False


def module_names() -> List[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if _MODULE_RE.match(m.name))


def catalogue() -> Dict[str, str]:
    """Rule code -> name from the module file names alone, importing nothing (so that
    selection and cache keys cost no LibCST import; a test checks names match classes)."""
    out = {}
    for module in module_names():
        number, _, rest = module.partition("_")
        out[number.upper()] = rest.replace("_", "-")
    return out


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for name in module_names():
        importlib.import_module(f"{__name__}.{name}")
    _loaded = True
