"""The arrows point one way: shells → services → pure core. Checked on every import statement."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "mezame"

SHELL_PACKAGES = ("mezame.api", "mezame.web", "mezame.cli", "mezame.worker")
# Modules allowed to touch storage, frameworks or the outside world.
IMPURE_PREFIXES = (
    *SHELL_PACKAGES,
    "mezame.models",
    "mezame.migrations",
    "mezame.adapters",
    "mezame.db",
    "mezame.config",
    "mezame.queue",
    "mezame.pipeline",
)
# What a pure module may never import: frameworks, storage, network, settings.
FORBIDDEN_IN_PURE = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "huey",
    "redis",
    "psycopg",
    "httpx",
    "smtplib",
    "aiosmtplib",
    "typer",
    "rich",
    "mezame.models",
    "mezame.db",
    "mezame.config",
    "mezame.queue",
)


def _module_name(path: Path) -> str:
    parts = ["mezame", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_service(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last in {"service", "files"} or module.startswith(IMPURE_PREFIXES)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if not _is_service(m) and m != "mezame")
)
def test_pure_modules_import_no_framework_or_storage(module: str) -> None:
    bad = sorted(n for n in _imports(MODULES[module]) if _matches(n, FORBIDDEN_IN_PURE))
    assert bad == [], f"{module} is domain core but imports {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not _matches(m, SHELL_PACKAGES)))
def test_nothing_below_the_shells_imports_a_shell(module: str) -> None:
    bad = sorted(n for n in _imports(MODULES[module]) if _matches(n, SHELL_PACKAGES))
    assert bad == [], f"{module} imports the shell modules {bad}"


def test_the_rule_sees_the_core() -> None:
    pure = {m for m in MODULES if not _is_service(m)}
    assert "mezame.vocabulary" in pure
    assert "mezame.ingest.fields" in pure
