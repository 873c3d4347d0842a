"""Hooks for tests, driven by environment variables; unset (always, outside tests), each
costs one lookup.

``raise_on(path)`` (``CONCLINT_TEST_RAISE_ON``): analysing a path that contains the value
raises, as a bug in a rule would (an internal error: exit code 2).

``worker_task(path)``, called in worker processes only, never the main one: a worker dies on
the spot (``CONCLINT_TEST_CRASH_ON``: the path contains the value), as on a crash in the
native parser; or sleeps the value in seconds before each task (``CONCLINT_TEST_SLOW_WORKER``).

``pause(stage)``: a test can act in the window a race would need, deterministically.
With ``CONCLINT_TEST_PAUSE`` naming a directory whose file ``stage`` names one of the stages
below, conclint creates ``paused`` in it on reaching that stage and waits (60 s at most)
until ``resume`` exists:

- ``read``: a file to lint was just read (before it is analysed and cached);
- ``check``: a fixed file is written to its temporary file, right before the last check
  that the original still holds what was fixed;
- ``swap``: after that check, right before the fixed file takes the original's place.

``no_exchange()`` (``CONCLINT_TEST_NO_EXCHANGE``): writes take the path of file systems that
cannot swap two names atomically (macOS, NFS, FUSE), on any file system.
"""

from __future__ import annotations

import os
import time

PAUSE = "CONCLINT_TEST_PAUSE"
RAISE = "CONCLINT_TEST_RAISE_ON"
CRASH = "CONCLINT_TEST_CRASH_ON"
SLOW = "CONCLINT_TEST_SLOW_WORKER"
NO_EXCHANGE = "CONCLINT_TEST_NO_EXCHANGE"


def no_exchange() -> bool:
    return bool(os.environ.get(NO_EXCHANGE))


def raise_on(path: str) -> None:
    value = os.environ.get(RAISE)
    if value and value in path:
        raise RuntimeError(f"raised by {RAISE}")


def worker_task(path: str) -> None:
    crash_on = os.environ.get(CRASH)
    if crash_on and crash_on in path:
        os._exit(70)
    slow = os.environ.get(SLOW)
    if slow:
        time.sleep(float(slow))


def pause(stage: str) -> None:
    directory = os.environ.get(PAUSE)
    if not directory:
        return
    try:
        with open(os.path.join(directory, "stage"), encoding="utf-8") as handle:
            if handle.read().strip() != stage:
                return
        open(os.path.join(directory, "paused"), "wb").close()
    except OSError:
        return  # not a hook directory: no pause
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(directory, "resume")) and time.monotonic() < deadline:
        time.sleep(0.01)
