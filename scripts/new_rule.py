"""Start a new rule: its module, its page and its fixture, ready for the registry.

    python scripts/new_rule.py CCL406 kebab-name [--area coroutines] [--fix safe|unsafe] [--root PATH]

Creates, in the checkout at ``--root`` (default: the one holding this script):

  src/conclint/rules/cclNNN_snake_name.py   the Rule subclass: code, name, a placeholder
                                             message, a one-line docstring, an ``interest``
                                             and a ``visit_Call`` that reports nothing yet
  rules/CCLNNN.md                            the page, every section the tests require
  tests/fixtures/<area>/cclNNN_snake_name.py the fixture (and its ``.fixed.py`` twin with --fix)

The files pass the registry and architecture tests and the page structure test as they are.
What only the contributor can write is marked ``TODO(new_rule)``; two tests fail until it is
written: ``test_page_examples_behave_as_documented[CCLNNN]`` (the page's Example must mark a
finding the rule reports) and ``test_no_placeholders_of_new_rule_are_left`` (which lists every
placeholder left). The area defaults to the code's hundreds (1 processes, 2 locks, 3 threads,
4 coroutines). An existing code or name, or a file that would be overwritten, is refused:
nothing is written then. Exits 0 on success, 2 on a refusal.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

PLACEHOLDER = "TODO(new_rule)"
# As conclint.rule checks them when a rule class is defined.
CODE_RE = re.compile(r"^CCL\d{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# What rules/__init__.py registers: the module file names.
MODULE_RE = re.compile(r"^(ccl\d{3})_([a-z0-9_]+)\.py$")
RESERVED_CODES = {"CCL000": "the code of files that cannot be read or parsed"}
AREA_OF_HUNDREDS = {"1": "processes", "2": "locks", "3": "threads", "4": "coroutines"}
# Names the generated module imports or defines: a rule class must not take one.
TAKEN_CLASS_NAMES = frozenset({"Rule", "Applicability", "Interest", "Imports", "Calls", "Methods", "Syntax", "TARGET"})


@dataclass(frozen=True)
class Area:
    """What a new rule of an area starts with: the import its findings need, the calls it
    looks at, and any further requirement, all placeholders to change."""

    modules: Tuple[str, ...]
    target: str  # a Calls(...) or Methods(...) the visitor asks too
    extra: Tuple[str, ...] = ()  # further requirements of the interest


AREAS: Dict[str, Area] = {
    "processes": Area(("multiprocessing",), 'Calls("multiprocessing.Process")'),
    "locks": Area(("threading",), 'Methods("acquire")'),
    "threads": Area(("threading",), 'Calls("threading.Thread")'),
    "coroutines": Area(("asyncio",), 'Calls("asyncio.create_task")', ('Syntax("async def")',)),
}
FIXES = {"safe": "SAFE", "unsafe": "UNSAFE"}


class Refused(Exception):
    """Why nothing was created."""


@dataclass(frozen=True)
class NewRule:
    code: str  # CCL406
    name: str  # kebab-name
    area: str
    fix: Optional[str]  # "safe", "unsafe" or None

    @property
    def stem(self) -> str:
        return f"{self.code.lower()}_{self.name.replace('-', '_')}"

    @property
    def class_name(self) -> str:
        return class_name_of(self.name)


def class_name_of(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def existing_rules(root: Path) -> Dict[str, str]:
    """Code -> name of the rules of the checkout at ``root``, from the module file names (as
    ``conclint.rules.catalogue`` reads them: nothing is imported)."""
    out = {}
    for path in (root / "src" / "conclint" / "rules").glob("ccl*.py"):
        match = MODULE_RE.match(path.name)
        if match:
            out[match.group(1).upper()] = match.group(2).replace("_", "-")
    return out


def check(root: Path, code: str, name: str, area: Optional[str], fix: Optional[str]) -> NewRule:
    """The rule to create; raises ``Refused`` with the reason when it must not be."""
    if not (root / "src" / "conclint" / "rules").is_dir():
        raise Refused(f"{root} is not a conclint checkout: it has no src/conclint/rules")
    code = code.upper()
    if not CODE_RE.match(code):
        raise Refused(f"code {code!r}: must be CCL and three digits, such as CCL406")
    if code in RESERVED_CODES:
        raise Refused(f"code {code} is reserved: {RESERVED_CODES[code]}")
    if not NAME_RE.match(name):
        raise Refused(f"name {name!r}: must be kebab-case (lowercase words and digits joined by '-'), such as async-busy-wait")
    if class_name_of(name) in TAKEN_CLASS_NAMES:
        raise Refused(f"name {name!r}: its class would be {class_name_of(name)}, a name the rule module uses; choose another")
    rules = existing_rules(root)
    if code in rules:
        raise Refused(f"code {code} is taken by {rules[code]}")
    taken = {n: c for c, n in rules.items()}
    if name in taken:
        raise Refused(f"name {name} is taken by {taken[name]}")
    implied = AREA_OF_HUNDREDS.get(code[3])
    if area is None:
        if implied is None:
            raise Refused(f"{code}: no area goes with {code[:4]}xx codes; give one with --area")
        area = implied
    elif implied is not None and area != implied:
        raise Refused(f"{code} is a code of {implied} ({code[:4]}xx), not of {area}: change the code or the area")
    new = NewRule(code, name, area, fix)
    existing = [path for path in files(root, new) if path.exists()]
    if existing:
        raise Refused("would overwrite " + ", ".join(str(p.relative_to(root)) for p in existing))
    return new


def files(root: Path, new: NewRule) -> List[Path]:
    out = [
        root / "src" / "conclint" / "rules" / f"{new.stem}.py",
        root / "rules" / f"{new.code}.md",
        root / "tests" / "fixtures" / new.area / f"{new.stem}.py",
    ]
    if new.fix:
        out.append(root / "tests" / "fixtures" / new.area / f"{new.stem}.fixed.py")
    return out


# ---------------------------------------------------------------------------- the files
def rule_module(new: NewRule) -> str:
    area = AREAS[new.area]
    vocabulary = sorted({"Interest", "Imports", area.target.split("(")[0], *(e.split("(")[0] for e in area.extra)})
    rule_api = "Applicability, Rule" if new.fix else "Rule"
    modules = ", ".join(f'"{m}"' for m in area.modules)
    requirements = ", ".join([f"Imports({modules})", *area.extra, "TARGET"])
    fix_line = f"    fix = Applicability.{FIXES[new.fix]}\n" if new.fix else ""
    if new.fix:
        report = (
            "        # and report it with its fix: self.report(node, replacement=new_node,\n"
            '        # fix_message="...") (builders in conclint.fixes; a fix that drops a comment\n'
            "        # becomes unsafe by itself). Without a fix here: self.report(node).\n"
        )
    else:
        report = "        # and report it: self.report(node), or self.report(node, \"a message of its own\").\n"
    return f'''"""{PLACEHOLDER}: the pattern {new.code} flags, in one line."""

from __future__ import annotations

import libcst as cst

from conclint.interest import {", ".join(vocabulary)}
from conclint.rule import {rule_api}

# What the rule looks at. The interest below declares it once: the engine derives both gates
# from it (the byte triggers, and the check of CPython's tree before LibCST parses), and the
# visitor asks the same object whether a node is one it cares about.
# {PLACEHOLDER}: what to look at: Calls("threading.Thread", ...) (canonical names),
# Methods("acquire", on=TYPES), Holds(*TYPES), ... (CONTRIBUTING.md, "Declaring the interest").
TARGET = {area.target}


class {new.class_name}(Rule):
    """{PLACEHOLDER}: what the rule flags, in one line."""

    code = "{new.code}"
    name = "{new.name}"
    message = "{PLACEHOLDER}: what is wrong and what to do instead, in one line"
{fix_line}    # {PLACEHOLDER}: every requirement a file must meet for a finding. Each is a necessary
    # condition: a file that misses one is skipped before it is parsed.
    interest = Interest({requirements})

    def visit_Call(self, node: cst.Call) -> None:
        if not TARGET.matches(self.sem, node):
            return
        # {PLACEHOLDER}: decide whether this call is a finding (self.sem tells what names and
        # receivers are: qualname, type_of, in_async_function, stack, ...),
{report}'''


def page(new: NewRule, imports: str) -> str:
    if new.fix == "safe":
        fix = f"The fix is safe. {PLACEHOLDER}: what it changes, and why the program behaves the same otherwise."
    elif new.fix == "unsafe":
        fix = f"The fix is unsafe (applied with `--unsafe-fixes`). {PLACEHOLDER}: what it changes, and what behaviour it may change."
    else:
        fix = f"No fix. {PLACEHOLDER}: why the right code cannot be written for the user."
    fixed = ""
    if new.fix:
        fixed = f"""
```python fixed
{imports}

# {PLACEHOLDER}: exactly what `conclint --fix --unsafe-fixes` writes for the Example.
```
"""
    return f"""# {new.code}: {new.name}

## What it does
{PLACEHOLDER}: what the rule flags, and what it leaves alone. This first paragraph is the
rule's description in SARIF reports.

## Why is this bad?
{PLACEHOLDER}: what goes wrong when the code runs, and when.

## Example
```python bad
{imports}

# {PLACEHOLDER}: code the rule flags; end each line where a finding starts with "# error: {new.code}".
```

## Use instead
```python good
{imports}

# {PLACEHOLDER}: the same code written right (it must be clean under every rule).
```

## Fix
{fix}
{fixed}"""


def fixture(new: NewRule, imports: str) -> str:
    twin = ""
    if new.fix:
        twin = (
            f"\n# The {new.stem}.fixed.py twin holds exactly what `--fix --unsafe-fixes` writes for this\n"
            "# file, with markers for what remains."
        )
    return f"""# {PLACEHOLDER}: cases of {new.code} ({new.name}). Findings: end each line where one starts
# with "# error: {new.code}". Non-findings too: look-alikes, aliases (import x as y), shadowed
# names, nested defs, star imports. Each form in a def of its own.{twin}
{imports}
"""


def contents(new: NewRule) -> List[str]:
    imports = "\n".join(f"import {m}" for m in AREAS[new.area].modules)
    out = [rule_module(new), page(new, imports), fixture(new, imports)]
    if new.fix:
        out.append(out[-1])  # nothing is fixed yet: the fixed output is the input
    return out


def create(root: Path, new: NewRule) -> List[Path]:
    """Write the files; none are left behind if one cannot be."""
    written: List[Path] = []
    try:
        for path, text in zip(files(root, new), contents(new)):
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8", newline="\n") as handle:
                written.append(path)
                handle.write(text)
    except OSError:
        for path in written:
            path.unlink()
        raise
    return written


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("code", help="the new code, such as CCL406")
    parser.add_argument("name", help="the new name, kebab-case, such as async-busy-wait")
    parser.add_argument("--area", choices=sorted(AREAS), help="the fixture folder (default: from the code's hundreds)")
    parser.add_argument("--fix", choices=sorted(FIXES), help="the rule offers a fix of this applicability")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="the checkout (default: this one)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        new = check(root, args.code, args.name, args.area, args.fix)
        written = create(root, new)
    except (Refused, OSError) as exc:
        print(f"new_rule: {exc}; nothing was created", file=sys.stderr)
        return 2
    print(f"Created {new.code} {new.name}:")
    for path in written:
        print(f"  {path.relative_to(root)}")
    fixture_id = f"{new.area}/{new.stem}.py"
    print(
        f"""
Fill in what is marked {PLACEHOLDER} (CONTRIBUTING.md, "Adding a rule"): the interest and the
visitor, the message and docstring, the page (its Example must mark a finding the rule
reports), the fixture's cases. Until then these fail, and say what is left:

  pytest tests/test_registry.py tests/test_architecture.py \\
      tests/test_new_rule.py::test_no_placeholders_of_new_rule_are_left \\
      "tests/test_rule_pages.py::test_page_examples_behave_as_documented[{new.code}]" \\
      "tests/test_fixtures.py::test_fixture_findings_match_markers[{fixture_id}]\""""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
