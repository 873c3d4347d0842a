"""Pause points for tests: a test can act in the window a race would need, deterministically.

With ``CONCLINT_TEST_PAUSE`` naming a directory whose file ``stage`` names one of the stages
below, conclint creates ``paused`` in it on reaching that stage and waits (60 s at most)
until ``resume`` exists. Unset (always, outside tests), a pause point costs one lookup.

- ``read``: a file to lint was just read (before it is analysed and cached);
- ``check``: a fixed file is written to its temporary file, right before the last check
  that the original still holds what was fixed;
- ``swap``: after that check, right before the fixed file takes the original's place.
"""

from __future__ import annotations

import os
import time

PAUSE = "CONCLINT_TEST_PAUSE"


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
