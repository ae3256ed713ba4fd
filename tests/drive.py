"""Test helpers: bring a fresh deliverable into any state of its definition.

The path is the shortest one through the spec (breadth-first from the initial
state); every move is fired by someone the spec lets fire it, always with a
comment, on a day its publicity window allows.  Content is generated from the
spec's required sections, so ``content_complete`` moves go through.  Expected
permissions, window verdicts and window dates are computed here from the spec
alone, never by asking :mod:`workflow.machine.policy` or :mod:`workflow.machine.publicity`,
so the tests judge the engine independently.

A few rules live in code rather than in the spec: a rectification item is
submitted with its five fields, claimed done after a progress note, and
verified only with a rating (README, ``campaign rectification``).  They are
spelled out here too (:func:`prepare`, :func:`make_move`, :func:`follow_ups`).
"""

from __future__ import annotations

import re
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

from conftest import DEFINITIONS, PEOPLE, ROLES_OF, SHIPPED_TYPES, snapshot
from plan_helpers import all_rows as all_rows  # the tests take it from here too
from plan_helpers import query

from workflow import Campaign, from_text
from workflow.errors import (
    AuditVerificationFailed,
    CampaignError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.spec.content import Content
from workflow.spec.definition import TransitionSpec, WorkflowSpec
from workflow.spec.loader import load_file
from workflow.store.clock import campaign_zone
from workflow.store.views import DeliverableView, EventView, WindowView

COMMENT = "理由"
USER_IDS: tuple[str, ...] = tuple(p[0] for p in PEOPLE)


def shipped_spec(type_id: str) -> WorkflowSpec:
    """The spec of a shipped definition, read from its file (for parametrising)."""
    return load_file(DEFINITIONS / f"{type_id}.yaml").spec


SPECS: dict[str, WorkflowSpec] = {t: shipped_spec(t) for t in SHIPPED_TYPES}


def moves(spec: WorkflowSpec) -> Iterator[tuple[TransitionSpec, str]]:
    """Every (transition, source state) pair: a transition with two sources is two moves."""
    for transition in spec.transitions:
        for source in transition.source:
            yield transition, source


def all_moves() -> list[tuple[str, str, str]]:
    """(type, trigger, source) for every move of every shipped definition."""
    return [(t, tr.trigger, src) for t, spec in SPECS.items() for tr, src in moves(spec)]


# -- content that has what the spec requires -----------------------------------

#: The line given for a section found by a pattern (the meeting plan's length).
MEETING_LENGTH = "会议时间：1天"


def complete_text(spec: WorkflowSpec, title: str = "材料", body: str = "正文") -> str:
    """Markdown with every section ``spec`` requires: a ``##`` heading naming the
    section's first keyword, and the line ``会议时间：1天`` for a section found by
    its pattern.  ``body`` is repeated under each heading, so texts differ by it."""
    lines = [f"# {title}", "", body, ""]
    for section in spec.required_sections:
        if section.keywords:
            lines += [f"## {section.keywords[0]}", "", f"{body}（{section.label}）", ""]
        if section.pattern:
            assert re.search(section.pattern, MEETING_LENGTH, re.MULTILINE), (
                f"{spec.id}: teach complete_text a line for section {section.name!r}")
            lines += [MEETING_LENGTH, ""]
    return "\n".join(lines)


def complete_content(
    spec: WorkflowSpec, title: str = "材料", body: str = "正文", filename: str = "content.md"
) -> Content:
    """:func:`complete_text` as a revision's content."""
    return from_text(complete_text(spec, title, body), filename)


# -- publicity windows, computed from the spec ---------------------------------

OBJECTION, AFTER = "objection", "after"


def window_last_day(opened_on: date, days: int) -> date:
    """The last day of a publicity window of ``days`` working days opened on
    ``opened_on``: the ``days``-th working day counting the opening day when it
    is one.  Working days straight from the calendar library (weekends and
    official holidays off, make-up days on), not from the engine's loop."""
    import chinese_calendar

    day = opened_on - timedelta(days=1)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        counted += bool(chinese_calendar.is_workday(day))
    return day


#: The name the other test files know it by.
working_days_after = window_last_day


def window_rule(spec: WorkflowSpec, trigger: str, source: str) -> str | None:
    """Which window rule a move obeys: OBJECTION (only while the window is open),
    AFTER (only once it has ended), or None (no window involved)."""
    if spec.publicity is None or source != "publicity":
        return None
    return OBJECTION if trigger == spec.publicity.objection_trigger else AFTER


def window_allows(
    spec: WorkflowSpec, trigger: str, source: str, closes_on: date | None, today: date,
    *, opened_on: date | None = None, ended: bool = False,
) -> bool:
    """The window's verdict on firing ``trigger`` from ``source`` on ``today``:
    an objection from the opening day to the last, and never once a tick has
    ended the window; any other way out only after the last day."""
    rule = window_rule(spec, trigger, source)
    if rule == OBJECTION and ended:
        return False
    if rule is None or closes_on is None:
        return True
    if rule == OBJECTION:
        return (opened_on is None or opened_on <= today) and today <= closes_on
    return today > closes_on


def open_window(campaign: Campaign, deliverable_id: int) -> WindowView | None:
    windows = campaign.reads.windows(deliverable_id, open_only=True)
    assert len(windows) <= 1, f"#{deliverable_id} has {len(windows)} open windows"
    return windows[0] if windows else None


def _rule_and_window(
    campaign: Campaign, deliverable_id: int, trigger: str
) -> tuple[str | None, WindowView | None]:
    item = campaign.reads.get(deliverable_id)
    rule = window_rule(campaign.registry.definition_for(item), trigger, item.state)
    return rule, open_window(campaign, deliverable_id) if rule else None


def day_allowing(campaign: Campaign, deliverable_id: int, trigger: str) -> date | None:
    """A day the window lets ``trigger`` fire on: its last day for an objection,
    the day after it for any other way out; None where no window is involved
    (the engine then uses the campaign's today)."""
    rule, window = _rule_and_window(campaign, deliverable_id, trigger)
    if window is None:
        return None
    return window.closes_on if rule == OBJECTION else window.closes_on + timedelta(days=1)


def day_refusing(campaign: Campaign, deliverable_id: int, trigger: str) -> date | None:
    """A day the window refuses ``trigger`` on (the day after it for an objection,
    its last day otherwise); None where no window is involved."""
    rule, window = _rule_and_window(campaign, deliverable_id, trigger)
    if window is None:
        return None
    return window.closes_on + timedelta(days=1) if rule == OBJECTION else window.closes_on


# -- rules beyond the spec: rectification items --------------------------------

RECTIFICATION = "rectification_item"
RATING = "好"


def rectification_fields(owner: str) -> dict[str, object]:
    """The five fields of a rectification item, its owner responsible for it."""
    return {"matter": "文山会海问题突出", "measures": "精简会议文件", "responsible": owner,
            "deadline": date(2014, 8, 31), "effect": "会议数量下降30%"}


def needs_rating(type_id: str, trigger: str) -> bool:
    """A move made with a rating (``rectification.verify``) rather than a plain ``fire``."""
    return type_id == RECTIFICATION and trigger == "verify"


def follow_ups(type_id: str, trigger: str) -> list[str]:
    """The audit actions a successful move appends after its transition event."""
    return ["rectification.rate"] if needs_rating(type_id, trigger) else []


def noted_since_started(campaign: Campaign, deliverable_id: int) -> bool:
    """A progress note since the item last entered ``in_progress``."""
    history = campaign.reads.history(deliverable_id)
    started = max(i for i, e in enumerate(history)
                  if e.action == "transition" and e.dest == "in_progress")
    return any(e.action == "rectification.progress" for e in history[started + 1:])


#: (type, trigger) → the audited write the move needs first, beyond its spec.
PREREQUISITES: dict[tuple[str, str], str] = {
    (RECTIFICATION, "submit"): "rectification.set",  # the five fields
    (RECTIFICATION, "to_supervisors"): "rectification.set",  # the principal's own item
    (RECTIFICATION, "claim_done"): "rectification.progress",  # a note since (re)starting
}


def prerequisites(type_id: str, trigger: str) -> list[str]:
    """The audit actions :func:`prepare` writes for a move whose needs are not met yet."""
    needed = PREREQUISITES.get((type_id, trigger))
    return [needed] if needed else []


def prepare(campaign: Campaign, deliverable_id: int, trigger: str) -> list[str]:
    """Write, as the owner, what ``trigger`` needs beyond its spec and does not
    have yet (a rectification item's fields before submit, a progress note
    before claim_done); returns the audit actions written."""
    item = campaign.reads.get(deliverable_id)
    needed = prerequisites(item.type, trigger)
    if needed == ["rectification.set"]:
        try:
            campaign.rectification.get(deliverable_id)
            return []
        except NotFound:
            campaign.rectification.set(item.owner, deliverable_id,
                                       **rectification_fields(item.owner))  # type: ignore[arg-type]
    elif needed == ["rectification.progress"]:
        if noted_since_started(campaign, deliverable_id):
            return []
        campaign.rectification.note(item.owner, deliverable_id, "整改进展")
    return needed


def at_day(campaign: Campaign, day: date | None) -> Campaign:
    """``campaign`` with its clock at noon of ``day`` in the campaign's time zone
    (unchanged for None): writes take their day from the engine's clock, as the
    demo's simulated calendar does."""
    if day is not None:
        moment = datetime.combine(day, time(12), tzinfo=campaign_zone())
        campaign.store.clock = lambda: moment
    return campaign


def make_move(
    campaign: Campaign, actor: str, deliverable_id: int, trigger: str,
    comment: str | None = COMMENT, *, today: date | None = None,
    expected_version: int | None = None,
) -> EventView:
    """Make a move the way it is made: a rectification item's ``verify`` with a
    rating, every other move with ``fire``.  Returns the transition event."""
    if needs_rating(campaign.reads.get(deliverable_id).type, trigger):
        return at_day(campaign, today).rectification.verify(actor, deliverable_id, RATING, comment,
                                    expected_version=expected_version)
    return at_day(campaign, today).moves.fire(actor, deliverable_id, trigger, comment,
                                              expected_version)


# -- who may do what, computed from the spec ----------------------------------


def may_fire(user: str, owner: str, transition: TransitionSpec,
             responsible: str | None = None) -> bool:
    """From the spec: roles, and the rules on who answers for the deliverable
    (its owner and, for a rectification item, the responsible person)."""
    if not set(ROLES_OF[user]) & set(transition.roles):
        return False
    answerable = {owner, responsible or owner}
    if transition.owner_only and user != owner:
        return False
    if transition.owner_or_responsible and user not in answerable:
        return False
    return not (transition.not_owner and user in answerable)


def may_revise(user: str, owner: str, state: str, spec: WorkflowSpec) -> bool:
    return user == owner and state in spec.editable_states


def creators(spec: WorkflowSpec) -> list[str]:
    """Users who may create a deliverable of ``spec`` for themselves."""
    return [u for u in USER_IDS if set(ROLES_OF[u]) & set(spec.create_roles)]


def actor_for(transition: TransitionSpec, owner: str, avoid: Iterable[str] = ()) -> str | None:
    """The first user (in PEOPLE order) who may fire ``transition`` on ``owner``'s deliverable."""
    avoid = set(avoid)
    for user in USER_IDS:
        if user not in avoid and may_fire(user, owner, transition):
            return user
    return None


def shortest_path(spec: WorkflowSpec, target: str, owner: str | None = None
                  ) -> list[TransitionSpec]:
    """The transitions of a shortest path from the initial state to ``target``
    that someone may fire on ``owner``'s deliverable (by default the first
    creator who has such a path: a principal's own road is not an office's)."""
    if owner is None:
        for candidate in creators(spec):
            try:
                return shortest_path(spec, target, candidate)
            except ValueError:
                continue
    came_from: dict[str, tuple[str, TransitionSpec] | None] = {spec.initial: None}
    queue = deque([spec.initial])
    while queue:
        state = queue.popleft()
        if state == target:
            break
        for transition in spec.transitions_from(state):
            if owner is not None and actor_for(transition, owner) is None:
                continue
            if transition.dest not in came_from:
                came_from[transition.dest] = (state, transition)
                queue.append(transition.dest)
    if target not in came_from:
        raise ValueError(f"{spec.id}: state {target!r} is unreachable")
    path: list[TransitionSpec] = []
    step = came_from[target]
    while step is not None:
        state, transition = step
        path.append(transition)
        step = came_from[state]
    return path[::-1]


def owner_for(spec: WorkflowSpec, state: str, wanted: str | None = None) -> str:
    """A creator for whom every move on the way to ``state`` has someone to fire it."""
    candidates = [wanted] if wanted else creators(spec)
    for owner in candidates:
        try:
            shortest_path(spec, state, owner)
        except ValueError:
            continue
        return owner
    raise ValueError(f"{spec.id}: nobody can drive a deliverable to {state!r}")


def owner_for_move(spec: WorkflowSpec, transition: TransitionSpec, source: str) -> str:
    """A creator whose deliverable reaches ``source`` and on whose deliverable
    someone may fire ``transition`` (the principal, for his own road to the
    supervisors); any creator reaching ``source`` when nobody may."""
    for owner in creators(spec):
        if actor_for(transition, owner) is None:
            continue
        try:
            return owner_for(spec, source, owner)
        except ValueError:
            continue
    return owner_for(spec, source)


def drive(
    campaign: Campaign,
    type_id: str,
    state: str | None = None,
    *,
    owner: str | None = None,
    content: Content | None = None,
    title: str = "测试材料",
) -> DeliverableView:
    """Create a deliverable of ``type_id`` and fire the shortest path to ``state``.

    Without ``content`` it gets :func:`complete_content`; a move out of
    publicity is fired on a day its window allows, each after what it needs
    beyond the spec (:func:`prepare`)."""
    spec = campaign.registry.definition(type_id)
    state = state or spec.initial
    owner = owner_for(spec, state, owner)
    item = campaign.deliverables.create(owner, type_id, title,
                                        content=content or complete_content(spec))
    for transition in shortest_path(spec, state, owner):
        actor = actor_for(transition, owner)
        assert actor is not None
        prepare(campaign, item.id, transition.trigger)
        make_move(campaign, actor, item.id, transition.trigger,
                  today=day_allowing(campaign, item.id, transition.trigger))
    view = campaign.reads.get(item.id)
    assert view.state == state
    return view


def advance(
    campaign: Campaign, deliverable_id: int, *triggers: str, comment: str = COMMENT
) -> None:
    """Fire ``triggers`` in turn, each by someone allowed to, on a day its window allows."""
    for trigger in triggers:
        item = campaign.reads.get(deliverable_id)
        transition = campaign.registry.definition_for(item).transition(item.state, trigger)
        assert transition is not None, (item.state, trigger)
        actor = actor_for(transition, item.owner)
        assert actor is not None
        prepare(campaign, deliverable_id, trigger)
        make_move(campaign, actor, deliverable_id, trigger, comment,
                  today=day_allowing(campaign, deliverable_id, trigger))


# -- databases ------------------------------------------------------------------


def fresh_db(template: Path, directory: Path) -> Path:
    """A private copy of the fixture template database (for hypothesis examples)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "campaign.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    return target


def refusal_count(db: Path | str) -> int:
    return int(query(db, "SELECT count(*) FROM access_refusal")[0][0])


# -- refusals -------------------------------------------------------------------

#: The exit code each error must carry, spelled out (not read from the classes).
EXIT_CODES: dict[type[CampaignError], int] = {
    PermissionDenied: 3,
    TransitionNotAllowed: 4,
    Conflict: 5,
    NotFound: 6,
    InvalidInput: 7,
    AuditVerificationFailed: 8,
}


def refused(
    campaign: Campaign,
    db: Path | str,
    error: type[CampaignError],
    call: Callable[[], object],
    actor: str | None = None,
) -> CampaignError:
    """Run ``call``, which must raise exactly ``error`` and write nothing
    (``db``: the SQLite file or the URL of the campaign's database).

    A permission refusal (and only that) adds one row to the access log,
    naming ``actor``; everything else must leave even that log untouched.
    """
    before, refusals = snapshot(db), campaign.audit.refusals()
    try:
        call()
    except CampaignError as raised:
        caught = raised
    else:
        raise AssertionError(f"expected {error.__name__}, but it went through")
    assert type(caught) is error, f"expected {error.__name__}, got {caught!r}"
    assert caught.exit_code == EXIT_CODES[error]
    assert snapshot(db) == before, "a refused write changed the database"
    after = campaign.audit.refusals()
    if error is PermissionDenied:
        assert after[: len(refusals)] == refusals
        assert len(after) == len(refusals) + 1
        assert after[-1].actor == actor
    else:
        assert after == refusals, "only permission refusals belong in the access log"
    return caught
