"""The layering of docs/architecture.md, enforced by reading the source.

Apps import only from apps below them, apps of one layer never import each other, and
the pure modules import nothing from Django. Every import counts: at module level,
inside functions, under TYPE_CHECKING, absolute or relative.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "assura"

# Lowest first. Apps in one layer are siblings: neither may import the other.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"notify"}),
    frozenset({"calendars"}),
    frozenset({"commitments"}),
    frozenset({"sla"}),
    frozenset({"desk"}),
    frozenset({"voice", "uptime", "quality", "intake", "connect"}),
    frozenset({"reports"}),
    frozenset({"web", "api"}),
)
RANK = {app: rank for rank, layer in enumerate(LAYERS) for app in layer}

# Pure algorithms: importable and testable without Django.
PURE_FILES = (
    "calendars/clock.py",
    "calendars/cn.py",
    "calendars/ics.py",
    "sla/replay.py",
    "notify/channels.py",
    "connect/chat.py",
)
PURE_NAMES = frozenset({"checker.py", "statistics.py"})
DJANGO_WORLD = frozenset({"django", "rest_framework", "drf_spectacular", "auditlog"})

# Upward imports that exist today and are to be removed, as (importing module, imported
# app). The list may only shrink: a test fails once an entry is no longer needed.
KNOWN_UPWARD_IMPORTS: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module (or, for `from x import name`, x.name), dotted
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import in `source`, relative ones resolved against `module`."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from assura import web` imports the web app: keep the name with its base.
            found += [Import(module, f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def imports_of(path: Path) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    return imports_in(source, module_name(path), is_package=path.name == "__init__.py")


def app_of(dotted: str) -> str | None:
    """The app a dotted name belongs to; None for top-level modules and outside names."""
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] != "assura" or not (PACKAGE / parts[1]).is_dir():
        return None
    return parts[1]


def app_packages() -> list[str]:
    return sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))


def app_modules(app: str) -> list[Path]:
    return sorted((PACKAGE / app).rglob("*.py"))


def upward_imports() -> list[tuple[Import, str]]:
    """Imports from one app into another that is not below it, with the imported app."""
    found: list[tuple[Import, str]] = []
    for app in app_packages():
        for path in app_modules(app):
            for imported in imports_of(path):
                target_app = app_of(imported.target)
                if target_app is None or target_app == app or target_app not in RANK:
                    continue
                if RANK[target_app] >= RANK[app]:
                    found.append((imported, target_app))
    return found


def pure_modules() -> list[Path]:
    named = [PACKAGE / name for name in PURE_FILES]
    found = [path for path in PACKAGE.rglob("*.py") if path.name in PURE_NAMES]
    return sorted({path for path in named + found if path.exists()})


def module_path(dotted: str) -> Path | None:
    """The file of an assura module, or None when `dotted` is not one (e.g. a class)."""
    base = SRC.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def test_every_app_has_a_place_in_the_layers() -> None:
    unplaced = [app for app in app_packages() if app not in RANK]
    assert not unplaced, f"add {unplaced} to LAYERS here and to docs/architecture.md"


def test_no_app_imports_an_app_above_it_or_beside_it() -> None:
    offences = [
        f"{imported.module} (line {imported.line}) imports {imported.target}"
        for imported, target_app in upward_imports()
        if (imported.module, target_app) not in KNOWN_UPWARD_IMPORTS
    ]
    assert not offences, "imports against the layering:\n" + "\n".join(offences)


def test_the_known_upward_imports_are_still_there_so_the_list_only_shrinks() -> None:
    present = {(imported.module, target_app) for imported, target_app in upward_imports()}
    gone = KNOWN_UPWARD_IMPORTS - present
    assert not gone, f"remove {sorted(gone)} from KNOWN_UPWARD_IMPORTS: fixed"


@pytest.mark.parametrize("path", pure_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_pure_module_imports_nothing_from_django(path: Path) -> None:
    offences = []
    for imported in imports_of(path):
        root = imported.target.split(".")[0]
        if root in DJANGO_WORLD or root.startswith("django_"):
            offences.append(f"line {imported.line}: {imported.target}")
        elif root == "assura":
            # Through another assura module Django would come in all the same.
            target = module_path(imported.target) or module_path(imported.target.rpartition(".")[0])
            if target is not None and target not in pure_modules():
                offences.append(f"line {imported.line}: {imported.target} (not a pure module)")
    assert not offences, f"{path.name} must stay free of Django:\n" + "\n".join(offences)


def test_the_reader_sees_imports_in_functions_and_resolves_relative_ones() -> None:
    source = (
        "import assura.core.models\n"
        "from . import replay\n"
        "from ..desk.models import Case\n"
        "def later():\n"
        "    from assura import web\n"
    )
    targets = {found.target for found in imports_in(source, "assura.sla.services")}
    assert targets == {
        "assura.core.models",
        "assura.sla.replay",
        "assura.desk.models.Case",
        "assura.web",
    }


def test_a_relative_import_in_a_package_init_starts_from_the_package_itself() -> None:
    found = imports_in("from .models import Clock\n", "assura.sla", is_package=True)
    assert [item.target for item in found] == ["assura.sla.models.Clock"]
