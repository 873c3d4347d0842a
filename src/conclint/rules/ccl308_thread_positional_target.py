"""``Thread(f)``: the first positional parameter of Thread and Process is ``group``, not ``target``."""

from __future__ import annotations


import libcst as cst

from conclint.analysis.spawn import SPAWN_CONSTRUCTORS
from conclint.fixes import keyword_arg
from conclint.interest import Argument, Calls, Imports, Interest, NOT_NONE
from conclint.rule import Applicability, Rule

# Timer's first parameter is the interval; only these take `group` first.
_GROUP_FIRST = frozenset(name for name in SPAWN_CONSTRUCTORS if name != "threading.Timer")
# A call of one of them with something in the `group` place (never None, never starred).
GIVEN_GROUP = Calls(*_GROUP_FIRST, argument=Argument(NOT_NONE, positions=range(1), keywords=()), subclasses=False)


class ThreadPositionalTarget(Rule):
    """The function is passed positionally to Thread/Process, where it lands in ``group``."""

    code = "CCL308"
    name = "thread-positional-target"
    message = "the first positional parameter of `Thread` is `group`; pass the function as `target=`"
    fix = Applicability.SAFE
    interest = Interest(Imports("threading", "multiprocessing"), GIVEN_GROUP)

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        qualname = self.sem.qualname(node.func)
        if qualname not in _GROUP_FIRST:
            return
        first = node.args[0]
        if first.keyword is not None or first.star or (isinstance(first.value, cst.Name) and first.value.value == "None"):
            return
        if any(a.keyword is not None and a.keyword.value == "target" for a in node.args):
            return  # the target is given: what comes first is meant as the group (None, or it fails at once)
        kind = qualname.rsplit(".", 1)[1]
        message = f"the first positional parameter of `{kind}` is `group`; pass the function as `target=`"
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if len(positional) != 1 or any(a.star for a in node.args):
            self.report(node, message)
            return
        target = keyword_arg("target", first.value).with_changes(comma=first.comma)
        self.report(node, message, changes={first: target}, fix_message="Pass it as `target=`")
