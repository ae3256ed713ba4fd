"""The statements every write runs, built once: who is acting, the state a
move reads under the write lock, the chain locks, and the move's update."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from workflow.store import chains, database
from workflow.store.models import (
    AccessRefusal,
    Deliverable,
    Rectification,
    Revision,
    User,
    UserRole,
)
from workflow.store.prepared import Prepared

_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]
_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]
_RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]
REFUSALS = AccessRefusal.__table__  # type: ignore[attr-defined]

# Built once: every write runs these.
ACTOR = Prepared(
    select(_USERS.c.id, _USERS.c.active, _ROLES.c.role)
    .outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id)
    .where(_USERS.c.id == bindparam("user"))
)
# One round trip for what a move needs, the responsible person included (a
# rectification item's 整改责任人 answers for it beside its owner).
STATE_OF = select(
    _DELIVERABLES.c.id, _DELIVERABLES.c.definition_sha, _DELIVERABLES.c.owner_id,
    _DELIVERABLES.c.state, _DELIVERABLES.c.version, _RECTIFICATIONS.c.responsible_id,
).outerjoin_from(
    _DELIVERABLES, _RECTIFICATIONS, _RECTIFICATIONS.c.deliverable_id == _DELIVERABLES.c.id,
).where(_DELIVERABLES.c.id == bindparam("item"))
_REVISIONS = Revision.__table__  # type: ignore[attr-defined]


def _latest(column: Any) -> Any:
    return (select(column).where(_REVISIONS.c.deliverable_id == _DELIVERABLES.c.id)
            .order_by(_REVISIONS.c.number.desc()).limit(1).scalar_subquery())


_OWNER = _USERS.alias("owner")
_CHAIN = chains.unit_chain(_OWNER.c.unit)
# Everything a move reads, in one round trip under the write lock: the
# deliverable, its latest revision, and where its audit event will go.
MOVE_STATE = Prepared(
    STATE_OF.add_columns(
        _latest(_REVISIONS.c.number).label("revision_number"),
        _latest(_REVISIONS.c.sha256).label("revision_sha"),
        *chains.position_columns(_CHAIN),
    ).join(_OWNER, _OWNER.c.id == _DELIVERABLES.c.owner_id)
)
# On a server, the move's chain is held before its head is read.
LOCK_CHAIN = select(database.chain_lock(_CHAIN)).select_from(
    _DELIVERABLES.join(_OWNER, _OWNER.c.id == _DELIVERABLES.c.owner_id)
).where(_DELIVERABLES.c.id == bindparam("item"))
# A batch's chains, each once, locked in the order of their lock keys (the
# server evaluates a volatile function of the select list after its sort).
_BATCH_CHAINS = select(_CHAIN.label("chain")).select_from(
    _DELIVERABLES.join(_OWNER, _OWNER.c.id == _DELIVERABLES.c.owner_id)
).where(_DELIVERABLES.c.id.in_(bindparam("items", expanding=True))).distinct().subquery()
LOCK_CHAINS = select(database.chain_lock(_BATCH_CHAINS.c.chain)).order_by(
    database.chain_lock_key(_BATCH_CHAINS.c.chain))
BUMP = Prepared(
    _DELIVERABLES.update()
    .where(_DELIVERABLES.c.id == bindparam("b_id"),
           _DELIVERABLES.c.version == bindparam("b_version"))
    .values(state=bindparam("b_state"), version=bindparam("b_next"),
            updated_at=bindparam("b_at"))
)
