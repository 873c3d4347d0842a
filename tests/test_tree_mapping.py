"""The correspondences between CPython's tree and LibCST's that the second gate relies on,
one test per row of the table in CONTRIBUTING.md ("CPython's tree and LibCST's"): a gate
reads ``ast``, a visitor reads LibCST, and a gate must admit every file the visitor could
report in. A LibCST or CPython that changes one of them fails here, not in a gate."""

from __future__ import annotations

import ast
from typing import Dict, List, Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from conclint.analysis import Semantic
from conclint.analysis.facts import Facts, callee_name, scalar_literal
from conclint.analysis.parsing import screen
from conclint.analysis.walk import traverse
from helpers import lint


def ast_expr(source: str) -> ast.expr:
    return ast.parse(source).body[0].value  # type: ignore[attr-defined, no-any-return]


def cst_expr(source: str) -> cst.BaseExpression:
    line = cst.parse_module(source + "\n").body[0]
    assert isinstance(line, cst.SimpleStatementLine)
    return line.body[0].value  # type: ignore[attr-defined, no-any-return]


def facts_of(source: str) -> Facts:
    facts = screen(source.encode()).facts
    assert facts is not None
    return facts


def test_call_arguments_keywords_and_stars():
    tree = ast_expr("f(a, *b, k=1, **d)")
    assert [type(a).__name__ for a in tree.args] == ["Name", "Starred"]
    assert [k.arg for k in tree.keywords] == ["k", None]
    node = cst_expr("f(a, *b, k=1, **d)")
    assert isinstance(node, cst.Call)
    assert [(a.keyword.value if a.keyword else None, a.star) for a in node.args] == [(None, ""), (None, "*"), ("k", ""), (None, "**")]


def test_attribute_name_and_callee_last_name():
    assert isinstance(ast_expr("a.b.c").attr, str)
    node = cst_expr("a.b.c")
    assert isinstance(node, cst.Attribute) and isinstance(node.attr, cst.Name) and node.attr.value == "c"
    assert callee_name(ast_expr("a.b.f()").func) == "f" and callee_name(ast_expr("f()").func) == "f"
    assert callee_name(ast_expr("x[0]()").func) == ""


def test_expression_statements_and_blocks():
    source = "f(); g()\nif x: h()\nasync def k():\n    await m()\n"
    assert [type(s).__name__ for s in ast.parse(source).body] == ["Expr", "Expr", "If", "AsyncFunctionDef"]
    module = cst.parse_module(source)
    line, if_, _ = module.body
    assert isinstance(line, cst.SimpleStatementLine) and [type(s).__name__ for s in line.body] == ["Expr", "Expr"]
    assert isinstance(if_, cst.If) and isinstance(if_.body, cst.SimpleStatementSuite)
    facts = facts_of(source)
    assert set(facts.statement_calls) == {"f", "g", "h"}  # not `await m()`: that Expr holds an Await
    assert "m" in facts.calls


def test_while_for_else_and_async_for():
    source = "while x:\n    pass\nelse:\n    pass\n"
    assert isinstance(ast.parse(source).body[0].orelse, list)  # type: ignore[attr-defined]
    node = cst.parse_module(source).body[0]
    assert isinstance(node, cst.While) and isinstance(node.orelse, cst.Else)
    assert cst.parse_module("while x:\n    pass\n").body[0].orelse is None  # type: ignore[attr-defined]
    assert isinstance(cst.parse_module("for x in y:\n    pass\nelse:\n    pass\n").body[0].orelse, cst.Else)  # type: ignore[attr-defined]
    source = "async def f():\n    async for x in y:\n        pass\n"
    assert type(ast.parse(source).body[0].body[0]) is ast.AsyncFor  # type: ignore[attr-defined]
    loop = cst.parse_module(source).body[0].body.body[0]  # type: ignore[attr-defined]
    assert isinstance(loop, cst.For) and loop.asynchronous is not None


def test_with_items():
    source = "with a as b, c:\n    pass\nasync def f():\n    async with d:\n        pass\n"
    tree = ast.parse(source)
    assert type(tree.body[0]) is ast.With and type(tree.body[1].body[0]) is ast.AsyncWith  # type: ignore[attr-defined]
    assert isinstance(tree.body[0].items[0], ast.withitem) and tree.body[0].items[0].optional_vars is not None  # type: ignore[attr-defined]
    module = cst.parse_module(source)
    node = module.body[0]
    assert isinstance(node, cst.With) and node.asynchronous is None
    item = node.items[0]
    assert isinstance(item, cst.WithItem) and isinstance(item.asname, cst.AsName) and isinstance(item.asname.name, cst.Name)
    inner = module.body[1].body.body[0]  # type: ignore[attr-defined]
    assert isinstance(inner, cst.With) and inner.asynchronous is not None
    assert len(facts_of(source).with_items) == 3


def test_try_finally_handlers_and_try_star():
    source = "try:\n    pass\nexcept E as e:\n    pass\nelse:\n    pass\nfinally:\n    pass\n"
    tree = ast.parse(source).body[0]
    assert isinstance(tree, ast.Try) and isinstance(tree.finalbody, list) and isinstance(tree.orelse, list)
    assert isinstance(tree.handlers[0].name, str)
    node = cst.parse_module(source).body[0]
    assert isinstance(node, cst.Try) and isinstance(node.finalbody, cst.Finally) and isinstance(node.orelse, cst.Else)
    assert isinstance(node.finalbody.body, cst.IndentedBlock)
    assert isinstance(node.handlers[0].name, cst.AsName)
    bare = "try:\n    pass\nexcept E:\n    pass\n"
    assert ast.parse(bare).body[0].finalbody == []  # type: ignore[attr-defined]
    assert cst.parse_module(bare).body[0].finalbody is None  # type: ignore[attr-defined]
    star = "try:\n    pass\nexcept* E:\n    pass\n"
    assert type(cst.parse_module(star).body[0]) is cst.TryStar
    if hasattr(ast, "TryStar"):  # Python 3.11+
        assert type(ast.parse(star).body[0]) is ast.TryStar


def test_if_elif_else():
    source = "if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\n"
    tree = ast.parse(source).body[0]
    assert isinstance(tree.orelse, list) and len(tree.orelse) == 1 and type(tree.orelse[0]) is ast.If  # type: ignore[attr-defined]
    node = cst.parse_module(source).body[0]
    assert isinstance(node, cst.If) and isinstance(node.orelse, cst.If) and isinstance(node.orelse.orelse, cst.Else)


def test_async_def_and_parameters():
    source = "async def f(a, /, b=1, *c, d, **e):\n    pass\n"
    tree = ast.parse(source).body[0]
    assert type(tree) is ast.AsyncFunctionDef
    args = tree.args
    assert ([a.arg for a in args.posonlyargs], [a.arg for a in args.args], args.vararg.arg) == (["a"], ["b"], "c")  # type: ignore[union-attr]
    assert ([a.arg for a in args.kwonlyargs], args.kwarg.arg, len(args.defaults)) == (["d"], "e", 1)  # type: ignore[union-attr]
    node = cst.parse_module(source).body[0]
    assert isinstance(node, cst.FunctionDef) and node.asynchronous is not None
    params = node.params
    assert [p.name.value for p in params.posonly_params] == ["a"] and [p.name.value for p in params.params] == ["b"]
    assert isinstance(params.star_arg, cst.Param) and params.star_arg.name.value == "c"
    assert [p.name.value for p in params.kwonly_params] == ["d"] and params.star_kwarg is not None
    assert params.params[0].default is not None


def test_class_bases_are_args_in_libcst():
    tree = ast.parse("class A(B, metaclass=M):\n    pass\n").body[0]
    assert [type(b).__name__ for b in tree.bases] == ["Name"] and [k.arg for k in tree.keywords] == ["metaclass"]  # type: ignore[attr-defined]
    node = cst.parse_module("class A(B, metaclass=M):\n    pass\n").body[0]
    assert isinstance(node, cst.ClassDef) and isinstance(node.bases[0], cst.Arg) and isinstance(node.bases[0].value, cst.Name)
    assert node.keywords[0].keyword is not None and node.keywords[0].keyword.value == "metaclass"


def _nesting(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.BooleanOperation):
        word = "and" if isinstance(node.operator, cst.And) else "or"
        return f"({_nesting(node.left)} {word} {_nesting(node.right)})"
    assert isinstance(node, cst.Name)
    return node.value


def test_boolean_operations_flat_in_cpython_nested_in_libcst():
    tree = ast_expr("a and b and c")
    assert type(tree) is ast.BoolOp and len(tree.values) == 3  # type: ignore[attr-defined]
    assert _nesting(cst_expr("a and b and c")) == "((a and b) and c)"
    assert _nesting(cst_expr("a and b and c or d")) == "(((a and b) and c) or d)"


def test_comparisons():
    tree = ast_expr("a < b <= c")
    assert type(tree) is ast.Compare and [type(o).__name__ for o in tree.ops] == ["Lt", "LtE"] and len(tree.comparators) == 2  # type: ignore[attr-defined]
    node = cst_expr("a < b <= c")
    assert isinstance(node, cst.Comparison)
    assert [type(t.operator).__name__ for t in node.comparisons] == ["LessThan", "LessThanEqual"]
    assert [type(o).__name__ for o in ast_expr("a is not b").ops] == ["IsNot"]  # type: ignore[attr-defined]
    assert [type(o).__name__ for o in ast_expr("a not in b").ops] == ["NotIn"]  # type: ignore[attr-defined]
    assert type(cst_expr("a is not b").comparisons[0].operator) is cst.IsNot  # type: ignore[attr-defined]
    assert type(cst_expr("a not in b").comparisons[0].operator) is cst.NotIn  # type: ignore[attr-defined]


def test_unary_and_binary_operations():
    assert type(ast_expr("not x")) is ast.UnaryOp and type(cst_expr("not x")) is cst.UnaryOperation
    assert type(ast_expr("-1")) is ast.UnaryOp and type(cst_expr("-1")) is cst.UnaryOperation
    assert type(ast_expr("a + b")) is ast.BinOp and type(cst_expr("a + b")) is cst.BinaryOperation


def test_constants():
    cases = {
        '"x"': (str, cst.SimpleString),
        "b'x'": (bytes, cst.SimpleString),
        '"""doc"""': (str, cst.SimpleString),
        "'a' 'b'": (str, cst.ConcatenatedString),
        "1": (int, cst.Integer),
        "1.5": (float, cst.Float),
        "1j": (complex, cst.Imaginary),
        "True": (bool, cst.Name),
        "None": (type(None), cst.Name),
        "...": (type(...), cst.Ellipsis),
    }
    for source, (value_type, node_type) in cases.items():
        tree = ast_expr(source)
        assert type(tree) is ast.Constant and type(tree.value) is value_type, source  # type: ignore[attr-defined]
        assert type(cst_expr(source)) is node_type, source
    assert type(ast_expr('f"{x}"')) is ast.JoinedStr and type(cst_expr('f"{x}"')) is cst.FormattedString
    # What gates take for LibCST's BaseString/BaseNumber admits at least all of them.
    for source in [*cases, 'f"{x}"', "-1"]:
        if isinstance(cst_expr(source), (cst.BaseString, cst.BaseNumber)):
            assert scalar_literal(ast_expr(source)), source


def test_subscripts():
    assert type(ast_expr("x[1]").slice) is ast.Constant and type(ast_expr("x[1:2, 3]").slice) is ast.Tuple  # type: ignore[attr-defined]
    node = cst_expr("x[1]")
    assert isinstance(node, cst.Subscript) and isinstance(node.slice[0], cst.SubscriptElement)
    assert isinstance(node.slice[0].slice, cst.Index)
    assert [type(e.slice).__name__ for e in cst_expr("x[1:2, 3]").slice] == ["Slice", "Index"]  # type: ignore[attr-defined]


def test_assignments():
    source = "a = b = 1\nx: int = 1\ny += 1\n(z := 2)\n"
    tree = ast.parse(source)
    assert [type(s).__name__ for s in tree.body] == ["Assign", "AnnAssign", "AugAssign", "Expr"]
    assert len(tree.body[0].targets) == 2 and type(tree.body[3].value) is ast.NamedExpr  # type: ignore[attr-defined]
    body = [line.body[0] for line in cst.parse_module(source).body]  # type: ignore[attr-defined]
    assert [type(s).__name__ for s in body] == ["Assign", "AnnAssign", "AugAssign", "Expr"]
    assert [type(t).__name__ for t in body[0].targets] == ["AssignTarget", "AssignTarget"]
    assert type(body[3].value) is cst.NamedExpr
    assert len(cst.parse_module("a = 1; b = 2\n").body) == 1 and len(ast.parse("a = 1; b = 2\n").body) == 2


def test_imports():
    source = "import a.b as c\nfrom .m import x as y\nfrom z import *\n"
    tree = ast.parse(source)
    alias = tree.body[0].names[0]  # type: ignore[attr-defined]
    assert (alias.name, alias.asname) == ("a.b", "c")
    assert (tree.body[1].level, tree.body[1].module) == (1, "m")  # type: ignore[attr-defined]
    assert tree.body[2].names[0].name == "*"  # type: ignore[attr-defined]
    module = cst.parse_module(source)
    imported = module.body[0].body[0]  # type: ignore[attr-defined]
    assert isinstance(imported.names[0].name, cst.Attribute) and isinstance(imported.names[0].asname, cst.AsName)
    relative = module.body[1].body[0]  # type: ignore[attr-defined]
    assert len(relative.relative) == 1 and isinstance(relative.relative[0], cst.Dot) and relative.module.value == "m"
    assert isinstance(module.body[2].body[0].names, cst.ImportStar)  # type: ignore[attr-defined]


def test_names_have_a_context_only_in_cpython():
    assert type(ast.parse("x = y").body[0].targets[0].ctx) is ast.Store  # type: ignore[attr-defined]
    assert not hasattr(cst_expr("y"), "ctx")


def test_parentheses_are_kept_only_by_libcst():
    assert type(ast_expr("f((x))").args[0]) is ast.Name  # type: ignore[attr-defined]
    inner = cst_expr("f((x))").args[0].value  # type: ignore[attr-defined]
    assert isinstance(inner, cst.Name) and len(inner.lpar) == 1 and len(inner.rpar) == 1
    one = cst_expr("(1,)")
    assert isinstance(one, cst.Tuple) and len(one.lpar) == 1
    facts = facts_of("x = (1)\ny = 1\n")
    first, second = sorted((a.value for a in facts.assignments), key=lambda v: v.lineno)  # type: ignore[attr-defined]
    assert facts.parenthesized(first) and not facts.parenthesized(second)


def test_comments_only_in_libcst():
    module = cst.parse_module("# head\nx = 1  # trailing\n")
    assert module.header[0].comment is not None and module.header[0].comment.value == "# head"
    line = module.body[0]
    assert isinstance(line, cst.SimpleStatementLine) and line.trailing_whitespace.comment is not None


def _libcst_positions(source: str) -> Dict[type, List[tuple]]:
    positions = MetadataWrapper(cst.parse_module(source)).resolve(PositionProvider)
    out: Dict[type, List[tuple]] = {}
    for node, where in positions.items():
        out.setdefault(type(node), []).append((where.start.line, where.start.column))
    return out


def test_columns_count_bytes_in_cpython_and_characters_in_libcst():
    source = "import threading\ns = 'é'; t = threading.currentThread()\n"
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call))
    line = source.splitlines()[1]
    characters = line.index("threading.currentThread()")
    assert (call.lineno, call.col_offset) == (2, characters + 1)  # "é" is two bytes in UTF-8
    assert (2, characters) in _libcst_positions(source)[cst.Call]
    # Findings print LibCST's column, 1-based (CCL301 reports the name `currentThread`).
    assert [(f.line, f.column) for f in lint(source) if f.code == "CCL301"] == [(2, line.index("currentThread") + 1)]


def test_a_decorated_def_starts_at_def_in_both():
    source = "@dec\ndef f():\n    pass\n"
    tree = ast.parse(source).body[0]
    assert tree.lineno == 2 and tree.decorator_list[0].lineno == 1  # type: ignore[attr-defined]
    assert _libcst_positions(source)[cst.FunctionDef] == [(2, 0)]


SCOPES = """\
def outer(x=default()):
    @decorated()
    def inner(y: annotated()):
        in_inner()
    class Local:
        in_class_body()

        def method(self):
            in_method()
    [in_comprehension() for _ in range(1)]
    handler = lambda: in_lambda()


at_module()
"""


def _facts_scopes() -> Dict[str, Optional[str]]:
    facts = facts_of(SCOPES)
    out = {}
    for name, calls in facts.calls.items():
        scope = facts.scope[calls[0]]
        out[name] = None if scope is None else getattr(scope, "name", "<lambda>")
    return out


def _semantic_scopes() -> Dict[str, Optional[str]]:
    module = cst.parse_module(SCOPES)
    sem = Semantic("x.py", SCOPES)
    out: Dict[str, Optional[str]] = {}

    def enter(node: cst.CSTNode) -> None:
        sem.enter(node)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            frame = sem.function
            out[node.func.value] = None if frame is None else frame.name

    traverse(module, enter, sem.leave)
    return out


def test_scopes_of_calls_in_both_models():
    # A def's default values, decorators and annotations count as inside it.
    expected_facts = {
        "default": "outer", "decorated": "inner", "annotated": "inner", "in_inner": "inner",
        "in_class_body": "outer", "in_method": "method", "in_comprehension": "outer", "range": "outer",
        "in_lambda": "<lambda>", "at_module": None,
    }
    assert _facts_scopes() == expected_facts
    # The same but in a class body, where the semantic model sees no function.
    assert _semantic_scopes() == {**expected_facts, "in_class_body": None}
