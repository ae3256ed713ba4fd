"""Random walks against a pure model.

For every shipped type, hypothesis draws a deliverable's owner and a sequence
of attempts (who, which trigger, a revision with complete or incomplete
content, or a daily tick — and for a rectification item its fields, progress
notes and rated verification; with or without a reason; with a current,
stale or no expected version; on which day of three weeks spanning three
weekends).  A model computed from the spec and the documented rectification
rules alone — not from :mod:`workflow.machine.policy` or :mod:`workflow.machine.publicity` —
predicts each outcome, including the content rule and the publicity window;
after every step the stored deliverable and its windows must match the model,
a refusal must have changed nothing, and at the end the audit chain must
verify and replay.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from conftest import ROLES_OF, SHIPPED_TYPES, snapshot
from drive import (
    RECTIFICATION,
    SPECS,
    USER_IDS,
    at_day,
    complete_content,
    creators,
    may_fire,
    may_revise,
    rectification_fields,
    refusal_count,
    window_allows,
    window_rule,
    working_days_after,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plan_helpers import share_specs

from workflow import Campaign, Content, from_text
from workflow.errors import (
    CampaignError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.spec.definition import TransitionSpec, WorkflowSpec

#: Examples' databases live in memory-backed storage where there is some: every
#: commit is an fsync (synchronous=FULL), which is what makes a walk slow on disk.
OK = "ok"
REVISE = "<revise>"  # with content that has every required section
REVISE_PARTIAL = "<revise, a section short>"
TICK = "<tick>"  # the daily run that closes ended publicity windows
# A rectification item's own writes (campaign rectification set|note|verify).
SET_FIELDS = "<set the five fields>"
NOTE = "<progress note>"
RATE = "<verify rated 好>"
RATE_POOR = "<verify rated 差>"  # does not confirm the effect: refused
RATINGS = {RATE: "好", RATE_POOR: "差"}
RESPONSIBLE = "member2"  # the responsible person the fields name
GHOST = "ghost"  # not a user
COMMENTS = (None, "", "  ", "\u3000", "理由", "  同意  ")
VERSIONS = (None, "current", "stale", "ahead")
#: Friday 2014-06-13 to Friday 2014-07-04: windows opened on a Friday, a
#: weekend or a weekday, and tried before, on and after their last day.
FIRST_DAY = date(2014, 6, 13)
DAYS = tuple(FIRST_DAY + timedelta(days=n) for n in range(22))


@dataclass(frozen=True)
class Step:
    user: str
    action: str  # a trigger, an unknown trigger, or one of the <...> actions above
    comment: str | None
    version: str | None
    day: date = FIRST_DAY


def own_actions(spec: WorkflowSpec) -> list[str]:
    """The writes a type has besides moves and revisions."""
    return [SET_FIELDS, NOTE, RATE, RATE_POOR] if spec.id == RECTIFICATION else []


def any_step(spec: WorkflowSpec) -> st.SearchStrategy[Step]:
    """Anything at all: mostly refusals."""
    return st.builds(
        Step,
        user=st.sampled_from([*USER_IDS, GHOST]),
        action=st.sampled_from([*sorted(spec.triggers), REVISE, REVISE_PARTIAL, TICK,
                                *own_actions(spec), "no_such_trigger"]),
        comment=st.sampled_from(COMMENTS),
        version=st.sampled_from(VERSIONS),
        day=st.sampled_from(DAYS),
    )


def likely_step(model: Model) -> st.SearchStrategy[Step]:
    """A move the spec offers from the model's state, by someone holding one of its
    roles (the owner rules and reasons are still left to chance), so walks go deep."""
    options = [
        (user, t.trigger) for t in model.spec.transitions if model.state in t.source
        for user in USER_IDS if set(ROLES_OF[user]) & set(t.roles)
    ]
    if model.state in model.spec.editable_states:
        options += [(model.owner, REVISE), (model.owner, REVISE_PARTIAL)]
    if model.closes_on is not None:
        options += [(user, TICK) for user in USER_IDS if "office" in ROLES_OF[user]]
    if own_actions(model.spec):
        office = [user for user in USER_IDS if "office" in ROLES_OF[user]]
        if model.state in model.spec.editable_states:
            options += [(model.owner, SET_FIELDS), (office[0], SET_FIELDS)]
        if model.state == "in_progress":
            options += [(model.owner, NOTE), (RESPONSIBLE, NOTE)]
        if model.state == "verification":
            options += [(user, rate) for user in office for rate in (RATE, RATE_POOR)]
    if not options:  # a final state
        return any_step(model.spec)
    return st.builds(
        lambda pick, comment, version, day: Step(pick[0], pick[1], comment, version, day),
        st.sampled_from(options), st.sampled_from(COMMENTS),
        st.sampled_from((None, None, "current", "stale")), st.sampled_from(DAYS),
    )


def good_step(model: Model) -> st.SearchStrategy[Step]:
    """A step the model expects to go through — a move, a revision, or a tick that
    closes a window — the action first, so that walks reach publicity and leave
    it every way.  Days: a few across the fortnight, and the window's last day and
    the day after."""
    days = {DAYS[0], DAYS[7], DAYS[14], DAYS[-1]}
    if model.closes_on is not None:
        days |= {model.closes_on, model.closes_on + timedelta(days=1)}
    good: dict[str, list[Step]] = {}
    for action in [*sorted(model.spec.triggers), REVISE, REVISE_PARTIAL, TICK,
                   *own_actions(model.spec)]:
        for user in USER_IDS:
            for day in sorted(days):
                step = Step(user, action, "理由", None, day)
                if model.expect(step) is OK:
                    good.setdefault(action, []).append(step)
    if not good:
        return any_step(model.spec)
    # Moves three times as likely as other writes: walks should get somewhere.
    actions = [a for a in sorted(good) for _ in range(3 if a in model.spec.triggers else 1)]
    return st.sampled_from(actions).flatmap(lambda action: st.sampled_from(good[action]))


def partial_content(spec: WorkflowSpec, body: str) -> Content:
    """Complete content but for the first required section (all of it if none is required)."""
    if not spec.required_sections:
        return from_text(f"# 材料\n\n{body}\n")
    short = spec.model_copy(update={"required_sections": spec.required_sections[1:]})
    return complete_content(short, body=body)


@dataclass
class Model:
    """What the engine must do, from the spec alone."""

    spec: WorkflowSpec
    owner: str
    state: str
    version: int = 1
    complete: bool = True  # the latest revision has every required section
    closes_on: date | None = None  # the last day of the open publicity window
    opened_on: date | None = None  # ... and its first
    ended: bool = False  # a tick ended the window where it stands: no more objections
    windows: int = 0  # publicity windows opened so far
    fields: bool = False  # a rectification item's five fields are set
    noted: bool = False  # ... and it has a progress note since it (re)entered in_progress
    NOTHING = "nothing to do"  # a tick that finds no ended window: OK, nothing written

    @property
    def responsible(self) -> str | None:
        """The 整改责任人 answers for the item beside its owner once the fields name them."""
        return RESPONSIBLE if self.fields else None

    def move(self, trigger: str) -> TransitionSpec | None:
        return self.spec.transition(self.state, trigger)

    def expect(self, step: Step) -> object:
        if step.action == TICK:
            return self.expect_tick(step)
        if step.user == GHOST:
            return NotFound
        if step.action in (SET_FIELDS, NOTE):
            return self.expect_rectification(step)
        if step.action in RATINGS:
            return self.expect_rating(step)
        if step.action in (REVISE, REVISE_PARTIAL):
            if step.user != self.owner:
                return PermissionDenied
            if not may_revise(step.user, self.owner, self.state, self.spec):
                return TransitionNotAllowed
            return OK
        if step.version in ("stale", "ahead"):
            return Conflict
        if step.action not in {t.trigger for t in self.spec.transitions}:
            return InvalidInput
        move = self.move(step.action)
        if move is None:
            return TransitionNotAllowed
        if not may_fire(step.user, self.owner, move, self.responsible):
            return PermissionDenied
        if "requires_comment" in move.rules and not (step.comment or "").strip():
            return TransitionNotAllowed
        if "content_complete" in move.rules and not self.complete:
            return TransitionNotAllowed
        if not window_allows(self.spec, step.action, self.state, self.closes_on, step.day,
                             opened_on=self.opened_on, ended=self.ended):
            return TransitionNotAllowed
        if self.spec.id == RECTIFICATION and (
            step.action == "verify"  # only with a rating
            or (step.action in ("submit", "to_supervisors") and not self.fields)
            or (step.action == "claim_done" and not self.noted)
        ):
            return TransitionNotAllowed
        return OK

    def expect_rectification(self, step: Step) -> object:
        """Fields: by the owner or the office, while editable.  A progress note: by
        the owner or the responsible person, while in progress."""
        if step.action == SET_FIELDS:
            if step.user != self.owner and "office" not in ROLES_OF[step.user]:
                return PermissionDenied
            return OK if self.state in self.spec.editable_states else TransitionNotAllowed
        if step.user not in {self.owner, RESPONSIBLE if self.fields else self.owner}:
            return PermissionDenied
        return OK if self.state == "in_progress" else TransitionNotAllowed

    def expect_rating(self, step: Step) -> object:
        """``verify`` made with a rating: the move's own checks, then the rating's."""
        if step.version in ("stale", "ahead"):
            return Conflict
        move = self.move("verify")
        if move is None:
            return TransitionNotAllowed
        if not may_fire(step.user, self.owner, move, self.responsible):
            return PermissionDenied
        if step.action == RATE_POOR or not self.fields:
            return TransitionNotAllowed
        return OK

    def expect_tick(self, step: Step) -> object:
        """A tick closes the window once its last day is past: by the close trigger
        (fired as the ticking user), else by ending it (an office task)."""
        if self.closes_on is None or step.day <= self.closes_on:
            return self.NOTHING
        if step.user == GHOST:
            return NotFound
        assert self.spec.publicity is not None
        close = self.spec.publicity.close_trigger
        if close is not None:
            move = self.move(close)
            assert move is not None
            allowed = may_fire(step.user, self.owner, move, self.responsible)
        else:
            allowed = "office" in ROLES_OF[step.user]
        return OK if allowed else PermissionDenied

    def apply(self, step: Step) -> int:
        """Follow a step that went through; returns the audit events it appended."""
        self.version += 1
        if step.action in (REVISE, REVISE_PARTIAL):
            self.complete = step.action == REVISE or not self.spec.required_sections
            return 1
        if step.action == SET_FIELDS:
            self.fields = True
            return 1
        if step.action == NOTE:
            self.noted = True
            return 1
        trigger = step.action
        if step.action == TICK:
            assert self.spec.publicity is not None
            if self.spec.publicity.close_trigger is None:
                self.closes_on = None  # ended where it stands
                self.ended = True
                return 1
            trigger = self.spec.publicity.close_trigger
        if step.action in RATINGS:
            trigger = "verify"
            self.version += 1  # the rating is an event of its own
        move = self.move(trigger)
        assert move is not None
        if window_rule(self.spec, trigger, self.state) is not None:
            self.closes_on, self.opened_on, self.ended = None, None, False
        self.state = move.dest
        if self.spec.publicity is not None and move.dest == "publicity":
            self.closes_on = working_days_after(step.day, self.spec.publicity.working_days)
            self.opened_on = step.day
            self.windows += 1
        if move.dest == "in_progress":
            self.noted = False
        return 2 if step.action in RATINGS else 1


def attempt(campaign: Campaign, deliverable_id: int, step: Step, model: Model) -> object:
    expected_version = {
        None: None, "current": model.version, "stale": model.version - 1,
        "ahead": model.version + 1,
    }[step.version]
    body = f"修改 v{model.version}"
    try:
        if step.action == REVISE:
            campaign.deliverables.revise(step.user, deliverable_id, complete_content(model.spec,
                                                                                     body=body))
        elif step.action == REVISE_PARTIAL:
            campaign.deliverables.revise(step.user, deliverable_id, partial_content(model.spec,
                                                                                    body))
        elif step.action == SET_FIELDS:
            fields = {**rectification_fields(model.owner), "responsible": RESPONSIBLE}
            campaign.rectification.set(step.user, deliverable_id, **fields)  # type: ignore[arg-type]
        elif step.action == NOTE:
            event = campaign.rectification.note(step.user, deliverable_id, body)
            assert (event.actor, event.action, event.comment) == (
                step.user, "rectification.progress", body)
        elif step.action in RATINGS:
            event = at_day(campaign, step.day).rectification.verify(
                step.user, deliverable_id, RATINGS[step.action], step.comment,
                expected_version=expected_version)
            assert (event.actor, event.trigger, event.source) == (
                step.user, "verify", model.state)
            assert event.comment == ((step.comment or "").strip() or None)
        elif step.action == TICK:
            events = at_day(campaign, step.day).moves.tick(step.user)
            if not events:
                return Model.NOTHING
            (event,) = events
            assert (event.actor, event.source) == (step.user, model.state)
            assert model.closes_on is not None
            assert str(model.closes_on) in (event.comment or "")
        else:
            event = at_day(campaign, step.day).moves.fire(
                step.user, deliverable_id, step.action, step.comment,
                expected_version=expected_version)
            assert (event.actor, event.trigger, event.source) == (
                step.user, step.action, model.state)
            assert event.comment == ((step.comment or "").strip() or None)
    except CampaignError as error:
        return type(error)
    return OK


#: Examples per definition.  The property is the engine's: the model, the state
#: machine, the policy and the publicity calendar are the same code on both
#: backends, and SQLite walks the full count.  What PostgreSQL adds is its SQL
#: (the same statements in another dialect, every one of which a few walks
#: already run: create, move, refuse, tick, object, verify), at about twice the
#: cost per move (a round trip per statement), so the server walks fewer.
EXAMPLES = {"sqlite": 25, "postgresql": 5}
#: The inner loop's share of them (``make test``); ``make soak`` (CI) walks all.
QUICK_EXAMPLES = {"sqlite": 6, "postgresql": 2}


def random_walk(people_dbs: Callable[[], AbstractContextManager[str]], type_id: str,
                data: st.DataObject) -> None:
    spec = SPECS[type_id]
    owner = data.draw(st.sampled_from(creators(spec)), label="owner")
    length = data.draw(st.integers(min_value=1, max_value=30), label="length")
    with people_dbs() as db_url:
        # The parsed specs are shared by definition hash (the engine still reads
        # which definition is current from the database): parsing the same YAML
        # for every example proves nothing the loader's own tests do not.
        campaign = share_specs(Campaign.open(db_url))
        try:
            walk_and_check(campaign, db_url, type_id, owner, length, data)
        finally:
            campaign.store.engine.dispose()


def walks(examples: dict[str, int]) -> dict[str, Callable[..., None]]:
    return {backend: settings(max_examples=count, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])(
                                  given(data=st.data())(random_walk))
            for backend, count in examples.items()}


WALKS, QUICK_WALKS = walks(EXAMPLES), walks(QUICK_EXAMPLES)


@pytest.mark.parametrize("type_id", SHIPPED_TYPES)
def test_random_walk(
    backend: str, people_dbs: Callable[[], AbstractContextManager[str]], type_id: str
) -> None:
    QUICK_WALKS[backend](people_dbs, type_id)


@pytest.mark.slow
@pytest.mark.parametrize("type_id", SHIPPED_TYPES)
def test_random_walk_soak(
    backend: str, people_dbs: Callable[[], AbstractContextManager[str]], type_id: str
) -> None:
    WALKS[backend](people_dbs, type_id)


def walk_and_check(
    campaign: Campaign, db_url: str, type_id: str, owner: str, length: int,
    data: st.DataObject,
) -> None:
    spec = campaign.registry.definition(type_id)
    assert spec == SPECS[type_id]  # the model reads the very spec the engine runs
    item = campaign.deliverables.create(owner, type_id, "随机游走", content=complete_content(spec))
    model = Model(spec, owner, spec.initial)
    refusals = refusal_count(db_url)
    # Each step's "before" is the last step's "after": the reads between two
    # steps then count as part of the next one, which must still account for
    # every change (a read that wrote would fail it), so nothing is missed.
    before = snapshot(db_url)
    for number in range(length):
        good = good_step(model)  # twice: half the steps go through
        step = data.draw(st.one_of(any_step(spec), likely_step(model), good, good),
                         label=f"step {number}")
        expected = model.expect(step)
        outcome = attempt(campaign, item.id, step, model)
        where = f"step {number} {step} in {model.state!r} v{model.version}"
        assert outcome == expected, where
        after = snapshot(db_url)
        if outcome is OK:
            new = model.apply(step)
            assert after.events[:-new] == before.events, where
            assert len(after.events) == len(before.events) + new, where
        elif outcome is Model.NOTHING:
            assert after == before, f"a tick with nothing to close wrote: {where}"
        else:
            assert after == before, f"refused but changed: {where}"
            if outcome is PermissionDenied:
                refusals += 1
        assert refusal_count(db_url) == refusals, where
        stored = campaign.reads.get(item.id)
        assert (stored.state, stored.version) == (model.state, model.version), where
        windows = campaign.reads.windows(item.id)
        assert len(windows) == model.windows, where
        opened = [w.closes_on for w in windows if w.closed_at is None]
        assert opened == ([model.closes_on] if model.closes_on else []), where
        before = after
    event(f"ended in {model.state}")
    event(f"{model.windows} publicity window(s)")
    report = campaign.audit.verify()
    assert report.deliverables == 1
    assert len(campaign.reads.history(item.id)) == model.version
