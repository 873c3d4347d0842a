"""``thread.run()`` where ``thread.start()`` was meant."""

from __future__ import annotations


import libcst as cst

from conclint.analysis.catalogue import PROCESS_TYPES, WORKER_TYPES
from conclint.interest import Imports, Interest, Methods, NOT_OWN_SELF
from conclint.rule import Applicability, Rule


class RunInsteadOfStart(Rule):
    """``.run()`` on a Thread/Process object from outside its class runs it synchronously."""

    code = "CCL305"
    name = "run-instead-of-start"
    message = "`.run()` runs the thread's work here, in the caller; `.start()` runs it in a new thread"
    fix = Applicability.UNSAFE
    interest = Interest(Imports("threading", "multiprocessing"), Methods("run", on=WORKER_TYPES, bare=True, receiver=NOT_OWN_SELF))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "run" or node.args:
            return
        receiver = func.value
        # `self.run()` and `super().run()` are the class calling its own code; `Thread.run(self)`
        # names the class, not an object, so its type is unknown and it is skipped too.
        if self.sem.is_self(receiver):
            return
        type_ = self.sem.type_of(receiver)
        if type_ not in WORKER_TYPES:
            return
        kind = "process" if type_ in PROCESS_TYPES else "thread"
        self.report(
            func.attr,
            f"`.run()` runs the {kind}'s work here, in the caller; `.start()` runs it in a new {kind}",
            replacement=func.attr.with_changes(value="start"),
            fix_message="Call `.start()`",
        )

