"""CCL209: two locks taken in opposite orders on two paths of the project."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from conclint.analysis.lockorder import describe, inversions
from conclint.analysis.project import Project, needs_summary
from conclint.interest import Interest, Text
from conclint.rule import ProjectReport, ProjectRule


class LockOrderInversion(ProjectRule):
    """A cycle in the order locks are taken across the project's functions and modules."""

    code = "CCL209"
    name = "lock-order-inversion"
    message = "locks are taken in opposite orders on two paths: threads running both can deadlock"
    # The files the project phase needs a summary of: those naming lock vocabulary.
    interest = Interest(Text(needs_summary))

    @classmethod
    def check(cls, project: Project, options: Mapping[str, Any]) -> Iterator[ProjectReport]:
        for inversion in inversions(project):
            message, related = describe(inversion)
            yield ProjectReport(cls.code, message, inversion.witnesses[0].site, tuple(related))
