"""Execute the tutorial notebooks top to bottom with a real Jupyter kernel.

Each notebook runs in a fresh ``python3`` kernel of this interpreter (ipykernel), with
``notebooks/`` as its working directory, so relative paths such as ``assets/scene.jpg`` and
``runs/...`` resolve the same on every machine. Any cell error or timeout fails the run.

Usage::

    python notebooks/run_notebooks.py                    # run all, check only, write nothing
    python notebooks/run_notebooks.py --inplace          # run all and save their outputs
    python notebooks/run_notebooks.py 02_broadcasting.ipynb --device cpu

``--device`` (default: the ``GPUARR_DEVICE`` environment variable, else each notebook's own
rule: cuda when available, else cpu) is passed to the notebooks as ``GPUARR_DEVICE``.

With ``--inplace`` the outputs are scrubbed before they are written: paths of this machine
(the checkout, the home and temporary directories, site-packages) and its host name are
replaced by neutral text, progress-bar redraws are collapsed to their final state and
execution timing metadata is dropped, so that re-running gives small diffs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = NOTEBOOK_DIR.parent
KERNEL_NAME = "python3"
# Output MIME types that hold text a reader sees (images are base64 and are left alone).
_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml")
_TMP_NAME = re.compile(r"tmp[a-zA-Z0-9_]{6,}")

__all__ = [
    "NotebookError", "RunResult", "execute_notebook", "list_notebooks", "machine_paths",
    "main", "scrub",
]


class NotebookError(RuntimeError):
    """A notebook failed: a cell raised, timed out, or the kernel could not start."""

    def __init__(self, notebook: str, cell_index: int | None, message: str) -> None:
        where = f"cell {cell_index}" if cell_index is not None else "kernel"
        super().__init__(f"{notebook}: {where} failed: {message}")
        self.notebook = notebook
        self.cell_index = cell_index


@dataclass
class RunResult:
    """One executed notebook: the notebook with its outputs, and the wall time in seconds."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float


def list_notebooks(names: Iterable[str] = ()) -> list[Path]:
    """The notebooks to run: those named (file names or paths), else every ``*.ipynb`` here.

    Raises:
        FileNotFoundError: if a named notebook does not exist.
    """
    names = list(names)
    if not names:
        return sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    paths = []
    for name in names:
        path = Path(name)
        if not path.exists() and (NOTEBOOK_DIR / path.name).exists():
            path = NOTEBOOK_DIR / path.name
        if not path.exists():
            raise FileNotFoundError(f"no notebook {name!r} (looked in {NOTEBOOK_DIR.name}/ too)")
        paths.append(path.resolve())
    return paths


# ---------------------------------------------------------------------------- kernel


def _runs_this_python(argv: Sequence[str]) -> bool:
    """Whether a kernelspec's command starts this interpreter.

    jupyter_client itself replaces a bare ``python``/``python3``/``python3.X`` by
    ``sys.executable``. Paths are compared without resolving links: two virtual environments
    link to the same base interpreter but see different packages.
    """
    if not argv:
        return False
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    if argv[0] in bare:
        return True
    return os.path.normpath(os.path.abspath(argv[0])) == os.path.normpath(sys.executable)


def _kernel_manager(spec_dir: str):
    """A kernel manager for ``python3`` that is sure to start this interpreter's ipykernel.

    The usual kernelspec is used when it runs this interpreter (ipykernel installs one under
    ``sys.prefix``). When it is missing or belongs to another Python (say a user-wide spec in
    the home directory), a spec is written to ``spec_dir`` and only that directory is searched;
    nothing in the user's home is touched.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from jupyter_client.manager import AsyncKernelManager

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if _runs_this_python(spec.argv):
            return AsyncKernelManager(kernel_name=KERNEL_NAME)
    except NoSuchKernel:
        pass
    kdir = Path(spec_dir) / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    spec_json = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python {sys.version_info[0]} (ipykernel)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (kdir / "kernel.json").write_text(json.dumps(spec_json, indent=1))
    ksm = KernelSpecManager(kernel_dirs=[spec_dir], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)


def _kernel_env(device: str | None) -> dict[str, str]:
    """The kernel's environment: ours, plus the device choice and this checkout on the path."""
    env = dict(os.environ)
    if device:
        env["GPUARR_DEVICE"] = device
    # The notebooks import the gpuarr of this checkout, installed or not.
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiets a debugger warning on kernel start
    return env


def execute_notebook(path: str | os.PathLike, device: str | None = None,
                     timeout: int = 600) -> RunResult:
    """Run one notebook top to bottom in a fresh kernel, its folder as working directory.

    Args:
        path: The ``.ipynb`` file.
        device: Passed to the kernel as ``GPUARR_DEVICE`` ('cpu', 'cuda', ...); None keeps
            the environment's value or, without one, the notebook's own choice.
        timeout: Seconds one cell may run.

    Returns:
        The executed notebook (outputs not yet scrubbed) and the wall time.

    Raises:
        NotebookError: naming the notebook and the cell that failed, with the error text.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    current = {"index": None}

    def on_cell_start(cell, cell_index, **_):
        current["index"] = cell_index

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpuarr-kernelspec-") as spec_dir:
        client = NotebookClient(
            nb, km=_kernel_manager(spec_dir), timeout=timeout, kernel_name=KERNEL_NAME,
            resources={"metadata": {"path": str(path.parent)}}, record_timing=False,
            coalesce_streams=True, on_cell_start=on_cell_start, startup_timeout=120,
            # the kernel's own log (a warning about its local TCP sockets) is noise here
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        try:
            client.execute(env=_kernel_env(device))
        except CellExecutionError as e:
            raise NotebookError(path.name, current["index"], _short_error(e)) from None
        except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as e:
            msg = f"{type(e).__name__}: {e}"
            raise NotebookError(path.name, current["index"], msg) from None
    return RunResult(path, nb, time.perf_counter() - t0)


def _short_error(err: Exception) -> str:
    """The useful part of nbclient's error text: the traceback without ANSI colours."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    return text.strip()


# ---------------------------------------------------------------------------- scrubbing


def _replacements() -> list[tuple[str, str]]:
    """(machine-specific text, neutral text) pairs, longest first."""
    pairs = {
        str(NOTEBOOK_DIR): ".",
        str(REPO_ROOT): "<repo>",
        os.path.realpath(tempfile.gettempdir()): "<tmp>",
        tempfile.gettempdir(): "<tmp>",
        os.path.expanduser("~"): "~",
    }
    for key in ("purelib", "platlib"):
        pairs[sysconfig.get_paths()[key]] = "<site-packages>"
    pairs[sysconfig.get_paths()["stdlib"]] = "<stdlib>"
    pairs = {k: v for k, v in pairs.items() if k and len(k) > 1}
    # "notebooks/x" reads better than "./x"; the repo root itself stays a placeholder.
    ordered = []
    for key in sorted(pairs, key=len, reverse=True):
        value = pairs[key]
        if value == ".":
            ordered.append((key + os.sep, ""))
        ordered.append((key, value))
    return ordered


def _hostname_pattern() -> re.Pattern | None:
    name = socket.gethostname()
    if len(name) < 4 or name == "localhost":
        return None
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")


def _clean_text(text: str, pairs: list[tuple[str, str]], host: re.Pattern | None) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    text = _TMP_NAME.sub("tmpXXXXXXXX", text) if "<tmp>" in text else text
    if host is not None:
        text = host.sub("<host>", text)
    return text


def _collapse_redraws(text: str) -> str:
    """Keep what a terminal shows of each line: the part after its last carriage return."""
    text = text.replace("\r\n", "\n")
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))


def scrub(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make an executed notebook safe and stable to commit (modified in place and returned).

    Replaces this machine's paths and host name in text outputs, collapses progress-bar
    redraws, keeps only the JPEG of images shown as both JPEG and PNG (Pillow images) and
    removes execution timing metadata.
    """
    pairs, host = _replacements(), _hostname_pattern()

    def clean(value):
        if isinstance(value, list):
            return [_clean_text(v, pairs, host) for v in value]
        return _clean_text(value, pairs, host)

    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in ("execution", "ExecuteTime"):
            cell.metadata.pop(key, None)
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                out["text"] = clean(_collapse_redraws(out["text"]))
            elif kind == "error":
                out["evalue"] = clean(out["evalue"])
                out["traceback"] = clean(out["traceback"])
            elif kind in ("execute_result", "display_data"):
                # Pillow images come as JPEG and PNG: one copy is enough (and much smaller).
                if "image/jpeg" in out.get("data", {}):
                    out["data"].pop("image/png", None)
                for mime in _TEXT_MIMES:
                    if mime in out.get("data", {}):
                        out["data"][mime] = clean(out["data"][mime])
    return nb


def _output_texts(nb: nbformat.NotebookNode) -> Iterable[tuple[int, str]]:
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            parts = [out.get("text", ""), out.get("evalue", "")] + list(out.get("traceback", []))
            for mime in _TEXT_MIMES:
                parts.append(out.get("data", {}).get(mime, ""))
            for part in parts:
                yield index, "".join(part) if isinstance(part, list) else part


def machine_paths(nb: nbformat.NotebookNode, extra: Iterable[str] = ()) -> list[str]:
    """Machine-specific text left in a notebook's text outputs, as ``'cell N: <text>'`` lines.

    Looks for this checkout's and home directory's paths, the temporary directory, the host
    name, common absolute prefixes of home and temporary folders, and the strings in ``extra``.
    """
    markers = {str(REPO_ROOT), os.path.expanduser("~"), tempfile.gettempdir(),
               os.path.realpath(tempfile.gettempdir()), "/tmp/", "/root/", "/home/", "/Users/",
               "/private/var/", "C:\\Users\\", *extra}
    markers.discard("/")
    host = _hostname_pattern()
    found = []
    for index, text in _output_texts(nb):
        for marker in markers:
            if marker and marker in text:
                found.append(f"cell {index}: {marker!r}")
        if host is not None and host.search(text):
            found.append(f"cell {index}: host name")
    return sorted(set(found))


# ---------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notebooks; return 0 when all succeed, 1 otherwise."""
    parser = argparse.ArgumentParser(description="Execute gpuarr's tutorial notebooks.")
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--inplace", action="store_true",
                        help="write the (scrubbed) outputs back into the notebooks")
    parser.add_argument("--device", default=os.environ.get("GPUARR_DEVICE") or None,
                        help="GPUARR_DEVICE for the notebooks (default: environment, else each "
                             "notebook picks cuda when available, else cpu)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (600)")
    args = parser.parse_args(argv)

    try:
        paths = list_notebooks(args.notebooks)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    if not paths:
        print(f"no notebooks in {NOTEBOOK_DIR.name}/", file=sys.stderr)
        return 2
    device = args.device or "notebook's choice"
    print(f"running {len(paths)} notebook(s), device: {device}", flush=True)
    failures = []
    width = max(len(p.name) for p in paths)
    for path in paths:
        try:
            result = execute_notebook(path, args.device, args.timeout)
        except NotebookError as e:
            failures.append(path.name)
            print(f"FAIL  {path.name}\n{e}", flush=True)
            continue
        scrub(result.notebook)
        left = machine_paths(result.notebook)
        if left:
            print(f"warning: {path.name}: machine-specific text in outputs: {left}")
        if args.inplace:
            nbformat.write(result.notebook, path)
        print(f"ok    {path.name:{width}}  {result.seconds:6.1f} s", flush=True)
    if failures:
        print(f"{len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
