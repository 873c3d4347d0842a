"""``lock.acquire()`` whose release is not guaranteed on every path."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from conclint.fixes import replace_statements, with_statement
from conclint.locks import lock_receiver, released_in_scope, releases_in_finally
from conclint.rule import Applicability, Rule
from conclint.treeutil import has_comments, index_of, is_call_on, only_statement, walk

class AcquireWithoutRelease(Rule):
    """An ``acquire()`` not paired with a guaranteed ``release()``."""

    code = "CCL201"
    name = "acquire-without-release"
    message = "lock acquired without a guaranteed release: an exception or early return leaves it held"
    fix = Applicability.UNSAFE
    triggers = (r"threading|multiprocessing|_thread|\bthread\b", r"\.acquire\(")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "acquire":
            return
        stack = self.sem.stack
        # A conditional acquire (`if lock.acquire(timeout=1):`) is the caller's business.
        if len(stack) < 4 or not isinstance(stack[-2], cst.Expr) or not isinstance(stack[-3], cst.SimpleStatementLine):
            return
        receiver = func.value
        if not lock_receiver(self, receiver):
            return
        line, block = stack[-3], stack[-4]
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            return
        index = index_of(block, line)
        if index is None:
            return
        following = block.body[index + 1] if index + 1 < len(block.body) else None
        if following is not None and releases_in_finally(following, receiver):
            return  # acquire(); try: ... finally: release() -- correct (CCL207 suggests `with`)
        for ancestor in reversed(stack[:-4]):
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)):
                break
            if releases_in_finally(ancestor, receiver) and _inside_try_body(stack, ancestor):
                return
        if not released_in_scope(self.sem, receiver):
            return  # acquired here, released elsewhere (a hand-off or __enter__): not ours to judge
        release_index = self._paired_release(block, index, receiver)
        if release_index == index + 1:
            return  # acquire(); release(): waits for the lock to be free, nothing in between can raise
        if release_index is None:
            self.report(func.attr)
            return
        with_node = with_statement(receiver, line, block.body[index + 1: release_index])
        self.report(
            func.attr,
            changes={block: replace_statements(block, index, release_index + 1, [with_node])},
            fix_message="Use `with` to hold the lock",
        )

    def _paired_release(self, block, index: int, receiver: cst.BaseExpression) -> Optional[int]:  # type: ignore[no-untyped-def]
        """Index of the one ``receiver.release()`` statement closing the critical section in ``block``."""
        for j in range(index + 1, len(block.body)):
            stmt = block.body[j]
            small = only_statement(stmt)
            if small is not None and is_call_on(small, receiver, ("release",)) and not small.value.args:
                if has_comments(stmt):
                    return None
                return j
            if any(is_call_on(n, receiver, ("acquire", "release")) for n in walk(stmt)):
                return None
        return None


def _inside_try_body(stack, try_node: cst.Try) -> bool:  # type: ignore[no-untyped-def]
    position = stack.index(try_node)
    return position + 1 < len(stack) and stack[position + 1] is try_node.body
