"""What the driver says about a CUDA device: its name, compute capability and properties,
with torch.cuda's names.

Example:
    >>> gpuarr.cuda.get_device_name(0)
    'NVIDIA H200'
    >>> gpuarr.cuda.get_device_capability()
    (9, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backends import cuda_backend
from ._devices import _resolved

__all__ = ["get_device_properties", "get_device_name", "get_device_capability",
           "CudaDeviceProperties"]


@dataclass(frozen=True)
class CudaDeviceProperties:
    """A CUDA device's properties (torch's ``_CudaDeviceProperties`` fields)."""

    name: str
    major: int
    minor: int
    total_memory: int
    multi_processor_count: int
    warp_size: int = 32
    max_threads_per_multi_processor: int = 0
    regs_per_multiprocessor: int = 0
    L2_cache_size: int = 0
    is_integrated: bool = False
    is_multi_gpu_board: bool = False
    pci_bus_id: int = 0
    pci_device_id: int = 0
    pci_domain_id: int = 0
    uuid: str = field(default="")

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count}, uuid={self.uuid}, "
                f"pci_bus_id={self.pci_bus_id}, pci_device_id={self.pci_device_id}, "
                f"pci_domain_id={self.pci_domain_id}, "
                f"L2_cache_size={self.L2_cache_size // (1024 * 1024)}MB)")


def _text(v) -> str:
    return v.decode(errors="replace").rstrip("\x00") if isinstance(v, bytes) else str(v)


def _uuid(raw) -> str:
    if isinstance(raw, (bytes, bytearray)) and len(raw) == 16:
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return _text(raw) if raw else ""


def get_device_properties(device=None) -> CudaDeviceProperties:
    """The properties of a CUDA device.

    Args:
        device: an index, 'cuda:N', a gpuarr.device, or None (the current device).

    Returns:
        A :class:`CudaDeviceProperties`.
    """
    idx = _resolved(device)
    bk = cuda_backend()
    if not 0 <= idx < bk.device_count():
        raise AssertionError("Invalid device id")
    p = bk.device_properties(idx)
    return CudaDeviceProperties(
        name=_text(p["name"]), major=int(p["major"]), minor=int(p["minor"]),
        total_memory=int(p["totalGlobalMem"]),
        multi_processor_count=int(p["multiProcessorCount"]),
        warp_size=int(p.get("warpSize", 32)),
        max_threads_per_multi_processor=int(p.get("maxThreadsPerMultiProcessor", 0)),
        regs_per_multiprocessor=int(p.get("regsPerMultiprocessor", 0)),
        L2_cache_size=int(p.get("l2CacheSize", 0)),
        is_integrated=bool(p.get("integrated", False)),
        is_multi_gpu_board=bool(p.get("isMultiGpuBoard", False)),
        pci_bus_id=int(p.get("pciBusID", 0)), pci_device_id=int(p.get("pciDeviceID", 0)),
        pci_domain_id=int(p.get("pciDomainID", 0)), uuid=_uuid(p.get("uuid", b"")))


def get_device_name(device=None) -> str:
    """The name of a CUDA device (e.g. 'NVIDIA H200').

    Args:
        device: the device (None: the current one).

    Returns:
        The name.
    """
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple[int, int]:
    """The compute capability of a CUDA device.

    Args:
        device: the device (None: the current one).

    Returns:
        ``(major, minor)``, e.g. (9, 0) for an H100/H200.
    """
    p = get_device_properties(device)
    return p.major, p.minor
