"""The house rules the layout stands on: each folder of the layer holds one kind of thing,
the domain imports no adapter, and no module grows into two rooms."""

from __future__ import annotations

import ast
from pathlib import Path

from local.template import ROOT

PACKAGE = ROOT / "layers" / "core" / "aculab_messaging"
# what the domain (logic/) may import from the package: itself, the contracts, Aculab's params and errors
DOMAIN_MAY_IMPORT = ("aculab_messaging.logic", "aculab_messaging.contracts", "aculab_messaging.aculab.params",
                     "aculab_messaging.aculab.errors")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_domain_imports_no_adapter_of_ours() -> None:
    # given every module of logic/ / when its imports of our package are read (TYPE_CHECKING ones too)
    wrong = {
        f"{path.name}: {module}"
        for path in sorted((PACKAGE / "logic").glob("*.py"))
        for module in _imports(path)
        if module.startswith("aculab_messaging") and not module.startswith(DOMAIN_MAY_IMPORT)
    }
    # then none is an adapter (aws/, api/, dal/, runtime/, the Aculab HTTP client)
    assert wrong == set()


def test_no_module_of_the_layer_reaches_300_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n >= 300} == {}


def test_the_producer_and_status_clis_are_not_in_the_layer() -> None:
    # the layer ships to every function: a command-line tool for people has no place in it
    assert not (PACKAGE / "producer.py").exists() and not (PACKAGE / "status_client.py").exists()
    assert (ROOT / "tools" / "producer.py").exists() and (ROOT / "tools" / "status_client.py").exists()


def test_each_kind_of_item_is_its_own_object_and_the_store_is_composed() -> None:
    import dataclasses
    import inspect

    from aculab_messaging import dal
    from aculab_messaging.dal.table import Table

    # given the DynamoDB store wiring hands the services
    kinds = {f.name: f.type for f in dataclasses.fields(dal.TableStore)}
    classes = {cls for module in vars(dal).values() if inspect.ismodule(module)
               for cls in vars(module).values() if inspect.isclass(cls) and issubclass(cls, Table) and cls is not Table}
    # then each kind stands on the table's helpers alone, no kind inherits another (no mixin) ...
    assert {cls.__name__: [b.__name__ for b in cls.__bases__] for cls in classes if cls.__bases__ != (Table,)} == {}
    # ... and the store is a composition of one object per kind, not a class of them
    assert not issubclass(dal.TableStore, Table) and len(kinds) == len(classes) == 13


def test_every_consumers_store_port_names_kinds_and_holds_no_call_of_its_own() -> None:
    import inspect
    from typing import Protocol

    from aculab_messaging.logic import store_ports

    # given the store ports / when the consumers' ports (those naming kinds) are read
    consumers = {name: cls for name, cls in vars(store_ports).items()
                 if inspect.isclass(cls) and issubclass(cls, Protocol) and cls.__name__.endswith("Store")  # type: ignore[arg-type]
                 and isinstance(inspect.getattr_static(cls, "messages", None) or inspect.getattr_static(
                     cls, "blocked", None), property)}
    # then each names kinds (properties) only: a call belongs to a kind's port
    calls = {name: [member for member, value in vars(cls).items()
                    if inspect.isfunction(value) and not member.startswith("__")]
             for name, cls in consumers.items()}
    assert set(consumers) >= {"SendStore", "IngestStore", "ReconcileStore", "TrackingStore", "CancelStore",
                              "CampaignStore", "OptOutStore", "LookupStore", "ResendStore"}
    assert {name: found for name, found in calls.items() if found} == {}


def test_the_readmes_layout_names_every_module_of_the_layer() -> None:
    # given the README's layout (a module is named by its file name, on its own line or beside a kin's)
    readme = (ROOT / "README.md").read_text()
    # when every module of the layer is looked for in it
    unnamed = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if p.name != "__init__.py" and "__pycache__" not in p.parts and p.name not in readme)
    # then none is left out (a module added without its line in the layout fails here)
    assert unnamed == []
