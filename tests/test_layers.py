"""The package's structure: layers import only downward, no import cycles, small modules and functions.

Layers, bottom to top: core; nets, vecenv and media (side by side: networks, env
vectorisation, pictures and recording); driver (the loop and the run machinery, which drives
agents through their hooks without importing them); learning (the agent base and its building
blocks: ``learn`` and ``save`` call down into the driver); integrations (the Stable-Baselines3
runner); envs and agents (side by side, neither imports the other); tools; the package root (the
public API). Layers of one rank import nothing of each other. An import inside
``if TYPE_CHECKING:`` does not count (a type hint runs nothing); one inside a function does.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANK = {
    "core": 0,
    "nets": 1,
    "vecenv": 1,
    "media": 1,
    "driver": 2,
    "learning": 3,
    "integrations": 4,
    "envs": 5,
    "agents": 5,
    "tools": 6,
    "": 7,
}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 80


def modules() -> dict[str, Path]:
    """Module name -> file, for rlsuite/ and the top-level envs/ and agents/ it installs as subpackages."""
    found = {}
    for top, package in (("rlsuite", "rlsuite"), ("envs", "rlsuite.envs"), ("agents", "rlsuite.agents")):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT / top).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else ""


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The rlsuite modules ``module`` imports, outside TYPE_CHECKING blocks."""
    tree = ast.parse(path.read_text())
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def test_every_layer_imports_only_downward():
    upward = []
    for module, deps in graph().items():
        mine = layer(module)
        for dep in deps:
            theirs = layer(dep)
            if dep == "rlsuite" and module != "rlsuite.__main__":
                upward.append(f"{module} imports the package root {dep}")
            elif theirs != mine and RANK[theirs] >= RANK[mine]:
                upward.append(f"{module} ({mine or 'root'}) imports {dep} ({theirs or 'root'})")
    assert not upward, "\n".join(sorted(upward))


def test_no_import_cycles():
    deps = graph()
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(deps.get(module, ())):
            if dep == module.rpartition(".")[0] or module.startswith(dep + "."):
                continue  # a module's own package runs first anyway
            if state.get(dep) == "open":
                cycles.append(" -> ".join(trail[trail.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, trail + [dep])
        state[module] = "done"

    for module in sorted(deps):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_modules_and_functions_stay_small():
    too_big = []
    for _module, path in modules().items():
        source = path.read_text()
        if len(source.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{path.relative_to(ROOT)}:{node.name}: {length} lines")
    assert not too_big, "\n".join(too_big)


def test_the_loop_names_no_particular_agent():
    loop = (ROOT / "rlsuite" / "driver" / "loop.py").read_text()
    for name in ("q_table", "collects_itself", "train_round", "hasattr(agent"):
        assert name not in loop, name


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a core module importing tools is caught."""
    fake = tmp_path / "rlsuite" / "core"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from rlsuite.tools.cli import main\n")
    known = {"rlsuite.core.bad": fake / "bad.py", "rlsuite.tools.cli": fake / "bad.py"}
    assert imports("rlsuite.core.bad", fake / "bad.py", known) == {"rlsuite.tools.cli"}
    assert RANK[layer("rlsuite.tools.cli")] > RANK[layer("rlsuite.core.bad")]


def test_every_package_is_a_layer_with_its_purpose_on_top():
    """A new package under rlsuite/ gets a place in RANK (else it would count as the package root,
    free to import anything) and says at its top what it is for."""
    for package in sorted(p for p in (ROOT / "rlsuite").iterdir() if (p / "__init__.py").is_file()):
        assert package.name in RANK, f"rlsuite/{package.name} is not a layer of RANK"
        assert ast.get_docstring(ast.parse((package / "__init__.py").read_text())), f"rlsuite/{package.name}"
