"""What values are, inferred during the single traversal: the concurrency types of simple
receivers.

``t = threading.Thread(...)``, ``self._lock = Lock()`` in any method, parameters annotated
with these types, subclasses of Thread/Process, ``threads.append(Thread(...))``, and the
parameters of a function every ``Thread(target=f, args=(...))`` passes the same types.
``Semantic`` adds this to the scopes of ``conclint.analysis.scopes``: it is the model rules
see as ``self.sem``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import libcst as cst

from conclint.analysis.catalogue import CONCURRENCY_MODULES, CONSTRUCTORS, METHOD_RESULTS, SUBCLASSABLE, WORKER_TYPES
from conclint.analysis.cstutil import get_arg, parameters, walk_statements
from conclint.analysis.scopes import Frame, Scopes
from conclint.analysis.walk import children


class Semantic(Scopes):
    """Per-file semantic state (scopes and types), updated by the engine before/after each node."""

    ENTERING = {
        **Scopes.ENTERING, cst.For: "_enter_for", cst.With: "_enter_with",
        # Bindings whose value's type is not known here: the name no longer holds what it did.
        cst.MatchAs: "_enter_capture", cst.MatchStar: "_enter_capture", cst.ExceptHandler: "_enter_except",
    }
    LEAVING = {
        **Scopes.LEAVING,
        cst.Assign: "_leave_assign",
        cst.AnnAssign: "_leave_ann_assign",
        cst.AugAssign: "_leave_aug_assign",
        cst.NamedExpr: "_leave_named_expr",
        cst.Call: "_leave_call",
    }

    def __init__(self, path: str, source: str) -> None:
        super().__init__(path, source)
        # Module function -> types of its positional parameters, from ``Process(target=f, args=(...))``.
        self.target_param_types: Dict[str, List[Optional[str]]] = {}

    # ------------------------------------------------------------------ queries for rules
    def type_of(self, node: cst.CSTNode) -> Optional[str]:
        """Concurrency type of an expression's value, when it can be known."""
        # (exact types: see ``qualname``)
        if type(node) is cst.Name:
            info = self._self_class(node.value)
            if info is not None:
                return info.base_type
            return self.lookup_type(node.value)
        if type(node) is cst.Attribute:
            if type(node.value) is cst.Name:
                info = self._self_class(node.value.value)
                if info is not None:
                    return info.attr_types.get(node.attr.value)
                # `Cls.lock`: a class attribute of a class of the module, used through the class.
                owner = self.classes.get(node.value.value)
                if owner is not None and not self.is_shadowed(node.value.value):
                    return owner.class_attr_types.get(node.attr.value)
            return None
        if type(node) is cst.Call:
            return self.call_result_type(node)
        if type(node) is cst.Subscript:
            container = self.type_of(node.value)
            if container and container.startswith(("list[", "dict[")) and container.endswith("]"):
                return container[5:-1]
        return None

    def call_result_type(self, call: cst.Call) -> Optional[str]:
        """Concurrency type of what ``call`` returns: a known constructor, a local subclass of
        one, or a method with a known result (``Manager().Lock()``)."""
        q = self.qualname(call.func)
        if q is not None:
            if q in CONSTRUCTORS:
                return CONSTRUCTORS[q]
            return None
        if type(call.func) is cst.Name:
            local = self.classes.get(call.func.value)
            if local is not None and local.base_type and not self.is_shadowed(call.func.value):
                return local.base_type
            return None
        if type(call.func) is cst.Attribute:
            receiver_type = self.type_of(call.func.value)
            if receiver_type is not None:
                return METHOD_RESULTS.get((receiver_type, call.func.attr.value))
        return None

    # ------------------------------------------------------------------ assignments
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
            type_ = type_ or self._dict_type(value)
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

    def _dict_type(self, value: cst.BaseExpression) -> Optional[str]:
        """``dict[T]`` for a dict whose values are all of type ``T``: ``{k: Lock() for k in
        keys}``, ``{"a": Lock(), "b": Lock()}``, ``defaultdict(Lock)``."""
        if isinstance(value, cst.DictComp):
            values: List[Optional[str]] = [self.type_of(value.value)]
        elif isinstance(value, cst.Dict) and value.elements:
            values = [self.type_of(e.value) if isinstance(e, cst.DictElement) else None for e in value.elements]
        elif isinstance(value, cst.Call) and self.qualname(value.func) == "collections.defaultdict" and len(value.args) == 1:
            factory = self.qualname(value.args[0].value)
            values = [CONSTRUCTORS.get(factory) if factory is not None else None]
        else:
            return None
        kinds = set(values)
        return f"dict[{kinds.pop()}]" if len(kinds) == 1 and None not in kinds else None

    # ------------------------------------------------------------------ module pre-scan
    def _prescan(self, module: cst.Module) -> None:
        """Also type top-level assignments before the traversal: scripts often define
        ``lock = Lock()`` under the main guard, below the functions that use it."""
        super()._prescan(module)
        frame = self.frames[0]
        seen: Dict[str, Optional[str]] = {}
        for stmt in walk_statements(module.body):
            if not isinstance(stmt, cst.Assign):
                continue
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
        for stmt in walk_statements(module.body):
            if isinstance(stmt, (cst.Expr, cst.Assign)):
                self._infer_target_params(stmt)
        # ... and in the bodies of module-level functions, where the arguments are locals
        # (`cond = Condition(); Thread(target=f, args=(cond,))`) typed by their one assignment.
        for function in self.functions.values():
            statements = list(walk_statements(function.body.body)) if isinstance(function.body, cst.IndentedBlock) else []
            local = _local_constructions(self, statements)
            for stmt in statements:
                if isinstance(stmt, (cst.Expr, cst.Assign)):
                    self._infer_target_params(stmt, local)
        # Class attributes (`class C: lock = Lock()`), for `C.lock` anywhere in the module.
        for info in self.classes.values():
            body = info.node.body.body if isinstance(info.node.body, cst.IndentedBlock) else ()
            for stmt in walk_statements(body):
                if isinstance(stmt, cst.Assign):
                    type_ = self.type_of(stmt.value)
                    for target in stmt.targets:
                        if isinstance(target.target, cst.Name) and type_ is not None:
                            info.class_attr_types.setdefault(target.target.value, type_)

    def _infer_target_params(self, stmt: cst.CSTNode, local: Optional[Dict[str, Optional[str]]] = None) -> None:
        """``Thread(target=f, args=(lock, i))`` tells the types of ``f``'s parameters (all call
        sites must agree); ``local`` types the plain names of the function ``stmt`` is in."""
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
            types = [
                local.get(e.value.value) if local is not None and isinstance(e.value, cst.Name) and e.value.value in local
                else self.type_of(e.value)
                for e in elements
            ]
            known = self.target_param_types.setdefault(target.value.value, types)
            if known != types:
                self.target_param_types[target.value.value] = []

    def _param_types(self, node: cst.FunctionDef, parent: Frame) -> Dict[str, Optional[str]]:
        """Annotated types (looked up where the def stands), then for module-level functions
        the types every ``Thread(target=f, args=(...))`` passes to unannotated positional ones."""
        types: Dict[str, Optional[str]] = {}
        for param in parameters(node):
            annotated = None
            if param.annotation is not None:
                q = self.qualname(param.annotation.annotation)
                if q in CONSTRUCTORS:
                    annotated = CONSTRUCTORS[q]
                elif isinstance(param.annotation.annotation, cst.Name) and param.annotation.annotation.value in self.classes:
                    annotated = self.classes[param.annotation.annotation.value].base_type
            types[param.name.value] = annotated
        if parent.kind == "module":
            for param, inferred in zip([*node.params.posonly_params, *node.params.params], self.target_param_types.get(node.name.value, ())):
                if param.annotation is None:
                    types[param.name.value] = inferred
        return types

    def _base_type(self, node: cst.ClassDef) -> Optional[str]:
        base_type = None
        for base in node.bases:
            if base.keyword is not None:
                continue
            q = self.qualname(base.value)
            if q in SUBCLASSABLE:
                base_type = q
            elif isinstance(base.value, cst.Name) and base.value.value in self.classes:
                base_type = base_type or self.classes[base.value.value].base_type
        return base_type

    # ------------------------------------------------------------------ node handlers
    def _enter_class(self, node: cst.ClassDef) -> None:
        super()._enter_class(node)
        info = self.frames[-1].class_info
        assert info is not None
        # Attribute types assigned anywhere in the class's methods are known in every method.
        for method in info.methods.values():
            params = parameters(method)
            if not params or not isinstance(method.body, cst.IndentedBlock):
                continue
            self_name = params[0].name.value
            for stmt in walk_statements(method.body.body):
                if isinstance(stmt, cst.Assign):
                    for target in stmt.targets:
                        t = target.target
                        if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == self_name:
                            type_ = self.type_of(stmt.value)
                            if type_ is not None:
                                info.attr_types.setdefault(t.attr.value, type_)

    def _leave_assign(self, node: cst.Assign) -> None:
        frame = self.frames[-1]
        if frame.kind == "class":
            info = frame.class_info
            type_ = self.type_of(node.value)
            for target in node.targets:
                if isinstance(target.target, cst.Name) and info is not None and type_ is not None:
                    info.attr_types[target.target.value] = type_
            return
        self._assign([t.target for t in node.targets], node.value)

    def _leave_ann_assign(self, node: cst.AnnAssign) -> None:
        if self.frames[-1].kind != "class":
            self._assign([node.target], node.value)

    def _leave_aug_assign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name) and self.frames[-1].kind != "class":
            self._store(node.target.value, None)

    def _leave_named_expr(self, node: cst.NamedExpr) -> None:
        # (`:=` binds in the def around a comprehension, as frames are kept here: the same)
        if self.frames[-1].kind != "class":
            self._assign([node.target], node.value)

    def _enter_capture(self, node: Union[cst.MatchAs, cst.MatchStar]) -> None:
        if node.name is not None and self.frames[-1].kind != "class":
            self._store(node.name.value, None)

    def _enter_except(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name) and self.frames[-1].kind != "class":
            self._store(node.name.name.value, None)

    def _enter_for(self, node: cst.For) -> None:
        iter_type = self.type_of(node.iter)
        element = None
        if iter_type and iter_type.startswith("list["):
            element = iter_type[5:-1]
        if isinstance(node.target, cst.Name):
            self._store(node.target.value, element)

    def _enter_with(self, node: cst.With) -> None:
        for item in node.items:
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                # Executors, pools and managers return themselves from __enter__.
                self._store(item.asname.name.value, self.type_of(item.item))

    def _leave_call(self, node: cst.Call) -> None:
        # ``threads.append(Thread(...))`` makes ``threads`` a list of threads.
        if (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "append"
            and isinstance(node.func.value, cst.Name)
            and len(node.args) == 1
        ):
            element = self.type_of(node.args[0].value)
            if element is not None:
                name = node.func.value.value
                current = self.lookup_type(name)
                if current is None and self._is_empty_list_binding(name):
                    self._store(name, f"list[{element}]")

    def _is_empty_list_binding(self, name: str) -> bool:
        for frame in self._scopes():
            if name in frame.types:
                return frame.types[name] is None
        return True


def _local_constructions(sem: "Semantic", statements: Sequence[cst.CSTNode]) -> Dict[str, Optional[str]]:
    """The plain names a function's statements bind, with the type of what binds them when
    each is bound once, by a call of a known constructor (None when bound otherwise too)."""
    out: Dict[str, Optional[str]] = {}
    for stmt in statements:
        if isinstance(stmt, cst.Assign):
            type_ = sem.call_result_type(stmt.value) if isinstance(stmt.value, cst.Call) else None
            for target in stmt.targets:
                if isinstance(target.target, cst.Name):
                    name = target.target.value
                    out[name] = type_ if name not in out else None
        elif isinstance(stmt, (cst.AugAssign, cst.AnnAssign)) and isinstance(stmt.target, cst.Name):
            out[stmt.target.value] = None
    return out
