"""Fixtures for the SummaryWriter tests; helper functions live in tb_helpers.py."""

from __future__ import annotations

import os
import sys

import pytest

# Make tb_helpers importable whatever pytest's import mode is.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def writer(tmp_path):
    """A SummaryWriter on a fresh directory, closed after the test."""
    from gpuarr.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "run"))
    yield w
    w.close()
