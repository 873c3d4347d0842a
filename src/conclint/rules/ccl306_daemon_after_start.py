"""``t.daemon = True`` or ``t.setDaemon(True)`` after ``t.start()``: RuntimeError."""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence

import libcst as cst

from conclint.analysis.catalogue import WORKER_TYPES
from conclint.analysis.cstutil import is_call_on, names_in, only_statement, touched_names, walk, walk_scope
from conclint.interest import Either, Imports, Interest, Methods, InOrder, Stores
from conclint.rule import Applicability, Rule

_REBINDING = (
    cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.WithItem, cst.Del, cst.NamedExpr, cst.MatchAs,
    cst.MatchStar, cst.ExceptHandler,
)
# What may leave the block between the start and the setter, or stop there for good (a
# generator never resumed): moving the setter above the start would run it on such a path.
_LEAVING = (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Yield, cst.Await)


class DaemonAfterStart(Rule):
    """The daemon flag is set on a thread/process that was already started."""

    code = "CCL306"
    name = "daemon-after-start"
    message = "the daemon flag cannot be set once the thread is started: this raises RuntimeError"
    fix = Applicability.SAFE
    # `x.start()` as a statement, and `x.daemon = ...` or `x.setDaemon(...)` (further down).
    interest = Interest(
        Imports("threading", "multiprocessing"),
        # The rule reads the statements after the start in its block, and the bodies of defs
        # among them (a setter in a later function still runs after the start).
        InOrder(
            Methods("start", statement=True),
            Either(Methods("setDaemon", statement=True), Stores("daemon")),
            block="scope",
            same_receiver="expression",
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        stack = self.sem.stack
        if len(stack) < 4 or not isinstance(stack[-2], cst.Expr) or not isinstance(node.func, cst.Attribute):
            return
        line, block = stack[-3], stack[-4]
        if not isinstance(block, (cst.IndentedBlock, cst.Module)) or not isinstance(line, cst.SimpleStatementLine):
            return
        receiver = node.func.value
        if node.func.attr.value != "start" or self.sem.type_of(receiver) not in WORKER_TYPES:
            return
        start = block.body.index(line)
        later_on_line = line.body[line.body.index(stack[-2]) + 1:]
        setter = _first_daemon_set([*later_on_line, *block.body[start + 1:]], receiver)
        if setter is None:
            return
        moved = _movable_line(block.body, start, setter)
        # A handler around (a `try`, or a context manager such as `suppress`) may be catching
        # the RuntimeError this raises: without it, the handler no longer runs.
        if moved is None or any(isinstance(node, (cst.Try, cst.TryStar, cst.With)) for node in stack):
            self.report(setter)
            return
        start_line = line  # (block.body[start])
        new = [moved.with_changes(leading_lines=start_line.leading_lines), start_line.with_changes(leading_lines=())]
        self.report(
            setter,
            # Two lines, not their block: the file's other fixes are not made to wait for it.
            changes={start_line: cst.FlattenSentinel(new), moved: cst.RemovalSentinel.REMOVE},
            fix_message="Set the daemon flag before `start()`",
            # Right after the start, nothing changes but the bug; across other statements,
            # any of which may raise (and leave the thread started without its flag, which
            # decides whether the program waits for it at exit), behaviour may change.
            applicability=None if block.body[start + 1] is moved else Applicability.UNSAFE,
        )


def _first_daemon_set(statements: Sequence[cst.CSTNode], receiver: cst.BaseExpression) -> Optional[cst.BaseSmallStatement]:
    """The first ``receiver.daemon = ...``/``receiver.setDaemon(...)`` in ``statements``, unless
    ``receiver`` is rebound first (then it names another object). A receiver with a
    subscript or a call in it (``workers[-1]``, ``threads[i]``) names another object once
    anything calls or changes what it reads (``workers.append(...)``, ``i += 1``)."""
    if any(isinstance(node, cst.Call) for node in walk(receiver)):
        return None  # `ts[next(counter)]`: each time another object
    steady = _dotted(receiver)
    read = set(names_in(receiver))
    prefixes = _prefixes(receiver)
    for statement in statements:
        for node in _preorder(statement):
            if isinstance(node, cst.Assign) and any(_is_daemon_attr(t.target, receiver) for t in node.targets):
                return node
            if isinstance(node, cst.Expr) and is_call_on(node, receiver, ("setDaemon",)):
                return node
            # The receiver, or what it is an attribute of (`self = other`), bound anew.
            if isinstance(node, _REBINDING) and any(n.deep_equals(p) for n in _bound(node) for p in prefixes):
                return None
            if not steady and (
                isinstance(node, cst.Call)
                or (isinstance(node, _REBINDING) and read & {name for t in _bound(node) for name in names_in(t)})
            ):
                return None
    return None


def _prefixes(node: cst.BaseExpression) -> List[cst.BaseExpression]:
    """``node`` and what it is an attribute of: ``self.worker.t``, ``self.worker``, ``self``."""
    out = [node]
    while isinstance(node, cst.Attribute):
        node = node.value
        out.append(node)
    return out


def _dotted(node: cst.BaseExpression) -> bool:
    """``t`` or ``self.worker``: names and attributes only."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def _preorder(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield statement
    yield from walk_scope(statement)


def _bound(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """What ``node`` binds: its target, each name of an unpacking (``t, n = make(), 1``)."""
    targets: List[cst.CSTNode] = []
    if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.Del, cst.NamedExpr)):
        targets = [node.target]
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        targets = [node.asname.name]
    elif isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
        targets = [node.name]
    elif isinstance(node, cst.ExceptHandler) and node.name is not None:
        targets = [node.name.name]
    out: List[cst.CSTNode] = []
    while targets:
        target = targets.pop()
        out.append(target)
        if isinstance(target, (cst.Tuple, cst.List)):
            targets.extend(element.value for element in target.elements)
        elif isinstance(target, cst.StarredElement):
            targets.append(target.value)
    return out


def _is_daemon_attr(target: cst.BaseExpression, receiver: cst.BaseExpression) -> bool:
    return isinstance(target, cst.Attribute) and target.attr.value == "daemon" and target.value.deep_equals(receiver)


def _movable_line(
    body: Sequence[cst.BaseStatement], start: int, setter: cst.BaseSmallStatement
) -> Optional[cst.SimpleStatementLine]:
    """The setter's line, when it can move right before the start line without changing anything
    else: both lines hold one statement, no comment above it is lost, its value calls nothing and
    reads no name assigned in between."""
    if only_statement(body[start]) is None:
        return None
    end = next((i for i in range(start + 1, len(body)) if only_statement(body[i]) is setter), None)
    if end is None:
        return None
    line = body[end]
    if not isinstance(line, cst.SimpleStatementLine):  # (it is: it holds the setter)
        return None
    value = _set_value(setter)
    if value is None or any(empty.comment for empty in line.leading_lines):
        return None
    if any(isinstance(n, (cst.Call, cst.NamedExpr)) for n in walk(value)):
        return None  # (a call may do anything; `:=` binds a name the code in between may read)
    between = body[start + 1:end]
    if any(
        isinstance(n, _LEAVING) or (isinstance(n, (cst.With, cst.For)) and n.asynchronous is not None)
        for stmt in between if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
        for n in [stmt, *walk_scope(stmt)]
    ):
        return None
    if _literal(value) or not between:
        return line
    # The value reads names: nothing in between may bind them (in any way: unpacking, `:=`,
    # a def, an import, `global`...) or change what they hold (`cfg.x = ...`), and nothing
    # in between may call anything (a call can change a module's globals or an object).
    read = set(names_in(value))
    if any(isinstance(n, cst.Call) for stmt in between for n in _preorder(stmt)):
        return None
    touched = {name for stmt in between for name in touched_names(stmt)}
    if read & touched or "*" in touched:  # (a star import may bind any name)
        return None
    return line


def _literal(value: cst.BaseExpression) -> bool:
    """``True``, ``False``, ``None`` or a number: nothing moving it can change."""
    if isinstance(value, cst.Name):
        return value.value in ("True", "False", "None")
    if isinstance(value, cst.UnaryOperation):
        return _literal(value.expression)
    return isinstance(value, (cst.Integer, cst.Float, cst.SimpleString))


def _set_value(setter: cst.BaseSmallStatement) -> Optional[cst.BaseExpression]:
    if isinstance(setter, cst.Assign):
        return setter.value
    if not isinstance(setter, cst.Expr) or not isinstance(setter.value, cst.Call):  # (a setDaemon call)
        return None
    args = setter.value.args
    return args[0].value if len(args) == 1 and args[0].keyword is None and not args[0].star else None
