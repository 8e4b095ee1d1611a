"""torch.cuda's smaller queries: the GPU architectures kernels can be built for, peer access,
the sync debug mode, what NVML (``nvidia-ml-py``) reports about a GPU (utilization,
temperature, power, clock, memory), TF32 support and the ``has_half`` / ``has_magma`` flags.

The NVML functions need the ``pynvml`` module of ``nvidia-ml-py``, as torch's do, and raise
torch's ModuleNotFoundError without it. They find the GPU by its PCI bus id, so
``CUDA_VISIBLE_DEVICES`` (indices or UUIDs) is taken into account.

Example:
    >>> gpuarr.cuda.get_arch_list()[-1]
    'sm_90'
    >>> gpuarr.cuda.can_device_access_peer(0, 1)
    True
"""

from __future__ import annotations

import warnings

from ..backends import cuda_backend, sync_debug
from ._devices import _available, _device_count, _index, _resolved
from .properties import get_device_capability

__all__ = ["get_arch_list", "get_gencode_flags", "set_sync_debug_mode", "get_sync_debug_mode",
           "can_device_access_peer", "utilization", "temperature", "power_draw", "clock_rate",
           "device_memory_used", "is_tf32_supported", "has_half", "has_magma"]

has_half: bool = True  # CUDA tensors can be float16
has_magma: bool = False  # gpuarr's CUDA linear algebra is CuPy's cuSOLVER, never MAGMA

_SYNC_MODES = {"default": 0, "warn": 1, "error": 2}
_notice_given = False  # torch's "prototype feature" notice, given once per process


def get_arch_list() -> list[str]:
    """The GPU architectures gpuarr's CUDA kernels can be built for.

    torch lists the architectures its binary was compiled for; gpuarr's kernels are compiled at
    run time by NVRTC, so these are the ones this NVRTC supports, in torch's spelling. Empty
    when CUDA is not usable.

    Returns:
        e.g. ``['sm_50', ..., 'sm_90']``.

    Example:
        >>> "sm_90" in gpuarr.cuda.get_arch_list()
        True
    """
    if not _available():
        return []
    return [f"sm_{a}" for a in cuda_backend().nvrtc_archs()]


def get_gencode_flags() -> str:
    """NVCC ``-gencode`` flags for :func:`get_arch_list`'s architectures, as torch writes them
    ('' when there are none).

    Returns:
        e.g. ``'-gencode compute=compute_90,code=sm_90'`` for ``['sm_90']``.
    """
    parts = [arch.split("_") for arch in get_arch_list()]
    return " ".join(f"-gencode compute=compute_{arch},code={kind}_{arch}"
                    for kind, arch in parts)


def set_sync_debug_mode(debug_mode: int | str) -> None:
    """Make operations that wait for a CUDA device warn or raise: torch's sync debug mode.

    With 1 / "warn" each synchronizing operation issues a UserWarning "called a synchronizing
    CUDA operation" (naming the caller's line), with 2 / "error" it raises a RuntimeError
    with that text before it waits; 0 / "default" reports nothing. The mode is global to the
    process, as in torch. The first call warns once, as torch does, that not every
    synchronizing operation is detected.

    What reports: reading CUDA data to the host (``.item()``, ``.tolist()``, ``bool(t)``,
    ``int(t)``/``float(t)``, ``.cpu()``, ``.to('cpu')``, ``.numpy(force=True)``, printing);
    ops whose output size depends on the data (``nonzero``, ``argwhere``, boolean-mask
    indexing and assignment, ``masked_select``, ``unique``, ``bincount``, ``histc``,
    ``repeat_interleave`` with a tensor of repeats, ``one_hot`` without ``num_classes``,
    ``multinomial``); value checks that torch also makes on the host (``cov``'s weights,
    ``prod``'s backward looking for zeros, ...); linear-algebra calls that check for a failed
    factorisation (``linalg.inv``, ``cholesky``, ``solve``, ...). Explicit waits
    (:func:`gpuarr.cuda.synchronize`, ``Stream.synchronize``, ``Event.synchronize``) never
    report, as in torch. As torch warns, the mode is a debugging aid, not a proof: a wait
    inside a CuPy routine that gpuarr does not know of goes unreported.

    Where gpuarr differs from torch: indexing with an integer CUDA tensor (and
    ``index_select``, ``gather``, ``scatter``, ``embedding``, ...) checks the indices on the
    host, so it reports where torch checks on the device and does not; so do the class
    targets of ``nll_loss`` / ``cross_entropy``, and the few ops
    that gpuarr runs on the host on CUDA (``scatter_reduce`` with "prod", and "amax"/"amin"
    for float16 and small integer dtypes), ``get_rng_state`` of a CUDA generator (its state
    lives on the device), ``fill_`` with a CUDA tensor value, ``repeat_interleave`` even with
    ``output_size``, ``one_hot`` with ``num_classes`` (the classes are checked),
    ``binary_cross_entropy``'s input range check, integer division (a zero divisor is looked
    for, as torch does on the CPU only), ``mode``, and the ``_ex`` linear-algebra variants
    (``inv_ex``, ``cholesky_ex``), which share the checked solvers. Host-to-device copies
    (``torch.tensor(..., device='cuda')``, ``.cuda()``) never report: CuPy stages them through
    pinned memory without waiting, where torch waits and reports.

    Args:
        debug_mode: an int in 0..2, or "default", "warn" or "error".

    Raises:
        RuntimeError: for an invalid mode, or when CUDA cannot be used (saying why).

    Example:
        >>> gpuarr.cuda.set_sync_debug_mode("warn")
        >>> gpuarr.ones(3, device="cuda").sum().item()  # UserWarning: called a synchronizing...
        3.0
        >>> gpuarr.cuda.set_sync_debug_mode(0)
    """
    global _notice_given
    cuda_backend()  # torch initialises CUDA first: unusable CUDA raises, saying why
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`")
        debug_mode = _SYNC_MODES[debug_mode]
    if not _notice_given:  # torch's once-per-process notice, before it checks the int
        _notice_given = True
        warnings.warn("Synchronization debug mode is a prototype feature and does not yet "
                      "detect all synchronizing operations", UserWarning, stacklevel=2)
    if isinstance(debug_mode, bool) or not hasattr(debug_mode, "__index__"):
        raise RuntimeError("invalid argument to set_sync_debug_mode")
    debug_mode = debug_mode.__index__()
    if not 0 <= debug_mode <= 2:
        raise RuntimeError("invalid value of debug_mode, expected one of 0,1,2")
    sync_debug.mode = debug_mode


def get_sync_debug_mode() -> int:
    """The sync debug mode :func:`set_sync_debug_mode` set (0 by default).

    Returns:
        0, 1 or 2.

    Example:
        >>> gpuarr.cuda.get_sync_debug_mode()
        0
    """
    cuda_backend()
    return sync_debug.mode


def can_device_access_peer(device, peer_device) -> bool:
    """Whether ``device`` can access ``peer_device``'s memory directly (CUDA peer access).

    Args:
        device: an index, 'cuda:N', a gpuarr.device, or None (the current device).
        peer_device: an index, 'cuda:N' or a gpuarr.device with an index.

    Returns:
        What the driver answers (False for a device and itself, as in torch).

    Example:
        >>> gpuarr.cuda.can_device_access_peer(0, 1)
        True
    """
    bk = cuda_backend()
    idx = _resolved(device)
    peer = _index(peer_device)
    if peer is None:
        raise ValueError("Expected a torch.device with a specified index or an integer, "
                         f"but got:{peer_device}")
    n = _device_count()
    if not 0 <= idx < n:
        raise AssertionError("Invalid device id")
    if not 0 <= peer < n:
        raise AssertionError("Invalid peer device id")
    return bool(bk.xp.cuda.runtime.deviceCanAccessPeer(idx, peer))


def is_tf32_supported() -> bool:
    """Whether the current CUDA device computes in TF32 natively (compute capability 8.0 or
    newer, the devices torch answers True for). False when CUDA is not usable.

    Returns:
        True on Ampere and newer GPUs.
    """
    return _available() and get_device_capability() >= (8, 0)


# ---- NVML ----

def _nvml():
    """The ``pynvml`` module, initialised; torch's errors without it or without a driver."""
    try:
        import pynvml
    except ImportError as e:
        raise ModuleNotFoundError(
            "nvidia-ml-py does not seem to be installed or it can't be imported.") from e
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_DriverNotLoaded as e:
        raise RuntimeError("cuda driver can't be loaded, is cuda enabled?") from e
    return pynvml


def _nvml_handle(nvml, device):
    """NVML's handle of CUDA device ``device``, found by its PCI bus id: NVML numbers all the
    machine's GPUs, CUDA only the visible ones."""
    bus_id = cuda_backend().xp.cuda.Device(_resolved(device)).pci_bus_id
    return nvml.nvmlDeviceGetHandleByPciBusId(bus_id)


def _nvml_query(device, query):
    nvml = _nvml()
    return query(nvml, _nvml_handle(nvml, device))


def utilization(device=None) -> int:
    """Percent of the last sample period (1/6 s to 1 s) in which a kernel ran on the GPU, as
    ``nvidia-smi`` reports it.

    Args:
        device: the device (None: the current one).

    Returns:
        0..100.
    """
    return _nvml_query(device, lambda nv, h: nv.nvmlDeviceGetUtilizationRates(h).gpu)


def temperature(device=None) -> int:
    """Temperature of the GPU die in degrees Celsius, as ``nvidia-smi`` reports it.

    Args:
        device: the device (None: the current one).

    Returns:
        Degrees C.
    """
    return _nvml_query(device, lambda nv, h: nv.nvmlDeviceGetTemperature(h, 0))  # 0: the die


def power_draw(device=None) -> int:
    """Average power draw of the GPU over the last sample period in milliwatts.

    Args:
        device: the device (None: the current one).

    Returns:
        mW.
    """
    return _nvml_query(device, lambda nv, h: nv.nvmlDeviceGetPowerUsage(h))


def clock_rate(device=None) -> int:
    """Clock speed of the GPU's SMs in MHz, as ``nvidia-smi`` reports it.

    Args:
        device: the device (None: the current one).

    Returns:
        MHz.
    """
    return _nvml_query(device, lambda nv, h: nv.nvmlDeviceGetClockInfo(h, 1))  # 1: NVML_CLOCK_SM


def device_memory_used(device=None) -> int:
    """Device memory in use on the GPU (all processes), in bytes, as ``nvidia-smi`` reports it.

    Args:
        device: the device (None: the current one).

    Returns:
        Bytes.
    """
    return _nvml_query(device, lambda nv, h: nv.nvmlDeviceGetMemoryInfo(h).used)


def _gpu_processes(device) -> str:
    """:func:`gpuarr.cuda.list_gpu_processes`'s text (see there)."""
    try:
        nvml = _nvml()
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    except RuntimeError:
        return "cuda driver can't be loaded, is cuda enabled?"
    handle = _nvml_handle(nvml, device)
    lines = [f"GPU:{nvml.nvmlDeviceGetIndex(handle)}"]
    procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        lines.append(f"process {p.pid:>10d} uses {p.usedGpuMemory / (1024 * 1024):>12.3f} MB "
                     "GPU memory")
    return "\n".join(lines)
