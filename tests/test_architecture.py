"""The layers import only downward: checked by importing each layer in a fresh interpreter.

`flows` imports nothing of `bot`; `bot.app` and `bot.ui` import neither python-telegram-bot nor
sqlite3; only `bot.store` imports sqlite3 and only `bot.telegram` imports telegram. A
fresh interpreter sees every module a layer pulls in, also through its own imports.
"""

from __future__ import annotations

import ast
import graphlib
import json
import pkgutil
import re
import subprocess
import sys

import pytest

import bot.app
import bot.store
import flows
from bot.app.routing import CommandSpec, CommandTable, Router
from bot.ui.texts import load_texts
from tests.harness import ROOT


def modules_of(package: object) -> list[str]:
    path = package.__path__  # type: ignore[attr-defined]
    prefix = package.__name__ + "."  # type: ignore[attr-defined]
    names = (info.name for info in pkgutil.walk_packages(path, prefix))
    return sorted(name for name in names if not name.endswith("__main__"))


def loaded_after_importing(modules: list[str]) -> set[str]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("flows", {"bot", "telegram", "sqlite3"}),
        ("bot.app", {"telegram", "sqlite3"}),
        ("bot.ui", {"telegram", "sqlite3"}),
        ("bot.store", {"telegram"}),
    ],
)
def test_layers_import_only_downward(layer: str, forbidden: set[str]) -> None:
    package = __import__(layer, fromlist=["_"])
    loaded = loaded_after_importing([layer, *modules_of(package)])
    assert not top(loaded) & forbidden
    if layer != "bot.store":
        assert not {m for m in loaded if m.startswith("bot.store")}, "use cases see ports only"


def test_the_transport_and_the_store_each_bring_only_their_own_library() -> None:
    """The console needs no python-telegram-bot, the store none either."""
    assert "telegram" not in top(loaded_after_importing(["bot.console", *modules_of(bot.store)]))
    assert "sqlite3" in top(loaded_after_importing(["bot.store.storage"]))
    assert modules_of(flows) and modules_of(bot.app)  # the layers are there


def test_the_page_server_loads_its_drawing_libraries_on_first_use() -> None:
    """matplotlib and WeasyPrint take about a second to import: a bot that serves workshop
    pages starts without them, and loads them for the first chart or PDF."""
    loaded = top(loaded_after_importing(["bot.web.server", "bot.web.pages"]))
    assert not loaded & {"matplotlib", "weasyprint"}


def router_for(table: CommandTable) -> Router:
    """Only the table matters for the route check; the use cases are not called."""
    unused = None
    return Router(  # type: ignore[arg-type]
        table, *[unused] * 8, frozenset(), unused, unused, unused, workshop=unused
    )


def test_every_command_has_a_route_and_every_route_a_command() -> None:
    """The menus and the routing table come from one definition; a mismatch stops start-up."""
    table = CommandTable.from_texts(load_texts())
    router_for(table)
    for spec in table.specs:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", spec.name), spec.name
        assert spec.description
    extra = CommandSpec("neu", "no_such_action", "everyone", "Neu")
    with pytest.raises(ValueError, match="no_such_action"):
        router_for(CommandTable([*table.specs, extra]))
    without_help = [spec for spec in table.specs if spec.action != "help"]
    with pytest.raises(ValueError, match="help"):
        router_for(CommandTable(without_help))
    with pytest.raises(ValueError, match="twice"):
        CommandTable([*table.specs, CommandSpec("hilfe", "help", "everyone", "x")])


def test_the_disclosure_package_imports_one_way() -> None:
    """Within `flows.disclosure` every module imports only modules below it, none the package
    itself (the README lists them in that order): the imports form no cycle."""
    package = ROOT / "flows" / "disclosure"
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        inside = {name for name in imported if name.startswith("flows.disclosure")}
        if path.stem != "__init__":
            assert "flows.disclosure" not in inside, f"{path.name} imports the package"
        graph[path.stem] = {name.removeprefix("flows.disclosure.") for name in inside}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle in flows.disclosure: {cycle.args[1]}")
