"""What a type's diagram says about its moves: the edge labels and the legend.

Short labels put only a move's Chinese name on its arrow; the legend under
the flow then lists every move with who may make it and its rules, so the
diagram loses nothing.  Full labels put all of that on the arrow instead.
"""

from __future__ import annotations

from html import escape

from workflow.render.diagram_style import CONFIGURED_COLOUR, Style
from workflow.render.labels import CONFIGURED, CONFIGURED_MARK, role_label, rule_marks
from workflow.spec.definition import TransitionSpec, WorkflowSpec

#: The cluster around the flow; its label, under the flow, is the legend.
#: (Packing the legend as a separate component would place it beside a top
#: to bottom flow, but Graphviz 2.43 then drops most edge labels.)
FLOW_CLUSTER = "cluster_flow"
_LEGEND_HEADS = ("动作 Move", "角色 Roles", "规则 Rules")
_TABLE = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" COLOR="#90a4ae">'
#: Roles per legend line: six on one line would make the legend wider than the flow.
_ROLES_PER_LINE = 3


def edge_label(transition: TransitionSpec, marks: str, style: Style) -> str:
    """Short: the Chinese name only (with the path's order marks); full: the
    bilingual name, the roles and the rules, one per line."""
    title = transition.label if not style.full else f"{transition.label} / {transition.label_en}"
    lines = [f"{marks} {title}" if marks else title]
    if style.full:
        lines.append("[" + "、".join(role_label(r) for r in transition.roles) + "]")
        rules = rule_marks(transition)
        if rules:
            lines.append(f"〔{rules}〕")
        if not transition.from_plan:
            lines.append(CONFIGURED_MARK)
    return "\\n".join(lines)


def legend_attrs(spec: WorkflowSpec, style: Style) -> dict[str, str]:
    """The flow's cluster, its label a table of every move's name, who may make
    it and its rules, so short edge labels lose nothing; no frame."""
    return {
        "label": f"<{legend_table(spec, 2 if style.slide else 1)}>",
        "labelloc": "b",
        "fontsize": str(style.fonts.legend),
        "peripheries": "0",
    }


def legend_table(spec: WorkflowSpec, groups: int = 1) -> str:
    """One row per move; with ``groups`` > 1 the moves are split into that many
    side-by-side column groups, so a slide's legend is wide rather than tall."""
    cells = [_legend_cells(t) for t in spec.transitions]
    per_group = -(-len(cells) // groups)
    head = "".join(f'<TD BGCOLOR="#eceff1"><B>{h}</B></TD>' for h in _LEGEND_HEADS)
    # The key to grey and dashed sits in a column of its own at the right: a
    # row under the moves would make the tallest flow too tall for an A4 page.
    key = (f'<TD ROWSPAN="{per_group + 1}" BORDER="0" ALIGN="LEFT" BALIGN="LEFT" '
           f'VALIGN="TOP" CELLPADDING="6">{_configured_key()}</TD>') if _configured(spec) else ""
    rows = [f"<TR>{head * min(groups, len(cells) or 1)}{key}</TR>"]
    for i in range(per_group):
        row = [cells[j] for j in range(i, len(cells), per_group)]
        rows.append("<TR>" + "".join(row) + "</TR>")
    # A row a line keeps the committed .dot files' diffs readable.
    return "\n".join([_TABLE, *rows, "</TABLE>"])


def _configured(spec: WorkflowSpec) -> bool:
    return any(not s.from_plan for s in spec.states) or any(
        not t.from_plan for t in spec.transitions)


def _configured_key() -> str:
    """What grey and dashed mean, under the moves; the paragraph itself is in
    each state's and move's tooltip (too long for a cell)."""
    return (f'<FONT COLOR="{CONFIGURED_COLOUR}"><B>灰色虚线</B></FONT>的<BR/>动作、状态：<BR/>'
            f"{CONFIGURED}，<BR/>方案未作规定<BR/>（所据段落见<BR/>悬停提示）")


def _legend_cells(transition: TransitionSpec) -> str:
    name = f"{escape(transition.label)}<BR/>{escape(transition.label_en)}"
    return (
        f'<TD ALIGN="LEFT" BALIGN="LEFT">{name}</TD>'
        f'<TD ALIGN="LEFT" BALIGN="LEFT">{_roles_cell(transition)}</TD>'
        f"<TD>{escape(rule_marks(transition)) or '—'}{_configured_mark(transition)}</TD>"
    )


def _configured_mark(transition: TransitionSpec) -> str:
    """Under a move the plan does not prescribe, its rules cell says so (the
    paragraph of every move is in its arrow's tooltip)."""
    if transition.from_plan:
        return ""
    return f'<BR/><FONT COLOR="{CONFIGURED_COLOUR}">{CONFIGURED}</FONT>'


def _roles_cell(transition: TransitionSpec) -> str:
    names = [escape(role_label(r)) for r in transition.roles]
    step = _ROLES_PER_LINE
    return "<BR/>".join("、".join(names[i : i + step]) for i in range(0, len(names), step))
