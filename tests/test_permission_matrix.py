"""Who may fire what: every transition of every shipped definition, tried by every user.

The expected outcome comes from the spec alone (roles, owner_only, not_owner);
a success must move the deliverable and append exactly one audit event, a
refusal must leave the database exactly as it was and be noted in the access log.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROLES_OF, snapshot
from drive import (
    COMMENT,
    SPECS,
    USER_IDS,
    actor_for,
    all_moves,
    creators,
    drive,
    may_fire,
    moves,
    owner_for,
    refused,
)

from workflow import Campaign
from workflow.errors import (
    CampaignError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)

MOVES = all_moves()
MOVE_IDS = [f"{t}-{trigger}-from-{source}" for t, trigger, source in MOVES]


def fire_and_check(
    campaign: Campaign, db_path: Path, deliverable_id: int, user: str, trigger: str,
    comment: str | None = COMMENT,
) -> None:
    """Fire ``trigger`` as ``user``; it must succeed and leave exactly one correct event."""
    item = campaign.get(deliverable_id)
    spec = campaign.definition_for(item)
    transition = spec.transition(item.state, trigger)
    assert transition is not None
    before, refusals = snapshot(db_path), campaign.refusals()

    event = campaign.fire(user, deliverable_id, trigger, comment)

    after = campaign.get(deliverable_id)
    assert after.state == transition.dest
    assert after.version == item.version + 1
    stored = snapshot(db_path)
    assert stored.events[:-1] == before.events and len(stored.events) == len(before.events) + 1
    assert stored.revisions == before.revisions
    assert campaign.refusals() == refusals
    assert campaign.history(deliverable_id)[-1] == event
    assert event.hash == stored.events[-1]
    assert event.action == "transition"
    assert event.actor == user
    assert event.role in set(ROLES_OF[user]) & set(transition.roles)
    assert event.deliverable_id == deliverable_id
    assert (event.trigger, event.source, event.dest) == (trigger, item.state, transition.dest)
    assert event.comment == comment
    assert item.revision is not None
    assert event.revision == campaign.revision(deliverable_id).sha256 == item.revision.sha256


@pytest.mark.parametrize(("type_id", "trigger", "source"), MOVES, ids=MOVE_IDS)
def test_matrix(
    campaign: Campaign, db_path: Path, type_id: str, trigger: str, source: str
) -> None:
    """Every user in turn fires the move.

    One database per move keeps it fast: a refusal leaves the deliverable where
    it was, so the next user tries the same one; after a success a fresh one is
    driven to the source state.
    """
    transition = campaign.definition(type_id).transition(source, trigger)
    assert transition is not None
    item = drive(campaign, type_id, source)
    for user in USER_IDS:
        try:
            if may_fire(user, item.owner, transition):
                fire_and_check(campaign, db_path, item.id, user, trigger)
                item = drive(campaign, type_id, source)
                continue
            error = refused(
                campaign, db_path, PermissionDenied,
                lambda: campaign.fire(user, item.id, trigger, COMMENT),  # noqa: B023
                actor=user,
            )
        except (AssertionError, CampaignError) as failure:
            raise AssertionError(f"{user} (roles {ROLES_OF[user]}, owner {item.owner}): "
                                 f"{failure!r}") from failure
        assert isinstance(error, PermissionDenied)
        assert error.deliverable_id == item.id
        refusal = campaign.refusals()[-1]
        assert refusal.deliverable_id == item.id
        assert trigger in refusal.action


def test_matrix_covers_every_outcome() -> None:
    """The matrix must see both verdicts for every move, else it would prove little."""
    for type_id, trigger, source in MOVES:
        spec = SPECS[type_id]
        transition = spec.transition(source, trigger)
        assert transition is not None
        owner = owner_for(spec, source)
        verdicts = {may_fire(u, owner, transition) for u in USER_IDS}
        assert verdicts == {True, False}, (type_id, trigger)


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


@pytest.mark.parametrize(
    ("type_id", "trigger", "source"), OWNER_CASES,
    ids=[f"{t}-{tr}-from-{s}" for t, tr, s in OWNER_CASES],
)
def test_owner_as_actor(
    campaign: Campaign, db_path: Path, type_id: str, trigger: str, source: str
) -> None:
    """owner_only: the owner may, a peer with the same roles may not; not_owner: the reverse.

    Tried for every creator who could be the owner, not just the one the matrix uses.
    """
    for owner in _possible_owners(type_id, trigger, source):
        _owner_rules(campaign, db_path, type_id, trigger, source, owner)


def _owner_rules(
    campaign: Campaign, db_path: Path, type_id: str, trigger: str, source: str, owner: str
) -> None:
    transition = campaign.definition(type_id).transition(source, trigger)
    assert transition is not None
    item = drive(campaign, type_id, source, owner=owner)
    assert item.owner == owner
    peers = [u for u in USER_IDS if u != owner and set(ROLES_OF[u]) & set(transition.roles)]
    assert peers, "two people per role: there is always a peer"
    if transition.owner_only:
        refused(campaign, db_path, PermissionDenied,
                lambda: campaign.fire(peers[0], item.id, trigger, COMMENT), actor=peers[0])
        fire_and_check(campaign, db_path, item.id, owner, trigger)
    else:
        error = refused(campaign, db_path, PermissionDenied,
                        lambda: campaign.fire(owner, item.id, trigger, COMMENT), actor=owner)
        assert "owner" in str(error)
        fire_and_check(campaign, db_path, item.id, peers[0], trigger)


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
    campaign: Campaign, db_path: Path, type_id: str, state: str
) -> None:
    """Every trigger of the type that has no move from ``state`` is refused there."""
    item = drive(campaign, type_id, state)
    spec = campaign.definition(type_id)
    wrong = sorted(t for t in spec.triggers if spec.transition(state, t) is None)
    for trigger in wrong:
        # Someone who could fire the trigger from its proper state: a refusal
        # for the state, not for the person.
        transition = next(t for t in spec.transitions if t.trigger == trigger)
        actor = actor_for(transition, item.owner)
        assert actor is not None
        error = refused(campaign, db_path, TransitionNotAllowed,
                        lambda: campaign.fire(actor, item.id, trigger, COMMENT))  # noqa: B023
        assert trigger in str(error)
    if spec.state(state).final:
        assert wrong == sorted(spec.triggers), "nothing leaves a final state"


@pytest.mark.parametrize("type_id", sorted(SPECS))
def test_unknown_trigger_is_invalid_input(campaign: Campaign, db_path: Path, type_id: str) -> None:
    item = drive(campaign, type_id)
    for trigger in ("no_such_trigger", "SUBMIT", "", "submit "):
        refused(campaign, db_path, InvalidInput,
                lambda: campaign.fire(item.owner, item.id, trigger, COMMENT))  # noqa: B023


def test_trigger_of_another_type_is_invalid_input(campaign: Campaign, db_path: Path) -> None:
    assert "verify" in SPECS["rectification_item"].triggers
    assert "verify" not in SPECS["self_review"].triggers
    item = drive(campaign, "self_review")
    refused(campaign, db_path, InvalidInput,
            lambda: campaign.fire("office1", item.id, "verify", COMMENT))


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
    campaign: Campaign, db_path: Path, type_id: str, trigger: str, source: str
) -> None:
    """No comment, or only whitespace (ideographic space too): refused, nothing written."""
    item = drive(campaign, type_id, source)
    transition = campaign.definition(type_id).transition(source, trigger)
    assert transition is not None
    actor = actor_for(transition, item.owner)
    assert actor is not None
    for comment in (None, "", "   ", "\t\n\u3000"):
        error = refused(campaign, db_path, TransitionNotAllowed,
                        lambda: campaign.fire(actor, item.id, trigger, comment))  # noqa: B023
        assert "reason" in str(error)
    fire_and_check(campaign, db_path, item.id, actor, trigger, "不符合要求")


@pytest.mark.parametrize("offset", [-1, +1, -100])
def test_stale_expected_version_is_a_conflict(
    campaign: Campaign, db_path: Path, offset: int
) -> None:
    item = drive(campaign, "self_review", "review")
    error = refused(
        campaign, db_path, Conflict,
        lambda: campaign.fire("principal2", item.id, "forward", COMMENT,
                              expected_version=item.version + offset),
    )
    assert isinstance(error, Conflict)
    assert (error.expected_version, error.actual_version) == (item.version + offset, item.version)
    event = campaign.fire("principal2", item.id, "forward", COMMENT, expected_version=item.version)
    assert event.dest == "supervisor_approval"
    assert campaign.get(item.id).version == item.version + 1


def test_unknown_deliverable_is_not_found(campaign: Campaign, db_path: Path) -> None:
    item = drive(campaign, "self_review")
    error = refused(campaign, db_path, NotFound,
                    lambda: campaign.fire(item.owner, item.id + 1000, "submit", COMMENT))
    assert str(item.id + 1000) in str(error)


def test_unknown_actor_is_not_found(campaign: Campaign, db_path: Path) -> None:
    item = drive(campaign, "self_review")
    error = refused(campaign, db_path, NotFound,
                    lambda: campaign.fire("nobody", item.id, "submit", COMMENT))
    assert "nobody" in str(error)


@pytest.mark.parametrize("actor", [None, ""])
def test_no_actor_is_invalid_input(campaign: Campaign, db_path: Path, actor: str | None) -> None:
    item = drive(campaign, "self_review")
    refused(campaign, db_path, InvalidInput,
            lambda: campaign.fire(actor, item.id, "submit", COMMENT))
