"""Compile gpuarr's CUDA kernels with NVRTC, on machines without a GPU.

For every ``ElementwiseSpec`` in ``gpuarr.backends.cupy_kernels.ELEMENTWISE`` this rebuilds the
CUDA source that CuPy 14.2's ``ElementwiseKernel`` generates (CuPy's headers, the headers of
float16 parameters, the ``typedef`` of each type placeholder, ``CArray``/``CIndexer``
parameters, the ``CUPY_FOR`` loop; see
``cupy/_core/_kernel.pyx``: ``_get_elementwise_kernel_code`` and
``_get_simple_elementwise_kernel_code``) for each dtype of the spec and four array layouts
(0-d and 1-d contiguous, 2-d and 3-d non-contiguous; CuPy reduces contiguous n-d arrays to 1-d),
and compiles it to a cubin for ``sm_90`` and ``sm_80`` with the options CuPy assembles
(``cupy._core.core.assemble_cupy_compiler_options`` plus ``-ftz=true``, ``-arch=sm_XX`` and
``--device-as-default-execution-space``).

It needs the REAL CuPy (``cupy-cuda12x``) and NVRTC (``nvidia-cuda-nvrtc-cu12``), not the CuPy
stand-in in ``tests/cupy_standin``: that folder (and any other ``sys.path`` entry holding the
stand-in) is dropped from ``sys.path`` before CuPy is imported. No GPU and no driver are needed,
and nothing is cached on disk.

Usage::

    python tests/cuda_compile.py            # one line per kernel/dtype/layout/arch, a summary;
                                            # exit 1 when one fails to compile
    python tests/cuda_compile.py -v         # also print the CUDA source of failures
    python tests/cuda_compile.py --json --specs gpuarr.backends.cupy_kernels:ELEMENTWISE \\
        --specs /tmp/more_specs.py:SPECS    # machine-readable results for several spec sets
    python tests/cuda_compile.py --specs tests/test_compile.fuse_cuda.py:nvrtc_specs
                                            # a function returning specs (fused kernels)
    python tests/cuda_compile.py --raw gpuarr._compile.graph_gemm:RAW_KERNELS
                                            # RawKernel sources: (name, source) pairs

Exit status: 0 all compiled, 1 a compile failed, 3 the real CuPy or NVRTC is not available.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STANDIN = os.path.join(HERE, "cupy_standin")
ARCHS = ("sm_90", "sm_80")
LAYOUTS = ((0, True), (1, True), (2, False), (3, False))  # (ndim, c_contiguous)
DEFAULT_SPECS = "gpuarr.backends.cupy_kernels:ELEMENTWISE"
UNAVAILABLE_EXIT = 3
# CuPy's _get_typename
CTYPES = {"float64": "double", "float32": "float", "float16": "float16",
          "complex128": "complex<double>", "complex64": "complex<float>",
          "int64": "long long", "int32": "int", "int16": "short", "int8": "signed char",
          "uint64": "unsigned long long", "uint32": "unsigned int", "uint16": "unsigned short",
          "uint8": "unsigned char", "bool": "bool"}
# the headers a C type needs, which CuPy 14.2 puts before the typedefs (the type_decls of
# cupy._core._scalar.get_typename / format_type_decls)
TYPE_DECLS = {"float16": '#include "cupy/float16.cuh"'}
# cupy._core.core._cupy_header_list of CuPy 14.2 (the real list is used when CuPy is loaded)
CUPY_HEADERS = ("cupy/complex.cuh", "cupy/carray.cuh", "cupy/atomics.cuh",
                "cupy/math_constants.h")


class Unavailable(RuntimeError):
    """The real CuPy or NVRTC cannot be loaded here."""


class CompileError(RuntimeError):
    """NVRTC rejected a kernel; the message is NVRTC's log."""


# ---- finding the real CuPy ----------------------------------------------------------------------


def is_standin_dir(path: str) -> bool:
    """Whether ``path`` (a sys.path entry) holds the CuPy stand-in."""
    p = os.path.abspath(path or os.curdir)
    if os.path.realpath(p) == os.path.realpath(STANDIN):
        return True
    init = os.path.join(p, "cupy", "__init__.py")
    try:
        with open(init) as fh:
            return "_IS_STANDIN = True" in fh.read()
    except OSError:
        return False


def drop_standin(paths):
    """``paths`` (sys.path or PYTHONPATH entries) without those holding the stand-in."""
    return [p for p in paths if not is_standin_dir(p)]


def subprocess_env() -> dict:
    """The environment for running this script from a test: the checkout first on
    PYTHONPATH, the stand-in and the simulated device count removed (the script needs the
    real CuPy)."""
    env = dict(os.environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + drop_standin(parts))
    env.pop("CUPY_SIM_NDEV", None)
    return env


def load_real_cupy():
    """(cupy, cupy._core.core, cupy.cuda.compiler, nvrtc version) of the real CuPy."""
    sys.path[:] = drop_standin(sys.path)
    mod = sys.modules.get("cupy")
    if mod is not None and getattr(mod, "_IS_STANDIN", False):
        raise Unavailable("the CuPy stand-in is already imported in this process; run "
                          "tests/cuda_compile.py in a process without tests/cupy_standin on "
                          "PYTHONPATH")
    try:
        import cupy
        import cupy._core.core as core
        from cupy.cuda import compiler
    except Exception as e:  # any import failure means: no usable CuPy
        raise Unavailable(f"the real CuPy is not importable ({type(e).__name__}: {e}); "
                          "install cupy-cuda12x") from None
    if getattr(cupy, "_IS_STANDIN", False):
        raise Unavailable("`import cupy` gives the stand-in, not the real CuPy")
    try:
        from cupy_backends.cuda.libs import nvrtc

        version = nvrtc.getVersion()
    except Exception as e:
        raise Unavailable(f"NVRTC cannot be loaded ({type(e).__name__}: {e}); install "
                          "nvidia-cuda-nvrtc-cu12") from None
    return cupy, core, compiler, version


# ---- the source CuPy generates ------------------------------------------------------------------


def parse_params(params: str):
    """[(type, name, raw)] of an ElementwiseKernel parameter string."""
    out = []
    for p in params.split(","):
        toks = p.split()
        if toks:
            out.append((toks[-2], toks[-1], "raw" in toks[:-2]))
    return out


def kernel_source(spec, dtype: str, ndim: int, contiguous: bool,
                  headers=CUPY_HEADERS) -> str:
    """The CUDA source of ``spec`` with its placeholder types bound to ``dtype``, its array
    arguments of ``ndim`` dimensions (C-contiguous or not), as CuPy 14.2 generates it."""
    ins, outs = parse_params(spec.in_params), parse_params(spec.out_params)
    array_inputs = set(getattr(spec, "array_inputs", ()) or ())
    ctype = CTYPES[dtype]
    placeholders, type_decls = {}, set()

    def c_of(t):
        if len(t) == 1:  # a placeholder such as T
            placeholders[t] = ctype
            t = dtype
        if t in TYPE_DECLS:
            type_decls.add(TYPE_DECLS[t])
        return CTYPES[t]

    params, refs = [], []
    for (t, n, raw), const in [(p, True) for p in ins] + [(p, False) for p in outs]:
        c = c_of(t)
        if not const or n in array_inputs:
            carray = f"CArray<{c}, {ndim}, {int(contiguous)}, 1>"
            params.append(f"{'const ' if const else ''}{carray} {n if raw else '_raw_' + n}")
            if not raw:
                ref_type = t if len(t) == 1 else c
                refs.append(f"{'const ' if const else ''}{ref_type} &{n} = _raw_{n}[_ind.get()];")
        else:
            params.append(f"{'const ' if const else ''}{c} {n}")
    params.append(f"CIndexer<{ndim}, 1> _ind")
    typedefs = "".join(f"typedef {c} {t};\n" for t, c in sorted(placeholders.items()))
    if type_decls:
        typedefs = "\n".join(sorted(type_decls)) + "\n\n" + typedefs
    operation = "\n".join(refs + [spec.operation])
    header = "".join(f"#include <{h}>\n" for h in headers)
    return header + f"""
    {typedefs}
    {getattr(spec, 'preamble', '')}
    extern "C" __global__ void {spec.name}({', '.join(params)}) {{
      ;
      #pragma unroll 1
      CUPY_FOR(i, _ind.size()) {{
        _ind.set(i);
        {operation};
      }}
      ;
    }}
    """


def compile_options(core) -> tuple:
    """The options CuPy passes to NVRTC for an ElementwiseKernel, less the arch."""
    try:
        opts = core.assemble_cupy_compiler_options(())
    except RuntimeError:  # no CUDA headers found: CuPy's own headers and CCCL only
        opts = (core._get_cccl_include_options() + ("--std=c++17",)
                + ("-I" + core._get_header_dir_path(),))
    return tuple(opts) + ("-ftz=true",)


def compile_cubin(compiler, src: str, name: str, options: tuple, arch: str) -> bytes:
    """The cubin of ``src`` for ``arch`` (e.g. 'sm_90'); CompileError with NVRTC's log."""
    prog = compiler._NVRTCProgram(src, name + ".cu", (), (), method="cubin")
    try:
        cubin, _ = prog.compile(options + (f"-arch={arch}",
                                           "--device-as-default-execution-space"))
    except compiler.CompileException as e:
        raise CompileError(str(e)) from None
    return cubin


# ---- spec sets ----------------------------------------------------------------------------------


def load_specs(ref: str):
    """Specs from 'package.module:ATTR' or '/path/file.py:ATTR'; ATTR is a sequence of specs,
    or a function returning one (for specs generated at run time, such as fused kernels)."""
    target, _, attr = ref.rpartition(":")
    if not target:
        target, attr = ref, "ELEMENTWISE"
    if target.endswith(".py"):
        name = "_specs_" + os.path.splitext(os.path.basename(target))[0]
        spec = importlib.util.spec_from_file_location(name, target)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        mod = importlib.import_module(target)
    specs = getattr(mod, attr)
    return tuple(specs() if callable(specs) else specs)


def check(specs, cupy_parts, archs=ARCHS, layouts=LAYOUTS, emit=None, verbose=False):
    """Compile every spec x dtype x layout x arch; a list of result dicts."""
    _, core, compiler, _ = cupy_parts
    headers = tuple(core._cupy_header_list)
    options = compile_options(core)
    results = []
    for s in specs:
        for dt in s.dtypes:
            for ndim, contig in layouts:
                src = kernel_source(s, dt, ndim, contig, headers)
                for arch in archs:
                    r = {"kernel": s.name, "dtype": dt, "ndim": ndim, "contiguous": contig,
                         "arch": arch, "ok": True, "bytes": 0, "error": ""}
                    try:
                        r["bytes"] = len(compile_cubin(compiler, src, s.name, options, arch))
                    except CompileError as e:
                        r["ok"], r["error"] = False, str(e)
                    results.append(r)
                    if emit:
                        layout = f"ndim={ndim} {'contiguous' if contig else 'strided'}"
                        if r["ok"]:
                            emit(f"OK   {s.name:24s} {dt:8s} {layout:18s} {arch} "
                                 f"cubin={r['bytes']}B")
                        else:
                            emit(f"FAIL {s.name:24s} {dt:8s} {layout:18s} {arch}\n"
                                 + _indent(r["error"]))
                            if verbose:
                                emit(_indent(src))
    return results


def check_raw(kernels, cupy_parts, archs=ARCHS, emit=None):
    """Compile every ``(name, source)`` of ``kernels`` (RawKernel sources) for every arch, with
    the options CuPy's RawKernel uses (CuPy's include folders); a list of result dicts."""
    _, core, compiler, _ = cupy_parts
    options = compile_options(core)
    results = []
    for name, src in kernels:
        for arch in archs:
            r = {"kernel": name, "dtype": None, "ndim": None, "contiguous": None, "arch": arch,
                 "ok": True, "bytes": 0, "error": ""}
            try:
                r["bytes"] = len(compile_cubin(compiler, src, name, options, arch))
            except CompileError as e:
                r["ok"], r["error"] = False, str(e)
            results.append(r)
            if emit:
                emit(f"OK   {name:24s} raw {arch} cubin={r['bytes']}B" if r["ok"] else
                     f"FAIL {name:24s} raw {arch}\n" + _indent(r["error"]))
    return results


def _indent(text: str) -> str:
    return "\n".join("     " + line for line in text.strip().splitlines())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--specs", action="append",
                    help=f"spec set 'module:ATTR' or 'file.py:ATTR' (default {DEFAULT_SPECS})")
    ap.add_argument("--raw", action="append", default=[],
                    help="RawKernel sources 'module:ATTR' or 'file.py:ATTR': (name, source) "
                         "pairs")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("-v", "--verbose", action="store_true", help="print sources of failures")
    args = ap.parse_args(argv)
    refs = args.specs or ([] if args.raw else [DEFAULT_SPECS])
    try:
        parts = load_real_cupy()
    except Unavailable as e:
        if args.json:
            print(json.dumps({"unavailable": str(e)}))
        else:
            print(f"UNAVAILABLE: {e}")
        return UNAVAILABLE_EXIT
    cupy, _, _, version = parts
    emit = None if args.json else print
    sets = []
    for ref in refs:
        if emit:
            emit(f"== {ref} (CuPy {cupy.__version__}, NVRTC {version[0]}.{version[1]})")
        results = check(load_specs(ref), parts, emit=emit, verbose=args.verbose)
        sets.append({"specs": ref, "results": results})
    for ref in args.raw:
        if emit:
            emit(f"== {ref} (RawKernel sources)")
        results = check_raw(load_specs(ref), parts, emit=emit)
        sets.append({"specs": ref, "results": results})
    failed = sum(not r["ok"] for s in sets for r in s["results"])
    total = sum(len(s["results"]) for s in sets)
    if args.json:
        print(json.dumps({"unavailable": None, "cupy": cupy.__version__,
                          "nvrtc": f"{version[0]}.{version[1]}", "sets": sets}))
    else:
        kernels = sorted({r["kernel"] for s in sets for r in s["results"]})
        print(f"{len(kernels)} kernels, {total} compiles ({', '.join(ARCHS)}): "
              f"{total - failed} ok, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    # this file's folder must not shadow CuPy, nor must the stand-in (if on PYTHONPATH)
    sys.path[:] = drop_standin(sys.path)
    sys.exit(main())
