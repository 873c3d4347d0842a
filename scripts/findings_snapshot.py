"""Record, or compare against, every finding conclint reports on three corpora: the standard
library of the running Python, the test fixtures, and the code blocks of the rule pages.

    python scripts/findings_snapshot.py --write snapshot.json
    python scripts/findings_snapshot.py --check snapshot.json

A refactoring that must not change behaviour records a snapshot before and checks after.
Findings are compared by path (relative to the corpus), position, code, message and fix
applicability; ``--check`` prints each difference and exits 1 if there is any. Runs the
real CLI, with every rule selected and the cache off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from conclint.docs import code_blocks, pages_dir  # noqa: E402
from conclint.settings import known_codes  # noqa: E402

# Every rule by its code: off-by-default rules too.
EVERY_RULE = ",".join(sorted(known_codes()))

Row = Tuple[str, int, int, str, str, str]


def lint(tree: Path) -> List[Row]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "conclint", "--no-cache", "--select", EVERY_RULE, "--format", "json", "--exit-zero", "."],
        cwd=tree, capture_output=True, text=True, env=env,
    )
    if result.returncode != 0:
        raise SystemExit(f"conclint failed on {tree}: {result.stderr}")
    rows = []
    for f in json.loads(result.stdout):
        fix = f["fix"]["applicability"] if f["fix"] else "-"
        rows.append((os.path.normpath(f["path"]), f["line"], f["column"], f["code"], f["message"], fix))
    return sorted(rows)


def page_examples(into: Path) -> None:
    """Every python block of every rule page as a file of its own."""
    for page in sorted(pages_dir().glob("CCL*.md")):
        for index, (tag, code) in enumerate(code_blocks(page.read_text(encoding="utf-8"))):
            (into / f"{page.stem}_{index}_{tag}.py").write_text(code, encoding="utf-8")


def corpora() -> Dict[str, List[Row]]:
    out = {"stdlib": lint(Path(sysconfig.get_paths()["stdlib"])), "fixtures": lint(ROOT / "tests" / "fixtures")}
    with tempfile.TemporaryDirectory() as directory:
        page_examples(Path(directory))
        out["pages"] = lint(Path(directory))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, metavar="FILE")
    group.add_argument("--check", type=Path, metavar="FILE")
    args = parser.parse_args()
    current = corpora()
    version = sys.version.split()[0]
    if args.write:
        args.write.write_text(json.dumps({"python": version, "corpora": current}, indent=0) + "\n")
        print(", ".join(f"{name}: {len(rows)}" for name, rows in current.items()))
        return 0
    recorded = json.loads(args.check.read_text())
    if recorded["python"] != version:
        print(f"note: recorded with Python {recorded['python']}, checking with {version}")
    differences = 0
    for name, rows in current.items():
        before = {tuple(r) for r in recorded["corpora"].get(name, [])}
        after = set(rows)
        for row in sorted(before - after):
            print(f"{name}: gone: {row}")
        for row in sorted(after - before):
            print(f"{name}: new:  {row}")
        differences += len(before ^ after)
        print(f"{name}: {len(after)} findings, {len(before ^ after)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
