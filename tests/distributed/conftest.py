"""``mpirun -n 2 python -m pytest tests/distributed``: every rank runs the same tests in the same
order, only rank 0 writes to the terminal (the others to ``$GPUARR_DIST_LOG_DIR/rank<r>.log``),
and a rank stuck in a collective ends the job instead of hanging (see ``tests/mpi_ranks.py``).

Outside ``mpirun`` (the ordinary run) this does nothing; ``test_dist_launch.py`` launches the MPI
runs itself.
"""

from mpi_ranks import *  # noqa: F403
