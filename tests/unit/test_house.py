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
