"""The engine's shape (issue 10): services side by side, one move path that a
type's rules plug into, refusals noted in the refused transaction, small
modules.  Each rule is checked on the code or on what the engine does."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import statistics
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from conftest import driver_trace, snapshot
from drive import COMMENT, complete_content
from sqlalchemy import Connection

import workflow
from workflow import Campaign, PermissionDenied, TransitionNotAllowed
from workflow.services.move_rules import Move
from workflow.services.moves import Moves, TypeRules
from workflow.store.views import EventView, View

PACKAGE = Path(workflow.__file__).resolve().parent
MAX_LINES = 400
MAX_MEDIAN = 150


def modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(workflow.__path__, "workflow."):
        yield importlib.import_module(info.name)


def own_classes(module: ModuleType) -> list[type]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if c.__module__ == module.__name__]


# -- composition -------------------------------------------------------------------------


def test_no_service_inherits_another_there_is_no_mixin() -> None:
    """A service, the store, the registry and the facade have no base of this
    package: capabilities are composed, never stacked."""
    composed = [m for m in modules()
                if m.__name__.startswith(("workflow.services", "workflow.store.store",
                                          "workflow.campaign"))]
    stacked = [
        f"{cls.__qualname__}({base.__qualname__})"
        for module in composed for cls in own_classes(module) for base in cls.__bases__
        if base.__module__.startswith("workflow") and not issubclass(base, View)
    ]
    assert stacked == []


def test_the_facade_is_services_built_from_one_store_and_one_registry(
    campaign: Campaign,
) -> None:
    services = {name: value for name, value in vars(campaign).items()
                if name not in ("store", "registry")}
    assert set(services) == {"reads", "people", "deliverables", "moves", "documents",
                             "attachments", "rectification", "plan", "records", "audit",
                             "schema", "accounts", "visibility", "pages", "notifications",
                             "public"}
    for service in services.values():
        shared = {name: value for name, value in vars(service).items()
                  if name in ("_store", "_registry")}
        assert all(v is (campaign.store if n == "_store" else campaign.registry)
                   for n, v in shared.items()), type(service).__name__


def test_the_public_api_is_the_facade_and_the_error_tree() -> None:
    from workflow import errors

    error_classes = {name for name, value in vars(errors).items()
                     if inspect.isclass(value) and issubclass(value, Exception)}
    assert "Campaign" in workflow.__all__
    assert error_classes <= set(workflow.__all__)
    for name in workflow.__all__:
        assert getattr(workflow, name) is not None


# -- one move path -----------------------------------------------------------------------


def _defines(name: str) -> list[str]:
    """Every class in the package that defines a method called ``name``."""
    return [f"{module.__name__}.{cls.__qualname__}" for module in modules()
            for cls in own_classes(module) if name in vars(cls)]


def test_only_the_move_service_fires_and_nothing_overrides_it() -> None:
    assert _defines("fire") == ["workflow.services.moves.Moves"]


def test_only_the_move_path_writes_a_transition_event() -> None:
    writers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.keyword) and node.arg == "action"
                    and isinstance(node.value, ast.Constant) and node.value.value == "transition"):
                writers.append(path.relative_to(PACKAGE).as_posix())
    assert writers == ["services/moves.py"]


class Recorder:
    """A type's own rule: refuses a submit whose comment lacks 签字, and
    records the events of the moves it let through."""

    def __init__(self) -> None:
        self.effects: list[int] = []

    def guard(self, connection: Connection, move: Move) -> None:
        if move.transition.trigger == "submit" and "签字" not in (move.comment or ""):
            raise TransitionNotAllowed("the submission needs a signature", move.deliverable_id)

    def effect(self, connection: Connection, move: Move, event: EventView) -> None:
        self.effects.append(event.seq)


def test_a_type_s_own_rule_plugs_into_the_one_move_path(
    campaign: Campaign, db_url: str
) -> None:
    recorder = Recorder()
    moves = Moves(campaign.store, campaign.registry, campaign.reads,
                  rules=(TypeRules("self_review", recorder.guard, recorder.effect),))
    spec = campaign.registry.definition("self_review")
    item = campaign.deliverables.create("leader1", "self_review", "材料",
                                        content=complete_content(spec))
    before = snapshot(db_url)
    with pytest.raises(TransitionNotAllowed, match="signature"):
        moves.fire("leader1", item.id, "submit", COMMENT)
    assert snapshot(db_url) == before
    event = moves.fire("leader1", item.id, "submit", "已签字")
    assert recorder.effects == [event.seq]
    assert campaign.reads.get(item.id).state == event.dest


def test_a_move_carries_no_payload_its_type_does_not_read(campaign: Campaign) -> None:
    spec = campaign.registry.definition("self_review")
    item = campaign.deliverables.create("leader1", "self_review", "材料",
                                        content=complete_content(spec))
    with pytest.raises(TransitionNotAllowed, match="takes no rating"):
        campaign.moves.fire("leader1", item.id, "submit", payload={"rating": "好"})
    assert campaign.reads.get(item.id).version == item.version


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.sqlite_only("counts BEGIN IMMEDIATE and COMMIT as SQLite's driver traces them")
def test_a_permission_refusal_is_noted_in_the_transaction_that_refused_it(
    campaign: Campaign, db_url: str
) -> None:
    spec = campaign.registry.definition("self_review")
    item = campaign.deliverables.create("leader1", "self_review", "材料",
                                        content=complete_content(spec))
    before = snapshot(db_url)
    with driver_trace(campaign.store.engine) as statements, pytest.raises(PermissionDenied):
        campaign.moves.fire("member1", item.id, "submit")
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    assert snapshot(db_url) == before
    assert [r.actor for r in campaign.audit.refusals()] == ["member1"]


def test_a_refusal_after_a_write_undoes_the_write_and_is_still_noted(
    campaign: Campaign, db_url: str
) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "材料")
    before = snapshot(db_url)
    with pytest.raises(PermissionDenied), campaign.store.writing_core() as connection:
        campaign.store.bump(connection, item.id, item.version, "review")
        raise PermissionDenied("member1", "try", "a rule found late")
    assert snapshot(db_url) == before
    assert [(r.actor, r.reason) for r in campaign.audit.refusals()] == [
        ("member1", "a rule found late")]
    campaign.audit.verify()


# -- sizes -------------------------------------------------------------------------------


def test_modules_stay_small() -> None:
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
    assert statistics.median(sizes.values()) <= MAX_MEDIAN
