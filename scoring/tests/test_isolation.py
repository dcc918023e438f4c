"""scoring/ is pure numerics: it never imports Django (nor, outside tests and the benchmark,
anything but numpy, pandas, scipy and the standard library)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
ENGINE_DEPENDENCIES = {"numpy", "pandas", "scipy", "scoring"}


def imported_top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_in_the_package_imports_django():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    offenders = [str(p.relative_to(PACKAGE)) for p in sources
                 if "django" in imported_top_level_names(p)]
    assert offenders == []


def test_engine_modules_import_only_numpy_pandas_scipy_and_the_standard_library():
    engine = [p for p in PACKAGE.glob("*.py") if p.name != "bench.py"]
    allowed = ENGINE_DEPENDENCIES | set(sys.stdlib_module_names) | {"__future__"}
    stray = {p.name: sorted(imported_top_level_names(p) - allowed) for p in engine}
    assert {name: names for name, names in stray.items() if names} == {}


def test_importing_the_package_loads_no_django():
    modules = [f"scoring.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'numerai_tools'}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent,
                               capture_output=True, text=True, timeout=120, check=True)
    assert completed.stdout.strip() == "[]"
