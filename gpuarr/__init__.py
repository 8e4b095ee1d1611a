"""gpuarr: a lightweight PyTorch-flavoured tensor library on NumPy (CPU) and CuPy (CUDA).

Example:
    >>> import gpuarr
    >>> x = gpuarr.arange(6, dtype=gpuarr.float32).view(2, 3).requires_grad_()
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[ 0.,  2.,  4.],
            [ 6.,  8., 10.]])
"""

from __future__ import annotations

import warnings as _warnings

from . import _dtype, autograd, cuda
from ._creation import *  # noqa: F403
from ._creation import range_ as range  # noqa: A004
from ._device import device
from ._dtype import (
    bfloat16,
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ._tensor import Size, Tensor
from .storage import *  # noqa: F403 - UntypedStorage, TypedStorage, from_file, FloatStorage...
from ._tensor_str import get_printoptions, printoptions, set_printoptions
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops.activation import *  # noqa: F403
from .ops.complex_ops import *  # noqa: F403
from .ops.conversion import clone
from .ops.counting import *  # noqa: F403
from .ops.elementwise import *  # noqa: F403
from .ops.elementwise_extra import *  # noqa: F403
from .ops.indexing import *  # noqa: F403
from .ops.indexing_extra import *  # noqa: F403
from .ops.linalg_extra import *  # noqa: F403
from .ops.lobpcg import lobpcg
from .ops.lowrank import *  # noqa: F403
from .ops.matmul import *  # noqa: F403
from .ops.matrix_functions import *  # noqa: F403
from .ops.misc_ops import *  # noqa: F403
from .ops.native_nn import *  # noqa: F403
from .ops.random import *  # noqa: F403
from .ops.reduction import *  # noqa: F403
from .ops.sampling import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .ops.shape_extra import *  # noqa: F403
from .ops.sorting import *  # noqa: F403
from .ops.stacking import *  # noqa: F403
from .ops.stats import *  # noqa: F403
from .ops.tensor_extra import *  # noqa: F403
from .ops.tensor_info import *  # noqa: F403
from .ops import complex_grads as _complex_grads  # noqa: F401 - marks the complex-ready ops
from .serialization import load, save

# Subpackages, importable as gpuarr.nn etc. (none of them imports CuPy, torch or TensorFlow).
from . import distributed, distributions, fft, func, linalg, nn, optim, random, special, utils
from . import vision
from .func import vmap

# Mixed precision: gpuarr.amp, gpuarr.autocast, and torch's deprecated cuda/cpu spellings.
from . import amp, cpu
from .amp.autocast_mode import (
    autocast,
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from .cuda import amp as _cuda_amp  # noqa: F401 - makes gpuarr.cuda.amp an attribute
from .ops.special import digamma, erf, erfinv, lgamma, polygamma, xlogy
from .ops.spectral import istft, stft

# What torch programs call at the top (device and backend probes, compile, legacy constructors).
from . import accelerator, onnx
from ._compile import compile  # noqa: A004
from .backends.oom import OutOfMemoryError
from ._threads import (
    get_num_interop_threads,
    get_num_threads,
    set_num_interop_threads,
    set_num_threads,
)
from . import jit, multiprocessing, return_types, testing
from ._torch_aliases import *  # noqa: F403
from ._legacy_tensors import *  # noqa: F403
from ._torch_backends import (
    are_deterministic_algorithms_enabled,
    get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)
# torch.cond / torch.while_loop (run eagerly), the sym_* helpers, get_device_module,
# empty_permuted and the legacy autocast setters.
from ._control_flow import cond, while_loop
from ._sym import (
    sym_constrain_range,
    sym_constrain_range_for_size,
    sym_float,
    sym_fresh_size,
    sym_int,
    sym_ite,
    sym_max,
    sym_min,
    sym_not,
    sym_sqrt,
    sym_sum,
)
from ._toplevel_extra import (
    empty_permuted,
    get_device_module,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_gpu_dtype,
)

# torch's out= keyword on the public functions that take it in torch (see ops/_out.py); the
# ops modules keep their plain functions, so gpuarr's internal calls never pay for the wrapper.
from .ops import _out as _out_param

_out_param.install(globals(), _out_param.TOP_LEVEL)
_out_param.install(globals(), _out_param.CREATION, creation=True)
_out_param.install(linalg.__dict__, _out_param.LINALG, prefix="linalg.")
_out_param.install(special.__dict__, _out_param.SPECIAL, prefix="special.")

__version__ = "0.1.0"

# Like torch, gpuarr returns inf/nan for log(0), 0/0 and overflow without warning. NumPy would
# warn from inside gpuarr's own modules; silence exactly those (a per-call np.errstate would cost
# microseconds on every op).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"gpuarr(\.|$)")


def is_tensor(obj) -> bool:
    """True if ``obj`` is a gpuarr Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """Number of elements of ``input``."""
    return input.numel()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype an op on the two operands (tensors or numbers) would return."""
    return _dtype.result_type(tensor1, tensor2)


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether torch's casting rules allow ``from_`` -> ``to`` in in-place ops."""
    return _dtype.can_cast(from_, to)
