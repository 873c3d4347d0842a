"""`conclint server`: the real server, started as a subprocess, driven over stdio by pygls's
LanguageClient. Expected results come from the real command (`conclint --format json`,
`conclint --fix`) on the same text. Waits are on notifications and responses, with timeouts."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest

pytest.importorskip("pygls")

from lsprotocol import types  # noqa: E402
from pygls.exceptions import JsonRpcRequestCancelled  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

TIMEOUT = 20.0

PITFALLS = textwrap.dedent(
    """\
    import threading


    def work():
        pass


    def main():
        t = threading.Thread(target=work)
        t.setDaemon(True)
        t.start()
        print(t.getName())
    """
)

UNSAFE = textwrap.dedent(
    """\
    import threading


    def work():
        pass


    def main():
        t = threading.Thread(target=work)
        t.run()
    """
)


class Client:
    """A pygls LanguageClient with its own event loop, used synchronously by the tests."""

    def __init__(
        self,
        cwd: Path,
        *,
        pull: bool = False,
        options: Optional[Dict[str, Any]] = None,
        command: Sequence[str] = ("-m", "conclint", "server"),
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("conclint-tests", "1")
        self.published: Dict[str, List[types.PublishDiagnosticsParams]] = {}
        self.logs: List[str] = []
        self.shown: List[str] = []
        self.returncode: Optional[int] = None
        self.changed = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self.changed.set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            self.logs.append(params.message)
            self.changed.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def shown(params: types.ShowMessageParams) -> None:
            self.shown.append(params.message)
            self.changed.set()

        client = self.client

        async def exited(server: Any) -> None:
            self.returncode = server.returncode
            self.changed.set()

        client.server_exit = exited  # type: ignore[method-assign]
        self.run(client.start_io(sys.executable, *command, cwd=str(cwd)))
        capabilities = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(diagnostic=types.DiagnosticClientCapabilities()) if pull else None
        )
        self.init_root = str(cwd)
        self.init = self.run(
            client.initialize_async(
                types.InitializeParams(
                    capabilities=capabilities,
                    root_uri=cwd.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=cwd.as_uri(), name="root")],
                    initialization_options=options,
                )
            )
        )
        client.initialized(types.InitializedParams())

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, TIMEOUT))

    def wait(self, ready: Callable[[], Any], what: str) -> Any:
        async def until() -> Any:
            while not ready():
                self.changed.clear()
                await self.changed.wait()
            return ready()

        try:
            return self.run(until())
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    def open(self, path: Path, text: str, version: int = 1, language: str = "python") -> str:
        uri = path.as_uri()
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text))
        )
        return uri

    def change(self, uri: str, version: int, text: str) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def diagnostics(self, uri: str, version: int) -> List[types.Diagnostic]:
        """The diagnostics published for ``version`` of ``uri`` (waits for them)."""

        def found() -> Optional[types.PublishDiagnosticsParams]:
            for params in reversed(self.published.get(uri, [])):
                if params.version == version:
                    return params
            return None

        return list(self.wait(found, f"diagnostics of {uri} version {version}").diagnostics)

    def actions(self, uri: str, where: types.Range, only: Optional[List[str]] = None) -> List[types.CodeAction]:
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=where,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
        result = self.run(self.client.text_document_code_action_async(params))
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    def pull(self, uri: str, previous: Optional[str] = None) -> Any:
        params = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous)
        return self.run(self.client.text_document_diagnostic_async(params))

    def stop(self) -> Optional[int]:
        if self.returncode is None:
            self.run(self.client.shutdown_async(None))
            self.client.exit(None)
            self.wait(lambda: self.returncode is not None, "the server to exit")
        self.run(self.client.stop())
        self.loop.close()
        return self.returncode


def new_project(directory: Path) -> Path:
    """A directory with its own (empty) [tool.conclint], so no configuration above it applies."""
    (directory / "pyproject.toml").write_text("[tool.conclint]\n")
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_project(tmp_path)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server for the tests that change no configuration: each opens documents of its own."""
    c = Client(new_project(tmp_path_factory.mktemp("shared")))
    yield c
    c.stop()


@pytest.fixture
def client(shared: Client) -> Client:
    return shared


@pytest.fixture
def here(shared: Client, request: pytest.FixtureRequest) -> Path:
    """The shared server's project, in a directory of the test's own (its documents are its own)."""
    root = Path(shared.init_root) / request.node.name
    root.mkdir()
    return root


def cli(cwd: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conclint", "--no-cache", "--stdin-filename", "doc.py", *args, "-"],
        input=text, capture_output=True, text=True, cwd=cwd, timeout=60,
    )


def cli_findings(cwd: Path, text: str) -> List[Dict[str, Any]]:
    return json.loads(cli(cwd, text, "--format", "json").stdout)


def cli_fixed(cwd: Path, text: str, *args: str) -> str:
    return cli(cwd, text, "--fix", *args).stdout


def as_cli(diagnostic: types.Diagnostic) -> Dict[str, Any]:
    """A diagnostic in the CLI's JSON terms (ASCII text: LSP columns are characters)."""
    r = diagnostic.range
    return {
        "code": diagnostic.code, "message": diagnostic.message, "line": r.start.line + 1, "column": r.start.character + 1,
        "end_line": r.end.line + 1, "end_column": r.end.character + 1,
    }


def cli_view(finding: Dict[str, Any]) -> Dict[str, Any]:
    return {k: finding[k] for k in ("code", "message", "line", "column", "end_line", "end_column")}


def apply(text: str, edit: Optional[types.WorkspaceEdit], uri: str, version: int) -> str:
    """Apply a versioned workspace edit as a client would (ASCII text)."""
    assert edit is not None and edit.document_changes
    (change,) = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri and change.text_document.version == version
    lines = text.splitlines(keepends=True) + [""]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(p: types.Position) -> int:
        return offsets[p.line] + p.character

    for e in sorted(change.edits, key=lambda e: offset(e.range.start), reverse=True):
        assert isinstance(e, types.TextEdit)
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text


def test_open_publishes_what_the_cli_reports(client: Client, here: Path) -> None:
    uri = client.open(here / "doc.py", PITFALLS)
    diagnostics = client.diagnostics(uri, 1)
    expected = [cli_view(f) for f in cli_findings(here, PITFALLS)]
    assert [as_cli(d) for d in diagnostics] == expected
    assert {d.code for d in diagnostics} == {"CCL301"} and len(diagnostics) == 2
    for diagnostic in diagnostics:
        assert diagnostic.source == "conclint"
        assert diagnostic.code_description is None  # no placeholder URL
        assert diagnostic.data["version"] == 1 and diagnostic.data["fix"]["applicability"] == "safe"


def test_columns_are_utf16_units_for_a_client_that_did_not_ask_otherwise(client: Client, here: Path) -> None:
    text = PITFALLS.replace("print(t.getName())", 'print("é😀", t.getName())')
    uri = client.open(here / "doc.py", text)
    _, diagnostic = client.diagnostics(uri, 1)
    (finding,) = [f for f in cli_findings(here, text) if f["line"] == diagnostic.range.start.line + 1]
    line = text.splitlines()[finding["line"] - 1]
    before = line[: finding["column"] - 1]
    # The emoji is one character (the CLI's count) and two UTF-16 code units (LSP's default).
    assert diagnostic.range.start.character == len(before.encode("utf-16-le")) // 2 == (finding["column"] - 1) + 1


def test_a_change_that_fixes_one_finding_removes_it(client: Client, here: Path) -> None:
    uri = client.open(here / "doc.py", PITFALLS)
    assert len(client.diagnostics(uri, 1)) == 2
    edited = PITFALLS.replace("t.setDaemon(True)", "t.daemon = True")
    client.change(uri, 2, edited)
    diagnostics = client.diagnostics(uri, 2)
    assert [as_cli(d) for d in diagnostics] == [cli_view(f) for f in cli_findings(here, edited)]
    assert [d.message for d in diagnostics] == ["`getName()` is deprecated since Python 3.10; use the `.name` attribute"]


def test_every_edit_of_a_document_publishes_what_the_cli_reports(client: Client, here: Path) -> None:
    """The server reuses the parse of a document's unchanged statements from one version to
    the next: edits inside a function, above others (their positions move), of a function
    written twice, and removals still give what the command reports on each text."""
    extra = textwrap.dedent(
        """\

        # another thread made a daemon the old way
        def spawn():
            t = threading.Thread(target=work)
            t.setDaemon(True)
        """
    )
    versions = [
        PITFALLS,
        PITFALLS.replace("t.start()", "t.start()\n    t.setDaemon(False)"),
        PITFALLS.replace("\n\ndef work():", extra + "\n\ndef work():"),
        PITFALLS + extra + extra + "\n\n# the end",
        PITFALLS.replace("def work():\n    pass\n", "") + extra,
        "import threading\n\n\n" + PITFALLS.split("\n\n\n", 1)[1].replace("    ", "\t"),
    ]
    uri = client.open(here / "doc.py", versions[0])
    counts = []
    for version, text in enumerate(versions, 1):
        if version > 1:
            client.change(uri, version, text)
        expected = [cli_view(f) for f in cli_findings(here, text)]
        assert [as_cli(d) for d in client.diagnostics(uri, version)] == expected, version
        counts.append(len(expected))
    assert counts == [2, 4, 3, 4, 3, 2]  # each text has findings to place


def test_the_quick_fix_writes_what_the_cli_writes(client: Client, here: Path) -> None:
    text = PITFALLS.replace("    print(t.getName())\n", "")
    uri = client.open(here / "doc.py", text, version=3)
    (diagnostic,) = client.diagnostics(uri, 3)
    actions = client.actions(uri, diagnostic.range)
    fixes = [a for a in actions if a.title.startswith("Fix CCL301")]
    assert [a.title for a in fixes] == ["Fix CCL301: Assign `.daemon`"]
    assert fixes[0].kind == types.CodeActionKind.QuickFix and fixes[0].diagnostics
    assert apply(text, fixes[0].edit, uri, 3) == cli_fixed(here, text) != text


def test_the_unused_noqa_quick_fix_writes_what_the_cli_writes(client: Client, here: Path) -> None:
    text = PITFALLS.replace("t.start()", "t.start()  # noqa: CCL301, E501  # why")
    uri = client.open(here / "doc.py", text)
    unused = [d for d in client.diagnostics(uri, 1) if d.code == "CCL900"]
    assert [as_cli(d) for d in unused] == [cli_view(f) for f in cli_findings(here, text) if f["code"] == "CCL900"] != []
    (fix,) = [a for a in client.actions(uri, unused[0].range) if a.title.startswith("Fix CCL900")]
    fixed = apply(text, fix.edit, uri, 1)
    assert "t.start()  # noqa: E501  # why\n" in fixed
    assert [f for f in cli_findings(here, fixed) if f["code"] == "CCL900"] == []


def test_unsafe_fixes_are_offered_only_when_the_client_allows_them(project: Path) -> None:
    for options, offered in ((None, False), ({"unsafeFixes": True}, True)):
        c = Client(project, options=options)
        try:
            uri = c.open(project / "doc.py", UNSAFE)
            (diagnostic,) = c.diagnostics(uri, 1)
            assert diagnostic.data["fix"]["applicability"] == "unsafe"
            actions = c.actions(uri, diagnostic.range)
            fixes = [a for a in actions if a.title.startswith("Fix ") and a.kind == types.CodeActionKind.QuickFix]
            fix_all = [a for a in actions if a.kind == "source.fixAll.conclint"]
            if not offered:
                assert fixes == [] and fix_all == []
                continue
            (fix,) = fixes
            assert fix.title.endswith("(unsafe)")
            assert apply(UNSAFE, fix.edit, uri, 1) == cli_fixed(project, UNSAFE, "--unsafe-fixes") != UNSAFE
            # Fix all writes what --fix writes with unsafe fixes on: the unsafe ones too.
            (everything,) = fix_all
            assert everything.title == "Fix all conclint problems"
            assert apply(UNSAFE, everything.edit, uri, 1) == cli_fixed(project, UNSAFE, "--unsafe-fixes")
        finally:
            c.stop()
    # So it does when the configuration turns them on (`unsafe-fixes = true`), as --fix does.
    (project / "pyproject.toml").write_text("[tool.conclint]\nunsafe-fixes = true\n")
    c = Client(project)
    try:
        uri = c.open(project / "doc.py", UNSAFE)
        (diagnostic,) = c.diagnostics(uri, 1)
        (everything,) = [a for a in c.actions(uri, diagnostic.range) if a.kind == "source.fixAll.conclint"]
        assert apply(UNSAFE, everything.edit, uri, 1) == cli_fixed(project, UNSAFE) != UNSAFE
    finally:
        c.stop()


def test_fix_policy_of_the_configuration_shapes_the_code_actions(project: Path) -> None:
    """extend-safe-fixes makes an unsafe fix a plain quick fix (and part of fix-all) without
    unsafeFixes; unfixable withdraws it: the same engine settings as the command's."""
    code = json.loads(cli(project, UNSAFE, "--output-format", "json").stdout)[0]["code"]
    (project / "pyproject.toml").write_text(f'[tool.conclint]\nextend-safe-fixes = ["{code}"]\n')
    c = Client(project)
    try:
        uri = c.open(project / "doc.py", UNSAFE)
        (diagnostic,) = c.diagnostics(uri, 1)
        assert diagnostic.data["fix"]["applicability"] == "safe"
        actions = c.actions(uri, diagnostic.range)
        (fix,) = [a for a in actions if a.title.startswith(f"Fix {code}")]
        assert not fix.title.endswith("(unsafe)") and fix.is_preferred
        assert apply(UNSAFE, fix.edit, uri, 1) == cli_fixed(project, UNSAFE) != UNSAFE
        assert "Fix all safe conclint problems" in [a.title for a in actions]
    finally:
        c.stop()
    (project / "pyproject.toml").write_text(f'[tool.conclint]\nunfixable = ["{code}"]\nunsafe-fixes = true\n')
    c = Client(project)
    try:
        uri = c.open(project / "doc.py", UNSAFE)
        (diagnostic,) = c.diagnostics(uri, 1)
        assert diagnostic.data["fix"] is None
        assert [a for a in c.actions(uri, diagnostic.range) if a.title.startswith("Fix ")] == []
    finally:
        c.stop()
    # The unused-noqa fix (a comment's edit) obeys the same policy.
    stale = "import threading\nx = 1  # noqa: CCL301\n"
    (project / "pyproject.toml").write_text('[tool.conclint]\nextend-unsafe-fixes = ["CCL900"]\n')
    c = Client(project)
    try:
        uri = c.open(project / "doc.py", stale)
        (diagnostic,) = c.diagnostics(uri, 1)
        assert diagnostic.code == "CCL900"
        assert [a for a in c.actions(uri, diagnostic.range) if a.title.startswith("Fix ")] == []
    finally:
        c.stop()


def test_fix_all_writes_what_the_cli_writes(client: Client, here: Path) -> None:
    uri = client.open(here / "doc.py", PITFALLS)
    client.diagnostics(uri, 1)
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    (action,) = client.actions(uri, nowhere, only=[types.CodeActionKind.Source])
    assert action.title == "Fix all safe conclint problems" and action.kind == "source.fixAll.conclint"
    fixed = apply(PITFALLS, action.edit, uri, 1)
    assert fixed == cli_fixed(here, PITFALLS) != PITFALLS
    assert client.actions(uri, nowhere, only=[types.CodeActionKind.QuickFix]) == []


def test_fix_all_of_a_document_with_lone_carriage_returns(client: Client, here: Path) -> None:
    # Classic Mac OS line endings: LSP counts a lone CR as a line break, as CPython does;
    # the edits must neither run past a line nor drop the last CR.
    text = PITFALLS.replace("\n", "\r")
    uri = client.open(here / "mac.py", text)
    client.diagnostics(uri, 1)
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    (action,) = client.actions(uri, nowhere, only=[types.CodeActionKind.Source])
    fixed = apply(text, action.edit, uri, 1)
    command = [sys.executable, "-m", "conclint", "--no-cache", "--fix", "--stdin-filename", "mac.py", "-"]
    by_cli = subprocess.run(command, input=text.encode(), capture_output=True, cwd=here, timeout=60).stdout.decode()
    assert fixed == by_cli == cli_fixed(here, PITFALLS).replace("\n", "\r")


def test_multi_line_fixes_of_a_document_with_lone_carriage_returns(client: Client, here: Path) -> None:
    # A loop replaced by one call spans lines: its quick fix and the fix-all must count a lone
    # CR as a line break too (the quick fix was diffed against the CR text as one line).
    text = "import threading\rready = threading.Event()\rdef f():\r    while not ready.is_set():\r        pass\r    print('ready')\r"
    uri = client.open(here / "mac_loop.py", text)
    (diagnostic,) = client.diagnostics(uri, 1)
    command = [sys.executable, "-m", "conclint", "--no-cache", "--fix", "--stdin-filename", "mac_loop.py", "-"]
    by_cli = subprocess.run(command, input=text.encode(), capture_output=True, cwd=here, timeout=60).stdout.decode()
    assert by_cli == "import threading\rready = threading.Event()\rdef f():\r    ready.wait()\r    print('ready')\r"
    quick = [a for a in client.actions(uri, diagnostic.range, only=[types.CodeActionKind.QuickFix]) if a.title.startswith("Fix")]
    assert [apply(text, a.edit, uri, 1) for a in quick] == [by_cli]
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    (fix_all,) = client.actions(uri, nowhere, only=[types.CodeActionKind.Source])
    assert apply(text, fix_all.edit, uri, 1) == by_cli


def test_fix_all_of_a_document_declaring_another_encoding(client: Client, here: Path) -> None:
    # The fixed bytes are in the declared encoding: read back as such (they were read as UTF-8,
    # and the whole code action request failed).
    text = "# -*- coding: latin-1 -*-\nimport threading\nx = 'caf\u00e9'\nthreading.currentThread()\n"
    uri = client.open(here / "latin.py", text)
    client.diagnostics(uri, 1)
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    (fix_all,) = client.actions(uri, nowhere, only=[types.CodeActionKind.Source])
    assert apply(text, fix_all.edit, uri, 1) == text.replace("currentThread", "current_thread")
    everything = client.actions(uri, nowhere)
    assert any(a.kind == "source.fixAll.conclint" for a in everything)


def test_a_change_without_content_changes_is_a_new_version_all_the_same(client: Client, here: Path) -> None:
    uri = client.open(here / "same.py", PITFALLS)
    client.diagnostics(uri, 1)
    client.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[],
    ))
    assert [d.code for d in client.diagnostics(uri, 2)] == [f["code"] for f in cli_findings(here, PITFALLS)]
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    (fix_all,) = client.actions(uri, nowhere, only=[types.CodeActionKind.Source])
    assert fix_all.edit is not None and fix_all.edit.document_changes[0].text_document.version == 2


def test_code_too_deeply_nested_to_fix_still_gets_its_other_actions(client: Client, here: Path) -> None:
    text = "import threading\nx = " + "[" * 150 + "]" * 150 + "\nthreading.currentThread()\n"
    uri = client.open(here / "deep.py", text)
    (diagnostic,) = client.diagnostics(uri, 1)
    titles = [a.title for a in client.actions(uri, diagnostic.range)]
    assert "Disable CCL301 for this line" in titles


def test_a_fix_that_would_not_compile_is_not_offered(project: Path) -> None:
    # CCL309's call of super() would go above a `global super`, which compiling rejects.
    text = (
        "import threading\n\n\nclass W(threading.Thread):\n    def __init__(self):\n        global super\n"
        "        self.x = 1\n"
    )
    c = Client(project, options={"unsafeFixes": True})
    try:
        uri = c.open(project / "doc.py", text)
        (diagnostic,) = c.diagnostics(uri, 1)
        titles = [a.title for a in c.actions(uri, diagnostic.range)]
        assert "Disable CCL309 for this line" in titles and not any(t.startswith("Fix CCL309") for t in titles), titles
    finally:
        c.stop()


def test_a_document_in_another_language_gets_nothing(client: Client, here: Path) -> None:
    # A client may send every buffer it opens: a Markdown one quoting Python is no Python file.
    notes = client.open(here / "notes.md", PITFALLS, language="markdown")
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    assert list(client.actions(notes, nowhere)) == []
    assert list(client.pull(notes).items) == []
    uri = client.open(here / "code.py", PITFALLS, language="python3")
    assert client.diagnostics(uri, 1)  # published after the other was opened: it published nothing
    assert notes not in client.published


def test_the_noqa_action_of_a_continued_line_goes_where_the_continuation_ends(client: Client, here: Path) -> None:
    text = "import threading\nt = threading.Thread()\nok = t.setDaemon(True) or \\\n    None\n"
    uri = client.open(here / "continued.py", text)
    (diagnostic,) = client.diagnostics(uri, 1)
    (disable,) = [a for a in client.actions(uri, diagnostic.range) if a.title.startswith("Disable")]
    silenced = apply(text, disable.edit, uri, 1)
    assert silenced == text.replace("    None\n", "    None  # noqa: CCL301\n")
    assert cli_findings(here, silenced) == []


def test_the_noqa_action_silences_the_finding(client: Client, here: Path) -> None:
    text = PITFALLS.replace("t.getName())", "t.getName())  # noqa: E501")
    uri = client.open(here / "doc.py", text)
    first, second = client.diagnostics(uri, 1)
    disable = [a for a in client.actions(uri, second.range) if a.title.startswith("Disable")]
    assert [a.title for a in disable] == ["Disable CCL301 for this line"]
    silenced = apply(text, disable[0].edit, uri, 1)
    assert "print(t.getName())  # noqa: E501, CCL301\n" in silenced
    assert [f["line"] for f in cli_findings(here, silenced)] == [first.range.start.line + 1]
    client.change(uri, 2, silenced)
    assert [d.range for d in client.diagnostics(uri, 2)] == [first.range]
    # A line without a comment gets one.
    (action,) = [a for a in client.actions(uri, first.range) if a.title.startswith("Disable")]
    assert "t.setDaemon(True)  # noqa: CCL301\n" in apply(silenced, action.edit, uri, 2)


def test_the_noqa_action_reads_comments_not_strings_and_is_offered_once_a_line(client: Client, here: Path) -> None:
    # Text in a string that looks like a noqa is no comment (the finding is reported): the
    # action adds a real one, as --add-noqa does; two findings of one rule, one action.
    text = "import threading\nx = '# noqa: CCL202'; threading.currentThread(); threading.currentThread()\n"
    uri = client.open(here / "strings.py", text)
    diagnostics = client.diagnostics(uri, 1)
    assert [d.code for d in diagnostics] == ["CCL301", "CCL301"]
    disable = [a for a in client.actions(uri, diagnostics[0].range) if a.title.startswith("Disable")]
    assert [a.title for a in disable] == ["Disable CCL301 for this line"]
    silenced = apply(text, disable[0].edit, uri, 1)
    assert silenced.endswith("threading.currentThread()  # noqa: CCL301\n")
    assert cli_findings(here, silenced) == []


def test_a_configuration_that_cannot_be_used_shows_in_the_diagnostics(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.conclint]\nselect = 3\n")
    c = Client(project)
    try:
        uri = c.open(project / "doc.py", PITFALLS)
        (diagnostic,) = c.diagnostics(uri, 1)
        assert diagnostic.code == "CCL000" and diagnostic.severity == types.DiagnosticSeverity.Error
        assert "not linted: the configuration cannot be used" in diagnostic.message and "select" in diagnostic.message
        c.wait(lambda: any("select" in m for m in c.shown), "the message shown once")
        (project / "pyproject.toml").write_text("[tool.conclint]\n")
        changed = [types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]
        c.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=changed))
        c.wait(lambda: [d.code for d in c.published[uri][-1].diagnostics] == ["CCL301", "CCL301"], "the findings back")
    finally:
        c.stop()


def test_a_pyproject_change_updates_the_diagnostics(project: Path) -> None:
    client = Client(project)
    try:
        uri = client.open(project / "doc.py", PITFALLS)
        assert len(client.diagnostics(uri, 1)) == 2
        before = len(client.published[uri])
        (project / "pyproject.toml").write_text('[tool.conclint]\nignore = ["CCL301"]\n')
        client.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        client.wait(lambda: len(client.published[uri]) > before, "diagnostics after the configuration changed")
        assert list(client.published[uri][-1].diagnostics) == []
        assert cli_findings(project, PITFALLS) == []
        # A file the configuration extends counts as much as the configuration itself.
        base = project / "base.toml"
        base.write_text('ignore = ["CCL301"]\n')
        (project / "pyproject.toml").write_text('[tool.conclint]\nextend = "base.toml"\n')
        changed = [types.FileEvent(uri=(project / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]
        before = len(client.published[uri])
        client.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=changed))
        client.wait(lambda: len(client.published[uri]) > before, "diagnostics after extend was added")
        base.write_text('ignore = ["CCL201"]\n')
        changed = [types.FileEvent(uri=base.as_uri(), type=types.FileChangeType.Changed)]
        client.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=changed))
        client.wait(lambda: [d.code for d in client.published[uri][-1].diagnostics] == ["CCL301"] * 2, "the extended file's change")
        assert [f["code"] for f in cli_findings(project, PITFALLS)] == ["CCL301"] * 2
    finally:
        client.stop()


def test_saving_a_configuration_in_the_editor_updates_the_diagnostics(project: Path) -> None:
    # A client that watches no files for the server: saving the TOML buffer is the news.
    client = Client(project)
    try:
        uri = client.open(project / "doc.py", PITFALLS)
        assert len(client.diagnostics(uri, 1)) == 2
        config = project / "pyproject.toml"
        toml = config.as_uri()
        client.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=toml, language_id="toml", version=1, text=config.read_text())
        ))
        config.write_text('[tool.conclint]\nignore = ["CCL301"]\n')
        before = len(client.published[uri])
        client.client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=toml)))
        client.wait(lambda: len(client.published[uri]) > before, "diagnostics after the configuration was saved")
        assert list(client.published[uri][-1].diagnostics) == [] and cli_findings(project, PITFALLS) == []
        assert toml not in client.published  # (nothing is said of the TOML file itself)
    finally:
        client.stop()


def test_a_document_opened_again_in_another_language_is_that_language(client: Client, here: Path) -> None:
    path = here / "relang.py"
    uri = client.open(path, PITFALLS)
    assert len(client.diagnostics(uri, 1)) == 2
    client.client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=2, text=PITFALLS)
    ))
    client.wait(lambda: list(client.published[uri][-1].diagnostics) == [], "no diagnostics once it is markdown")
    # And back: Python again, with its actions.
    client.client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=3, text=PITFALLS)
    ))
    client.wait(lambda: len(client.published[uri][-1].diagnostics) == 2, "diagnostics once it is Python again")
    at = client.published[uri][-1].diagnostics[0].range
    assert client.actions(uri, at)


@pytest.mark.parametrize("options, says", [
    ({"conclint": 5}, "conclint settings must be an object, not int"),
    ({"conclint": {"debounceMs": -1}}, "debounceMs must be a number of milliseconds"),
    ({"conclint": {"select": [5]}}, "select must be a list of rule codes"),
    ({"conclint": {"logLevel": []}}, "logLevel must be one of"),
    ({"conclint": {"logLevel": {"a": 1}}}, "logLevel must be one of"),
])
def test_settings_that_cannot_be_used_are_shown_not_ignored(project: Path, options: Dict[str, Any], says: str) -> None:
    c = Client(project, options=options)
    try:
        c.wait(lambda: any(says in m for m in c.shown), f"a message saying {says!r}")
        uri = c.open(project / "doc.py", PITFALLS)  # and the server goes on, with the defaults
        assert len(c.diagnostics(uri, 1)) == 2
    finally:
        c.stop()


def test_client_select_and_ignore_apply_on_top_of_the_configuration(project: Path) -> None:
    c = Client(project, options={"conclint": {"ignore": ["CCL3"]}})
    try:
        uri = c.open(project / "doc.py", PITFALLS + "\nt2 = threading.Thread(target=work)\nt2.run()\n")
        assert c.diagnostics(uri, 1) == []
        c.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"conclint": {"select": ["CCL305"]}}))
        c.wait(lambda: len(c.published[uri]) > 1, "diagnostics after the settings changed")
        assert [d.code for d in c.published[uri][-1].diagnostics] == ["CCL305"]
    finally:
        c.stop()


def test_a_document_that_cannot_be_parsed_gets_one_ccl000(client: Client, here: Path) -> None:
    text = "import threading\n\ndef broken(:\n    threading.Lock()\n"
    uri = client.open(here / "doc.py", text)
    (diagnostic,) = client.diagnostics(uri, 1)
    assert diagnostic.code == "CCL000"
    assert [as_cli(diagnostic)] == [cli_view(f) for f in cli_findings(here, text)]
    assert [a for a in client.actions(uri, diagnostic.range) if a.title.startswith("Disable")] == []


def test_hostile_documents_neither_crash_nor_hang_the_server(client: Client, here: Path) -> None:
    nested = "import threading\nx = " + "(" * 2000 + "1" + ")" * 2000 + "\nthreading.Lock().acquire()\n"
    uri = client.open(here / "nested.py", nested)
    (diagnostic,) = client.diagnostics(uri, 1)
    assert diagnostic.code == "CCL000"
    huge = "import threading\nthreading.Lock().acquire()\n" + "x = 1\n" * (50 * 1024 * 1024 // 6)
    big = client.open(here / "big.py", huge)
    (diagnostic,) = client.diagnostics(big, 1)
    assert diagnostic.code == "CCL000" and "too large" in diagnostic.message
    # Still answering: a request and a document after them.
    uri = client.open(here / "doc.py", PITFALLS)
    assert len(client.pull(uri).items) == 2
    assert len(client.diagnostics(uri, 1)) == 2


def test_pull_diagnostics(project: Path) -> None:
    c = Client(project, pull=True)
    try:
        uri = c.open(project / "doc.py", PITFALLS)
        report = c.pull(uri)
        assert [as_cli(d) for d in report.items] == [cli_view(f) for f in cli_findings(project, PITFALLS)]
        assert c.pull(uri, previous=report.result_id).kind == "unchanged"
        c.change(uri, 2, PITFALLS.replace("t.setDaemon(True)", "t.daemon = True"))
        assert len(c.pull(uri, previous=report.result_id).items) == 1
        assert c.published == {}  # a client that pulls is not pushed to
        # New settings while the lint thread is busy (a big document's pull): the next pull
        # must not call the old diagnostics unchanged.
        current = c.pull(uri)
        assert current.items
        big = c.open(project / "big.py", "import threading\n" + "threading.Lock().acquire()\n" * 5000)

        async def settings_while_busy() -> Any:
            busy = c.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=big))
            )
            pending = asyncio.ensure_future(busy)
            await asyncio.sleep(0)  # sent: the lint thread is on it
            c.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"select": ["CCL4"]}))
            params = types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=current.result_id
            )
            after = await c.client.text_document_diagnostic_async(params)
            await pending
            return after

        after = c.run(settings_while_busy())
        assert after.kind == "full" and list(after.items) == []
    finally:
        c.stop()


def test_a_document_neither_open_nor_on_disk_has_nothing_to_report(client: Client, here: Path) -> None:
    uri = (here / "nowhere.py").as_uri()
    nowhere = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    assert client.actions(uri, nowhere) == []
    assert list(client.pull(uri).items) == []
    assert list(client.pull("untitled:never-opened").items) == []


def test_a_closed_file_is_read_as_the_command_reads_it(project: Path) -> None:
    # Not open: read from disk, a regular file only (a FIFO blocked the server for good,
    # /dev/zero filled its memory), decoded as its coding cookie says (a latin-1 file read
    # as UTF-8 was taken for an empty one), at file://localhost/ URIs too.
    latin = project / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nimport threading\n# caf\xe9\nthreading.currentThread()\n")
    fifo = project / "fifo.py"
    os.mkfifo(fifo)
    c = Client(project, pull=True)
    try:
        report = c.pull(fifo.as_uri())
        assert [(d.code, d.message) for d in report.items] == [("CCL000", "cannot read file: not a regular file")]
        command = [sys.executable, "-m", "conclint", "--no-cache", "--output-format", "json", "latin.py"]
        done = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=60)
        expected = [cli_view(f) for f in json.loads(done.stdout)]
        assert [as_cli(d) for d in c.pull(latin.as_uri()).items] == expected != []
        localhost = "file://localhost" + latin.as_uri()[len("file://"):]
        assert [d.code for d in c.pull(localhost).items] == [f["code"] for f in expected]
    finally:
        assert c.stop() == 0


def test_an_edit_past_the_end_of_a_line_lands_at_its_end(client: Client, here: Path) -> None:
    # LSP: a character past the line's length means its length. Sent one past the end of a
    # CRLF line, pygls put the text between CR and LF: a line the client does not have, and
    # every diagnostic below it a line too low.
    for ending in ("\r\n", "\n"):
        lines = ["import threading", "threading.currentThread()", "threading.currentThread()"]
        text = ending.join(lines) + ending
        uri = client.open(here / f"clamp{len(ending)}.py", text)
        client.diagnostics(uri, 1)
        for n, character in enumerate((len(lines[1]) + 1, len(lines[1]) + 40)):
            at = types.Position(line=1, character=character)
            client.client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2 + n),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text="  # note")],
            ))
        lines[1] += "  # note  # note"
        expected = [cli_view(f) for f in cli_findings(here, ending.join(lines) + ending)]
        assert [as_cli(d) for d in client.diagnostics(uri, 3)] == expected
        assert [d["line"] for d in expected] == [2, 3]


@pytest.mark.parametrize("odd", ["\x0c", "# page\u2028break", "'\x85'", "# \x1c"])
def test_an_edit_lands_on_the_line_the_client_means_past_form_feeds_and_unicode_separators(
    client: Client, here: Path, odd: str
) -> None:
    # A form feed, U+2028, NEL or a file separator is no line break for LSP or Python; pygls
    # broke lines there (str.splitlines()) and put the edit on the wrong line.
    text = f"import threading\n{odd}\nx = 1\nthreading.currentThread()\n"
    uri = client.open(here / f"odd{ord(odd[-1])}.py", text)
    assert [d.range.start.line for d in client.diagnostics(uri, 1)] == [3]
    at = types.Position(line=3, character=0)
    client.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text="# ")],
    ))
    assert client.diagnostics(uri, 2) == []
    # An edit inside the line with the odd character, after it, lands after it too.
    line = text.split("\n")[1]
    end = types.Position(line=1, character=len(line.encode("utf-16-le")) // 2)
    client.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=end, end=end), text="  # end")],
    ))
    edited = text.replace(f"{odd}\n", f"{odd}  # end\n", 1).replace("\nthreading.", "\n# threading.")
    assert client.diagnostics(uri, 3) == [] and cli_findings(here, edited) == []
    # Nothing to fix on the commented-out call: no action would edit it.
    assert not [a for a in client.actions(uri, types.Range(start=at, end=types.Position(line=3, character=20))) if a.edit]


def test_a_large_document_gets_what_the_command_reports(client: Client, here: Path) -> None:
    # Over the 2 MiB LibCST is given: a data file without concurrency code gets nothing (the
    # gates pass it over), one with it the screen's "too large to analyse", as from the command.
    data = "DATA = [\n" + "    1,\n" * 400_000 + "]\n"
    for name, text in (("plain_data.py", data), ("threaded_data.py", "import threading\nthreading.Lock()\n" + data)):
        uri = client.open(here / name, text)
        expected = [cli_view(f) for f in cli_findings(here, text)]
        assert [as_cli(d) for d in client.diagnostics(uri, 1)] == expected, name
        assert [f["code"] for f in expected] == ([] if name == "plain_data.py" else ["CCL000"])


def test_a_lock_order_inversion_in_the_document_is_reported_as_conclint_file_reports_it(client: Client, here: Path) -> None:
    text = (
        "import threading\n\nA = threading.Lock()\nB = threading.Lock()\n\n\n"
        "def f():\n    with A:\n        with B:\n            pass\n\n\n"
        "def g():\n    with B:\n        with A:\n            pass\n"
    )
    uri = client.open(here / "doc.py", text)
    diagnostics = client.diagnostics(uri, 1)
    expected = [cli_view(f) for f in cli_findings(here, text)]
    assert [f["code"] for f in expected] == ["CCL209", "CCL209"]
    # (the messages name the locks by module, and the module by the project root, which for
    # the command run in this directory is this directory)
    assert [{**as_cli(d), "message": None} for d in diagnostics] == [{**f, "message": None} for f in expected]
    first, second = diagnostics
    # Other places are named relative to the project's root, as the command names them.
    assert first.message.endswith(f".B` is held at {here.name}/doc.py:15: threads on these paths can deadlock"), first.message
    assert [(r.location.uri, r.location.range.start.line) for r in first.related_information] == [(uri, 14)]
    assert [(r.location.uri, r.location.range.start.line) for r in second.related_information] == [(uri, 8)]
    # Fixed in the buffer, the inversion is gone.
    client.change(uri, 2, text.replace("    with B:\n        with A:", "    with A:\n        with B:"))
    assert client.diagnostics(uri, 2) == []


def test_the_project_rules_of_a_document_follow_its_configuration_wherever_the_server_runs(tmp_path: Path) -> None:
    # A subproject's per-file-ignores hold for CCL209 as for the other rules, though the
    # server runs from the workspace above it (paths relative to the working directory
    # made the pattern miss).
    svc = tmp_path / "svc"
    (svc / "tests").mkdir(parents=True)
    (svc / "pyproject.toml").write_text('[tool.conclint]\nper-file-ignores = { "tests/*" = ["CCL209"] }\n')
    text = (
        "import threading\n\nA = threading.Lock()\nB = threading.Lock()\n\n\n"
        "def f():\n    with A:\n        with B:\n            pass\n\n\n"
        "def g():\n    with B:\n        with A:\n            pass\n"
    )
    client = Client(tmp_path)
    try:
        silenced = client.open(svc / "tests" / "inv.py", text)
        assert client.diagnostics(silenced, 1) == []
        shown = client.open(svc / "inv.py", text)
        diagnostics = client.diagnostics(shown, 1)
        assert [d.code for d in diagnostics] == ["CCL209", "CCL209"]
        assert diagnostics[0].message.endswith("is held at inv.py:15: threads on these paths can deadlock")
    finally:
        client.stop()


def test_a_change_of_a_document_that_is_not_open_is_ignored(client: Client, here: Path) -> None:
    uri = (here / "never-opened.py").as_uri()
    client.change(uri, 2, PITFALLS)
    opened = client.open(here / "then.py", PITFALLS)
    assert client.diagnostics(opened, 1)
    assert not any("KeyError" in m for m in client.shown + client.logs)


def test_a_document_whose_fixes_are_withheld_says_why_once(client: Client, here: Path) -> None:
    # A form feed in an indentation: linted, not fixed (as the command says on stderr).
    text = "import threading\n\n\ndef f():\n\x0c    threading.currentThread()\n"
    uri = client.open(here / "formfeed.py", text)
    (diagnostic,) = client.diagnostics(uri, 1)
    assert diagnostic.code == "CCL301" and diagnostic.data["fix"] is None
    client.wait(lambda: any("formfeed.py" in m and "not" in m and "fix" in m for m in client.logs), "why fixes are withheld")
    client.change(uri, 2, text + "\n")
    client.diagnostics(uri, 2)
    assert sum("formfeed.py" in m for m in client.logs) == 1


def test_close_clears_the_diagnostics(client: Client, here: Path) -> None:
    uri = client.open(here / "doc.py", PITFALLS)
    assert client.diagnostics(uri, 1)
    client.client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    client.wait(lambda: list(client.published[uri][-1].diagnostics) == [], "cleared diagnostics")


BREAK_A_RULE = """\
import sys
from conclint.rules import ccl305_run_instead_of_start as module

def broken(self, node):
    raise ValueError("broken on purpose")

module.RunInsteadOfStart.visit_Call = broken
sys.argv = ["conclint", "server"]
from conclint.cli import main
main()
"""


def test_a_rule_that_raises_is_logged_once_and_the_others_still_report(project: Path) -> None:
    c = Client(project, command=("-c", BREAK_A_RULE))
    try:
        text = PITFALLS + "\nt2 = threading.Thread(target=work)\nt2.run()\n"
        uri = c.open(project / "doc.py", text)
        assert [d.code for d in c.diagnostics(uri, 1)] == ["CCL301", "CCL301"]
        c.change(uri, 2, text + "\n")
        assert len(c.diagnostics(uri, 2)) == 2
        errors = [m for m in c.logs if "CCL305" in m]
        assert len(errors) == 1 and "broken on purpose" in errors[0]
    finally:
        c.stop()


def test_shutdown_then_exit_exits_0_and_exit_alone_exits_1(project: Path) -> None:
    c = Client(project)
    assert c.init.capabilities.code_action_provider
    assert c.stop() == 0
    c = Client(project)
    c.client.exit(None)
    c.wait(lambda: c.returncode is not None, "the server to exit")
    assert c.stop() == 1


def test_server_without_pygls_says_what_to_install(project: Path) -> None:
    code = "import sys; sys.modules['pygls'] = None; sys.argv = ['conclint', 'server']; from conclint.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project, timeout=60)
    assert done.returncode == 2
    assert "pip install 'conclint[server]'" in done.stderr


def test_a_directory_named_server_is_linted_as_a_path(project: Path) -> None:
    (project / "server").mkdir()
    (project / "server" / "doc.py").write_text(PITFALLS)
    done = subprocess.run(
        [sys.executable, "-m", "conclint", "--no-cache", "./server"], capture_output=True, text=True, cwd=project, timeout=60
    )
    assert done.returncode == 1 and "CCL301" in done.stdout
    assert os.path.join("server", "doc.py") in done.stdout


def test_a_cancelled_request_is_answered_and_the_server_goes_on(project: Path) -> None:
    # A pull for a large document, cancelled at once: the protocol wants an answer all the same
    # (the result, had it been computed, or the RequestCancelled error), and the next request a
    # proper report.
    c = Client(project, pull=True)
    try:
        big = Path(__import__("threading").__file__).read_text(encoding="utf-8")
        uri = c.open(project / "big.py", big)
        params = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))

        async def request_and_cancel() -> Any:
            answer = c.client.protocol.send_request_async(types.TEXT_DOCUMENT_DIAGNOSTIC, params, msg_id="to-cancel")
            c.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="to-cancel"))
            return await answer

        try:
            first = c.run(request_and_cancel())
            assert first.kind == "full"
        except JsonRpcRequestCancelled:  # the cancelled answer: JSON-RPC error -32800
            pass
        report = c.pull(uri)
        assert report.kind == "full" and [as_cli(d) for d in report.items] == [cli_view(f) for f in cli_findings(project, big)]
    finally:
        assert c.stop() == 0


class RawPipe:
    """The server's stdio, spoken byte by byte: for messages pygls's client would not send."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conclint", "server"], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.messages: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = 0
            while True:
                line = stdout.readline()
                if not line:
                    return
                if not line.strip():
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.messages.put(json.loads(stdout.read(length)))

    def send(self, message: Dict[str, Any], header: bytes = b"Content-Length: %d\r\n\r\n") -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(header % len(body) + body)
        self.process.stdin.flush()

    def answer(self, msg_id: Any) -> Dict[str, Any]:
        """The response to request ``msg_id`` (notifications on the way are skipped)."""
        while True:
            try:
                message = self.messages.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no answer to request {msg_id}") from None
            if message.get("id") == msg_id and "method" not in message:
                return message


def test_every_request_gets_an_answer_even_malformed_or_after_shutdown(project: Path) -> None:
    # JSON-RPC answers a request whose params do not fit with InvalidParams (-32602), and LSP
    # one that follows `shutdown` with InvalidRequest (-32600): a client waiting on either
    # would otherwise wait for ever.
    pipe = RawPipe(project)
    try:
        # Before `initialize`: ServerNotInitialized (-32002), and `shutdown` is no exception.
        pipe.send({"id": 0, "method": "shutdown"})
        assert pipe.answer(0)["error"]["code"] == -32002
        pipe.send({"id": "early", "method": "textDocument/codeAction", "params": {"textDocument": 7}})
        assert pipe.answer("early")["error"]["code"] == -32002  # not initialized comes first
        pipe.send({"id": 1, "method": "initialize", "params": {"capabilities": {}, "rootUri": project.as_uri()}})
        assert "capabilities" in pipe.answer(1)["result"]
        pipe.send({"method": "initialized", "params": {}})
        pipe.send({"id": 2, "method": "textDocument/codeAction", "params": {"textDocument": 7}})
        assert pipe.answer(2)["error"]["code"] == -32602
        uri = (project / "doc.py").as_uri()
        pipe.send({"id": 3, "method": "textDocument/diagnostic", "params": {"textDocument": {"uri": uri}}})
        assert pipe.answer(3)["result"]["kind"] == "full"  # and it goes on answering
        # Header names are case-insensitive; spacing and line ends vary between clients.
        for n, header in enumerate([b"content-length: %d\r\n\r\n", b"CONTENT-LENGTH:%d\n\n", b"Content-Length:  %d \r\n\r\n"]):
            pipe.send({"id": 10 + n, "method": "textDocument/diagnostic", "params": {"textDocument": {"uri": uri}}}, header)
            assert pipe.answer(10 + n)["result"]["kind"] == "full"
        # Methods it does not know, params left out (JSON-RPC allows it): MethodNotFound.
        for n, method in enumerate(["foo/bar", "$/foo"]):
            pipe.send({"id": 20 + n, "method": method})
            assert pipe.answer(20 + n)["error"]["code"] == -32601, method
        pipe.send({"method": "foo/baz"})  # a notification: ignored
        # Not JSON: Parse error, id null; a method that is not a string: InvalidRequest.
        assert pipe.process.stdin is not None
        broken = b'{"id": 40, "method":'
        pipe.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(broken) + broken)
        pipe.process.stdin.flush()
        assert pipe.answer(None)["error"]["code"] == -32700
        pipe.send({"id": 41, "method": 9})
        assert pipe.answer(41)["error"]["code"] == -32600
        # Objects nested in a message are no messages, whatever keys they have.
        nested = {"command": "nothing", "arguments": [{"method": ["a"]}, {"method": "x"}]}
        pipe.send({"id": 42, "method": "workspace/executeCommand", "params": nested})
        assert pipe.answer(42)["error"]["code"] == -32602
        # What is no JSON-RPC 2.0 request gets InvalidRequest (-32600), with its id where it
        # has a usable one, else null; nothing is shown to the user.
        for n, body in enumerate([
            b"5", b'"text"', b"null", b"{}", b'[{"jsonrpc": "2.0", "id": 60, "method": "shutdown"}]', b'{"jsonrpc": "2.0"}',
            b'{"jsonrpc": "2.0", "params": {}}',
        ]):
            pipe.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            pipe.process.stdin.flush()
            assert pipe.answer(None)["error"]["code"] == -32600, body
        for ident in ({"x": 1}, [1], True):
            pipe.send({"id": ident, "method": "textDocument/diagnostic", "params": {"textDocument": {"uri": uri}}})
            assert pipe.answer(None)["error"]["code"] == -32600, ident
        for n, message in enumerate([{"jsonrpc": "1.0", "id": 50, "method": "textDocument/diagnostic"}, {"id": 51, "method": "x"}]):
            body = json.dumps(message).encode()
            pipe.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            pipe.process.stdin.flush()
            assert pipe.answer(message["id"])["error"]["code"] == -32600, message
        # A request for a file no path can name (`%00`) has nothing to report.
        pipe.send({"id": 52, "method": "textDocument/diagnostic", "params": {"textDocument": {"uri": uri + "%00"}}})
        assert pipe.answer(52)["result"]["items"] == []
        # `initialize` may only be sent once: a second one is refused and changes nothing.
        pipe.send({"id": 30, "method": "initialize", "params": {"capabilities": {}, "rootUri": project.as_uri()}})
        assert pipe.answer(30)["error"]["code"] == -32600
        pipe.send({"id": 31, "method": "textDocument/diagnostic", "params": {"textDocument": {"uri": uri}}})
        assert pipe.answer(31)["result"]["kind"] == "full"
        pipe.send({"id": 4, "method": "shutdown"})
        assert pipe.answer(4)["result"] is None
        pipe.send({"id": 5, "method": "textDocument/diagnostic", "params": {"textDocument": {"uri": uri}}})
        refused = pipe.answer(5)["error"]
        assert refused["code"] == -32600 and "shut down" in refused["message"]
        pipe.send({"method": "exit"})
        assert pipe.process.wait(timeout=TIMEOUT) == 0
    finally:
        if pipe.process.poll() is None:
            pipe.process.kill()
        pipe.process.wait()
