"""Who may read which deliverable (the served interface's rule of sight)."""

from __future__ import annotations

import pytest
from drive import drive

from workflow import Campaign
from workflow.errors import NotFound
from workflow.services.visibility import reviewer_roles


@pytest.fixture
def own_material(campaign: Campaign) -> int:
    """member1's rectification item, in draft."""
    return campaign.deliverables.create("member1", "rectification_item", "赵一整改事项").id


@pytest.mark.parametrize("reader, sees", [
    ("member1", True),  # the owner
    ("member2", False),  # another member
    ("branch1", False),
    ("office1", True), ("sup1", True),  # the office and the supervision group see all
    (None, False),  # nobody signed in
])
def test_a_member_sees_their_own_and_the_office_and_supervisors_see_all(
        campaign: Campaign, own_material: int, reader: str | None, sees: bool) -> None:
    assert campaign.visibility.may_read(reader, own_material) is sees


def test_reviewers_see_the_types_they_review(campaign: Campaign, own_material: int) -> None:
    spec = campaign.registry.definition("rectification_item")
    reviewers = reviewer_roles(spec)
    assert reviewers and "member" not in reviewers
    people = {"leader": "leader1", "principal": "principal2"}
    for role, person in people.items():
        assert campaign.visibility.may_read(person, own_material) is (role in reviewers)


def test_a_hidden_deliverable_looks_missing(campaign: Campaign, own_material: int) -> None:
    with pytest.raises(NotFound) as hidden:
        campaign.visibility.require_read("member2", own_material)
    with pytest.raises(NotFound) as missing:
        campaign.visibility.require_read("member2", 999_999)
    assert str(hidden.value).replace(str(own_material), "N") == str(missing.value).replace(
        "999999", "N")


def test_everyone_reads_what_is_on_public_notice(campaign: Campaign) -> None:
    item = drive(campaign, "self_review", "publicity", owner="leader1")
    assert campaign.visibility.may_read(None, item.id)
    assert campaign.visibility.may_read("member2", item.id)


def test_a_deactivated_user_sees_only_what_the_public_sees(
        campaign: Campaign, own_material: int) -> None:
    campaign.people.deactivate_user("office2", "member1")
    assert not campaign.visibility.may_read("member1", own_material)
