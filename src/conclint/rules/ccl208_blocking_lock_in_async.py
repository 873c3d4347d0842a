"""A thread lock held across an ``await``: the event loop thread blocks on it."""

from __future__ import annotations

import ast
from typing import Any, Mapping

import libcst as cst

from conclint.analysis.cstutil import index_of, is_call_on, walk_scope
from conclint.analysis.facts import Facts, async_functions, method_receiver, statement_method_call
from conclint.analysis.locks import lock_receiver, may_be_lock, statement_call
from conclint.interest import Imports, Interest, Syntax, Text
from conclint.rule import Rule


def _awaits(node: cst.CSTNode) -> bool:
    """Whether ``node`` suspends the coroutine (``await``, ``async for``, ``async with``)."""
    for n in walk_scope(node):
        if isinstance(n, cst.Await) or (isinstance(n, (cst.For, cst.With, cst.CompFor)) and n.asynchronous is not None):
            return True
    return False


def _suspends(node: ast.AST) -> bool:
    """CPython's view of what ``_awaits`` looks for."""
    kind = type(node)
    return kind in (ast.Await, ast.AsyncFor, ast.AsyncWith) or (isinstance(node, ast.comprehension) and bool(node.is_async))


class BlockingLockInAsync(Rule):
    """A ``threading``/``multiprocessing`` lock acquired in ``async def`` around an ``await``."""

    code = "CCL208"
    name = "blocking-lock-in-async"
    message = "thread lock held across `await`: other coroutines on this loop block on it; use `asyncio.Lock`"
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), Syntax("async def"), Text(r"await|async\s+(for|with)"))

    @classmethod
    def could_report(cls, facts: Facts, options: Mapping[str, Any]) -> bool:
        # In an `async def`: a (sync) `with` on something that may be a lock around a suspension
        # point, or `x.acquire()` on one.
        for function in async_functions(facts):
            for node in ast.walk(function):
                call = statement_method_call(node, ("acquire",))
                if call is not None and may_be_lock(facts, method_receiver(call), function):
                    return True
                if (
                    type(node) is ast.With
                    and any(may_be_lock(facts, item.context_expr, facts.scope[item]) for item in node.items)
                    and any(_suspends(n) for s in node.body for n in ast.walk(s))
                ):
                    return True
        return False

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None or not self.sem.in_async_function or not _awaits(node.body):
            return
        for item in node.items:
            if lock_receiver(self, item.item):
                self.report(item)

    def visit_Call(self, node: cst.Call) -> None:
        receiver = statement_call(self.sem, node, ("acquire",))
        if receiver is None or not self.sem.in_async_function or not lock_receiver(self, receiver):
            return
        line, block = self.sem.stack[-3], self.sem.stack[-4]
        if not isinstance(block, cst.IndentedBlock):
            return
        index = index_of(block, line)
        # The critical section: the statements after the acquire, up to the one that releases.
        for stmt in block.body[index + 1:] if index is not None else ():
            if _awaits(stmt):
                self.report(node)
                return
            if any(is_call_on(n, receiver, ("release",)) for n in walk_scope(stmt)):
                return
