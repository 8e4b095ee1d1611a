"""Running a check script against the REAL CuPy from a test: the script (``cuda_compile.py``,
``cupy_names.py``) runs in a subprocess without the stand-in on its path and prints a JSON
document as its last line, which comes back here. Without the real CuPy the test skips, or
fails when the script's ``GPUARR_REQUIRE_*`` variable is 1 (CI, where CuPy is installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cuda_compile as cc
import pytest

ROOT = Path(__file__).resolve().parents[1]
NVRTC_SCRIPT = Path(cc.__file__).resolve()


def skip_or_fail_when_unavailable(doc: dict, require: str = "GPUARR_REQUIRE_NVRTC") -> None:
    """Skip the test when the script found no real CuPy/NVRTC; fail instead when the
    environment variable ``require`` is 1."""
    if doc.get("unavailable"):
        why = f"real CuPy/NVRTC unavailable: {doc['unavailable']}"
        if os.environ.get(require) == "1":
            pytest.fail(f"{require}=1 but {why}", pytrace=False)
        pytest.skip(why)


def run_json_script(script: Path, *args: str, require: str, timeout: int) -> dict:
    """``python script --json *args`` with the real CuPy: its JSON document. Skips or fails
    as :func:`skip_or_fail_when_unavailable`, and fails when the script crashes."""
    proc = subprocess.run([sys.executable, str(script), "--json", *args], cwd=str(ROOT),
                          env=cc.subprocess_env(), capture_output=True, text=True,
                          timeout=timeout)
    try:
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"tests/{Path(script).name} crashed (exit {proc.returncode}):\n"
                    f"{proc.stdout}\n{proc.stderr}")
    skip_or_fail_when_unavailable(doc, require)
    return doc


def compile_sets(*args: str, timeout: int = 900) -> dict[str, list]:
    """``{spec set: [result per compile]}`` of ``python tests/cuda_compile.py --json *args``
    (``--specs REF`` / ``--raw REF`` arguments), under ``GPUARR_REQUIRE_NVRTC``."""
    doc = run_json_script(NVRTC_SCRIPT, *args, require="GPUARR_REQUIRE_NVRTC", timeout=timeout)
    return {s["specs"]: s["results"] for s in doc["sets"]}
