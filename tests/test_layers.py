"""The layers point one way: services, models, tasks and the pure libraries never import the web.

A service that imported ``opschub.web`` would tie every command and background job to FastAPI and
make import circles (the web layer imports the services). Domain types such as ``Principal`` live
in the capability that owns them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import opschub

PACKAGE = Path(opschub.__file__).resolve().parent
# Modules that run outside a web request: they may not import the web layer.
LAYERED_NAMES = {"models.py", "service.py", "tasks.py", "cli.py"}
PURE_LIBRARIES = ("matching", "terms", "stats/disclosure")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _checked_modules() -> list[Path]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "web":
            continue
        pure = any(relative.as_posix().startswith(library + "/") for library in PURE_LIBRARIES)
        if path.name in LAYERED_NAMES or pure:
            modules.append(path)
    return modules


def test_services_models_and_libraries_do_not_import_the_web_layer() -> None:
    modules = _checked_modules()
    assert any(p.name == "service.py" for p in modules)
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules
        for name in sorted(_imports(path))
        if name == "opschub.web" or name.startswith("opschub.web.")
    ]
    assert offenders == []


def test_pure_libraries_do_not_touch_the_database_or_other_capabilities() -> None:
    offenders = []
    for library in PURE_LIBRARIES:
        for path in sorted((PACKAGE / library).rglob("*.py")):
            if path.name == "cli.py":  # the command is the adapter: it reads the settings
                continue
            dotted = library.replace("/", ".")
            for name in sorted(_imports(path)):
                foreign = name.startswith("opschub.") and not name.startswith(
                    (f"opschub.{dotted}", "opschub.text")
                )
                if foreign or name.startswith("sqlalchemy"):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []
