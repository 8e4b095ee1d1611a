"""Builds gpuarr's one optional C extension; everything else is in pyproject.toml.

``gpuarr.backends._cpu_kernels`` fuses a few small-array hot spots of the CPU backend (see
gpuarr/backends/cpu_native.py). It is optional: without a C compiler the install still
succeeds and gpuarr runs the same operations as NumPy calls.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gpuarr.backends._cpu_kernels",
            sources=["gpuarr/backends/_cpu_kernels.c"],
            optional=True,  # a failed build warns and installs the rest
        )
    ]
)
