"""gpuarr.vision.utils: make_grid layout and save_image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

import gpuarr
from gpuarr.vision import make_grid, save_image


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _grid_shape(b, c, h, w, nrow, padding):
    cols = min(nrow, b)
    rows = math.ceil(b / cols)
    return (c, rows * (h + padding) + padding, cols * (w + padding) + padding)


def test_make_grid_layout(device):
    b, c, h, w = 5, 3, 2, 3
    x = np.arange(b * c * h * w, dtype=np.float32).reshape(b, c, h, w) + 1
    grid = make_grid(gpuarr.tensor(x, device=device), nrow=2, padding=1, pad_value=-1.0)
    assert grid.shape == (3, 10, 9) == _grid_shape(b, c, h, w, 2, 1)
    assert grid.device.type == device
    # hand-built: image k sits at row k // 2, column k % 2, each cell 1 + 2 by 1 + 3
    expect = np.full((3, 10, 9), -1.0, np.float32)
    for k in range(b):
        r, col = divmod(k, 2)
        expect[:, 1 + r * 3:1 + r * 3 + 2, 1 + col * 4:1 + col * 4 + 3] = x[k]
    np.testing.assert_array_equal(to_np(grid), expect)


@pytest.mark.parametrize("b,nrow,padding", [(1, 8, 2), (7, 3, 0), (8, 8, 2), (9, 4, 3),
                                            (2, 1, 1)])
def test_make_grid_shape_formula(device, b, nrow, padding):
    x = gpuarr.rand(b, 3, 4, 5, device=device)
    grid = make_grid(x, nrow=nrow, padding=padding)
    if b == 1:
        # a single image comes back as it is, without padding
        assert grid.shape == (3, 4, 5)
        np.testing.assert_array_equal(to_np(grid), to_np(x)[0])
    else:
        assert grid.shape == _grid_shape(b, 3, 4, 5, nrow, padding)


def test_make_grid_grayscale_and_lists(device):
    x = gpuarr.rand(4, 1, 3, 3, device=device)
    grid = make_grid(x, nrow=2, padding=0)
    assert grid.shape == (3, 6, 6)
    g = to_np(grid)
    np.testing.assert_array_equal(g[0], g[1])
    np.testing.assert_array_equal(g[0][3:, :3], to_np(x)[2, 0])
    assert make_grid(gpuarr.rand(1, 5, 6, device=device)).shape == (3, 5, 6)
    assert make_grid(gpuarr.rand(5, 6, device=device)).shape == (3, 5, 6)
    # two-channel images keep their channels
    assert make_grid(gpuarr.rand(3, 2, 4, 4, device=device), padding=0).shape == (2, 4, 12)
    imgs = [gpuarr.rand(3, 4, 4, device=device) for _ in range(3)]
    from_list = make_grid(imgs, nrow=3, padding=1)
    np.testing.assert_array_equal(to_np(from_list),
                                  to_np(make_grid(_stack(imgs), nrow=3, padding=1)))


def _stack(ts):
    arr = np.stack([to_np(t) for t in ts])
    return gpuarr.tensor(arr, device=ts[0].device)


def test_make_grid_normalize(device):
    x = np.stack([np.full((3, 2, 2), 2.0, np.float32), np.full((3, 2, 2), 4.0, np.float32)])
    x[0, 0, 0, 0] = 1.0
    x[1, 0, 0, 0] = 6.0
    t = gpuarr.tensor(x, device=device)
    g = to_np(make_grid(t, padding=0, normalize=True))
    np.testing.assert_allclose(g, np.concatenate(list((x - 1.0) / 5.0), axis=2), rtol=1e-6)
    np.testing.assert_array_equal(to_np(t), x)  # the input is untouched
    each = to_np(make_grid(t, padding=0, normalize=True, scale_each=True))
    np.testing.assert_allclose(each[:, :, :2], (x[0] - 1.0) / 1.0, rtol=1e-6)
    np.testing.assert_allclose(each[:, :, 2:], (x[1] - 4.0) / 2.0, rtol=1e-6)
    clamped = to_np(make_grid(t, padding=0, normalize=True, value_range=(2.0, 4.0)))
    np.testing.assert_allclose(clamped, np.concatenate(list((np.clip(x, 2, 4) - 2) / 2), axis=2))


def test_make_grid_errors():
    with pytest.raises(TypeError, match="tensor or list of tensors"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="list containing"):
        make_grid([gpuarr.zeros(3, 2, 2), np.zeros((3, 2, 2))])
    with pytest.raises(RuntimeError, match="equal size"):
        make_grid([gpuarr.zeros(3, 2, 2), gpuarr.zeros(3, 3, 3)])
    with pytest.raises(ValueError, match="4-D batch"):
        make_grid(gpuarr.zeros(2, 2, 3, 4, 4))
    with pytest.raises(TypeError, match="value_range"):
        make_grid(gpuarr.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1])
    with pytest.raises(TypeError, match="float tensor"):
        make_grid(gpuarr.zeros(2, 3, 4, 4, dtype=gpuarr.uint8), normalize=True)


def test_save_image(tmp_path, device):
    x = gpuarr.rand(4, 3, 5, 6, device=device)
    path = tmp_path / "grid.png"
    save_image(x, path, nrow=2, padding=1)
    img = np.array(Image.open(path))
    assert img.shape == (13, 15, 3)
    grid = to_np(make_grid(x, nrow=2, padding=1))
    expect = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(img, expect)
