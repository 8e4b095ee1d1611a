"""Logging gpuarr tensors (on every test device), read back through TensorBoard."""

from __future__ import annotations

import numpy as np
from tb_helpers import accumulate, decode_png

import gpuarr


def test_scalar_tensor_with_grad_is_not_touched(writer, device):
    x = gpuarr.tensor(1.5, device=device, requires_grad=True)
    loss = x * 2
    writer.add_scalar("loss", loss, 0)
    writer.add_scalar("x", x, gpuarr.tensor(3, device=device))
    loss.backward()  # the graph is intact after logging
    assert x.grad is not None and float(x.grad.item()) == 2.0
    assert x.requires_grad and loss.grad_fn is not None
    writer.flush()
    acc = accumulate(writer.get_logdir())
    assert acc.Scalars("loss")[0].value == 3.0
    assert (acc.Scalars("x")[0].step, acc.Scalars("x")[0].value) == (3, 1.5)


def test_histogram_of_a_device_tensor(writer, device):
    t = gpuarr.randn(2000, device=device, requires_grad=True)
    writer.add_histogram("w", t, 1, bins=20)
    writer.flush()
    (event,) = accumulate(writer.get_logdir()).Histograms("w")
    host = t.detach().cpu().numpy().astype(np.float64)
    counts, edges = np.histogram(host, bins=20)
    assert event.histogram_value.num == 2000
    np.testing.assert_array_equal(event.histogram_value.bucket[1:], counts)
    np.testing.assert_allclose(event.histogram_value.bucket_limit, edges)


def test_images_of_device_tensors(writer, device):
    pixels = np.random.default_rng(0).integers(0, 256, (4, 3, 5, 6), dtype=np.uint8)
    writer.add_image("one", gpuarr.tensor(pixels[0], device=device), 0)
    writer.add_image("float", gpuarr.tensor(pixels[1] / 255, device=device), 0)
    writer.add_images("batch", gpuarr.tensor(pixels, device=device), 0)
    writer.flush()
    acc = accumulate(writer.get_logdir())
    for tag, expected in (("one", pixels[0]), ("float", pixels[1])):
        (event,) = acc.Images(tag)
        np.testing.assert_array_equal(
            decode_png(event.encoded_image_string), expected.transpose(1, 2, 0)
        )
    (batch,) = acc.Images("batch")
    assert (batch.width, batch.height) == (4 * 6, 5)


def test_logged_cpu_tensor_is_copied(writer):
    # The writer encodes images later, on its own thread: changing the tensor in place right
    # after logging must not change what was logged.
    t = gpuarr.ones(3, 4, 4)
    writer.add_image("img", t, 0)
    t.numpy()[...] = 0  # shares memory with the tensor
    writer.flush()
    (event,) = accumulate(writer.get_logdir()).Images("img")
    assert (decode_png(event.encoded_image_string) == 255).all()


def test_pr_curve_and_hparams_with_tensors(writer, device):
    labels = gpuarr.tensor([0, 1, 1, 0, 1], device=device)
    predictions = gpuarr.tensor([0.1, 0.8, 0.6, 0.3, 0.9], device=device)
    writer.add_pr_curve("pr", labels, predictions, 0, num_thresholds=11)
    writer.add_hparams({"lr": gpuarr.tensor(0.5, device=device)},
                       {"acc": gpuarr.tensor(0.75, device=device)}, run_name="hp")
    writer.flush()
    (pr,) = accumulate(writer.get_logdir()).Tensors("pr")
    data = np.array(pr.tensor_proto.float_val).reshape(6, 11)
    assert data[0, 0] == 3 and data[1, 0] == 2  # all 3 positives, 2 negatives at threshold 0
    hp = accumulate(writer.get_logdir() + "/hp")
    assert hp.Scalars("acc")[0].value == 0.75


def test_raw_backend_arrays(writer, device):
    # NumPy arrays on 'cpu'; CuPy arrays (converted with .get()) on 'cuda'
    if device == "cuda":
        import cupy as xp
    else:
        xp = np
    values = xp.asarray(np.linspace(0.0, 1.0, 11))
    writer.add_scalar("first", values[3:4], 0)
    writer.add_histogram("values", values, 0, bins=10)
    writer.add_image("grey", xp.asarray(np.eye(4)), 0, dataformats="HW")
    writer.flush()
    acc = accumulate(writer.get_logdir())
    assert acc.Scalars("first")[0].value == np.float32(0.3)
    assert acc.Histograms("values")[0].histogram_value.num == 11
    (image,) = acc.Images("grey")
    np.testing.assert_array_equal(decode_png(image.encoded_image_string)[..., 0], np.eye(4) * 255)
