"""Turn a file's bytes into a LibCST tree, or into one clear reason why not.

LibCST's native parser is the only one conclint can fix code with, but it must be
shielded from some inputs: it recurses on the C stack and is super-linear on deep
trees, so a few thousand nested brackets or a chain of 20,000 ``and`` operands
crash the process (SIGSEGV, nothing to catch) and a chain of 3,000 subscripts
takes minutes; a 1 MiB literal costs 16 s and 750 MB. Its messages for undecodable
bytes are also poor. So, before LibCST sees a file:

* the bytes must decode (PEP 263 cookie naming a text encoding, or BOM, else UTF-8), as
  CPython decodes them, and hold no NUL;
* the file must not exceed ``MAX_PARSE_BYTES``;
* CPython's parser, fast and robust against nesting, reads it first: when it
  gives up for lack of resources, or finds the tree deeper than ``MAX_DEPTH``,
  LibCST is not tried. Its other syntax errors are kept only as the better
  message, because the running interpreter may be older than the code's syntax,
  which LibCST can still read.

Form feeds in the indentation of a line of code, which CPython reads, LibCST fails on or
silently drops: such files are parsed as a copy without them (``form_feeds``), for lint
only.

Everything here raises ``ParseFailure``; nothing else escapes.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import io
import re
import tokenize
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type, cast

from conclint.analysis.facts import COLLECTORS, SCOPES, Facts, Scope

# Beyond this LibCST needs seconds and hundreds of MB per MiB; such files are generated.
MAX_PARSE_BYTES = 2 * 1024 * 1024
# Tree depth (see ``tree_depth``) past which LibCST's recursive code generation and
# position computation exhaust Python's recursion limit (measured: 800 fails, 400 works).
MAX_DEPTH = 400
# CPython syntax errors that mean "too deep for a parser", not "wrong": LibCST would
# crash or crawl on the same input.
_RESOURCE_ERRORS = ("too many nested parentheses", "too complex", "too many levels of indentation")
_LIBCST_AT_RE = re.compile(r"error at (\d+):(\d+)")
_COOKIE_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=]")  # PEP 263
# A form feed in the indentation of a line of code: CPython's tokenizer counts the
# indentation from after it (it resets the column), LibCST 1.9 fails on some such lines
# ("Syntax Error @ 1:1", before a nested block's indentation) and silently drops the form
# feed from the code it regenerates on the others. Group 1: what CPython does not count.
_FORM_FEED_INDENT_RE = re.compile(rb"(?:\A|(?<=[\r\n]))([ \t\f]*\f)(?=[ \t]*[^ \t\f\r\n#])")
_LINE_BREAK_RE = re.compile(rb"\r\n|\r|\n")


class ParseFailure(Exception):
    """Why a file cannot be parsed, with the position of the problem (1-based)."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = max(line, 1)
        self.column = max(column, 1)


def parse_module(data: bytes) -> Any:
    """The LibCST module of ``data``; raises ``ParseFailure``."""
    return parse_screened(data, screen(data))


@dataclass
class Screened:
    """What the screen learnt of a file LibCST may parse."""

    encoding: str
    # CPython's syntax error, kept as the better message should LibCST fail too.
    error: Optional[ParseFailure]
    tree: Optional[ast.Module]
    facts: Optional[Facts]  # None when CPython could not read the file
    # Set when form feeds in indentation make LibCST read another copy (see ``form_feeds``).
    normalised: Optional["Normalised"] = None


@dataclass
class Normalised:
    """The bytes LibCST parses in place of a file's: what CPython ignores of an indentation
    with a form feed in it (up to the last form feed) is removed. Same lines, same tokens;
    columns on the lines in ``shifts`` (line -> bytes removed) are that much smaller. Never
    to be written back."""

    data: bytes
    shifts: Dict[int, int]


def screen(data: bytes) -> Screened:
    """Everything before LibCST: size, bytes, CPython's parse and depth; raises ``ParseFailure``
    for files LibCST must not be given."""
    if len(data) > MAX_PARSE_BYTES:
        raise ParseFailure(f"file too large to analyse ({_mib(len(data))} > {_mib(MAX_PARSE_BYTES)}); skipped")
    encoding = _check_bytes(data)
    facts = Facts(data, encoding)
    error, tree = _screen(data, facts)
    normalised = form_feeds(data) if tree is not None and b"\f" in data else None
    return Screened(encoding, error, tree, facts if tree is not None else None, normalised)


def form_feeds(data: bytes) -> Optional[Normalised]:
    """``data`` without what CPython ignores of indentations holding a form feed, None when
    there is no such line. Only for files CPython parsed: their meaning is kept."""
    pieces: List[bytes] = []
    shifts: Dict[int, int] = {}
    line, done = 1, 0
    for match in _FORM_FEED_INDENT_RE.finditer(data):
        start, end = match.span(1)
        line += len(_LINE_BREAK_RE.findall(data, done, start))
        pieces.append(data[done:start])
        shifts[line] = end - start
        done = end
    if not shifts:
        return None
    pieces.append(data[done:])
    return Normalised(b"".join(pieces), shifts)


def parse_screened(data: bytes, screened: Screened) -> Any:
    """LibCST's module of a file that passed ``screen``; raises ``ParseFailure``."""
    import libcst as cst

    # Validation is skipped only for files CPython accepted: LibCST's parser builds trees
    # its own validation rejects (`"str" b"bytes"`), which then fail when a visitor
    # rebuilds a node.
    trusted = trusting_the_parser() if screened.tree is not None else contextlib.nullcontext()
    if screened.normalised is not None:
        data = screened.normalised.data
    try:
        with trusted:
            return cst.parse_module(data)
    except (cst.ParserSyntaxError, cst.CSTValidationError) as exc:
        if screened.error is not None:
            raise screened.error from None
        if isinstance(exc, cst.CSTValidationError):
            raise ParseFailure(f"LibCST cannot parse this file: {exc}") from None
        raise _libcst_failure(exc) from None
    except (RecursionError, MemoryError) as exc:
        raise ParseFailure(f"cannot parse: {type(exc).__name__} (nesting too deep)") from None
    except Exception as exc:  # LibCST has more ways to refuse input than it documents
        raise ParseFailure(f"cannot parse ({screened.encoding}): {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def trusting_the_parser() -> Iterator[None]:
    """Skip node validation while LibCST's own parser builds the tree.

    Every node's ``__post_init__`` validates its fields, which is a quarter of the
    parse time; the parser only builds valid trees (LibCST's source says as much: "it
    might make more sense to move validation work into the visitor, which would allow
    us to avoid validating the tree when parsing a file"). Nodes that fixes build
    are still validated. conclint parses on one thread per process.
    """
    from libcst._nodes.base import CSTNode

    original = CSTNode.__dict__.get("__post_init__")
    if original is None:  # a LibCST that no longer validates this way: nothing to skip
        yield
        return
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]  # the point: see above
    try:
        yield
    finally:
        CSTNode.__post_init__ = original  # type: ignore[method-assign]  # (restoring it)


def _no_validation(self: Any) -> None:
    pass


def _check_bytes(data: bytes) -> str:
    """The file's encoding; raises for bytes no Python can read."""
    nul = data.find(b"\0")
    if nul >= 0:
        line, column = position_of(data, nul)
        raise ParseFailure("file contains a NUL byte (a binary file?)", line, column)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown codec, or a cookie contradicting the BOM
        why = "the file starts with a UTF-8 BOM" if data.startswith(codecs.BOM_UTF8) else exc.msg
        raise ParseFailure(f"bad coding cookie: {why}", _cookie_line(data) or 1) from None
    try:
        # bytes.decode, like CPython's tokenizer, takes text encodings only: a cookie naming
        # rot13, hex, zlib or base64 raises LookupError here, as it is a SyntaxError there.
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = position_of(data, exc.start)
        why = f"not valid {encoding}"
        if _cookie_line(data) is None and not data.startswith(codecs.BOM_UTF8):
            why += " (there is no PEP 263 coding cookie naming another encoding)"
        raise ParseFailure(f"cannot decode: byte 0x{data[exc.start]:02x} is {why}", line, column) from None
    except LookupError:
        raise ParseFailure(f"bad coding cookie: {encoding!r} is not a text encoding", _cookie_line(data) or 1) from None
    except Exception as exc:  # codecs fail in their own ways: punycode, undefined, idna
        raise ParseFailure(f"cannot decode as {encoding}: {type(exc).__name__}: {exc}", _cookie_line(data) or 1) from None
    return encoding


def _screen(data: bytes, facts: Optional[Facts] = None) -> Tuple[Optional[ParseFailure], Optional[ast.Module]]:
    """Let CPython read ``data`` first; raises when LibCST must not try, returns CPython's
    syntax error or its tree otherwise (filing ``facts`` on the way)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are not ours to report
            tree = ast.parse(data)
    except SyntaxError as exc:
        failure = ParseFailure(f"SyntaxError: {exc.msg}", exc.lineno or 1, exc.offset or 1)
        if any(text in exc.msg for text in _RESOURCE_ERRORS):
            raise failure from None
        return failure, None
    except (RecursionError, MemoryError) as exc:
        raise ParseFailure(f"nesting too deep to parse ({type(exc).__name__} in CPython's parser)") from None
    except ValueError as exc:  # what older Pythons raise for some undecodable sources
        return ParseFailure(f"cannot parse: {exc}"), None
    depth, deepest = tree_depth(tree, facts)
    if facts is not None:
        facts.module_body = tree.body
    if depth > MAX_DEPTH:
        line = getattr(deepest, "lineno", 1)
        column = getattr(deepest, "col_offset", 0) + 1
        raise ParseFailure(f"nesting too deep to analyse (depth {depth} > {MAX_DEPTH})", line, column)
    return None, tree


def tree_depth(tree: ast.AST, facts: Optional[Facts] = None) -> Tuple[int, ast.AST]:
    """The depth of ``tree`` as LibCST will build it, and the deepest node with a position;
    files the nodes rules ask about in ``facts`` on the way (one walk for both).

    CPython keeps ``a and b and c`` flat where LibCST nests one ``BooleanOperation``
    per operator, so each operand counts as one level more than the one before it.
    Iterative: the trees measured here are the ones too deep to recurse over.
    """
    best, deepest = 0, tree
    stack: List[Tuple[ast.AST, int, Optional[Scope]]] = [(tree, 1, None)]
    pop, push, AST = stack.pop, stack.append, ast.AST
    collectors = COLLECTORS if facts is not None else {}
    while stack:
        node, depth, scope = pop()
        kind = type(node)
        collect = collectors.get(kind)
        if collect is not None and facts is not None:  # (there are collectors only with facts)
            collect(facts, node, scope)
        if depth > best:
            best = depth
            if hasattr(node, "lineno"):  # operators have no position
                deepest = node
        if kind is ast.BoolOp:
            for offset, value in enumerate(cast(ast.BoolOp, node).values, 1):
                push((value, depth + offset, scope))
            continue
        depth += 1
        if kind in SCOPES:
            scope = cast(Scope, node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _child_fields(kind)
        for name in fields:
            value = getattr(node, name)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        push((item, depth, scope))
            elif isinstance(value, AST):
                push((value, depth, scope))
    return best, deepest


# Fields that never hold a child node LibCST has (``ctx`` is CPython's alone), or hold text.
# Plain field access over these: ast.iter_child_nodes costs 9x as much, and this runs on
# every screened file (1.3 M nodes on the standard library).
_NOT_CHILDREN = frozenset({"ctx", "id", "attr", "arg", "kind", "type_comment", "level", "module", "asname", "names"})
_CHILD_FIELDS: Dict[Type[ast.AST], Tuple[str, ...]] = {}


def _child_fields(kind: Type[ast.AST]) -> Tuple[str, ...]:
    fields = tuple(f for f in kind._fields if f not in _NOT_CHILDREN and not (kind is ast.Constant and f == "value"))
    _CHILD_FIELDS[kind] = fields
    return fields


# How a file CPython reads and LibCST does not is reported (a notice that it is not linted).
LIBCST_ONLY = "LibCST cannot parse this file (CPython can)"


def _libcst_failure(exc: Any) -> ParseFailure:
    match = _LIBCST_AT_RE.search(exc.message)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (exc.raw_line, exc.raw_column + 1)
    first = exc.message.splitlines()[0] if exc.message else "parser error"
    return ParseFailure(f"{LIBCST_ONLY}: {first}", line, column)


def position_of(data: bytes, offset: int) -> Tuple[int, int]:
    """1-based (line, column) of a byte offset; the column counts bytes."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _cookie_line(data: bytes) -> Optional[int]:
    """The line of the PEP 263 coding cookie (1 or 2), if there is one."""
    for number, line in enumerate(data.split(b"\n", 2)[:2], 1):
        if _COOKIE_RE.match(line):
            return number
    return None


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"
