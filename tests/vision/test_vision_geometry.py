"""gpuarr.vision geometry: resize, pad, crop, center_crop, flips on tensors and PIL images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.vision import functional as F

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _rand_image(shape, seed=0, dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)


# --------------------------------------------------------------------------------------------
# resize


def test_resize_output_size_rule():
    # an int resizes the shorter side; the longer one is int(size * long / short)
    x = gpuarr.zeros(3, 53, 80)
    assert F.resize(x, 20).shape == (3, 20, int(20 * 80 / 53))
    assert F.resize(x, [20]).shape == (3, 20, 30)
    assert F.resize(gpuarr.zeros(3, 80, 53), 20).shape == (3, 30, 20)
    assert F.resize(x, (10, 70)).shape == (3, 10, 70)
    # max_size caps the longer side, shrinking the shorter one proportionally
    assert F.resize(x, 40, max_size=50).shape == (3, int(50 * 40 / 60), 50)
    assert F.resize(x, None, max_size=40).shape == (3, int(40 * 53 / 80), 40)
    # same size: the very same object comes back
    assert F.resize(x, 53) is x
    img = Image.new("RGB", (80, 53))
    assert F.resize(img, 20).size == (30, 20)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "F"])
@pytest.mark.parametrize("interp", ["bilinear", "nearest", "bicubic", "lanczos", "box"])
def test_resize_pil_matches_pillow(mode, interp):
    nch = 1 if mode in ("L", "F") else len(mode)
    arr = _rand_image((37, 23, nch), seed=1, dtype=np.float32 if mode == "F" else np.uint8)
    img = Image.fromarray(arr[..., 0] if nch == 1 else arr, mode=mode)
    got = F.resize(img, (15, 40), interpolation=interp)
    codes = {"bilinear": Image.Resampling.BILINEAR, "nearest": Image.Resampling.NEAREST,
             "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
             "box": Image.Resampling.BOX}
    expect = img.resize((40, 15), codes[interp])
    assert got.mode == mode and got.size == (40, 15)
    np.testing.assert_array_equal(np.array(got), np.array(expect))


def test_resize_pil_warns_on_antialias_false():
    with pytest.warns(UserWarning, match="always applied"):
        F.resize(Image.new("L", (8, 8)), 4, antialias=False)


_TENSOR_MODES = ["bilinear", "bicubic", "nearest", "nearest-exact"]


@SETTINGS
@given(h=st.integers(1, 12), w=st.integers(1, 12), oh=st.integers(1, 25),
       ow=st.integers(1, 25), mode=st.sampled_from(_TENSOR_MODES))
def test_resize_tensor_matches_interpolate(device, h, w, oh, ow, mode):
    x = _rand_image((2, 3, h, w), seed=h * 100 + w)
    kw = {} if mode.startswith("nearest") else {"align_corners": False, "antialias": False}
    expect = TF.interpolate(torch.from_numpy(x), size=(oh, ow), mode=mode, **kw).numpy()
    got = F.resize(gpuarr.tensor(x, device=device), [oh, ow], mode, antialias=False)
    assert got.shape == (2, 3, oh, ow) and got.dtype == gpuarr.float32
    assert got.device.type == device
    if mode.startswith("nearest"):
        np.testing.assert_array_equal(to_np(got), expect)  # the same pixels, index for index
    else:
        np.testing.assert_allclose(to_np(got), expect, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("mode,sizes", [("nearest", [(2, 82), (2, 94), (3, 50)]),
                                        ("nearest-exact", [(2, 41), (2, 47), (5, 61)])])
def test_resize_nearest_picks_like_torch_float32(device, mode, sizes):
    # sizes where float64 and float32 arithmetic pick different source pixels
    for n_in, n_out in sizes:
        x = np.arange(n_in, dtype=np.float32).reshape(1, 1, 1, n_in)
        expect = TF.interpolate(torch.from_numpy(x), size=(1, n_out), mode=mode).numpy()
        got = F.resize(gpuarr.tensor(x, device=device), [1, n_out], mode)
        np.testing.assert_array_equal(to_np(got), expect)


@SETTINGS
@given(h=st.integers(2, 14), w=st.integers(2, 14), oh=st.integers(2, 25),
       ow=st.integers(2, 25), mode=st.sampled_from(["bilinear", "bicubic"]))
def test_resize_tensor_antialias_matches_interpolate(device, h, w, oh, ow, mode):
    # sizes of 1 are left out: PyTorch 2.13's CPU antialias kernel mixes rows when a side is 1
    # (test_resize_tensor_antialias_matches_pillow covers those against Pillow)
    x = _rand_image((1, 2, h, w), seed=h * 100 + w, dtype=np.float64)
    expect = TF.interpolate(torch.from_numpy(x), size=(oh, ow), mode=mode,
                            align_corners=False, antialias=True).numpy()
    got = F.resize(gpuarr.tensor(x, device=device), [oh, ow], mode)
    np.testing.assert_allclose(to_np(got), expect, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(24, 1), (1, 9), (5, 3), (40, 17), (1, 1)])
def test_resize_tensor_antialias_matches_pillow(device, mode, size):
    # Pillow's float ('F') resampling is the antialiased filter PyTorch copies
    x = _rand_image((16, 7), seed=3)
    code = Image.Resampling.BILINEAR if mode == "bilinear" else Image.Resampling.BICUBIC
    expect = np.array(Image.fromarray(x, mode="F").resize(size[::-1], code))
    got = F.resize(gpuarr.tensor(x[None], device=device), list(size), mode)
    np.testing.assert_allclose(to_np(got)[0], expect, rtol=1e-5, atol=1e-6)


def test_resize_uint8_tensor_rounds_like_torchvision(device):
    x = _rand_image((3, 13, 17), seed=4, dtype=np.uint8)
    got = F.resize(gpuarr.tensor(x, device=device), [7, 30])
    assert got.dtype == gpuarr.uint8
    ref = TF.interpolate(torch.from_numpy(x)[None].float(), size=(7, 30), mode="bilinear",
                         align_corners=False, antialias=True)[0]
    expect = ref.round().clamp(0, 255).to(torch.uint8).numpy().astype(int)
    diff = np.abs(to_np(got).astype(int) - expect)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # only float ties may round apart
    # bicubic overshoots are clamped instead of wrapping around
    edge = np.zeros((1, 6, 6), np.uint8)
    edge[:, :, 3:] = 255
    up = F.resize(gpuarr.tensor(edge, device=device), [6, 20], "bicubic", antialias=False)
    assert to_np(up).min() == 0 and to_np(up).max() == 255


def test_resize_keeps_nan_local(device):
    # a NaN pixel reaches only the outputs whose filter window covers it
    for antialias, pixel in ((True, 0), (False, 1)):  # plain bilinear 10 -> 3 skips pixel 0
        x = np.zeros((1, 10, 10), np.float32)
        x[0, pixel, pixel] = np.nan
        out = to_np(F.resize(gpuarr.tensor(x, device=device), [3, 3], antialias=antialias))
        assert np.isnan(out[0, 0, 0]) and np.isnan(out).sum() == 1


def test_resize_2d_and_batched_tensors(device):
    x = _rand_image((9, 11), seed=5)
    got2 = F.resize(gpuarr.tensor(x, device=device), [4, 6])
    got4 = F.resize(gpuarr.tensor(x[None, None], device=device), [4, 6])
    assert got2.shape == (4, 6)
    np.testing.assert_allclose(to_np(got2), to_np(got4)[0, 0], rtol=1e-6)


@pytest.mark.parametrize("mode,antialias", [("bilinear", False), ("bilinear", True),
                                            ("bicubic", False), ("bicubic", True),
                                            ("nearest", False), ("nearest-exact", False)])
def test_resize_gradcheck(device, mode, antialias):
    x = gpuarr.tensor(_rand_image((2, 4, 5), seed=6, dtype=np.float64), device=device,
                      requires_grad=True)
    assert gradcheck(lambda t: F.resize(t, [3, 7], mode, antialias=antialias), (x,))


def test_resize_grad_matches_torch_and_gradgrad(device):
    x = _rand_image((1, 2, 6, 5), seed=7, dtype=np.float64)
    g = _rand_image((1, 2, 4, 9), seed=8, dtype=np.float64)
    xt = torch.tensor(x, requires_grad=True)
    TF.interpolate(xt, size=(4, 9), mode="bilinear", align_corners=False).backward(
        torch.from_numpy(g))
    xg = gpuarr.tensor(x, device=device, requires_grad=True)
    F.resize(xg, [4, 9], antialias=False).backward(gpuarr.tensor(g, device=device))
    np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    small = gpuarr.tensor(x[0, 0, :3, :3], device=device, requires_grad=True)
    assert gradgradcheck(lambda t: F.resize(t, [2, 4]) * F.resize(t, [2, 4]), (small,))


def test_resize_errors():
    x = gpuarr.zeros(3, 8, 8)
    with pytest.raises(TypeError, match="int or sequence"):
        F.resize(x, 4.5)
    with pytest.raises(ValueError, match="1 or 2 element"):
        F.resize(x, [1, 2, 3])
    with pytest.raises(ValueError, match="max_size should only be passed"):
        F.resize(x, [4, 4], max_size=10)
    with pytest.raises(ValueError, match="strictly greater"):
        F.resize(x, 10, max_size=10)
    with pytest.raises(ValueError, match="only nearest"):
        F.resize(x, 4, interpolation="lanczos")
    with pytest.raises(ValueError, match="interpolation"):
        F.resize(x, 4, interpolation="cubic-ish")
    with pytest.raises(ValueError, match="positive"):
        F.resize(x, [0, 4])
    with pytest.raises(TypeError, match="PIL Image or Tensor"):
        F.resize(np.zeros((8, 8, 3), np.uint8), 4)
    with pytest.raises(TypeError, match="at least 2 dimensions"):
        F.resize(gpuarr.zeros(8), 4)


# --------------------------------------------------------------------------------------------
# pad


_NP_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
             "symmetric": "symmetric"}


@pytest.mark.parametrize("padding_mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [2, [1, 3], [0, 1, 2, 3], [3]])
def test_pad_matches_numpy(device, padding_mode, padding):
    x = _rand_image((2, 5, 4), seed=9, dtype=np.uint8)
    got = F.pad(gpuarr.tensor(x, device=device), padding, fill=7, padding_mode=padding_mode)
    p = [padding] * 4 if isinstance(padding, int) else (
        padding * 4 if len(padding) == 1 else padding * 2 if len(padding) == 2 else padding)
    left, top, right, bottom = p
    kw = {"constant_values": 7} if padding_mode == "constant" else {}
    expect = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode=_NP_MODES[padding_mode],
                    **kw)
    assert got.dtype == gpuarr.uint8
    np.testing.assert_array_equal(to_np(got), expect)
    # PIL images pad the same way
    img = Image.fromarray(x[0])
    np.testing.assert_array_equal(
        np.array(F.pad(img, padding, fill=7, padding_mode=padding_mode)), expect[0])


def test_pad_pil_rgb_fill_tuple_and_negative():
    arr = _rand_image((4, 5, 3), seed=10, dtype=np.uint8)
    out = np.array(F.pad(Image.fromarray(arr), [1, 2], fill=(10, 20, 30)))
    assert out.shape == (8, 7, 3)
    assert out[0, 0].tolist() == [10, 20, 30]
    np.testing.assert_array_equal(out[2:6, 1:6], arr)
    # negative padding crops, for tensors and PIL images alike
    t = F.pad(gpuarr.tensor(arr.transpose(2, 0, 1)), [-1, 0, 1, -2])
    np.testing.assert_array_equal(to_np(t)[:, :, :-1], arr.transpose(2, 0, 1)[:, :2, 1:])
    assert to_np(t)[:, :, -1].max() == 0
    np.testing.assert_array_equal(np.array(F.pad(Image.fromarray(arr), [-1, 0, 1, -2])),
                                  to_np(t).transpose(1, 2, 0))
    with pytest.raises(ValueError, match="number of elements in 'fill'"):
        F.pad(Image.fromarray(arr), 1, fill=(1, 2))


@pytest.mark.parametrize("kind", ["P", "I;16", "1", "I", "F", "LA", "YCbCr"])
def test_pad_pil_keeps_mode(kind):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    base = {"P": Image.fromarray(a).convert("P"), "I;16": Image.fromarray(a.astype(np.uint16)),
            "1": Image.fromarray(a > 5), "I": Image.fromarray(a.astype(np.int32)),
            "F": Image.fromarray(a.astype(np.float32)),
            "LA": Image.fromarray(np.stack([a, a], -1)),
            "YCbCr": Image.fromarray(np.stack([a] * 3, -1)).convert("YCbCr")}[kind]
    for padding_mode in ("constant", "edge", "symmetric"):
        out = F.pad(base, [1, 2], padding_mode=padding_mode)
        assert out.mode == kind and out.size == (6, 7)
        np.testing.assert_array_equal(np.array(out)[2:-2, 1:-1], np.array(base))


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                             ("reflect", "reflect")])
def test_pad_grad_matches_torch(device, mode, torch_mode):
    x = _rand_image((1, 2, 4, 5), seed=11, dtype=np.float64)
    g = _rand_image((1, 2, 7, 8), seed=12, dtype=np.float64)
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.pad(xt, (1, 2, 0, 3), mode=torch_mode)
    yt.backward(torch.from_numpy(g))
    xg = gpuarr.tensor(x, device=device, requires_grad=True)
    yg = F.pad(xg, [1, 0, 2, 3], padding_mode=mode)
    np.testing.assert_array_equal(to_np(yg), yt.detach().numpy())
    yg.backward(gpuarr.tensor(g, device=device))
    np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-12)
    small = gpuarr.tensor(x[0, 0, :3, :3], device=device, requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, [2, 1], padding_mode=mode), (small,))


def test_pad_errors():
    x = gpuarr.zeros(1, 3, 3)
    with pytest.raises(ValueError, match="1, 2, or 4 element"):
        F.pad(x, [1, 2, 3])
    with pytest.raises(TypeError, match="padding"):
        F.pad(x, 1.5)
    with pytest.raises(ValueError, match="Padding mode"):
        F.pad(x, 1, padding_mode="wrap")
    with pytest.raises(ValueError, match="less than"):
        F.pad(x, 3, padding_mode="reflect")
    with pytest.raises(TypeError, match="fill"):
        F.pad(x, 1, fill="red")
    with pytest.raises(ValueError, match="removes more"):
        F.pad(x, -2)


# --------------------------------------------------------------------------------------------
# crops and flips


def test_crop_in_and_out_of_bounds(device):
    x = _rand_image((3, 6, 8), seed=13)
    t = gpuarr.tensor(x, device=device)
    c = F.crop(t, 1, 2, 3, 4)
    np.testing.assert_array_equal(to_np(c), x[:, 1:4, 2:6])
    # the crop owns its memory: editing it leaves the image alone
    c.add_(1.0)
    np.testing.assert_array_equal(to_np(t), x)
    # parts outside the image are zeros
    out = to_np(F.crop(t, -2, 5, 5, 6))
    expect = np.zeros((3, 5, 6), np.float32)
    expect[:, 2:, :3] = x[:, 0:3, 5:8]
    np.testing.assert_array_equal(out, expect)
    assert to_np(F.crop(t, 10, 10, 2, 2)).max() == 0
    # PIL crops agree (zero-filled as well)
    arr = (x.transpose(1, 2, 0) * 255).astype(np.uint8)
    pil = F.crop(Image.fromarray(arr), -2, 5, 5, 6)
    tens = F.crop(gpuarr.tensor(arr.transpose(2, 0, 1)), -2, 5, 5, 6)
    np.testing.assert_array_equal(np.array(pil), to_np(tens).transpose(1, 2, 0))


@pytest.mark.parametrize("hw,size,rows,cols", [
    ((10, 10), 4, (3, 7), (3, 7)),
    ((5, 5), 2, (2, 4), (2, 4)),      # round(1.5) = 2
    ((7, 7), 2, (2, 4), (2, 4)),      # round(2.5) = 2 (round half to even, like Python)
    ((6, 9), (3, 5), (2, 5), (2, 7)),
])
def test_center_crop_positions(device, hw, size, rows, cols):
    x = _rand_image((2, *hw), seed=14)
    got = F.center_crop(gpuarr.tensor(x, device=device), size)
    np.testing.assert_array_equal(to_np(got), x[:, rows[0]:rows[1], cols[0]:cols[1]])


def test_center_crop_pads_small_images(device):
    x = _rand_image((1, 3, 3), seed=15, dtype=np.uint8) | 1  # no zero pixels
    got = to_np(F.center_crop(gpuarr.tensor(x, device=device), (6, 5)))
    # torchvision pads (6-3)//2 = 1 on top, 2 at the bottom, 1 left, 1 right
    expect = np.zeros((1, 6, 5), np.uint8)
    expect[:, 1:4, 1:4] = x
    np.testing.assert_array_equal(got, expect)
    pil = F.center_crop(Image.fromarray(x[0]), (6, 5))
    np.testing.assert_array_equal(np.array(pil), expect[0])
    # a crop larger on one side only: pad that side, crop the other
    wide = _rand_image((1, 8, 3), seed=16)
    got = to_np(F.center_crop(gpuarr.tensor(wide, device=device), (4, 6)))
    expect = np.zeros((1, 4, 6), np.float32)
    expect[:, :, 1:4] = wide[:, 2:6, :]
    np.testing.assert_array_equal(got, expect)


def test_crop_gradcheck(device):
    x = gpuarr.tensor(_rand_image((2, 3, 4), seed=17, dtype=np.float64), device=device,
                      requires_grad=True)
    assert gradcheck(lambda t: F.crop(t, -1, 1, 3, 4), (x,))
    assert gradcheck(lambda t: F.center_crop(t, 2), (x,))
    assert gradgradcheck(lambda t: F.crop(t, 1, 0, 2, 3) * F.crop(t, 1, 0, 2, 3), (x,))


def test_flips(device):
    x = _rand_image((2, 3, 4, 5), seed=18)
    t = gpuarr.tensor(x, device=device)
    np.testing.assert_array_equal(to_np(F.hflip(t)), x[..., ::-1])
    np.testing.assert_array_equal(to_np(F.vflip(t)), x[..., ::-1, :])
    arr = (x[0].transpose(1, 2, 0) * 255).astype(np.uint8)
    np.testing.assert_array_equal(np.array(F.hflip(Image.fromarray(arr))), arr[:, ::-1])
    np.testing.assert_array_equal(np.array(F.vflip(Image.fromarray(arr))), arr[::-1])
    g = gpuarr.tensor(x[0, 0], device=device, dtype=gpuarr.float64, requires_grad=True)
    assert gradcheck(F.hflip, (g,)) and gradcheck(F.vflip, (g,))
    with pytest.raises(TypeError, match="PIL Image or Tensor"):
        F.hflip(np.zeros((2, 2)))


def test_get_dimensions():
    assert F.get_dimensions(gpuarr.zeros(2, 3, 4, 5)) == [3, 4, 5]
    assert F.get_dimensions(gpuarr.zeros(4, 5)) == [1, 4, 5]
    assert F.get_dimensions(Image.new("RGBA", (5, 4))) == [4, 4, 5]
    assert F.get_image_size(Image.new("L", (5, 4))) == [5, 4]
    assert F.get_image_num_channels(gpuarr.zeros(3, 1, 1)) == 3
    with pytest.raises(TypeError, match="PIL Image or Tensor"):
        F.get_dimensions([[0]])
