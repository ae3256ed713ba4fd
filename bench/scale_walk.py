"""The scale loader's deliverables: each walks its definition's machine, one
move every few days, as engine users would move it (see ``scale_loader.py``).

Day by day, in order: every deliverable due to move that day makes one step
— its creation, or one move with what the engine writes around it (windows,
opinions, the rectification item's fields, notes and rating) — and is put
back in the bucket of the day of its next step, or stops where it is.  What
each deliverable is lives in flat arrays, so a million cost tens of MB.
"""

from __future__ import annotations

import hashlib
import random
from array import array
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from workflow.machine.publicity import last_day
from workflow.spec.definition import TransitionSpec, WorkflowSpec
from workflow.spec.loader import parse_definition
from workflow.store import audit

if TYPE_CHECKING:
    from scale_loader import Loader, Person_

#: Deliverable types and their share of the load.
TYPES = (("rectification_item", 0.55), ("self_review", 0.12), ("rectification_plan", 0.10),
         ("research_report", 0.06), ("meeting_plan", 0.06), ("four_winds_list", 0.05),
         ("implementation_plan", 0.05), ("summary_report", 0.01))
#: Moves that send a deliverable back, taken now and then.
BACKWARD = frozenset({"return", "reject", "reopen"})
BACKWARD_WEIGHT = 0.12
OBJECTION_RATE = 0.06
STOP_RATE = 0.10
REASON = "请按意见修改后重新报送"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_START = time(1)  # 09:00 in the campaign's zone
DAY_SPAN_US = 14 * 3600 * 1_000_000


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


_DAYS: dict[int, str] = {}


def stamp_of(us: int) -> str:
    """``workflow.store.clock.timestamp`` of the moment ``us`` µs after the epoch."""
    day, rest = divmod(us, 86_400_000_000)
    if day not in _DAYS:
        _DAYS[day] = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
    seconds, fraction = divmod(rest, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_DAYS[day]}{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}Z"


class Who:
    """The people, by index, and who of them does what."""

    def __init__(self, central: Sequence[Person_], units: Sequence[Person_]) -> None:
        self.people = [*central, *units]
        self.ids = [p.id for p in self.people]
        self.units = [p.unit for p in self.people]
        self.roles = [p.roles for p in self.people]
        index = {p.id: n for n, p in enumerate(self.people)}
        self.office1 = index["office1"]
        self.principals = [n for n, p in enumerate(self.people) if "principal" in p.roles]
        self.leaders = [n for n, p in enumerate(self.people) if "leader" in p.roles]
        self.supervisors = [n for n, p in enumerate(self.people) if "supervisor" in p.roles]
        self.head: dict[str | None, int] = {}
        self.branch: dict[str | None, int] = {}
        self.members: dict[str | None, list[int]] = {}
        for n, p in enumerate(self.people):
            if p.id.startswith("h"):
                self.head[p.unit] = n
            elif p.id.startswith("b"):
                self.branch[p.unit] = n
            elif p.id.startswith("m"):
                self.members.setdefault(p.unit, []).append(n)
        self.unit_names = sorted(self.head, key=str)


class Walk:
    def __init__(self, loader: Loader, who: Who, count: int) -> None:
        self.out, self.who, self.count = loader, who, count
        self.rng: random.Random = loader.rng
        raw = loader.raw
        self.specs: list[WorkflowSpec] = []
        self.shas: list[str] = []
        current = {r[0]: (r[1], r[2], r[3]) for r in raw.execute(
            "SELECT type_id, sha256, file, source FROM workflow_definition WHERE current")}
        for type_id, _ in TYPES:
            sha, file, source = current[type_id]
            self.specs.append(parse_definition(source, file).spec)
            self.shas.append(sha)
        self.bodies = [_body(spec) for spec in self.specs]
        self.next = {t: raw.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {t}").fetchone()[0]
                     for t in ("deliverable", "revision", "publicity_window", "opinion",
                               "progress_note")}
        self.first_id = self.next["deliverable"]
        n = count
        self.kind = array("b", bytes(n))
        self.owner = array("i", bytes(4 * n))
        self.responsible = array("i", bytes(4 * n))
        self.due = array("i", bytes(4 * n))
        self.state = array("b", [-1]) * n
        self.version = array("i", bytes(4 * n))
        self.created = array("q", bytes(8 * n))
        self.updated = array("q", bytes(8 * n))
        self.noted = bytearray(n)
        self.revision = bytearray(32 * n)
        self.windows: dict[int, tuple[int, str, str]] = {}
        self.leaving: dict[int, str] = {}
        self.ratings: list[tuple[str, str, str, int]] = []
        self.closes: dict[date, date] = {}
        self.now = 0

    # -- the days -------------------------------------------------------------------------------

    def run(self, first: date, last: date) -> None:
        span = (last - first).days
        buckets: list[list[int]] = [[] for _ in range(span + 1)]
        weights = [w for _, w in TYPES]
        kinds = self.rng.choices(range(len(TYPES)), weights, k=self.count)
        for i in range(self.count):
            self.kind[i] = kinds[i]
            buckets[self.rng.randrange(span - 2)].append(i)
        for offset in range(span + 1):
            day = first + timedelta(days=offset)
            todo, buckets[offset] = buckets[offset], []
            start = micros(datetime.combine(day, DAY_START, tzinfo=UTC))
            step = DAY_SPAN_US // max(len(todo), 1)
            for k, i in enumerate(todo):
                after = self.step(i, day, start + k * step)
                if after is not None and offset + after <= span:
                    buckets[offset + after].append(i)
        self._finish()

    def step(self, i: int, day: date, now: int) -> int | None:
        """Day ``day``'s step of deliverable ``i``; returns the days until its next."""
        self.now = now
        if self.state[i] < 0:
            self._create(i, day, now)
            return self._pause()
        spec = self.specs[self.kind[i]]
        state = spec.states[self.state[i]]
        if state.final:
            return None
        if state.name == "in_progress" and not self.noted[i]:
            self._note(i, now)
            return self._pause()
        transition = self._choose(i, spec, state.name)
        if transition is None:
            return None
        self._move(i, spec, transition, day, now)
        if transition.dest == "publicity" and spec.publicity is not None:
            return self._publicity_exit(i, spec, day)
        return self._pause()

    def _pause(self) -> int | None:
        return None if self.rng.random() < STOP_RATE else 1 + int(self.rng.expovariate(0.25))

    def _choose(self, i: int, spec: WorkflowSpec, state: str) -> TransitionSpec | None:
        if state == "publicity" and spec.publicity is not None:
            trigger = self.leaving.pop(i, None)
            return None if trigger is None else spec.transition(state, trigger)
        owner_roles = self.who.roles[self.owner[i]]
        moves = [t for t in spec.transitions_from(state)
                 if (spec.publicity is None or t.trigger != spec.publicity.objection_trigger)
                 # an owner-only move the owner holds no role for (the principal's
                 # own road to the supervisors) is nobody's on this deliverable
                 and not (t.owner_only and not set(owner_roles) & set(t.roles))]
        weights = [BACKWARD_WEIGHT if t.trigger in BACKWARD else 1.0 for t in moves]
        return self.rng.choices(moves, weights)[0] if moves else None

    def _publicity_exit(self, i: int, spec: WorkflowSpec, day: date) -> int | None:
        """Decide how it leaves its window: an objection inside it, or (most
        often) the way out after it ended, a few days later; or it stays."""
        assert spec.publicity is not None
        closes = self._closes(day, spec.publicity.working_days)
        if self.rng.random() < OBJECTION_RATE and closes > day:
            self.leaving[i] = spec.publicity.objection_trigger
            return self.rng.randint(1, (closes - day).days)
        way_out = spec.publicity.close_trigger or "start"
        if self.rng.random() < STOP_RATE:
            return None
        self.leaving[i] = way_out
        return (closes - day).days + 1 + int(self.rng.expovariate(0.5))

    def _closes(self, day: date, working_days: int) -> date:
        if day not in self.closes:
            self.closes[day] = last_day(day, working_days)
        return self.closes[day]

    # -- what one step writes ------------------------------------------------------------------

    def _create(self, i: int, day: date, now: int) -> None:
        who, kind = self.who, self.kind[i]
        spec, type_id = self.specs[kind], TYPES[kind][0]
        owner = self._owner(type_id)
        self.owner[i], self.responsible[i], self.created[i] = owner, -1, now
        due = day + timedelta(days=self.rng.randint(30, 120))
        self.due[i] = due.toordinal()
        row = self._deliverable(i)
        data = f"# {row['title']}\n\n{self.bodies[kind]}".encode()
        digest = hashlib.sha256(data)
        self.revision[32 * i:32 * i + 32] = digest.digest()
        role = next(r for r in spec.create_roles if r in who.roles[owner])
        written = [self.out.seal("deliverable", row), self.out.row("revision", {
            "id": self._id("revision"), "deliverable_id": row["id"], "number": 1,
            "sha256": digest.hexdigest(), "filename": "content.md", "media_type": "text/markdown",
            "size": len(data), "content": data, "author_id": who.ids[owner],
            "created_at": row["created_at"]})]
        self._event(i, row["created_at"], written, actor=owner, role=role, action="create",
                    dest=spec.initial, revision=digest.hexdigest(),
                    detail=audit.detail({"type": type_id, "title": row["title"],
                                         "owner": row["owner_id"], "due": row["due"],
                                         "plan": None}))
        self.state[i] = 0
        if type_id == "rectification_item":
            self._fields(i, owner, due, row["created_at"])

    def _deliverable(self, i: int) -> dict[str, Any]:
        """Its sealed columns: everything but state, version and updated_at."""
        kind, item, owner = self.kind[i], self.first_id + i, self.owner[i]
        spec = self.specs[kind]
        title = (f"{self.who.units[owner]}{spec.title}{item}" if spec.id != "rectification_item"
                 else f"{self.who.units[owner]}整改事项{item}")
        return {"id": item, "type_id": spec.id, "definition_sha": self.shas[kind],
                "title": title, "owner_id": self.who.ids[owner],
                "due": date.fromordinal(self.due[i]).isoformat(), "plan_id": None,
                "phase": None, "created_at": stamp_of(self.created[i])}

    def _fields(self, i: int, owner: int, due: date, at: str) -> None:
        """The five fields, set by the owner in draft; someone else of the unit
        answers for one item in three."""
        mates = self.who.members[self.who.units[owner]]
        answers = owner if self.rng.random() < 0.67 else self.rng.choice(mates)
        self.responsible[i] = answers
        fields = _rectification(self.first_id + i, self.who.ids[answers], due.isoformat())
        written = [self.out.row("rectification", fields),
                   self.out.seal("deliverable", self._deliverable(i))]
        self._event(i, at, written, actor=owner, role="member", action="rectification.set",
                    source="draft", dest="draft", revision=self._sha(i),
                    detail=audit.detail({"matter": fields["matter"],
                                         "measures": fields["measures"],
                                         "responsible": fields["responsible_id"],
                                         "effect": fields["effect"],
                                         "deadline": due.isoformat(), "replaced": False}))

    def _note(self, i: int, now: int) -> None:
        at = stamp_of(now)
        author = self.owner[i] if self.rng.random() < 0.5 else self.responsible[i]
        note = {"id": self._id("progress_note"), "deliverable_id": self.first_id + i,
                "author_id": self.who.ids[author], "text": "整改进展：已完成阶段任务", "at": at}
        self._event(i, at, [self.out.row("progress_note", note)], actor=author, role="member",
                    action="rectification.progress", source="in_progress", dest="in_progress",
                    comment=note["text"],
                    detail=audit.detail({"note": note["id"], "as": "owner"
                                         if author == self.owner[i] else "responsible"}))
        self.noted[i] = 1

    def _move(self, i: int, spec: WorkflowSpec, transition: TransitionSpec, day: date,
              now: int) -> None:
        actor, role = self._actor(i, spec, transition)
        at, item = stamp_of(now), self.first_id + i
        source, dest = spec.states[self.state[i]].name, transition.dest
        publicity = spec.publicity
        comment = REASON if transition.requires_comment else None
        written = []
        if publicity is not None and source == "publicity":
            opened = self.windows.pop(i)
            if transition.trigger == publicity.close_trigger:  # as `tick` closes it
                comment = f"公示期满（{opened[1]}至{opened[2]}）无异议"
            written.append(self.out.row("publicity_window", {
                "id": opened[0], "deliverable_id": item, "opened_on": opened[1],
                "closes_on": opened[2], "closed_at": at, "outcome": "objection"
                if transition.trigger == publicity.objection_trigger else "ended"}))
        if publicity is not None and dest == "publicity":
            window = (self._id("publicity_window"), day.isoformat(),
                      self._closes(day, publicity.working_days).isoformat())
            self.windows[i] = window
            written.append(self.out.seal("publicity_window", {
                "id": window[0], "deliverable_id": item, "opened_on": window[1],
                "closes_on": window[2], "closed_at": None, "outcome": None}))
        if transition.requires_comment:
            written.append(self.out.row("opinion", {
                "id": self._id("opinion"), "deliverable_id": item, "revision_number": 1,
                "revision_sha": self._sha(i), "line": None, "author_id": self.who.ids[actor],
                "text": comment, "at": at, "event_seq": self.out.chains.seq + 1}))
        seq = self._event(i, at, written, actor=actor, role=role, action="transition",
                          trigger=transition.trigger, source=source, dest=dest,
                          comment=comment, revision=self._sha(i))
        self.state[i] = next(n for n, s in enumerate(spec.states) if s.name == dest)
        if dest == "in_progress":
            self.noted[i] = 0
        if transition.trigger == "verify":
            self._rate(i, actor, role, at, seq)

    def _rate(self, i: int, actor: int, role: str, at: str, verify_seq: int) -> None:
        fields = _rectification(self.first_id + i, self.who.ids[self.responsible[i]],
                                date.fromordinal(self.due[i]).isoformat())
        fields.update(rating="好", rated_by=self.who.ids[actor], rated_at=at)
        self.ratings.append(("好", self.who.ids[actor], at, self.first_id + i))
        self._event(i, at, [self.out.seal("rectification", fields)], actor=actor, role=role,
                    action="rectification.rate", source="done", dest="done",
                    revision=self._sha(i),
                    detail=audit.detail({"rating": "好", "verify_event": verify_seq}))

    def _event(self, i: int, at: str, written: list[Any], *, actor: int, **fields: Any) -> int:
        self.version[i] += 1
        self.updated[i] = self.now
        return self.out.event(at, written, self.who.units[self.owner[i]],
                              actor=self.who.ids[actor], deliverable_id=self.first_id + i,
                              **fields)

    # -- who ------------------------------------------------------------------------------------

    def _owner(self, type_id: str) -> int:
        who, rng = self.who, self.rng
        if type_id == "rectification_item":
            return rng.choice(who.members[rng.choice(who.unit_names)])
        if type_id == "research_report":
            return rng.choice(who.leaders + who.principals)
        if type_id == "summary_report":
            return rng.choice(who.principals)
        return who.head[rng.choice(who.unit_names)]

    def _actor(self, i: int, spec: WorkflowSpec, transition: TransitionSpec) -> tuple[int, str]:
        who, owner = self.who, self.owner[i]
        answers = {owner, self.responsible[i]}
        unit = who.units[owner]
        if transition.owner_only:
            actor = owner
        elif transition.owner_or_responsible:
            actor = self.rng.choice(sorted(answers - {-1}))
        elif spec.publicity and transition.trigger == spec.publicity.objection_trigger:
            actor = who.branch.get(unit, who.branch[who.unit_names[0]])
        elif "supervisor" in transition.roles:
            actor = self.rng.choice(who.supervisors)
        elif "principal" in transition.roles:
            actor = next(p for p in who.principals if p != owner)
        else:  # the office: the unit's own, or the campaign office
            head = who.head.get(unit)
            actor = head if head is not None and head not in answers else who.office1
        role = next(r for r in who.roles[actor] if r in transition.roles)
        assert not (transition.not_owner and actor in answers), (spec.id, transition.trigger)
        return actor, role

    # -- the end ----------------------------------------------------------------------------------

    def _id(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value

    def _sha(self, i: int) -> str:
        return self.revision[32 * i:32 * i + 32].hex()

    def _finish(self) -> None:
        """The deliverables as they stand, the windows still open, the ratings."""
        for i in range(self.count):
            spec = self.specs[self.kind[i]]
            self.out.out.add("deliverable", {
                **self._deliverable(i), "state": spec.states[self.state[i]].name,
                "version": self.version[i], "updated_at": stamp_of(self.updated[i])})
        for i, (window, opened, closes) in self.windows.items():
            self.out.out.add("publicity_window", {
                "id": window, "deliverable_id": self.first_id + i, "opened_on": opened,
                "closes_on": closes, "closed_at": None, "outcome": None})
        self.out.out.flush()
        self.out.raw.executemany(
            "UPDATE rectification SET rating = ?, rated_by = ?, rated_at = ? "
            "WHERE deliverable_id = ?", self.ratings)
        self.out.raw.commit()

    def summary(self) -> dict[str, Any]:
        states = Counter((self.kind[i], self.state[i]) for i in range(self.count))
        named = {f"{TYPES[kind][0]}:{self.specs[kind].states[state].name}": n
                 for (kind, state), n in states.items()}
        return {"first_id": self.first_id, "states": dict(sorted(named.items()))}


def _rectification(item: int, responsible: str, deadline: str) -> dict[str, Any]:
    return {"deliverable_id": item, "matter": f"整改事项{item}", "measures": "精简会议文件",
            "responsible_id": responsible, "deadline": deadline, "effect": "会议数量下降30%",
            "rating": None, "rated_by": None, "rated_at": None}


def _body(spec: WorkflowSpec) -> str:
    """Every section the definition requires (as ``tests/drive.complete_text``)."""
    lines = ["正文", ""]
    for section in spec.required_sections:
        if section.keywords:
            lines += [f"## {section.keywords[0]}", "", f"正文（{section.label}）", ""]
        if section.pattern:
            lines += ["会议时间：1天", ""]
    return "\n".join(lines)
