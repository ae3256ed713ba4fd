"""The stable JSON shapes scripts read: a definition, and the moves a
deliverable may make next.  Keys here are a contract; add, never rename."""

from __future__ import annotations

from typing import Any

from workflow.campaign import Campaign
from workflow.spec.definition import Provenance, TransitionSpec, WorkflowSpec
from workflow.store.views import DeliverableView


def definition_json(spec: WorkflowSpec) -> dict[str, Any]:
    """The stable JSON shape of ``campaign definitions show --json``."""
    return {
        "id": spec.id,
        "title": spec.title,
        "title_en": spec.title_en,
        "initial": spec.initial,
        "editable_states": list(spec.editable_states),
        "create_roles": list(spec.create_roles),
        "states": [
            {"name": s.name, "label": s.label, "label_en": s.label_en, "final": s.final,
             **_source(s)}
            for s in spec.states
        ],
        "transitions": [
            {"trigger": t.trigger, "label": t.label, "label_en": t.label_en,
             "source": list(t.source), "dest": t.dest, **_rules(t), **_source(t)}
            for t in spec.transitions
        ],
        "required_sections": [
            {"name": s.name, "label": s.label, "headings": list(s.keywords),
             "pattern": s.pattern, **_source(s)} for s in spec.required_sections
        ],
        "publicity": None if spec.publicity is None else {
            "working_days": spec.publicity.working_days,
            "objection_trigger": spec.publicity.objection_trigger,
            "close_trigger": spec.publicity.close_trigger,
            **_source(spec.publicity),
        },
    }


def next_moves(queries: Campaign, view: DeliverableView) -> list[dict[str, Any]]:
    """What may happen next to a deliverable, and who may do it.

    Nothing, while it has no content: the engine refuses every move until its
    owner adds a revision (``campaign revise``), so none is offered."""
    if view.revision is None:
        return []
    spec = queries.registry.definition_for(view)
    return [
        {"trigger": t.trigger, "label": t.label, "dest": t.dest, **_rules(t)}
        for t in spec.transitions_from(view.state)
    ]


def _source(item: Provenance) -> dict[str, Any]:
    """Where a step comes from: the plan's paragraph, or the office's own
    configuration (``from_plan`` false)."""
    return {"paragraph": item.paragraph, "from_plan": item.from_plan}


def _rules(transition: TransitionSpec) -> dict[str, Any]:
    """Who may make a move and on what terms, as both shapes spell it."""
    return {
        "roles": list(transition.roles),
        "owner_only": transition.owner_only,
        "owner_or_responsible": transition.owner_or_responsible,
        "not_owner": transition.not_owner,
        "requires_comment": transition.requires_comment,
    }
