"""Content requirements as data: which sections a deliverable's text must have.

A section is present when a heading line (markdown ``#``, or the Chinese
numbering 一、 / （一） / 1.) names one of its keywords, or when any line
matches its pattern.  The plan's self-review material, for instance, must
carry the four analyses and the improvement measures.

The text is what :func:`workflow.spec.content.text_of` gives: a Word file's
headings arrive as markdown headings, its table cells as lines of their own.
"""

from __future__ import annotations

import re

from workflow.spec.definition import SectionSpec, WorkflowSpec

_NUMERAL = "一二三四五六七八九十"
_HEADING = re.compile(
    rf"^\s*(#{{1,6}}\s|[{_NUMERAL}]+[、.．]|（[{_NUMERAL}]+）|\d+[、.．])"
)


def headings(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if _HEADING.match(line)]


def present(section: SectionSpec, text: str, heads: list[str]) -> bool:
    if section.keywords and any(k in h for h in heads for k in section.keywords):
        return True
    return bool(section.pattern and re.search(section.pattern, text, re.MULTILINE))


def missing_sections(spec: WorkflowSpec, text: str) -> list[SectionSpec]:
    """The required sections ``text`` lacks, in the definition's order."""
    heads = headings(text)
    return [s for s in spec.required_sections if not present(s, text, heads)]
