"""Rules register themselves; module names, codes and names agree and are unique."""

from __future__ import annotations

import inspect

from conclint.rule import Rule, all_rules
from conclint.rules import catalogue


def test_module_names_match_rule_classes():
    rules = all_rules()
    assert catalogue() == {code: cls.name for code, cls in rules.items()}
    for code, cls in rules.items():
        module = cls.__module__.rsplit(".", 1)[1]
        assert module == f"{code.lower()}_{cls.name.replace('-', '_')}"


def test_codes_and_names_are_unique_and_documented_in_one_line():
    rules = all_rules()
    names = [cls.name for cls in rules.values()]
    assert len(set(names)) == len(names)
    for cls in rules.values():
        assert issubclass(cls, Rule)
        doc = inspect.getdoc(cls)
        assert doc and "\n" not in doc, f"{cls.code}: one-line docstring"
        assert cls.triggers, f"{cls.code}: declare byte-level triggers so files can be skipped"
