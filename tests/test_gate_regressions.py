"""Sources on which a gate once dropped a finding (found by review, each confirmed with the
gates on and off): every rule, gated and ungated, must report the same, and what it reports
is pinned so that the case cannot pass by reporting nothing. Then sources a gate was made to
turn away (where its rule cannot report): it must, or LibCST parses them again for nothing."""

from __future__ import annotations

from typing import List

import pytest

from cases import difference, gated_and_ungated

CASES = [
    # CPython's tree reads names NFKC-normalised (`ｌock` is `lock`); the visitor now does too.
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire()\n    try:\n        pass\n"
        "    finally:\n        \uff4cock.release()\n",
        ["CCL207"],
    ),
    (
        "import _thread\nfrom test.support import threading_helper\nclass T:\n    def test(self):\n"
        "        _thread.start_new_thread(print, ())\n        threading_helper.\uff57ait_threads_exit()\n",
        [],
    ),
    # A method's name written with a look-alike letter: the byte triggers look for it as
    # written, so the visitor reads it so too (a fullwidth `ｓetDaemon` is no `setDaemon` call
    # for CCL306, nor `ｒelease` a release for CCL201's pairing); receivers are compared as
    # CPython reads them.
    (
        "import threading\ndef f():\n    t = threading.Thread(target=f)\n    t.start()\n    t.\uff53etDaemon()\n",
        [],
    ),
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire()\n    lock.\uff52elease()\n    work()\n",
        ["CCL201"],
    ),
    # `async def` after a UTF-8 BOM, with lines ended by a lone CR, split by a backslash.
    ("\ufeffasync def f():\n    time.sleep(1)\nimport time\n", ["CCL402"]),
    ("import time\rasync def f():\r    time.sleep(1)\r", ["CCL402"]),
    ("import time\nasync \\\ndef f():\n    time.sleep(1)\n", ["CCL402"]),
    # CCL404's calls: a name past ASCII, a spaced dot, a backslash before the parentheses, lone CRs.
    ("import asyncio\nasync def \u00f1():\n    pass\nasync def main():\n    \u00f1()\n", ["CCL404"]),
    ("import asyncio\nasync def main():\n    asyncio . sleep(1)\n", ["CCL404"]),
    ("async def fetch():\n    pass\nasync def main():\n    fetch \\\n    ()\n", ["CCL404"]),
    ("async def fetch():\r    pass\rasync def main():\r    fetch()\r", ["CCL404"]),
    # CCL102: a near miss of "__main__" by implicit concatenation, on either side; a comment
    # between the operator and the string.
    ('if __name__ == "__main__" "_":\n    pass\n', ["CCL102"]),
    ('if "_" "__main__" == __name__:\n    pass\n', ["CCL102"]),
    ('if __name__ == (  # c\n        "_main_"):\n    pass\n', ["CCL102"]),
    # Found by a review of the eleventh stop's gates. A method's `self` is its first parameter
    # of any kind (`def go(*a)`, `def go(*, a)`), and only a decorator spelled `staticmethod`
    # makes it no method's.
    ("import os, threading\nclass W(threading.Thread):\n    def go(*a):\n        a.start()\n        os.fork()\n", ["CCL110"]),
    ("import os, threading\nclass W(threading.Thread):\n    def go(*, a):\n        a.start()\n        os.fork()\n", ["CCL110"]),
    (
        "import os, threading, builtins\nclass W(threading.Thread):\n    @builtins.staticmethod\n    def go(a):\n"
        "        a.start()\n        os.fork()\n",
        ["CCL110"],
    ),
    ("import threading\nclass W(threading.Thread):\n    def go(*a):\n        x = a\n        x.run()\n", ["CCL305"]),
    (
        "import threading\nclass C:\n    def __init__(self):\n        self.lock = threading.Lock()\n    def g(self):\n"
        "        with self.lock:\n            pass\n    def f(*a):\n        with a.lock:\n            a.g()\n",
        ["CCL203"],
    ),
    # (A second review.) A method's own first parameter named like a lock is one to the lock
    # model (its class derives from no worker type); in a class statement inside the method,
    # or spelled with look-alike letters, `self` is no method's.
    ("import threading\nclass K:\n    def m(lock):\n        lock.acquire()\n        work()\n        lock.release()\n", ["CCL201"]),
    ("import threading\nclass K:\n    async def m(lock):\n        with lock:\n            await x\n", ["CCL208"]),
    ("import threading\nclass K:\n    def go(self: threading.Thread):\n        class Inner:\n            self.run()\n", ["CCL305"]),
    ("import threading\nclass K:\n    def go(self: threading.Thread):\n        @deco(self.run())\n        class Inner: pass\n", ["CCL305"]),
    ("import threading\nself = threading.Thread()\nclass K:\n    def go(\uff53elf):\n        self.run()\n", ["CCL305"]),
    (
        "import threading\nclass K:\n    def __init__(self):\n        self.lock = threading.Lock()\n    def m(self):\n"
        "        self.lock.acquire()\n    def n(self):\n        class Inner:\n            self.lock.release()\n",
        ["CCL201"],
    ),
    # `get_context()` is multiprocessing to the model, kept in a name or not; a starred base
    # is a base.
    (
        "import multiprocessing, threading\ndef main():\n    threading.Thread(target=print).start()\n"
        "    ctx = multiprocessing.get_context()\n    ctx.set_start_method('fork')\n",
        ["CCL110"],
    ),
    (
        "import threading\nimport multiprocessing\ndef main():\n    threading.Thread(target=print).start()\n"
        "    multiprocessing.get_context().get_context('fork')\n",
        ["CCL110"],
    ),
    ("import multiprocessing\ndef f(): pass\nclass W(*multiprocessing.Process): pass\nW(target=f).start()\n", ["CCL101"]),
    # A class's decorators are in the class statement, a scope of CCL204's between the wait and
    # the loop.
    (
        "import threading\ncond = threading.Condition()\ndef f():\n    while True:\n        @deco(cond.wait())\n"
        "        class C:\n            pass\n",
        ["CCL204"],
    ),
    # Names written with look-alike letters are other names to the visitors that compare
    # them as written (CPython reads them NFKC-normalised).
    ("from multiprocessing import Pool\ndef f():\n    p = Pool()\n    \uff50.close()\n", ["CCL106"]),
    ("from multiprocessing import Pool\ndef f():\n    p = Pool()\n    p.\uff43lose()\n", ["CCL106"]),
    ("import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire()\ndef g():\n    \uff4cock.release()\n", ["CCL201"]),
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire()\n    \uff4cock.release()\n"
        "    lock.acquire()\n    lock.release()\n",
        ["CCL203"],
    ),
    # CCL203: a release in a class body inside the def is in a frame of its own.
    (
        "import threading\nclass K:\n    def __init__(self):\n        self.lock = threading.Lock()\n    def f(self):\n"
        "        x=1;self.lock.acquire()\n        class C:\n            self.lock.release()\n        self.lock.acquire()\n"
        "        self.lock.release()\n",
        ["CCL201", "CCL203"],
    ),
    # CCL205: every def of a method's name counts, under `if` too; a decorator of the first
    # method is in the class; a `with` holds its body only up to a release of its lock.
    (
        "import threading\nn = 0\nclass W(threading.Thread):\n    def run(self):\n        global n\n        n += 1\n"
        "    def run(self):\n        pass\n",
        ["CCL205"],
    ),
    (
        "import threading\ndef deco(x): return lambda f: f\nclass K:\n    @deco(threading.Thread(target=self.work))\n"
        "    def m(self): pass\n    def work(self):\n        self.n += 1\n",
        ["CCL205"],
    ),
    (
        "import threading\nclass W:\n    def __init__(self):\n        self.lock = threading.Lock()\n    def work(self):\n"
        "        with self.lock:\n            self.lock.release()\n            try:\n                slow()\n            finally:\n"
        "                self.lock.acquire()\n            self.n += 1\n    def go(self):\n"
        "        threading.Thread(target=self.work).start()\n",
        ["CCL205"],
    ),
    # CCL106's gate: a pool its scope closes or hands on is left to the rule only when another
    # binding of the name comes between; one closed elsewhere is still the rule's to judge.
    (
        "import multiprocessing\ndef f(xs):\n    pool = multiprocessing.Pool()\n    pool.map(g, xs)\n"
        "    pool = multiprocessing.Pool()\n    pool.close()\n",
        ["CCL106"],
    ),
    ("import multiprocessing\ndef f(xs):\n    return multiprocessing.Pool().map(g, xs)\n", ["CCL106"]),
    ("import multiprocessing\npool = multiprocessing.Pool()\ndef stop():\n    pool.terminate()\n", ["CCL101"]),
    (
        "from concurrent.futures import ThreadPoolExecutor\nclass A:\n    def __init__(self):\n"
        "        self.pool = ThreadPoolExecutor()\n    def work(self):\n        self.pool.submit(g)\n",
        ["CCL106", "CCL107"],
    ),
    # CCL205's gate: a Thread subclass's `run` changing its own attributes is no finding, a
    # global it changes is; a thread pool's function is found through the pool's type.
    (
        "import threading\ncount = 0\nclass W(threading.Thread):\n    def run(self):\n        global count\n"
        "        count += 1\n        self.done += 1\n        self.seen[0] += 1\n",
        ["CCL205"],
    ),
    ("import threading\nclass W(threading.Thread):\n    def run(self):\n        self.done += 1\n        self.seen[0] += 1\n", []),
    (
        "from concurrent.futures import ThreadPoolExecutor\ntotals = {}\ndef work(k):\n    totals[k] += 1\n"
        "def main(keys):\n    with ThreadPoolExecutor() as pool:\n        for k in keys:\n            pool.submit(work, k)\n",
        ["CCL107", "CCL205"],
    ),
    (
        "import threading\nclass A:\n    def start(self):\n        threading.Thread(target=self.work).start()\n"
        "    def work(self):\n        self.stats.count += 1\n",
        [],
    ),
    # CCL303 and CCL304 look where each call takes the function and the argument tuple
    # (`Timer(interval, function, args)`, `pool.apply_async(func, args)`, `submit(fn=...)`).
    ("import threading\ndef work():\n    return 1\nthreading.Timer(1.0, work()).start()\n", ["CCL303"]),
    (
        "from concurrent.futures import ThreadPoolExecutor\ndef work():\n    return 1\n"
        "with ThreadPoolExecutor() as ex:\n    future = ex.submit(fn=work())\n",
        ["CCL303"],
    ),
    ("import threading\ndef work(x):\n    pass\nthreading.Timer(1.0, work, (3)).start()\n", ["CCL304"]),
    (
        "import multiprocessing\ndef work(x):\n    pass\nif __name__ == '__main__':\n    with multiprocessing.Pool() as pool:\n"
        "        result = pool.apply_async(work, args=('ab'))\n",
        ["CCL304"],
    ),
    # CCL201's gate: an acquire released later in its def, or a blocking one of a lock that
    # nothing in the file releases, by the rule's key (a `release()` on another object's
    # attribute of the same name does not count).
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire(blocking=True)\n    work()\n",
        ["CCL201"],
    ),
    (
        "import threading\nclass A:\n    def __init__(self):\n        self._lock = threading.Lock()\n"
        "    def f(self):\n        self._lock.acquire()\n        work()\n    def g(self, other):\n        other._lock.release()\n",
        ["CCL201"],
    ),
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    lock.acquire()\n    work()\n    if x:\n        lock.release()\n",
        ["CCL201"],
    ),
    (
        "import threading\nclass A:\n    def __init__(self):\n        self._lock = threading.Lock()\n"
        "    def f(self):\n        self._lock.acquire()\n        work()\n    def g(self):\n        self._lock.release()\n",
        [],
    ),
    # CCL203's gate reads held locks as the rule does: a lock taken in a test is held in the
    # body it guards (alone or in an `and`), after `if not ...: return` to the end; an
    # acquire statement counts as taking it only without arguments, and a call takes what
    # its callee (a module function, a method of the caller's class) takes, transitively.
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    if ready and lock.acquire(False):\n"
        "        try:\n            with lock:\n                pass\n        finally:\n            lock.release()\n",
        ["CCL203"],
    ),
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    if not lock.acquire(False):\n        return\n"
        "    with lock:\n        pass\n    lock.release()\n",
        ["CCL203"],
    ),
    (
        "import threading\nclass A:\n    def __init__(self):\n        self._lock = threading.Lock()\n"
        "    def f(self):\n        with self._lock:\n            self.g()\n    def g(self):\n        self.h()\n"
        "    def h(self):\n        self._lock.acquire()\n        self._lock.release()\n",
        ["CCL203"],
    ),
    (
        "import threading\nlock = threading.Lock()\nif True:\n    def take():\n        with lock:\n            pass\n"
        "def f():\n    lock.acquire()\n    take()\n    lock.release()\n",
        ["CCL201", "CCL203"],
    ),
    # ... and not where the rule does not: another lock taken by the callee, a method of
    # another class of the same name, a timed acquire statement, a lock never released here.
    (
        "import threading\na = threading.Lock()\nb = threading.Lock()\ndef take():\n    with b:\n        pass\n"
        "def f():\n    with a:\n        take()\n        a.acquire(timeout=1)\n",
        [],
    ),
    (
        "import threading\nclass A:\n    lock = threading.Lock()\n    def f(self):\n        with self.lock:\n"
        "            self.g()\n    def g(self):\n        pass\nclass B:\n    def g(self):\n        with self.lock:\n            pass\n",
        [],
    ),
]


@pytest.mark.parametrize("source, codes", CASES)
def test_the_gates_keep_the_finding(source: str, codes: List[str]) -> None:
    gated, ungated = gated_and_ungated(source, {})
    assert gated == ungated, difference(gated, ungated)
    assert sorted({f[0] for f in ungated}) == codes


# (source, the rule whose gate must say no): each a shape a tightening of the gates is about.
TURNED_AWAY = [
    # CCL203: another lock taken by the callee; a method of another class of the same name.
    (
        "import threading\na = threading.Lock()\nb = threading.Lock()\ndef take():\n    with b:\n        pass\n"
        "def f():\n    with a:\n        take()\n        a.acquire(timeout=1)\n",
        "CCL203",
    ),
    (
        "import threading\nclass A:\n    lock = threading.Lock()\n    def f(self):\n        with self.lock:\n"
        "            self.g()\n    def g(self):\n        pass\nclass B:\n    def g(self):\n        with self.lock:\n            pass\n",
        "CCL203",
    ),
    # CCL203: a lock taken in a test is held only in the body it guards.
    (
        "import threading\nlock = threading.Lock()\ndef f():\n    while True:\n        if lock.acquire(False):\n"
        "            try:\n                pass\n            finally:\n                lock.release()\n        with lock:\n            pass\n",
        "CCL203",
    ),
    # CCL201: released by another method of the class.
    (
        "import threading\nclass A:\n    def __init__(self):\n        self._lock = threading.Lock()\n"
        "    def f(self):\n        self._lock.acquire()\n        work()\n    def g(self):\n        self._lock.release()\n",
        "CCL201",
    ),
    # CCL205: a Thread subclass's run changing its own attributes; `self.a.b`.
    ("import threading\nclass W(threading.Thread):\n    def run(self):\n        self.done += 1\n        self.seen[0] += 1\n", "CCL205"),
    (
        "import threading\nclass A:\n    def start(self):\n        threading.Thread(target=self.work).start()\n"
        "    def work(self):\n        self.stats.count += 1\n",
        "CCL205",
    ),
    # CCL106: a pool its scope hands on or closes.
    ("import multiprocessing\ndef f(xs):\n    pool = multiprocessing.Pool()\n    return pool\n", "CCL106"),
    ("import multiprocessing\ndef f(xs):\n    pool = multiprocessing.Pool()\n    pool.map(g, xs)\n    pool.close()\n", "CCL106"),
    # CCL204: a wait in a while of its def; one timed by a number.
    ("import threading\nc = threading.Condition()\ndef f():\n    while not ready:\n        c.wait()\n", "CCL204"),
    ("import threading\nc = threading.Condition()\ndef f():\n    c.wait(1.5)\n", "CCL204"),
    # CCL409: get_event_loop of something not a module.
    ("import asyncio\ndef f(policy):\n    policy.get_event_loop().close()\n", "CCL409"),
    # CCL402: a coroutine calling a `sleep` of its package (a relative import).
    ("import time\nfrom .tasks import sleep\nasync def f():\n    await sleep(0)\n", "CCL402"),
    # CCL303: a call as the iterable of `map`, not as its function.
    (
        "import concurrent.futures\ndef sub(x):\n    return x\nwith concurrent.futures.ThreadPoolExecutor() as tp:\n"
        "    list(tp.map(sub, range(10)))\n",
        "CCL303",
    ),
    # CCL307: a loop whose count is not written out.
    ("import threading\ndef f(n):\n    for i in range(n):\n        threading.Thread(target=f).start()\n", "CCL307"),
]


@pytest.mark.parametrize("source, code", TURNED_AWAY)
def test_the_gates_turn_away_what_their_rule_cannot_report(source: str, code: str) -> None:
    from conclint.analysis.parsing import screen
    from conclint.engine import active_codes, rule_set
    from conclint.settings import Settings

    settings = Settings.default()
    rules = rule_set(settings, active_codes(settings) | {code})
    (rule,) = [c for c in rules.classes if c.code == code]
    assert rule in rules.trigger.matching(source.encode()), "the case must pass the byte triggers, or it tests nothing"
    facts = screen(source.encode()).facts
    assert facts is not None
    assert not rule.could_report(facts, rules.options[rule])
    gated, ungated = gated_and_ungated(source, {})
    assert gated == ungated, difference(gated, ungated)
    assert code not in {f[0] for f in ungated}
