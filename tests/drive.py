"""Test helpers: bring a fresh deliverable into any state of its definition.

The path is the shortest one through the spec (breadth-first from the initial
state); every move is fired by someone the spec lets fire it, always with a
comment.  Expected permissions are computed here from the spec alone, never by
asking :mod:`workflow.policy`, so the tests judge the engine independently.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from conftest import DEFINITIONS, PEOPLE, ROLES_OF, SHIPPED_TYPES, snapshot, text

from workflow import Campaign
from workflow.content import Content
from workflow.definition import TransitionSpec, WorkflowSpec
from workflow.errors import (
    AuditVerificationFailed,
    CampaignError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.loader import load_file
from workflow.models import DeliverableView

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


# -- who may do what, computed from the spec ----------------------------------


def may_fire(user: str, owner: str, transition: TransitionSpec) -> bool:
    if not set(ROLES_OF[user]) & set(transition.roles):
        return False
    if transition.owner_only and user != owner:
        return False
    return not (transition.not_owner and user == owner)


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


def shortest_path(spec: WorkflowSpec, target: str) -> list[TransitionSpec]:
    """The transitions of a shortest path from the initial state to ``target``."""
    came_from: dict[str, tuple[str, TransitionSpec] | None] = {spec.initial: None}
    queue = deque([spec.initial])
    while queue:
        state = queue.popleft()
        if state == target:
            break
        for transition in spec.transitions_from(state):
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
    path = shortest_path(spec, state)
    candidates = [wanted] if wanted else creators(spec)
    for owner in candidates:
        if all(actor_for(t, owner) for t in path):
            return owner
    raise ValueError(f"{spec.id}: nobody can drive a deliverable to {state!r}")


def drive(
    campaign: Campaign,
    type_id: str,
    state: str | None = None,
    *,
    owner: str | None = None,
    content: Content | None = None,
    title: str = "测试材料",
) -> DeliverableView:
    """Create a deliverable of ``type_id`` and fire the shortest path to ``state``."""
    spec = campaign.definition(type_id)
    state = state or spec.initial
    owner = owner_for(spec, state, owner)
    item = campaign.create(owner, type_id, title, content=content or text())
    for transition in shortest_path(spec, state):
        actor = actor_for(transition, owner)
        assert actor is not None
        campaign.fire(actor, item.id, transition.trigger, COMMENT)
    view = campaign.get(item.id)
    assert view.state == state
    return view


def advance(
    campaign: Campaign, deliverable_id: int, *triggers: str, comment: str = COMMENT
) -> None:
    """Fire ``triggers`` in turn, each by someone allowed to."""
    for trigger in triggers:
        item = campaign.get(deliverable_id)
        transition = campaign.definition_for(item).transition(item.state, trigger)
        assert transition is not None, (item.state, trigger)
        actor = actor_for(transition, item.owner)
        assert actor is not None
        campaign.fire(actor, deliverable_id, trigger, comment)


# -- databases ------------------------------------------------------------------


def fresh_db(template: Path, directory: Path) -> Path:
    """A private copy of the fixture template database (for hypothesis examples)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "campaign.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    return target


def refusal_count(db_path: Path) -> int:
    with sqlite3.connect(db_path) as raw:
        return int(raw.execute("SELECT count(*) FROM access_refusal").fetchone()[0])


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
    db_path: Path,
    error: type[CampaignError],
    call: Callable[[], object],
    actor: str | None = None,
) -> CampaignError:
    """Run ``call``, which must raise exactly ``error`` and write nothing.

    A permission refusal (and only that) adds one row to the access log,
    naming ``actor``; everything else must leave even that log untouched.
    """
    before, refusals = snapshot(db_path), campaign.refusals()
    try:
        call()
    except CampaignError as raised:
        caught = raised
    else:
        raise AssertionError(f"expected {error.__name__}, but it went through")
    assert type(caught) is error, f"expected {error.__name__}, got {caught!r}"
    assert caught.exit_code == EXIT_CODES[error]
    assert snapshot(db_path) == before, "a refused write changed the database"
    after = campaign.refusals()
    if error is PermissionDenied:
        assert after[: len(refusals)] == refusals
        assert len(after) == len(refusals) + 1
        assert after[-1].actor == actor
    else:
        assert after == refusals, "only permission refusals belong in the access log"
    return caught
