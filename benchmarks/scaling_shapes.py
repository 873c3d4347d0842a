"""Time on generated files of N, 2N and 4N repetitions of shapes that were once quadratic
(a profiling aid, not a test): the time per repetition should stay flat as N grows.

    python benchmarks/scaling_shapes.py [N]

Shapes: N defs each taking a lock and calling a deprecated alias (findings in every def:
positions and CCL203's gate); N module-level `threading.Lock().acquire()` statements
(CCL201's look after each acquire); N acquires of one lock at module level and N in one def
(the lock walk of the project summary, and the scope walks per acquire).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict

SHAPES: Dict[str, Callable[[int], str]] = {
    "defs with findings": lambda n: "import threading\nlock = threading.Lock()\n"
    + "".join(f"\ndef f{i}():\n    lock.acquire()\n    threading.currentThread()\n" for i in range(n)),
    "module-level acquires of new locks": lambda n: "import threading\n" + "threading.Lock().acquire()\n" * n,
    "acquires of one lock": lambda n: "import threading\nlock = threading.Lock()\n"
    + "lock.acquire()\n" * n + "def f():\n" + "    lock.acquire()\n" * n,
}


def main() -> int:
    base = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as directory:
        for name, make in SHAPES.items():
            row = []
            for n in (base, 2 * base, 4 * base):
                path = Path(directory, "shape.py")
                path.write_text(make(n))
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "conclint", "--no-cache", "--quiet", "--exit-zero", str(path)],
                    check=True, capture_output=True,
                )
                elapsed = time.perf_counter() - start
                row.append(f"{n}: {elapsed:.2f} s ({1000 * elapsed / n:.2f} ms each)")
            print(f"{name:36} " + "   ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
