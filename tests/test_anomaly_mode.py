"""Autograd anomaly mode (detect_anomaly, set_detect_anomaly, the anomaly_mode switches) side
by side with torch's: the warnings, the NaN error, the forward traceback, nesting."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.autograd import anomaly_mode

ENABLED_TEXT = ("Anomaly Detection has been enabled. This mode will increase the runtime and "
                "should only be enabled for debugging.")


@pytest.fixture(autouse=True)
def _mode_off():
    """Every test starts and ends with anomaly detection off in both libraries."""
    anomaly_mode.set_anomaly_enabled(False)
    torch.set_anomaly_enabled(False)
    yield
    anomaly_mode.set_anomaly_enabled(False)
    torch.set_anomaly_enabled(False)


def _run(lib, make, backward):
    """(error text or None, [warning texts]) of building a graph with ``make`` inside
    ``detect_anomaly`` and running ``backward`` on it."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        err = None
        with lib.autograd.detect_anomaly():
            out = make()
            try:
                backward(out)
            except RuntimeError as e:
                err = str(e)
    return err, [(x.category, str(x.message)) for x in w]


def _nan_mul(lib, device):
    x = lib.tensor([0.0, 1.0], requires_grad=True, **({"device": device} if device else {}))
    return x * float("nan")


def test_nan_in_backward_raises_like_torch(device):
    gerr, gw = _run(gpuarr, lambda: _nan_mul(gpuarr, device), lambda y: y.sum().backward())
    terr, tw = _run(torch, lambda: _nan_mul(torch, None), lambda y: y.sum().backward())
    assert gerr == terr == "Function 'MulBackward0' returned nan values in its 0th output."
    assert gw[0] == tw[0] == (UserWarning, ENABLED_TEXT)
    assert gw[1][0] is tw[1][0] is UserWarning
    head = "Error detected in MulBackward0. Traceback of forward call that caused the error:\n"
    assert gw[1][1].startswith(head) and tw[1][1].startswith(head)
    # the traceback ends at this file's line that built the node (not inside gpuarr)
    assert __file__ in gw[1][1].splitlines()[-2]
    assert "return x * float(\"nan\")" in gw[1][1]


def test_index_of_the_nan_output():
    def make(lib):
        a = lib.tensor([1.0], requires_grad=True)
        b = lib.tensor([float("inf")], requires_grad=True)
        return a * b  # d/da = b = inf (fine), d/db = a... ; grad wrt a is inf*g, b gets a*g

    def back(y):
        y.backward(torch.tensor([0.0]) if isinstance(y, torch.Tensor) else gpuarr.tensor([0.0]))

    gerr, _ = _run(gpuarr, lambda: make(gpuarr), back)
    terr, _ = _run(torch, lambda: make(torch), back)
    assert gerr == terr == "Function 'MulBackward0' returned nan values in its 0th output."

    def make1(lib):
        a = lib.tensor([float("inf")])
        b = lib.tensor([1.0], requires_grad=True)
        return a * b

    gerr, _ = _run(gpuarr, lambda: make1(gpuarr), back)
    terr, _ = _run(torch, lambda: make1(torch), back)
    assert gerr == terr == "Function 'MulBackward0' returned nan values in its 1th output."


def test_general_path_ops_and_user_functions_keep_their_traceback():
    class Boom(gpuarr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            raise RuntimeError("Some error in backward")

    x = gpuarr.randn(3, requires_grad=True)
    err, w = _run(gpuarr, lambda: Boom.apply(x).sum(0), lambda y: y.backward())
    assert err == "Some error in backward"
    assert w[1][1].startswith("Error detected in BoomBackward. Traceback of forward call")
    assert "Boom.apply(x)" in w[1][1]


def test_no_error_without_the_mode(device):
    for lib, dev in ((gpuarr, device), (torch, None)):
        x = lib.tensor([0.0], requires_grad=True, **({"device": dev} if dev else {}))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning either
            (x * float("nan")).sum().backward()
        assert np.isnan(x.grad.cpu().numpy()).all()


def test_check_nan_false_only_records():
    for lib in (gpuarr, torch):
        x = lib.tensor([0.0], requires_grad=True)
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            mode = lib.autograd.detect_anomaly(check_nan=False)
        is_on = anomaly_mode if lib is gpuarr else torch
        with mode:
            assert is_on.is_anomaly_enabled() and not is_on.is_anomaly_check_nan_enabled()
            (x * float("nan")).sum().backward()
        assert np.isnan(x.grad.numpy()).all()


def test_node_recorded_outside_the_mode_has_no_forward_information():
    for lib in (gpuarr, torch):
        x = lib.tensor([0.0], requires_grad=True)
        y = (x * float("nan")).sum()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with lib.autograd.set_detect_anomaly(True), pytest.raises(RuntimeError):
                y.backward()
        assert str(w[-1].message).startswith(
            "Error detected in MulBackward0. No forward pass information available. Enable "
            "detect anomaly during forward pass for more information.")


@pytest.mark.parametrize("lib", ["gpuarr", "torch"])
def test_switches_nesting_and_restoring(lib):
    g, ag = (anomaly_mode, gpuarr.autograd) if lib == "gpuarr" else (torch, torch.autograd)

    def state():
        return g.is_anomaly_enabled(), g.is_anomaly_check_nan_enabled()

    assert state() == (False, True)
    with pytest.warns(UserWarning):
        outer = ag.detect_anomaly(check_nan=False)
    assert state() == (False, True)  # made, not entered
    with outer:
        assert state() == (True, False)
        with ag.set_detect_anomaly(False):
            assert state() == (False, True)
        with pytest.warns(UserWarning), ag.detect_anomaly():
            assert state() == (True, True)
        assert state() == (True, False)
    assert state() == (False, True)
    ag.set_detect_anomaly(True, check_nan=False)  # as a plain call it stays set
    assert state() == (True, False)
    g.set_anomaly_enabled(False)
    assert state() == (False, True)


def test_module_layout():
    assert gpuarr.autograd.anomaly_mode is anomaly_mode
    assert anomaly_mode.__all__ == torch.autograd.anomaly_mode.__all__


def test_detect_anomaly_as_a_decorator():
    with pytest.warns(UserWarning):
        deco = gpuarr.autograd.detect_anomaly()

    @deco
    def step(x):
        assert anomaly_mode.is_anomaly_enabled()
        (x * float("nan")).sum().backward()

    with pytest.raises(RuntimeError, match="returned nan values"), pytest.warns(UserWarning):
        step(gpuarr.tensor([1.0], requires_grad=True))
    assert not anomaly_mode.is_anomaly_enabled()


def test_results_unchanged_with_the_mode_on(device):
    x = gpuarr.randn(4, 3, device=device, requires_grad=True)
    w = gpuarr.randn(3, 2, device=device, requires_grad=True)
    (x @ w).tanh().sum().backward()
    ref = (x.grad.cpu().numpy(), w.grad.cpu().numpy())
    x.grad = w.grad = None
    with pytest.warns(UserWarning):
        mode = gpuarr.autograd.detect_anomaly()
    with mode:
        y = (x @ w).tanh().sum()
        gx, = gpuarr.autograd.grad(y, x, create_graph=True)
        gx.sum().backward()
    x.grad = w.grad = None
    with mode:
        (x @ w).tanh().sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), ref[0], rtol=1e-6)
    np.testing.assert_allclose(w.grad.cpu().numpy(), ref[1], rtol=1e-6)
