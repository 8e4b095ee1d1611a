"""cupy_backends.cuda.api.runtime (CuPy stand-in): the same module object as
``cupy.cuda.runtime``."""

import sys

import cupy

sys.modules[__name__] = cupy.cuda.runtime
