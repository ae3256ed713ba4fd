"""Who may fire what: every transition of every shipped definition, tried by every user.

The expected outcome comes from the spec alone (roles, owner_only, not_owner,
and for a move out of publicity its window: an objection only while the window
is open, any other way out only after it); a success must move the deliverable
and append exactly one audit event, a refusal must leave the database exactly
as it was, and a permission refusal be noted in the access log.
"""

from __future__ import annotations

from datetime import date

import pytest
from conftest import ROLES_OF, snapshot
from drive import (
    COMMENT,
    OBJECTION,
    SPECS,
    USER_IDS,
    actor_for,
    all_moves,
    at_day,
    creators,
    day_allowing,
    day_refusing,
    drive,
    follow_ups,
    make_move,
    may_fire,
    moves,
    needs_rating,
    open_window,
    owner_for,
    owner_for_move,
    prepare,
    refused,
    window_allows,
    window_rule,
    working_days_after,
)
from plan_helpers import query

from workflow import Campaign
from workflow.errors import (
    CampaignError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.spec.definition import KNOWN_ROLES
from workflow.store.views import EventView, WindowView

MOVES = all_moves()
MOVE_IDS = [f"{t}-{trigger}-from-{source}" for t, trigger, source in MOVES]


def fire_and_check(
    campaign: Campaign, db_url: str, deliverable_id: int, user: str, trigger: str,
    comment: str | None = COMMENT,
) -> None:
    """Make the move as ``user`` on a day its publicity window allows; it must
    succeed and leave exactly one correct transition event (followed only by the
    events the move is known to add, e.g. a rating), its window opened or closed
    as the spec says, and its reason (if the move needs one) quoted as an opinion."""
    item = campaign.reads.get(deliverable_id)
    extra = follow_ups(item.type, trigger)
    spec = campaign.registry.definition_for(item)
    transition = spec.transition(item.state, trigger)
    assert transition is not None
    window = open_window(campaign, deliverable_id)
    today = day_allowing(campaign, deliverable_id, trigger)
    assert window_allows(spec, trigger, item.state, window and window.closes_on,
                         today or campaign.store.today())
    before, refusals = snapshot(db_url), campaign.audit.refusals()

    event = make_move(campaign, user, deliverable_id, trigger, comment, today=today)

    after = campaign.reads.get(deliverable_id)
    assert after.state == transition.dest
    assert after.version == item.version + 1 + len(extra)
    stored = snapshot(db_url)
    new = len(stored.events) - len(before.events)
    assert stored.events[:-new] == before.events and new == 1 + len(extra)
    assert stored.revisions == before.revisions
    assert campaign.audit.refusals() == refusals
    history = campaign.reads.history(deliverable_id)
    tail = history[len(history) - len(extra):]
    assert history[-new] == event
    assert [e.action for e in tail] == extra
    assert all((e.source, e.dest) == (transition.dest, transition.dest) for e in tail)
    assert event.hash == stored.events[-new]
    assert event.action == "transition"
    assert event.actor == user
    assert event.role in set(ROLES_OF[user]) & set(transition.roles)
    assert event.deliverable_id == deliverable_id
    assert (event.trigger, event.source, event.dest) == (trigger, item.state, transition.dest)
    assert event.comment == comment
    assert item.revision is not None
    assert event.revision == campaign.reads.revision(deliverable_id).sha256 == item.revision.sha256
    check_window_and_opinion(campaign, db_url, item.state, transition.dest, event,
                             before.windows, window, today)


def check_window_and_opinion(
    campaign: Campaign, db_url: str, source: str, dest: str, event: EventView,
    windows_before: list[tuple[object, ...]], window: WindowView | None, today: date | None,
) -> None:
    """What a successful move writes besides its event, as the spec says."""
    item = campaign.reads.get(event.deliverable_id or 0)
    spec = campaign.registry.definition_for(item)
    assert event.trigger is not None
    windows = campaign.reads.windows(item.id)
    rule = window_rule(spec, event.trigger, source)
    if rule is not None:
        assert window is not None, "publicity under a publicity block has an open window"
        assert windows[-1].closed_at is not None
        assert windows[-1].outcome == ("objection" if rule == OBJECTION else "ended")
    if spec.publicity is not None and dest == "publicity":
        opened_on = today or campaign.store.today()
        assert windows[-1].opened_on == opened_on
        assert windows[-1].closes_on == working_days_after(opened_on,
                                                           spec.publicity.working_days)
        assert windows[-1].closed_at is None and windows[-1].outcome is None
        assert len(snapshot(db_url).windows) == len(windows_before) + 1
    elif rule is None:
        assert snapshot(db_url).windows == windows_before, "no window involved"
    transition = spec.transition(source, event.trigger)
    assert transition is not None
    opinions = query(db_url, "SELECT author_id, text, revision_sha FROM opinion "
                             "WHERE event_seq = :seq", seq=event.seq)
    if transition.requires_comment:
        assert opinions == [(event.actor, event.comment, event.revision)]
    else:
        assert opinions == []


#: Why the matrix's [postgresql] runs are soaks, not the inner loop's.
SAME_POLICY = ("the policy is the same code on both backends; the [sqlite] run checks every "
               "move in the inner loop, and the server's statements run in many other tests")


@pytest.mark.soak_on_postgresql(SAME_POLICY)
@pytest.mark.parametrize(("type_id", "trigger", "source"), MOVES, ids=MOVE_IDS)
def test_matrix(
    campaign: Campaign, db_url: str, type_id: str, trigger: str, source: str
) -> None:
    """Every user in turn fires the move.

    One database per move keeps it fast: a refusal leaves the deliverable where
    it was, so the next user tries the same one; after a success a fresh one is
    driven to the source state.  Out of publicity, someone allowed to is first
    refused on a day the window forbids (naming its last day), then goes
    through on a day it allows; others are refused on the allowed day.
    """
    spec = campaign.registry.definition(type_id)
    transition = spec.transition(source, trigger)
    assert transition is not None
    owner = owner_for_move(spec, transition, source)
    item = drive(campaign, type_id, source, owner=owner)
    prepare(campaign, item.id, trigger)
    for user in USER_IDS:
        try:
            if may_fire(user, item.owner, transition):
                if needs_rating(type_id, trigger):  # a plain fire is refused: no rating
                    unrated = refused(
                        campaign, db_url, TransitionNotAllowed,
                        lambda: campaign.moves.fire(user, item.id, trigger, COMMENT))  # noqa: B023
                    assert "rating" in str(unrated)
                wrong_day = day_refusing(campaign, item.id, trigger)
                if wrong_day is not None:
                    window = open_window(campaign, item.id)
                    assert window is not None
                    assert not window_allows(spec, trigger, source, window.closes_on, wrong_day)
                    early_or_late = refused(
                        campaign, db_url, TransitionNotAllowed,
                        lambda: at_day(campaign, wrong_day).moves.fire(  # noqa: B023
                            user, item.id, trigger, COMMENT),  # noqa: B023
                    )
                    assert str(window.closes_on) in str(early_or_late)
                fire_and_check(campaign, db_url, item.id, user, trigger)
                item = drive(campaign, type_id, source, owner=owner)
                prepare(campaign, item.id, trigger)
                continue
            day = day_allowing(campaign, item.id, trigger)
            error = refused(
                campaign, db_url, PermissionDenied,
                lambda: make_move(campaign, user, item.id, trigger, today=day),  # noqa: B023
                actor=user,
            )
        except (AssertionError, CampaignError) as failure:
            raise AssertionError(f"{user} (roles {ROLES_OF[user]}, owner {item.owner}): "
                                 f"{failure!r}") from failure
        assert isinstance(error, PermissionDenied)
        assert error.deliverable_id == item.id
        refusal = campaign.audit.refusals()[-1]
        assert refusal.deliverable_id == item.id
        assert trigger in refusal.action


def test_matrix_covers_every_outcome() -> None:
    """The matrix must see both verdicts for every move, else it would prove little —
    except an objection during publicity, which everybody may raise: there it
    must see every user allowed."""
    objections = set()
    for type_id, trigger, source in MOVES:
        spec = SPECS[type_id]
        transition = spec.transition(source, trigger)
        assert transition is not None
        owner = owner_for_move(spec, transition, source)
        verdicts = {may_fire(u, owner, transition) for u in USER_IDS}
        if window_rule(spec, trigger, source) == OBJECTION:
            objections.add(type_id)
            assert set(transition.roles) == set(KNOWN_ROLES), (type_id, trigger)
            assert transition.requires_comment, (type_id, trigger)
            assert verdicts == {True}, (type_id, trigger)
        else:
            assert verdicts == {True, False}, (type_id, trigger)
    assert objections == {t for t, spec in SPECS.items() if spec.publicity is not None}
    assert objections >= {"self_review", "rectification_plan", "rectification_item"}


def test_matrix_covers_both_window_verdicts() -> None:
    """Every move out of a publicity window is tried on a day it is refused and on
    a day it is allowed: the model must tell the two apart for each of them."""
    windowed = [(t, tr, s) for t, tr, s in MOVES if window_rule(SPECS[t], tr, s)]
    assert {tr for _, tr, _ in windowed} >= {"object", "archive", "start"}
    last_day = date(2014, 6, 20)
    for type_id, trigger, source in windowed:
        spec = SPECS[type_id]
        verdicts = [window_allows(spec, trigger, source, last_day, day)
                    for day in (date(2014, 6, 13), last_day, date(2014, 6, 21))]
        objection = window_rule(spec, trigger, source) == OBJECTION
        assert verdicts == ([True, True, False] if objection else [False, False, True])


# -- the owner rules, for every possible owner ------------------------------------

def _possible_owners(type_id: str, trigger: str, source: str) -> list[str]:
    """Creators holding a role of the transition who can bring a deliverable to ``source``."""
    spec = SPECS[type_id]
    transition = spec.transition(source, trigger)
    assert transition is not None
    owners = []
    for owner in creators(spec):
        if not set(ROLES_OF[owner]) & set(transition.roles):
            continue
        try:
            owner_for(spec, source, owner)
        except ValueError:
            continue
        owners.append(owner)
    return owners


OWNER_CASES = [
    (type_id, transition.trigger, source)
    for type_id, spec in SPECS.items()
    for transition, source in moves(spec)
    if (transition.owner_only or transition.not_owner)
    and _possible_owners(type_id, transition.trigger, source)
]


@pytest.mark.soak_on_postgresql(SAME_POLICY)
@pytest.mark.parametrize(
    ("type_id", "trigger", "source"), OWNER_CASES,
    ids=[f"{t}-{tr}-from-{s}" for t, tr, s in OWNER_CASES],
)
def test_owner_as_actor(
    campaign: Campaign, db_url: str, type_id: str, trigger: str, source: str
) -> None:
    """owner_only: the owner may, a peer with the same roles may not; not_owner: the reverse.

    Tried for every creator who could be the owner, not just the one the matrix uses.
    """
    for owner in _possible_owners(type_id, trigger, source):
        _owner_rules(campaign, db_url, type_id, trigger, source, owner)


def _owner_rules(
    campaign: Campaign, db_url: str, type_id: str, trigger: str, source: str, owner: str
) -> None:
    transition = campaign.registry.definition(type_id).transition(source, trigger)
    assert transition is not None
    item = drive(campaign, type_id, source, owner=owner)
    assert item.owner == owner
    prepare(campaign, item.id, trigger)
    peers = [u for u in USER_IDS if u != owner and set(ROLES_OF[u]) & set(transition.roles)]
    assert peers, "two people per role: there is always a peer"
    day = day_allowing(campaign, item.id, trigger)  # the window is not what refuses
    if transition.owner_only:
        refused(campaign, db_url, PermissionDenied,
                lambda: make_move(campaign, peers[0], item.id, trigger, today=day),
                actor=peers[0])
        fire_and_check(campaign, db_url, item.id, owner, trigger)
    else:
        error = refused(campaign, db_url, PermissionDenied,
                        lambda: make_move(campaign, owner, item.id, trigger, today=day),
                        actor=owner)
        assert "owner" in str(error)
        fire_and_check(campaign, db_url, item.id, peers[0], trigger)


def test_owner_cases_cover_both_rules() -> None:
    rules = set()
    for type_id, trigger, source in OWNER_CASES:
        transition = SPECS[type_id].transition(source, trigger)
        assert transition is not None
        rules.add("owner_only" if transition.owner_only else "not_owner")
    assert rules == {"owner_only", "not_owner"}


# -- wrong moves ------------------------------------------------------------------


STATES = [(type_id, s.name) for type_id, spec in SPECS.items() for s in spec.states]


@pytest.mark.parametrize(("type_id", "state"), STATES, ids=[f"{t}-in-{s}" for t, s in STATES])
def test_trigger_in_the_wrong_state_is_not_allowed(
    campaign: Campaign, db_url: str, type_id: str, state: str
) -> None:
    """Every trigger of the type that has no move from ``state`` is refused there."""
    item = drive(campaign, type_id, state)
    spec = campaign.registry.definition(type_id)
    wrong = sorted(t for t in spec.triggers if spec.transition(state, t) is None)
    for trigger in wrong:
        # Someone who could fire the trigger from its proper state: a refusal
        # for the state, not for the person.
        transition = next(t for t in spec.transitions if t.trigger == trigger)
        # The principal's own road is nobody's on another's deliverable: a
        # principal, refused for the state before he is for the owner.
        actor = actor_for(transition, item.owner) or next(
            u for u in USER_IDS if set(ROLES_OF[u]) & set(transition.roles))
        error = refused(campaign, db_url, TransitionNotAllowed,
                        lambda: campaign.moves.fire(actor, item.id, trigger, COMMENT))  # noqa: B023
        assert trigger in str(error)
    if spec.state(state).final:
        assert wrong == sorted(spec.triggers), "nothing leaves a final state"


@pytest.mark.parametrize("type_id", sorted(SPECS))
def test_unknown_trigger_is_invalid_input(campaign: Campaign, db_url: str, type_id: str) -> None:
    item = drive(campaign, type_id)
    for trigger in ("no_such_trigger", "SUBMIT", "", "submit "):
        refused(campaign, db_url, InvalidInput,
                lambda: campaign.moves.fire(item.owner, item.id, trigger, COMMENT))  # noqa: B023


def test_trigger_of_another_type_is_invalid_input(campaign: Campaign, db_url: str) -> None:
    assert "verify" in SPECS["rectification_item"].triggers
    assert "verify" not in SPECS["self_review"].triggers
    item = drive(campaign, "self_review")
    refused(campaign, db_url, InvalidInput,
            lambda: campaign.moves.fire("office1", item.id, "verify", COMMENT))


NEEDS_REASON = [
    (type_id, transition.trigger, source)
    for type_id, spec in SPECS.items()
    for transition, source in moves(spec)
    if transition.requires_comment
]


def test_the_shipped_definitions_require_reasons() -> None:
    assert {trigger for _, trigger, _ in NEEDS_REASON} >= {"return", "reject", "reopen"}


@pytest.mark.parametrize(
    ("type_id", "trigger", "source"), NEEDS_REASON,
    ids=[f"{t}-{tr}-from-{s}" for t, tr, s in NEEDS_REASON],
)
def test_a_reason_is_required(
    campaign: Campaign, db_url: str, type_id: str, trigger: str, source: str
) -> None:
    """No comment, or only whitespace (ideographic space too): refused, nothing written."""
    item = drive(campaign, type_id, source)
    prepare(campaign, item.id, trigger)
    transition = campaign.registry.definition(type_id).transition(source, trigger)
    assert transition is not None
    actor = actor_for(transition, item.owner)
    assert actor is not None
    day = day_allowing(campaign, item.id, trigger)  # the window is not what refuses
    for comment in (None, "", "   ", "\t\n\u3000"):
        error = refused(campaign, db_url, TransitionNotAllowed,
                        lambda: at_day(campaign, day).moves.fire(
                            actor, item.id, trigger, comment))  # noqa: B023
        assert "reason" in str(error)
    fire_and_check(campaign, db_url, item.id, actor, trigger, "不符合要求")


@pytest.mark.parametrize("offset", [-1, +1, -100])
def test_stale_expected_version_is_a_conflict(
    campaign: Campaign, db_url: str, offset: int
) -> None:
    item = drive(campaign, "self_review", "review")
    error = refused(
        campaign, db_url, Conflict,
        lambda: campaign.moves.fire("principal2", item.id, "forward", COMMENT,
                              expected_version=item.version + offset),
    )
    assert isinstance(error, Conflict)
    assert (error.expected_version, error.actual_version) == (item.version + offset, item.version)
    event = campaign.moves.fire("principal2", item.id, "forward", COMMENT,
                                expected_version=item.version)
    assert event.dest == "supervisor_approval"
    assert campaign.reads.get(item.id).version == item.version + 1


def test_unknown_deliverable_is_not_found(campaign: Campaign, db_url: str) -> None:
    item = drive(campaign, "self_review")
    error = refused(campaign, db_url, NotFound,
                    lambda: campaign.moves.fire(item.owner, item.id + 1000, "submit", COMMENT))
    assert str(item.id + 1000) in str(error)


def test_unknown_actor_is_not_found(campaign: Campaign, db_url: str) -> None:
    item = drive(campaign, "self_review")
    error = refused(campaign, db_url, NotFound,
                    lambda: campaign.moves.fire("nobody", item.id, "submit", COMMENT))
    assert "nobody" in str(error)


@pytest.mark.parametrize("actor", [None, ""])
def test_no_actor_is_invalid_input(campaign: Campaign, db_url: str, actor: str | None) -> None:
    item = drive(campaign, "self_review")
    refused(campaign, db_url, InvalidInput,
            lambda: campaign.moves.fire(actor, item.id, "submit", COMMENT))
