"""What names and receivers mean, tracked during the single traversal.

LibCST's QualifiedNameProvider and ScopeProvider cost more than the whole
analysis and still know nothing of types or star imports, so conclint keeps its
own light model: import bindings per scope, the concurrency types of simple
receivers (``t = threading.Thread(...)``, ``self._lock = Lock()`` in any method,
parameters annotated with these types, subclasses of Thread/Process), and a
stack of function frames (a nested ``def`` starts a new frame instead of
switching an "inside async def" flag off).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Union

import libcst as cst

from conclint.analysis.walk import children

CONCURRENCY_MODULES = frozenset(
    {"threading", "multiprocessing", "concurrent", "asyncio", "gevent", "_thread", "thread", "queue", "dummy_threading"}
)

# Names each module exports that matter to the rules, for ``from X import *``.
STAR_EXPORTS: Dict[str, frozenset] = {
    "threading": frozenset(
        "Thread Timer Lock RLock Condition Semaphore BoundedSemaphore Event Barrier current_thread "
        "currentThread active_count activeCount enumerate main_thread local get_ident".split()
    ),
    "multiprocessing": frozenset(
        "Process Pool Queue JoinableQueue SimpleQueue Pipe Lock RLock Condition Semaphore BoundedSemaphore "
        "Event Barrier Manager Value Array get_context set_start_method current_process cpu_count freeze_support".split()
    ),
    "concurrent.futures": frozenset(
        "ThreadPoolExecutor ProcessPoolExecutor Future wait as_completed FIRST_COMPLETED ALL_COMPLETED".split()
    ),
    "asyncio": frozenset(
        "sleep create_task ensure_future gather wait wait_for run get_event_loop Lock Event Condition "
        "Semaphore BoundedSemaphore Queue Task".split()
    ),
    "queue": frozenset("Queue LifoQueue PriorityQueue SimpleQueue Empty Full".split()),
    "_thread": frozenset("start_new_thread allocate_lock allocate get_ident".split()),
}

_EXACT_ALIASES = {
    "multiprocessing.pool.Pool": "multiprocessing.Pool",
    "multiprocessing.dummy.Pool": "multiprocessing.pool.ThreadPool",
    "multiprocessing.dummy.Process": "threading.Thread",
    "multiprocessing.dummy.Manager": "multiprocessing.dummy.Manager",
    "multiprocessing.context.Process": "multiprocessing.Process",
    "multiprocessing.process.BaseProcess": "multiprocessing.Process",
    "multiprocessing.queues.Queue": "multiprocessing.Queue",
    "multiprocessing.queues.JoinableQueue": "multiprocessing.JoinableQueue",
    "multiprocessing.queues.SimpleQueue": "multiprocessing.SimpleQueue",
    "multiprocessing.managers.SyncManager": "multiprocessing.Manager",
    "thread": "_thread",
    "threading._allocate_lock": "threading.Lock",
    "_thread.allocate_lock": "threading.Lock",
    "_thread.allocate": "threading.Lock",
    "_thread.LockType": "threading.Lock",
    "_thread.RLock": "threading.RLock",
    "threading._CRLock": "threading.RLock",
    "threading._PyRLock": "threading.RLock",
    "threading._RLock": "threading.RLock",
}
_PREFIX_ALIASES = (
    ("dummy_threading.", "threading."),
    ("thread.", "_thread."),
    ("multiprocessing.dummy.", "threading."),
    ("multiprocessing.synchronize.", "multiprocessing."),
    ("multiprocessing.context.", "multiprocessing."),
    ("concurrent.futures.thread.", "concurrent.futures."),
    ("concurrent.futures.process.", "concurrent.futures."),
    ("concurrent.futures._base.", "concurrent.futures."),
    ("asyncio.locks.", "asyncio."),
    ("asyncio.queues.", "asyncio."),
    ("asyncio.tasks.", "asyncio."),
)


def canonical(qualname: str) -> str:
    """One spelling per object: ``multiprocessing.pool.Pool`` is ``multiprocessing.Pool``."""
    if qualname in _EXACT_ALIASES:
        return _EXACT_ALIASES[qualname]
    for prefix, repl in _PREFIX_ALIASES:
        if qualname.startswith(prefix):
            return canonical(repl + qualname[len(prefix):])
    return qualname


# Callables whose result has a known concurrency type (canonical names).
CONSTRUCTORS: Dict[str, str] = {
    name: name
    for name in (
        "threading.Thread threading.Timer threading.Lock threading.RLock threading.Condition "
        "threading.Semaphore threading.BoundedSemaphore threading.Event threading.Barrier "
        "multiprocessing.Process multiprocessing.Lock multiprocessing.RLock multiprocessing.Condition "
        "multiprocessing.Semaphore multiprocessing.BoundedSemaphore multiprocessing.Event "
        "multiprocessing.Barrier multiprocessing.Queue multiprocessing.JoinableQueue "
        "multiprocessing.SimpleQueue multiprocessing.Pool multiprocessing.pool.ThreadPool "
        "multiprocessing.Manager concurrent.futures.ThreadPoolExecutor "
        "concurrent.futures.ProcessPoolExecutor asyncio.Lock asyncio.Event asyncio.Condition "
        "asyncio.Semaphore asyncio.BoundedSemaphore asyncio.Queue queue.Queue queue.LifoQueue "
        "queue.PriorityQueue queue.SimpleQueue"
    ).split()
}
CONSTRUCTORS.update(
    {
        "threading.current_thread": "threading.Thread",
        "threading.currentThread": "threading.Thread",
        "threading.main_thread": "threading.Thread",
        "multiprocessing.current_process": "multiprocessing.Process",
        "multiprocessing.dummy.Manager": "multiprocessing.dummy.Manager",
        "asyncio.create_task": "asyncio.Task",
        "asyncio.ensure_future": "asyncio.Task",
        "asyncio.TaskGroup": "asyncio.TaskGroup",
        "asyncio.get_event_loop": "asyncio.AbstractEventLoop",
        "asyncio.get_running_loop": "asyncio.AbstractEventLoop",
        "asyncio.new_event_loop": "asyncio.AbstractEventLoop",
        "socket.socket": "socket.socket",
        "socket.create_connection": "socket.socket",
    }
)

# (receiver type, method) -> result type
METHOD_RESULTS: Dict[tuple, str] = {
    ("multiprocessing.Manager", "dict"): "multiprocessing.managers.DictProxy",
    ("multiprocessing.Manager", "list"): "multiprocessing.managers.ListProxy",
    ("multiprocessing.Manager", "Namespace"): "multiprocessing.managers.Namespace",
    ("multiprocessing.Manager", "Lock"): "multiprocessing.Lock",
    ("multiprocessing.Manager", "RLock"): "multiprocessing.RLock",
    ("multiprocessing.Manager", "Semaphore"): "multiprocessing.Semaphore",
    ("multiprocessing.Manager", "BoundedSemaphore"): "multiprocessing.BoundedSemaphore",
    ("multiprocessing.Manager", "Condition"): "multiprocessing.Condition",
    ("multiprocessing.Manager", "Event"): "multiprocessing.Event",
    ("multiprocessing.Manager", "Queue"): "multiprocessing.Queue",
    ("multiprocessing.Manager", "JoinableQueue"): "multiprocessing.JoinableQueue",
    ("multiprocessing.Manager", "Value"): "multiprocessing.managers.Value",
    ("multiprocessing.Manager", "Array"): "multiprocessing.managers.Array",
    ("multiprocessing.Pool", "apply_async"): "multiprocessing.pool.AsyncResult",
    ("multiprocessing.pool.ThreadPool", "apply_async"): "multiprocessing.pool.AsyncResult",
    ("concurrent.futures.ThreadPoolExecutor", "submit"): "concurrent.futures.Future",
    ("concurrent.futures.ProcessPoolExecutor", "submit"): "concurrent.futures.Future",
}

# Methods of list, dict and set that change the object in place.
MUTATING_METHODS = frozenset(
    "append extend insert remove pop clear sort reverse update setdefault popitem add discard".split()
)

THREAD_TYPES = frozenset({"threading.Thread", "threading.Timer"})
PROCESS_TYPES = frozenset({"multiprocessing.Process"})
WORKER_TYPES = THREAD_TYPES | PROCESS_TYPES
PROCESS_POOL_TYPES = frozenset({"multiprocessing.Pool", "concurrent.futures.ProcessPoolExecutor"})
THREAD_POOL_TYPES = frozenset({"multiprocessing.pool.ThreadPool", "concurrent.futures.ThreadPoolExecutor"})
POOL_TYPES = PROCESS_POOL_TYPES | THREAD_POOL_TYPES
NON_REENTRANT_LOCK_TYPES = frozenset({"threading.Lock", "multiprocessing.Lock"})
LOCK_TYPES = NON_REENTRANT_LOCK_TYPES | frozenset({"threading.RLock", "multiprocessing.RLock"})
SEMAPHORE_TYPES = frozenset(
    {"threading.Semaphore", "threading.BoundedSemaphore", "multiprocessing.Semaphore", "multiprocessing.BoundedSemaphore"}
)
CONDITION_TYPES = frozenset({"threading.Condition", "multiprocessing.Condition"})
EVENT_TYPES = frozenset({"threading.Event", "multiprocessing.Event"})
# Everything with acquire()/release() that blocks a thread.
ACQUIRABLE_TYPES = LOCK_TYPES | SEMAPHORE_TYPES | CONDITION_TYPES
QUEUE_TYPES = frozenset(
    {
        "queue.Queue", "queue.LifoQueue", "queue.PriorityQueue", "queue.SimpleQueue",
        "multiprocessing.Queue", "multiprocessing.JoinableQueue", "multiprocessing.SimpleQueue",
    }
)
MP_QUEUE_TYPES = frozenset({"multiprocessing.Queue", "multiprocessing.JoinableQueue", "multiprocessing.SimpleQueue"})
MANAGER_PROXY_TYPES = frozenset({"multiprocessing.managers.DictProxy", "multiprocessing.managers.ListProxy"})

# A class deriving from one of these inherits its kind.
SUBCLASSABLE = WORKER_TYPES | frozenset({"threading.Thread"})


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """The source spelling of a Name/Attribute chain (``a.b.c``), else None."""
    parts: List[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def string_value(node: cst.CSTNode) -> Optional[str]:
    """The value of a plain (non-f) string literal, else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        # LibCST reads what CPython refuses: `"\N{no such name}"`, `"str" b"bytes"`.
        except (SyntaxError, ValueError, TypeError, MemoryError):
            return None
        return value if isinstance(value, str) else None
    return None


def int_value(node: cst.CSTNode) -> Optional[int]:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def get_arg(call: cst.Call, keyword: str, position: Optional[int] = None) -> Optional[cst.Arg]:
    """The argument bound to ``keyword`` (or at ``position`` among positionals)."""
    positional = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg
        elif arg.star:
            return None if position is not None and positional <= position else None
        else:
            if position is not None and positional == position:
                return arg
            positional += 1
    return None


@dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    # The concurrency type the class derives from (e.g. threading.Thread), if any.
    base_type: Optional[str] = None
    attr_types: Dict[str, Optional[str]] = field(default_factory=dict)
    methods: Dict[str, cst.FunctionDef] = field(default_factory=dict)


@dataclass
class Frame:
    kind: str  # "module", "class", "function" or "lambda"
    node: cst.CSTNode
    name: str = ""
    is_async: bool = False
    bindings: Dict[str, str] = field(default_factory=dict)  # name -> qualified name (imports, aliases)
    types: Dict[str, Optional[str]] = field(default_factory=dict)  # name -> concurrency type; None = shadowed
    global_names: Set[str] = field(default_factory=set)
    class_info: Optional[ClassInfo] = None
    first_param: Optional[str] = None


_TypeLike = Optional[str]


class Semantic:
    """Per-file semantic state, updated by the engine before/after each node."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source
        self.module: Optional[cst.Module] = None
        self.stack: List[cst.CSTNode] = []
        self.frames: List[Frame] = []
        self.star_modules: List[str] = []
        self.functions: Dict[str, Union[cst.FunctionDef]] = {}
        self.classes: Dict[str, ClassInfo] = {}
        self._class_by_node: Dict[cst.ClassDef, ClassInfo] = {}
        self.imported_modules: Set[str] = set()
        # Module function -> types of its positional parameters, from ``Process(target=f, args=(...))``.
        self.target_param_types: Dict[str, List[Optional[str]]] = {}

    # ------------------------------------------------------------------ traversal hooks
    def enter(self, node: cst.CSTNode) -> None:
        self.stack.append(node)
        handler = _ENTER.get(type(node))
        if handler is not None:
            handler(self, node)

    def leave(self, node: cst.CSTNode) -> None:
        handler = _LEAVE.get(type(node))
        if handler is not None:
            handler(self, node)
        self.stack.pop()

    # ------------------------------------------------------------------ queries for rules
    @property
    def parent(self) -> Optional[cst.CSTNode]:
        """The parent of the node being visited."""
        return self.stack[-2] if len(self.stack) > 1 else None

    def ancestors(self) -> Iterator[cst.CSTNode]:
        """Ancestors of the node being visited, innermost first."""
        return reversed(self.stack[:-1])

    @property
    def function(self) -> Optional[Frame]:
        """The innermost function (or lambda) frame, or None at module/class level."""
        for frame in reversed(self.frames):
            if frame.kind in ("function", "lambda"):
                return frame
            if frame.kind == "class":
                return None
        return None

    @property
    def scope_node(self) -> cst.CSTNode:
        """The innermost function or lambda holding the visited node, else the module."""
        frame = self.function
        return frame.node if frame is not None else self.module  # type: ignore[return-value]

    @property
    def in_async_function(self) -> bool:
        frame = self.function
        return frame is not None and frame.is_async

    @property
    def at_module_level(self) -> bool:
        return len(self.frames) == 1

    def enclosing_class(self) -> Optional[ClassInfo]:
        """The class whose method (possibly via nested defs) encloses the current node."""
        for frame in reversed(self.frames):
            if frame.kind == "class":
                return frame.class_info
        return None

    def module_alias(self, module: str) -> Optional[str]:
        """The module-level name bound to ``import module`` (``import asyncio as aio`` -> aio)."""
        for name, target in self.frames[0].bindings.items():
            if target == module and name not in self.frames[0].types:
                return name
        return None

    def qualname(self, node: cst.CSTNode) -> Optional[str]:
        """Canonical qualified name of a Name/Attribute expression, following imports."""
        if isinstance(node, cst.Name):
            target = self._lookup_binding(node.value)
            return canonical(target) if target else None
        if isinstance(node, cst.Attribute):
            base = self.qualname(node.value)
            return canonical(f"{base}.{node.attr.value}") if base else None
        if isinstance(node, cst.Call):
            # get_context() returns an object with the multiprocessing API.
            if self.qualname(node.func) == "multiprocessing.get_context":
                return "multiprocessing"
        return None

    def type_of(self, node: cst.CSTNode) -> Optional[str]:
        """Concurrency type of an expression's value, when it can be known."""
        if isinstance(node, cst.Name):
            info = self._self_class(node.value)
            if info is not None:
                return info.base_type
            return self._lookup_type(node.value)
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name):
                info = self._self_class(node.value.value)
                if info is not None:
                    return info.attr_types.get(node.attr.value)
            return None
        if isinstance(node, cst.Call):
            return self.call_result_type(node)
        if isinstance(node, cst.Subscript):
            container = self.type_of(node.value)
            if container and container.startswith("list[") and container.endswith("]"):
                return container[5:-1]
        return None

    def call_result_type(self, call: cst.Call) -> Optional[str]:
        q = self.qualname(call.func)
        if q is not None:
            if q in CONSTRUCTORS:
                return CONSTRUCTORS[q]
            return None
        if isinstance(call.func, cst.Name):
            local = self.classes.get(call.func.value)
            if local is not None and local.base_type and not self._is_shadowed(call.func.value):
                return local.base_type
            return None
        if isinstance(call.func, cst.Attribute):
            receiver_type = self.type_of(call.func.value)
            if receiver_type is not None:
                return METHOD_RESULTS.get((receiver_type, call.func.attr.value))
        return None

    def is_self(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Name) and self._self_class(node.value) is not None

    # ------------------------------------------------------------------ internals
    def _scopes(self) -> Iterator[Frame]:
        """Frames visible from the current node, innermost first (class bodies only innermost)."""
        for i in range(len(self.frames) - 1, -1, -1):
            frame = self.frames[i]
            if frame.kind == "class" and i != len(self.frames) - 1:
                continue
            yield frame

    def _lookup_binding(self, name: str) -> Optional[str]:
        for frame in self._scopes():
            if name in frame.global_names:
                frame = self.frames[0]
            if name in frame.bindings:
                return frame.bindings[name]
            if name in frame.types:
                return None
        for module in self.star_modules:
            if name in STAR_EXPORTS.get(module, ()):
                return f"{module}.{name}"
        return None

    def _lookup_type(self, name: str) -> Optional[str]:
        for frame in self._scopes():
            if name in frame.global_names:
                frame = self.frames[0]
            if name in frame.types:
                return frame.types[name]
            if name in frame.bindings:
                return None
        return None

    def _is_shadowed(self, name: str) -> bool:
        for frame in self._scopes():
            if frame.kind == "module":
                return name in frame.bindings
            if name in frame.types or name in frame.bindings:
                return True
        return False

    def _self_class(self, name: str) -> Optional[ClassInfo]:
        """The class ``name`` is the instance of, when ``name`` is a method's first parameter."""
        for i in range(len(self.frames) - 1, 0, -1):
            frame = self.frames[i]
            if frame.kind == "function" and self.frames[i - 1].kind == "class":
                if frame.first_param == name:
                    return self.frames[i - 1].class_info
                return None
            if frame.kind == "class":
                return None
            if name in frame.types:
                return None
        return None

    def _current_frame(self) -> Frame:
        frame = self.frames[-1]
        return frame

    def _store(self, name: str, type_: Optional[str], frame: Optional[Frame] = None) -> None:
        frame = frame or self._current_frame()
        if name in frame.global_names:
            frame = self.frames[0]
        frame.types[name] = type_
        frame.bindings.pop(name, None)

    def _bind_import(self, frame: Frame, node: Union[cst.Import, cst.ImportFrom]) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name)
                if full is None:
                    continue
                self.imported_modules.add(full)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    frame.bindings[alias.asname.name.value] = full
                else:
                    top = full.split(".")[0]
                    frame.bindings[top] = top
                frame.types.pop(full.split(".")[0], None)
            return
        if node.relative or node.module is None:
            return
        module = dotted(node.module)
        if module is None:
            return
        self.imported_modules.add(module)
        if isinstance(node.names, cst.ImportStar):
            self.star_modules.append(canonical(module))
            return
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            frame.bindings[local] = f"{module}.{alias.name.value}"
            frame.types.pop(local, None)

    def _assign(self, targets: Sequence[cst.BaseExpression], value: Optional[cst.BaseExpression]) -> None:
        type_ = self.type_of(value) if value is not None else None
        alias = None
        if value is not None and type_ is None:
            if isinstance(value, (cst.Name, cst.Attribute, cst.Call)):
                q = self.qualname(value)
                if q is not None and q.split(".")[0] in CONCURRENCY_MODULES:
                    alias = q
            if isinstance(value, (cst.List, cst.ListComp)):
                elements = [value.elt] if isinstance(value, cst.ListComp) else [e.value for e in value.elements]
                element_types = {self.type_of(e) for e in elements}
                if len(element_types) == 1 and None not in element_types:
                    type_ = f"list[{element_types.pop()}]"
        for target in targets:
            if isinstance(target, cst.Name):
                if alias is not None:
                    frame = self._current_frame()
                    if target.value in frame.global_names:
                        frame = self.frames[0]
                    frame.types.pop(target.value, None)
                    frame.bindings[target.value] = alias
                else:
                    self._store(target.value, type_)
            elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                info = self._self_class(target.value.value)
                if info is not None and type_ is not None:
                    info.attr_types[target.attr.value] = type_
            elif isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    if isinstance(element.value, cst.Name):
                        self._store(element.value.value, None)

    # ------------------------------------------------------------------ module pre-scan
    def _prescan(self, module: cst.Module) -> None:
        """Bind top-level imports, classes, functions and assignments before the traversal.

        Scripts often define ``lock = Lock()`` under the main guard, below the
        functions that use it; only statements are scanned, not expressions.
        """
        frame = self.frames[0]
        assignments: List[cst.Assign] = []
        for stmt in _walk_statements(module.body):
            if isinstance(stmt, (cst.Import, cst.ImportFrom)):
                self._bind_import(frame, stmt)
            elif isinstance(stmt, cst.FunctionDef):
                self.functions.setdefault(stmt.name.value, stmt)
            elif isinstance(stmt, cst.ClassDef):
                self._register_class(stmt)
            elif isinstance(stmt, cst.Assign):
                assignments.append(stmt)
        seen: Dict[str, Optional[str]] = {}
        for stmt in assignments:
            type_ = self.type_of(stmt.value)
            for target in stmt.targets:
                if isinstance(target.target, cst.Name):
                    name = target.target.value
                    if name in seen and seen[name] != type_:
                        type_ = None
                    seen[name] = type_
        for name, type_ in seen.items():
            if type_ is not None and name not in frame.bindings:
                frame.types[name] = type_
        for stmt in _walk_statements(module.body):
            if isinstance(stmt, (cst.Expr, cst.Assign)):
                self._infer_target_params(stmt)

    def _infer_target_params(self, stmt: cst.CSTNode) -> None:
        """``Thread(target=f, args=(lock, i))`` tells the types of ``f``'s parameters (all call sites must agree)."""
        stack = [stmt]
        while stack:
            node = stack.pop()
            stack.extend(children(node))
            if not isinstance(node, cst.Call) or self.call_result_type(node) not in WORKER_TYPES:
                continue
            target, args = get_arg(node, "target", 1), get_arg(node, "args", 3)
            if target is None or not isinstance(target.value, cst.Name) or target.value.value not in self.functions:
                continue
            elements = args.value.elements if args is not None and isinstance(args.value, cst.Tuple) else ()
            types = [self.type_of(e.value) for e in elements]
            known = self.target_param_types.setdefault(target.value.value, types)
            if known != types:
                self.target_param_types[target.value.value] = []

    def _register_class(self, node: cst.ClassDef) -> ClassInfo:
        info = ClassInfo(node.name.value, node)
        for base in node.bases:
            if base.keyword is not None:
                continue
            q = self.qualname(base.value)
            if q in SUBCLASSABLE:
                info.base_type = q
            elif isinstance(base.value, cst.Name) and base.value.value in self.classes:
                info.base_type = info.base_type or self.classes[base.value.value].base_type
        for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            if isinstance(stmt, cst.FunctionDef):
                info.methods[stmt.name.value] = stmt
        self.classes.setdefault(node.name.value, info)
        self._class_by_node[node] = info
        return info


def _walk_statements(body: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Small statements and defs reachable without entering a function or class body."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            yield stmt
        elif isinstance(stmt, cst.BaseCompoundStatement):
            for block in _blocks(stmt):
                yield from _walk_statements(block)


def _blocks(stmt: cst.BaseCompoundStatement) -> Iterator[Sequence[cst.CSTNode]]:
    if isinstance(stmt, cst.Match):  # no body of its own: one block per case
        for case in stmt.cases:
            yield from _blocks(case)
        return
    body = stmt.body
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    elif isinstance(body, cst.SimpleStatementSuite):
        yield [cst.SimpleStatementLine(body=body.body)]
    for attr in ("orelse", "finalbody"):
        extra = getattr(stmt, attr, None)
        if extra is not None:
            if isinstance(extra, cst.If):
                yield from _blocks(extra)
            else:
                yield from _blocks(extra)
    for handler in getattr(stmt, "handlers", ()):
        yield from _blocks(handler)


# ---------------------------------------------------------------------- node handlers
def _enter_module(sem: Semantic, node: cst.Module) -> None:
    sem.module = node
    sem.frames.append(Frame("module", node, name="<module>"))
    sem._prescan(node)


def _params(node: Union[cst.FunctionDef, cst.Lambda]) -> List[cst.Param]:
    p = node.params
    out = list(p.posonly_params) + list(p.params) + list(p.kwonly_params)
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out


def _enter_function(sem: Semantic, node: cst.FunctionDef) -> None:
    parent = sem.frames[-1]
    frame = Frame("function", node, name=node.name.value, is_async=node.asynchronous is not None)
    params = _params(node)
    if params and parent.kind == "class":
        frame.first_param = params[0].name.value
        decorators = {dotted(d.decorator) for d in node.decorators}
        if "staticmethod" in decorators:
            frame.first_param = None
    for param in params:
        annotated = None
        if param.annotation is not None:
            q = sem.qualname(param.annotation.annotation)
            if q in CONSTRUCTORS:
                annotated = CONSTRUCTORS[q]
            elif isinstance(param.annotation.annotation, cst.Name) and param.annotation.annotation.value in sem.classes:
                annotated = sem.classes[param.annotation.annotation.value].base_type
        frame.types[param.name.value] = annotated
    if parent.kind == "module":
        for param, inferred in zip([*node.params.posonly_params, *node.params.params], sem.target_param_types.get(node.name.value, ())):
            if param.annotation is None:
                frame.types[param.name.value] = inferred
    sem.frames.append(frame)
    _prescan_function(sem, frame, node)


def _prescan_function(sem: Semantic, frame: Frame, node: cst.FunctionDef) -> None:
    """``global`` declarations and imports apply to the whole function body."""
    for stmt in _walk_statements(node.body.body if isinstance(node.body, cst.IndentedBlock) else ()):
        if isinstance(stmt, cst.Global):
            frame.global_names.update(n.name.value for n in stmt.names)
        elif isinstance(stmt, (cst.Import, cst.ImportFrom)):
            sem._bind_import(frame, stmt)


def _enter_lambda(sem: Semantic, node: cst.Lambda) -> None:
    frame = Frame("lambda", node, name="<lambda>")
    for param in _params(node):
        frame.types[param.name.value] = None
    sem.frames.append(frame)


def _enter_class(sem: Semantic, node: cst.ClassDef) -> None:
    info = sem._class_by_node.get(node) or sem._register_class(node)
    sem.frames.append(Frame("class", node, name=node.name.value, class_info=info))
    # Attribute types assigned anywhere in the class's methods are known in every method.
    for method in info.methods.values():
        params = _params(method)
        if not params or not isinstance(method.body, cst.IndentedBlock):
            continue
        self_name = params[0].name.value
        for stmt in _walk_statements(method.body.body):
            if isinstance(stmt, cst.Assign):
                for target in stmt.targets:
                    t = target.target
                    if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == self_name:
                        type_ = sem.type_of(stmt.value)
                        if type_ is not None:
                            info.attr_types.setdefault(t.attr.value, type_)


def _pop_frame(sem: Semantic, node: cst.CSTNode) -> None:
    sem.frames.pop()


def _leave_assign(sem: Semantic, node: cst.Assign) -> None:
    frame = sem.frames[-1]
    if frame.kind == "class":
        info = frame.class_info
        type_ = sem.type_of(node.value)
        for target in node.targets:
            if isinstance(target.target, cst.Name) and info is not None and type_ is not None:
                info.attr_types[target.target.value] = type_
        return
    sem._assign([t.target for t in node.targets], node.value)


def _leave_ann_assign(sem: Semantic, node: cst.AnnAssign) -> None:
    if sem.frames[-1].kind != "class":
        sem._assign([node.target], node.value)


def _enter_for(sem: Semantic, node: cst.For) -> None:
    iter_type = sem.type_of(node.iter)
    element = None
    if iter_type and iter_type.startswith("list["):
        element = iter_type[5:-1]
    if isinstance(node.target, cst.Name):
        sem._store(node.target.value, element)


def _enter_with(sem: Semantic, node: cst.With) -> None:
    for item in node.items:
        if item.asname is not None and isinstance(item.asname.name, cst.Name):
            # Executors, pools and managers return themselves from __enter__.
            sem._store(item.asname.name.value, sem.type_of(item.item))


def _leave_call(sem: Semantic, node: cst.Call) -> None:
    # ``threads.append(Thread(...))`` makes ``threads`` a list of threads.
    if (
        isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "append"
        and isinstance(node.func.value, cst.Name)
        and len(node.args) == 1
    ):
        element = sem.type_of(node.args[0].value)
        if element is not None:
            name = node.func.value.value
            current = sem._lookup_type(name)
            if current is None and _is_empty_list_binding(sem, name):
                sem._store(name, f"list[{element}]")


def _is_empty_list_binding(sem: Semantic, name: str) -> bool:
    for frame in sem._scopes():
        if name in frame.types:
            return frame.types[name] is None
    return True


def _enter_import(sem: Semantic, node: Union[cst.Import, cst.ImportFrom]) -> None:
    frame = sem.frames[-1]
    if frame.kind != "module":
        sem._bind_import(frame, node)


_ENTER: Dict[type, Callable[[Semantic, cst.CSTNode], None]] = {
    cst.Module: _enter_module,
    cst.FunctionDef: _enter_function,
    cst.Lambda: _enter_lambda,
    cst.ClassDef: _enter_class,
    cst.For: _enter_for,
    cst.With: _enter_with,
    cst.Import: _enter_import,
    cst.ImportFrom: _enter_import,
}
_LEAVE: Dict[type, Callable[[Semantic, cst.CSTNode], None]] = {
    cst.FunctionDef: _pop_frame,
    cst.Lambda: _pop_frame,
    cst.ClassDef: _pop_frame,
    cst.Assign: _leave_assign,
    cst.AnnAssign: _leave_ann_assign,
    cst.Call: _leave_call,
}


def names_in(node: cst.CSTNode) -> Iterable[str]:
    """Every plain Name used inside ``node`` (cheap recursive walk, no visitor)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current.value
        stack.extend(children(current))
