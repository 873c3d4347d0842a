"""Bundled rules: every ``cclNNN_<name>.py`` module here registers one rule."""

from __future__ import annotations

import importlib
import pkgutil
import re

_MODULE_RE = re.compile(r"^ccl\d{3}_[a-z0-9_]+$")
_loaded = False


def module_names() -> list:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if _MODULE_RE.match(m.name))


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for name in module_names():
        importlib.import_module(f"{__name__}.{name}")
    _loaded = True
