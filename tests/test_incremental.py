"""The language server's incremental parse (``conclint.analysis.incremental.ParseCache``):
the module it assembles from per-statement chunks is the one LibCST gives for the whole
text, on real files and their awkward variants, after edits that reuse the last version's
chunks; and linting and fixing with it find and write exactly what they do without it."""

from __future__ import annotations

import ast
import codecs
import re
import sysconfig
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst
import pytest

from conclint.analysis.incremental import ParseCache, split
from conclint.analysis.parsing import ParseFailure, parse_screened, screen
from conclint.analysis.walk import traverse
from conclint.applier import apply_changes, select_fixes
from conclint.engine import lint_source
from conclint.fixer import fix_source
from helpers import FIXTURES, settings

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SAMPLE_SIZE = 320
MAX_BYTES = 12_000  # keeps the sample's parses (three per file and variant) near half a minute


def stdlib_sample() -> List[Path]:
    """``SAMPLE_SIZE`` standard-library files spread evenly over their sorted list (not
    site-packages), at most ``MAX_BYTES`` each: the same files on every run."""
    files = sorted(
        p for p in STDLIB.rglob("*.py")
        if "site-packages" not in p.parts and p.stat().st_size <= MAX_BYTES
    )
    if len(files) < SAMPLE_SIZE:
        pytest.skip("no standard-library sources (a stripped Python)")
    step = len(files) / SAMPLE_SIZE
    return [files[int(i * step)] for i in range(SAMPLE_SIZE)]


# ---------------------------------------------------------------------------- variants
def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def no_trailing_newline(data: bytes) -> bytes:
    return data.rstrip(b"\r\n")


def bom(data: bytes) -> bytes:
    return data if data.startswith(codecs.BOM_UTF8) else codecs.BOM_UTF8 + data


def tabs(data: bytes) -> bytes:
    """Indentation by tabs: each leading group of four spaces (also inside strings, which
    keeps the program valid)."""
    return re.sub(rb"(?m)^((?:    )+)", lambda m: b"\t" * (len(m.group(1)) // 4), data)


def form_feed_lines(data: bytes) -> bytes:
    """A line holding only a form feed before each top-level def (as old stdlib modules have)."""
    return re.sub(rb"(?m)^(def |class )", b"\x0c\n\\1", data)


def mixed_indent(data: bytes) -> bytes:
    """A two-space function before everything else: the file's indent is two spaces, its
    other blocks keep theirs."""
    return b"def _first():\n  return 1\n" + data


def mixed_newlines(data: bytes) -> bytes:
    """The first line break CRLF, the others as they were."""
    return data.replace(b"\n", b"\r\n", 1) if b"\r" not in data else data


VARIANTS: Dict[str, Callable[[bytes], bytes]] = {
    "crlf": crlf, "no trailing newline": no_trailing_newline, "bom": bom, "tabs": tabs,
    "form feed lines": form_feed_lines, "mixed indent": mixed_indent, "mixed newlines": mixed_newlines,
}


def sources() -> Iterator[Tuple[str, bytes]]:
    """The sample's files, then every tenth one in each variant (those CPython still reads)."""
    sample = stdlib_sample()
    for path in sample:
        yield str(path), path.read_bytes()
    for name, variant in VARIANTS.items():
        for path in sample[::10]:
            yield f"{path} ({name})", variant(path.read_bytes())


# ---------------------------------------------------------------------------- checks
def whole(data: bytes) -> Optional[cst.Module]:
    try:
        return parse_screened(data, screen(data))
    except ParseFailure:
        return None


def assert_same(assembled: cst.Module, full: cst.Module, where: str, source: Optional[str] = None) -> None:
    """``assembled`` is ``full``: equal trees, the same code (generated once when ``source``,
    the text both were parsed from, is what it gives back), the same module settings."""
    assert assembled.deep_equals(full), f"{where}: the assembled module differs from LibCST's"
    code = assembled.code
    if code != source:  # (LibCST does not give back some texts as they were: lone CRs)
        assert code == full.code, where
    for attribute in ("encoding", "default_indent", "default_newline", "has_trailing_newline"):
        assert getattr(assembled, attribute) == getattr(full, attribute), f"{where}: {attribute}"


def node_ids(module: cst.Module) -> Tuple[int, Set[int]]:
    """How many nodes the engine's traversal visits, and their distinct identities."""
    seen: List[int] = []
    traverse(module, lambda node: seen.append(id(node)), lambda node: None)
    return len(seen), set(seen)


def kinds(data: bytes) -> Set[str]:
    """Which of the awkward things the sample must hold this source holds."""
    found = set()
    text = data.decode("utf-8", "replace")
    tree = ast.parse(data)
    if any(getattr(s, "decorator_list", None) for s in tree.body):
        found.add("decorators")
    if re.search(r"\n\s*\n#[^\n]*\n(?:@|def |class )", text):
        found.add("comments between defs")
    if re.search(r"\n(    )+[^\s#][^\n]*\n(    )+#[^\n]*\n+\S", text):
        found.add("trailing comments in blocks")
    if any(
        isinstance(s, ast.If) and isinstance(s.test, ast.Compare) and isinstance(s.test.left, ast.Name)
        and s.test.left.id == "__name__" for s in tree.body
    ):
        found.add("__main__ block")
    for name, test in (
        ("crlf", b"\r\n" in data), ("tabs", b"\n\t" in data), ("no trailing newline", not data.endswith(b"\n")),
        ("form feeds", b"\x0c" in data), ("bom", data.startswith(codecs.BOM_UTF8)),
        ("coding cookie", re.match(rb"(#[^\n]*\n)?#.*coding[:=]\s*(?!utf-?8)", data, re.I) is not None),
    ):
        if test:
            found.add(name)
    return found


# ---------------------------------------------------------------------------- tests
def test_the_assembled_module_is_libcsts_own_on_real_files_and_their_variants():
    covered: Dict[str, int] = {}
    chunked = checked = 0
    for where, data in sources():
        full = whole(data)
        if full is None:
            continue  # a variant CPython or LibCST refuses (tabs in a file mixing them)
        checked += 1
        for kind in kinds(data):
            covered[kind] = covered.get(kind, 0) + 1
        cache = ParseCache()
        source = data.decode(full.encoding).lstrip("\ufeff")
        assembled = cache.parse(data, screen(data))
        assert_same(assembled, full, where, source)
        if cache.stats.whole is None:
            chunked += 1
            assert cache.stats.parsed >= cache.stats.chunks > 1 and cache.stats.reused == 0
            # Again: every chunk comes from the cache, and the tree is still LibCST's.
            again = cache.parse(data, screen(data))
            assert cache.stats.parsed == 0 and cache.stats.reused >= cache.stats.chunks
            assert_same(again, full, where + " (again)", source)
        else:
            assert cache.stats.whole in ("fewer than two statements", "form feeds in indentation"), (where, cache.stats)
    assert checked >= 300 + 5 * (SAMPLE_SIZE // 10)
    assert chunked >= 0.7 * checked, "most files must take the incremental path"
    wanted = [
        "decorators", "comments between defs", "trailing comments in blocks", "__main__ block", "crlf", "tabs",
        "no trailing newline", "form feeds", "bom", "coding cookie",
    ]
    assert [kind for kind in wanted if not covered.get(kind)] == [], covered


# Awkward texts, each written to break one assumption of the chunking.
AWKWARD = {
    "blank line then an indented comment after a statement": "x = 1\n\n    # in\n\n# out\ny = 2\n",
    "comments after a block, indented and not": "def f():\n    pass\n    # in f\n\n# out\n  # between\ndef g():\n    pass\n",
    "nested block footers": "class A:\n    def f(self):\n        pass\n        # f\n    # A\n# module\nx = 1\n",
    "first block indented by two": "x = 1\ndef f():\n  return 1\n\ndef g():\n    return 2\n",
    "tabs after spaces": "if x:\n    pass\nclass A:\n\tdef h(self):\n\t\tpass\n",
    "match with one-line cases first": "x = 1\nmatch x:\n  case 1: pass\ndef f():\n    pass\n",
    "else block after a one-line if": "if x: pass\nelse:\n   pass\ndef f():\n    pass\n",
    "CRLF first, LF after": "x = 1\r\ny = 2\ndef f():\n    pass\r\nz = 3\n",
    "LF first, CRLF after, no final newline": "x = 1\ny = 2\r\ndef f():\r\n    pass\r\n\r\nz = 3",
    "form feed lines": "x = 1\n\x0c\ndef f():\n    pass\n\x0c\n# c\ny = 2\n",
    "form feed in an indentation": "x = 1\ndef f():\n\x0c    pass\ny = 2\n",
    "semicolons": "a = 1; b = 2\nc = 3; d = 4\n",
    "a line continued into the next statement": "x = 1\n\\\ny = 2\nz = 3\n",
    "comments between decorators": "import x\n@x.y\n# c\n@z\ndef f():\n    pass\n",
    "trailing comment, no final newline": "x = 1\ndef f():\n    pass\n    # c",
    "header only comments": "# one\n# two\n\nx = 1\ny = 2\n",
    "lone carriage returns": "x = 1\ry = 2\rdef f():\r    pass\r",
    "string spanning lines": 'x = """\ndef f():\n    pass\n"""\ny = 2\n',
    "same statement twice": "def f():\n    return 1\n\ndef f():\n    return 1\n\ndef f():\n    return 1\n",
    "parenthesized start": "(a,\n b) = 1, 2\n[c] = [3]\n",
    "async and decorated class": "import x\n@x\nclass A:\n    async def f(self):\n        await g()\n",
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_awkward_texts_assemble_to_libcsts_module(name):
    data = AWKWARD[name].encode()
    full = whole(data)
    assert full is not None
    cache = ParseCache()
    assert_same(cache.parse(data, screen(data)), full, name)
    assert_same(cache.parse(data, screen(data)), full, name + " (again)")


def test_what_is_parsed_whole_and_why():
    for text, why in [
        ("x = 1\ry = 2\r", "lone carriage returns"),
        ("x = 1\ndef f():\n\x0c    pass\n", "form feeds in indentation"),
        ("x = 1\n", "fewer than two statements"),
        ("print 'py2'\nx = 1\n", "CPython could not parse it"),
    ]:
        data = text.encode()
        cache = ParseCache()
        try:
            cache.parse(data, screen(data))
        except ParseFailure:
            pass
        assert cache.stats.whole == why, text
    # A chunk read otherwise than expected is not trusted: a decorator continued onto the
    # line of its expression makes the boundary unusable, and the chunks stay correct.
    data = b"import x\n@\\\nx\ndef f():\n    pass\nclass A: pass\n"
    cache = ParseCache()
    assert_same(cache.parse(data, screen(data)), whole(data) or cst.Module([]), "continued decorator")


def test_split_cuts_before_each_statement_but_not_inside_or_after_a_continuation():
    text = "# header\n\nx = 1\n\n# c\ndef f():\n    pass\ny = (\n  2)\nz = 3 \\\n  + 4\n"
    assert split(text, [3, 6, 8, 10]) == [
        "# header\n\nx = 1\n\n# c\n", "def f():\n    pass\n", "y = (\n  2)\n", "z = 3 \\\n  + 4\n",
    ]
    # A line that does not start a statement at column 0 is not cut before.
    assert split("if x:\n    y = 1\nz = 2\n", [1, 2, 3]) == ["if x:\n    y = 1\n", "z = 2\n"]
    assert split("x = 1\n\\\ny = 2\n", [1, 3]) == ["x = 1\n\\\ny = 2\n"]
    assert split("", []) is None


# ---------------------------------------------------------------------------- edits
def top_level(data: bytes) -> List[Tuple[int, int, ast.stmt]]:
    """(first line, last line, node) of each top-level statement, decorators included."""
    out = []
    for node in ast.parse(data).body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        out.append((first, node.end_lineno or node.lineno, node))
    return out


def change_a_body(lines: List[bytes], statements: List[Tuple[int, int, ast.stmt]]) -> Optional[List[bytes]]:
    for first, last, node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body[0].lineno > node.lineno:
            body_line = lines[node.body[0].lineno - 1]
            indent = body_line[: len(body_line) - len(body_line.lstrip())]
            newline = b"\r\n" if lines[last - 1].endswith(b"\r\n") else b"\n"
            return lines[:last] + [indent + b"_edited = 1" + newline] + lines[last:]
    return None


def insert_a_statement(lines: List[bytes], statements: List[Tuple[int, int, ast.stmt]]) -> List[bytes]:
    first = statements[len(statements) // 2][0]
    return lines[: first - 1] + [b"_inserted = 1\n"] + lines[first - 1:]


def delete_a_statement(lines: List[bytes], statements: List[Tuple[int, int, ast.stmt]]) -> List[bytes]:
    first, last, _ = statements[len(statements) // 3]
    return lines[: first - 1] + lines[last:]


def duplicate_a_function(lines: List[bytes], statements: List[Tuple[int, int, ast.stmt]]) -> Optional[List[bytes]]:
    """A def's whole chunk (up to the next statement) written twice: the same chunk text twice."""
    for (first, _, node), (following, _, _) in zip(statements, statements[1:]):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            chunk = lines[first - 1: following - 1]
            return lines[: following - 1] + chunk + lines[following - 1:]
    return None


EDITS = [change_a_body, insert_a_statement, delete_a_statement, duplicate_a_function]


def edited_versions(data: bytes) -> Iterator[Tuple[str, bytes]]:
    """Each edit applied to the version before it."""
    for edit in EDITS:
        try:
            statements = top_level(data)
        except SyntaxError:  # (fixtures of CCL000)
            return
        if len(statements) < 4:
            return
        lines = data.splitlines(keepends=True)
        new = edit(lines, statements)
        if new is None:
            continue
        data = b"".join(new)
        yield edit.__name__, data


def test_edits_reuse_the_chunks_they_did_not_touch_and_give_libcsts_module():
    sample = [p for p in stdlib_sample()[::4] if p.stat().st_size > 2000]
    exercised: Dict[str, int] = {}
    for path in sample:
        data = path.read_bytes()
        cache = ParseCache()
        cache.parse(data, screen(data))
        if cache.stats.whole is not None:
            continue
        for name, data in edited_versions(data):
            full = whole(data)
            assert full is not None, (path, name)
            module = cache.parse(data, screen(data))
            where = f"{path} after {name}"
            assert_same(module, full, where, data.decode("utf-8"))
            stats = cache.stats
            assert stats.whole is None, where
            # Only what the edit touched is parsed again (a change parses its chunk, a deletion
            # the chunk before it, which takes over its trailing lines).
            least = 0 if name == "delete_a_statement" else 1  # (a statement without trailing lines)
            assert least <= stats.parsed <= 2 and stats.reused >= stats.chunks - 2, (where, stats)
            # No node is in the tree twice: rules and positions key their maps by identity.
            count, distinct = node_ids(module)
            assert count == len(distinct), where
            exercised[name] = exercised.get(name, 0) + 1
    assert all(exercised.get(edit.__name__, 0) >= 10 for edit in EDITS), exercised


def test_a_duplicated_chunk_gets_nodes_of_its_own():
    text = b"import threading\n\ndef f():\n    threading.Lock().acquire()\n\n"
    data = text + b"x = 1\n"
    cache = ParseCache()
    cache.parse(data, screen(data))
    doubled = text + text[len(b"import threading\n\n"):] + b"x = 1\n"
    module = cache.parse(doubled, screen(doubled))
    assert (cache.stats.reused, cache.stats.parsed) == (3, 1)
    first, second = module.body[1], module.body[2]
    assert first.deep_equals(second) and first is not second and first.body is not second.body
    # And both are kept: the next version reuses both.
    cache.parse(doubled, screen(doubled))
    assert cache.stats.parsed == 0


# ---------------------------------------------------------------------------- lint and fix
def concurrency_corpus() -> List[Tuple[str, bytes]]:
    names = ["threading.py", "queue.py", "concurrent/futures/thread.py", "asyncio/locks.py", "sched.py"]
    corpus = [(str(p), p.read_bytes()) for p in sorted(FIXTURES.rglob("*.py")) if not p.name.endswith(".fixed.py")]
    corpus += [(str(STDLIB / n), (STDLIB / n).read_bytes()) for n in names if (STDLIB / n).exists()]
    return corpus


def lint_view(result) -> List[Tuple]:
    return [
        (f.code, f.message, f.line, f.column, f.end_line, f.end_column, f.fingerprint,
         None if f.fix is None else (f.fix.applicability, f.fix.message, [tuple(vars(e).values()) for e in f.fix.edits]))
        for f in result.findings
    ]


def test_findings_and_fixes_are_the_same_with_the_cache():
    run = settings()
    with_findings = fixed = 0
    for path, data in concurrency_corpus():
        versions = [data, *(v for _, v in edited_versions(data))]
        cache = ParseCache()
        for index, version in enumerate(versions):
            edits = index == len(versions) - 1  # each fix's text edits (costly): on the last version
            plain = lint_source(version, path, run, with_edits=edits, keep_tree=True)
            cached = lint_source(version, path, run, with_edits=edits, keep_tree=True, cache=cache)
            assert lint_view(cached) == lint_view(plain), path
            with_findings += bool(plain.findings)
            if plain.module is not None and plain.reports:
                expected = apply_changes(plain.module, select_fixes(plain.module, [r for _, r in plain.reports], True))
                got = apply_changes(cached.module, select_fixes(cached.module, [r for _, r in cached.reports], True))
                assert got.code == expected.code, path
        # The fixer, passes and all, with the cache of the last version (and the chunks of
        # its own passes) against the fixer without one.
        expected_fix = fix_source(data, path, run, unsafe=True)
        got_fix = fix_source(data, path, run, unsafe=True, cache=cache)
        assert (got_fix.fixed, got_fix.applied, got_fix.error) == (expected_fix.fixed, expected_fix.applied, expected_fix.error), path
        fixed += expected_fix.changed
    assert with_findings > 50 and fixed > 20, (with_findings, fixed)


def lsp_range(line: int, character: int, end_line: int, end_character: int):
    from lsprotocol import types

    return types.Range(start=types.Position(line=line, character=character), end=types.Position(line=end_line, character=end_character))


def test_the_server_session_keeps_a_bounded_cache_per_document_and_drops_it_on_close(tmp_path):
    pytest.importorskip("lsprotocol")
    from conclint.session import MAX_PARSE_CACHES, Document, Session

    (tmp_path / "pyproject.toml").write_text("[tool.conclint]\n")
    session = Session(tmp_path)
    text = "import threading\n\n\ndef main():\n    t = threading.Thread(target=main)\n    t.setDaemon(True)\n"
    document = Document((tmp_path / "doc.py").as_uri(), text, 1, tmp_path / "doc.py")
    assert [d.code for d in session.diagnose(document).diagnostics] == ["CCL301"]
    cache = session.parse_cache(document.uri)
    assert cache.stats.chunks == 2 and cache.stats.parsed == 2
    edited = Document(document.uri, text + "\n\ndef other():\n    pass\n", 2, document.path)
    assert [d.code for d in session.diagnose(edited).diagnostics] == ["CCL301"]
    assert session.parse_cache(document.uri) is cache and (cache.stats.reused, cache.stats.parsed) == (1, 2)
    # The same version again (a save, a code action) is not linted again; another text is,
    # even under the same version (a client that does not number versions).
    stats = cache.stats
    assert [d.code for d in session.diagnose(edited).diagnostics] == ["CCL301"]
    everywhere = lsp_range(0, 0, 9, 0)
    quick = session.code_actions(edited, everywhere, ["quickfix"])
    assert [a.title for a in quick] == ["Fix CCL301: Assign `.daemon`", "Disable CCL301 for this line"]
    assert cache.stats is stats
    unnumbered = Document(document.uri, edited.text.replace("(True)", "(False)"), 2, document.path)
    assert [d.message for d in session.diagnose(unnumbered).diagnostics][0].startswith("`setDaemon()`")
    assert cache.stats is not stats and cache.stats.parsed == 1
    session.forget(document.uri)  # didClose
    assert session.parse_cache(document.uri) is not cache
    # Beyond the bound, the documents linted longest ago lose theirs; the last ones keep them.
    kept = {f"file:///{i}.py": session.parse_cache(f"file:///{i}.py") for i in range(MAX_PARSE_CACHES + 2)}
    newest_first = list(reversed(kept.items()))  # (asking for one makes it the newest)
    assert [session.parse_cache(uri) is c for uri, c in newest_first] == [True] * MAX_PARSE_CACHES + [False, False]


def test_the_session_builds_a_documents_fix_all_once_per_version(tmp_path):
    # An editor asks for code actions, fix-all among them, with every cursor move.
    pytest.importorskip("lsprotocol")
    from conclint.session import FIX_ALL_KIND, Document, Session

    (tmp_path / "pyproject.toml").write_text("[tool.conclint]\n")
    session = Session(tmp_path)
    path = tmp_path / "doc.py"
    text = "import threading\n\n\ndef main():\n    threading.currentThread()\n"
    document = Document(path.as_uri(), text, 1, path)
    everywhere = lsp_range(0, 0, 9, 0)

    def fix_all(doc):
        (action,) = [a for a in session.code_actions(doc, everywhere, None) if a.kind == FIX_ALL_KIND]
        return action.edit.document_changes[0].edits[0].new_text

    assert fix_all(document) == "_t"
    kept = session._fixed_all
    assert fix_all(document) == "_t" and session._fixed_all is kept
    # Another version, or the same one under other settings, is fixed anew.
    edited = Document(document.uri, text.replace("main", "run"), 2, path)
    assert fix_all(edited) == "_t" and session._fixed_all is not kept and session._fixed_all[0][1] == 2
    kept = session._fixed_all
    session.forget_configuration()
    assert fix_all(edited) == "_t" and session._fixed_all is not kept
