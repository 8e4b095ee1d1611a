"""Every gpuarr module imports on its own, first thing in a fresh interpreter.

An import cycle that only works in one order (the package's ``__init__`` happening to import
``a`` before ``b``) breaks when a program imports ``b`` first; this imports each module first
in its own process, so such a cycle fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gpuarr

PKG = Path(gpuarr.__file__).resolve().parent


def _module_names() -> list[str]:
    names = []
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return names


MODULES = _module_names()

# One interpreter per module would cost ~0.5 s each; instead a parent that has imported only
# NumPy and the standard library forks a child per module (two at a time), which is just as
# fresh for gpuarr's own modules.
_RUNNER = r"""
import ast, inspect, json, multiprocessing, os, pickle, subprocess, sys, traceback
import numpy
failed = []
running = {}

def reap():
    pid, status = os.wait()
    if status != 0:
        failed.append(running[pid])
    del running[pid]

for name in sys.argv[1:]:
    while len(running) >= 2:
        reap()
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    running[pid] = name
while running:
    reap()
print("FAILED:" + ",".join(sorted(failed)))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_each_module_imports_first_in_a_fresh_interpreter():
    assert "gpuarr.nn.functional" in MODULES and "gpuarr._tensor" in MODULES
    p = subprocess.run([sys.executable, "-c", _RUNNER, *MODULES], capture_output=True,
                       text=True, timeout=600, cwd=PKG.parent)
    assert p.returncode == 0, p.stderr
    failed = p.stdout.strip().splitlines()[-1].removeprefix("FAILED:")
    assert failed == "", f"modules that fail to import first: {failed}\n{p.stderr[-4000:]}"


# ---------------------------------------------------------------------------------------------
# The import graph, read from the source: no cycles, a core that imports nothing above it, and
# no import hidden inside a function to dodge a cycle.


def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Module-level import edges between gpuarr modules, and the function-level imports
    ``(importer, imported, source line)``. ``if TYPE_CHECKING:`` blocks are left out."""
    files = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        is_pkg = parts[-1] == "__init__"
        files[".".join(parts[:-1] if is_pkg else parts)] = (p, is_pkg)
    # C extension modules (built from a .c file of the same name): import nothing of gpuarr's
    extensions = {".".join(p.relative_to(PKG.parent).with_suffix("").parts)
                  for p in PKG.rglob("*.c")}

    def targets(mod: str, is_pkg: bool, node) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
        if node.level:
            base = base[:len(base) - node.level + 1]
            name = ".".join(base + (node.module.split(".") if node.module else []))
        else:
            name = node.module
        subs = [f"{name}.{a.name}" for a in node.names]
        return [m if m in files or m in extensions else name for m in subs]

    edges: dict[str, set[str]] = {m: set() for m in files}
    local: list[tuple[str, str, str]] = []
    for mod, (path, is_pkg) in files.items():
        src = path.read_text()
        lines = src.splitlines()

        def visit(node, in_function: bool, mod=mod, is_pkg=is_pkg, lines=lines) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    for t in targets(mod, is_pkg, child):
                        if t in files and t != mod:
                            if in_function:
                                local.append((mod, t, lines[child.lineno - 1].strip()))
                            else:
                                edges[mod].add(t)
                elif isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING":
                    continue
                else:
                    visit(child, in_function or isinstance(
                        child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(ast.parse(src), False)
    return edges, local


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_no_import_cycles_even_through_function_level_imports():
    edges, local = _imports()
    for importer, imported, _ in local:
        edges[importer].add(imported)
    assert _cycles(edges) == []


def test_function_level_imports_are_only_the_lazy_ones():
    # the one left imports the TensorBoard writer (protobuf) only when the demo logs
    _, local = _imports()
    assert all("# lazy:" in line for _, _, line in local), local


def test_the_core_imports_nothing_above_it():
    edges, _ = _imports()
    below = ("gpuarr._core", "gpuarr._dtype", "gpuarr._device", "gpuarr.backends",
             "gpuarr._torch_backends")
    for mod, targets in edges.items():
        if mod.startswith("gpuarr._core"):
            above = [t for t in targets if not t.startswith(below)]
            assert above == [], f"{mod} imports {above}"


def test_tensor_methods_come_from_its_class_definition():
    # every method is defined in TensorBase or in one of the op families' mixins that
    # gpuarr.Tensor lists as its bases: none is assigned onto the class from outside
    from gpuarr._core.tensor import TensorBase

    owners = {}
    for base in gpuarr.Tensor.__mro__[1:-1]:
        for name in vars(base):
            owners.setdefault(name, base)
    assert issubclass(gpuarr.Tensor, TensorBase)
    own = set(vars(gpuarr.Tensor)) - {"__module__", "__doc__", "__slots__", "__qualname__"}
    assert {"to", "cuda", "type", "backward", "__repr__", "__new__"} <= own
    assert owners["exp"].__name__ == "ElementwiseMethods"
    assert owners["sum"].__name__ == "ReductionMethods"
    assert owners["softmax"].__name__ == "ActivationMethods"
    assert owners["lgamma"].__name__ == "SpecialMethods"
    mixins = [b for b in gpuarr.Tensor.__bases__ if b is not TensorBase]
    assert all(b.__module__.startswith("gpuarr.ops.") for b in mixins)
