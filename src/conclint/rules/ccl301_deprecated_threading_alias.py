"""Deprecated camelCase threading aliases (setDaemon, getName, isSet, currentThread...)."""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Optional, Set, Tuple

import libcst as cst

from conclint.analysis.catalogue import CONDITION_TYPES, THREAD_TYPES, WORKER_TYPES
from conclint.analysis.cstutil import dotted, statement_expr, watched_by_test
from conclint.interest import All, Either, Imports, Interest, Methods, Text
from conclint.rule import Applicability, Rule

# method -> (receiver types, replacement kind, new name)
_METHODS: Dict[str, Tuple[FrozenSet[str], str, str]] = {
    "setDaemon": (THREAD_TYPES, "setter", "daemon"),
    "isDaemon": (THREAD_TYPES, "getter", "daemon"),
    "getName": (THREAD_TYPES, "getter", "name"),
    "setName": (THREAD_TYPES, "setter", "name"),
    "isAlive": (THREAD_TYPES, "method", "is_alive"),
    "isSet": (frozenset({"threading.Event"}), "method", "is_set"),
    "notifyAll": (CONDITION_TYPES - {"multiprocessing.Condition"}, "method", "notify_all"),
}
# Only these are unambiguous enough to flag on a receiver of unknown type.
# (isSet: no other class of the stdlib, PyPI packages measured or GitHub code labelled has one;
# see docs/precision.md.) Their fixes are unsafe there: the receiver might not be a thread.
_UNAMBIGUOUS = frozenset({"setDaemon", "isDaemon", "isSet"})
_FUNCTIONS = {
    "threading.currentThread": "current_thread",
    "threading.activeCount": "active_count",
}
_FUNCTION_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in _FUNCTIONS)


class DeprecatedThreadingAlias(Rule):
    """A camelCase threading alias deprecated since Python 3.10 (or removed, like isAlive)."""

    code = "CCL301"
    name = "deprecated-threading-alias"
    message = "deprecated threading alias"
    fix = Applicability.SAFE
    # setDaemon/isDaemon are reported on any receiver; the other names only where threading
    # (or multiprocessing) is imported, also at the import itself (`from threading import
    # currentThread`).
    interest = Interest(
        Either(
            Methods(*_UNAMBIGUOUS),
            All(Imports("threading", "multiprocessing"), Text("|".join(sorted({*_METHODS, *_FUNCTION_NAMES})))),
        )
    )

    def visit_Call(self, node: cst.Call) -> None:
        # `with self.assertWarns(DeprecationWarning): t.isDaemon()` tests the alias on purpose.
        if watched_by_test(self.sem.stack):
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _METHODS:
            self._method(node, func)
            return
        qualname = self.sem.qualname(func)
        if qualname in _FUNCTIONS:
            new = _FUNCTIONS[qualname]
            old = qualname.rsplit(".", 1)[1]
            message = f"`{old}()` is deprecated since Python 3.10; use `{new}()`"
            if isinstance(func, cst.Attribute):
                self.report(func.attr, message, replacement=func.attr.with_changes(value=new), fix_message=f"Use `{new}()`")
            else:
                # `from threading import currentThread`: rename the import and its uses.
                self.report(func, message)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        parent = self.sem.parent
        if not isinstance(parent, cst.ImportFrom) or parent.module is None or parent.relative:
            return
        module = dotted(parent.module)
        if module != "threading" or not isinstance(node.name, cst.Name):
            return
        old = node.name.value
        new = _FUNCTIONS.get(f"threading.{old}")
        if new is None:
            return
        replacement = node.with_changes(name=cst.Name(new))
        if node.asname is None:
            # Keep every existing use working: import the new name under the old one.
            replacement = replacement.with_changes(
                asname=cst.AsName(name=cst.Name(old)),
                comma=node.comma,
            )
        self.report(
            node.name,
            f"`{old}` is deprecated since Python 3.10; import `{new}`",
            changes={node: replacement},
            fix_message=f"Import `{new}`",
        )

    def _method(self, call: cst.Call, func: cst.Attribute) -> None:
        method = func.attr.value
        types, kind, new = _METHODS[method]
        receiver_type = self.sem.type_of(func.value)
        if self.sem.qualname(func.value) in types:
            # Unbound, through the class: `threading.Thread.getName(self)`.
            self._unbound(func, method, kind, new)
            return
        if receiver_type not in types and not (receiver_type is None and method in _UNAMBIGUOUS):
            return
        if any(_may_define(info, method, self.sem) for info in self.sem.classes.values() if info.base_type in types):
            return  # a subclass in this file may define its own `getName()`: the call may be that one
        # On a receiver of unknown type, the renamed call might not exist: the fix is unsafe.
        applicability = Applicability.UNSAFE if receiver_type is None else None
        if kind == "method":
            message = f"`{method}()` is deprecated; use `{new}()`"
            if method == "isAlive":
                message = "`isAlive()` was removed in Python 3.9; use `is_alive()`"
            self.report(
                func.attr, message, replacement=func.attr.with_changes(value=new), fix_message=f"Use `{new}()`", applicability=applicability
            )
            return
        if kind == "getter":
            message = f"`{method}()` is deprecated since Python 3.10; use the `.{new}` attribute"
            if call.args:
                self.report(func.attr, message)
                return
            replacement = cst.Attribute(value=func.value, attr=cst.Name(new), dot=func.dot)
            replacement = replacement.with_changes(lpar=call.lpar, rpar=call.rpar)
            self.report(func.attr, message, changes={call: replacement}, fix_message=f"Use `.{new}`", applicability=applicability)
            return
        message = f"`{method}()` is deprecated since Python 3.10; assign `.{new} = ...`"
        statement = statement_expr(self.sem.stack, call)
        arg = call.args[0] if len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star else None
        if statement is None or arg is None:
            self.report(func.attr, message)
            return
        value = arg.value
        if not value.lpar and (
            isinstance(value, (cst.NamedExpr, cst.GeneratorExp)) or "\n" in cst.Module([]).code_for_node(value)
        ):
            # The call's parentheses were its own: bare on the right of `=`, `:=`, a generator
            # or a value over several lines (`"a"\n "b"`) is not Python.
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        assign = cst.Assign(
            targets=[cst.AssignTarget(target=cst.Attribute(value=func.value, attr=cst.Name(new), dot=func.dot))],
            value=value,
            semicolon=statement.semicolon,
        )
        self.report(func.attr, message, changes={statement: assign}, fix_message=f"Assign `.{new}`", applicability=applicability)

    def _unbound(self, func: cst.Attribute, method: str, kind: str, new: str) -> None:
        """``Thread.getName(t)``: a method is renamed in place; the attribute a getter or setter
        stands for has no unbound spelling as short, so those are reported without a fix."""
        if kind == "method":
            message = f"`{method}()` is deprecated; use `{new}()`"
            self.report(func.attr, message, replacement=func.attr.with_changes(value=new), fix_message=f"Use `{new}()`")
            return
        use = f"the `.{new}` attribute" if kind == "getter" else f"`.{new} = ...`"
        self.report(func.attr, f"`{method}()` is deprecated since Python 3.10; use {use}")


def _may_define(info: Any, method: str, sem: Any, seen: Optional[Set[int]] = None) -> bool:
    """Whether the class ``info`` (a thread subclass of the file) may define ``method`` itself:
    a def or an assignment in its body (`getName = custom`), or a base that may (one of the
    file's classes that does, or one from elsewhere, which nobody here can read)."""
    seen = seen if seen is not None else set()
    if id(info) in seen:
        return False
    seen.add(id(info))
    node = info.node
    if method in info.methods:
        return True
    for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        for small in getattr(statement, "body", ()) if isinstance(statement, cst.SimpleStatementLine) else ():
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else (
                [small.target] if isinstance(small, cst.AnnAssign) else []
            )
            if any(isinstance(t, cst.Name) and t.value == method for t in targets):
                return True
    for base in node.bases:
        name = dotted(base.value)
        local = sem.classes.get(name) if name is not None else None
        if local is not None:
            if _may_define(local, method, sem, seen):
                return True
        elif sem.qualname(base.value) not in WORKER_TYPES and name not in ("object", "Generic"):
            return True  # a base from elsewhere (a mixin): it may
    return False
