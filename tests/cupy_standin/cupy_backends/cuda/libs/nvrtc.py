"""cupy_backends.cuda.libs.nvrtc (CuPy stand-in): reports NVRTC 12.9 and compiles nothing
(the stand-in runs ElementwiseKernel bodies with NumPy; ``tests/cuda_compile.py`` compiles them
with the real NVRTC). ``CUPY_SIM_NO_NVRTC=1`` simulates a machine whose NVRTC library is
missing: every call raises as CuPy does when it cannot load libnvrtc."""

import os


class NVRTCError(RuntimeError):
    def __init__(self, status):
        self.status = status
        super().__init__(f"NVRTC_ERROR ({status})")


def _check_loaded():
    if os.environ.get("CUPY_SIM_NO_NVRTC") == "1":
        raise RuntimeError("CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: cannot "
                           "open shared object file: No such file or directory")


def getVersion():
    _check_loaded()
    return (12, 9)


def getSupportedArchs():
    _check_loaded()
    return (50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90)


def _unavailable(*args, **kwargs):
    raise NotImplementedError("cupy stand-in: NVRTC compilation is not available")


createProgram = compileProgram = getPTX = getCUBIN = _unavailable
