"""``pool.apply_async(...)`` / ``executor.submit(...)`` whose result is dropped: worker errors vanish."""

from __future__ import annotations


import libcst as cst

from conclint.analysis.catalogue import POOL_TYPES
from conclint.analysis.cstutil import get_arg, statement_expr
from conclint.interest import Imports, Interest, Methods
from conclint.rule import Rule

_EXECUTOR_TYPES = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"})
_MP_POOL_TYPES = POOL_TYPES - _EXECUTOR_TYPES
# Methods whose exception only ever surfaces through the returned AsyncResult/Future.
_ASYNC_METHODS = {
    "apply_async": _MP_POOL_TYPES,
    "map_async": _MP_POOL_TYPES,
    "starmap_async": _MP_POOL_TYPES,
    "submit": _EXECUTOR_TYPES,
}
_FUTURE_MESSAGE = (
    "the Future is discarded: an exception in the worker vanishes silently "
    "(keep it and call result(), or add a done callback that checks exception())"
)


class LostAsyncException(Rule):
    """An async pool call used as a statement, with no ``error_callback``."""

    code = "CCL107"
    name = "lost-async-exception"
    message = "the result is discarded and there is no error_callback: an exception in the worker vanishes silently"
    interest = Interest(Imports("multiprocessing", "concurrent"), Methods(*_ASYNC_METHODS, statement=True))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _ASYNC_METHODS:
            return
        if statement_expr(self.sem.stack, node) is None or get_arg(node, "error_callback") is not None:
            return
        if self.sem.type_of(func.value) not in _ASYNC_METHODS[func.attr.value]:
            return
        self.report(node, _FUTURE_MESSAGE if func.attr.value == "submit" else None)
