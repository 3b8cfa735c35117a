"""The layer rules of STYLE §2.9 and §3: a TF-free core and imports that point downwards.

Two checks: the TF-free modules are imported in a fresh interpreter and neither
tensorflow nor keras may appear in ``sys.modules``; and every module's imports are
read with ``ast`` (nothing is imported), failing on tensorflow/keras in a module
marked "never" or on an import from a higher layer (or a sibling package of the
same layer).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = REPOSITORY / "unmix"
TF_NAMES = {"tensorflow", "keras", "tf_keras"}

# STYLE §3's layer table, by the first name under ``unmix``.
LAYERS = {
    "errors": 0, "log": 0, "progress": 0, "atomic": 0, "registry": 0, "paths": 0,
    "tensorflow_import": 0,  # TensorFlow imported quietly, by whichever layer needs it (issue 30)
    "config": 1, "audio": 1, "dsp": 1,
    "data": 2, "runfolder": 2,
    "pipeline": 3,
    "models": 4,
    "separation": 5,
    "pretrained": 5,  # built-in models: the TF-free catalog and the importers (not in STYLE's table)
    "evaluation": 6,
    "training": 7, "callbacks": 7,
    "cli": 8,
    "quickstart": 9,  # the README's first command: a thin wrapper over cli.train (not in STYLE's table)
    "web": 9,
    "catalog": 9,  # a catalogue over separation, locally or on Ray (issue 28; not in STYLE's table)
}
# Exceptions to "within a layer, imports stay inside the same package": the trainer
# assembles the callbacks (STYLE §3 puts both in layer 7); never the other way round.
# The one registry class (issue 14) raises the errors module's unknown-name error.
ALLOWED_SIBLINGS = {("training", "callbacks"), ("separation", "pretrained"), ("registry", "errors")}
# Modules placed apart from their package: a ``python -m`` front end is a command, so it
# counts as part of ``cli`` (layer 8; it uses cli.common's exit codes).
MODULE_LAYERS = {"unmix.pretrained.__main__": (8, "cli")}
# The modules STYLE marks "never" for TensorFlow/Keras, beyond whole never-TF packages.
NEVER_TF_PACKAGES = {"atomic", "errors", "log", "progress", "registry", "paths", "config", "audio", "dsp", "data", "runfolder"}
NEVER_TF_MODULES = {
    "unmix", "unmix.separation.overlap_add", "unmix.separation.arrays", "unmix.evaluation.bsseval", "unmix.evaluation.track_scores",
    "unmix.evaluation.band_snr",
    "unmix.pretrained", "unmix.pretrained.catalog",
}
TF_ALLOWED_IN_PIPELINE = {"unmix.pipeline.generator"}
# Always present since issue 2; the others are checked when they exist.
CORE = ["unmix", "unmix.errors", "unmix.log", "unmix.config", "unmix.runfolder", "unmix.cli.train", "unmix.cli.predict"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPOSITORY).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_never_tf(name: str) -> bool:
    parts = name.split(".")
    if name in NEVER_TF_MODULES or (len(parts) > 1 and parts[1] in NEVER_TF_PACKAGES):
        return True
    if len(parts) > 1 and parts[1] == "pipeline":
        return not any(name == allowed or name.startswith(allowed + ".") for allowed in TF_ALLOWED_IN_PIPELINE)
    # A package __init__ runs whenever one of its never-TF modules is imported.
    return any(other.startswith(name + ".") and is_never_tf(other) for other in NEVER_TF_MODULES)


NEVER_TF = sorted(name for name in MODULES if is_never_tf(name))


@dataclass(frozen=True)
class Import:
    name: str  # absolute dotted name
    line: int
    top_level: bool  # runs when the module is imported (not inside a function)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path) -> list[Import]:
    """Every import statement of a module, skipping ``if TYPE_CHECKING:`` blocks."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for inner in child.orelse:
                    visit_statement(inner, top_level)
                continue
            visit_statement(child, top_level)

    def visit_statement(child: ast.AST, top_level: bool) -> None:
        if isinstance(child, ast.Import):
            found.extend(Import(alias.name, child.lineno, top_level) for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                source = ".".join(base + ([child.module] if child.module else []))
            else:
                source = child.module or ""
            found.append(Import(source, child.lineno, top_level))
            for alias in child.names:  # ``from unmix import audio`` imports the module unmix.audio
                if f"{source}.{alias.name}" in MODULES:
                    found.append(Import(f"{source}.{alias.name}", child.lineno, top_level))
        inner_top = top_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        visit(child, inner_top)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), True)
    return found


def layer_of(name: str) -> tuple[int, str] | None:
    parts = name.split(".")
    if name in MODULE_LAYERS:
        return MODULE_LAYERS[name]
    if parts[0] != "unmix" or len(parts) == 1 or parts[1] not in LAYERS:  # unknown: see test_every_module_has_a_layer
        return None
    return LAYERS[parts[1]], parts[1]


def test_every_module_has_a_layer() -> None:
    unknown = sorted({name.split(".")[1] for name in MODULES if "." in name and name.split(".")[1] not in LAYERS})
    assert not unknown, f"modules outside STYLE's layer table: {unknown}; add them to the table and to LAYERS here"


def test_core_modules_exist() -> None:
    assert set(CORE) <= set(MODULES)
    assert set(CORE) - {"unmix.cli.train", "unmix.cli.predict"} <= set(NEVER_TF)


def test_never_tf_modules_import_neither_tensorflow_nor_keras() -> None:
    offenders = [
        f"{MODULES[name].relative_to(REPOSITORY)}:{imp.line} imports {imp.name}"
        for name in NEVER_TF
        for imp in imports_of(name, MODULES[name])
        if imp.name.split(".")[0] in TF_NAMES
    ]
    assert not offenders, "TensorFlow/Keras in a module STYLE marks 'never': " + "; ".join(offenders)


def test_never_tf_modules_import_only_never_tf_unmix_modules_at_top_level() -> None:
    offenders = [
        f"{MODULES[name].relative_to(REPOSITORY)}:{imp.line} imports {imp.name}"
        for name in NEVER_TF
        for imp in imports_of(name, MODULES[name])
        if imp.top_level and imp.name in MODULES and not is_never_tf(imp.name)
    ]
    assert not offenders, "a TF-free module imports one that may load TensorFlow: " + "; ".join(offenders)


def test_imports_point_downwards() -> None:
    offenders = []
    for name, path in MODULES.items():
        own = layer_of(name)
        if own is None:  # unmix/__init__.py exposes Separator lazily, by design
            continue
        for imp in imports_of(name, path):
            other = layer_of(imp.name) if imp.name.split(".")[0] == "unmix" else None
            if other is None:
                continue
            upward = other[0] > own[0]
            sibling = other[0] == own[0] and other[1] != own[1] and (own[1], other[1]) not in ALLOWED_SIBLINGS
            if upward or sibling:
                what = "a higher layer" if upward else "another package of the same layer"
                offenders.append(f"{path.relative_to(REPOSITORY)}:{imp.line} imports {imp.name} ({what})")
    assert not offenders, "; ".join(offenders)


def test_never_tf_modules_import_without_tensorflow_in_a_fresh_interpreter() -> None:
    """Import every TF-free module (and the CLI front ends) and watch sys.modules after each."""
    names = [n for n in NEVER_TF if n != "unmix"] + ["unmix", "unmix.cli.common", "unmix.cli.train", "unmix.cli.predict"]
    code = (
        "import importlib, sys\n"
        "problems = []\n"
        f"for name in {names!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        problems.append(f'{name} does not import: {type(error).__name__}: {error}')\n"
        "    loaded = sorted(m for m in ('tensorflow', 'keras', 'tf_keras') if m in sys.modules)\n"
        "    if loaded:\n"
        "        problems.append(f'importing {name} loaded {loaded}')\n"
        "        break\n"
        "print('\\n'.join(problems))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("UNMIX_")}
    environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    problems = result.stdout.strip().splitlines()
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import keras\n", ["keras"]),
        ("def f():\n    import tensorflow as tf\n", ["tensorflow"]),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import keras\n", ["typing"]),
        ("from . import errors\nfrom .config import env\n", ["unmix", "unmix.errors", "unmix.config", "unmix.config.env"]),
    ],
)
def test_the_import_reader_itself(tmp_path: Path, source: str, expected: list[str]) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert [imp.name for imp in imports_of("unmix.probe", path)] == expected


# Inside unmix/separation each module imports only those before it (issue 11: one direction).
SEPARATION_ORDER = ["outputs", "arrays", "overlap_add", "shared_windows", "kernel", "streaming", "loading", "subpixel", "exported", "separator", "batch"]


def test_separation_modules_import_only_those_below_them() -> None:
    names = {f"unmix.separation.{module}" for module in SEPARATION_ORDER}
    actual = {name for name in MODULES if name.startswith("unmix.separation.")}
    assert actual == names, f"unmix/separation/ has modules outside SEPARATION_ORDER: {sorted(actual - names)}; place them in the order"
    offenders = []
    for position, module in enumerate(SEPARATION_ORDER):
        name = f"unmix.separation.{module}"
        for imp in imports_of(name, MODULES[name]):
            target = imp.name.removeprefix("unmix.separation.")
            if imp.name.startswith("unmix.separation.") and target in SEPARATION_ORDER and SEPARATION_ORDER.index(target) >= position:
                offenders.append(f"{MODULES[name].relative_to(REPOSITORY)}:{imp.line} imports {imp.name} (not below {module})")
    assert not offenders, "; ".join(offenders)


def import_cycles() -> list[list[str]]:
    """Cycles in the graph of every import between unmix modules (function-level imports included)."""
    graph = {name: sorted({imp.name for imp in imports_of(name, path) if imp.name in MODULES and imp.name != name}) for name, path in MODULES.items()}
    # A package's __init__ re-exporting its modules lazily is not a dependency of those modules on it.
    for name in graph:
        graph[name] = [other for other in graph[name] if not (MODULES[other].name == "__init__.py" and name.startswith(other + "."))]
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for other in graph[node]:
            if state.get(other) == "open":
                cycles.append(stack[stack.index(other) :] + [other])
            elif other not in state:
                visit(other, stack)
        stack.pop()
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])
    return cycles


def test_no_import_cycles_in_the_package() -> None:
    cycles = import_cycles()
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cycle_finder_finds_a_cycle(monkeypatch, tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f():\n    from unmix.probe_b import g\n")
    b.write_text("from unmix.probe_a import f\n")
    monkeypatch.setitem(MODULES, "unmix.probe_a", a)
    monkeypatch.setitem(MODULES, "unmix.probe_b", b)
    assert ["unmix.probe_a", "unmix.probe_b", "unmix.probe_a"] in import_cycles()
