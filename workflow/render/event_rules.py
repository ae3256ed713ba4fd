"""What a required event's rules say, each as a short Chinese phrase, for the
report's required events and anything else that lists an event's terms; and
a record's facts (who was invited, who opened it, what it covered, whom it
found short) as one line, where records are listed.

The phrases restate :class:`~workflow.spec.plan.EventSpec`; what breaks them
is judged by :mod:`workflow.services.gates`, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from workflow.render.labels import role_label
from workflow.spec.plan import EventSpec, PlanSpec
from workflow.store.views import EventRecordView


def event_rules(plan: PlanSpec, spec: EventSpec) -> list[str]:
    """The event's rules in the order a record is held: who is responsible,
    when, who is invited and opens it, what it must cover, and afterwards."""
    rules = [f"{'、'.join(spec.responsible)}负责"] if spec.responsible else []
    rules += [f"在{_kind_label(plan, kind)}之后" for kind in spec.after]
    if spec.after_talks:
        rules.append("谈心谈话全部完成后")
    if spec.deadline:
        rules.append(f"{spec.deadline:%m-%d}前")
    if spec.min_days:
        rules.append(f"每次≥{spec.min_days:g}天")
    invited = (["市委督导组"] if spec.supervisors_invited else []) + list(spec.invited)
    if invited:
        rules.append(f"邀请{'、'.join(invited)}")
    if spec.opened_by:
        rules.append(f"由{role_label(spec.opened_by)}带头")
    if spec.themes:
        scope = "全覆盖" if spec.cover_themes else "之一"
        rules.append(f"主题限{len(spec.themes)}项{scope}（{'、'.join(spec.themes)}）")
    if spec.must_note:
        rules.append(f"须记录{'、'.join(spec.must_note)}")
    if spec.follow_up:
        rules.append(f"不达标者须{_kind_label(plan, spec.follow_up)}")
    return rules


def record_facts(record: EventRecordView, name: Callable[[str], str]) -> list[str]:
    """The record's facts its rules look at, those it states; ``name`` turns a
    user id into a name (:meth:`workflow.services.gates.Facts.name`)."""
    return facts_phrases(record.invited, name(record.opened_by) if record.opened_by else None,
                         record.covered, [name(user) for user in record.short])


def facts_phrases(invited: Sequence[str], opened_by: str | None, covered: Sequence[str],
                  short: Sequence[str]) -> list[str]:
    """A record's facts, people already named: one phrase per fact it states."""
    facts = [f"邀请：{'、'.join(invited)}"] if invited else []
    facts += [f"带头：{opened_by}"] if opened_by else []
    facts += [f"已记录：{'、'.join(covered)}"] if covered else []
    facts += [f"不达标：{'、'.join(short)}"] if short else []
    return facts


def _kind_label(plan: PlanSpec, kind: str) -> str:
    try:
        return plan.event(kind).label
    except KeyError:  # validated plans name known kinds; show an unknown one as written
        return kind
