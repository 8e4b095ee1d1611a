"""torch's ``out=`` keyword, implemented once for every public function that takes it.

An op computes its result out of place as usual; :func:`write_out` then writes that result into
the caller's tensor with torch's rules:

* ``out`` is returned (for ops returning several tensors, a tuple ``out=(values, indices)`` is
  filled and returned as the op's named tuple), written in place: its identity is kept and its
  version counter moves;
* a non-empty ``out`` of another shape is resized with torch's deprecation UserWarning (an empty
  one silently);
* the result's dtype must be castable to ``out``'s (torch's ``can_cast``), or, for the ops torch
  checks strictly (matmul, sort, argmax...), equal to it;
* ``out`` must live on the result's device;
* with grad mode on, no input (and not ``out``) may require grad: torch's out= variants are not
  differentiable and say so.

``norm`` (whose ``out`` torch takes positionally), the binary arithmetic ops (``add``,
``mul``...), the unary ops of the derivative table (``elementwise.unary_op``: ``exp``,
``sin``...) and ``zeros``/``ones``/``empty`` declare ``out`` themselves and call
:func:`write_out` / :func:`fill_out` in their body: no wrapper on those hot paths.

Creation functions (``zeros``, ``arange``, ``rand``...) take their dtype and device from
``out`` when not given, as torch's do (:func:`fill_out`).

:func:`install` replaces the public functions named in :data:`TOP_LEVEL` / :data:`LINALG` /
:data:`CREATION` with wrappers that add the keyword. A wrapper keeps the wrapped function's
exact signature (generated once, at import), so a call without ``out=`` costs one plain Python
call and no argument packing.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .. import _dtype as D
from .._core.grad_mode import _state, no_grad
from .._core.tensor import TensorBase, check_no_overlap
from .._device import as_device

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["write_out", "fill_out", "with_out", "install", "TOP_LEVEL", "LINALG", "SPECIAL",
           "CREATION"]

# Public gpuarr functions whose torch counterpart accepts ``out=`` (torch 2.13, checked by
# calling torch), besides the unary ops of the derivative table (``elementwise.UNARY_TABLE``),
# which all take it from their declaration. Views (reshape, t, squeeze...), ``*_like``
# constructors, ``clone``, ``flip``, ``roll``, ``isnan``, ``relu``, ``count_nonzero``,
# ``std_mean``... take no ``out=`` in torch and are not listed.
TOP_LEVEL: tuple[str, ...] = (
    # elementwise
    "abs", "absolute", "add", "addcdiv", "addcmul", "atan2", "bitwise_and", "bitwise_not",
    "bitwise_or", "bitwise_xor", "ceil", "clamp", "clip", "copysign", "digamma", "div",
    "divide", "eq", "erf", "erfinv", "floor", "floor_divide", "fmod", "frac", "ge", "greater",
    "greater_equal", "gt", "le", "lerp", "less", "less_equal", "lgamma", "logical_and",
    "logical_not", "logical_or", "logical_xor", "lt", "maximum", "minimum", "mul", "multiply",
    "nan_to_num", "ne", "neg", "negative", "not_equal", "polygamma", "pow", "remainder",
    "round", "rsqrt", "sigmoid", "sign", "square", "sub", "subtract", "true_divide", "trunc",
    "where", "xlogy",
    # reductions, scans, sorting
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "cummax", "cummin",
    "cumprod", "cumsum", "histc", "kthvalue", "log_softmax", "logsumexp", "max", "mean",
    "median", "min", "msort", "nanmean", "nanmedian", "nansum", "norm", "prod", "softmax",
    "sort", "std", "sum", "topk", "var",
    # linear algebra
    "addmm", "addmv", "baddbmm", "bmm", "chain_matmul", "dot", "ger", "inner", "inverse",
    "kron", "matmul", "mm", "mv", "outer", "slogdet", "tensordot", "vdot",
    # joining, indexing, shape
    "cat", "column_stack", "concat", "concatenate", "diag", "diff", "dstack", "gather",
    "hstack", "index_add", "index_copy", "index_select", "masked_select", "nonzero",
    "row_stack", "scatter", "scatter_add", "scatter_reduce", "stack", "take", "take_along_dim",
    "tril", "triu", "vstack",
    # sampling from tensors of probabilities / moments
    "bernoulli", "multinomial", "normal",
)

# ``gpuarr.linalg`` functions that take ``out=`` (all of torch.linalg's do).
LINALG: tuple[str, ...] = (
    "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
    "multi_dot", "norm", "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm",
)

# ``gpuarr.special`` functions that take ``out=`` and do not declare it themselves (the ones
# shared with the top level, under torch.special's names too).
SPECIAL: tuple[str, ...] = (
    "digamma", "erf", "erfinv", "expit", "gammaln", "logsumexp", "polygamma", "psi", "round",
    "xlogy",
)

# Creation functions: with ``out=``, dtype and device default to ``out``'s.
CREATION: tuple[str, ...] = (
    "arange", "empty", "eye", "full", "linspace", "logspace", "ones", "rand", "randint",
    "randn", "randperm", "range", "zeros",
)

# The name torch's autograd error gives: the ATen op that writes the out (behind an alias or a
# composite function). max/min in their binary form are maximum/minimum.
_TORCH_NAMES = {
    "absolute": "abs", "clip": "clamp", "concat": "cat", "concatenate": "cat",
    "divide": "div", "true_divide": "div", "multiply": "mul", "subtract": "sub",
    "negative": "neg", "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
    "not_equal": "ne", "square": "pow", "msort": "sort", "argsort": "sort", "nanmean": "nansum",
    "ger": "mul", "kron": "mul", "outer": "mul", "diff": "sub", "take_along_dim": "gather",
    "column_stack": "cat", "dstack": "cat", "hstack": "cat", "vstack": "cat",
    "row_stack": "cat", "inverse": "linalg_inv_ex", "chain_matmul": "mm",
    "slogdet": "_linalg_slogdet",
    "linalg.inv": "linalg_inv_ex", "linalg.det": "_linalg_det",
    "linalg.slogdet": "_linalg_slogdet", "linalg.solve": "_linalg_solve_ex",
    "linalg.svd": "_linalg_svd", "linalg.svdvals": "_linalg_svd",
    "linalg.eigh": "_linalg_eigh", "linalg.eigvalsh": "_linalg_eigh",
    "linalg.cholesky": "linalg_cholesky_ex", "linalg.cross": "linalg_cross",
    "linalg.multi_dot": "mm", "linalg.vecdot": "sum",
    "linalg.vector_norm": "linalg_vector_norm",
}
_BINARY_FORM = {"max": "maximum", "min": "minimum"}

# How ``out``'s dtype is checked. By default the result must be castable to it (torch's
# elementwise rule: no float result into an integer out, nothing but bool into a bool out).
# These ops (and every linalg.* one) need exactly the result's dtype ("Expected out tensor to
# have dtype float, but got double instead"); max/min only in their (values, indices) form.
_EXACT_DTYPE = frozenset({
    "abs", "absolute", "ceil", "floor", "frac", "neg", "negative", "round", "sign", "trunc",
    "bitwise_not", "clamp", "clip", "nan_to_num", "where", "msort",
    "all", "any", "amax", "amin", "aminmax", "argmax", "argmin", "argsort", "cummax", "cummin",
    "histc", "kthvalue", "log_softmax", "median", "nanmedian", "softmax", "sort",
    "topk", "addmm", "addmv", "baddbmm", "bmm", "chain_matmul", "dot", "inner", "inverse",
    "matmul", "mm", "mv", "slogdet", "tensordot", "vdot", "diag", "gather", "index_add",
    "index_copy", "index_select", "masked_select", "nonzero", "scatter", "scatter_add",
    "scatter_reduce", "take", "take_along_dim", "tril", "triu", "multinomial",
})
# Reductions torch runs in ``out``'s dtype (as if given ``dtype=out.dtype``).
_IN_OUT_DTYPE = frozenset({"sum", "prod", "cumsum", "cumprod", "nansum", "nanmean"})
# Joins: castable, but torch raises TypeError ("input types can't be cast...").
_JOINS = frozenset({"cat", "concat", "concatenate", "column_stack", "dstack", "hstack",
                    "row_stack", "stack", "vstack"})
# Any dtype at all (the values are 0 and 1).
_ANY_DTYPE = frozenset({"bernoulli"})
# torch has no kernel writing these ops into some dtypes: name -> (kernel, dtype kinds it has).
_KERNELS = {"nansum": ("nansum", "f"), "nanmean": ("nansum", "f"),
            "normal": ("normal_kernel", "f"), "cumsum": ("cumsum_out", "fiu"),
            "cumprod": ("cumprod_out", "fiu")}

# Which inputs make torch refuse out= with grad mode on. By default: those the result would
# need grad for (so comparisons, argmax... never refuse). These composite ops never refuse (their
# out simply does not require grad); argsort and bernoulli refuse any input requiring grad.
_NO_GRAD_CHECK = frozenset({"softmax", "log_softmax", "inner", "tensordot", "diag",
                            "linalg.matrix_norm", "linalg.norm"})
_INPUT_GRAD_CHECK = frozenset({"argsort", "bernoulli"})

# Ops whose out= torch resizes without the deprecation warning.
_SILENT_RESIZE = frozenset({"bernoulli", "multinomial"})

# C++ type names in torch's strict dtype message.
_CPP_NAMES = {
    "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
    "int8": "signed char", "int16": "short int", "int32": "int", "int64": "long int",
    "uint8": "unsigned char", "uint16": "short unsigned int", "uint32": "unsigned int",
    "uint64": "long unsigned int", "bool": "bool", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}


def _grad_error(name: str) -> RuntimeError:
    return RuntimeError(
        f"{name}(): functions with out=... arguments don't support automatic differentiation, "
        "but one of the arguments requires grad."
    )


def _copy_into(res: Tensor, out: Tensor, warn: bool = True) -> None:
    """Write ``res`` into ``out`` (resizing it when the shapes differ) and bump its version."""
    shape = res._data.shape
    if out._data.shape != shape:
        if warn and out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release "
                "outputs will not be resized unless they have zero elements. You can explicitly "
                "reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0).",
                UserWarning, stacklevel=5,
            )
        dev = out._device
        # a fresh buffer for the new shape, like torch's resize_ (which reallocates storage)
        out._data = dev._backend().empty(shape, out._data.dtype, dev.index)
    else:
        check_no_overlap(out)  # an expanded view: torch's error, not NumPy's read-only one
    out._device._xp().copyto(out._data, res._data, casting="unsafe")
    out._bump_version()


def _check_one(res: Tensor, out, name: str, rule: str, what: str) -> None:
    if not isinstance(out, TensorBase):
        raise TypeError(f"{name}(): argument 'out' must be {what}, not {type(out).__name__}")
    if out._device != res._device:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{res._device} and {out._device}!"
        )
    rd, od = res.dtype, out.dtype
    if rd is od or rule == "any":
        return
    if rule == "exact":
        raise RuntimeError(f"Expected out tensor to have dtype {_CPP_NAMES[rd.name]}, but got "
                           f"{_CPP_NAMES[od.name]} instead")
    if not D.can_cast(rd, od):
        if rule == "join":
            raise TypeError(f"gpuarr.{name}(): input types can't be cast to the desired output "
                            f"type {D._SCALAR_NAMES[od.name]}")
        raise RuntimeError(f"result type {D._SCALAR_NAMES[rd.name]} can't be cast to the "
                           f"desired output type {D._SCALAR_NAMES[od.name]}")


def write_out(res, out, name: str, *, rule: str = "cast", grad_check: bool = True,
              warn: bool = True):
    """Write an op's result into ``out`` with torch's ``out=`` semantics and return ``out``.

    Args:
        res: the op's out-of-place result: a Tensor, or a tuple (named tuple) of Tensors.
        out: the caller's ``out=``: a Tensor, or a tuple/list of as many Tensors as ``res``.
        name: the op's name in error messages (torch's ATen name).
        rule: how ``out``'s dtype is checked: 'cast' (the result must be castable to it),
            'exact' (must equal the result's, as torch checks for matmul, sort...), 'join'
            (castable, else TypeError, as torch.cat) or 'any'.
        grad_check: raise when the result requires grad (grad mode on and an input requiring
            grad) or ``out`` does, as torch does for its differentiable ops.
        warn: warn when resizing a non-empty ``out`` (torch's samplers resize silently).

    Returns:
        ``out`` (for a tuple result, a tuple of the same type holding ``out``'s tensors).

    Raises:
        TypeError: ``out`` is not a Tensor (or not a tuple of the right length).
        RuntimeError: autograd would be needed, the dtypes cannot be cast, or the devices
            differ (torch's texts).

    Example:
        >>> o = gpuarr.empty(2)
        >>> write_out(gpuarr.ones(2) * 3, o, "mul") is o
        True
    """
    if isinstance(res, TensorBase):
        if grad_check and _state.enabled and (res._rg or (isinstance(out, TensorBase) and out._rg)):
            raise _grad_error(name)
        _check_one(res, out, name, rule, "Tensor")
        _copy_into(res, out, warn)
        return out
    n = len(res)
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not "
                        f"{type(out).__name__}")
    if len(out) != n:
        raise TypeError(f"expected tuple of {n} elements but got {len(out)}")
    if grad_check and _state.enabled and any(
        r._rg or (isinstance(o, TensorBase) and o._rg) for r, o in zip(res, out)
    ):
        raise _grad_error(name)
    for r, o in zip(res, out):
        _check_one(r, o, name, rule, "tuple of Tensors")
    for r, o in zip(res, out):
        _copy_into(r, o, warn)
    return type(res)(*out) if hasattr(res, "_fields") else tuple(out)


def fill_out(fn: Callable, args: tuple, kwargs: dict, out, name: str):
    """Run creation function ``fn`` for ``out=``: dtype and device default to ``out``'s (and must
    match it when given); ``out`` is resized without a warning, as torch's factories do.

    Example:
        >>> o = gpuarr.empty(3, dtype=gpuarr.int64)
        >>> fill_out(gpuarr._creation.zeros, (3,), {}, o, "zeros").dtype
        gpuarr.int64
    """
    if not isinstance(out, TensorBase):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    if dtype is not None and D.as_dtype(dtype) is not out.dtype:
        raise RuntimeError(f"dtype {D._SCALAR_NAMES[D.as_dtype(dtype).name]} does not match "
                           f"dtype of out parameter ({D._SCALAR_NAMES[out.dtype.name]})")
    if device is not None:
        want = as_device(device)
        if want.type != out._device.type or want.index not in (None, out._device.index):
            raise RuntimeError(f"device {want} does not match device of out parameter "
                               f"({out._device})")
    kwargs = {**kwargs, "dtype": out.dtype, "device": out._device}
    res = fn(*args, **kwargs)
    if name == "arange" and out._data.size and res._data.size != out._data.size:
        # torch's arange warns (with its own text) when a non-empty out changes element count
        warnings.warn(
            f"The number of elements in the out tensor of shape {list(out._data.shape)} is "
            f"{out._data.size} which does not match the computed number of elements "
            f"{res._data.size}. Note that this may occur as a result of rounding error. The out "
            f"tensor will be resized to a tensor of shape ({res._data.size},).",
            UserWarning, stacklevel=4,
        )
    _copy_into(res, out, warn=False)
    if kwargs.get("requires_grad"):
        out.requires_grad_(True)
    return out


def _slow_op(name: str) -> Callable:
    """The ``out=`` path of op ``name``: run it, check ``out`` by torch's rules, write."""
    torch_name = _TORCH_NAMES.get(name, name.rpartition(".")[2])
    rule = ("exact" if name in _EXACT_DTYPE or name.startswith("linalg.") else
            "join" if name in _JOINS else "any" if name in _ANY_DTYPE else "cast")
    warn = name not in _SILENT_RESIZE
    grad_check = name not in _NO_GRAD_CHECK
    in_out_dtype = name in _IN_OUT_DTYPE
    kernel = _KERNELS.get(name)
    input_check = name in _INPUT_GRAD_CHECK
    binary_name = _BINARY_FORM.get(name)

    def slow(fn, args, kwargs, out):
        if input_check and _state.enabled and any(
                isinstance(a, TensorBase) and a._rg for a in (*args, *kwargs.values())):
            raise _grad_error(torch_name)
        if isinstance(out, TensorBase):
            if kernel is not None and out._data.dtype.kind not in kernel[1]:
                raise NotImplementedError(f'"{kernel[0]}_{out._device.type}" not implemented '
                                          f"for '{D._SCALAR_NAMES[out.dtype.name]}'")
            if in_out_dtype and kwargs.get("dtype") is None:
                kwargs["dtype"] = out.dtype
        if grad_check:
            res = fn(*args, **kwargs)
        else:
            with no_grad():  # torch's out= variant of these simply records no graph
                res = fn(*args, **kwargs)
        r, tn = rule, torch_name
        if binary_name is not None:
            if isinstance(res, tuple):
                r = "exact"
            elif len(args) > 1 and isinstance(args[1], TensorBase):
                tn = binary_name
        return write_out(res, out, tn, rule=r, grad_check=grad_check, warn=warn)
    return slow


def _slow_creation(name: str) -> Callable:
    def slow(fn, args, kwargs, out):
        return fill_out(fn, args, kwargs, out, name)
    return slow


_CODE: dict[str, object] = {}


def with_out(fn: Callable, name: str, slow: Callable | None = None) -> Callable:
    """``fn`` with an ``out=None`` keyword added.

    ``out=None`` calls ``fn`` directly. Otherwise ``slow(fn, args, kwargs, out)`` runs (default:
    :func:`write_out` with the op's torch name and dtype rule). The wrapper is generated with
    ``fn``'s own parameter list, so the fast path forwards arguments without packing them into
    ``*args``/``**kwargs`` (one extra call: about 40 ns instead of 90 for a generic wrapper).

    Args:
        fn: the out-of-place function (must not already take ``out``).
        name: its public name ('exp', 'linalg.inv'); selects torch's error name and dtype rule.
        slow: the ``out=`` path, when not the default op one.
    """
    slow = slow or _slow_op(name)
    sig = inspect.signature(fn)
    # the wrapper's frame belongs to fn's module (module-based warning filters see gpuarr)
    ns = {"_fn": fn, "_slow": slow, "__name__": fn.__module__}
    ps = list(sig.parameters.values())
    has_star = any(p.kind is p.VAR_POSITIONAL for p in ps)
    var_kw = next((p.name for p in ps if p.kind is p.VAR_KEYWORD), None)
    if has_star and var_kw is None:
        # a call with *args takes CPython's generic call path anyway, where one **dict costs
        # less than forwarding each keyword-only parameter by name (zeros(*size, dtype=...))
        var_kw = "_kw"
    params, pos, kw, star = [], [], [], False
    for i, p in enumerate(ps):
        if p.kind is p.VAR_KEYWORD or (p.kind is p.KEYWORD_ONLY and has_star):
            continue  # forwarded through **var_kw
        text = p.name
        if p.default is not p.empty:
            ns[f"_d{i}"] = p.default
            text += f"=_d{i}"
        if p.kind is p.VAR_POSITIONAL:
            text = "*" + p.name
            pos.append(text)
            star = True
        elif p.kind is p.KEYWORD_ONLY:
            kw.append(p.name)
            if not star:
                params.append("*")
                star = True
        else:
            pos.append(p.name)
        params.append(text)
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(ps) or
                                             ps[i + 1].kind is not p.POSITIONAL_ONLY):
            params.append("/")
    params += ([] if star else ["*"]) + ["out=None"] + ([f"**{var_kw}"] if var_kw else [])
    rest = [f"**{var_kw}"] if var_kw else []
    call = ", ".join(pos + [f"{k}={k}" for k in kw] + rest)
    kwargs = "{" + ", ".join([f"{k!r}: {k}" for k in kw] + rest) + "}"
    src = (f"def _wrapper({', '.join(params)}):\n"
           f"    if out is None:\n"
           f"        return _fn({call})\n"
           f"    return _slow(_fn, ({', '.join(pos)}{',' if pos else ''}), {kwargs}, out)\n")
    code = _CODE.get(src)
    if code is None:  # many ops share a parameter list: compile each list once (import time)
        code = _CODE[src] = compile(src, "<out= wrapper>", "exec")
    exec(code, ns)  # noqa: S102 - the source is generated above from fn's signature
    wrapper = ns["_wrapper"]
    fname = name.rpartition(".")[2]
    wrapper.__code__ = wrapper.__code__.replace(co_name=fname, co_qualname=fn.__qualname__)
    wrapper.__name__ = fname
    wrapper.__module__ = fn.__module__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = (fn.__doc__ or "").rstrip() + (
        "\n\n    ``out=``: write the result into this tensor (a tuple of tensors for several "
        "results) instead of a new one, as torch does; see :func:`gpuarr.ops._out.write_out`."
    )
    wrapper.__wrapped__ = fn
    out_param = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = next((i for i, p in enumerate(ps) if p.kind is p.VAR_KEYWORD), len(ps))
    wrapper.__signature__ = sig.replace(parameters=ps[:at] + [out_param] + ps[at:])
    return wrapper


def install(namespace: dict, names: Iterable[str], prefix: str = "",
            creation: bool = False) -> None:
    """Give the functions ``names`` of ``namespace`` (a module's globals) torch's ``out=``.

    Functions that already declare ``out`` handle it themselves (through :func:`write_out`) and
    are left alone.

    Args:
        namespace: the dict to update in place (``globals()`` of the public module).
        names: the function names.
        prefix: the namespace's public prefix ('linalg.'), for error names and dtype rules.
        creation: the functions are factories (:func:`fill_out` semantics).
    """
    for name in names:
        fn = namespace[name]
        code = fn.__code__  # cheaper than inspect.signature, which with_out runs once anyway
        if "out" in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
            continue
        full = prefix + name
        namespace[name] = with_out(fn, full, _slow_creation(name) if creation else None)
