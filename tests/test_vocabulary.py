"""The interest vocabulary (``conclint.interest``) on small programs: each item says what it
should of both trees, and keeps the contract the derived gates rest on: wherever its
``matches`` finds a LibCST node, its ``possible`` says yes for CPython's tree of the same
code, and its byte triggers match the source."""

from __future__ import annotations

from typing import Any, List, Optional

import libcst as cst
import pytest

from conclint.analysis import Semantic
from conclint.analysis.parsing import screen
from conclint.analysis.walk import traverse
from conclint.gate import compile_trigger, trigger_matches
from conclint.interest import (
    CALL_OF_NAMED,
    DEF_NAME,
    MAY_BE_LOCAL_CALLABLE,
    AtImport,
    NONE_OR_NAME,
    NOT_NONE,
    NOT_OWN_SELF,
    ONE_VALUE,
    Argument,
    Calls,
    ComparesName,
    Either,
    InOrder,
    Methods,
    Option,
    Parameter,
    Requirement,
    Stores,
    Subclasses,
    Syntax,
    call_of,
)

IMPORTS = "import threading, time, asyncio\n"


def matched(requirement: Any, source: str) -> List[cst.CSTNode]:
    """The LibCST nodes of ``source`` that ``requirement.matches``."""
    module = cst.parse_module(source)
    sem = Semantic("x.py", source)
    found: List[cst.CSTNode] = []

    def enter(node: cst.CSTNode) -> None:
        sem.enter(node)
        if requirement.matches(sem, node):
            found.append(node)

    traverse(module, enter, sem.leave)
    return found


def possible(requirement: Requirement, source: str, options: Optional[dict] = None) -> bool:
    facts = screen(source.encode()).facts
    assert facts is not None
    result = requirement.possible(facts, options or {})
    if result:  # the byte triggers are necessary too
        data = source.encode()
        assert all(trigger_matches(compile_trigger(t), data) for t in requirement.triggers()), source
    return result


GIVEN_GROUP = Calls("threading.Thread", argument=Argument(NOT_NONE, positions=range(1), keywords=()), subclasses=False)
CALLED = Calls("threading.Thread", argument=Argument(CALL_OF_NAMED))
ONE = Calls("threading.Thread", argument=Argument(ONE_VALUE, positions=range(1, 99), keywords=("args",)))
RUN = Methods("run", bare=True, receiver=NOT_OWN_SELF)
NEW_LOCK_ACQUIRED = Methods("acquire", statement=True, receiver=call_of(Calls("threading.Lock")))
TIMEOUT = Parameter("timeout", asynchronous=True)
ANY_TIMEOUT = Parameter("timeout")
OPEN = Calls("builtins.open", through_modules=True)
TARGET_DEF = Calls("threading.Thread", argument=Argument(DEF_NAME, keywords=("target",)))
SHIPPED = Calls("threading.Thread", argument=Argument(MAY_BE_LOCAL_CALLABLE, keywords=("target",)))
UNPAIRED = Methods("acquire", statement=True, unpaired="release")
OPEN_SLEEP = Calls("time.sleep", through_modules=True)
WAIT_ON_CONDITION = Methods("wait", on=frozenset({"threading.Condition"}))
UNTIMED = Methods("wait", arguments=NONE_OR_NAME)
SUSPICIOUS = ComparesName(lambda operator, text: text == "_main_" or operator == "is")

CASES = [
    # (requirement, code, matches in LibCST, possible in CPython's tree)
    (GIVEN_GROUP, "threading.Thread(work)", True, True),
    (GIVEN_GROUP, "threading.Thread(None, work)", False, False),
    (GIVEN_GROUP, "threading.Thread(*parts)", False, False),
    (GIVEN_GROUP, "threading.Thread(target=work)", False, False),
    (GIVEN_GROUP, "class T(threading.Thread): pass\nT(work)", False, False),
    (CALLED, "threading.Thread(target=work())", True, True),
    (CALLED, "threading.Thread(None, obj.work(1))", True, True),
    (CALLED, "threading.Thread(target=work)", False, False),
    (CALLED, "threading.Thread(target=(lambda: 1)())", False, False),
    (CALLED, "threading.Thread(*make())", False, False),
    (ONE, "threading.Thread(target=f, args=(x))", True, True),
    (ONE, "threading.Thread(target=f, args='ab')", True, True),
    (ONE, "threading.Thread(None, f, 'n', (x))", True, True),
    (ONE, "threading.Thread(target=f, args=(x,))", False, False),
    (ONE, "threading.Thread(target=f, args=x)", False, False),
    (ONE, "threading.Thread((f))", False, False),  # the first argument is never the tuple
    (ONE, "threading.Thread(target=f, kwargs=(x))", False, False),
    (RUN, "t.run()", True, True),
    (RUN, "t.run(1)", False, False),
    (RUN, "class W:\n    def go(self):\n        self.run()", False, False),
    (RUN, "class W:\n    def go(me):\n        me.run()", False, False),
    (RUN, "class W:\n    def go(self, other):\n        other.run()", True, True),
    (NEW_LOCK_ACQUIRED, "threading.Lock().acquire()", True, True),
    (NEW_LOCK_ACQUIRED, "lock.acquire()", False, False),
    (NEW_LOCK_ACQUIRED, "threading.Event().acquire()", False, False),
    (TIMEOUT, "async def f(x, timeout=None): pass", True, True),
    (TIMEOUT, "async def f(*, timeout): pass", True, True),
    (TIMEOUT, "async def f(**timeout): pass", True, True),
    (TIMEOUT, "def f(timeout): pass", False, False),
    (TIMEOUT, "async def f(x):\n    timeout = 3", False, False),
    (TIMEOUT, "async def f(x, deadline): pass", False, False),
    (ANY_TIMEOUT, "class C:\n    def f(self, /, timeout): pass", True, True),
    (OPEN, "open('f')", True, True),
    (OPEN, "def f(open):\n    open('f')", False, True),  # a parameter: the tree check over-approximates
    (OPEN, "from threading import *\nopen('f')", True, True),  # threading's star list is known: no open
    (OPEN, "from gzip import *\nopen('f')", False, True),  # a star import the catalogue does not know
    (OPEN, "def open(p): pass\nopen('f')", False, True),
    (OPEN, "import io as open\nopen('f')", False, True),
    (OPEN, "f.open('f')", False, False),
    (TARGET_DEF, "def work(): pass\nthreading.Thread(target=work)", True, True),
    (TARGET_DEF, "threading.Thread(target=work)", False, False),
    (TARGET_DEF, "def work(): pass\nthreading.Thread(target=self.work)", False, False),
    (TARGET_DEF, "def work(): pass\nthreading.Thread(target=work())", False, False),
    (SHIPPED, "threading.Thread(target=lambda: 1)", True, True),
    (SHIPPED, "threading.Thread(target=work)", True, True),
    (SHIPPED, "threading.Thread(target=make(3))", True, True),
    (SHIPPED, "threading.Thread(target=self.work)", False, False),
    (SHIPPED, "threading.Thread(target=obj.make(3))", False, False),
    (UNPAIRED, "lock.acquire()\nwork()", True, True),
    (UNPAIRED, "lock.acquire()\ntry:\n    work()\nfinally:\n    lock.release()", False, False),
    (UNPAIRED, "lock.acquire()\ntry:\n    work()\nfinally:\n    ( lock ).release()", False, False),
    (UNPAIRED, "lock.acquire()\ntry:\n    work()\nfinally:\n    other.release()", True, True),
    (UNPAIRED, "lock.acquire()\ntry:\n    work()\nexcept* E:\n    pass\nfinally:\n    lock.release()", True, True),
    (UNPAIRED, "try:\n    if x:\n        lock.acquire()\nfinally:\n    lock.release()", False, False),
    (UNPAIRED, "try:\n    work()\nexcept E:\n    lock.acquire()\nfinally:\n    lock.release()", True, True),
    (UNPAIRED, "try:\n    def g():\n        lock.acquire()\nfinally:\n    lock.release()", True, True),
    (UNPAIRED, "lock.acquire()  # take it\nlock.release()  # give it back", False, False),
    (UNPAIRED, "lock.acquire()\nlock.release(); work()", True, True),
    (UNPAIRED, "lock.acquire(); lock.release()", True, True),
    (UNPAIRED, "lock.acquire(); \\\nlock.release()", True, True),
    (UNPAIRED, "lock.acquire()\nlock.release(True)", True, True),
    (UNPAIRED, "x = 1; lock.acquire()\nlock.release()", False, False),
    # `on=`: the receiver must be of a type as far as the model knows; CPython's side asks
    # whether any binding of that name (or attribute) in the file may give it one.
    # A plain name called resolves through its bindings: an absolute import of one, an
    # assignment (an alias), a star import, a local subclass; not a relative import or a def.
    (OPEN_SLEEP, "from time import sleep as nap\nnap(1)", True, True),
    (OPEN_SLEEP, "from .tasks import sleep\nsleep(1)", False, False),
    (OPEN_SLEEP, "def sleep(x): pass\nsleep(1)", False, False),
    (OPEN_SLEEP, "def f():\n    from time import sleep\ndef g(sleep):\n    sleep(1)", False, True),
    (OPEN_SLEEP, "nap = time.sleep\nnap(1)", False, True),
    (OPEN_SLEEP, "from time import *\nsleep(1)", False, True),  # time's star list is not in the catalogue
    (Calls("threading.Thread"), "class Thread(threading.Thread): pass\nThread()", True, True),
    (Calls("threading.Thread"), "from .compat import Thread\nThread()", False, False),
    (Methods("get", on=frozenset({"queue.Queue"})), "from queue import Queue\nq = Queue()\nq.get()", True, True),
    (Methods("get", on=frozenset({"queue.Queue"})), "from .queues import Queue\nq = Queue()\nq.get()", False, False),
    (WAIT_ON_CONDITION, "c = threading.Condition()\nc.wait()", True, True),
    (WAIT_ON_CONDITION, "c = threading.Condition()\ne = threading.Event()\ne.wait()", False, False),
    (WAIT_ON_CONDITION, "c = threading.Condition()\nx = c\nx.wait()", True, True),
    (WAIT_ON_CONDITION, "C = threading.Condition\nc = C()\nc.wait()", True, True),
    (WAIT_ON_CONDITION, "c = threading.Condition()\nif (d := c):\n    d.wait()", True, True),
    (WAIT_ON_CONDITION, "c = threading.Condition()\nwith c as d:\n    d.wait()", True, True),
    (WAIT_ON_CONDITION, "class A:\n    def __init__(self):\n        self.c = threading.Condition()\n    def f(self):\n        self.c.wait()", True, True),
    (WAIT_ON_CONDITION, "class A:\n    c = threading.Condition()\nA.c.wait()", True, True),
    (WAIT_ON_CONDITION, "class A:\n    def __init__(self):\n        self.c = threading.Condition()\n        self.c.x.wait()", False, False),
    (WAIT_ON_CONDITION, "def f(c: threading.Condition):\n    c.wait()", True, True),
    (WAIT_ON_CONDITION, "def f(c: threading.Event):\n    c.wait()\nthreading.Condition()", False, False),
    (WAIT_ON_CONDITION, "c = threading.Condition()\ndef work(x):\n    x.wait()\nthreading.Thread(target=work, args=(c,))", True, True),
    (WAIT_ON_CONDITION, "c = threading.Condition()\ndef work(x):\n    x.wait()", False, False),
    (WAIT_ON_CONDITION, "class C(threading.Condition):\n    def f(self):\n        self.wait()", False, True),  # not subclassable for the model
    (Methods("start", on=frozenset({"threading.Thread"})), "class W(threading.Thread):\n    def go(self):\n        self.start()", True, True),
    (Methods("start", on=frozenset({"threading.Thread"})), "class W(threading.Thread):\n    pass\nclass V:\n    def go(this):\n        this.x.start()", False, False),
    (WAIT_ON_CONDITION, "conds = [threading.Condition()]\nconds[0].wait()", True, True),
    (WAIT_ON_CONDITION, "conds = [threading.Condition()]\nfor c in conds:\n    c.wait()", True, True),
    (WAIT_ON_CONDITION, "threading.Condition().wait()", True, True),
    (WAIT_ON_CONDITION, "c = threading.Condition()\nc, d = d, c\nd.wait()", False, False),
    (WAIT_ON_CONDITION, "asyncio = load('asyncio')\nthreading.Condition()\nasyncio.wait()", False, False),
    (UNTIMED, "c.wait()", True, True),
    (UNTIMED, "c.wait(None)", True, True),
    (UNTIMED, "c.wait(timeout)", True, True),
    (UNTIMED, "c.wait(*args)", True, True),
    (UNTIMED, "c.wait(timeout=t)", True, True),
    (UNTIMED, "c.wait(1)", False, False),
    (UNTIMED, "c.wait(t, 0.5)", False, False),
    (UNTIMED, "c.wait(self.timeout)", False, False),
    (SUSPICIOUS, "if __name__ == '_main_': pass", True, True),
    (SUSPICIOUS, "if '_main_' != __name__: pass", True, True),
    (SUSPICIOUS, "if __name__ is '__main__': pass", True, True),
    (SUSPICIOUS, "if __name__ == '__main__': pass", False, False),
    (SUSPICIOUS, "if cls.__name__ == '_main_': pass", False, False),
    (SUSPICIOUS, "if __name__ == f'_main_': pass", False, False),
    (SUSPICIOUS, "if __name__ == '_main_' == x: pass", False, False),
]


@pytest.mark.parametrize("requirement, code, matches, is_possible", CASES)
def test_matches_and_possible_agree(requirement: Any, code: str, matches: bool, is_possible: bool) -> None:
    source = IMPORTS + code + "\n"
    assert bool(matched(requirement, source)) is matches
    assert possible(requirement, source) is is_possible


POSSIBLE_ONLY = [
    # Requirements whose constraints the visitor checks itself (where a call stands, what
    # surrounds it): only the CPython side is asked.
    (Methods("wait", outside=("own while",)), "c.wait()", True),
    (Methods("wait", outside=("own while",)), "while x:\n    c.wait()", False),
    (Methods("wait", outside=("own while",)), "while c.wait(1):\n    pass", False),
    (Methods("wait", outside=("own while",)), "while x:\n    pass\nelse:\n    c.wait()", False),
    (Methods("wait", outside=("own while",)), "while x:\n    def f():\n        c.wait()", True),
    (Methods("wait", outside=("own while",)), "while x:\n    f = lambda: c.wait()", True),
    (Methods("wait", outside=("own while",)), "while x:\n    class C:\n        c.wait()", True),
    (Methods("wait", outside=("own while",)), "def f():\n    while x:\n        y = [c.wait() for _ in z]", False),
    (Calls("threading.Lock", used_as="with item"), "with threading.Lock(): pass", True),
    (Calls("threading.Lock", used_as="with item"), "with threading.Lock() as l, x: pass", True),
    (Calls("threading.Lock", used_as="with item"), "lock = threading.Lock()\nwith lock: pass", False),
    (Calls("time.sleep", within=("async body",)), "async def f():\n    time.sleep(1)", True),
    (Calls("time.sleep", within=("async body",)), "async def f():\n    def g():\n        time.sleep(1)", False),
    (Calls("time.sleep", within=("async body",)), "async def f():\n    return lambda: time.sleep(1)", False),
    (Calls("time.sleep", within=("async body",)), "def f():\n    time.sleep(1)", False),
    (Calls("threading.Thread", within=("repeating loop",)), "for i in range(9):\n    threading.Thread()", True),
    (Calls("threading.Thread", within=("repeating loop",)), "while True:\n    threading.Thread()", True),
    (Calls("threading.Thread", within=("repeating loop",)), "for t in items:\n    threading.Thread()", False),
    (Calls("threading.Thread", within=("repeating loop",)), "while busy:\n    threading.Thread()", False),
    (Calls("threading.Thread", within=("repeating loop",)), "for i in range(-5, 500, 2):\n    threading.Thread()", True),
    (Calls("threading.Thread", within=("repeating loop",)), "import itertools\nfor i in itertools.count():\n    threading.Thread()", True),
    (Calls("threading.Thread", within=("repeating loop",)), "from itertools import count as c\nfor i in c(5):\n    threading.Thread()", True),
    (Calls("threading.Thread", within=("repeating loop",)), "for i in range(n):\n    threading.Thread()", False),
    (Calls("threading.Thread", within=("repeating loop",)), "for i in range(10**6):\n    threading.Thread()", True),
    (Calls("threading.Thread", within=("repeating loop",)), "for i in range(2 * -n):\n    threading.Thread()", False),
    (Calls("threading.Thread", within=("repeating loop",)), "for x in make():\n    threading.Thread()", False),
    (Calls("time.sleep", through_modules=True), "time.sleep(1)", True),
    (Calls("time.sleep", through_modules=True), "import time as t\nt.sleep(1)", True),
    (Calls("time.sleep", through_modules=True), "from time import sleep\nsleep(1)", True),
    (Calls("time.sleep", through_modules=True), "obj.sleep(1)", False),
    (Calls("asyncio.ensure_future", through_modules=True), "asyncio.tasks.ensure_future(c)", True),
    (Syntax("async yield in with"), "async def f():\n    with x:\n        yield 1", True),
    (Syntax("async yield in with"), "async def f():\n    async with x:\n        if y:\n            z = yield", True),
    (Syntax("async yield in with"), "async def f():\n    with x:\n        pass\n    yield 1", False),
    (Syntax("async yield in with"), "async def f():\n    with x:\n        def g():\n            yield 1", False),
    (Syntax("async yield in with"), "async def f():\n    with x:\n        return lambda: (yield)", False),
    (Syntax("async yield in with"), "def f():\n    with x:\n        yield 1", False),
    (AtImport(Calls("threading.Thread")), "threading.Thread()", True),
    (AtImport(Calls("threading.Thread")), "class C:\n    t = threading.Thread()", True),
    (AtImport(Calls("threading.Thread")), "def f():\n    threading.Thread()", False),
    (AtImport(Calls("threading.Thread")), "def f():\n    threading.Thread()\nf()", True),
    (AtImport(Calls("threading.Thread")), "def f():\n    threading.Thread()\ndef g():\n    f()\ng()", True),
    (AtImport(Calls("threading.Thread")), "def f():\n    threading.Thread()\ndef g():\n    f()", False),
    (AtImport(Calls("threading.Thread")), "def f():\n    def inner():\n        threading.Thread()\nf()", True),
    (AtImport(Calls("threading.Thread")), "def f():\n    threading.Thread()\ndef g():\n    return lambda: f()", True),
    (AtImport(Calls("threading.Thread")), "class C:\n    def f(self):\n        threading.Thread()", False),
    (AtImport(Calls("threading.Thread")), "def f():\n    threading.Thread()\nx.f()", False),
    (Calls("threading.Thread", unless_beside=("wait",)), "threading.Thread()", True),
    (Calls("threading.Thread", unless_beside=("wait",)), "threading.Thread()\nhelper.wait()", False),
    (Calls("threading.Thread", unless_beside=("wait",)), "threading.Thread()\nmake().wait()", True),
    (Calls("threading.Thread", unless_beside=("wait",)), "class C:\n    def f(self):\n        threading.Thread()\n    def g(self):\n        wait()", False),
    (Calls("threading.Thread", unless_beside=("wait",)), "class C:\n    def f(self):\n        threading.Thread()\nclass D:\n    def g(self):\n        wait()", True),
    (Calls("threading.Thread", unless_beside=("wait",)), "class C:\n    class D:\n        def g(self):\n            wait()\n    def f(self):\n        threading.Thread()", True),
    (Calls("threading.Thread", unless_beside=("wait",)), "class C:\n    def f(self):\n        threading.Thread()\nwait()", True),
    (Stores("daemon"), "t.daemon = True", True),
    (Stores("daemon"), "daemon = True", False),
    (Subclasses("threading.Thread", overriding="__init__", calling_base=False), "class W(threading.Thread):\n    def __init__(self): pass", True),
    (Subclasses("threading.Thread", overriding="__init__", calling_base=False), "class W(threading.Thread):\n    def __init__(self):\n        super().__init__()", False),
    (Subclasses("threading.Thread", overriding="__init__", calling_base=False), "class W(threading.Thread):\n    def run(self): pass", False),
    (Subclasses("threading.Thread", overriding="__init__", calling_base=False), "class V(threading.Thread): pass\nclass W(V):\n    def __init__(self): pass", True),
    (Subclasses("threading.Thread", overriding="__init__", calling_base=False), "class W(threading.Thread):\n    def __init__(self):\n        super(W).__init__()", True),
    (Subclasses("threading.Thread", overriding="__init__", calling_base=False), "class W(threading.Thread):\n    def __init__(self):\n        super(W, self).__init__()", False),
    (Subclasses("threading.Thread", overriding="__init__"), "class W(threading.Thread):\n    def __init__(self):\n        super().__init__()", True),
]


@pytest.mark.parametrize("requirement, code, is_possible", POSSIBLE_ONLY)
def test_possible(requirement: Requirement, code: str, is_possible: bool) -> None:
    assert possible(requirement, IMPORTS + code + "\n") is is_possible


START_JOIN = InOrder(Methods("start", statement=True), Methods("join", statement=True), block="loop")
START_THEN_DAEMON = InOrder(
    Methods("start", statement=True), Either(Methods("setDaemon", statement=True), Stores("daemon")),
    block="scope", same_receiver="expression",
)


@pytest.mark.parametrize(
    "requirement, code, is_possible",
    [
        (START_JOIN, "for x in xs:\n    t = make(x)\n    t.start()\n    t.join()", True),
        (START_JOIN, "while x:\n    t.start(); t.join()", True),
        (START_JOIN, "for x in xs:\n    t.start()\n    u.join()", False),
        (START_JOIN, "for x in xs:\n    t.join()\n    t.start()", False),
        (START_JOIN, "for x in xs:\n    t.start()\nt.join()", False),
        (START_JOIN, "for x in xs:\n    t.start()\n    if x:\n        t.join()", False),
        (START_THEN_DAEMON, "w.t.start()\nw.t.daemon = True", True),
        (START_THEN_DAEMON, "t.start()\nt.setDaemon(True)", True),
        (START_THEN_DAEMON, "t.daemon = True\nt.start()", False),
        (START_THEN_DAEMON, "t.start()\nu.daemon = True", False),
        (START_THEN_DAEMON, "def f():\n    t.start()\n    if x:\n        t.daemon = True", True),
        (START_THEN_DAEMON, "t.start()\ndef later():\n    t.daemon = True", True),
        (START_THEN_DAEMON, "def f():\n    t.start()\ndef g():\n    t.daemon = True", False),
        (START_THEN_DAEMON, "def f():\n    self.start()\nclass T:\n    def __init__(self):\n        self.daemon = True", False),
        (START_THEN_DAEMON, "t.start()\ndef later():\n    def inner():\n        t.daemon = True", False),
    ],
)
def test_in_order(requirement: Requirement, code: str, is_possible: bool) -> None:
    assert possible(requirement, IMPORTS + code + "\n") is is_possible


def test_an_option_widens_only_as_its_test_says() -> None:
    few = Option("max-threads", lambda limit: limit < 1)
    source = IMPORTS + "pass\n"
    assert possible(few, source, {"max-threads": 0}) is True
    assert possible(few, source, {"max-threads": 5}) is False
    assert possible(few, source, {}) is True  # not told: maybe
    # In an `Either`, an option has no byte test to offer: the alternative always passes it.
    either = Either(Calls("threading.Thread"), few)
    (test,) = either.triggers()
    assert trigger_matches(compile_trigger(test), b"nothing of the kind")


def test_unknown_words_are_refused() -> None:
    with pytest.raises(ValueError):
        Calls("threading.Thread", used_as="argument")
    with pytest.raises(ValueError):
        Calls("threading.Thread", within=("forever",))
    with pytest.raises(ValueError):
        InOrder(Methods("start"), Methods("join"), block="function")
