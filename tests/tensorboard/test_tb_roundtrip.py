"""Round trips through TensorBoard's EventAccumulator, compared with torch's writer."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import torch
from tb_helpers import accumulate, decode_png, event_files, summary_events
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from gpuarr.tensorboard import SummaryWriter


def _torch_run(path, fn):
    """Run ``fn(writer)`` on torch's SummaryWriter and return the run directory."""
    w = TorchWriter(str(path))
    fn(w)
    w.close()
    return str(path)


# ----------------------------------------------------------------------------- scalars


def test_scalars_values_steps_walltime(writer):
    values = [0.0, 1.5, -2.25, 1e-8, 3e38, math.pi, float("nan"), float("inf")]
    before = time.time()
    for step, v in enumerate(values):
        writer.add_scalar("loss/train", v, step)
    writer.add_scalar("fixed_time", 7.0, global_step=3, walltime=1234.5)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    got = acc.Scalars("loss/train")
    assert [e.step for e in got] == list(range(len(values)))
    expected = np.array(values, dtype=np.float32)  # simple_value is a float32
    np.testing.assert_array_equal(np.array([e.value for e in got], dtype=np.float32), expected)
    assert all(before <= e.wall_time <= time.time() for e in got)
    (fixed,) = acc.Scalars("fixed_time")
    assert (fixed.wall_time, fixed.step, fixed.value) == (1234.5, 3, 7.0)


def test_scalar_input_types(writer):
    inputs = [
        3,
        True,
        np.float16(0.5),
        np.int64(7),
        np.array(2.5),
        np.array([4.5]),
        [5.5],
        torch.tensor(6.5),
        torch.tensor([[7.5]], requires_grad=True),
        torch.tensor(8.5, dtype=torch.bfloat16),
    ]
    for step, x in enumerate(inputs):
        writer.add_scalar("x", x, step)
    writer.flush()
    got = [e.value for e in accumulate(writer.get_logdir()).Scalars("x")]
    assert got == [3.0, 1.0, 0.5, 7.0, 2.5, 4.5, 5.5, 6.5, 7.5, 8.5]


def test_global_step_types(writer):
    for step in [np.int32(4), np.array(5), torch.tensor(6), 7.0, None]:
        writer.add_scalar("s", 1.0, step)
    writer.flush()
    assert [e.step for e in accumulate(writer.get_logdir()).Scalars("s")] == [4, 5, 6, 7, 0]


def test_new_style_scalar(writer):
    writer.add_scalar("t32", 0.1, 1, new_style=True)
    writer.add_scalar("t64", 0.1, 2, new_style=True, double_precision=True)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    (t32,) = acc.Tensors("t32")
    (t64,) = acc.Tensors("t64")
    assert t32.tensor_proto.float_val[0] == np.float32(0.1)
    assert t64.tensor_proto.double_val[0] == 0.1
    assert acc.SummaryMetadata("t32").plugin_data.plugin_name == "scalars"


def test_add_scalars_layout_matches_torch(tmp_path):
    def log(w):
        for step in range(3):
            w.add_scalars("loss/all", {"train": 1.0 + step, "val": 2.0 + step}, step)

    ours = str(tmp_path / "ours")
    with SummaryWriter(ours) as w:
        log(w)
    theirs = _torch_run(tmp_path / "torch", log)
    subdirs = sorted(d for d in os.listdir(ours) if os.path.isdir(os.path.join(ours, d)))
    assert subdirs == ["loss_all_train", "loss_all_val"]
    assert subdirs == sorted(
        d for d in os.listdir(theirs) if os.path.isdir(os.path.join(theirs, d))
    )
    for sub in subdirs:
        a = accumulate(os.path.join(ours, sub))
        b = accumulate(os.path.join(theirs, sub))
        assert a.Tags()["scalars"] == b.Tags()["scalars"] == ["loss/all"]
        assert [(e.step, e.value) for e in a.Scalars("loss/all")] == [
            (e.step, e.value) for e in b.Scalars("loss/all")
        ]
    # all sub-runs of one call share the wall time, as in torch
    t = [accumulate(os.path.join(ours, s)).Scalars("loss/all")[0].wall_time for s in subdirs]
    assert t[0] == t[1]


# ----------------------------------------------------------------------------- histograms


def _histo(acc, tag):
    (event,) = acc.Histograms(tag)
    return event.histogram_value


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).normal(size=5000),
        np.random.default_rng(1).exponential(size=300) * 1e6,
        np.array([0.0, 0.0, 0.0]),
        np.array([-3.5]),
        np.arange(-50, 50, dtype=np.int64),
    ],
    ids=["normal", "exponential", "zeros", "single", "ints"],
)
def test_tensorflow_bins_match_torch(tmp_path, values):
    ours = str(tmp_path / "ours")
    with SummaryWriter(ours) as w:
        w.add_histogram("h", values, 1)
    theirs = _torch_run(tmp_path / "torch", lambda w: w.add_histogram("h", values, 1))
    a, b = _histo(accumulate(ours), "h"), _histo(accumulate(theirs), "h")
    assert list(a.bucket_limit) == list(b.bucket_limit)
    assert list(a.bucket) == list(b.bucket)
    assert (a.min, a.max, a.num) == (b.min, b.max, b.num)
    assert a.sum == pytest.approx(b.sum) and a.sum_squares == pytest.approx(b.sum_squares)


@pytest.mark.parametrize("bins", [10, "auto", "sturges", [-3.0, -1.0, 0.0, 0.5, 4.0]])
def test_numpy_bins_counts_and_edges(writer, bins):
    values = np.random.default_rng(2).normal(size=1000)
    writer.add_histogram("h", torch.from_numpy(values), 5, bins=bins)
    writer.flush()
    h = _histo(accumulate(writer.get_logdir()), "h")
    counts, edges = np.histogram(values, bins=bins)
    nz = np.flatnonzero(counts)
    first, last = nz[0], nz[-1]
    # right limits from the left edge of the first non-empty bin to the last one's right edge
    np.testing.assert_array_equal(h.bucket_limit, edges[first : last + 2])
    np.testing.assert_array_equal(h.bucket[1:], counts[first : last + 1])
    assert h.bucket[0] == 0
    assert h.num == 1000 and sum(h.bucket) == counts.sum()  # explicit edges may drop some
    assert (h.min, h.max) == (values.min(), values.max())
    assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx(values @ values)


def test_histogram_ignores_non_finite_and_max_bins(writer):
    values = np.concatenate([np.linspace(-1, 1, 101), [np.nan, np.inf, -np.inf]])
    writer.add_histogram("h", values, 0, bins=100, max_bins=7)
    writer.add_histogram("huge", np.array([1e25, -1e30, 0.5]), 0)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    h = _histo(acc, "h")
    assert h.num == 101 and (h.min, h.max) == (-1.0, 1.0)
    assert len(h.bucket) <= 7 + 1 and sum(h.bucket) == 101
    huge = _histo(acc, "huge")
    assert sum(huge.bucket) == 3 and huge.max == 1e25  # torch would drop the two outliers


def test_histogram_input_types(writer):
    writer.add_histogram("bf16", torch.arange(8, dtype=torch.bfloat16), 0, bins=4)
    writer.add_histogram("list", [torch.tensor(1.0), torch.tensor(3.0), 2], 0, bins=2)
    writer.add_histogram("nested", [[1, 2], [3, 4]], 0, bins=2)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    assert list(_histo(acc, "bf16").bucket) == [0, 2, 2, 2, 2]
    assert (_histo(acc, "list").num, _histo(acc, "list").max) == (3, 3.0)
    assert _histo(acc, "nested").sum == 10.0


def test_histogram_raw(writer):
    writer.add_histogram_raw(
        "raw", min=0.5, max=9.5, num=6, sum=30.0, sum_squares=200.0,
        bucket_limits=[1.0, 5.0, 10.0], bucket_counts=np.array([1, 2, 3]), global_step=4,
    )
    writer.flush()
    h = _histo(accumulate(writer.get_logdir()), "raw")
    assert list(h.bucket_limit) == [1.0, 5.0, 10.0] and list(h.bucket) == [1, 2, 3]
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (0.5, 9.5, 6, 30.0, 200.0)


# ----------------------------------------------------------------------------- images


def _image(acc, tag):
    (event,) = acc.Images(tag)
    return event, decode_png(event.encoded_image_string)


def test_image_chw_float_exact_pixels(writer):
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (3, 17, 23), dtype=np.uint8)
    writer.add_image("chw", pixels.astype(np.float32) / 255, 2)
    writer.flush()
    event, decoded = _image(accumulate(writer.get_logdir()), "chw")
    assert (event.width, event.height, event.step) == (23, 17, 2)
    np.testing.assert_array_equal(decoded, pixels.transpose(1, 2, 0))


@pytest.mark.parametrize(
    "shape,fmt,to_hwc",
    [
        ((9, 11, 3), "HWC", lambda a: a),
        ((9, 11), "HW", lambda a: np.repeat(a[:, :, None], 3, axis=2)),
        ((1, 9, 11), "CHW", lambda a: np.repeat(a.transpose(1, 2, 0), 3, axis=2)),
        ((4, 9, 11), "CHW", lambda a: a.transpose(1, 2, 0)),
        ((11, 9, 3), "WHC", lambda a: a.transpose(1, 0, 2)),
    ],
)
def test_image_uint8_layouts(writer, shape, fmt, to_hwc):
    pixels = np.random.default_rng(4).integers(0, 256, shape, dtype=np.uint8)
    writer.add_image("img", torch.from_numpy(pixels), 0, dataformats=fmt)
    writer.flush()
    event, decoded = _image(accumulate(writer.get_logdir()), "img")
    expected = to_hwc(pixels)
    assert (event.height, event.width) == expected.shape[:2]
    np.testing.assert_array_equal(decoded, expected)


def test_image_float_scaling_clipping_and_bool(writer):
    img = np.array([[[-0.5, 0.0, 0.5, 1.0, 2.0, np.nan]]], dtype=np.float64)  # 1x1x6 CHW
    writer.add_image("f", img, 0)
    writer.add_image("b", np.array([[True, False]]), 0, dataformats="HW")
    writer.flush()
    acc = accumulate(writer.get_logdir())
    _, f = _image(acc, "f")
    np.testing.assert_array_equal(f[0, :, 0], [0, 0, 128, 255, 255, 0])  # 127.5 rounds to 128
    _, b = _image(acc, "b")
    np.testing.assert_array_equal(b[0, :, 0], [255, 0])


def test_uint8_image_matches_torch(tmp_path):
    pixels = np.random.default_rng(5).integers(0, 256, (3, 12, 10), dtype=np.uint8)
    ours = str(tmp_path / "ours")
    with SummaryWriter(ours) as w:
        w.add_image("img", pixels, 0)
    theirs = _torch_run(tmp_path / "torch", lambda w: w.add_image("img", pixels, 0))
    ea, a = _image(accumulate(ours), "img")
    eb, b = _image(accumulate(theirs), "img")
    np.testing.assert_array_equal(a, b)
    assert (ea.width, ea.height) == (eb.width, eb.height)


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_add_images_grid(writer, fmt):
    rng = np.random.default_rng(6)
    batch = rng.integers(0, 256, (10, 3, 4, 5), dtype=np.uint8)  # 10 images of 4x5
    data = batch if fmt == "NCHW" else batch.transpose(0, 2, 3, 1)
    writer.add_images("grid", data.astype(np.float32) / 255, 1, dataformats=fmt)
    writer.flush()
    event, decoded = _image(accumulate(writer.get_logdir()), "grid")
    assert (event.height, event.width) == (2 * 4, 8 * 5)  # 8 per row, as torch
    for i in range(10):
        row, col = divmod(i, 8)
        tile = decoded[row * 4 : row * 4 + 4, col * 5 : col * 5 + 5]
        np.testing.assert_array_equal(tile, batch[i].transpose(1, 2, 0))
    assert not decoded[4:, 2 * 5 :].any()  # the unused tiles are black


def test_add_images_matches_torch_grid(tmp_path):
    batch = np.random.default_rng(7).integers(0, 256, (5, 3, 6, 7), dtype=np.uint8)
    ours = str(tmp_path / "ours")
    with SummaryWriter(ours) as w:
        w.add_images("g", batch, 0)
    theirs = _torch_run(tmp_path / "torch", lambda w: w.add_images("g", batch, 0))
    ours_px, theirs_px = _image(accumulate(ours), "g")[1], _image(accumulate(theirs), "g")[1]
    np.testing.assert_array_equal(ours_px, theirs_px)


def test_add_figure(writer):
    import matplotlib.pyplot as plt  # headless: pyplot falls back to Agg

    fig = plt.figure(figsize=(2, 1.5), dpi=50)
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0], color="red")
    others = [plt.figure(figsize=(1, 1), dpi=40) for _ in range(2)]
    writer.add_figure("fig", fig, 3)
    writer.add_figure("figs", others, 4, close=False)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    event, pixels = _image(acc, "fig")
    assert (event.width, event.height) == (100, 75)
    assert pixels.shape == (75, 100, 3)
    assert (pixels[..., 0] > 200).any() and (pixels < 50).any()  # red line, black axes
    assert not plt.fignum_exists(fig.number)  # close=True closed it
    assert all(plt.fignum_exists(f.number) for f in others)
    grid, _ = _image(acc, "figs")
    assert (grid.width, grid.height) == (80, 40)
    plt.close("all")


# ----------------------------------------------------------------------------- text, PR, hparams


def test_text(writer):
    writer.add_text("notes", "héllo **wörld** ✓", 7)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    (event,) = acc.Tensors("notes/text_summary")
    assert event.step == 7
    assert event.tensor_proto.string_val[0].decode("utf-8") == "héllo **wörld** ✓"
    assert acc.SummaryMetadata("notes/text_summary").plugin_data.plugin_name == "text"


def test_pr_curve_matches_torch(tmp_path):
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 2, 200)
    predictions = rng.random(200)
    weights = rng.random(200)

    def log(w):
        w.add_pr_curve("pr", labels, predictions, 2, num_thresholds=50)
        w.add_pr_curve("prw", labels, predictions, 2, num_thresholds=300, weights=weights)

    ours = str(tmp_path / "ours")
    with SummaryWriter(ours) as w:
        w.add_pr_curve("pr", torch.from_numpy(labels), torch.from_numpy(predictions), 2,
                       num_thresholds=50)
        w.add_pr_curve("prw", labels, predictions, 2, num_thresholds=300, weights=weights)
    theirs = _torch_run(tmp_path / "torch", log)
    for tag, n in [("pr", 50), ("prw", 127)]:
        (a,) = accumulate(ours).Tensors(tag)
        (b,) = accumulate(theirs).Tensors(tag)
        assert [d.size for d in a.tensor_proto.tensor_shape.dim] == [6, n]
        np.testing.assert_allclose(a.tensor_proto.float_val, b.tensor_proto.float_val, rtol=1e-6)
        assert accumulate(ours).SummaryMetadata(tag).plugin_data.plugin_name == "pr_curves"


def test_hparams(writer):
    from tensorboard.plugins.hparams import plugin_data_pb2

    hparams = {"lr": 0.01, "layers": 3, "optimizer": "adam", "nesterov": True, "skip": None,
               "wd": torch.tensor(0.5)}
    writer.add_hparams(hparams, {"hparam/accuracy": 0.875, "hparam/loss": np.float32(0.25)},
                       hparam_domain_discrete={"optimizer": ["adam", "sgd"]},
                       run_name="trial_1", global_step=9)
    writer.flush()
    run = os.path.join(writer.get_logdir(), "trial_1")
    acc = accumulate(run)
    content = acc.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info",
                            "_hparams_/session_end_info"}
    exp = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [h.name for h in exp.hparam_infos] == ["lr", "layers", "optimizer", "nesterov", "wd"]
    opt = next(h for h in exp.hparam_infos if h.name == "optimizer")
    assert [v.string_value for v in opt.domain_discrete.values] == ["adam", "sgd"]
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/accuracy", "hparam/loss"]
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["lr"].number_value == 0.01
    assert start.hparams["layers"].number_value == 3
    assert start.hparams["optimizer"].string_value == "adam"
    assert start.hparams["nesterov"].bool_value is True
    assert start.hparams["wd"].number_value == 0.5
    assert "skip" not in start.hparams
    (acc_metric,) = acc.Scalars("hparam/accuracy")
    assert (acc_metric.step, acc_metric.value) == (9, 0.875)
    assert acc.Scalars("hparam/loss")[0].value == 0.25


def test_hparams_layout_matches_torch(tmp_path):
    def log(w):
        w.add_hparams({"lr": 0.1, "bs": 32, "opt": "sgd"}, {"hparam/acc": 0.5}, run_name="r")

    ours = str(tmp_path / "ours")
    with SummaryWriter(ours) as w:
        log(w)
    theirs = _torch_run(tmp_path / "torch", log)
    a, b = accumulate(os.path.join(ours, "r")), accumulate(os.path.join(theirs, "r"))
    assert a.Tags()["scalars"] == b.Tags()["scalars"]
    ca, cb = a.PluginTagToContent("hparams"), b.PluginTagToContent("hparams")
    assert ca == cb  # byte-identical plugin data for numbers and strings


def test_hparams_default_run_name_is_a_timestamp(writer):
    before = time.time()
    writer.add_hparams({"a": 1}, {"m": 2.0})
    writer.flush()
    logdir = writer.get_logdir()
    (sub,) = [d for d in os.listdir(logdir) if os.path.isdir(os.path.join(logdir, d))]
    assert before <= float(sub) <= time.time()


# ----------------------------------------------------------------------------- lifecycle


def test_flush_makes_data_readable_without_close(writer):
    for step in range(1000):
        writer.add_scalar("x", float(step), step)
    writer.flush()
    events = summary_events(writer.get_logdir())
    assert [e.step for e in events] == list(range(1000))


def test_flush_secs_writes_in_the_background(tmp_path):
    with SummaryWriter(str(tmp_path), max_queue=1000, flush_secs=0.05) as w:
        w.add_scalar("x", 1.0, 0)
        deadline = time.monotonic() + 20
        while not summary_events(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [e.step for e in summary_events(tmp_path)] == [0]


def test_context_manager_and_closed_writer(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("x", 1.0, 0)
    with pytest.raises(RuntimeError, match="closed"):
        w.add_scalar("x", 2.0, 1)
    with pytest.raises(RuntimeError, match="closed"):
        w.add_image("i", np.zeros((3, 2, 2)), 1)
    w.flush()  # no-ops, as in torch
    w.close()
    assert [e.summary.value[0].simple_value for e in summary_events(tmp_path)] == [1.0]


def test_default_log_dir(tmp_path, monkeypatch):
    import re
    import socket

    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as w:
        w.add_scalar("x", 1.0)
        logdir = w.get_logdir()
    assert os.path.dirname(logdir) == "runs"
    pattern = r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname()) + "_lr0.1"
    assert re.fullmatch(pattern, os.path.basename(logdir))
    assert len(event_files(tmp_path / logdir)) == 1


def test_logging_from_many_threads(writer):
    import threading

    def work(k):
        for step in range(500):
            writer.add_scalar(f"t{k}", float(step), step)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    acc = accumulate(writer.get_logdir())
    for k in range(4):
        assert [e.value for e in acc.Scalars(f"t{k}")] == [float(s) for s in range(500)]


def test_garbage_collected_writer_writes_its_data(tmp_path):
    import gc

    w = SummaryWriter(str(tmp_path), flush_secs=3600)
    w.add_scalar("x", 5.0, 1)
    del w
    gc.collect()
    assert [e.summary.value[0].simple_value for e in summary_events(tmp_path)] == [5.0]


def test_many_images_keep_order(writer):
    rng = np.random.default_rng(9)
    images = rng.integers(0, 256, (20, 3, 8, 8), dtype=np.uint8)
    for step, img in enumerate(images):
        writer.add_image("seq", img, step)
        writer.add_scalar("step", float(step), step)
    writer.flush()
    got = accumulate(writer.get_logdir()).Images("seq")
    assert [e.step for e in got] == list(range(20))
    for e, img in zip(got, images):
        np.testing.assert_array_equal(decode_png(e.encoded_image_string), img.transpose(1, 2, 0))


def test_event_file_count(writer):
    writer.add_scalar("x", 1.0)
    writer.flush()
    assert len(event_files(writer.get_logdir())) == 1
