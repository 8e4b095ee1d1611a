"""Compiling kernels with the real NVRTC from a test: ``tests/cuda_compile.py --json`` in a
subprocess (the real CuPy, never the stand-in), its JSON read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cuda_compile as cc
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(cc.__file__).resolve()


def skip_or_fail_when_unavailable(doc: dict) -> None:
    """Skip the test when the script found no real CuPy/NVRTC; fail instead under
    GPUARR_REQUIRE_NVRTC=1 (CI, where they are installed)."""
    if doc.get("unavailable"):
        why = f"real CuPy/NVRTC unavailable: {doc['unavailable']}"
        if os.environ.get("GPUARR_REQUIRE_NVRTC") == "1":
            pytest.fail(f"GPUARR_REQUIRE_NVRTC=1 but {why}", pytrace=False)
        pytest.skip(why)


def compile_sets(*args: str, timeout: int = 900) -> dict[str, list]:
    """``{spec set: [result per compile]}`` of ``python tests/cuda_compile.py --json *args``
    (``--specs REF`` / ``--raw REF`` arguments); skips or fails as
    :func:`skip_or_fail_when_unavailable`, and fails when the script crashes."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json", *args], cwd=str(ROOT),
                          env=cc.subprocess_env(), capture_output=True, text=True,
                          timeout=timeout)
    try:
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"tests/cuda_compile.py crashed (exit {proc.returncode}):\n"
                    f"{proc.stdout}\n{proc.stderr}")
    skip_or_fail_when_unavailable(doc)
    return {s["specs"]: s["results"] for s in doc["sets"]}
