"""Review documents: diffs between revisions, review opinions, content checks.

A reviewer reads what changed since they last looked (:meth:`Documents.diff`),
writes opinions (审核意见) on a revision or one line of it
(:meth:`Documents.add_opinion`), and anyone can ask which required sections
the latest revision still lacks (:meth:`Documents.check_content`) without
submitting.  An opinion is part of the deliverable's record: it is written in
the same audited transaction as an ``opinion.add`` event that bumps the
deliverable's version, so the audit replay accounts for it.
"""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select as select_core

from workflow.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from workflow.machine import policy
from workflow.services import move_rules
from workflow.services.reads import Reads, rows_of
from workflow.services.registry import Registry
from workflow.services.rows import own_role
from workflow.spec import content, sections
from workflow.spec.definition import Role, SectionSpec, WorkflowSpec
from workflow.store import audit, chains
from workflow.store.models import Opinion, Revision
from workflow.store.store import Store
from workflow.store.views import OpinionView, RevisionView, View

_OPINIONS = Opinion.__table__  # type: ignore[attr-defined]
_REVISIONS = Revision.__table__  # type: ignore[attr-defined]

#: Why a diff compares the revisions it compares.
EXPLICIT = "explicit"
LAST_REVIEWED = "last_reviewed"
PREVIOUS = "previous"
FIRST = "first"


def is_text(revision: RevisionView) -> bool:
    """Whether a revision has text to diff and number lines in (a Word file does)."""
    return content.has_text(revision.media_type)


class DiffResult(View):
    """What changed between two revisions of one deliverable.

    ``lines`` is a unified diff (without line ends) when both revisions are
    text; otherwise it is empty and the two sides are compared by size and
    sha256.  ``from_revision`` is None when ``to_revision`` is the first.
    """

    deliverable_id: int
    from_revision: RevisionView | None
    to_revision: RevisionView
    basis: str
    text: bool
    lines: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        if self.from_revision is None:
            return False
        return self.from_revision.sha256 == self.to_revision.sha256

    @property
    def reason(self) -> str:
        old = self.from_revision.number if self.from_revision else None
        return {
            EXPLICIT: "as asked",
            LAST_REVIEWED: f"since the revision you last reviewed, {old}",
            PREVIOUS: "against the previous revision",
            FIRST: "the first revision: nothing before it",
        }.get(self.basis, self.basis)

    @property
    def header(self) -> str:
        new = self.to_revision.number
        span = (f"revisions {self.from_revision.number} → {new}" if self.from_revision
                else f"revision {new}")
        return f"#{self.deliverable_id} {span} ({self.reason})"

    def render(self) -> str:
        """The header, then the unified diff (text) or the two sides' size and hash."""
        out = [self.header]
        if not self.text:
            for side in (self.from_revision, self.to_revision):
                if side is not None:
                    out.append(describe(side))
            if self.from_revision is not None:
                out.append("identical content" if self.identical else "content differs")
        elif self.identical:
            out.append("no changes")
        else:
            out += self.lines
        return "\n".join(line for line in out if line) + "\n"

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data.update(reason=self.reason, header=self.header, identical=self.identical)
        return data


def describe(revision: RevisionView) -> str:
    return (f"revision {revision.number}: {revision.filename} ({revision.media_type}), "
            f"{revision.size} bytes, sha256 {revision.sha256}")


def unified(old: RevisionView | None, old_text: str, new: RevisionView, new_text: str
            ) -> tuple[str, ...]:
    """A unified diff of two texts, labelled with their revisions."""
    before = f"revision {old.number} ({old.filename})" if old else "(nothing)"
    return tuple(difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(),
        fromfile=before, tofile=f"revision {new.number} ({new.filename})", lineterm="",
    ))


def participant_roles(spec: WorkflowSpec) -> list[str]:
    """Roles that take part in a definition's flow, in the order they first appear."""
    return list(dict.fromkeys(r for t in spec.transitions for r in t.roles))


class Documents:
    """What reviewers read: what changed, what was said about it."""

    def __init__(self, store: Store, registry: Registry, reads: Reads) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads

    # -- diffs ----------------------------------------------------------------------

    def diff(
        self, deliverable_id: int, from_n: int | None = None, to_n: int | None = None, *,
        reader: str | None = None,
    ) -> DiffResult:
        """The change from revision ``from_n`` to ``to_n`` (default: the latest).

        Without either number, a ``reader`` who has an audit event on this
        deliverable carrying an older revision than the latest (they reviewed
        it, or commented on it) sees the change since that revision; anyone
        else sees the change from the previous revision.  With only ``to_n``,
        the change from the revision before it.
        """
        revisions = self._reads.revisions(deliverable_id)
        if not revisions:
            raise TransitionNotAllowed("it has no content yet (campaign revise)", deliverable_id)
        numbers = {r.number: r for r in revisions}

        def pick(number: int) -> RevisionView:
            if number not in numbers:
                raise NotFound(f"revision of deliverable {deliverable_id}", number)
            return numbers[number]

        new = pick(to_n) if to_n is not None else revisions[-1]
        old: RevisionView | None
        if from_n is not None:
            old, basis = pick(from_n), EXPLICIT
        elif to_n is None and (seen := self._last_reviewed(deliverable_id, reader, revisions)):
            old, basis = seen, LAST_REVIEWED
        else:
            old = numbers.get(new.number - 1)
            basis = PREVIOUS if old else FIRST
            if to_n is not None and old is not None:
                basis = EXPLICIT
        text = is_text(new) and (old is None or is_text(old))
        lines: tuple[str, ...] = ()
        if text:
            old_text = self.revision_text(deliverable_id, old) if old else ""
            lines = unified(old, old_text, new, self.revision_text(deliverable_id, new))
        return DiffResult(deliverable_id=deliverable_id, from_revision=old, to_revision=new,
                          basis=basis, text=text, lines=lines)

    def _last_reviewed(
        self, deliverable_id: int, reader: str | None, revisions: list[RevisionView]
    ) -> RevisionView | None:
        """The older revision ``reader``'s latest event on the deliverable carried, if any."""
        if not reader:
            return None
        latest = revisions[-1]
        mine = [e for e in self._reads.history(deliverable_id) if e.actor == reader and e.revision]
        if not mine or mine[-1].revision == latest.sha256:
            return None
        matching = [r for r in revisions[:-1] if r.sha256 == mine[-1].revision]
        return matching[-1] if matching else None

    # -- opinions -------------------------------------------------------------------

    def add_opinion(
        self, actor: str | None, deliverable_id: int, text: str, *, line: int | None = None,
        revision: int | None = None,
    ) -> OpinionView:
        """A review opinion on a revision (default: the latest), optionally on one line.

        Anyone who takes part in the deliverable may write one: its owner, the
        campaign office, and anyone holding a role of its definition's
        transitions.  Audited as ``opinion.add``.
        """
        body = (text or "").strip()
        with self._store.writing_core() as connection:
            who = self._store.actor(connection, actor)
            item = self._store.state_of(connection, deliverable_id)
            spec = self._registry.spec(item.definition_sha)
            role = opinion_role(who, item.owner_id, spec, deliverable_id)
            if not body:
                raise InvalidInput("an opinion needs some text (--text)")
            target = self._opinion_target(connection, deliverable_id, revision, line)
            # A remark moves nothing: the version stays (--if-version holds).
            now = self._store.now()
            place = chains.position(connection, deliverable_id)
            opinion_id, written = move_rules.insert_opinion(connection, {
                "deliverable_id": deliverable_id, "revision_number": target.number,
                "revision_sha": target.sha256, "line": line, "author_id": who.id,
                "text": body, "at": now, "event_seq": place.seq,
            })
            event = audit.append(
                connection, at=now, actor=who.id, role=role, action="opinion.add",
                deliverable_id=deliverable_id, source=item.state, dest=item.state,
                comment=body, revision=target.sha256,
                detail=audit.detail({"revision": target.number, "line": line}),
                seals=[written], at_position=place,
            )
            return OpinionView(
                id=opinion_id, deliverable_id=deliverable_id, revision_number=target.number,
                revision_sha=target.sha256, line=line, author=who.id, text=body, at=now,
                event_seq=event.seq,
            )

    def _opinion_target(
        self, connection: Connection, deliverable_id: int, number: int | None, line: int | None
    ) -> Any:
        """The revision an opinion is on (read in the write transaction); its
        line, if given, must exist in it."""
        query = select_core(_REVISIONS.c.number, _REVISIONS.c.sha256, _REVISIONS.c.media_type,
                            _REVISIONS.c.content).where(
            _REVISIONS.c.deliverable_id == deliverable_id)
        if number is None:
            query = query.order_by(_REVISIONS.c.number.desc()).limit(1)
        else:
            query = query.where(_REVISIONS.c.number == number)
        target = connection.execute(query).first()
        if target is None and number is None:
            raise TransitionNotAllowed("it has no content to comment on yet", deliverable_id)
        if target is None:
            raise NotFound(f"revision of deliverable {deliverable_id}", number)
        if line is None:
            return target
        if not content.has_text(target.media_type):
            raise InvalidInput(
                f"revision {target.number} is {target.media_type}, not text: it has no lines")
        count = len(content.text_of(target.media_type, bytes(target.content)).splitlines())
        if not 1 <= line <= count:
            raise InvalidInput(
                f"line {line} does not exist in revision {target.number} "
                f"(it has {count} line{'s' if count != 1 else ''})")
        return target

    def opinions(self, deliverable_id: int) -> list[OpinionView]:
        """Every review opinion on a deliverable, oldest first: the reasons of
        returns, rejections and objections, and opinions added on their own."""
        with self._store.read() as session:
            return [_opinion_view(r) for r in rows_of(session, Opinion, deliverable_id)]

    # -- content requirements -----------------------------------------------------------

    def check_content(self, deliverable_id: int) -> list[SectionSpec]:
        """The required sections the latest revision lacks (all of them when
        there is no content yet): what a ``content_complete`` move would refuse."""
        spec = self._registry.definition_for(self._reads.get(deliverable_id))
        revisions = self._reads.revisions(deliverable_id)
        if not revisions:
            return list(spec.required_sections)
        return sections.missing_sections(spec, self.revision_text(deliverable_id, revisions[-1]))

    def revision_text(self, deliverable_id: int, revision: RevisionView) -> str:
        """A revision's text (a Word file's extracted text), its bytes checked
        against the hash its audit event recorded."""
        return content.text_of(revision.media_type,
                               self._reads.content(deliverable_id, revision.number))


def opinion_role(
    actor: policy.Actor, owner_id: str, spec: WorkflowSpec, deliverable_id: int
) -> str | None:
    """The role under which ``actor`` gives an opinion; raises if they take no part."""
    if actor.id == owner_id:
        return own_role(actor, spec)
    if actor.has(Role.OFFICE):
        return Role.OFFICE.value
    role = next((r for r in participant_roles(spec) if actor.has(r)), None)
    if role is None:
        raise PermissionDenied(
            actor.id, "comment",
            f"only its owner, the campaign office and the roles of {spec.id} "
            f"({', '.join(participant_roles(spec))}) take part in it", deliverable_id,
        )
    return role


def _opinion_view(row: Opinion) -> OpinionView:
    return OpinionView(
        id=row.id or 0, deliverable_id=row.deliverable_id, revision_number=row.revision_number,
        revision_sha=row.revision_sha, line=row.line, author=row.author_id, text=row.text,
        at=row.at, event_seq=row.event_seq,
    )
