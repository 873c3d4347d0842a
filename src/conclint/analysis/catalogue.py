"""The standard library's concurrency API as the models know it: modules, what their star
imports bind, one canonical spelling per object, what calls and methods return, and the
groups of types rules ask about. Plain data, no LibCST: the CPython-side facts read it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple

CONCURRENCY_MODULES = frozenset(
    {"threading", "multiprocessing", "concurrent", "asyncio", "gevent", "_thread", "thread", "queue", "dummy_threading"}
)

# Names each module exports that matter to the rules, for ``from X import *``.
STAR_EXPORTS: Dict[str, FrozenSet[str]] = {
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

# Spellings of an object under another module or name -> its canonical name.
EXACT_ALIASES: Dict[str, str] = {
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
# Module prefixes whose objects are those of another module (``dummy_threading.`` is ``threading.``).
PREFIX_ALIASES: Tuple[Tuple[str, str], ...] = (
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
    found = _CANONICAL.get(qualname)
    if found is None:
        if len(_CANONICAL) > _CANONICAL_LIMIT:  # (a language server lives long)
            _CANONICAL.clear()
        found = _CANONICAL[qualname] = _canonical(qualname)
    return found


# Each name's answer, once per process: the semantic model asks for every callee and receiver.
_CANONICAL: Dict[str, str] = {}
_CANONICAL_LIMIT = 100_000


def _canonical(qualname: str) -> str:
    if qualname in EXACT_ALIASES:
        return EXACT_ALIASES[qualname]
    for prefix, repl in PREFIX_ALIASES:
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
        # Objects whose methods block on I/O or a child process (CCL402 asks about them).
        "subprocess.Popen": "subprocess.Popen",
        "httpx.Client": "httpx.Client",
        "requests.Session": "requests.Session",
        "requests.session": "requests.Session",
        "pathlib.Path": "pathlib.Path",
        "pathlib.PosixPath": "pathlib.Path",
        "pathlib.WindowsPath": "pathlib.Path",
        "pathlib.Path.cwd": "pathlib.Path",
        "pathlib.Path.home": "pathlib.Path",
    }
)

# (receiver type, method) -> result type
METHOD_RESULTS: Dict[Tuple[str, str], str] = {
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

# Calls that choose how processes start: with "fork" a target is copied, never pickled.
START_METHOD_CALLS = frozenset({"multiprocessing.get_context", "multiprocessing.set_start_method"})
# Calls whose result is certainly not callable: builtins building values, and methods of
# strings, bytes, lists and dicts that do (`x.upper()`, `", ".join(parts)`).
VALUE_BUILTINS = frozenset(
    "len str int float bool bytes sum sorted list tuple dict set frozenset range repr abs round format "
    "ord chr hex oct bin divmod any all".split()
)
VALUE_METHODS = frozenset(
    "upper lower strip lstrip rstrip title capitalize casefold swapcase center ljust rjust zfill format "
    "join split rsplit splitlines partition rpartition replace encode decode count index find rfind "
    "startswith endswith isdigit isalpha isalnum isspace keys values items".split()
)

# Context managers with which tests call code to watch it raise or warn.
# Decorators that leave an ``async def`` a coroutine function; any other may wrap it in
# something synchronous (a sync-to-async adapter, a fixture, a retry helper).
TRANSPARENT_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "abstractmethod", "abc.abstractmethod", "override", "typing.override"}
)
# Decorators after which calling a def still runs its body, there and then (the lock-order
# graph follows such calls; any other decorator may run it later, elsewhere or never: on a
# new thread, in an executor, as a scheduled task).
RUNS_ON_CALL_DECORATORS = TRANSPARENT_DECORATORS | frozenset({
    "contextmanager", "contextlib.contextmanager",  # the body up to its yield, on entering `with`
    "lru_cache", "functools.lru_cache", "cache", "functools.cache", "wraps", "functools.wraps",
    "final", "typing.final", "overload", "typing.overload",
})
TEST_EXPECTATIONS = frozenset(
    {"assertRaises", "assertRaisesRegex", "assertWarns", "assertWarnsRegex", "raises", "warns", "deprecated_call"}
)


# ---------------------------------------------------------------------- spawning calls
@dataclass(frozen=True)
class SpawnSignature:
    """Where a call that runs a function later takes that function and its arguments.

    Parameters are ``(keyword, position)``. ``args`` is the argument-tuple parameter, or None
    when there is none; ``variadic`` means the arguments follow the function positionally
    (``executor.submit(fn, *args)``).
    """

    func: Tuple[str, int]
    args: Optional[Tuple[str, int]] = None
    variadic: bool = False


_WORKER_SIGNATURE = SpawnSignature(("target", 1), ("args", 3))
# Only the classes themselves: a subclass's constructor has its own signature.
SPAWN_CONSTRUCTORS: Dict[str, SpawnSignature] = {
    "threading.Thread": _WORKER_SIGNATURE,
    "multiprocessing.Process": _WORKER_SIGNATURE,
    "threading.Timer": SpawnSignature(("function", 1), ("args", 2)),
}
_POOL_APPLY = SpawnSignature(("func", 0), ("args", 1))
_POOL_MAP = SpawnSignature(("func", 0))
_POOL_METHODS: Dict[str, SpawnSignature] = {
    "apply": _POOL_APPLY,
    "apply_async": _POOL_APPLY,
    **{m: _POOL_MAP for m in ("map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async")},
}
_EXECUTOR_METHODS: Dict[str, SpawnSignature] = {
    "submit": SpawnSignature(("fn", 0), variadic=True),
    "map": SpawnSignature(("fn", 0)),
}
_EXECUTOR_TYPES = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"})
SPAWN_METHODS = frozenset(_POOL_METHODS) | frozenset(_EXECUTOR_METHODS)


def method_signature(receiver: Optional[str], method: str) -> Optional[SpawnSignature]:
    """How method ``method`` of a pool or executor of type ``receiver`` takes its function."""
    if receiver in _EXECUTOR_TYPES:
        return _EXECUTOR_METHODS.get(method)
    if receiver in POOL_TYPES:
        return _POOL_METHODS.get(method)
    return None
