"""The layout's rules, checked on the source: module size, import cycles, a pure
core without Ray or HTTP, no HTTP status or URL below the api layer, actors
called only through their typed contracts, and task types and domains
normalized in one place."""

import ast
import re
from pathlib import Path

import pytest

from contracts import organ, picker, registry, wire

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
    """What a module imports; `from package import module` is the module, not the package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found.update(submodules)
            if not all((ROOT / (name.replace(".", "/") + ".py")).exists() for name in submodules):
                found.add(node.module)
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
    expected = {"contracts.bounds", "contracts.routing_table", "contracts.wire", "contracts.registry", "contracts.picker",
                "contracts.organ", "contracts.refusals", "organism.jobs.policy", "organism.jobs.prefilters",
                "organism.jobs.documents", "organism.tasks.resolution", "coordinator.router", "coordinator.breaker",
                "organism.state.store"}
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


# --- typed seams: every actor is called through its contract (contracts.registry, .picker, .organ) ----
SEAM = "servekit/actors.py"  # the one place that turns a contract's method into an actor call


def _methods(*contracts: type) -> set[str]:
    from servekit.actors import contract_methods

    return set().union(*(contract_methods(contract) for contract in contracts))


ACTOR_METHODS = _methods(registry.Registry, registry.OrganRegistry, picker.Picker, organ.Organ)
# Serve deployments, called by handle; and the benchmark's no-op baseline (bench.stack.Noop)
HANDLE_METHODS = _methods(wire.OrganismHandle, wire.PlannerHandle) | {"noop_handle"}


def _remote_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "remote"]


@pytest.mark.parametrize("path", [p for p in source_files() if str(p.relative_to(ROOT)) != SEAM],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_actor_method_is_named_by_a_string_or_called_around_its_contract(path):
    tree = ast.parse(path.read_text())
    by_string = [
        arg.value for call in ast.walk(tree) if isinstance(call, ast.Call)
        for arg in call.args if isinstance(arg, ast.Constant) and arg.value in ACTOR_METHODS | HANDLE_METHODS
        and "_" in arg.value  # `route_jobs`, `upsert_miner`, ...; a bare word ("execute") is a task type too
    ]
    by_getattr = [ast.unparse(c) for c in _remote_calls(tree)
                  if isinstance(c.func.value, ast.Call) and getattr(c.func.value.func, "id", None) == "getattr"]
    around = [c.func.value.attr for c in _remote_calls(tree)
              if isinstance(c.func.value, ast.Attribute) and c.func.value.attr not in HANDLE_METHODS | {"code_version"}]
    assert (by_string, by_getattr, around) == ([], [], [])


def test_every_actor_and_deployment_implements_its_contract_method_for_method():
    import inspect

    from cognitive.app import Cognitive
    from organism.app import OrganismManager
    from organism.jobs.picker_actor import MinerPicker
    from organism.tasks.organ import Organ
    from organism.tasks.registry_actor import RuntimeRegistry
    from servekit.actors import contract_methods

    pairs = [(registry.Registry, RuntimeRegistry), (registry.OrganRegistry, RuntimeRegistry),
             (picker.Picker, MinerPicker), (organ.Organ, Organ), (wire.OrganismHandle, OrganismManager.func_or_class),
             (wire.PlannerHandle, Cognitive.func_or_class)]
    for contract, actor in pairs:
        for name in contract_methods(contract):
            declared = list(inspect.signature(getattr(contract, name)).parameters)
            implemented = list(inspect.signature(getattr(actor, name)).parameters)
            assert declared == implemented, (actor.__name__, name, declared, implemented)


# --- one normalization: types and domains are lower-cased by contracts.bounds, trusted everywhere else --
SERVICES = ("contracts", "organism", "coordinator", "cognitive")


@pytest.mark.parametrize("path", [p for p in source_files() if p.relative_to(ROOT).parts[0] in SERVICES],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_task_types_and_domains_are_normalized_only_at_the_edge(path):
    tree = ast.parse(path.read_text())
    lowered = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in ("lower", "casefold")]
    assert lowered == [] or path.relative_to(ROOT) == Path("contracts/bounds.py")


# --- records cross actor seams compactly (contracts.pickling) ----------------------------
def _slotted_records() -> list[type]:
    import dataclasses
    import importlib
    import inspect

    found = []
    for path in sorted((ROOT / "contracts").glob("*.py")):
        module = importlib.import_module(module_name(path))
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)]
    return found


@pytest.mark.parametrize("record", _slotted_records(), ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_slotted_contract_record_pickles_compactly(record):
    assert "__reduce__" in vars(record), f"{record.__name__}: decorate it with contracts.pickling.compact"
