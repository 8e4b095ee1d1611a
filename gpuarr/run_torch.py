"""Run an unmodified PyTorch program on gpuarr.

    python -m gpuarr.run_torch script.py [args...]
    python -m gpuarr.run_torch -m package.module [args...]
    python -m gpuarr.run_torch -c "import torch; print(torch.ones(2))"

An import hook (a ``sys.meta_path`` finder) answers every ``import torch`` / ``import torch.x``
with a thin alias module over gpuarr's own modules (``torch.nn`` -> :mod:`gpuarr.nn`,
``torch.utils.data`` -> :mod:`gpuarr.utils.data`, ``torch.backends`` -> gpuarr's torch-style
backend flags, ...; see ``TORCH_MODULES``), then the program runs as ``__main__`` with
``sys.argv`` and ``sys.path[0]`` set as ``python script.py`` would set them.

Anything gpuarr lacks fails at its first use with an error that names it, never with an
unrelated AttributeError:

* ``torch.sparse.mm(a, b)`` raises :class:`MissingTorchAPI` ("torch.sparse.mm is not available in
  gpuarr (running under gpuarr.run_torch)"), an AttributeError *and* a NotImplementedError, so
  ``hasattr(torch, "name")`` and ``getattr(torch, "name", default)`` keep working;
* ``from torch.sparse import mm`` raises :class:`MissingTorchImport` (an ImportError *and* a
  NotImplementedError, so ``try: ... except ImportError:`` fallbacks work) with the same text;
* torch submodules gpuarr has no counterpart for (``torch.sparse``, ``torch.utils.dlpack``...)
  import as empty stubs whose every attribute raises the error above; a module name torch does
  not have either raises :class:`MissingTorchModule` (a ModuleNotFoundError) at the import;
* a Tensor method gpuarr lacks (``x.unfold(...)``) raises :class:`MissingTorchAPI` naming
  ``torch.Tensor.unfold`` while the hook is installed.

``torch.__version__`` reads ``2.13.0+gpuarr.<gpuarr version>`` (gpuarr follows PyTorch 2.13's
API) and ``torch.__gpuarr__`` is True, for programs that want to know. Processes started with
the 'spawn' or 'forkserver' methods of :mod:`multiprocessing` (DataLoader workers) install the
hook before they import anything of the program.

The hook can also be used from Python (tests, notebooks)::

    with gpuarr.run_torch.installed():
        import torch            # gpuarr under torch's names
"""

from __future__ import annotations

import contextlib
import dis
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import multiprocessing.spawn as mp_spawn
import os
import runpy
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any

from . import __version__ as _GPUARR_VERSION  # gpuarr/__init__.py never imports this module
from ._dtype import repr_module
from ._tensor import Tensor

__all__ = ["MissingTorchAPI", "MissingTorchImport", "MissingTorchModule", "TORCH_MODULES",
           "install", "uninstall", "installed", "is_installed", "main"]

_WHERE = "is not available in gpuarr (running under gpuarr.run_torch)"


def _text(name: str) -> str:
    return f"{name} {_WHERE}"


class MissingTorchAPI(AttributeError, NotImplementedError):
    """A torch name gpuarr does not provide, raised where the program first uses it.

    An AttributeError, so ``hasattr`` answers False and ``getattr(obj, name, default)`` gives
    the default; a NotImplementedError, because that is what it means.

    Attributes:
        api: the torch name, e.g. ``'torch.sparse.mm'``.
    """

    def __init__(self, api: str) -> None:
        super().__init__(_text(api))
        self.api = api


class MissingTorchImport(ImportError, NotImplementedError):
    """``from torch.x import name`` where gpuarr lacks ``name``: an ImportError (so
    ``except ImportError`` fallbacks run) that names the missing API.

    Attributes:
        api: the torch name, e.g. ``'torch.sparse.mm'``.
    """

    def __init__(self, api: str) -> None:
        super().__init__(_text(api), name=api.rpartition(".")[0])
        self.api = api


class MissingTorchModule(ModuleNotFoundError, NotImplementedError):
    """``import torch.x`` for a module name that neither gpuarr nor the list of torch's
    modules has.

    Attributes:
        api: the module name.
    """

    def __init__(self, api: str) -> None:
        super().__init__(_text(api), name=api)
        self.api = api


# --------------------------------------------------------------------------------------------
# the map from torch's module names to gpuarr's

# torch module -> where its names come from, tried in order (the first that has a name wins).
# An entry is a module path, or a dotted path to an object inside a module
# ('gpuarr._torch_backends.cudnn'), or '<version>' (the torch.version namespace below).
TORCH_MODULES: dict[str, tuple[str, ...]] = {
    "torch": ("gpuarr",),
    "torch.nn": ("gpuarr.nn",),
    "torch.nn.functional": ("gpuarr.nn.functional",),
    "torch.nn.init": ("gpuarr.nn.init",),
    "torch.nn.parameter": ("gpuarr.nn.parameter", "gpuarr.nn"),
    "torch.nn.modules": ("gpuarr.nn",),
    "torch.nn.modules.module": ("gpuarr.nn.module", "gpuarr.nn"),
    "torch.nn.modules.container": ("gpuarr.nn.containers", "gpuarr.nn"),
    "torch.nn.modules.batchnorm": ("gpuarr.nn.normalization", "gpuarr.nn"),
    "torch.nn.modules.instancenorm": ("gpuarr.nn.normalization", "gpuarr.nn"),
    "torch.nn.modules.sparse": ("gpuarr.nn.embedding", "gpuarr.nn"),
    "torch.nn.utils": ("gpuarr.nn.utils",),
    "torch.nn.utils.rnn": ("gpuarr.nn.utils.rnn",),
    "torch.nn.utils.clip_grad": ("gpuarr.nn.utils.clip_grad",),
    "torch.nn.utils.convert_parameters": ("gpuarr.nn.utils.convert_parameters",),
    "torch.nn.parallel": ("gpuarr.nn.parallel",),
    "torch.nn.parallel.distributed": ("gpuarr.nn.parallel.distributed", "gpuarr.nn.parallel"),
    "torch.optim": ("gpuarr.optim",),
    "torch.optim.lr_scheduler": ("gpuarr.optim.lr_scheduler",),
    "torch.optim.optimizer": ("gpuarr.optim.optimizer", "gpuarr.optim"),
    "torch.utils": ("gpuarr.utils",),
    "torch.utils.data": ("gpuarr.utils.data",),
    "torch.utils.data.dataloader": ("gpuarr.utils.data.dataloader", "gpuarr.utils.data"),
    "torch.utils.data.dataset": ("gpuarr.utils.data.dataset", "gpuarr.utils.data"),
    "torch.utils.data.sampler": ("gpuarr.utils.data.sampler", "gpuarr.utils.data"),
    "torch.utils.data.distributed": ("gpuarr.utils.data.distributed", "gpuarr.utils.data",
                                     "gpuarr.distributed"),
    "torch.utils.checkpoint": ("gpuarr.utils.checkpoint",),
    "torch.utils.tensorboard": ("gpuarr.utils.tensorboard",),
    "torch.utils.tensorboard.writer": ("gpuarr.utils.tensorboard",),
    "torch.distributions": ("gpuarr.distributions",),
    "torch.distributed": ("gpuarr.distributed",),
    "torch.autograd": ("gpuarr.autograd",),
    "torch.fft": ("gpuarr.fft",),
    "torch.cuda": ("gpuarr.cuda",),
    "torch.cuda.memory": ("gpuarr.cuda.memory", "gpuarr.cuda"),
    "torch.cuda.random": ("gpuarr.cuda.random", "gpuarr.cuda"),
    "torch.cuda.streams": ("gpuarr.cuda.streams", "gpuarr.cuda"),
    "torch.cuda.amp": ("gpuarr.cuda.amp", "gpuarr.amp"),
    "torch.cuda.amp.autocast_mode": ("gpuarr.cuda.amp",),
    "torch.cuda.amp.grad_scaler": ("gpuarr.cuda.amp",),
    "torch.amp": ("gpuarr.amp",),
    "torch.amp.autocast_mode": ("gpuarr.amp.autocast_mode",),
    "torch.amp.grad_scaler": ("gpuarr.amp.grad_scaler",),
    "torch.cpu": ("gpuarr.cpu",),
    "torch.cpu.amp": ("gpuarr.cpu.amp",),
    "torch.backends": ("gpuarr._torch_backends",),
    "torch.backends.cudnn": ("gpuarr._torch_backends.cudnn",),
    "torch.backends.cuda": ("gpuarr._torch_backends.cuda",),
    "torch.backends.mps": ("gpuarr._torch_backends.mps",),
    "torch.linalg": ("gpuarr.linalg",),
    "torch.special": ("gpuarr.special",),
    "torch.func": ("gpuarr.func",),
    "torch.onnx": ("gpuarr.onnx",),
    "torch.testing": ("gpuarr.testing",),
    "torch.accelerator": ("gpuarr.accelerator",),
    "torch.serialization": ("gpuarr.serialization",),
    "torch.random": ("gpuarr.random",),
    "torch.return_types": ("gpuarr.return_types",),
    "torch.multiprocessing": ("gpuarr.multiprocessing",),
    "torch.multiprocessing.spawn": ("gpuarr.multiprocessing",),
    "torch.jit": ("gpuarr.jit",),
    "torch.version": ("<version>",),
}

# Submodules of these torch packages that the table does not list map to gpuarr's module of the
# same name, and fall back to the package itself (torch.nn.modules.linear -> gpuarr.nn.linear,
# then gpuarr.nn), since their public names are re-exported there in both libraries.
_FALLBACK_TO_PARENT = ("torch.nn.modules", "torch.nn.utils", "torch.optim",
                       "torch.distributions", "torch.utils.data", "torch.autograd",
                       "torch.nn.parallel", "torch.distributed")

# torch's own module names (PyTorch 2.13): those gpuarr has no counterpart for import as stubs
# that fail on first use; any other torch.* name fails at the import.
_TORCH_TOP = """accelerator amp ao autograd backends compiler cpu cuda distributed distributions
export fft func functional futures fx hub jit library linalg masked monitor mps mtia
multiprocessing nested nn onnx optim overrides package profiler quantization quasirandom random
return_types serialization signal sparse special storage testing types utils version xpu
_dynamo _inductor _C""".split()
_TORCH_DEEPER = """amp.autocast_mode amp.grad_scaler autograd.anomaly_mode autograd.forward_ad
autograd.function autograd.functional autograd.grad_mode autograd.gradcheck autograd.graph
autograd.profiler autograd.variable backends.cpu backends.cuda backends.cudnn backends.mha
backends.mkl backends.mkldnn backends.mps backends.nnpack backends.openmp backends.opt_einsum
backends.quantized compiler.config cuda.amp cuda.amp.autocast_mode cuda.amp.grad_scaler
cuda.comm cuda.graphs cuda.memory cuda.nccl cuda.nvtx cuda.profiler cuda.random cuda.streams
distributed.algorithms distributed.autograd distributed.checkpoint distributed.device_mesh
distributed.distributed_c10d distributed.elastic distributed.fsdp distributed.launch
distributed.launcher distributed.nn distributed.optim distributed.pipelining distributed.rpc
distributed.run distributed.tensor distributed.utils distributions.bernoulli distributions.beta
distributions.binomial distributions.categorical distributions.cauchy distributions.chi2
distributions.constraint_registry distributions.constraints distributions.dirichlet
distributions.distribution distributions.exp_family distributions.exponential
distributions.gamma distributions.geometric distributions.gumbel distributions.half_cauchy
distributions.half_normal distributions.independent distributions.kl distributions.laplace
distributions.log_normal distributions.lowrank_multivariate_normal
distributions.mixture_same_family distributions.multinomial distributions.multivariate_normal
distributions.negative_binomial distributions.normal distributions.one_hot_categorical
distributions.pareto distributions.poisson distributions.relaxed_bernoulli
distributions.relaxed_categorical distributions.studentT distributions.transformed_distribution
distributions.transforms distributions.uniform distributions.utils distributions.von_mises
distributions.weibull distributions.wishart export.dynamic_shapes export.exported_program
jit.annotations multiprocessing.pool multiprocessing.queue multiprocessing.reductions
multiprocessing.spawn nn.attention nn.attention.bias nn.attention.flex_attention nn.backends
nn.common_types nn.functional nn.grad nn.init nn.intrinsic nn.modules nn.modules.activation
nn.modules.adaptive nn.modules.batchnorm nn.modules.channelshuffle nn.modules.container
nn.modules.conv nn.modules.distance nn.modules.dropout nn.modules.flatten nn.modules.fold
nn.modules.instancenorm nn.modules.lazy nn.modules.linear nn.modules.loss nn.modules.module
nn.modules.normalization nn.modules.padding nn.modules.pixelshuffle nn.modules.pooling
nn.modules.rnn nn.modules.sparse nn.modules.transformer nn.modules.upsampling nn.modules.utils
nn.parallel nn.parallel.comm nn.parallel.data_parallel nn.parallel.distributed
nn.parallel.parallel_apply nn.parallel.replicate nn.parallel.scatter_gather nn.parameter
nn.qat nn.quantizable nn.quantized nn.utils nn.utils.clip_grad nn.utils.convert_parameters
nn.utils.fusion nn.utils.init nn.utils.memory_format nn.utils.parametrizations
nn.utils.parametrize nn.utils.prune nn.utils.rnn nn.utils.spectral_norm nn.utils.stateless
nn.utils.weight_norm onnx.errors onnx.operators onnx.utils onnx.verification optim.adadelta
optim.adagrad optim.adam optim.adamax optim.adamw optim.asgd optim.lbfgs optim.lr_scheduler
optim.nadam optim.optimizer optim.radam optim.rmsprop optim.rprop optim.sgd optim.sparse_adam
optim.swa_utils profiler.itt profiler.profiler utils.backcompat utils.benchmark
utils.bundled_inputs utils.checkpoint utils.collect_env utils.cpp_extension utils.data
utils.data.backward_compatibility utils.data.dataloader utils.data.datapipes utils.data.dataset
utils.data.distributed utils.data.graph utils.data.sampler utils.dlpack utils.flop_counter
utils.hooks utils.mobile_optimizer utils.model_zoo utils.module_tracker utils.tensorboard
utils.tensorboard.writer utils.weak""".split()
_KNOWN = frozenset(["torch"] + [f"torch.{n}" for n in _TORCH_TOP + _TORCH_DEEPER])


class _VersionInfo:
    """``torch.version``: the API level gpuarr follows, and no CUDA/HIP build versions
    (gpuarr's CUDA comes from CuPy at run time)."""

    cuda = None
    hip = None
    debug = False
    git_version = "gpuarr"


_INTERNAL = {"<version>": _VersionInfo()}


def _torch_version() -> str:
    return f"2.13.0+gpuarr.{_GPUARR_VERSION}"


def _specs(name: str) -> tuple[str, ...]:
    """Where the names of torch module ``name`` come from (empty: a stub)."""
    if name in TORCH_MODULES:
        return TORCH_MODULES[name]
    parent, _, leaf = name.rpartition(".")
    if parent in ("", "torch"):
        return ()
    mods = [s for s in _specs(parent) if not s.startswith("<")]
    if not mods:
        return ()
    own = f"{mods[0]}.{leaf}"
    if any(parent == f or parent.startswith(f + ".") for f in _FALLBACK_TO_PARENT):
        return (own, mods[0])
    return (own,)


def _resolve(spec: str) -> Any:
    """The module or object a spec names, or None when gpuarr has no such thing."""
    if spec.startswith("<"):
        return _INTERNAL[spec]
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as e:
        # only "this module does not exist" means missing; an import error *inside* an
        # existing gpuarr module is a bug that must surface
        if e.name is None or not (spec == e.name or spec.startswith(e.name + ".")):
            raise
    parent, _, attr = spec.rpartition(".")
    if not parent:
        return None
    obj = _resolve(parent)
    return None if obj is None else getattr(obj, attr, None)


def _has_module_target(name: str) -> bool:
    """Whether gpuarr has a module of torch's unlisted module ``name``: its own spec only, not
    the parent it falls back to (else ``from torch.optim import Missing`` would import a bogus
    module ``torch.optim.Missing`` instead of failing)."""
    return any(isinstance(_resolve(s), types.ModuleType)
               for s in _specs(name)[:1] if not s.startswith("<"))


# --------------------------------------------------------------------------------------------
# the alias modules

_IMPORT_FROM = dis.opmap.get("IMPORT_FROM")
_PLAIN = (bool, int, float, complex, str, bytes, list, dict, set, tuple, type(None))


def _in_from_import(depth: int) -> bool:
    """Whether the frame ``depth`` levels up is executing ``from m import name``."""
    try:
        f = sys._getframe(depth + 1)
        return f.f_code.co_code[f.f_lasti] == _IMPORT_FROM
    except (AttributeError, IndexError, ValueError):
        return False


class _TorchModule(types.ModuleType):
    """A torch module name over gpuarr objects: attribute reads go to the targets in order,
    writes to the target that has the name, and unknown names raise :class:`MissingTorchAPI`.
    A stub is one without targets."""

    def __init__(self, name: str, targets: Sequence[Any]) -> None:
        super().__init__(name)
        object.__setattr__(self, "_gpuarr_targets", tuple(targets))

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        full = f"{self.__name__}.{attr}"
        if full in TORCH_MODULES and not self._has_function(attr):
            return importlib.import_module(full)
        for t in self._gpuarr_targets:
            try:
                val = getattr(t, attr)
            except AttributeError:
                continue
            if isinstance(val, types.ModuleType):
                return importlib.import_module(full)  # torch's name for that submodule
            if not isinstance(val, _PLAIN):  # functions, classes, dtypes: read once
                object.__setattr__(self, attr, val)
            return val
        if self.__name__ == "torch" and full in _KNOWN:
            return importlib.import_module(full)  # torch.sparse & co: a stub module
        if _in_from_import(1):
            raise MissingTorchImport(full)
        raise MissingTorchAPI(full)

    def _has_function(self, attr: str) -> bool:
        """Whether a target has a function ``attr``: then that function keeps the name when a
        submodule of the same name is imported, as in torch (``torch.multiprocessing.spawn``
        is the function, ``import torch.multiprocessing.spawn`` notwithstanding)."""
        return any(isinstance(getattr(t, attr, None), types.FunctionType)
                   for t in self._gpuarr_targets)

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr.startswith("__") or attr.startswith("_gpuarr") or isinstance(
                value, types.ModuleType):
            if isinstance(value, types.ModuleType) and self._has_function(attr):
                return
            object.__setattr__(self, attr, value)  # module machinery, submodules
            return
        self.__dict__.pop(attr, None)
        targets = self._gpuarr_targets
        for t in targets:
            if hasattr(t, attr):
                setattr(t, attr, value)
                return
        if targets:
            setattr(targets[0], attr, value)
        else:
            object.__setattr__(self, attr, value)

    def __dir__(self) -> list[str]:
        names = set(self.__dict__)
        for t in self._gpuarr_targets:
            names.update(n for n in dir(t) if not n.startswith("_"))
        return sorted(names)

    def __repr__(self) -> str:
        targets = [getattr(t, "__name__", type(t).__name__) for t in self._gpuarr_targets]
        what = f"gpuarr alias of {', '.join(targets)}" if targets else "not in gpuarr"
        return f"<module {self.__name__!r} ({what})>"


class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch`` and ``torch.*`` and builds their alias modules."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        if fullname not in _KNOWN and fullname not in TORCH_MODULES and not _has_module_target(
                fullname):
            raise MissingTorchModule(fullname)
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec) -> _TorchModule:
        targets = [t for t in (_resolve(s) for s in _specs(spec.name)) if t is not None]
        mod = _TorchModule(spec.name, targets)
        if spec.name in ("torch", "torch.version"):
            object.__setattr__(mod, "__version__", _torch_version())
        if spec.name == "torch":
            object.__setattr__(mod, "__gpuarr__", True)
        return mod

    def exec_module(self, module) -> None:
        pass


# --------------------------------------------------------------------------------------------
# Tensor methods gpuarr lacks, named while the hook is installed


def _tensor_getattr(self, name: str):
    if name.startswith("_"):
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    raise MissingTorchAPI(f"torch.Tensor.{name}")


# --------------------------------------------------------------------------------------------
# spawn / forkserver children: install the hook before the program's modules are imported


class _Reinstall:
    """Unpickled first in a spawned child's preparation data: installs the hook there."""

    def __reduce__(self):
        return (install, ())


def _patched_preparation(orig):
    def get_preparation_data(name):
        d = orig(name)
        d["gpuarr_run_torch"] = _Reinstall()  # spawn.prepare() ignores keys it does not know
        return d

    get_preparation_data._gpuarr_orig = orig
    return get_preparation_data


# --------------------------------------------------------------------------------------------
# install / uninstall

_finder = _TorchFinder()
_saved: dict[str, types.ModuleType] = {}


def is_installed() -> bool:
    """Whether the torch import hook is active in this process.

    Returns:
        True between :func:`install` and :func:`uninstall`.
    """
    return _finder in sys.meta_path


def install() -> None:
    """Make ``import torch`` (and every ``torch.*`` module) resolve to gpuarr in this process.

    Torch modules already imported are set aside (restored by :func:`uninstall`); gpuarr's
    Tensor names its missing methods; dtypes, ``Size`` and layouts print as torch's
    (``torch.float32``); children started by 'spawn' or 'forkserver' install
    the hook too. Calling it twice is harmless.

    Example:
        >>> gpuarr.run_torch.install()
        >>> import torch; torch.ones(2)
        tensor([1., 1.])
    """
    if is_installed():
        return
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        _saved[name] = sys.modules.pop(name)
    sys.meta_path.insert(0, _finder)
    repr_module[0] = "torch"
    if "__getattr__" not in vars(Tensor):
        Tensor.__getattr__ = _tensor_getattr
    if not hasattr(mp_spawn.get_preparation_data, "_gpuarr_orig"):
        mp_spawn.get_preparation_data = _patched_preparation(mp_spawn.get_preparation_data)


def uninstall() -> None:
    """Undo :func:`install`: drop the alias modules and put back any torch modules that were
    imported before."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        if isinstance(sys.modules[name], _TorchModule):
            del sys.modules[name]
    sys.modules.update(_saved)
    _saved.clear()
    repr_module[0] = "gpuarr"
    if vars(Tensor).get("__getattr__") is _tensor_getattr:
        del Tensor.__getattr__
    orig = getattr(mp_spawn.get_preparation_data, "_gpuarr_orig", None)
    if orig is not None:
        mp_spawn.get_preparation_data = orig


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """The hook inside a ``with`` block (for tests and notebooks); see :func:`install`.

    Example:
        >>> with gpuarr.run_torch.installed():
        ...     import torch
        ...     assert torch.Tensor is gpuarr.Tensor
    """
    was = is_installed()
    install()
    try:
        yield
    finally:
        if not was:
            uninstall()


# --------------------------------------------------------------------------------------------
# the command line

_USAGE = """usage: python -m gpuarr.run_torch script.py [args...]
       python -m gpuarr.run_torch -m module [args...]
       python -m gpuarr.run_torch -c command [args...]

Run a PyTorch program on gpuarr: `import torch` resolves to gpuarr's modules."""


def main(argv: Sequence[str] | None = None) -> None:
    """Install the hook and run a program as ``__main__``, as ``python`` would.

    Args:
        argv: the arguments after ``python -m gpuarr.run_torch`` (default ``sys.argv[1:]``):
            ``script.py args...``, ``-m module args...`` or ``-c command args...``.

    Raises:
        SystemExit: with status 2 and the usage text when no program is given.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stderr if not args else sys.stdout)
        raise SystemExit(2 if not args else 0)
    if args[0] in ("-m", "-c") and len(args) < 2:
        print(f"Argument expected for the {args[0]} option\n\n{_USAGE}", file=sys.stderr)
        raise SystemExit(2)
    install()
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]  # runpy puts the module's path in argv[0]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        main_mod = types.ModuleType("__main__")
        sys.modules["__main__"] = main_mod
        exec(compile(args[1], "<string>", "exec"), main_mod.__dict__)  # noqa: S102
    else:
        path = args[0]
        sys.argv = list(args)
        sys.path[0] = os.path.dirname(os.path.abspath(path))
        runpy.run_path(path, run_name="__main__")


if __name__ == "__main__":
    # run the importable module's main, so the program sees one gpuarr.run_torch (one set of
    # exception classes) whether it imports it or not
    from gpuarr.run_torch import main as _main

    _main()
