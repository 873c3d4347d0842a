"""``Thread(target=f())``: the function runs now, in the caller, and its result becomes the target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, FrozenSet, Iterator, Mapping, Optional, Sequence

import libcst as cst

from conclint.analysis.catalogue import VALUE_BUILTINS, VALUE_METHODS
from conclint.analysis.cstutil import get_arg, has_comments, walk_scope
from conclint.analysis.scopes import Frame
from conclint.analysis.spawn import SPAWN_CONSTRUCTORS, SPAWNING_RECEIVERS, SpawnSignature, constructor_slots, method_slots, spawn_signature
from conclint.fixes import append_keyword, parenthesized, tuple_of
from conclint.interest import Argument, CALL_OF_NAMED, Calls, Either, Imports, Interest, Methods
from conclint.rule import Applicability, ProjectReport, Rule

if TYPE_CHECKING:
    from conclint.analysis.project import Project

# Return values that are certainly not callable: a function returning only these (or nothing)
# cannot be a factory of targets, so calling it in the target position is the bug.
_NOT_CALLABLE = (
    cst.BaseNumber, cst.BaseString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp,
    cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Comparison, cst.BinaryOperation, cst.UnaryOperation,
)


# A spawning call given a call of a named function where it takes the function to run.
_TARGET_AT, _TARGET_NAMED = constructor_slots("func")
_FUNCTION_METHODS, _FUNCTION_AT, _FUNCTION_NAMED = method_slots("func")
_CALLED_TARGET = Argument(CALL_OF_NAMED, positions=_TARGET_AT, keywords=_TARGET_NAMED)
_CALLED_FUNCTION = Argument(CALL_OF_NAMED, positions=_FUNCTION_AT, keywords=_FUNCTION_NAMED)


class TargetCalled(Rule):
    """The function meant to run in a thread/process/pool is called in the caller instead."""

    code = "CCL303"
    name = "target-called"
    message = "the target is called here, in the caller; its return value becomes the target"
    fix = Applicability.UNSAFE
    interest = Interest(
        Imports("threading", "multiprocessing", "concurrent", "_thread", "thread"),
        Either(
            Calls(*SPAWN_CONSTRUCTORS, argument=_CALLED_TARGET),
            Methods(*_FUNCTION_METHODS, on=SPAWNING_RECEIVERS, argument=_CALLED_FUNCTION),
        ),
    )

    # Across modules, in the project phase: a function of another module of the project that
    # returns nothing callable, called in the target's place (no fix offered there).
    project_part = True
    project_sites = "s"

    @classmethod
    def check(cls, project: "Project", options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        from conclint.analysis.project import NO_CALLABLE, SPAWN_RUN

        for spawned in project.spawned():
            if spawned.called and spawned.flags & SPAWN_RUN and spawned.kind == NO_CALLABLE:
                name = spawned.callee
                message = (
                    f"`{name}()` runs now, in the caller, and its result becomes the target (the function, "
                    f"in `{spawned.module}`, returns no function); pass `{name}` itself"
                )
                note = "the function is defined here"
                yield ProjectReport(cls.code, message, spawned.site, ((spawned.definition, note),))

    def visit_Call(self, node: cst.Call) -> None:
        signature = spawn_signature(self.sem, node)
        if signature is None:
            return
        func_arg = get_arg(node, *signature.func)
        if func_arg is None or not isinstance(func_arg.value, cst.Call):
            return
        called = func_arg.value
        function = self._local_function(called.func)
        if function is None or not _returns_no_callable(function, frozenset(self.sem.functions)):
            return
        name = function.name.value
        message = f"`{name}()` runs now, in the caller, and its result becomes the target; pass `{name}` itself"
        # (a comment among the call's arguments would be lost with its parentheses)
        fixed = None if has_comments(called) else _fixed_call(node, func_arg, called, signature)
        if fixed is None:
            self.report(called, message)
        else:
            self.report(called, message, changes={node: fixed}, fix_message=f"Pass `{name}` and its arguments")

    def _local_function(self, func: cst.BaseExpression) -> Optional[cst.FunctionDef]:
        """The module function or own method ``func`` names, whose body shows what it returns."""
        if isinstance(func, cst.Name):
            if self.sem.qualname(func) is not None or _bound_locally(self.sem.frames, func.value):
                return None
            return self.sem.functions.get(func.value)
        if isinstance(func, cst.Attribute) and self.sem.is_self(func.value):
            info = self.sem.enclosing_class()
            return info.methods.get(func.attr.value) if info else None
        return None


def _bound_locally(frames: Sequence[Frame], name: str) -> bool:
    """Whether a parameter or local of an enclosing function shadows the module-level ``name``."""
    return any(name in frame.types or name in frame.bindings for frame in frames[1:])


def _returns_no_callable(function: cst.FunctionDef, module_defs: FrozenSet[str]) -> bool:
    if function.decorators:
        return False  # a decorator may wrap the result in anything
    for node in walk_scope(function.body):
        if isinstance(node, cst.Return) and node.value is not None and not _certainly_not_callable(node.value, module_defs):
            return False
    return True


def _certainly_not_callable(value: cst.BaseExpression, module_defs: FrozenSet[str]) -> bool:
    """Whether ``value`` cannot be callable: a literal, a comparison..., or a call of a builtin
    (not redefined by the module) or a method building a plain value."""
    if isinstance(value, _NOT_CALLABLE) or (isinstance(value, cst.Name) and value.value == "None"):
        return True
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if isinstance(func, cst.Name):
        return func.value in VALUE_BUILTINS and func.value not in module_defs
    return isinstance(func, cst.Attribute) and func.attr.value in VALUE_METHODS


def _fixed_call(
    call: cst.Call, func_arg: cst.Arg, called: cst.Call, signature: SpawnSignature
) -> Optional[cst.Call]:
    """``call`` passing the function and, where the API allows, its positional arguments."""
    if any(a.keyword is not None or a.star for a in called.args):
        return None
    values = [a.value for a in called.args]
    passed = func_arg.with_changes(value=called.func)
    args = [passed if a is func_arg else a for a in call.args]
    fixed = call.with_changes(args=args)
    if not values:
        return fixed
    if signature.args is not None:
        if get_arg(call, *signature.args) is not None:
            return None
        return append_keyword(fixed, signature.args[0], tuple_of(values))
    if signature.variadic and call.args[-1] is func_arg and func_arg.keyword is None:
        # `executor.submit(f(x))` -> `executor.submit(f, x)`
        last = passed.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        # (a generator that was `f`'s only argument borrowed its parentheses)
        spread = [cst.Arg(parenthesized(v) if isinstance(v, cst.GeneratorExp) else v) for v in values]
        return call.with_changes(args=[*call.args[:-1], last, *spread])
    return None
