"""One transitions state machine per definition, shared by all its deliverables.

The machine's model is a throw-away plain object (``_Token``): transitions
cannot decorate SQLModel/pydantic instances, and the ORM row must never drive
the machine.  The service asks "from state S, where does trigger T lead?"; the
machine answers or raises, and never touches the database.

The library's quiet modes are all off: no ``to_<state>`` auto transitions, an
invalid trigger raises instead of returning ``False``, and no conditions are
attached (rules are checked by :mod:`workflow.machine.policy`, which raises with a
reason instead of silently failing).
"""

from __future__ import annotations

import threading
from functools import cache

from transitions import Machine, MachineError

from workflow.errors import InvalidInput, TransitionNotAllowed
from workflow.spec.definition import WorkflowSpec


class _Token:
    """The state machine's model: a state and nothing else."""

    state: str


class DeliverableMachine:
    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self._machine = Machine(
            model=None,
            states=[s.name for s in spec.states],
            transitions=[
                {"trigger": t.trigger, "source": list(t.source), "dest": t.dest}
                for t in spec.transitions
            ],
            initial=spec.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            queued=False,
        )
        # One token stands for whichever deliverable is being moved: set to
        # its state, triggered, read back.  One move at a time per machine.
        self._states = frozenset(s.name for s in spec.states)
        self._token = _Token()
        self._machine.add_model(self._token, initial=spec.initial)
        self._lock = threading.Lock()
        # The machine has no conditions and no callbacks, so where a trigger
        # leads from a state is all it ever answers: each answer it gives is
        # kept, and asked of it again only for a move it refused.
        self._answers: dict[tuple[str, str], str] = {}

    @property
    def initial(self) -> str:
        return self.spec.initial

    def next_state(self, state: str, trigger: str) -> str:
        """The state ``trigger`` leads to from ``state``; raises if it cannot fire."""
        if trigger not in self.spec.triggers:
            raise InvalidInput(
                f"{self.spec.id} has no trigger {trigger!r} "
                f"(known: {', '.join(sorted(self.spec.triggers))})"
            )
        if state not in self._states:
            raise InvalidInput(f"{state!r} is not a state of {self.spec.id}")
        known = self._answers.get((state, trigger))
        if known is not None:
            return known
        with self._lock:
            self._machine.set_state(state, model=self._token)
            try:
                fired = self._token.trigger(trigger)  # type: ignore[attr-defined]
            except MachineError:
                raise TransitionNotAllowed(
                    f"{trigger!r} cannot fire from state {state!r} "
                    f"(possible: {', '.join(self.triggers_from(state)) or 'none'})"
                ) from None
            if fired is not True:  # never let a silent False through
                raise TransitionNotAllowed(f"{trigger!r} did not fire from state {state!r}")
            self._answers[(state, trigger)] = self._token.state
            return self._token.state

    def triggers_from(self, state: str) -> list[str]:
        return sorted(self._machine.get_triggers(state))


@cache
def machine_for(spec: WorkflowSpec) -> DeliverableMachine:
    """The shared machine of a definition (specs are frozen, hence hashable)."""
    return DeliverableMachine(spec)
