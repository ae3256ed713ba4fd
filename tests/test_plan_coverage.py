"""docs/plan-coverage.md accounts for every paragraph of the plan, and cites only
what is shipped.

The headings are parsed from the plan's own text (the seed), not copied here,
so a paragraph the table forgets fails; every reference in the table is
resolved against the shipped plan and definitions, so a renamed state or event
fails; and every event, requirement, target and definition type of the
shipped plan must be cited, so the table grows with the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from workflow.spec.definition import Rule, WorkflowSpec
from workflow.spec.loader import load_directory, load_plan, shipped_definitions_dir, shipped_plan
from workflow.spec.plan import PlanSpec

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC = DOCS / "plan-coverage.md"
#: The plan's own text (a copy of the source document), which the headings come from.
SEED = DOCS / "plan-source" / "mianyang-2014.txt"
FROM_PLAN_FALSE = "from_plan: false"

PLAN: PlanSpec = load_plan(shipped_plan()).spec
DEFINITIONS: list[WorkflowSpec] = [d.spec for d in load_directory(shipped_definitions_dir())]

#: A heading as the plan numbers it, matched on a line with its whitespace
#: removed: chapter 一、, section （一）, link 1., item （1） (the seed writes
#: "（ 2）"), the ten actions 一是…十是 up to 行动, and a paragraph's lead
#: phrase — its first sentence when short, as in "召开动员大会。".
HEADINGS = (
    re.compile(r"^[一二三四五六七八九十]、[^。]+"),
    re.compile(r"^（[一二三四五六七八九十]）[^。]+"),
    re.compile(r"^\d\.[^。\d][^。]*"),
    re.compile(r"^（\d）[^。]+"),
    re.compile(r"^[一二三四五六七八九十]是.*?(?:行动|(?=。))"),
    re.compile(r"^[^。]{1,12}(?=。)"),
)
REFERENCE = re.compile(r"`((?:plan|def|rule|report):[^`<]+)`")  # `<…>` is syntax, not a reference
ROW = re.compile(r"^\|(.*)\|\s*$")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def plan_headings(text: str) -> list[str]:
    found: dict[str, None] = {}
    for line in text.splitlines():
        for pattern in HEADINGS:
            if match := pattern.match(squeeze(line)):
                found[match.group(0)] = None
    return list(found)


def tables(markdown: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    """Each table as (header cells, body rows of cells); the |---| line skipped."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        match = ROW.match(line.strip())
        if match is None:
            if header is not None:
                yield header, rows
            header, rows = None, []
            continue
        cells = [cell.strip() for cell in match.group(1).split("|")]
        if header is None:
            header = cells
        elif not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
            rows.append(cells)


def section(markdown: str, title: str) -> str:
    """The text under the ``##`` heading naming ``title``, up to the next one."""
    match = re.search(rf"^## [^\n]*{re.escape(title)}[^\n]*\n(.*?)(?=^## |\Z)", markdown,
                      re.MULTILINE | re.DOTALL)
    assert match, f"the doc has no section titled …{title}…"
    return match.group(1)


def provenance(plan: PlanSpec, definitions: list[WorkflowSpec]) -> Iterator[tuple[str, object]]:
    """Every item that carries a paragraph and from_plan, with the reference that names it."""
    window = getattr(plan, "window", None)
    if window is not None:
        yield "plan:window", window
    for phase in (p for top in plan.phases for p in (top, *top.phases)):
        yield f"plan:phases.{phase.name}", phase
        for item in phase.gate:
            yield f"plan:phases.{phase.name}.gate.{item.deliverable or item.event or 'talks'}", item
    yield from ((f"plan:requirements.{r.deliverable}", r) for r in plan.requirements)
    yield from ((f"plan:events.{e.kind}", e) for e in plan.events)
    yield from ((f"plan:targets.{t.id}", t) for t in plan.targets)
    if plan.talks is not None:
        yield "plan:talks", plan.talks
    for spec in definitions:
        yield from ((f"def:{spec.id}.states.{s.name}", s) for s in spec.states)
        yield from ((f"def:{spec.id}.transitions.{t.trigger}", t) for t in spec.transitions)
        yield from ((f"def:{spec.id}.sections.{s.name}", s) for s in spec.required_sections)
        if spec.publicity is not None:
            yield f"def:{spec.id}.publicity", spec.publicity


def office_own(item: object) -> bool:
    # getattr: the provenance fields are new; a phase's dates alone may be the office's.
    return not getattr(item, "from_plan", True) or not getattr(item, "dates_from_plan", True)


MARKDOWN = DOC.read_text(encoding="utf-8")
TABLES = list(tables(MARKDOWN))
CITED = set(REFERENCE.findall(MARKDOWN))
KNOWN = ({ref for ref, _ in provenance(PLAN, DEFINITIONS)} | {"plan:notice"}
         | {f"def:{spec.id}" for spec in DEFINITIONS} | {f"rule:{rule.value}" for rule in Rule})


def paragraph_cells() -> set[str]:
    return {squeeze(row[0]) for header, rows in TABLES if header[0] == "段落" for row in rows}


def test_every_heading_of_the_plan_has_a_row() -> None:
    headings = plan_headings(SEED.read_text(encoding="utf-8"))
    assert len(headings) > 60, "the heading patterns no longer match the plan"
    missing = [h for h in headings if h not in paragraph_cells()]
    assert not missing, f"paragraphs of the plan without a row: {missing}"


def test_every_table_has_the_four_columns_and_no_row_has_an_empty_cell() -> None:
    coverage = [header for header, _ in TABLES if header[0] == "段落"]
    assert coverage, "the doc has no coverage tables"
    for header in coverage:
        assert header == ["段落", "方案要求", "建模位置", "说明"], header
    for header, rows in TABLES:
        for row in rows:
            assert len(row) == len(header), f"row with {len(row)} cells under {header}: {row}"
            assert all(row), f"a row with an empty cell: {row}"


def test_every_reference_resolves_against_the_shipped_plan_and_definitions() -> None:
    unresolved = sorted(ref for ref in CITED if not ref.startswith("report:") and ref not in KNOWN)
    assert not unresolved, f"references that name nothing shipped: {unresolved}"


def test_everything_the_plan_ships_is_cited() -> None:
    wanted = ({f"plan:events.{e.kind}" for e in PLAN.events}
              | {f"plan:requirements.{r.deliverable}" for r in PLAN.requirements}
              | {f"plan:targets.{t.id}" for t in PLAN.targets})
    missing = sorted(wanted - CITED)
    cited_types = {ref.split(".")[0] for ref in CITED if ref.startswith("def:")}
    missing += sorted(f"def:{s.id}" for s in DEFINITIONS if f"def:{s.id}" not in cited_types)
    assert not missing, f"shipped but not cited in the doc: {missing}"


def test_the_from_plan_false_section_names_every_step_of_the_offices_own() -> None:
    named = set(REFERENCE.findall(section(MARKDOWN, FROM_PLAN_FALSE)))
    own = {ref for ref, item in provenance(PLAN, DEFINITIONS) if office_own(item)}
    missing = sorted(own - named)
    assert not missing, f"from_plan: false steps the section does not name: {missing}"


def test_the_from_plan_false_section_names_nothing_the_plan_prescribes() -> None:
    items = list(provenance(PLAN, DEFINITIONS))
    own = {ref for ref, item in items if office_own(item)}
    named = set(REFERENCE.findall(section(MARKDOWN, FROM_PLAN_FALSE)))
    prescribed = sorted(named & {ref for ref, _ in items} - own)
    assert not prescribed, f"listed as the office's own but marked from the plan: {prescribed}"
