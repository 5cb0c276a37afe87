"""The deployed package is the product: built from ``.funcignore``, importable on its own.

Core Tools and the azd Functions packager both leave out what ``.funcignore`` names (gitignore
syntax). These tests build that same file set from the repository, copy it to an empty folder
and import every deployed module from there alone, so a dev-only import in product code, or a
product module missing from the package, fails here rather than on a Function App at 3 a.m.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest

from tests.support import ROOT


def repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return sorted(name for name in listed if (ROOT / name).is_file())


def deployment_files() -> list[str]:
    ignore = pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())
    return [name for name in repository_files() if not ignore.match_file(name)]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("deployment")
    for name in deployment_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def deployed_modules(package: Path) -> list[str]:
    return sorted(
        ".".join(path.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
    )


def test_the_package_holds_the_product_and_nothing_else() -> None:
    files = deployment_files()
    assert {"function_app.py", "host.json", "requirements.txt", "archiver/__init__.py"} <= set(files)
    assert "archiver/pipeline.py" in files and "archiver/records.py" in files
    dev_only = ("archiver/dev/", "tests/", "infra/", "scripts/", ".ci/", "node_modules/", ".venv")
    assert not [name for name in files if name.startswith(dev_only)]
    assert not [
        name for name in files if name in ("package.json", "package-lock.json", "local.settings.json")
    ]
    # Every product module ships: the package is archiver/ minus archiver/dev/, exactly.
    product = [
        n for n in repository_files() if n.startswith("archiver/") and not n.startswith("archiver/dev/")
    ]
    assert sorted(n for n in files if n.startswith("archiver/")) == sorted(product)


def test_product_code_never_imports_dev_tools_or_the_function_app(package: Path) -> None:
    offenders = []
    for path in (package / "archiver").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(package)}: {n}"
                for n in names
                if n.startswith("archiver.dev") or n == "function_app"
            ]
    assert offenders == []


def python_in(package: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python run in the deployed folder, with nothing of the checkout on its path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=package, env=env, capture_output=True, text=True, check=False
    )


def test_every_deployed_module_imports_from_the_package_alone(package: Path) -> None:
    # ``__main__`` runs the CLI when imported; the CLI test below starts it instead.
    modules = [m for m in deployed_modules(package) if not m.endswith("__main__")]
    assert "function_app" in modules and "archiver.pipeline" in modules
    code = (
        "import importlib, sys\n"
        f"modules = {modules!r}\n"
        "for name in modules:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), (name, module.__file__)\n"
        "import function_app\n"
        "print(len(function_app.app.get_functions()))\n"
    )
    out = python_in(package, "-c", code, str(package))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6"


def test_operator_cli_on_a_deployment_shows_only_operator_commands(package: Path) -> None:
    out = python_in(package, "-m", "archiver", "--help")
    assert out.returncode == 0, out.stderr
    assert "archive" in out.stdout and "participants" in out.stdout and "redrive" in out.stdout
    for dev_command in ("demo", "emulator", "bench"):
        assert f"{{{dev_command}" not in out.stdout and f",{dev_command}" not in out.stdout
    missing = python_in(package, "-m", "archiver.dev", "--help")
    assert missing.returncode != 0 and "No module named archiver.dev" in missing.stderr


def _imports(path: Path, package: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("archiver"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("archiver"))
    modules = set(deployed_modules(package))
    return {name for name in found if name in modules}


def test_product_modules_have_no_import_cycles(package: Path) -> None:
    """Cycles make import order matter and hide which module owns what."""
    graph = {
        name: _imports(package / (name.replace(".", "/") + ".py"), package)
        for name in deployed_modules(package)
        if (package / (name.replace(".", "/") + ".py")).exists()
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for dependency in sorted(graph.get(name, ())):
            visit(dependency)
        visiting.pop()
        done.add(name)

    for module in sorted(graph):
        visit(module)
