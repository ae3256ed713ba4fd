"""How a definition's terms read to people: role names, rule marks, section headings.

One place for the words, so a diagram's legend, the report's required events
and ``definitions show`` call a role or a rule the same thing.
"""

from __future__ import annotations

import re

from workflow.spec.definition import (
    ROLE_LABELS,
    Provenance,
    Role,
    Rule,
    SectionSpec,
    TransitionSpec,
)
from workflow.spec.plan import TEAM, group_label

#: The mark a step or rule the plan does not prescribe carries on a diagram or
#: in a report, so nobody reads the office's own arrangement as the plan's.
CONFIGURED = "本单位配置"
CONFIGURED_MARK = f"（{CONFIGURED}）"
#: A paragraph's number as the plan writes it: chapter、(section) link (item),
#: e.g. 四（二）3（1）; a legend cell has room for that, not for the lead phrase.
_PARAGRAPH_NUMBER = re.compile(
    r"^[一二三四五六七八九十]+(?:（[一二三四五六七八九十]+）)?(?:\d+(?:（\d+）)?)?")

#: Shown under an edge (full labels) or in the legend so a reader sees the
#: rule without reading YAML.
RULE_MARKS: dict[Rule, str] = {
    Rule.OWNER_ONLY: "仅本人",
    Rule.NOT_OWNER: "不得自审",
    Rule.OWNER_OR_RESPONSIBLE: "本人或责任人",
    Rule.REQUIRES_COMMENT: "须说明理由",
    Rule.CONTENT_COMPLETE: "内容须完整",
}


def role_label(role: str) -> str:
    """A role's Chinese name.  Roles stay strings in specs so lint can report
    unknown ones; those are shown as written."""
    if role == TEAM:
        return group_label(role)
    try:
        return ROLE_LABELS[Role(role)][0]
    except ValueError:
        return role


def rule_marks(transition: TransitionSpec) -> str:
    """The move's rules, in :data:`RULE_MARKS` order, as one line."""
    return " · ".join(mark for rule, mark in RULE_MARKS.items() if rule in transition.rules)


def accepted(section: SectionSpec) -> str:
    """What a required section may be headed, as a leader reads it."""
    if section.keywords:
        return "heading with " + " / ".join(section.keywords)
    return f"a line matching {section.pattern}"


def paragraph_number(paragraph: str) -> str:
    """``四（二）3（1）方案主要内容`` → ``四（二）3（1）``; text that does not
    start with a number is kept whole."""
    match = _PARAGRAPH_NUMBER.match(paragraph)
    return match.group(0) if match else paragraph


def source_short(item: Provenance) -> str:
    """Where it comes from in a few characters, for a legend cell or a gate
    note: ``方案四（二）3（1）``, or ``本单位配置``."""
    if not item.from_plan:
        return CONFIGURED
    number = paragraph_number(item.paragraph)
    return f"方案{number}" if number else "方案"
