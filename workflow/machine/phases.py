"""The campaign's phases as a hierarchical state machine.

The implementation phase nests its three links; advancing from the
preparation phase enters ``implementation`` and, through transitions'
hierarchy support, its first link.  As with deliverables, the model is a
throw-away token, the machine never touches the database, and gates are
checked by the service before the machine is asked.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from transitions import MachineError
from transitions.extensions.nesting import HierarchicalMachine, NestedState

from workflow.errors import TransitionNotAllowed
from workflow.spec.plan import PHASE_SEPARATOR, PhaseSpec, PlanSpec

ADVANCE = "advance"


class _Phase(NestedState):
    # Phase names contain underscores, the library's default separator.
    separator = PHASE_SEPARATOR


class _Machine(HierarchicalMachine):
    state_cls = _Phase


class _Token:
    state: str


class PhaseMachine:
    def __init__(self, plan: PlanSpec) -> None:
        self.plan = plan
        self.leaves = [path for path, _ in plan.leaves()]
        self._machine = _Machine(
            model=None,
            states=[_state(p) for p in plan.phases],
            transitions=[
                {"trigger": ADVANCE, "source": here, "dest": _entry(here, there)}
                for here, there in zip(self.leaves, self.leaves[1:], strict=False)
            ],
            initial=self.leaves[0],
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        self._lock = threading.Lock()

    @property
    def initial(self) -> str:
        return self.leaves[0]

    @property
    def final(self) -> str:
        return self.leaves[-1]

    def next_phase(self, phase: str) -> str:
        """The leaf phase that follows ``phase``; raises in the final phase."""
        token = _Token()
        with self._lock:
            self._machine.add_model(token, initial=phase)
            try:
                token.trigger(ADVANCE)  # type: ignore[attr-defined]
            except MachineError:
                raise TransitionNotAllowed(f"the campaign is {phase!r}: no phase follows") from None
            finally:
                self._machine.remove_model(token)
        return token.state


def _state(phase: PhaseSpec) -> Any:
    if not phase.phases:
        return phase.name
    return {
        "name": phase.name,
        "children": [c.name for c in phase.phases],
        "initial": phase.phases[0].name,
    }


def _entry(here: str, there: str) -> str:
    """Entering a parent phase from outside goes through the parent, so the
    hierarchy picks its initial child; moves between siblings go direct."""
    parent = there.partition(PHASE_SEPARATOR)[0]
    return parent if parent != here.partition(PHASE_SEPARATOR)[0] else there


@cache
def phase_machine(plan: PlanSpec) -> PhaseMachine:
    return PhaseMachine(plan)
