"""cupy_backends.cuda.api (CuPy stand-in)."""
