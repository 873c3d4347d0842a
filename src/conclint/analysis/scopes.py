"""What names mean, tracked during the single traversal: scopes, bindings and lookups.

LibCST's QualifiedNameProvider and ScopeProvider cost more than the whole
analysis and still know nothing of types or star imports, so conclint keeps its
own light model: a stack of frames (module, class, function, lambda; a nested
``def`` starts a new frame instead of switching an "inside async def" flag off),
the import bindings of each and the names each shadows, the module's functions
and classes. ``Scopes`` is that half of the model; ``conclint.analysis.types``
adds what the values are (``Semantic``, the class rules see as ``self.sem``).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Dict, Iterator, List, Optional, Set, Union

import libcst as cst

from conclint.analysis.catalogue import STAR_EXPORTS, canonical
from conclint.analysis.cstutil import dotted, parameters, walk_statements


@dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    # The concurrency type the class derives from (e.g. threading.Thread), if any.
    base_type: Optional[str] = None
    attr_types: Dict[str, Optional[str]] = field(default_factory=dict)
    # Types of the class's own attributes assigned in its body, for ``Cls.attr``.
    class_attr_types: Dict[str, Optional[str]] = field(default_factory=dict)
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
    nonlocal_names: Set[str] = field(default_factory=set)
    class_info: Optional[ClassInfo] = None
    first_param: Optional[str] = None


class Scopes:
    """Per-file scope state, updated by the engine before/after each node.

    The base of ``Semantic``: the traversal calls ``enter``/``leave``, which run the
    method that ``ENTERING``/``LEAVING`` name for the node's type. A subclass extends those
    tables and overrides the hooks ``_param_types``, ``_base_type`` and ``_prescan``.
    """

    # Node type -> the method run when the traversal enters / leaves such a node.
    ENTERING: ClassVar[Dict[type, str]] = {
        cst.Module: "_enter_module",
        cst.FunctionDef: "_enter_function",
        cst.Lambda: "_enter_lambda",
        cst.ClassDef: "_enter_class",
        cst.Import: "_enter_import",
        cst.ImportFrom: "_enter_import",
    }
    LEAVING: ClassVar[Dict[type, str]] = {
        cst.FunctionDef: "_pop_frame",
        cst.Lambda: "_pop_frame",
        cst.ClassDef: "_pop_frame",
    }
    _on_enter: ClassVar[Dict[type, Callable[["Scopes", cst.CSTNode], None]]]
    _on_leave: ClassVar[Dict[type, Callable[["Scopes", cst.CSTNode], None]]]

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

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch()

    @classmethod
    def _dispatch(cls) -> None:
        """Resolve ``ENTERING``/``LEAVING`` to this class's methods, once per class."""
        cls._on_enter = {kind: getattr(cls, name) for kind, name in cls.ENTERING.items()}
        cls._on_leave = {kind: getattr(cls, name) for kind, name in cls.LEAVING.items()}

    # ------------------------------------------------------------------ traversal hooks
    def enter(self, node: cst.CSTNode) -> None:
        self.stack.append(node)
        handler = self._on_enter.get(type(node))
        if handler is not None:
            handler(self, node)

    def leave(self, node: cst.CSTNode) -> None:
        handler = self._on_leave.get(type(node))
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
    def scope_node(self) -> Optional[cst.CSTNode]:
        """The innermost function or lambda holding the visited node, else the module (None
        only before the traversal enters it)."""
        frame = self.function
        return frame.node if frame is not None else self.module

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
        # By exact type: LibCST's node classes are final, and a failed isinstance against one
        # goes through ABCMeta (this runs for every callee and receiver a rule asks about).
        if type(node) is cst.Name:
            target = self._lookup_binding(node.value)
            return canonical(target) if target else None
        if type(node) is cst.Attribute:
            base = self.qualname(node.value)
            return canonical(f"{base}.{node.attr.value}") if base else None
        if type(node) is cst.Call:
            # get_context() returns an object with the multiprocessing API.
            if self.qualname(node.func) == "multiprocessing.get_context":
                return "multiprocessing"
        return None

    def builtin(self, node: cst.CSTNode) -> Optional[str]:
        """``builtins.<name>`` when ``node`` is a plain name of a builtin (``open``, ``input``)
        that nothing visible here rebinds: no assignment, parameter or import in the enclosing
        scopes, no module-level def or class, no star import that might bind it."""
        if not isinstance(node, cst.Name) or not hasattr(builtins, node.value):
            return None
        name = node.value
        if name in self.functions or name in self.classes:
            return None
        for frame in self._scopes():
            if name in frame.bindings or name in frame.types or name in frame.global_names:
                return None
        if any(name in STAR_EXPORTS.get(m, (name,)) for m in self.star_modules):
            return None
        return f"builtins.{name}"

    def lookup_type(self, name: str) -> Optional[str]:
        """The concurrency type recorded for the plain name ``name`` in the scopes visible here
        (``t`` after ``t = Thread(...)``), innermost first; None when unknown, when the nearest
        binding is an import or alias, or when a later assignment or parameter shadows it.
        Unlike ``type_of(Name)``, a method's ``self`` is not its class here."""
        for frame in self._scopes():
            if name in frame.global_names:
                frame = self.frames[0]
            if name in frame.types:
                return frame.types[name]
            if name in frame.bindings:
                return None
        return None

    def is_shadowed(self, name: str) -> bool:
        """Whether ``name`` is bound here by something other than a module-level definition: a
        local assignment, parameter or import in an enclosing function or class, or an import
        or alias at module level (a module-level ``def``/``class`` of that name is not)."""
        for frame in self._scopes():
            if frame.kind == "module":
                return name in frame.bindings
            if name in frame.types or name in frame.bindings:
                return True
        return False

    def is_self(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` is a method's first parameter (``self``) in that method."""
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
        elif name in frame.nonlocal_names:
            # A def binding a name of the def around it: when it runs (and so what the name
            # holds there from then on) is not known.
            for outer in reversed(self.frames[:-1]):
                if outer.kind == "function" and name not in outer.nonlocal_names:
                    outer.types[name] = None
                    outer.bindings.pop(name, None)
                    break
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

    def _register_class(self, node: cst.ClassDef) -> ClassInfo:
        info = ClassInfo(node.name.value, node, base_type=self._base_type(node))
        for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            if isinstance(stmt, cst.FunctionDef):
                info.methods[stmt.name.value] = stmt
        self.classes.setdefault(node.name.value, info)
        self._class_by_node[node] = info
        return info

    # ------------------------------------------------------------------ hooks for types
    def _prescan(self, module: cst.Module) -> None:
        """Bind top-level imports, classes and functions before the traversal (only
        statements are scanned, not expressions)."""
        frame = self.frames[0]
        for stmt in walk_statements(module.body):
            if isinstance(stmt, (cst.Import, cst.ImportFrom)):
                self._bind_import(frame, stmt)
            elif isinstance(stmt, cst.FunctionDef):
                self.functions.setdefault(stmt.name.value, stmt)
            elif isinstance(stmt, cst.ClassDef):
                self._register_class(stmt)

    def _param_types(self, node: cst.FunctionDef, parent: Frame) -> Dict[str, Optional[str]]:
        """The types the parameters of ``node`` (defined in ``parent``) start with: here none,
        but each parameter shadows the name outside."""
        return {param.name.value: None for param in parameters(node)}

    def _base_type(self, node: cst.ClassDef) -> Optional[str]:
        """The concurrency type class ``node`` derives from; here none."""
        return None

    # ------------------------------------------------------------------ node handlers
    def _enter_module(self, node: cst.Module) -> None:
        self.module = node
        self.frames.append(Frame("module", node, name="<module>"))
        self._prescan(node)

    def _enter_function(self, node: cst.FunctionDef) -> None:
        parent = self.frames[-1]
        frame = Frame("function", node, name=node.name.value, is_async=node.asynchronous is not None)
        params = parameters(node)
        if params and parent.kind == "class":
            frame.first_param = params[0].name.value
            decorators = {dotted(d.decorator) for d in node.decorators}
            if "staticmethod" in decorators:
                frame.first_param = None
        frame.types.update(self._param_types(node, parent))
        self.frames.append(frame)
        # ``global`` declarations and imports apply to the whole function body.
        for stmt in walk_statements(node.body.body if isinstance(node.body, cst.IndentedBlock) else ()):
            if isinstance(stmt, cst.Global):
                frame.global_names.update(n.name.value for n in stmt.names)
            elif isinstance(stmt, cst.Nonlocal):
                frame.nonlocal_names.update(n.name.value for n in stmt.names)
            elif isinstance(stmt, (cst.Import, cst.ImportFrom)):
                self._bind_import(frame, stmt)

    def _enter_lambda(self, node: cst.Lambda) -> None:
        frame = Frame("lambda", node, name="<lambda>")
        for param in parameters(node):
            frame.types[param.name.value] = None
        self.frames.append(frame)

    def _enter_class(self, node: cst.ClassDef) -> None:
        info = self._class_by_node.get(node) or self._register_class(node)
        self.frames.append(Frame("class", node, name=node.name.value, class_info=info))

    def _pop_frame(self, node: cst.CSTNode) -> None:
        self.frames.pop()

    def _enter_import(self, node: Union[cst.Import, cst.ImportFrom]) -> None:
        frame = self.frames[-1]
        if frame.kind != "module":
            self._bind_import(frame, node)


Scopes._dispatch()
