"""The definitions shipped in ``definitions/`` follow the campaign's rules.

These are the rules every deliverable type shares (see the campaign brief):
four mandatory states, submit only by the owner, no self-review, a reason for
every return, plus the chains particular to some types.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from workflow.spec.definition import KNOWN_ROLES, MANDATORY_STATES, TransitionSpec, WorkflowSpec
from workflow.spec.loader import definition_files, load_file, shipped_definitions_dir

SHIPPED_FILES = definition_files(shipped_definitions_dir())
SPECS = {p.stem: load_file(p).spec for p in SHIPPED_FILES}
#: States in which someone other than the author judges the deliverable.
JUDGING_STATES = frozenset({"review", "supervisor_approval", "verification"})
RETURN_TRIGGERS = frozenset({"return", "reject", "reopen"})


@pytest.fixture(params=SHIPPED_FILES, ids=lambda p: p.stem)
def spec(request: pytest.FixtureRequest) -> WorkflowSpec:
    path: Path = request.param
    return load_file(path).spec


@pytest.fixture
def research_report() -> WorkflowSpec:
    return load_file(shipped_definitions_dir() / "research_report.yaml").spec


def test_the_expected_types_are_shipped() -> None:
    assert {p.stem for p in SHIPPED_FILES} >= {
        "self_review",
        "meeting_plan",
        "rectification_item",
        "research_report",
        "implementation_plan",
        "four_winds_list",
        "summary_report",
    }


def test_has_the_mandatory_states(spec: WorkflowSpec) -> None:
    names = {s.name for s in spec.states}
    assert set(MANDATORY_STATES) <= names
    assert spec.initial == "draft"


def test_every_state_and_transition_is_labelled_in_both_languages(spec: WorkflowSpec) -> None:
    assert spec.title and spec.title_en
    for state in spec.states:
        assert state.label and state.label_en, state.name
    for transition in spec.transitions:
        assert transition.label and transition.label_en, transition.trigger


def test_roles_are_known(spec: WorkflowSpec) -> None:
    assert spec.roles_used() <= KNOWN_ROLES


def test_submit_is_owner_only(spec: WorkflowSpec) -> None:
    submit = spec.transition("draft", "submit")
    assert submit is not None and submit.dest == "review"
    assert submit.owner_only


def test_every_return_to_draft_requires_a_comment(spec: WorkflowSpec) -> None:
    # The owner's own move back (research_report's redraft) is not a return.
    returns = [t for t in spec.transitions if t.dest == spec.initial and not t.owner_only]
    assert returns, "a deliverable must be returnable to its author"
    for transition in returns:
        assert transition.requires_comment, transition.trigger
    for transition in spec.transitions:
        if transition.trigger in RETURN_TRIGGERS:
            assert transition.requires_comment, transition.trigger


def test_every_review_or_approval_forbids_self_review(spec: WorkflowSpec) -> None:
    """Whoever judges a deliverable is not its owner — except the principal's own
    road to the supervisors, which hands the judging on to them."""
    judging = [t for t in spec.transitions if JUDGING_STATES & set(t.source)]
    assert judging
    for transition in judging:
        if is_own_road_to_supervisors(transition):
            continue
        assert transition.not_owner, transition.trigger


def is_own_road_to_supervisors(transition: TransitionSpec) -> bool:
    return (transition.owner_only and transition.roles == ("principal",)
            and transition.dest == "supervisor_approval")


@pytest.mark.parametrize("type_id", ["research_report", "self_review", "rectification_plan",
                                     "rectification_item"])
def test_the_principals_own_materials_go_to_the_supervisors(type_id: str) -> None:
    """The principal is a team member with materials of his own, and no second
    principal to read them first: he sends them to the supervisors himself,
    from his draft or after an objection sent them back to review."""
    spec = SPECS[type_id]
    roads = [t for t in spec.transitions if is_own_road_to_supervisors(t)]
    assert [(t.trigger, t.source) for t in roads] == [("to_supervisors", ("draft", "review"))]
    assert roads[0].paragraph and roads[0].from_plan


def test_the_chain_runs_draft_review_supervisors_publicity(spec: WorkflowSpec) -> None:
    forward = spec.transition("review", "forward")
    approve = spec.transition("supervisor_approval", "approve")
    assert forward is not None and forward.dest == "supervisor_approval"
    assert approve is not None and approve.dest == "publicity"
    assert approve.roles == ("supervisor",)


def test_a_final_state_is_reachable(spec: WorkflowSpec) -> None:
    seen, queue = {spec.initial}, deque([spec.initial])
    while queue:
        for transition in spec.transitions_from(queue.popleft()):
            if transition.dest not in seen:
                seen.add(transition.dest)
                queue.append(transition.dest)
    assert spec.final_states and spec.final_states <= seen
    assert seen == {s.name for s in spec.states}, "every state is reachable from draft"


def test_research_report_rejection_means_research_again(research_report: WorkflowSpec) -> None:
    reject = research_report.transition("supervisor_approval", "reject")
    assert reject is not None
    assert reject.dest == "research_again"
    assert reject.requires_comment and reject.not_owner
    redraft = research_report.transition("research_again", "redraft")
    assert redraft is not None
    assert redraft.dest == "draft"
    assert redraft.owner_only
    assert "research_again" in research_report.editable_states


def test_rectification_item_is_verified_and_can_be_reopened() -> None:
    spec = load_file(shipped_definitions_dir() / "rectification_item.yaml").spec
    path = [("publicity", "start"), ("in_progress", "claim_done"), ("verification", "verify")]
    dests = [spec.transition(state, trigger) for state, trigger in path]
    assert [t.dest if t else None for t in dests] == ["in_progress", "verification", "done"]
    reopen = spec.transition("verification", "reopen")
    assert reopen is not None and reopen.dest == "in_progress"
    assert reopen.roles == ("office",) and reopen.requires_comment and reopen.not_owner
    assert spec.final_states == {"done"}
