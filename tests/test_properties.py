"""Random walks against a pure model.

For every shipped type, hypothesis draws a deliverable's owner and a sequence
of attempts (who, which trigger or a revision, with or without a reason, with
a current, stale or no expected version).  A model computed from the spec
alone — not from :mod:`workflow.policy` — predicts each outcome; after every
step the stored deliverable must match the model, a refusal must have changed
nothing, and at the end the audit chain must verify and replay.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROLES_OF, SHIPPED_TYPES, snapshot, text
from drive import (
    SPECS,
    USER_IDS,
    creators,
    fresh_db,
    may_fire,
    may_revise,
    refusal_count,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workflow import Campaign, from_text
from workflow.definition import WorkflowSpec
from workflow.errors import (
    CampaignError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)

#: Examples' databases live in memory-backed storage where there is some: every
#: commit is an fsync (synchronous=FULL), which is what makes a walk slow on disk.
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None
OK = "ok"
REVISE = "<revise>"
GHOST = "ghost"  # not a user
COMMENTS = (None, "", "  ", "\u3000", "理由", "  同意  ")
VERSIONS = (None, "current", "stale", "ahead")


@dataclass(frozen=True)
class Step:
    user: str
    action: str  # a trigger, an unknown trigger, or REVISE
    comment: str | None
    version: str | None


def any_step(spec: WorkflowSpec) -> st.SearchStrategy[Step]:
    """Anything at all: mostly refusals."""
    return st.builds(
        Step,
        user=st.sampled_from([*USER_IDS, GHOST]),
        action=st.sampled_from([*sorted(spec.triggers), REVISE, "no_such_trigger"]),
        comment=st.sampled_from(COMMENTS),
        version=st.sampled_from(VERSIONS),
    )


def likely_step(model: Model) -> st.SearchStrategy[Step]:
    """A move the spec offers from the model's state, by someone holding one of its
    roles (the owner rules and reasons are still left to chance), so walks go deep."""
    options = [
        (user, t.trigger) for t in model.spec.transitions if model.state in t.source
        for user in USER_IDS if set(ROLES_OF[user]) & set(t.roles)
    ]
    if model.state in model.spec.editable_states:
        options.append((model.owner, REVISE))
    if not options:  # a final state
        return any_step(model.spec)
    return st.builds(
        lambda pick, comment, version: Step(pick[0], pick[1], comment, version),
        st.sampled_from(options), st.sampled_from(COMMENTS),
        st.sampled_from((None, None, "current", "stale")),
    )


@dataclass
class Model:
    """What the engine must do, from the spec alone."""

    spec: WorkflowSpec
    owner: str
    state: str
    version: int = 1

    def expect(self, step: Step) -> object:
        if step.user == GHOST:
            return NotFound
        if step.action == REVISE:
            if step.user != self.owner:
                return PermissionDenied
            if not may_revise(step.user, self.owner, self.state, self.spec):
                return TransitionNotAllowed
            return OK
        if step.version in ("stale", "ahead"):
            return Conflict
        if step.action not in {t.trigger for t in self.spec.transitions}:
            return InvalidInput
        moves = [t for t in self.spec.transitions
                 if self.state in t.source and t.trigger == step.action]
        if not moves:
            return TransitionNotAllowed
        if not may_fire(step.user, self.owner, moves[0]):
            return PermissionDenied
        if "requires_comment" in moves[0].rules and not (step.comment or "").strip():
            return TransitionNotAllowed
        return OK

    def apply(self, step: Step) -> None:
        if step.action != REVISE:
            move = next(t for t in self.spec.transitions
                        if self.state in t.source and t.trigger == step.action)
            self.state = move.dest
        self.version += 1


def attempt(campaign: Campaign, deliverable_id: int, step: Step, model: Model) -> object:
    expected_version = {
        None: None, "current": model.version, "stale": model.version - 1,
        "ahead": model.version + 1,
    }[step.version]
    try:
        if step.action == REVISE:
            campaign.revise(step.user, deliverable_id, from_text(f"修改 v{model.version}"))
        else:
            event = campaign.fire(step.user, deliverable_id, step.action, step.comment,
                                  expected_version=expected_version)
            assert (event.actor, event.trigger, event.source) == (
                step.user, step.action, model.state)
            assert event.comment == ((step.comment or "").strip() or None)
    except CampaignError as error:
        return type(error)
    return OK


@pytest.mark.parametrize("type_id", SHIPPED_TYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_walk(template_db: Path, type_id: str, data: st.DataObject) -> None:
    spec = SPECS[type_id]
    owner = data.draw(st.sampled_from(creators(spec)), label="owner")
    length = data.draw(st.integers(min_value=1, max_value=20), label="length")
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        db_path = fresh_db(template_db, Path(directory))
        campaign = Campaign.open(f"sqlite:///{db_path}")
        try:
            walk_and_check(campaign, db_path, type_id, owner, length, data)
        finally:
            campaign.engine.dispose()


def walk_and_check(
    campaign: Campaign, db_path: Path, type_id: str, owner: str, length: int,
    data: st.DataObject,
) -> None:
    item = campaign.create(owner, type_id, "随机游走", content=text())
    spec = campaign.definition(type_id)
    assert spec == SPECS[type_id]  # the model reads the very spec the engine runs
    model = Model(spec, owner, spec.initial)
    refusals = refusal_count(db_path)
    for number in range(length):
        step = data.draw(st.one_of(any_step(spec), likely_step(model)), label=f"step {number}")
        expected = model.expect(step)
        before = snapshot(db_path)
        outcome = attempt(campaign, item.id, step, model)
        where = f"step {number} {step} in {model.state!r} v{model.version}"
        assert outcome == expected, where
        after = snapshot(db_path)
        if outcome is OK:
            model.apply(step)
            assert after.events[:-1] == before.events, where
            assert len(after.events) == len(before.events) + 1, where
        else:
            assert after == before, f"refused but changed: {where}"
            if outcome is PermissionDenied:
                refusals += 1
        assert refusal_count(db_path) == refusals, where
        stored = campaign.get(item.id)
        assert (stored.state, stored.version) == (model.state, model.version), where
    event(f"ended in {model.state}")
    report = campaign.verify()
    assert report.deliverables == 1
    assert len(campaign.history(item.id)) == model.version
