"""Every name gpuarr takes from the CUDA array module exists in the REAL CuPy, with the keyword
arguments gpuarr passes (see ``tests/cupy_names.py``).

The check runs once, in one subprocess, against the real CuPy (``tests/cupy_standin`` is removed
from that subprocess's PYTHONPATH; the stand-in only knows names, it cannot be the reference).
Without the real CuPy the tests skip, or fail when ``GPUARR_REQUIRE_CUPY=1`` (CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cuda_compile
import cupy_names as cn
import pytest
from real_cupy_scripts import run_json_script, skip_or_fail_when_unavailable

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(cn.__file__).resolve()

MADE_UP = '''
import cupyx.scipy.special as cps


def f(xp, a, m):
    xp.not_a_cupy_function(a)
    xp.sum(a, initial=0)
    xp.add(a, a, where=m)
    cps.erf(a, out=a)
    for name in ("exp", "not_a_ufunc_either"):
        getattr(xp, name)(a)
    return xp.linalg.norm(a, ord=2)
'''


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One subprocess: gpuarr/ and a folder of made-up uses, checked against the real CuPy."""
    made_up = tmp_path_factory.mktemp("madeup") / "pkg"
    made_up.mkdir()
    (made_up / "mod.py").write_text(textwrap.dedent(MADE_UP))
    doc = run_json_script(SCRIPT, str(ROOT / "gpuarr"), str(made_up),
                          require="GPUARR_REQUIRE_CUPY", timeout=300)
    gpuarr_res, made_up_res = doc["results"]
    return gpuarr_res, made_up_res


def test_gpuarr_uses_only_names_cupy_has(checked):
    res, _ = checked
    assert res["names"] > 50  # the scan found gpuarr's uses
    problems = [f"missing {n} (no {i['missing']!r}) at {', '.join(i['sites'])}"
                for n, i in res["missing"].items()]
    problems += [f"keyword {n} rejected at {', '.join(s)}" for n, s in res["bad_kwargs"].items()]
    assert not problems, "gpuarr uses what CuPy 14.2 lacks:\n" + "\n".join(problems)


def test_gpuarr_getattr_names_are_all_resolved(checked):
    res, _ = checked
    assert not res["unresolved_getattr"], (
        "getattr(xp, ...) sites whose names the check cannot work out (bind the name to "
        "string constants in the same file):\n" + "\n".join(res["unresolved_getattr"]))


def test_checker_flags_made_up_names_and_keywords(checked):
    _, res = checked
    assert set(res["missing"]) == {"cupy.not_a_cupy_function", "cupy.not_a_ufunc_either"}
    assert set(res["bad_kwargs"]) == {"cupy.sum(initial=)", "cupy.add(where=)"}


def test_scan_finds_chains_aliases_getattr_and_keywords(tmp_path):
    """The AST scan alone (no CuPy needed)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text(textwrap.dedent(MADE_UP) + textwrap.dedent('''
        class K:
            def run(self, a):
                return self._cp.cumsum(a, axis=0), a._device._xp().zeros(3, dtype=None)
        '''))
    uses, unresolved = cn.scan(str(pkg))
    found = {(u.dotted, u.kwargs) for u in uses if u.is_call}
    assert ("cupy.sum", ("initial",)) in found
    assert ("cupyx.scipy.special.erf", ("out",)) in found
    assert ("cupy.linalg.norm", ("ord",)) in found
    assert ("cupy.cumsum", ("axis",)) in found
    assert ("cupy.zeros", ("dtype",)) in found
    assert {u.dotted for u in uses} >= {"cupy.exp", "cupy.not_a_ufunc_either"}
    assert not unresolved


def test_numpy_backend_is_not_scanned():
    uses, _ = cn.scan(str(ROOT / "gpuarr"))
    assert uses and not any(u.file == "gpuarr/backends/numpy_backend.py" for u in uses)


def test_without_cupy_the_check_skips_or_fails(tmp_path, monkeypatch):
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("raise ImportError('no CuPy here')\n")
    env = cuda_compile.subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json"], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == cn.UNAVAILABLE_EXIT, proc.stderr
    doc = json.loads(proc.stdout)
    assert "no CuPy here" in doc["unavailable"]
    monkeypatch.delenv("GPUARR_REQUIRE_CUPY", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no CuPy here"):
        skip_or_fail_when_unavailable(doc, "GPUARR_REQUIRE_CUPY")
    monkeypatch.setenv("GPUARR_REQUIRE_CUPY", "1")
    with pytest.raises(pytest.fail.Exception, match="GPUARR_REQUIRE_CUPY=1"):
        skip_or_fail_when_unavailable(doc, "GPUARR_REQUIRE_CUPY")
