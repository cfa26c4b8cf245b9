"""The dependency directions of the design hold: pure modules stay pure, layers don't leak."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imports_of(path)}


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_normalize_and_matcher_are_pure():
    for name in ("normalize.py", "matcher.py"):
        found = top_levels(ROOT / "knowledge" / name)
        assert not found & {"sqlmodel", "sqlalchemy", "fastapi", "httpx", "bot", "handlers", "main", "webhooks"}


def test_knowledge_never_imports_the_bot_handlers_or_web():
    for path in files("knowledge"):
        assert not top_levels(path) & {"bot", "handlers", "main", "webhooks", "admin", "fastapi", "httpx"}, path


def test_handlers_never_import_platforms_web_or_http():
    for path in files("handlers"):
        found = imports_of(path)
        assert not {n for n in found if n.startswith("bot.platforms")}, path
        assert not {n.split(".")[0] for n in found} & {"fastapi", "httpx", "webhooks", "main", "admin"}, path


def test_bot_core_never_imports_handlers():
    for path in files("bot"):
        assert "handlers" not in top_levels(path), path


def test_platform_adapters_import_only_messages_and_httpx():
    for path in files("bot/platforms"):
        ours = {n for n in imports_of(path) if n.split(".")[0] in {"bot", "handlers", "knowledge", "main", "webhooks"}}
        assert ours <= {"bot.messages", "bot.platforms"} | {n for n in ours if n.startswith("bot.platforms.")}, path
