"""Blocking calls (``time.sleep``, ``requests``, ``subprocess``, ...) inside ``async def``."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from conclint.analysis.catalogue import EVENT_TYPES, QUEUE_TYPES
from conclint.analysis.cstutil import (
    dotted, get_arg, int_value, parameters, statement_expr, string_value, touched_names, walk, walk_scope,
)
from conclint.interest import All, Calls, Either, Imports, Interest, Methods, Syntax
from conclint.rule import Applicability, Rule

_HTTP_VERBS = ("request", "get", "post", "put", "patch", "delete", "head", "options")
_SPAWN = ("spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe")
_WAITS = ("wait", "wait3", "wait4", "waitid", "waitpid")
# Module functions that block the calling thread until I/O or a child process finishes, by
# what to use instead (the advice of the message).
_BY_ADVICE = {
    "use `await asyncio.sleep()`": frozenset({"time.sleep"}),
    "use an async HTTP client (`httpx.AsyncClient`, `aiohttp`)": frozenset(
        {"urllib.request.urlopen", "urllib3.request"}
        | {f"requests.{f}" for f in _HTTP_VERBS}
        | {f"httpx.{f}" for f in (*_HTTP_VERBS, "stream")}
    ),
    "use `asyncio.create_subprocess_exec()` / `create_subprocess_shell()`": frozenset(
        {f"subprocess.{f}" for f in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")}
        | {"subprocess.Popen", "os.system", "os.popen", "os.posix_spawn", "os.posix_spawnp"}
        | {f"os.{f}" for f in _SPAWN}
    ),
    "wait with `asyncio.create_subprocess_exec()`'s `await proc.wait()`, or in an executor": frozenset(
        f"os.{f}" for f in _WAITS
    ),
    "run it in an executor (`asyncio.to_thread`) or use an async API": frozenset(
        {"socket.create_connection", "socket.getaddrinfo"}
    ),
    "read and write files in a thread (`asyncio.to_thread`) or with an async file library": frozenset({"io.open"}),
}
_ADVICE = {name: advice for advice, names in _BY_ADVICE.items() for name in names}
_BLOCKING_FUNCTIONS = frozenset(_ADVICE)
# Builtins: they need no import.
_BLOCKING_BUILTINS = {
    "builtins.open": "read and write files in a thread (`asyncio.to_thread`) or with an async file library",
    "builtins.input": "read it in a thread: `await asyncio.to_thread(input, ...)`",
}
# Methods that block on objects whose type is known; ``wait``/``get`` with a zero timeout or
# ``block=False`` return at once and are fine. Of a path, the methods that read, write or
# change the file system (not the cheap ``stat`` queries: ``exists()``, ``is_file()``, ...).
_PATH_IO = frozenset(
    "read_text read_bytes write_text write_bytes open iterdir glob rglob walk touch mkdir rmdir unlink "
    "rename replace symlink_to hardlink_to chmod".split()
)
# Generators (up to 3.12): calling them does no I/O, iterating them does.
_LAZY_PATH_METHODS = frozenset({"iterdir", "glob", "rglob", "walk"})
_CONSUMERS = frozenset(f"builtins.{f}" for f in ("list", "sorted", "tuple", "set", "frozenset", "next", "any", "all"))
_BLOCKING_METHODS = {
    "socket.socket": frozenset({"recv", "recv_into", "recvfrom", "send", "sendall", "accept", "connect"}),
    **{queue: frozenset({"get"}) for queue in QUEUE_TYPES},
    **{event: frozenset({"wait"}) for event in EVENT_TYPES},
    **{client: frozenset({*_HTTP_VERBS, "send", "stream"}) for client in ("httpx.Client", "requests.Session")},
    "subprocess.Popen": frozenset({"wait", "communicate"}),
    "pathlib.Path": _PATH_IO,
}
_METHOD_ADVICE = {
    "httpx.Client": _ADVICE["httpx.get"],
    "requests.Session": _ADVICE["httpx.get"],
    "subprocess.Popen": "use `asyncio.create_subprocess_exec()` and `await proc.wait()` / `communicate()`",
    "pathlib.Path": _BLOCKING_BUILTINS["builtins.open"],
}
_DEFAULT_ADVICE = "run it in an executor (`asyncio.to_thread`) or use an async API"

# The roots of the modules holding those functions (imported: functions resolve only through imports).
_BLOCKING_ROOTS = tuple(sorted({q.split(".", 1)[0] for q in _BLOCKING_FUNCTIONS}))
# The same methods, by the types they block on.
_BLOCKING_METHOD_TYPES = {
    names: frozenset(t for t, n in _BLOCKING_METHODS.items() if n == names) for names in set(_BLOCKING_METHODS.values())
}
BUILTINS = Calls(*_BLOCKING_BUILTINS, within=("async body",), through_modules=True)


def _polls(call: cst.Call) -> bool:
    """``os.waitpid(pid, os.WNOHANG)``: returns at once."""
    return any(isinstance(n, cst.Name) and n.value == "WNOHANG" for a in call.args for n in walk(a.value))


def _returns_at_once(call: cst.Call, method: str) -> bool:
    """``q.get(False)``, ``q.get(block=False)``, ``event.wait(0)``."""
    if method == "get":
        block = get_arg(call, "block", 0)
        return block is not None and isinstance(block.value, cst.Name) and block.value.value == "False"
    if method == "wait":
        timeout = get_arg(call, "timeout", 0)
        if timeout is None:
            return False
        return _is_zero(timeout.value)
    return False


def _is_zero(value: cst.BaseExpression) -> bool:
    """``0``, ``0.0``, ``0e0``."""
    return int_value(value) == 0 or (isinstance(value, cst.Float) and float(value.value) == 0)


class BlockingCallInAsync(Rule):
    """A call that blocks the thread, made directly in a coroutine: it stalls the whole event loop."""

    code = "CCL402"
    name = "blocking-call-in-async"
    message = "blocking call inside `async def` stalls the event loop"
    fix = Applicability.UNSAFE
    # A call in an `async def` of a blocking function (its module imported: functions resolve
    # only through imports), or of a blocking method of a type the file may hold.
    interest = Interest(
        # Implied by each alternative; first, it decides most files at the byte level at once.
        Syntax("async def"),
        Either(
            All(Imports(*_BLOCKING_ROOTS), Calls(*_BLOCKING_FUNCTIONS, within=("async body",), through_modules=True)),
            BUILTINS,
            *(Methods(*names, on=types, within=("async body",)) for names, types in _BLOCKING_METHOD_TYPES.items()),
        ),
    )

    _binds_asyncio: Optional[bool] = None  # (per file: whether the module binds the name `asyncio`)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per coroutine: the place of each of its nodes in the order of its text; per
        # coroutine and socket as written, the places that bind it or may make it blocking.
        self._orders: Dict[int, Dict[int, int]] = {}
        self._resets: Dict[Tuple[int, str], List[int]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        # A nested sync def or lambda may be handed to an executor: only the coroutine's own body counts.
        if not self.sem.in_async_function:
            return
        blocking = self._blocking_name(node)
        if blocking is None:
            return
        name = blocking.replace("builtins.", "")
        message = f"`{name}()` blocks the event loop inside `async def`"
        if blocking == "time.sleep":
            self._report_sleep(node, message)
        else:
            self.report(node, f"{message}; {self._advice(blocking)}")

    @staticmethod
    def _advice(blocking: str) -> str:
        if blocking in _ADVICE:
            return _ADVICE[blocking]
        if blocking in _BLOCKING_BUILTINS:
            return _BLOCKING_BUILTINS[blocking]
        return _METHOD_ADVICE.get(blocking.rpartition(".")[0], _DEFAULT_ADVICE)

    def _blocking_name(self, call: cst.Call) -> Optional[str]:
        qualname = self.sem.qualname(call.func)
        if qualname in _BLOCKING_FUNCTIONS:
            if qualname.startswith("os.wait") and _polls(call):
                return None
            if qualname == "socket.getaddrinfo" and self._numeric_only(call):
                return None
            return qualname
        if BUILTINS.matches(self.sem, call):
            return self.sem.builtin(call.func)
        if not isinstance(call.func, cst.Attribute):
            return None
        receiver_type = self.sem.type_of(call.func.value)
        method = call.func.attr.value
        if receiver_type is None:  # (no blocking methods then)
            return None
        if method not in _BLOCKING_METHODS.get(receiver_type, ()) or _returns_at_once(call, method):
            return None
        if receiver_type == "socket.socket" and (
            self._expects_blocking_error() or self._socket_returns_at_once(call, call.func.value, method)
        ):
            return None
        if method in _LAZY_PATH_METHODS and not self._iterated(call):
            return None
        return f"{receiver_type}.{method}"

    def _numeric_only(self, call: cst.Call) -> bool:
        """``getaddrinfo(..., flags=socket.AI_NUMERICHOST)``: no name lookup, it returns at
        once (asyncio's own loop makes this call in the loop); the flags spelled directly or
        by a module-level name (``_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV``).
        So does a host written as an IP address (``"127.0.0.1"``) or ``None``."""
        host = get_arg(call, "host", 0)
        if host is not None and _numeric_host(host.value):
            return True
        flags = get_arg(call, "flags", 5)
        if flags is None:
            return False
        for node in walk(flags.value):
            name = node.attr.value if isinstance(node, cst.Attribute) else node.value if isinstance(node, cst.Name) else ""
            if name == "AI_NUMERICHOST":
                return True
            if isinstance(node, cst.Name) and re.search(
                rf"^{re.escape(name)}\s*(?::[^=\n]*)?=[^\n]*\bAI_NUMERICHOST\b", self.sem.source, re.M
            ):
                return True
        return False

    def _socket_returns_at_once(self, call: cst.Call, receiver: cst.BaseExpression, method: str) -> bool:
        """A socket the code has made non-blocking (``setblocking(False)``, ``settimeout(0)``),
        whose calls return at once, or, for ``connect()``, made a datagram socket, whose
        ``connect()`` only records the peer; not a ``connect()`` to a host written as a name
        (it is looked up first). A name: made so by a statement of this coroutine that runs
        before the call on every path to it (in a block around the call), with nothing since
        that binds it again or changes its mode. ``self.<attr>``: made non-blocking by a
        statement of ``__init__``, and nothing in the class makes it blocking or binds it
        outside ``__init__``."""
        spelled = dotted(receiver)
        function = self.sem.function
        if spelled is None or function is None or not isinstance(function.node, cst.FunctionDef):
            return False
        connect = method == "connect"
        if connect and _names_a_host(call):
            return False
        if isinstance(receiver, cst.Name):
            return self._made_so_before(function.node, call, spelled, connect)
        if isinstance(receiver, cst.Attribute) and self.sem.is_self(receiver.value):
            info = self.sem.enclosing_class()
            return info is not None and _made_nonblocking_by_init(info.methods, spelled)
        return False

    def _made_so_before(self, function: cst.FunctionDef, call: cst.Call, spelled: str, connect: bool) -> bool:
        order = self._orders.get(id(function))
        if order is None:
            order = self._orders[id(function)] = {id(n): i for i, n in enumerate(walk_scope(function))}
        at = order.get(id(call))
        stack = self.sem.stack
        if at is None or function not in stack:
            return False
        # The last statement before the call, in a block around it, that makes it so.
        made = -1
        first = stack.index(function)
        for index, node in enumerate(stack[:-1]):
            if index < first or not isinstance(node, cst.IndentedBlock):
                continue
            for statement in node.body:
                if statement is stack[index + 1]:
                    break
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        target = small.value if isinstance(small, cst.Expr) else small
                        if _mode(target, spelled) is True or (connect and _datagram_made(small, spelled)):
                            # (from its last node on: its own target is not a binding since)
                            made = max(made, max(order[id(n)] for n in walk(small) if id(n) in order))
        if made < 0:
            return False
        # Nothing between it and the call binds the name again or sets another mode.
        resets = self._resets.get((id(function), spelled))
        if resets is None:
            resets = self._resets[(id(function), spelled)] = [
                i for i, node in enumerate(walk_scope(function)) if _mode(node, spelled) is False or _binds(node, spelled)
            ]
        return not any(made < i < at for i in resets)

    def _expects_blocking_error(self) -> bool:
        """Inside a ``try`` catching ``BlockingIOError``: the socket is non-blocking, the call
        returns at once (``sock.connect(addr)`` then waiting for the socket to be writable)."""
        for node in self.sem.ancestors():
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                return False
            if isinstance(node, cst.Try) and any(
                h.type is not None and any(isinstance(n, cst.Name) and n.value == "BlockingIOError" for n in walk(h.type))
                for h in node.handlers
            ):
                return True
        return False

    def _iterated(self, call: cst.Call) -> bool:
        """The generator a lazy path method returns is iterated here: the loop's or the
        comprehension's iterable, or the argument of ``list()``/``sorted()``/..."""
        parent = self.sem.parent
        if isinstance(parent, (cst.For, cst.CompFor)):
            return parent.iter is call
        if isinstance(parent, cst.Arg):
            stack = self.sem.stack
            outer = stack[-3] if len(stack) > 2 else None
            return isinstance(outer, cst.Call) and self.sem.builtin(outer.func) in _CONSUMERS
        return False

    def _report_sleep(self, call: cst.Call, message: str) -> None:
        message = f"{message}; {_ADVICE['time.sleep']}"
        statement = statement_expr(self.sem.stack, call)
        simple_arg = len(call.args) <= 1 and all(a.keyword is None and not a.star for a in call.args)
        # Only a sleep that is a statement of its own: inside an expression (a generator, say)
        # `await` could change what the expression is.
        asyncio = self.sem.module_alias("asyncio")
        shadowed = asyncio is not None and self.sem.qualname(cst.Name(asyncio)) != "asyncio"
        if asyncio is None and self._binds_asyncio is None:
            # The fix would import asyncio under its own name: not where the module binds
            # that name to something else (`import time as asyncio`, `def asyncio():`).
            module = self.sem.module
            self._binds_asyncio = module is not None and "asyncio" in set(touched_names(module))
        shadowed = shadowed or (asyncio is None and bool(self._binds_asyncio)) or _bound_around(self.sem.stack, asyncio or "asyncio")
        if statement is None or not simple_arg or shadowed:
            self.report(call, message)
            return
        sleep = cst.Attribute(value=cst.Name(asyncio or "asyncio"), attr=cst.Name("sleep"))
        replacement = cst.Await(expression=call.with_changes(func=sleep))
        self.report(
            call,
            message,
            replacement=replacement,
            fix_message="Use `await asyncio.sleep()`",
            add_imports=() if asyncio else ("asyncio",),
            drop_imports=_sleep_import(call.func),
        )


def _numeric_host(value: cst.BaseExpression) -> bool:
    """``None``, or a string literal that is an IPv4 or IPv6 address."""
    import ipaddress

    if isinstance(value, cst.Name):
        return value.value == "None"
    text = string_value(value)
    if text is None:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _mode(node: cst.CSTNode, spelled: str) -> Optional[bool]:
    """For ``<spelled>.setblocking(...)`` or ``<spelled>.settimeout(...)``: True if it makes
    the socket non-blocking (``False``, ``0``), False if it may make it blocking; else None."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
        return None
    if node.func.attr.value not in ("setblocking", "settimeout") or dotted(node.func.value) != spelled:
        return None
    if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
        return False
    value = node.args[0].value
    if node.func.attr.value == "setblocking" and isinstance(value, cst.Name):
        return value.value == "False"
    return _is_zero(value)


def _binds(node: cst.CSTNode, spelled: str) -> bool:
    """Whether ``node`` binds ``spelled`` (an assignment, ``for``, ``with ... as``, ``:=``, ``del``)."""
    target: Optional[cst.CSTNode] = None
    if isinstance(node, cst.AsName):
        target = node.name
    elif isinstance(node, (cst.AssignTarget, cst.NamedExpr, cst.For, cst.AugAssign, cst.AnnAssign, cst.Del)):
        target = node.target
    if target is None:
        return False
    return any(isinstance(n, (cst.Name, cst.Attribute)) and dotted(n) == spelled for n in (target, *walk(target)))


def _made_nonblocking_by_init(methods: Dict[str, cst.FunctionDef], spelled: str) -> bool:
    """``__init__`` makes ``self.<attr>`` non-blocking in a statement of its own block, after
    its last binding there; no method makes it blocking, none but ``__init__`` binds it."""
    init = methods.get("__init__")
    if init is None or not isinstance(init.body, cst.IndentedBlock):
        return False
    made = False
    for statement in init.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Expr) and _mode(small.value, spelled) is True:
                    made = True
                elif any(_binds(n, spelled) for n in walk(small)):
                    made = False
        elif any(_binds(n, spelled) or _mode(n, spelled) is False for n in walk(statement)):
            made = False
    if not made:
        return False
    for name, method in methods.items():
        for node in walk(method):
            if _mode(node, spelled) is False or (name != "__init__" and _binds(node, spelled)):
                return False
    return True


def _names_a_host(call: cst.Call) -> bool:
    """``connect(("example.com", 80))``: an address whose host is a name, looked up first."""
    address = get_arg(call, "address", 0)
    if address is None or not isinstance(address.value, cst.Tuple) or not address.value.elements:
        return False
    host = address.value.elements[0].value
    return string_value(host) is not None and not _numeric_host(host)


def _datagram_made(node: cst.CSTNode, spelled: str) -> bool:
    """``<spelled> = socket.socket(..., SOCK_DGRAM ...)`` (``socket.SOCK_DGRAM`` or the name)."""
    if not (isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.value, cst.Call)):
        return False
    if dotted(node.targets[0].target) != spelled or (dotted(node.value.func) or "").rpartition(".")[2] != "socket":
        return False
    return any(
        isinstance(n, (cst.Name, cst.Attribute)) and (dotted(n) or "").rpartition(".")[2] == "SOCK_DGRAM"
        for a in node.value.args for n in walk(a.value)
    )


def _sleep_import(func: cst.BaseExpression) -> Tuple[Tuple[str, Optional[str], Optional[str]], ...]:
    """The import ``func`` (a ``time.sleep`` the fix replaces) came through, as the applier's
    ``drop_imports`` names it: ``import time [as t]`` for ``time.sleep``/``t.sleep``,
    ``from time import sleep [as nap]`` for ``sleep``/``nap``."""
    if isinstance(func, cst.Name):
        return (("time", "sleep", func.value if func.value != "sleep" else None),)
    base = dotted(func.value) if isinstance(func, cst.Attribute) else None
    if base is None or "." in base:
        return ()
    return (("time", None, None if base == "time" else base),)


def _bound_around(stack: Sequence[cst.CSTNode], name: str) -> bool:
    """Whether a def or lambda around the call binds ``name`` itself (a parameter, a local
    assignment or import): there it is not the module's."""
    for node in stack:
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            if any(p.name.value == name for p in parameters(node)):
                return True
            if isinstance(node, cst.FunctionDef) and any(name in set(touched_names(stmt)) for stmt in _statements(node)):
                return True
    return False


def _statements(node: cst.FunctionDef) -> Sequence[cst.CSTNode]:
    return node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body]
