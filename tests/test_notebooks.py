"""The tutorial notebooks: each runs top to bottom on 'cpu' in a real Jupyter kernel, and the
committed copies carry the outputs of a full run with no paths of the machine that ran them.

The notebooks are executed through ``notebooks/run_notebooks.py``, the code path that
``make notebooks`` and ``ci/gpu.sh`` use.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_tensors", "02_broadcasting", "03_linear_algebra_and_gradients", "04_probability",
    "05_tensorboard_logging", "06_training", "07_gpu", "08_compile",
]
CELL_TIMEOUT = 120  # seconds; each notebook takes a few seconds on a 2-core CPU


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


runner = _load("run_notebooks", NB_DIR / "run_notebooks.py")
make_scene = _load("make_scene", NB_DIR / "assets" / "make_scene.py")


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def _stream_text(nb) -> str:
    return "".join(o.get("text", "") for c in _code_cells(nb) for o in c.outputs)


def test_the_eight_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_cpu(path):
    result = runner.execute_notebook(path, device="cpu", timeout=CELL_TIMEOUT)
    cells = _code_cells(result.notebook)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    # GPUARR_DEVICE reached the kernel: every notebook prints the device it picked
    assert "device: cpu" in _stream_text(result.notebook)
    runner.scrub(result.notebook)
    assert runner.machine_paths(result.notebook) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_has_outputs_of_a_full_run(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    # executed once, top to bottom, in one kernel
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    with_output = [c for c in cells if c.outputs]
    assert len(with_output) >= len(cells) // 2, "outputs missing: run `make notebooks`"
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not [c for c in nb.cells if "execution" in c.metadata]
    assert runner.machine_paths(nb, extra=[str(ROOT)]) == []


def test_scrub_removes_machine_text_and_redraws():
    host = socket.gethostname()
    tmp = tempfile.gettempdir()
    home = os.path.expanduser("~")
    nb = new_notebook(cells=[new_code_cell("x", execution_count=1)])
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    nb.cells[0].outputs = [
        new_output("stream", name="stdout", text=(
            f"saved {NB_DIR}/runs/a/ckpt.safetensors\n"
            f"log in {os.path.join(tmp, 'tmpab12cd34')}\n"
            f"cache {home}/.cache on {host}\n"
            "epoch:  10%|#  | 1/10\repoch: 100%|###| 10/10\n")),
        new_output("error", ename="OSError", evalue=f"{ROOT}/gpuarr/x.py",
                   traceback=[f"File {ROOT}/gpuarr/x.py"]),
        new_output("execute_result", data={"text/plain": f"'{NB_DIR}/assets/scene.jpg'"},
                   execution_count=1),
    ]
    runner.scrub(nb)
    out = nb.cells[0].outputs
    text = out[0]["text"]
    assert "saved runs/a/ckpt.safetensors" in text
    assert "log in <tmp>" in text and "tmpab12cd34" not in text
    assert "epoch: 100%|###| 10/10" in text and "1/10" not in text
    assert out[1]["evalue"] == "<repo>/gpuarr/x.py"
    assert out[2]["data"]["text/plain"] == "'assets/scene.jpg'"
    assert "execution" not in nb.cells[0].metadata
    assert runner.machine_paths(nb, extra=[str(ROOT)]) == []


def test_machine_paths_finds_what_scrub_would_remove():
    nb = new_notebook(cells=[new_code_cell("x", execution_count=1)])
    nb.cells[0].outputs = [new_output("stream", name="stdout", text=f"at {NB_DIR}/runs\n")]
    assert runner.machine_paths(nb) != []


def test_failing_cell_is_reported_with_its_index(tmp_path):
    nb = new_notebook(cells=[new_code_cell("print('fine')"),
                             new_code_cell("raise ValueError('broken on purpose')")])
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(runner.NotebookError) as info:
        runner.execute_notebook(path, device="cpu", timeout=CELL_TIMEOUT)
    assert info.value.cell_index == 1
    assert "bad.ipynb: cell 1 failed" in str(info.value)
    assert "broken on purpose" in str(info.value)
    assert runner.main([str(path), "--device", "cpu"]) == 1


def test_kernelspec_check_recognises_this_interpreter():
    assert runner._runs_this_python(["python", "-m", "ipykernel_launcher"])
    assert runner._runs_this_python([sys.executable, "-m", "ipykernel_launcher"])
    assert not runner._runs_this_python([os.path.join(os.sep, "elsewhere", "bin", "python3.9")])
    assert not runner._runs_this_python([])


def test_foreign_python3_kernelspec_is_bypassed(tmp_path, monkeypatch):
    # a user-wide 'python3' spec that would start another interpreter takes precedence...
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    foreign = os.path.join(os.sep, "elsewhere", "bin", "python3.9")
    spec = {"argv": [foreign, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "foreign", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == foreign
    # ...yet the runner starts this interpreter's ipykernel
    nb = new_notebook(cells=[new_code_cell("import sys; print(sys.executable)")])
    path = tmp_path / "which.ipynb"
    nbformat.write(nb, path)
    result = runner.execute_notebook(path, device="cpu", timeout=CELL_TIMEOUT)
    assert _stream_text(result.notebook).strip() == sys.executable


def test_list_notebooks_by_name_and_missing():
    assert runner.list_notebooks(["02_broadcasting.ipynb"]) == [NB_DIR / "02_broadcasting.ipynb"]
    assert runner.list_notebooks() == NOTEBOOKS
    with pytest.raises(FileNotFoundError):
        runner.list_notebooks(["no_such_notebook.ipynb"])


def test_shipped_image_is_the_generated_scene():
    path = NB_DIR / "assets" / "scene.jpg"
    assert path.stat().st_size < 100 * 1024
    shipped = Image.open(path).convert("RGB")
    drawn = make_scene.draw_scene()
    assert shipped.size == drawn.size == (make_scene.WIDTH, make_scene.HEIGHT)
    # JPEG is lossy: compare the pixels loosely
    a = shipped.tobytes()
    b = drawn.tobytes()
    mean_abs = sum(abs(x - y) for x, y in zip(a, b)) / len(a)
    assert mean_abs < 3.0
