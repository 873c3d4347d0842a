"""``args=(x)`` or ``args="abc"``: not the one-element tuple that was meant."""

from __future__ import annotations

import ast

import libcst as cst

from conclint.analysis.cstutil import get_arg
from conclint.analysis.spawn import SPAWN_CONSTRUCTORS, SPAWNING_RECEIVERS, constructor_slots, method_slots, spawn_signature
from conclint.fixes import tuple_of
from conclint.interest import Argument, Calls, Either, Imports, Interest, Methods, ONE_VALUE
from conclint.rule import Applicability, Rule

# Iterables that are fine as the argument sequence, parenthesized or not.
_SEQUENCES = (cst.Tuple, cst.List, cst.ListComp, cst.GeneratorExp)
_AST_SEQUENCES = (ast.Tuple, ast.List, ast.ListComp, ast.GeneratorExp)
# Literals that iterate element by element: a string gives one argument per character.
_SCALARS = (cst.BaseString, cst.BaseNumber)


# Where the calls take the argument tuple; it is reported only when parenthesized or a
# string or number literal.
_ARGS_AT, _ARGS_NAMED = constructor_slots("args")
_ARGS_METHODS, _METHOD_ARGS_AT, _METHOD_ARGS_NAMED = method_slots("args")


class ArgsNotATuple(Rule):
    """The ``args`` of a Thread/Process/Timer/pool call is a parenthesized value or a scalar literal."""

    code = "CCL304"
    name = "args-not-a-tuple"
    message = "`args` is not a tuple: `(x)` is just `x`; write `(x,)`"
    fix = Applicability.SAFE
    interest = Interest(
        Imports("threading", "multiprocessing", "concurrent", "_thread", "thread"),
        Either(
            Calls(*SPAWN_CONSTRUCTORS, argument=Argument(ONE_VALUE, positions=_ARGS_AT, keywords=_ARGS_NAMED)),
            Methods(*_ARGS_METHODS, on=SPAWNING_RECEIVERS, argument=Argument(ONE_VALUE, positions=_METHOD_ARGS_AT, keywords=_METHOD_ARGS_NAMED)),
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        signature = spawn_signature(self.sem, node)
        if signature is None or signature.args is None:
            return
        arg = get_arg(node, *signature.args)
        if arg is None or arg.star:
            return
        value = arg.value
        if isinstance(value, _SEQUENCES):
            return
        if value.lpar:
            message = "`args=(x)` is `x`, not a tuple: the parentheses make no tuple without a comma; write `(x,)`"
        elif isinstance(value, _SCALARS):
            message = "`args` is a single value, not a tuple: a string gives one argument per character; write `(x,)`"
        else:
            return  # a name or call: may well hold a tuple
        # Safe where the value cannot be a tuple (a literal); `(pair())` or `(self.args)` may
        # hold one already, and wrapping it would pass the tuple as a single argument.
        applicability = Applicability.SAFE if isinstance(value, _SCALARS) else Applicability.UNSAFE
        self.report(
            value, message, replacement=tuple_of([value]), fix_message="Make it a one-element tuple",
            applicability=applicability,
        )
