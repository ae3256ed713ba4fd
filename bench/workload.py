"""The bench's workload on the engine: a few self-review materials cycled
between draft and review (submit by their owner, return with a reason by the
principal) — a cycle the definition allows for ever, with legal actors."""

from __future__ import annotations

import time
from pathlib import Path

from workflow import Campaign, from_text

DELIVERABLES = 10  # K deliverables, fired round-robin
CYCLES = 20  # submit + return per deliverable per round: 2 * K * CYCLES transitions
ROUNDS = 5
REASON = "“四个剖析”不完整，请补充思想根源"
# The self-review material's required sections (definitions/self_review.yaml).
SECTIONS = "".join(f"\n## {head}\n\n正文\n" for head in (
    "一、存在的主要问题", "二、具体表现", "三、主观原因", "四、思想根源", "五、改进措施"))

# The cycle self_review allows forever, with legal actors: the owner submits,
# the principal (not the owner) returns it with a reason.
OWNER = "leader1"  # in a database of several units: whoever owns the deliverable
CYCLE = ((OWNER, "submit", None), ("principal1", "return", REASON))


def engine_setup(directory: Path, url: str | None = None, *, units: int = 1
                 ) -> tuple[Campaign, list[int]]:
    """A database with ``DELIVERABLES`` self-reviews.  With ``units`` above one,
    they belong to leaders of that many units (``leader1`` of 党组, ``leader2``
    of 单位2, …) in turn: each unit's events go into its own audit chain."""
    campaign = Campaign.open(url or f"sqlite:///{directory / 'engine.db'}")
    campaign.deliverables.init(actor="office1")
    campaign.people.add_user("office1", "office1", "王敏", ["office"], "群教办")
    leaders = [f"leader{n}" for n in range(1, units + 1)]
    for n, owner in enumerate(leaders, start=1):
        campaign.people.add_user("office1", owner, f"副主席{n}", ["leader"],
                                 "党组" if n == 1 else f"单位{n}")
    campaign.people.add_user("office1", "principal1", "李书记", ["principal"], "党组")
    items = [
        campaign.deliverables.create(leaders[n % units], "self_review", f"对照检查材料 {n}",
                        content=from_text(f"# 对照检查材料 {n}\n{SECTIONS}")).id
        for n in range(DELIVERABLES * units)
    ]
    owners = _owners(campaign, items)
    for item in items:  # warm up: parse the definition, build the machine
        _cycle(campaign, item, owners[item])
    return campaign, items


def _owners(campaign: Campaign, items: list[int]) -> dict[int, str]:
    return {item: campaign.reads.get(item).owner for item in items}


def engine_round(campaign: Campaign, items: list[int]) -> tuple[int, float]:
    owners = _owners(campaign, items)
    fired = 0
    start = time.perf_counter()
    for _ in range(CYCLES):
        for item in items:
            fired += _cycle(campaign, item, owners[item])
    return fired, time.perf_counter() - start


def _cycle(campaign: Campaign, item: int, owner: str) -> int:
    for actor, trigger, comment in CYCLE:
        campaign.moves.fire(owner if actor == OWNER else actor, item, trigger, comment)
    return len(CYCLE)


