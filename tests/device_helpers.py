"""Device helpers shared by the test directories (import as ``from device_helpers import ...``,
as the per-directory ``ops_helpers`` / ``nn_helpers`` are)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

import gpuarr


def resolved(device) -> gpuarr.device:
    """The concrete device a tensor made with ``device=device`` must land on, resolved as torch
    does it: ``'cuda'`` (no index) means ``cuda:N``, N the current CUDA device; ``'cpu'`` and
    explicit indices stay as they are.

    Compare tensor devices against this, not against ``gpuarr.device(device)``: as in torch,
    ``device('cuda')`` (index None) never equals a tensor's ``cuda:0``. The index comes from
    ``gpuarr.cuda.current_device()``, not from where some tensor landed, so a tensor on
    another GPU or on the CPU still fails the comparison.
    """
    d = gpuarr.device(device)
    if d.type == "cuda" and d.index is None:
        return gpuarr.device("cuda", gpuarr.cuda.current_device())
    return d


def same_outcome(gcall: Callable, tcall: Callable, check: Callable,
                 message: Callable[[str], str] = lambda m: m.replace("torch.", "gpuarr.")):
    """Run torch's call, then gpuarr's (warnings silenced): gpuarr's result must pass
    ``check(gpuarr_result, torch_result)``, or, when torch raises, gpuarr must raise the same
    exception type with the text ``message(torch's text)``.

    Returns:
        ``(gpuarr_result, torch_result)``, or ``(None, None)`` when torch raised.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t = tcall()
        except Exception as e:  # noqa: BLE001 - any torch error must be matched
            with pytest.raises(type(e)) as info:
                gcall()
            assert str(info.value) == message(str(e)), (str(info.value), str(e))
            return None, None
        g = gcall()
    check(g, t)
    return g, t
