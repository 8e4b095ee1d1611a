"""Static check: every name gpuarr takes from the CUDA array module exists in the REAL CuPy, and
every keyword argument it passes is accepted.

An AST scan of the ``.py`` files under the given folders collects

* attribute chains on the array module: ``xp.X``, ``cp.X``, ``cupy.X``, ``cupyx.X``,
  ``self._cp.X``, ``<anything>.xp.X``, ``<anything>._xp().X``, and on modules imported from
  CuPy under another name (``import cupyx.scipy.special as cps``; ``from cupy import linalg``);
* ``getattr(xp, "name")``, also when the name is a variable bound to string constants in the
  same file (``for name in ("exp", "log"): getattr(xp, name)``);
* the keyword arguments of calls to those chains,

then resolves each chain on the installed CuPy (``cupyx.*`` on cupyx) and binds the keywords to
the object's signature where it can be introspected (CuPy ufuncs take ``out``, ``dtype`` and
``casting``). ``gpuarr/backends/numpy_backend.py`` is NumPy only and not scanned.

It needs the REAL CuPy, never the stand-in in ``tests/cupy_standin`` (that folder is dropped
from ``sys.path`` first). Usage::

    python tests/cupy_names.py                 # scan gpuarr/; exit 1 when a name is missing
    python tests/cupy_names.py --json DIR...   # machine-readable, one result per folder

Exit status: 0 all names found, 1 missing names or rejected keywords, 3 CuPy not available.
"""

from __future__ import annotations

import argparse
import ast
import collections
import inspect
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXCLUDE = ("gpuarr/backends/numpy_backend.py",)
XP_NAMES = {"xp": "cupy", "cp": "cupy", "cupy": "cupy", "cupyx": "cupyx", "_cp": "cupy"}
XP_ATTRS = {"xp": "cupy", "_cp": "cupy"}  # <obj>.xp / <obj>._cp
XP_CALLS = {"_xp": "cupy"}  # <obj>._xp()
UFUNC_KWARGS = {"out", "dtype", "casting"}
UNAVAILABLE_EXIT = 3


class Use:
    __slots__ = ("base", "chain", "file", "line", "kwargs", "is_call")

    def __init__(self, base, chain, file, line, kwargs=(), is_call=False):
        self.base, self.chain, self.file, self.line = base, chain, file, line
        self.kwargs, self.is_call = tuple(kwargs), is_call

    @property
    def dotted(self):
        return ".".join((self.base, *self.chain))


class _Scanner(ast.NodeVisitor):
    def __init__(self, rel):
        self.rel = rel
        self.aliases = dict(XP_NAMES)  # local name -> CuPy module path
        self.uses = []
        self.getattrs = []  # (base, ast expr, line, has default, enclosing functions)
        self.strings = collections.defaultdict(set)  # name/attr -> string constants bound to it
        self.call_strs = collections.defaultdict(set)  # (function, arg index|name) -> strings
        self.funcs = []  # enclosing (name, params)
        self.attr_alias = collections.defaultdict(set)  # name -> attrs it was assigned from
        self.deferred = []  # ({"key": name} dict entries: key, name, enclosing functions)

    # -- imports of CuPy modules under other names
    def visit_Import(self, node):
        for a in node.names:
            if a.name.split(".")[0] in ("cupy", "cupyx"):
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    self.aliases[top] = top
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        if mod.split(".")[0] in ("cupy", "cupyx") and node.level == 0:
            for a in node.names:
                self.uses.append(Use(mod, (a.name,), self.rel, node.lineno))
                self.aliases[a.asname or a.name] = f"{mod}.{a.name}"
        self.generic_visit(node)

    # -- string constants bound to names (for getattr(xp, name))
    def visit_For(self, node):
        if isinstance(node.target, ast.Name) and isinstance(node.iter, (ast.Tuple, ast.List)):
            for e in node.iter.elts:
                if isinstance(e, ast.Constant) and isinstance(e.value, str):
                    self.strings[node.target.id].add(e.value)
        self.generic_visit(node)

    def visit_Assign(self, node):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.strings[t.id].add(node.value.value)
                elif isinstance(t, ast.Attribute):
                    self.strings[t.attr].add(node.value.value)
        elif isinstance(node.value, ast.Attribute):  # name = cls._ufunc
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.attr_alias[t.id].add(node.value.attr)
        self.generic_visit(node)

    def visit_Dict(self, node):  # type(name, bases, {"_f": "exp"}) / {"_f": f}
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    self.strings[k.value].add(v.value)
                elif isinstance(v, ast.Name):
                    self.deferred.append((k.value, v.id, list(self.funcs)))
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        params = [a.arg for a in node.args.posonlyargs + node.args.args]
        params += [a.arg for a in node.args.kwonlyargs]
        self.funcs.append((node.name, params))
        self.generic_visit(node)
        self.funcs.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _record_call_strings(self, node):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name is None:
            return
        for i, a in enumerate(node.args):
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                self.call_strs[(name, i)].add(a.value)
        for k in node.keywords:
            if k.arg and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                self.call_strs[(name, k.arg)].add(k.value.value)

    def _base_of(self, node):
        """CuPy module path if ``node`` is an array-module expression."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute) and node.attr in XP_ATTRS:
            return XP_ATTRS[node.attr]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in XP_CALLS):
            return XP_CALLS[node.func.attr]
        return None

    def _chain(self, node):
        parts = []
        cur = node
        while isinstance(cur, ast.Attribute):
            base = self._base_of(cur)
            if base is not None:
                return base, tuple(reversed(parts))
            parts.append(cur.attr)
            cur = cur.value
        base = self._base_of(cur)
        return (base, tuple(reversed(parts))) if base is not None else (None, ())

    def visit_Call(self, node):
        self._record_call_strings(node)
        base, chain = self._chain(node.func)
        if base and chain:
            kws = [k.arg for k in node.keywords if k.arg]
            self.uses.append(Use(base, chain, self.rel, node.lineno, kws, True))
        if (isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) >= 2):
            b = self._base_of(node.args[0])
            if b is not None:
                self.getattrs.append((b, node.args[1], node.lineno, len(node.args) > 2,
                                      list(self.funcs)))
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if isinstance(node.ctx, ast.Load):
            base, chain = self._chain(node)
            if base and chain:
                self.uses.append(Use(base, chain, self.rel, node.lineno))
        self.generic_visit(node)

    def _strings_for_param(self, name, funcs):
        """Strings passed for parameter ``name`` of the innermost enclosing function that has
        it, at the calls to that function in this file."""
        for fname, params in reversed(funcs):
            if name in params:
                i = params.index(name)
                found = set(self.call_strs.get((fname, i), ())) | self.call_strs.get(
                    (fname, name), set())
                if params and params[0] in ("self", "cls"):
                    found |= self.call_strs.get((fname, i - 1), set())
                return found
        return set()

    def finish(self):
        for key, name, funcs in self.deferred:
            self.strings[key] |= self.strings.get(name, set()) | self._strings_for_param(
                name, funcs)
        unresolved = []
        for base, expr, line, has_default, funcs in self.getattrs:
            names = set()
            if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
                names = {expr.value}
            elif isinstance(expr, ast.Name):
                names = self.strings.get(expr.id, set()) | self._strings_for_param(expr.id, funcs)
                for attr in self.attr_alias.get(expr.id, ()):
                    names |= self.strings.get(attr, set())
            elif isinstance(expr, ast.Attribute):
                names = set(self.strings.get(expr.attr, ()))
            names = sorted(n for n in names if n)
            if not names:
                unresolved.append(f"{self.rel}:{line}: getattr({base}, {ast.unparse(expr)})")
            elif not has_default:  # getattr with a default tolerates a missing name
                for n in names:
                    self.uses.append(Use(base, (n,), self.rel, line))
        return unresolved


def scan(folder, exclude=EXCLUDE):
    """(uses, unresolved getattr sites) of every .py file under ``folder``."""
    uses, unresolved = [], []
    top = os.path.dirname(os.path.abspath(folder))
    for dp, dns, fns in os.walk(folder):
        dns[:] = sorted(d for d in dns if d != "__pycache__")
        for f in sorted(fns):
            if not f.endswith(".py"):
                continue
            path = os.path.join(dp, f)
            rel = os.path.relpath(path, top).replace(os.sep, "/")
            if rel in exclude:
                continue
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), path)
            sc = _Scanner(rel)
            sc.visit(tree)
            unresolved += sc.finish()
            uses += sc.uses
    return uses, unresolved


# ---- checking against the real CuPy -----------------------------------------------------------


def load_real_cupy():
    from cuda_compile import drop_standin

    sys.path[:] = drop_standin(sys.path)
    mod = sys.modules.get("cupy")
    if mod is not None and getattr(mod, "_IS_STANDIN", False):
        raise RuntimeError("the CuPy stand-in is already imported in this process")
    import cupy
    import cupyx

    if getattr(cupy, "_IS_STANDIN", False):
        raise RuntimeError("`import cupy` gives the stand-in, not the real CuPy")
    return cupy, cupyx


def _resolve(modpath, chain):
    """(object, missing part or None, note)."""
    import importlib

    try:
        obj = importlib.import_module(modpath)
    except ImportError:
        head, _, attr = modpath.rpartition(".")
        obj = getattr(importlib.import_module(head), attr)
    path = modpath
    for i, part in enumerate(chain):
        path = f"{path}.{part}"
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if getattr(obj, "available", None) is False and obj.__name__ in _RECORDED:
                return _recorded(obj.__name__, chain[i:])
            try:  # a submodule not imported by its package
                obj = importlib.import_module(path)
            except ImportError:
                return None, part, ""
        except Exception as e:  # a lazy attribute that needs a GPU: it exists
            return None, None, f"exists, not loadable here ({type(e).__name__})"
    return obj, None, ""


# CuPy modules whose library may be missing where this runs (``available`` is False, names
# absent): their names as ``tests/cupy_standin/dump_meta.py`` recorded them from a CuPy that
# loaded the library (module -> (meta key of its names, {class: meta key of its methods})).
_RECORDED = {
    "cupy.cuda.nccl": ("cupy_backends.cuda.libs.nccl", {"NcclCommunicator": "NcclCommunicator"}),
    "cupy_backends.cuda.libs.nccl": ("cupy_backends.cuda.libs.nccl",
                                     {"NcclCommunicator": "NcclCommunicator"}),
}


def _recorded(modname, chain):
    """(None, missing part or None, note) for ``chain`` on a module whose library did not load,
    checked against the names recorded in ``cupy_meta.json``."""
    with open(os.path.join(HERE, "cupy_standin", "cupy_meta.json")) as fh:
        meta = json.load(fh)
    key, classes = _RECORDED[modname]
    names = meta.get(key)
    if names is None:
        return None, None, f"not loadable here and not recorded in cupy_meta.json ({key})"
    if chain[0] not in names:
        return None, chain[0], ""
    if len(chain) > 1:
        methods = meta.get(classes.get(chain[0], ""), {})
        if chain[1] not in methods:
            return None, chain[1], ""
    return None, None, "library not loadable here: checked against the names recorded in " \
        "cupy_meta.json"


def _signature(obj, cupy):
    if isinstance(obj, cupy.ufunc):
        return "ufunc"
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        pass
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    m = re.match(r"^[\w.]+(\(.*\))", doc[0]) if doc else None
    if m:
        src = re.sub(r"\b(?:int|Py_ssize_t|bint|bool|str|tuple|object|size_t|_ndarray_base)\s+"
                     r"(?=\w+\s*(?:=|,|\)))", "", m.group(1).split(" -> ")[0])
        src = re.sub(r"<[^<>]*>", "None", src)
        try:
            ns = {}
            exec(f"def _f{src}: pass", {}, ns)
            return inspect.signature(ns["_f"])
        except Exception:
            return None
    return None


def check(uses, cupy):
    """{'missing': [...], 'bad_kwargs': [...], 'uninspectable': [...], 'names': n}."""
    missing, bad, unknown, notes = {}, {}, set(), []
    by_name = collections.defaultdict(list)
    for u in uses:
        by_name[(u.base, u.chain)].append(u)
    for (base, chain), us in sorted(by_name.items()):
        obj, miss, note = _resolve(base, chain)
        dotted = ".".join((base, *chain))
        sites = sorted({f"{u.file}:{u.line}" for u in us})
        if miss is not None:
            missing[dotted] = {"missing": miss, "sites": sites}
            continue
        if note:
            notes.append(f"{dotted}: {note}")
            continue
        kws = sorted({k for u in us for k in u.kwargs})
        if not kws:
            continue
        sig = _signature(obj, cupy)
        for k in kws:
            ksites = sorted({f"{u.file}:{u.line}" for u in us if k in u.kwargs})
            if sig == "ufunc":
                ok = k in UFUNC_KWARGS
            elif sig is None:
                unknown.add(f"{dotted}({k}=)")
                continue
            else:
                ps = sig.parameters
                ok = k in ps and ps[k].kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                                    inspect.Parameter.VAR_POSITIONAL)
                ok = ok or any(p.kind == inspect.Parameter.VAR_KEYWORD for p in ps.values())
            if not ok:
                bad[f"{dotted}({k}=)"] = ksites
    return {"names": len(by_name), "missing": missing, "bad_kwargs": bad,
            "uninspectable": sorted(unknown), "notes": notes}


def main(argv=None):
    ap = argparse.ArgumentParser(description="check gpuarr's CuPy names against the real CuPy")
    ap.add_argument("folders", nargs="*", default=[os.path.join(ROOT, "gpuarr")])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        cupy, _ = load_real_cupy()
    except Exception as e:
        why = f"the real CuPy is not importable ({type(e).__name__}: {e})"
        print(json.dumps({"unavailable": why}) if args.json else f"UNAVAILABLE: {why}")
        return UNAVAILABLE_EXIT
    out, failed = [], False
    for folder in args.folders:
        uses, unresolved = scan(folder)
        res = check(uses, cupy)
        res["folder"] = folder
        res["unresolved_getattr"] = unresolved
        failed |= bool(res["missing"] or res["bad_kwargs"])
        out.append(res)
    if args.json:
        print(json.dumps({"unavailable": None, "cupy": cupy.__version__, "results": out}))
    else:
        for res in out:
            print(f"== {res['folder']}: {res['names']} names checked against CuPy "
                  f"{cupy.__version__}")
            for name, info in res["missing"].items():
                print(f"MISSING  {name} (no {info['missing']!r}): {', '.join(info['sites'])}")
            for name, sites in res["bad_kwargs"].items():
                print(f"KWARG    {name} not accepted: {', '.join(sites)}")
            for name in res["uninspectable"]:
                print(f"UNCHECKED keyword (no signature): {name}")
            for site in res["unresolved_getattr"]:
                print(f"UNCHECKED {site}")
            for n in res["notes"]:
                print(f"NOTE     {n}")
        print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
