"""The layout's rules, checked on the source: module size, import cycles, a pure
core without Ray or HTTP, and no HTTP status or URL below the api layer."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "servekit", "organism", "coordinator", "cognitive", "routing_cli", "bench")
MAX_LINES = 300
FRAMEWORKS = ("ray", "fastapi", "starlette")
# Modules that speak HTTP; everything else in the services is "below the api layer".
HTTP_LAYER = re.compile(r"(^servekit/|^routing_cli/|^bench/|/api\.py$|/app\.py$|/models\.py$)")
URL = re.compile(r"(https?://|^(GET|POST|PUT|PATCH|DELETE) /|/organism/|/pipeline/|/cognitive/)")


def source_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): p for p in source_files()}
GRAPH = {name: {i for i in imports_of(path) if i in MODULES and i != name} for name, path in MODULES.items()}


def is_pure(path: Path) -> bool:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    return "Pure" in docstring.splitlines()[0] if docstring else False


PURE = sorted(name for name, path in MODULES.items() if is_pure(path))


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_has_a_docstring_and_at_most_300_lines(path):
    assert ast.get_docstring(ast.parse(path.read_text())), "every module says what it owns"
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_no_import_cycles():
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in visiting:
            raise AssertionError("import cycle: " + " -> ".join([*visiting[visiting.index(name):], name]))
        if name in done:
            return
        visiting.append(name)
        for imported in sorted(GRAPH[name]):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def test_the_pure_core_is_where_the_design_says():
    expected = {"contracts.normalize", "contracts.routing_table", "contracts.wire", "organism.jobs.policy",
                "organism.tasks.resolution", "coordinator.router", "coordinator.breaker", "organism.state.store"}
    assert expected <= set(PURE)


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_import_no_framework_and_only_pure_modules(name):
    imports = imports_of(MODULES[name])
    assert not {i for i in imports if i.split(".")[0] in FRAMEWORKS}
    assert not {i for i in GRAPH[name] if i not in PURE}


BELOW_API = sorted(
    str(path.relative_to(ROOT)) for path in source_files()
    if path.parts[-2] != "routing_cli" and not HTTP_LAYER.search(str(path.relative_to(ROOT)))
)


def _status_like_constants(tree: ast.AST) -> list[ast.Constant]:
    """Integers 400-599 used the way HTTP statuses are: passed to a call, keyed or stored in a
    dict, compared, returned, or given as a `status*` keyword (a `MAX_TEXT = 500` is not)."""
    found = []
    for parent in ast.walk(tree):
        if isinstance(parent, ast.Call):
            children = [*parent.args, *(k.value for k in parent.keywords if k.arg and "status" in k.arg)]
        elif isinstance(parent, ast.Dict):
            children = [*parent.keys, *parent.values]
        elif isinstance(parent, ast.Compare):
            children = [parent.left, *parent.comparators]
        elif isinstance(parent, ast.Return):
            children = [parent.value]
        else:
            continue
        found += [c for c in children if isinstance(c, ast.Constant) and type(c.value) is int and 400 <= c.value < 600]
    return found


@pytest.mark.parametrize("relative", BELOW_API)
def test_no_http_status_or_url_below_the_api_layer(relative):
    tree = ast.parse((ROOT / relative).read_text())
    statuses = [node.value for node in _status_like_constants(tree)]
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    urls = [
        n.value for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings and URL.search(n.value)
    ]
    assert (statuses, urls) == ([], [])
    assert not {i for i in imports_of(ROOT / relative) if i.split(".")[0] in ("fastapi", "starlette")}
