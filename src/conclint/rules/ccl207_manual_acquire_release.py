"""``lock.acquire()`` directly followed by ``try: ... finally: lock.release()``: spell it ``with lock:``."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from conclint.analysis.catalogue import ACQUIRABLE_TYPES
from conclint.analysis.cstutil import index_of, is_call_on, only_statement
from conclint.analysis.locks import statement_call
from conclint.fixes import replace_statements, with_statement
from conclint.interest import Imports, Interest, Methods, Syntax
from conclint.rule import Applicability, Rule


class ManualAcquireRelease(Rule):
    """The verbose but correct acquire/try/finally/release idiom."""

    code = "CCL207"
    name = "manual-acquire-release"
    message = "`acquire()` with `try/finally: release()` is what `with` does; use `with lock:`"
    fix = Applicability.SAFE
    # Correct code written the long way: a style choice, off by default as ruff keeps its
    # opinionated rules (43 of 125 findings on the real packages measured were this rule).
    default_enabled = False
    interest = Interest(Imports("threading", "multiprocessing", "_thread", "thread", "dummy_threading"), Methods("acquire", on=ACQUIRABLE_TYPES, statement=True), Syntax("finally"))

    def visit_Call(self, node: cst.Call) -> None:
        receiver = statement_call(self.sem, node, ("acquire",))
        # acquire(timeout=...) / acquire(False) may fail: `with` cannot express that.
        if receiver is None or node.args:
            return
        # Only known types: a lock-like name may lack __enter__ (importlib's _ModuleLock does).
        if self.sem.type_of(receiver) not in ACQUIRABLE_TYPES:
            return
        line, block = self.sem.stack[-3], self.sem.stack[-4]
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            return
        index = index_of(block, line)
        if index is None:
            return
        following = block.body[index + 1] if index + 1 < len(block.body) else None
        if not isinstance(following, cst.Try) or following.finalbody is None:
            return
        final = following.finalbody.body
        if not isinstance(final, cst.IndentedBlock):
            return
        releases = [i for i, stmt in enumerate(final.body) if _is_release(stmt, receiver)]
        if len(releases) != 1:
            return  # no release at the top of the finally (a conditional one is not `with`'s job)
        built = _with_block(receiver, line, following, final, releases[0])
        if built is None:
            self.report(node)
            return
        # A fix that drops a comment of the removed try/finally is offered as unsafe (by
        # Rule.report, for every rule).
        self.report(
            node,
            changes={block: replace_statements(block, index, index + 2, [built])},
            fix_message="Use `with` to hold the lock",
        )


def _is_release(stmt: cst.CSTNode, receiver: cst.BaseExpression) -> bool:
    small = only_statement(stmt)
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and is_call_on(small, receiver, ("release",))
        and not small.value.args
    )


def _with_block(
    receiver: cst.BaseExpression, line: cst.CSTNode, try_node: cst.Try, final: cst.IndentedBlock, release: int
) -> Optional[cst.With]:
    """``with receiver:`` replacing the acquire line and the try; None when the edit would
    change behaviour."""
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    if try_node.finalbody is None:  # (it is the one holding ``final``)
        return None
    if release != len(final.body) - 1:
        return None  # statements after the release would run under the lock
    rest = list(final.body[:release])
    if rest or try_node.handlers:
        finalbody = try_node.finalbody.with_changes(body=final.with_changes(body=rest)) if rest else None
        inner: List[cst.BaseStatement] = [try_node.with_changes(finalbody=finalbody)]
    else:
        body = try_node.body
        if not isinstance(body, cst.IndentedBlock):
            return None
        inner = list(body.body)
    return with_statement(receiver, line, inner)
