"""cupy_backends.cuda (CuPy stand-in)."""
