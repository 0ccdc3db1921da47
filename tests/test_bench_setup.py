"""Issue 10, "`python -m bench` fails after README's run set-up" (aiohttp was a test extra).

The benchmark has its own extra, `.[bench]`: every third-party package that bench/ imports
(following its imports into tests/, for the local Bot API server) must be a dependency of the
product or of that extra, and README's benchmark command must install it.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCAL = {"bot", "flows", "bench", "tests"}


def installed_closure(requirements: list[str]) -> set[str]:
    """The declared distributions and everything they pull in (with the extras asked for)."""
    names: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in names:
            continue
        names.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            # A declared tool that is no Python library (py-spy: a binary the benchmark runs)
            # need not be installed for the tests: it is declared, and imports nothing.
            continue
        for raw in requires:
            inner = Requirement(raw)
            wanted = requirement.extras or {""}
            if inner.marker is None or any(inner.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(inner)
    return names


def imported_modules(start: list[Path]) -> set[str]:
    """Top-level names of everything imported by `start` and the local modules it reaches."""
    seen: set[Path] = set()
    todo = list(start)
    found: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level:
                package = path.parent
                for _ in range(node.level - 1):
                    package = package.parent
                target = package / (node.module or "").replace(".", "/")
                todo += [target.with_suffix(".py"), target / "__init__.py"]
            for name in names:
                top = name.split(".")[0]
                found.add(top)
                if top in LOCAL:
                    target = ROOT / name.replace(".", "/")
                    todo += [target.with_suffix(".py"), target / "__init__.py"]
    return found


def test_python_m_bench_fails_after_readme_set_up() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert "bench" in extras, "pyproject.toml has no [bench] extra"
    declared = installed_closure(project["dependencies"] + extras["bench"])
    distributions = packages_distributions()
    third_party = {
        module
        for module in imported_modules(sorted((ROOT / "bench").glob("*.py")))
        if module not in LOCAL and module not in sys.stdlib_module_names
    }
    assert "aiohttp" in third_party  # the local Bot API server: the reason for the extra
    missing = {
        module
        for module in third_party
        if not {canonicalize_name(d) for d in distributions.get(module, [module])} & declared
    }
    assert not missing, f"bench imports {missing}, not in dependencies or the bench extra"

    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "python -m bench" in line)
    assert "pip install -q -e '.[bench]'" in command, command
