"""A loop that spins on thread, process, lock, event or queue state instead of blocking."""

from __future__ import annotations

import ast
from typing import Any, FrozenSet, Mapping, Optional, Tuple

import libcst as cst

from conclint.analysis import Semantic
from conclint.analysis.catalogue import EVENT_TYPES, LOCK_TYPES, QUEUE_TYPES, SEMAPHORE_TYPES, WORKER_TYPES
from conclint.analysis.cstutil import dotted, has_comments, int_value, is_call_on, touched_names
from conclint.analysis.facts import Facts, callee_name, terminals
from conclint.interest import Calls, Either, Imports, Interest, Methods, Syntax
from conclint.rule import Applicability, Rule

# A sleep at most this long inside the loop still counts as spinning.
SHORT_SLEEP = 0.1
_COUNT_FUNCTIONS = frozenset({"threading.active_count", "threading.activeCount"})
_COUNT_CALLEES = terminals(_COUNT_FUNCTIONS)
_ENUMERATE = terminals({"threading.enumerate"})
_SLEEP = terminals({"time.sleep"})
# What a loop may poll: (kind, methods, receiver types, polled negated, advice).
_STATE_POLLS = (
    ("event", frozenset({"is_set", "isSet"}), EVENT_TYPES, True, "an event; call `.wait()` instead"),
    ("alive", frozenset({"is_alive", "isAlive"}), WORKER_TYPES, False, "`is_alive()`; call `.join()` instead"),
    (
        "locked", frozenset({"locked"}), LOCK_TYPES | SEMAPHORE_TYPES, False,
        "`locked()`; block on the lock or wait on an Event/Condition instead",
    ),
    ("empty", frozenset({"empty"}), QUEUE_TYPES, False, "`empty()`; call `.get()` (with a timeout) instead"),
    (
        "drained", frozenset({"empty"}), QUEUE_TYPES, True,
        "`not empty()`; wait for the consumers instead (`.join()` with `task_done()`, or join their threads)",
    ),
)


class BusyWait(Rule):
    """A ``while`` loop that polls concurrency state instead of blocking on it."""

    code = "CCL202"
    name = "busy-wait"
    message = "busy-wait loop burns CPU; block instead"
    fix = Applicability.SAFE
    interest = Interest(
        Imports("threading", "multiprocessing", "_thread", "thread", "queue"),
        Syntax("while"),
        Either(Calls(*_COUNT_FUNCTIONS, "threading.enumerate"), Methods(*(m for _, methods, _, _, _ in _STATE_POLLS for m in methods))),
    )

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # `while` on the thread count or on a state method of an object of a type the file
        # may hold, with a body that only passes, prints or sleeps.
        counts = facts.names_for(_COUNT_CALLEES)
        enumerates = facts.names_for(_ENUMERATE)
        sleeps = facts.names_for(_SLEEP)
        for loop in facts.loops:
            if type(loop) is not ast.While:
                continue
            test = loop.test
            if type(test) is ast.UnaryOp and type(test.op) is ast.Not:
                test = test.operand
            if type(test) is ast.Compare:
                left = test.left
                polls = type(left) is ast.Call and (
                    callee_name(left.func) in counts
                    or (
                        type(left.func) is ast.Name
                        and left.func.id == "len"
                        and len(left.args) == 1
                        and type(left.args[0]) is ast.Call
                        and callee_name(left.args[0].func) in enumerates
                    )
                )
            else:
                polls = (
                    type(test) is ast.Call
                    and type(test.func) is ast.Attribute
                    and not test.args
                    and not test.keywords
                    and any(
                        test.func.attr in methods and facts.may_hold(types) for _, methods, types, _, _ in _STATE_POLLS
                    )
                )
            if polls and all(_idles(statement, sleeps) for statement in loop.body):
                return True
        return False

    def visit_While(self, node: cst.While) -> None:
        what = self._spin_condition(node.test)
        if what is None:
            return
        kind, receiver, advice = what
        body = _body_kind(node, self.sem)
        if body is None:
            return
        message = f"busy-wait on {advice}"
        if (
            body == "empty"
            and node.orelse is None
            and receiver is not None
            and kind in ("event", "alive")
            and not _comments_below_header(node)
        ):
            method = "wait" if kind == "event" else "join"
            call = cst.Expr(
                value=cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(method)))
            )
            trailing = cst.TrailingWhitespace()
            if isinstance(node.body, cst.IndentedBlock):
                trailing = node.body.header
            replacement = cst.SimpleStatementLine(body=[call], leading_lines=node.leading_lines, trailing_whitespace=trailing)
            # `join()` raises on a thread or process never started, where the loop just ends:
            # the same only after a `start()` the loop's block runs first.
            started = kind == "event" or self._started_before(node, receiver)
            self.report(
                node, message, replacement=replacement, fix_message=f"Replace the loop with `.{method}()`",
                applicability=None if started else Applicability.UNSAFE,
            )
            return
        self.report(node, message)

    def _started_before(self, node: cst.While, receiver: cst.BaseExpression) -> bool:
        """Whether ``receiver.start()`` is a statement of the loop's own block, above it."""
        stack = self.sem.stack
        block = stack[-2] if len(stack) >= 2 else None
        if not isinstance(block, (cst.IndentedBlock, cst.Module)) or node not in block.body:
            return False
        before = block.body[: block.body.index(node)]
        for index in range(len(before) - 1, -1, -1):  # the last start() above the loop
            statement = before[index]
            if isinstance(statement, cst.SimpleStatementLine) and any(
                isinstance(small, cst.Expr) and is_call_on(small, receiver, ("start",)) for small in statement.body
            ):
                # ... and nothing between them may make the name another thread (`t = Thread()`).
                root = dotted(receiver)
                touched = {name for later in before[index + 1:] for name in touched_names(later)}
                return root is not None and root.partition(".")[0] not in touched and "*" not in touched
        return False

    def _spin_condition(self, test: cst.BaseExpression) -> Optional[Tuple[str, Optional[cst.BaseExpression], str]]:
        """(kind, receiver, description) when ``test`` polls concurrency state."""
        negated = False
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, negated = test.expression, True
        if isinstance(test, cst.Comparison):
            if isinstance(test.left, cst.Call) and self._is_thread_count(test.left):
                return ("count", None, "`threading.active_count()`; join the threads instead")
            return None
        if not isinstance(test, cst.Call) or not isinstance(test.func, cst.Attribute) or test.args:
            return None
        receiver, method = test.func.value, test.func.attr.value
        type_ = self.sem.type_of(receiver)
        if type_ is None:
            return None
        for kind, methods, types, when_negated, advice in _STATE_POLLS:
            if method in methods and negated == when_negated and type_ in types:
                return (kind, receiver, advice)
        return None

    def _is_thread_count(self, call: cst.Call) -> bool:
        qualname = self.sem.qualname(call.func)
        if qualname in _COUNT_FUNCTIONS:
            return True
        # len(threading.enumerate())
        return (
            isinstance(call.func, cst.Name)
            and call.func.value == "len"
            and len(call.args) == 1
            and isinstance(call.args[0].value, cst.Call)
            and self.sem.qualname(call.args[0].value.func) == "threading.enumerate"
        )


def _body_kind(node: cst.While, sem: Semantic) -> Optional[str]:
    """"empty" (pass/.../continue only), "polling" (prints or short sleeps), None otherwise."""
    statements = []
    body = node.body
    if isinstance(body, cst.SimpleStatementSuite):
        statements = list(body.body)
    else:
        for stmt in body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                return None
            statements.extend(stmt.body)
    kind = "empty"
    for small in statements:
        if isinstance(small, (cst.Pass, cst.Continue)):
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Ellipsis):
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            if isinstance(call.func, cst.Name) and call.func.value == "print":
                kind = "polling"
                continue
            if sem.qualname(call.func) == "time.sleep" and _short(call):
                kind = "polling"
                continue
        return None
    return kind


def _comments_below_header(node: cst.While) -> bool:
    if isinstance(node.body, cst.IndentedBlock):
        return any(has_comments(stmt) for stmt in node.body.body) or bool(node.body.footer)
    return has_comments(node.body)


def _short(call: cst.Call) -> bool:
    if not call.args:
        return True
    value = call.args[0].value
    if isinstance(value, cst.Float):
        try:
            return float(value.value) <= SHORT_SLEEP
        except ValueError:
            return False
    number = int_value(value)
    return number == 0


def _idles(statement: ast.AST, sleeps: FrozenSet[str]) -> bool:
    """CPython's view of a statement ``_body_kind`` accepts: pass, continue, ..., print, sleep."""
    if type(statement) in (ast.Pass, ast.Continue):
        return True
    if type(statement) is not ast.Expr:
        return False
    value = statement.value
    if type(value) is ast.Constant:
        return value.value is Ellipsis
    return type(value) is ast.Call and (
        (type(value.func) is ast.Name and value.func.id == "print") or callee_name(value.func) in sleeps
    )
