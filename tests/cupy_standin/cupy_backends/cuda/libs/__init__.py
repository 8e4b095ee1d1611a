"""cupy_backends.cuda.libs (CuPy stand-in)."""
