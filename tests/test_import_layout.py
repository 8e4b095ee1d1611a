"""Every gpuarr module imports on its own, first thing in a fresh interpreter.

An import cycle that only works in one order (the package's ``__init__`` happening to import
``a`` before ``b``) breaks when a program imports ``b`` first; this imports each module first
in its own process, so such a cycle fails here.
"""

from __future__ import annotations

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
