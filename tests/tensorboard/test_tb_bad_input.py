"""Bad input raises a clear error at the call and leaves nothing half-written behind."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from tb_helpers import accumulate, run_events, summary_events

from gpuarr.tensorboard import SummaryWriter


def _assert_nothing_logged(writer):
    writer.flush()
    assert summary_events(writer.get_logdir()) == []
    subdirs = [d for d in os.listdir(writer.get_logdir())
               if os.path.isdir(os.path.join(writer.get_logdir(), d))]
    assert subdirs == []


@pytest.mark.parametrize(
    "value,exc,match",
    [
        ("0.5", TypeError, "real number"),
        (None, TypeError, "real number"),
        (1 + 2j, TypeError, "real number"),
        ({"a": 1}, TypeError, "dict"),
        (np.array([1.0, 2.0]), ValueError, r"exactly one element, got shape \(2,\)"),
        (torch.ones(2, 2), ValueError, "exactly one element"),
        (np.array(["a"]), TypeError, "real number, got dtype <U1"),
        ([], ValueError, "exactly one element"),
    ],
)
def test_non_numeric_scalar(writer, value, exc, match):
    with pytest.raises(exc, match=match):
        writer.add_scalar("x", value, 0)
    _assert_nothing_logged(writer)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"tag": 3}, TypeError, "tag must be a str"),
        ({"tag": ""}, ValueError, "must not be empty"),
        ({"global_step": 1.5}, ValueError, "global_step must be an integer"),
        ({"global_step": "3"}, TypeError, "global_step"),
        ({"global_step": 2**64}, ValueError, "64 bits"),
        ({"walltime": "now"}, TypeError, "walltime"),
    ],
)
def test_bad_tag_step_walltime(writer, kwargs, exc, match):
    args = {"tag": "x", "scalar_value": 1.0, **kwargs}
    with pytest.raises(exc, match=match):
        writer.add_scalar(**args)
    _assert_nothing_logged(writer)


@pytest.mark.parametrize(
    "values,match",
    [
        (np.array([np.nan, np.nan]), "all 2 values are NaN or infinite"),
        (torch.tensor([float("inf"), float("-inf")]), "NaN or infinite"),
        (np.array([]), "empty"),
    ],
)
def test_histogram_without_finite_values(writer, values, match):
    with pytest.raises(ValueError, match=match):
        writer.add_histogram("h", values, 0)
    _assert_nothing_logged(writer)


@pytest.mark.parametrize(
    "bins,match", [(0, "positive int"), ("nonsense", "invalid bins"), ([3.0, 1.0], "invalid bins")]
)
def test_histogram_bad_bins(writer, bins, match):
    with pytest.raises(ValueError, match=match):
        writer.add_histogram("h", np.arange(10.0), 0, bins=bins)
    _assert_nothing_logged(writer)


def test_histogram_raw_mismatch(writer):
    with pytest.raises(ValueError, match="len\\(bucket_limits\\) != len\\(bucket_counts\\)"):
        writer.add_histogram_raw("h", 0, 1, 2, 1, 1, [0.5, 1.0], [2])
    _assert_nothing_logged(writer)


@pytest.mark.parametrize(
    "img,fmt,exc,match",
    [
        (np.zeros((4, 4)), "CHW", ValueError, r"'CHW' needs a 3-D image, got shape \(4, 4\)"),
        (np.zeros((1, 3, 4, 4)), "CHW", ValueError, "needs a 3-D image"),
        (np.zeros((2, 4, 4)), "CHW", ValueError,
         r"1 \(grey\), 3 \(RGB\) or 4 \(RGBA\) channels, got 2"),
        (np.zeros((4, 4, 5)), "HWC", ValueError, "got 5"),
        (np.zeros((3, 0, 4)), "CHW", ValueError, "empty"),
        (np.zeros((3, 4, 4)), "CXW", ValueError, "invalid dataformats"),
        (np.zeros((3, 4, 4)), "CCW", ValueError, "invalid dataformats"),
        (np.zeros((3, 4, 4)), "NCHW", ValueError, "invalid dataformats"),
        (np.zeros((3, 4, 4), dtype=np.int32), "CHW", TypeError, "uint8"),
        (np.zeros((3, 4, 4), dtype=np.complex64), "CHW", TypeError, "uint8"),
        ("image.png", "CHW", TypeError, "str"),
    ],
)
def test_bad_image(writer, img, fmt, exc, match):
    with pytest.raises(exc, match=match):
        writer.add_image("img", img, 0, dataformats=fmt)
    _assert_nothing_logged(writer)


@pytest.mark.parametrize(
    "img,fmt,match",
    [
        (np.zeros((3, 4, 4)), "NCHW", "needs a 4-D batch"),
        (np.zeros((0, 3, 4, 4)), "NCHW", "batch is empty"),
        (np.zeros((2, 2, 4, 4)), "NCHW", "got 2"),
        (np.zeros((2, 6, 6, 3)), "NCHW", "got 6"),  # NHWC data passed as NCHW
    ],
)
def test_bad_images(writer, img, fmt, match):
    with pytest.raises(ValueError, match=match):
        writer.add_images("imgs", img, 0, dataformats=fmt)
    _assert_nothing_logged(writer)


def test_bad_text_pr_hparams_figure(writer):
    with pytest.raises(TypeError, match="text_string must be a str"):
        writer.add_text("t", 42)
    with pytest.raises(ValueError, match="same number of elements"):
        writer.add_pr_curve("pr", np.ones(3), np.ones(4) / 2)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        writer.add_pr_curve("pr", np.ones(3), np.array([0.1, 1.5, 0.2]))
    with pytest.raises(ValueError, match="num_thresholds must be >= 2"):
        writer.add_pr_curve("pr", np.ones(3), np.ones(3) / 2, num_thresholds=1)
    with pytest.raises(TypeError, match="dictionaries"):
        writer.add_hparams([("lr", 0.1)], {})
    with pytest.raises(ValueError, match="hparam_dict\\['layers'\\] must be"):
        writer.add_hparams({"layers": [1, 2]}, {"m": 1.0})
    with pytest.raises(TypeError, match="same type"):
        writer.add_hparams({"opt": "sgd"}, {"m": 1.0}, hparam_domain_discrete={"opt": [1, 2]})
    with pytest.raises(TypeError, match="real number"):
        writer.add_hparams({"lr": 0.1}, {"m": "high"})
    with pytest.raises(TypeError, match="matplotlib Figure"):
        writer.add_figure("f", np.zeros((3, 4, 4)))
    _assert_nothing_logged(writer)


def test_add_scalars_is_all_or_nothing(writer):
    with pytest.raises(TypeError, match="value of 'b'"):
        writer.add_scalars("loss", {"a": 1.0, "b": "x"}, 0)
    with pytest.raises(TypeError, match="dict"):
        writer.add_scalars("loss", [1.0, 2.0], 0)
    _assert_nothing_logged(writer)  # no sub-run directory was created either


def test_writer_still_works_after_errors(writer):
    with pytest.raises(ValueError):
        writer.add_histogram("h", [float("nan")], 0)
    with pytest.raises(ValueError):
        writer.add_image("i", np.zeros((5, 5, 5)), 0)
    writer.add_scalar("ok", 1.0, 0)
    writer.add_histogram("h", [1.0, 2.0], 0)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    assert acc.Scalars("ok")[0].value == 1.0
    assert acc.Histograms("h")[0].histogram_value.num == 2
    assert all(e.step == 0 for e in run_events(writer.get_logdir()) if e.HasField("summary"))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"max_queue": -1}, "max_queue"),
        ({"flush_secs": 0}, "flush_secs"),
        ({"purge_step": 1.5}, "integer"),
    ],
)
def test_bad_constructor_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SummaryWriter(str(tmp_path / "run"), **kwargs)
    assert not (tmp_path / "run").exists()


def test_closed_writer_message(tmp_path):
    w = SummaryWriter(str(tmp_path))
    w.close()
    for call in (
        lambda: w.add_scalar("x", 1.0),
        lambda: w.add_scalars("x", {"a": 1.0}),
        lambda: w.add_histogram("h", [1.0]),
        lambda: w.add_text("t", "x"),
        lambda: w.add_hparams({}, {}),
    ):
        with pytest.raises(RuntimeError, match=r"is closed; create a new SummaryWriter"):
            call()
