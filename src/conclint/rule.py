"""The rule API: a rule is one small LibCST batchable visitor that reports findings."""

from __future__ import annotations

import enum
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, Union

import libcst as cst

if TYPE_CHECKING:
    from conclint.interest import Interest
    from conclint.analysis.facts import Facts
    from conclint.analysis import Semantic
    from conclint.analysis.project import Project, Site


class Applicability(str, enum.Enum):
    """How far a fix can be trusted.

    SAFE keeps the program's behaviour except for removing the bug; UNSAFE changes
    behaviour (for example what happens when an exception is raised) and is applied
    only with --unsafe-fixes.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel[cst.CSTNode]]


@dataclass
class Fix:
    """Tree changes that remove one finding: original node -> replacement."""

    changes: Dict[cst.CSTNode, Replacement]
    applicability: Applicability
    message: str
    # Modules a replacement refers to by name and that must be imported (``import X``).
    add_imports: Tuple[str, ...] = ()
    # Imports the fix may leave unused (it replaced their last use), as (module, name or None,
    # alias or None): ``import time`` is ("time", None, None), ``from time import sleep as nap``
    # ("time", "sleep", "nap"). Each goes when nothing in the fixed module uses it any more.
    drop_imports: Tuple[Tuple[str, Optional[str], Optional[str]], ...] = ()


@dataclass
class Report:
    """A finding as a rule raised it, before positions are computed."""

    code: str
    message: str
    node: cst.CSTNode
    fix: Optional[Fix] = None
    # The statements holding ``node`` when known (reports made during the traversal): the
    # top-level one, then each def or class directly in the body of the one before. Positions
    # are computed for the last one only.
    statement: Tuple[cst.CSTNode, ...] = ()
    # Other places the finding concerns, each with what happens there (``Finding.related``).
    related: Tuple[Tuple[cst.CSTNode, str], ...] = ()


_DEFS = (cst.FunctionDef, cst.ClassDef)


def statement_chain(stack: Sequence[cst.CSTNode]) -> Tuple[cst.CSTNode, ...]:
    """For a traversal ``stack`` (module first): the top-level statement, then every def or
    class that is a statement of the body of the one before it."""
    if len(stack) < 2:
        return ()
    chain = [stack[1]]
    i = 1
    while (
        i + 2 < len(stack)
        and isinstance(stack[i], _DEFS)
        and isinstance(stack[i + 1], cst.IndentedBlock)
        and isinstance(stack[i + 2], _DEFS)
    ):
        chain.append(stack[i + 2])
        i += 2
    return tuple(chain)


_RULES: Dict[str, Type[Rule]] = {}
_CODE_RE = re.compile(r"^CCL\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Rule(cst.BatchableCSTVisitor):
    """Base class of every rule.

    Subclasses set the class attributes below and define ``visit_<Node>`` /
    ``leave_<Node>`` methods like any LibCST visitor; all enabled rules run
    together in one traversal.  ``self.sem`` answers what names and receivers
    mean (imports, aliases, known thread/lock/process objects) at the node
    being visited.  Subclassing registers the rule.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    default_enabled: ClassVar[bool] = True
    # Applicability of the rule's fix, or None when it offers none.
    fix: ClassVar[Optional[Applicability]] = None
    # What the rule looks at (``conclint.interest``): the engine derives both gates from it,
    # and the rule's visitor asks the same objects whether a node is one it cares about.
    interest: ClassVar[Optional["Interest"]] = None
    # The byte-level gate, derived from ``interest`` (never written by hand): a file is parsed
    # for this rule only if its bytes match all of these.
    triggers: ClassVar[Sequence[Any]] = ()
    # Options users may set under [tool.conclint.<rule-name>]; values are defaults.
    options: ClassVar[Mapping[str, Any]] = {}
    # Set on each class by ``callback_names``, the first time it is asked.
    _callback_names: ClassVar[Tuple[str, ...]]
    # A rule of the whole project (``ProjectRule``): never run on one file's tree.
    project: ClassVar[bool] = False
    # A per-file rule that also reports, in the project phase, what it can only see across
    # modules: it defines ``check`` as a ``ProjectRule`` does (CCL404: another module's
    # coroutine function called without ``await``).
    project_part: ClassVar[bool] = False
    # The key of the file summary listing where that part may report (``analysis.project``:
    # "w", "g", "s", "r"): CCL900 leaves the rule's noqa codes alone on those lines.
    project_sites: ClassVar[str] = ""
    # A rule about the file's ``# noqa`` comments (``NoqaRule``): checked by the engine after
    # noqa is applied, never run on the tree.
    noqa_check: ClassVar[bool] = False

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:  # a base for rules, not a rule
            return
        if not _CODE_RE.match(getattr(cls, "code", "")):
            raise TypeError(f"{cls.__name__}: code must look like CCL123")
        if not _NAME_RE.match(getattr(cls, "name", "")):
            raise TypeError(f"{cls.__name__}: name must be kebab-case")
        if not getattr(cls, "message", ""):
            raise TypeError(f"{cls.__name__}: message is required")
        if cls.code in _RULES and _RULES[cls.code] is not cls:
            raise TypeError(f"duplicate rule code {cls.code}")
        if "triggers" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: declare `interest`; triggers are derived from it")
        if cls.interest is not None:
            cls.triggers = cls.interest.triggers()
        _RULES[cls.code] = cls

    @classmethod
    def could_report(cls, facts: "Facts", options: Mapping[str, Any]) -> bool:
        """Whether a file whose CPython tree shows ``facts`` may get a finding from this rule
        (configured with ``options``: its ``options`` defaults merged with the user's, as the
        instance gets them): the second gate, checked before LibCST parses what passed
        ``triggers``. Like the triggers it must be a necessary condition. Derived from
        ``interest``; a rule whose findings need more than its interest shows may write its
        own (the exception: ``hand_written_gate`` finds those, and the per-case gate test
        checks them like the derived ones)."""
        return cls.interest is None or cls.interest.possible(facts, options)

    @classmethod
    def callback_names(cls) -> Tuple[str, ...]:
        """The ``visit_<Node>``/``leave_<Node>`` methods this rule defines (LibCST's empty
        stubs excluded), found once per class: ``get_visitors()`` inspects every member of
        the instance and cost 1 ms per rule and file."""
        names = cls.__dict__.get("_callback_names")
        if names is None:
            names = tuple(
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(getattr(cls, name))
                and not getattr(getattr(cls, name), "_is_no_op", False)
            )
            cls._callback_names = names
        return names

    def __init__(self, sem: "Semantic", settings: Mapping[str, Any]) -> None:
        super().__init__()
        self.sem = sem
        self.settings = dict(self.options)
        self.settings.update(settings)
        self.reports: List[Report] = []

    def report(
        self,
        node: cst.CSTNode,
        message: Optional[str] = None,
        *,
        replacement: Optional[Replacement] = None,
        changes: Optional[Dict[cst.CSTNode, Replacement]] = None,
        fix_message: Optional[str] = None,
        applicability: Optional[Applicability] = None,
        add_imports: Tuple[str, ...] = (),
        drop_imports: Tuple[Tuple[str, Optional[str], Optional[str]], ...] = (),
        related: Sequence[Tuple[cst.CSTNode, str]] = (),
    ) -> None:
        """Record a finding at ``node``; ``replacement``/``changes`` make it fixable;
        ``related`` are other places it concerns, each with a message (shown with the
        finding, and as SARIF ``relatedLocations``)."""
        fix = None
        if replacement is not None:
            changes = {node: replacement}
        if changes:
            applicability = applicability or self.fix
            if applicability is None:
                raise TypeError(f"{self.code} reports a fix but declares no applicability")
            fix_message = fix_message or "Apply the suggested fix"
            lost = lost_comments(changes)
            if lost:
                # Comments are the user's words: a fix that drops one is never safe, whichever
                # rule made it, and says what it drops.
                applicability = Applicability.UNSAFE
                fix_message += f" (removes {lost} comment{'s' if lost != 1 else ''})"
            fix = Fix(
                changes=changes,
                applicability=Applicability(applicability),
                message=fix_message,
                add_imports=add_imports,
                drop_imports=drop_imports,
            )
        self.reports.append(
            Report(self.code, message or self.message, node, fix, statement_chain(self.sem.stack), tuple(related))
        )


def related_line(index: int = 0) -> str:
    """A mark for a report's message: the engine writes the line of the report's
    ``related[index]`` in its place (positions are known only after the traversal)."""
    return f"\x00related-line-{index}\x00"


@dataclass(frozen=True)
class ProjectReport:
    """A finding of a project rule: where, what, and the other places it concerns (each
    with a message of its own)."""

    code: str
    message: str
    site: "Site"
    related: Tuple[Tuple["Site", str], ...] = ()


class ProjectRule(Rule, abstract=True):
    """A rule of the whole project: it reads the summaries of every linted file
    (``conclint.analysis.project.Project``) after the per-file phase, instead of visiting
    one file's tree. Only the ``conclint`` command runs project rules (the flake8 plugin
    sees one file at a time). ``interest`` says which files need a summary; selection,
    per-file ignores, ``# noqa`` and baselines apply to its findings as to any other."""

    project: ClassVar[bool] = True

    @classmethod
    def check(cls, project: "Project", options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        """The findings of the rule on ``project``, with ``options`` (merged with the
        defaults, as ``self.settings`` would be)."""
        raise NotImplementedError


class NoqaRule(Rule, abstract=True):
    """A rule about the ``# noqa`` comments themselves (CCL900): which of their codes silenced
    nothing. No visitor can know that, so it has none: the engine checks the comments of
    each file after applying them (``conclint.noqa_audit``), whether LibCST parsed the file
    or the gates skipped it. The class is its registration (code, name, message, fix, page);
    selection, per-file ignores and ``# noqa`` apply to its findings as to any other. Its
    ``interest`` is a ``Text`` screen that the engine does not use to parse files."""

    noqa_check: ClassVar[bool] = True


def hand_written_gate(cls: Type[Rule]) -> Optional[Callable[[Facts, Mapping[str, Any]], bool]]:
    """The rule's own ``could_report`` when it writes one instead of the derived gate."""
    for klass in cls.__mro__:
        if klass is Rule:
            return None
        if "could_report" in klass.__dict__:
            return cls.could_report
    return None


def lost_comments(changes: Mapping[cst.CSTNode, Replacement]) -> int:
    """How many comments of the replaced nodes their replacements do not hold (moved ones
    count as kept: comments are matched by text)."""
    from conclint.analysis.cstutil import comments

    before: "Counter[str]" = Counter()
    after: "Counter[str]" = Counter()
    for original, replacement in changes.items():
        before.update(comments(original))
        after.update(comments(replacement))
    return sum((before - after).values())


def all_rules() -> Dict[str, Type[Rule]]:
    """Every registered rule class by code, importing the bundled rule modules."""
    from conclint import rules  # noqa: F401  (importing registers the rules)

    rules.load_all()
    return dict(sorted(_RULES.items()))
