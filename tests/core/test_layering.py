"""The core's layering: it imports no plugin, and its modules import each other in no circle."""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from pathlib import Path

import jamsession

CORE = Path(jamsession.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import stands (functions and TYPE_CHECKING too)."""
    package = ".".join(path.relative_to(CORE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            # ``from jamsession import _codec`` imports a module too.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _core_graph() -> dict[str, set[str]]:
    modules = {
        ".".join(path.relative_to(CORE.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in CORE.rglob("*.py")
    }
    return {name: _imported_modules(path) for name, path in modules.items()}


def test_the_core_names_no_plugin_in_any_import() -> None:
    into_plugins = {
        module: sorted(name for name in imported if name.startswith("jamsession_"))
        for module, imported in _core_graph().items()
    }
    assert {} == {module: names for module, names in into_plugins.items() if names}


def test_the_core_modules_import_each_other_in_no_circle() -> None:
    graph = _core_graph()
    # The package's face imports every module to hand its names on; a module importing the
    # package (or its own parent package) is Python's arrow, not a dependency between modules.
    edges = {
        module: {
            name
            for name in imported
            if name in graph and name not in {module, "jamsession"} and not module.startswith(name + ".")
        }
        for module, imported in graph.items()
    }
    graphlib.TopologicalSorter(edges).prepare()  # raises CycleError naming the circle


def test_importing_jamsession_imports_no_plugin() -> None:
    script = (
        "import json, sys\n"
        "import jamsession, jamsession.testing\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('jamsession_'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert [] == json.loads(result.stdout)


def test_json_encoder_is_the_serializer_named_json() -> None:
    assert jamsession.load_serializer("json") is jamsession.JsonEncoder
    assert "jamsession_json._encoder" == jamsession.JsonEncoder.__module__
