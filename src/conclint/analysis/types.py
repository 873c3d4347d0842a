"""What values are, inferred during the single traversal: the concurrency types of simple
receivers.

``t = threading.Thread(...)``, ``self._lock = Lock()`` in any method, parameters annotated
with these types, subclasses of Thread/Process, ``threads.append(Thread(...))``, and the
parameters of a function every ``Thread(target=f, args=(...))`` passes the same types.
``Semantic`` adds this to the scopes of ``conclint.analysis.scopes``: it is the model rules
see as ``self.sem``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import libcst as cst

from conclint.analysis.catalogue import CONCURRENCY_MODULES, CONSTRUCTORS, METHOD_RESULTS, SUBCLASSABLE, WORKER_TYPES
from conclint.analysis.cstutil import get_arg, parameters, walk_statements
from conclint.analysis.scopes import Frame, Scopes
from conclint.analysis.walk import children


class Semantic(Scopes):
    """Per-file semantic state (scopes and types), updated by the engine before/after each node."""

    ENTERING = {**Scopes.ENTERING, cst.For: "_enter_for", cst.With: "_enter_with"}
    LEAVING = {
        **Scopes.LEAVING,
        cst.Assign: "_leave_assign",
        cst.AnnAssign: "_leave_ann_assign",
        cst.Call: "_leave_call",
    }

    def __init__(self, path: str, source: str) -> None:
        super().__init__(path, source)
        # Module function -> types of its positional parameters, from ``Process(target=f, args=(...))``.
        self.target_param_types: Dict[str, List[Optional[str]]] = {}

    # ------------------------------------------------------------------ queries for rules
    def type_of(self, node: cst.CSTNode) -> Optional[str]:
        """Concurrency type of an expression's value, when it can be known."""
        if isinstance(node, cst.Name):
            info = self._self_class(node.value)
            if info is not None:
                return info.base_type
            return self.lookup_type(node.value)
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
        """Concurrency type of what ``call`` returns: a known constructor, a local subclass of
        one, or a method with a known result (``Manager().Lock()``)."""
        q = self.qualname(call.func)
        if q is not None:
            if q in CONSTRUCTORS:
                return CONSTRUCTORS[q]
            return None
        if isinstance(call.func, cst.Name):
            local = self.classes.get(call.func.value)
            if local is not None and local.base_type and not self.is_shadowed(call.func.value):
                return local.base_type
            return None
        if isinstance(call.func, cst.Attribute):
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
