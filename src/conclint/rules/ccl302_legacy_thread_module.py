"""``import thread`` (Python 2) and direct calls into the low-level ``_thread`` API."""

from __future__ import annotations

from typing import Any, List, Set, Tuple, Union

import libcst as cst

from conclint.analysis.cstutil import dotted, identifier
from conclint.analysis.facts import terminals
from conclint.gate import imports_name
from conclint.interest import Calls, Either, Imports, Interest, Text
from conclint.rule import Rule

# `_thread.allocate_lock()` is not here: it is the very object `threading.Lock` names, so
# calling it changes nothing. A thread from `start_new_thread` is invisible to `threading`.
_START_NEW_THREAD = frozenset({"_thread.start_new_thread", "_thread.start_new"})
_START_NEW_THREAD_CALLEES = terminals(_START_NEW_THREAD)


def _may_use_thread_module(data: bytes) -> bool:
    """``import thread``/``from thread import`` (the word, not ``_thread``), or a
    ``start_new_thread``/``start_new`` call into ``_thread``."""
    return b"start_new" in data or imports_name(data, b"thread")
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


class LegacyThreadModule(Rule):
    """The Python 2 ``thread`` module, or ``_thread`` used where ``threading`` belongs."""

    code = "CCL302"
    name = "legacy-thread-module"
    message = "`thread` is the Python 2 module (absent in Python 3); use `threading`"
    # The module must be imported somewhere (also `import os, \\\n thread`).
    interest = Interest(Text(_may_use_thread_module), Either(Imports("thread"), Calls(*_START_NEW_THREAD, unless_beside=("wait_threads_exit",))))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A Python 2 file gets one finding, on its import, not one per `thread.` call.
        self.python2_import = False
        # The calls starting threads, with the class around each (by id; 0: the module), and
        # the classes (or the module) that wait for `_thread`'s threads: see `visit_Call`.
        self.started: List[Tuple[cst.Call, int]] = []
        self.waiting_scopes: Set[int] = set()

    def visit_Import(self, node: cst.Import) -> None:
        if any(dotted(alias.name) == "thread" for alias in node.names):
            self._report_import(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not node.relative and node.module is not None and dotted(node.module) == "thread":
            self._report_import(node)

    def _report_import(self, node: Union[cst.Import, cst.ImportFrom]) -> None:
        if self._in_import_fallback():
            return  # `try: import thread / except ImportError: import _thread as thread`, or the reverse
        self.python2_import = True
        self.report(node)

    def _in_import_fallback(self) -> bool:
        stack = self.sem.stack
        for i, ancestor in enumerate(stack[:-1]):
            if isinstance(ancestor, cst.Try) and stack[i + 1] is ancestor.body:
                if any(_catches_import_error(h) for h in ancestor.handlers):
                    return True
            if isinstance(ancestor, cst.ExceptHandler) and _catches_import_error(ancestor):
                return True
        return False

    def visit_Call(self, node: cst.Call) -> None:
        # A module defining its own `Thread` class implements the thread layer on top of
        # `_thread` (the stdlib's threading.py, gevent's): there the call is the point.
        if self.python2_import or "Thread" in self.sem.classes:
            return
        # Code testing `_thread` itself waits for the threads it starts: with CPython's
        # `threading_helper.wait_threads_exit()`, or by polling `_thread._count()`. Such a
        # wait anywhere in the class around the call (or in the module) clears its calls.
        info = self.sem.enclosing_class()
        scope = id(info.node) if info is not None else 0
        name = _last_name(node.func)
        if name == "wait_threads_exit" or (name == "_count" and self.sem.qualname(node.func) == "_thread._count"):
            self.waiting_scopes.add(scope)
        elif self.sem.qualname(node.func) in _START_NEW_THREAD:
            self.started.append((node, scope))

    def leave_Module(self, original_node: cst.Module) -> None:
        for call, scope in self.started:
            if scope not in self.waiting_scopes:
                self.report(
                    call,
                    "`_thread.start_new_thread()` starts a thread `threading` does not know: it cannot be "
                    "joined, is not waited for at exit, and its exceptions bypass `threading.excepthook`; "
                    "use `threading.Thread`",
                )


def _last_name(func: cst.BaseExpression) -> str:
    # As CPython reads it (NFKC): the gate finds the waiting call in CPython's tree.
    return identifier((dotted(func) or "").rsplit(".", 1)[-1])


def _catches_import_error(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [cst.Element(handler.type)]
    return any(dotted(t.value) in _IMPORT_ERRORS for t in types)
