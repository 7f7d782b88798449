"""Explicit wiring: importing colsec registers nothing, and two nodes in one process stay apart."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import pkgutil
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

import colsec
from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.intel.models import Alert
from colsec.node import Node, build_node
from colsec.settings import Settings
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects

# Modules whose import runs something: the Alembic environment and the command entry point.
NOT_IMPORTABLE = frozenset({"colsec.migrations.env", "colsec.__main__"})


def _all_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(colsec.__path__, "colsec.")
        if info.name not in NOT_IMPORTABLE
    ]
    for name in names:
        importlib.import_module(name)
    return names


def _is_code(value: Any) -> bool:
    return inspect.isfunction(value) or inspect.ismethod(value) or isinstance(value, functools.partial)


def _origin(value: Any) -> str | None:
    target = value.func if isinstance(value, functools.partial) else value
    return getattr(target, "__module__", None)


def _registry_problems(module_names: list[str]) -> list[str]:
    """Containers holding code of another module than every module that names them (a re-export
    of a table is judged by the module that fills it), and mutable configuration objects."""
    holders: dict[int, list[tuple[str, str, Any]]] = {}
    for module_name in module_names:
        for name, value in vars(importlib.import_module(module_name)).items():
            if not name.startswith("__"):
                holders.setdefault(id(value), []).append((module_name, name, value))
    problems = []
    for named in holders.values():
        module_name, name, value = named[0]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
                problems.append(f"{module_name}.{name}: a mutable configuration object")
            continue
        items: list[Any] = []
        if isinstance(value, list | set):
            items = list(value)
        elif isinstance(value, dict):
            items = [*value.keys(), *value.values()]
        origins = {str(_origin(v)) for v in items if _is_code(v)}
        if origins and all(origins - {holder} for holder, _, _ in named):
            problems.append(f"{module_name}.{name}: holds code of {sorted(origins)}")
    return problems


def test_importing_every_module_registers_nothing() -> None:
    """A module-level list or dict holding another module's functions, or a mutable settings
    object, is how import-time registration looks: none may exist once everything is imported."""
    names = _all_modules()
    assert len(names) > 150  # the walk really found the package
    assert _registry_problems(names) == []


def test_the_detector_sees_a_registry() -> None:
    """The check above can fail: a list filled with another module's function is reported."""
    module = importlib.import_module("colsec.demo")
    module.__dict__["_PLANTED"] = [build_node]
    try:
        assert _registry_problems(["colsec.demo"]) == ["colsec.demo._PLANTED: holds code of ['colsec.node']"]
    finally:
        del module.__dict__["_PLANTED"]


def _node(tmp_path: Path, template: Path, name: str, threshold: int) -> Node:
    path = tmp_path / f"{name}.db"
    shutil.copy(template, path)
    settings = Settings(
        data_dir=tmp_path / name,
        database_url=f"sqlite:///{path}",
        secret_key=f"{name}-secret-key-for-tests",
        cross_member_threshold=threshold,
    )
    return build_node(settings)


def _shared_value_held_by_five(node: Node) -> int:
    """Five members each report the same address; return the node's cross-member alert count."""
    with node.database.unit_of_work() as db:
        for i in range(5):
            org = accounts.create_organisation(db, actor=SYSTEM, name=f"M{i} agency", short_name=f"M{i}")
            actor = Actor(username=f"m{i}", role=Role.ANALYST, org_id=org.id, org_short_name=org.short_name)
            obj = {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--0000000{i}-6b1c-4d2e-8f3a-5b6c7d8e9f01",
                "created": "2026-11-20T10:00:00.000Z",
                "modified": "2026-11-20T10:00:00.000Z",
                "pattern": "[ipv4-addr:value = '198.51.100.99']",
                "pattern_type": "stix",
                "valid_from": "2026-11-20T10:00:00.000Z",
                "object_marking_refs": [marking_id(TLP.GREEN)],
            }
            import_objects(db, actor=actor, objects=[obj], owner_org_id=org.id)
    with node.database.unit_of_work(write=False) as db:
        return len(db.execute(select(Alert.id).where(Alert.kind == "cross_member")).all())


def test_two_nodes_in_one_process_keep_their_own_settings(tmp_path: Path, sqlite_template: Path) -> None:
    low = _node(tmp_path, sqlite_template, "low", threshold=2)
    high = _node(tmp_path, sqlite_template, "high", threshold=6)
    try:
        assert _shared_value_held_by_five(high) == 0  # six members needed: five never alert
        assert _shared_value_held_by_five(low) == 5  # two suffice: every member is told
        assert low.intel.cross_member_threshold == 2 and high.intel.cross_member_threshold == 6
        # a session of a bare database (no node) runs no post-import step at all
        bare = Database(high.database.url)
        with bare.unit_of_work() as db:
            assert "post_import" not in db.info
        bare.dispose()
    finally:
        low.close()
        high.close()
