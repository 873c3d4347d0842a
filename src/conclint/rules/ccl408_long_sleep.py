"""``await asyncio.sleep(x)`` for more than a day: waiting for something that an Event would signal."""

from __future__ import annotations

import ast
import math
import operator
from typing import Callable, Dict, Optional, Type

import libcst as cst

from conclint.analysis import Semantic
from conclint.analysis.facts import Facts, callee_name
from conclint.interest import Argument, Calls, Imports, Interest, Shape
from conclint.rule import Rule

_DAY = 24 * 60 * 60
_OPERATORS: Dict[Type[cst.BaseBinaryOp], Callable[[float, float], float]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.Power: operator.pow,
}
# Names for "forever".
_INFINITE = frozenset({"math.inf", "sys.maxsize", "numpy.inf"})


def _seconds(sem: Semantic, expr: cst.BaseExpression) -> Optional[float]:
    """The value of a constant expression of numbers (``3600 * 48``, ``1e9``, ``math.inf``,
    ``float("inf")``); None for anything else."""
    if isinstance(expr, (cst.Integer, cst.Float)):
        return float(expr.evaluated_value)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Plus):
        return _seconds(sem, expr.expression)
    if isinstance(expr, cst.BinaryOperation) and type(expr.operator) in _OPERATORS:
        left, right = _seconds(sem, expr.left), _seconds(sem, expr.right)
        if left is None or right is None or (right == 0 and isinstance(expr.operator, cst.Divide)):
            return None
        try:
            return _OPERATORS[type(expr.operator)](left, right)
        except OverflowError:
            return math.inf
    if isinstance(expr, (cst.Name, cst.Attribute)) and sem.qualname(expr) in _INFINITE:
        return math.inf
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "float" and expr.args:
        text = expr.args[0].value
        if isinstance(text, cst.SimpleString) and str(text.evaluated_value).lower().lstrip("+") in ("inf", "infinity"):
            return math.inf
    return None


def _may_be_long(facts: Facts, expr: ast.expr, call: ast.Call) -> bool:
    """CPython's side of ``_seconds(...) > _DAY``, looser: a number over a day, arithmetic, a
    name ending in ``inf`` or ``maxsize``, a call of ``float``."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (int, float)) and expr.value > _DAY
    if isinstance(expr, (ast.Attribute, ast.Name)):
        return callee_name(expr) in ("inf", "maxsize")
    if isinstance(expr, ast.Call):
        return callee_name(expr.func) == "float"
    return isinstance(expr, (ast.BinOp, ast.UnaryOp))


def _long(sem: Semantic, expr: cst.BaseExpression) -> bool:
    seconds = _seconds(sem, expr)
    return seconds is not None and seconds > _DAY


LONG = Shape("a constant delay of over a day", _may_be_long, _long)
SLEEP = Calls(
    "asyncio.sleep", "anyio.sleep", "trio.sleep", argument=Argument(LONG, positions=range(1), keywords=("delay", "seconds"))
)


class LongSleep(Rule):
    """A coroutine sleeping for more than a day: it waits for something, and should say what."""

    code = "CCL408"
    name = "long-sleep"
    message = (
        "sleeping for more than a day: to wait until something happens, await an `asyncio.Event` "
        "(trio/anyio: `sleep_forever()`)"
    )
    interest = Interest(Imports("asyncio", "anyio", "trio"), SLEEP)

    def visit_Call(self, node: cst.Call) -> None:
        if SLEEP.matches(self.sem, node):
            self.report(node)
