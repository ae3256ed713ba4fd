"""Bulk moves: one trigger fired on many deliverables, each its own move.

Every id goes through :meth:`~workflow.services.moves.Moves.fire` — its own
transaction, its own check of the actor and the rules, its own audit event,
a permission refusal noted in the access log in that same transaction — so
one refusal never undoes another's move and nothing goes around the one move
path.  The ids are taken once, before the first move: a move never changes
which deliverables the run covers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from workflow.errors import (
    CampaignError,
    DatabaseUnavailable,
    Interrupted,
    InvalidInput,
    TransitionNotAllowed,
)
from workflow.store.views import EventView

#: The largest id the database holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1

Fire = Callable[[int], EventView]
#: Opens the transaction a batch of moves shares, given the batch's ids.
Transaction = Callable[[tuple[int, ...]], AbstractContextManager[object]]


def _no_transaction(_: tuple[int, ...]) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class Outcome:
    """What became of one id: its move's audit event, or the error that refused it."""

    deliverable_id: int
    event: EventView | None = None
    error: CampaignError | None = None

    @property
    def moved(self) -> bool:
        return self.event is not None


OnEach = Callable[[Outcome], None]


@dataclass(frozen=True)
class BulkResult:
    """Every id's outcome, in the order fired.  ``stopped`` is the environment
    error (database busy, read-only, unreachable) that ended the run early;
    the ids after it, ``skipped``, were not attempted."""

    trigger: str
    outcomes: tuple[Outcome, ...]
    skipped: tuple[int, ...] = ()
    stopped: CampaignError | None = None

    @property
    def moved(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.moved)

    @property
    def refused(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.moved)

    @property
    def exit_code(self) -> int:
        """0 when every move went through; else the code every refusal shares
        (3 permission, 4 not allowed now, 6 not found, ...); refusals of
        different kinds make 4, "not every move was possible now".  A run that
        stopped early takes the code of what stopped it."""
        if self.stopped is not None:
            return self.stopped.exit_code
        codes = {o.error.exit_code for o in self.refused if o.error is not None}
        if not codes:
            return 0
        return codes.pop() if len(codes) == 1 else TransitionNotAllowed.exit_code


def fire_each(fire: Fire, trigger: str, ids: Iterable[int],
              on_each: OnEach | None = None, *, batch: int = 1,
              transaction: Transaction = _no_transaction) -> BulkResult:
    """Call ``fire`` on each id in order, recording what became of it.

    The ids go in batches of ``batch``, each batch inside one ``transaction``
    (the store's: one commit for the batch, each move in a savepoint of its
    own).  ``on_each`` hears a batch's outcomes once it has committed.  A
    refusal (any engine error about this one deliverable) is that id's
    outcome and the run goes on; an error of the database itself stops it,
    since every later move would meet it too — and if a batch's commit fails,
    its moves are not made, so they count as not attempted.  Ctrl-C stops it
    the same way, the open batch undone.  Anything else is
    a bug and propagates: the batches committed before it stay made.
    """
    wanted = unique_ids(ids)
    outcomes: list[Outcome] = []
    for start in range(0, len(wanted), max(batch, 1)):
        chunk = wanted[start:start + max(batch, 1)]
        done: list[Outcome] = []
        try:
            with transaction(chunk):
                _fire_chunk(fire, chunk, done)
        except DatabaseUnavailable as error:
            return BulkResult(trigger, tuple(outcomes), wanted[start:], error)
        except KeyboardInterrupt:  # the open batch rolled back; say what stands
            return BulkResult(trigger, tuple(outcomes), wanted[start:], Interrupted())
        outcomes += done
        for outcome in done if on_each is not None else ():
            assert on_each is not None
            on_each(outcome)
        stopped = done[-1].error if done else None
        if isinstance(stopped, DatabaseUnavailable):
            return BulkResult(trigger, tuple(outcomes), wanted[start + len(done):], stopped)
    return BulkResult(trigger, tuple(outcomes))


def _fire_chunk(fire: Fire, chunk: tuple[int, ...], done: list[Outcome]) -> None:
    """Fire on each id of one batch until the end, or a database error."""
    for deliverable_id in chunk:
        try:
            done.append(Outcome(deliverable_id, event=fire(deliverable_id)))
        except DatabaseUnavailable as error:
            done.append(Outcome(deliverable_id, error=error))
            return
        except CampaignError as error:
            done.append(Outcome(deliverable_id, error=error))


def unique_ids(ids: Iterable[int]) -> tuple[int, ...]:
    """``ids`` as a tuple, refused (nothing fired) if one repeats: a second move
    of the same deliverable in one run is a mistake in the list, not a plan."""
    wanted = tuple(ids)
    seen: set[int] = set()
    repeated: set[int] = set()
    for deliverable_id in wanted:
        (repeated if deliverable_id in seen else seen).add(deliverable_id)
    if repeated:
        shown = ", ".join(str(i) for i in sorted(repeated)[:5])
        raise InvalidInput(f"ids repeat: {shown}{' …' if len(repeated) > 5 else ''}; "
                           "nothing was fired")
    return wanted


def parse_ids(text: str, source: str) -> tuple[int, ...]:
    """The ids of an id list: one a line, blank lines and ``#`` comments
    (a line starting with ``#``, or the rest of a line after whitespace and
    ``#``) ignored.  The first bad line is refused, naming ``source`` and its
    line, before anything is fired."""
    ids: list[int] = []
    lines: dict[int, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _entry(line)
        if not entry:
            continue
        if not (entry.isascii() and entry.isdigit() and len(entry) <= 30
                and 1 <= int(entry) <= MAX_ID):
            raise InvalidInput(f"{source} line {number}: {_shown(entry)!r} is not a "
                               f"deliverable id (a whole number from 1 to {MAX_ID}); "
                               "nothing was fired")
        if int(entry) in lines:
            raise InvalidInput(f"{source} line {number}: id {int(entry)} repeats line "
                               f"{lines[int(entry)]}; nothing was fired")
        lines[int(entry)] = number
        ids.append(int(entry))
    return tuple(ids)


def _entry(line: str) -> str:
    """A line without its comment and surrounding blanks."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return ""
    for blank in (" #", "\t#"):
        stripped = stripped.split(blank, 1)[0]
    return stripped.strip()


def _shown(entry: str) -> str:
    return entry if len(entry) <= 30 else f"{entry[:27]}..."

