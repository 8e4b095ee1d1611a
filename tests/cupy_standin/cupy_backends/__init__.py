"""cupy_backends for the CuPy stand-in: ``cuda.api.runtime`` (the stand-in's simulated runtime)
and ``cuda.libs.nvrtc`` (answers a version; compiles nothing)."""
