"""Under ``mpirun`` (``test_nccl_standin.py``): only rank 0 reports; see ``tests/mpi_ranks.py``."""

from mpi_ranks import *  # noqa: F403
