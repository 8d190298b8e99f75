"""The layering, read from the source with ``ast`` (nothing is imported).

cuda_kernels/ ← dain/ ← restore/: nothing imports upward; restore/evaluation/ (damage generators and
scorers) stays off the product path; ``torch.load`` lives in the one checkpoint reader; modules stay
small. Imports count wherever they are written (module level, inside functions, under
``TYPE_CHECKING``) and so do registry targets, the ``"package.module:attribute"`` strings that
registries import by name.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cuda_kernels", "dain", "restore")
MAX_LINES = 450
#: Strings that name a module of ours, optionally with ":attribute" (registry entries, lazy tables).
_TARGET = re.compile(r"^(?:cuda_kernels|dain|restore)(?:\.\w+)*(?::\w+)?$")


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "restore.stages.cleanup.motion"
    path: Path  # relative to the repository root
    tree: ast.Module
    lines: int


@functools.lru_cache(maxsize=1)
def _modules() -> tuple[Module, ...]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            text = path.read_text(encoding="utf-8")
            modules.append(
                Module(".".join(parts), relative, ast.parse(text, str(relative)), len(text.splitlines()))
            )
    return tuple(modules)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the Constant nodes that are docstrings (never import targets)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _imports(module: Module) -> set[str]:
    """Every module name ``module`` imports or names as a registry target (``from a import b`` gives
    both ``a`` and ``a.b``, since ``b`` may be a submodule)."""
    is_package = module.path.name == "__init__.py"
    names: set[str] = set()
    docstrings = _docstrings(module.tree)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.name.split(".")
                drop = node.level - 1 if is_package else node.level
                anchor = anchor[: len(anchor) - drop] if drop else anchor
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if _TARGET.match(node.value):
                names.add(node.value.partition(":")[0])
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offenders(importer: str, forbidden: str) -> list[str]:
    """'path: imported' for every module under ``importer`` that imports something under ``forbidden``."""
    found = []
    for module in _modules():
        if not _within(module.name, importer):
            continue
        bad = sorted(name for name in _imports(module) if _within(name, forbidden))
        if bad:
            found.append(f"{module.path}: {', '.join(bad)}")
    return found


def test_the_tree_is_found():
    names = {module.name for module in _modules()}
    assert {"cuda_kernels", "dain.flow", "restore.media.frames", "restore.evaluation"} <= names


def test_imports_are_read_everywhere():
    source = """
\"\"\"Docstrings that mention restore.jobs.run are not imports.\"\"\"
from restore.media import frames
from . import sibling
from ..engines import base
REGISTRY = {"x": "restore.jobs.run:run_job"}


def f():
    import restore.cli
"""
    module = Module("dain.nets.example", Path("dain/nets/example.py"), ast.parse(source), 0)
    assert _imports(module) == {
        "restore.media",
        "restore.media.frames",
        "dain.nets",
        "dain.nets.sibling",
        "dain.engines",
        "dain.engines.base",
        "restore.jobs.run",
        "restore.cli",
    }


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [("cuda_kernels", "dain"), ("cuda_kernels", "restore"), ("dain", "restore")],
)
def test_no_layer_imports_upward(importer, forbidden):
    offenders = _offenders(importer, forbidden)
    assert not offenders, f"{importer} must not import {forbidden}:\n" + "\n".join(offenders)


def test_evaluation_stays_off_the_product_path():
    offenders = []
    for module in _modules():
        if _within(module.name, "restore.evaluation"):
            continue
        bad = sorted(name for name in _imports(module) if _within(name, "restore.evaluation"))
        if bad:
            offenders.append(f"{module.path}: {', '.join(bad)}")
    message = "only tests, benchmarks and notebooks may use restore.evaluation:\n"
    assert not offenders, message + "\n".join(offenders)


def _calls_torch_load(module: Module) -> list[int]:
    """Lines with ``torch.load(...)``, ``torch.serialization.load(...)`` or ``from torch import load``."""
    lines = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load":
            owner = ast.unparse(node.func.value)
            if owner in ("torch", "torch.serialization"):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch", "torch.serialization"):
            if any(alias.name == "load" for alias in node.names):
                lines.append(node.lineno)
    return lines


def test_torch_load_only_in_the_checkpoint_reader():
    offenders = [
        f"{module.path}:{line}"
        for module in _modules()
        if module.name != "dain.checkpoint"
        for line in _calls_torch_load(module)
    ]
    assert not offenders, "torch.load belongs in dain/checkpoint.py only:\n" + "\n".join(offenders)


def test_modules_stay_small():
    offenders = [
        f"{module.path}: {module.lines} lines"
        for module in _modules()
        if module.name.split(".")[0] in ("dain", "restore") and module.lines > MAX_LINES
    ]
    assert not offenders, f"modules over {MAX_LINES} lines:\n" + "\n".join(offenders)
