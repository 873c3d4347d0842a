"""``conclint server``: a language server over stdio, on pygls and lsprotocol.

The event loop reads the client's messages and never lints: documents are linted on one
worker thread (``conclint.session`` holds what that thread knows), so the loop answers
cancellations, other requests and ``shutdown`` while a large document is being linted.
``didChange`` is debounced by coalescing: while a document is being linted, further edits
only mark it stale, and once the lint ends the newest text is linted again (its stale
diagnostics are never published); ``debounceMs`` adds a quiet period before each lint.
Diagnostics are pushed (``publishDiagnostics``) unless the client pulls them
(``textDocument/diagnostic``), which is answered either way.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from conclint import __version__
from conclint.config import CONFIG_NAMES
from conclint.reading import MAX_SOURCE_BYTES, decode_source, read_regular
from conclint.session import FIX_ALL_KIND, SOURCE, ClientSettings, Document, Linted, Session, SettingsError, apply_edit

T = TypeVar("T")


class _Refused:
    """A request pygls could not read (its params do not fit the method): it still gets an answer."""

    jsonrpc = "2.0"

    def __init__(self, msg_id: Any, method: Any, error: JsonRpcException) -> None:
        self.id = msg_id
        self.method = method
        self.error = error


class _Invalid:
    """A message that is no valid JSON-RPC request (``structure_message`` saw why)."""

    def __init__(self, msg_id: Any, why: str) -> None:
        self.id = msg_id
        self.why = why


# The members of a JSON-RPC message (an object with other members is no message of ours).
_ENVELOPE = frozenset({"jsonrpc", "id", "method", "params", "result", "error"})


def _valid_id(ident: Any) -> bool:
    """A JSON-RPC id: a string, a number (not a boolean) or null."""
    return ident is None or (isinstance(ident, (str, int, float)) and not isinstance(ident, bool))


_NOT_INITIALIZED = types.ResponseError(code=-32002, message="the server is not initialized: send `initialize` first")


class ConclintProtocol(LanguageServerProtocol):
    """pygls's protocol, answering every request as JSON-RPC and LSP ask: a request whose
    params do not fit gets InvalidParams (pygls logged it and left the client waiting), and
    one that comes after ``shutdown`` gets InvalidRequest (pygls dropped it)."""

    def structure_message(self, data: Dict[str, Any]) -> Any:
        if (
            isinstance(data, dict) and "jsonrpc" in data and set(data) <= _ENVELOPE
            and "method" not in data and "result" not in data and "error" not in data
        ):
            # `{"jsonrpc": "2.0"}`, or an id alone: no request, notification nor response
            # (pygls raised an internal error, shown to the user).
            ident = data.get("id")
            return _Invalid(ident if _valid_id(ident) else None, "neither a request, a notification nor a response")
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and data["jsonrpc"] != "2.0":
            ident = data.get("id")
            if ident is None or not _valid_id(ident):
                return data  # (a notification, or no id to answer: no JSON-RPC message; see handle_message)
            return _Invalid(ident, f"jsonrpc {data['jsonrpc']!r}: only 2.0 is spoken")
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and "id" in data and not _valid_id(data["id"]):
            # An id JSON-RPC does not allow (an object, an array, true): which request it was
            # cannot be said, so the answer's id is null (pygls answered with a traceback).
            return _Invalid(None, "the id must be a string, a number or null")
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and not isinstance(data["method"], str):
            # A method that is not a string: an invalid request (pygls raised TypeError on it).
            if data.get("id") is not None:
                return _Refused(data["id"], repr(data["method"]), JsonRpcInvalidRequest("the method must be a string"))
            data = {**data, "method": repr(data["method"])}  # a notification nobody handles: ignored
        if (
            isinstance(data, dict) and "jsonrpc" in data and isinstance(data.get("method"), str)
            and "params" not in data and data["method"] not in types.METHOD_TO_TYPES
        ):  # (a message: this hook also sees every object nested in one)
            # JSON-RPC lets params be left out; pygls's generic message for a method it does
            # not know requires them (an internal error instead of MethodNotFound).
            data = {**data, "params": None}
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and data.get("id") is not None and "method" in data:
                return _Refused(data["id"], data["method"], exc)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Invalid) or not hasattr(message, "jsonrpc"):
            # Not a JSON-RPC message at all (a number, a string, null, a batch, an object
            # without `jsonrpc`): Invalid Request, id null as JSON-RPC asks (pygls showed the
            # user an error pop-up for it). An object with a usable id gets it back.
            if isinstance(message, _Invalid):
                ident, why = message.id, message.why
            else:
                ident = message.get("id") if isinstance(message, dict) else None
                ident = ident if _valid_id(ident) else None
                why = "batches are not supported" if isinstance(message, list) else "not a JSON-RPC 2.0 message"
            self._send_data({"jsonrpc": "2.0", "id": ident, "error": {"code": -32600, "message": f"Invalid Request: {why}"}})
            return
        if message.jsonrpc != "2.0":
            return  # a response or notification of another version: nothing to answer
        method = getattr(message, "method", None)
        request = method is not None and getattr(message, "id", None) is not None
        if isinstance(message, _Refused) and (self._workspace is not None or method == types.INITIALIZE):
            self._send_response(message.id, error=message.error.to_response_error())
            return
        if self._shutdown and request and method != types.EXIT:
            refused = JsonRpcInvalidRequest(f"the server has shut down: {method} refused")
            self._send_response(message.id, error=refused.to_response_error())
            return
        if method == types.INITIALIZE and request and self._workspace is not None:
            # "initialize may only be sent once": a second one changes nothing (it replaced the
            # workspace, and the open documents with it).
            refused = JsonRpcInvalidRequest("the server is initialized already: initialize may only be sent once")
            self._send_response(message.id, error=refused.to_response_error())
            return
        if self._workspace is None and method not in (None, types.INITIALIZE, types.EXIT):
            # Before `initialize`: a request gets ServerNotInitialized, a notification is
            # dropped (LSP; pygls answered with an internal error and a traceback).
            if request:
                self._send_response(message.id, error=_NOT_INITIALIZED)
            return
        super().handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        """pygls's, with each incremental change applied by ``session.apply_edit``: lines
        broken where LSP breaks them (pygls also broke them at form feeds and U+2028), a
        range clamped to its lines as LSP says ("if the character value is greater than the
        line length it defaults back to the line length"; pygls put text sent for one past
        the end of a CRLF line between its CR and LF). A change of a document that is not
        open is ignored (pygls raised KeyError, shown to the user)."""
        document = self.workspace.text_documents.get(unquote(params.text_document.uri))
        if document is None:
            return
        if not params.content_changes:  # a new version all the same: what is published is stamped with it
            document.version = params.text_document.version
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                # Applied here, then given to pygls as the whole text: pygls breaks lines
                # with str.splitlines(), at form feeds and U+2028 too, and put an edit on
                # another line than the client's.
                encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
                text = apply_edit(document.source, change.range.start, change.range.end, change.text, encoding)
                change = types.TextDocumentContentChangeWholeDocument(text=text)
            self.workspace.update_text_document(params.text_document, change)
        handler = self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)
        if handler is not None:
            yield handler, (params,), None


class ConclintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            SOURCE, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental, protocol_cls=ConclintProtocol
        )
        self.session = Session()
        self.linter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conclint-lint")
        self.open: Set[str] = set()
        self.other_languages: Set[str] = set()  # open documents that are not Python
        self.running: Dict[str, "asyncio.Task[None]"] = {}
        self.stale: Set[str] = set()
        self.push = True
        self.shut_down = False

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message that is not JSON gets JSON-RPC's Parse error (-32700, id null), not a
        pop-up for the user; other errors outside a request are shown as pygls shows them."""
        if isinstance(error, json.JSONDecodeError):
            # (as a plain object: pygls leaves out an id that is None, and this one must be null)
            self.protocol._send_data({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": f"Parse error: {error}"}})
            return
        super().report_server_error(error, source)

    # ------------------------------------------------------------------ helpers
    async def on_linter(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work`` on the lint thread (one at a time, in order)."""
        return await asyncio.get_running_loop().run_in_executor(self.linter, work, *args)

    def soon(self, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work`` on the lint thread after what is queued there (an exception is logged)."""
        loop = asyncio.get_running_loop()

        def done(future: "Future[Any]") -> None:
            exc = None if future.cancelled() else future.exception()
            if exc is not None:
                message = f"conclint: internal error: {type(exc).__name__}: {exc}"
                loop.call_soon_threadsafe(self.log, types.MessageType.Error, message)

        self.linter.submit(work, *args).add_done_callback(done)

    def document(self, uri: str) -> Document:
        """The open document, else the file on disk, else an empty one: a request about a
        document neither open nor on disk has nothing to report or fix. A file on disk is
        read as the command reads it: a regular file only (a FIFO would block the loop for
        good, /dev/zero fill the memory), at most as large as conclint lints, decoded as
        its PEP 263 cookie says."""
        path = fs_path(uri)
        if path and "\x00" in path:
            path = None  # (`%00` in the URI): no file can have that name
        doc = self.workspace.text_documents.get(unquote(uri))
        if doc is not None:
            return Document(uri, doc.source, doc.version, Path(path) if path else None)
        if not path:
            return Document(uri, "", None, None)
        try:
            source = decode_source(read_regular(path, MAX_SOURCE_BYTES))
        except (FileNotFoundError, NotADirectoryError):
            return Document(uri, "", None, Path(path))
        except OSError as exc:
            return Document(uri, "", None, Path(path), unreadable=f"cannot read file: {exc.strerror or exc}")
        return Document(uri, source, None, Path(path))

    def log(self, level: types.MessageType, message: str) -> None:
        if level <= self.session.client.log_level:
            self.window_log_message(types.LogMessageParams(type=level, message=message))

    def report(self, linted: Linted) -> None:
        for level, message in linted.messages:
            self.log(level, message)
        if linted.config_error:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"conclint: {linted.config_error}"))

    def apply_settings(self, raw: Any) -> None:
        """New client settings: they take effect on the lint thread, before the next lint."""
        try:
            client = ClientSettings.parse(raw)
        except SettingsError as exc:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"conclint: settings: {exc}"))
            return
        self.soon(self.session.set_client, client)

    # ------------------------------------------------------------------ diagnostics
    def schedule(self, uri: str, delay: float = 0.0) -> None:
        """Lint ``uri`` soon; if it is being linted, once more when that ends. (A client that
        pulls diagnostics asks for them itself.)"""
        if not self.push:
            return
        if uri in self.running:
            self.stale.add(uri)
            return
        self.running[uri] = asyncio.ensure_future(self.lint_until_current(uri, delay))

    async def lint_until_current(self, uri: str, delay: float) -> None:
        try:
            while uri in self.open:
                self.stale.discard(uri)
                if delay:
                    await asyncio.sleep(delay)
                document = self.document(uri)
                linted = await self.on_linter(self.session.diagnose, document)
                self.report(linted)
                if uri in self.stale or uri not in self.open:
                    continue  # edited meanwhile: these would be stale
                if self.push:
                    self.text_document_publish_diagnostics(
                        types.PublishDiagnosticsParams(uri=uri, diagnostics=linted.diagnostics, version=document.version)
                    )
                return
        finally:
            self.running.pop(uri, None)

    def relint_all(self) -> None:
        for uri in self.open:
            self.schedule(uri)
        if not self.push:
            workspace = self.client_capabilities.workspace
            diagnostics = workspace.diagnostics if workspace else None
            if diagnostics and diagnostics.refresh_support:
                self.workspace_diagnostic_refresh(None)


def fs_path(uri: str) -> Optional[str]:
    """The local path of a ``file:`` URI (``file://localhost/p`` is ``/p``, RFC 8089); None
    for other schemes."""
    if not uri.startswith("file:"):
        return None
    if uri.lower().startswith("file://localhost/"):
        uri = "file:///" + uri[len("file://localhost/"):]
    return to_fs_path(uri)


server = ConclintServer()


@server.feature(types.INITIALIZE)
def initialize(ls: ConclintServer, params: types.InitializeParams) -> None:
    encoding = ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
    ls.session.position_encoding = encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding
    root = ls.workspace.root_path
    ls.session.root = Path(root) if root else None
    # A client that pulls diagnostics gets them only when it asks.
    ls.push = params.capabilities.text_document is None or params.capabilities.text_document.diagnostic is None
    if params.initialization_options is not None:
        ls.apply_settings(params.initialization_options)


@server.feature(types.INITIALIZED)
async def initialized(ls: ConclintServer, params: types.InitializedParams) -> None:
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if watched and watched.dynamic_registration:
        # Every TOML file: a configuration may `extend` any of them (a shared base.toml).
        watchers = [types.FileSystemWatcher(glob_pattern="**/*.toml")]
        registration = types.Registration(
            id="conclint-pyproject",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        ls.client_register_capability(types.RegistrationParams(registrations=[registration]))
    await ls.on_linter(ls.session.warm_up)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: ConclintServer, params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    if not _python(params.text_document.language_id):
        # A Markdown or plain-text buffer (a client that sends every one it opens): not
        # Python, nothing to say of it; opened again in another language, it is no longer
        # the Python document it was.
        if uri in ls.open:
            _closed(ls, uri)
        ls.other_languages.add(uri)
        return
    ls.other_languages.discard(uri)
    ls.open.add(uri)
    ls.schedule(uri)


def _python(language: Optional[str]) -> bool:
    """Whether a document of ``language`` (its LSP languageId) is Python: ``python``, and
    the variants some clients send (``python3``); a client that names none means Python."""
    return not language or language.lower().startswith("python")


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: ConclintServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, ls.session.client.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: ConclintServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    if _configuration_file(uri):
        # Saved in the editor: read every configuration again (for a client that does not
        # watch files for the server, this is the one news of it).
        ls.soon(ls.session.forget_configuration)
        ls.relint_all()
    if uri not in ls.other_languages:
        ls.schedule(uri)


def _configuration_file(uri: str) -> bool:
    """A configuration file, or a TOML file one of them may extend."""
    return unquote(uri).endswith((*("/" + name for name in CONFIG_NAMES), ".toml"))


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: ConclintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    if uri in ls.other_languages:
        ls.other_languages.discard(uri)
        return
    _closed(ls, uri)


def _closed(ls: ConclintServer, uri: str) -> None:
    ls.open.discard(uri)
    ls.stale.discard(uri)
    ls.soon(ls.session.forget, uri)
    if ls.push:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=False, workspace_diagnostics=False),
)
async def pull_diagnostics(ls: ConclintServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
    if params.text_document.uri in ls.other_languages:
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    document = ls.document(params.text_document.uri)
    # On the lint thread, after what is queued there: a settings change just received
    # (``apply_settings``) must make a new id, or the client keeps the old diagnostics.
    result_id = await ls.on_linter(ls.session.result_id, document)
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    linted = await ls.on_linter(ls.session.diagnose, document)
    ls.report(linted)
    return types.RelatedFullDocumentDiagnosticReport(items=linted.diagnostics, result_id=result_id)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
)
async def code_action(ls: ConclintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
    if params.text_document.uri in ls.other_languages:
        return []
    document = ls.document(params.text_document.uri)
    return await ls.on_linter(ls.session.code_actions, document, params.range, params.context.only)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: ConclintServer, params: types.DidChangeWatchedFilesParams) -> None:
    # A configuration file, or a TOML file one of them may extend: read them all again.
    if any(_configuration_file(change.uri) for change in params.changes):
        ls.soon(ls.session.forget_configuration)
        ls.relint_all()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: ConclintServer, params: types.DidChangeConfigurationParams) -> None:
    if params.settings is not None:
        ls.apply_settings(params.settings)
        ls.relint_all()


@server.feature(types.SHUTDOWN)
def shutdown(ls: ConclintServer, params: None) -> None:
    ls.shut_down = True
    for task in list(ls.running.values()):
        task.cancel()
    ls.linter.shutdown(wait=False, cancel_futures=True)


@server.feature(types.EXIT)
def exit_(ls: ConclintServer, params: None) -> None:
    # The protocol's exit code: 0 after shutdown, else 1. Exiting here, not when pygls's
    # loop ends, as that waits for its reader thread, blocked on stdin until the client closes it.
    sys.stdout.flush()
    os._exit(0 if ls.shut_down else 1)


class _Headers:
    """Standard input as pygls reads it, with each ``Content-Length`` header spelled as pygls
    matches it: header names are case-insensitive (as in HTTP, whose framing LSP borrows) and
    clients differ in spacing and line ends; one header pygls does not recognise made it read
    the body as headers, and the stream never recovered."""

    _LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n", re.I)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def readline(self, *args: Any) -> bytes:
        line: bytes = self.raw.readline(*args)
        match = self._LENGTH.fullmatch(line)
        return b"Content-Length: %s\r\n" % match.group(1) if match else line

    def read(self, size: int = -1) -> bytes:
        if size > MAX_MESSAGE_BYTES:
            # A length no message has (a client's bug): nothing after it can be framed again.
            # Said and ended, not a MemoryError while allocating it.
            sys.stderr.write(f"conclint server: a message of {size} bytes announced (at most {MAX_MESSAGE_BYTES}): stopping\n")
            return b""
        chunks: List[bytes] = []
        left = size
        while left > 0:  # read as it arrives: no buffer of the announced size made up front
            chunk: bytes = self.raw.read(min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks) if size >= 0 else self.raw.read()


# Far above any document conclint reads (``MAX_SOURCE_BYTES``) with its JSON escaping.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024


def serve() -> int:
    """Serve on stdin/stdout until ``exit`` (or until the client goes away: exit code 1)."""
    server.start_io(stdin=_Headers(sys.stdin.buffer))  # type: ignore[arg-type]
    return 0 if server.shut_down else 1
