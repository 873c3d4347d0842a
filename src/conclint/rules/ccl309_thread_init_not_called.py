"""A Thread/Process subclass whose ``__init__`` never calls the base ``__init__``."""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from conclint.analysis.catalogue import WORKER_TYPES
from conclint.analysis.cstutil import walk
from conclint.analysis.facts import terminals
from conclint.interest import Imports, Interest, Subclasses
from conclint.rule import Applicability, Rule

_WORKERS = terminals(WORKER_TYPES)


class ThreadInitNotCalled(Rule):
    """``start()`` on such an object raises RuntimeError: the Thread was never initialized."""

    code = "CCL309"
    name = "thread-init-not-called"
    message = "`__init__` never calls the base `__init__`: `start()` raises RuntimeError"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("threading", "multiprocessing"), Subclasses(*WORKER_TYPES, overriding="__init__", calling_base=False))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = self.sem.enclosing_class()
        if info is None or info.node is not node or info.base_type not in WORKER_TYPES:
            return
        init = info.methods.get("__init__")
        if init is None or not isinstance(init.body, cst.IndentedBlock) or _calls_an_init(init):
            return
        base = {"multiprocessing.Process": "Process", "threading.Timer": "Timer"}.get(info.base_type or "", "Thread")
        message = f"`{info.name}.__init__` never calls `{base}.__init__`: `start()` raises RuntimeError"
        if info.base_type == "threading.Timer" or not any(self.sem.qualname(b.value) in WORKER_TYPES for b in node.bases):
            # A Timer's __init__ needs the interval and the function; a local base class's
            # may need arguments too: no call to write without knowing them.
            self.report(init.name, message)
            return
        body = list(init.body.body)
        first = body[0] if body else None
        if isinstance(first, cst.SimpleStatementLine) and len(first.body) > 1 and _is_docstring(first.with_changes(body=first.body[:1])):
            # `"""Doc."""; self.job = job`: the call would have to go between the two.
            self.report(init.name, message)
            return
        at = 1 if body and _is_docstring(body[0]) else 0
        body.insert(at, cst.parse_statement("super().__init__()\n"))
        self.report(
            init.name,
            message,
            changes={init: init.with_changes(body=init.body.with_changes(body=body))},
            fix_message="Call `super().__init__()` first",
        )


def _calls_an_init(function: cst.FunctionDef) -> bool:
    """Any ``X.__init__(...)`` counts: ``super().__init__``, ``Thread.__init__(self)``, or a mixin's
    ``__init__`` that chains to the base cooperatively; but not ``super(Cls).__init__()``: a
    one-argument ``super`` is unbound, and initializes nothing of ``self``."""
    return any(
        isinstance(n, cst.Call)
        and isinstance(n.func, cst.Attribute)
        and n.func.attr.value == "__init__"
        and not _unbound_super(n.func.value)
        for n in walk(function.body)
    )


def _unbound_super(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "super"
        and len(node.args) == 1
        and not node.args[0].star
        and node.args[0].keyword is None
    )


def _is_docstring(statement: cst.BaseStatement) -> bool:
    body: Sequence[cst.BaseSmallStatement] = statement.body if isinstance(statement, cst.SimpleStatementLine) else ()
    return len(body) == 1 and isinstance(body[0], cst.Expr) and isinstance(body[0].value, cst.BaseString)
