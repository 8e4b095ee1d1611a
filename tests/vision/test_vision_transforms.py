"""gpuarr.vision.transforms: Normalize, Compose, seeded random crops and flips, reprs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.vision import functional as F
from gpuarr.vision import transforms as T


def to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


# --------------------------------------------------------------------------------------------
# Normalize


@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
def test_normalize_matches_formula(device, dtype):
    x = gpuarr.rand(2, 3, 4, 5, dtype=dtype, device=device)
    got = T.Normalize(MEAN, STD)(x)
    assert got.dtype == dtype and got.device == x.device and got.shape == x.shape
    xn = to_np(x)
    m = np.array(MEAN, dtype=xn.dtype).reshape(3, 1, 1)
    s = np.array(STD, dtype=xn.dtype).reshape(3, 1, 1)
    np.testing.assert_allclose(to_np(got), (xn - m) / s, rtol=1e-6)
    np.testing.assert_array_equal(to_np(x), xn)  # the input is untouched


def test_normalize_scalar_and_single_value_params(device):
    x = gpuarr.rand(3, 2, 2, device=device)
    np.testing.assert_allclose(to_np(F.normalize(x, 0.5, 2.0)), (to_np(x) - 0.5) / 2.0,
                               rtol=1e-6)
    np.testing.assert_allclose(to_np(F.normalize(x, [0.5], [2.0])), (to_np(x) - 0.5) / 2.0,
                               rtol=1e-6)
    mt = gpuarr.tensor(MEAN, device=device)
    np.testing.assert_allclose(to_np(F.normalize(x, mt, STD)), to_np(F.normalize(x, MEAN, STD)))


def test_normalize_inplace(device):
    x = gpuarr.rand(3, 4, 4, device=device)
    before = to_np(x).copy()
    out = T.Normalize(MEAN, STD, inplace=True)(x)
    assert out is x
    m = np.array(MEAN, np.float32).reshape(3, 1, 1)
    s = np.array(STD, np.float32).reshape(3, 1, 1)
    np.testing.assert_allclose(to_np(x), (before - m) / s, rtol=1e-6)


def test_normalize_gradients(device):
    x = gpuarr.rand(2, 3, 2, 2, dtype=gpuarr.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: F.normalize(t, MEAN, STD), (x,))
    assert gradgradcheck(lambda t: F.normalize(t, MEAN, STD) * t, (x,))
    F.normalize(x, MEAN, STD).sum().backward()
    expect = np.broadcast_to((1 / np.array(STD)).reshape(3, 1, 1), (2, 3, 2, 2))
    np.testing.assert_allclose(to_np(x.grad), expect, rtol=1e-12)


def test_normalize_errors():
    with pytest.raises(TypeError, match="Tensor Image"):
        F.normalize(Image.new("RGB", (2, 2)), MEAN, STD)
    with pytest.raises(TypeError, match="float tensor"):
        F.normalize(gpuarr.zeros(3, 2, 2, dtype=gpuarr.uint8), MEAN, STD)
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        F.normalize(gpuarr.zeros(2, 2), MEAN, STD)
    with pytest.raises(ValueError, match="division by zero"):
        F.normalize(gpuarr.zeros(3, 2, 2), MEAN, [0.1, 0.0, 0.1])
    with pytest.raises(ValueError, match="4 channels"):
        F.normalize(gpuarr.zeros(4, 2, 2), MEAN, STD)
    with pytest.raises(TypeError, match="sequence of numbers"):
        F.normalize(gpuarr.zeros(3, 2, 2), ["a", "b", "c"], STD)


# --------------------------------------------------------------------------------------------
# Compose and friends


def _pil_photo(h=40, w=60, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))


def test_compose_pipeline_pil_and_device(device):
    img = _pil_photo()
    pipeline = T.Compose([
        T.Resize(20), T.CenterCrop(16), T.ToTensor(),
        T.Lambda(lambda x: x.to(device)), T.Normalize(MEAN, STD),
    ])
    out = pipeline(img)
    assert out.shape == (3, 16, 16) and out.device.type == device
    resized = img.resize((30, 20), Image.Resampling.BILINEAR)
    crop = np.array(resized)[2:18, 7:23].transpose(2, 0, 1) / np.float32(255)
    expect = (crop - np.array(MEAN).reshape(3, 1, 1)) / np.array(STD).reshape(3, 1, 1)
    np.testing.assert_allclose(to_np(out), expect, rtol=1e-5, atol=1e-6)


def test_tensor_pipeline_stays_on_device(device):
    x = gpuarr.rand(3, 30, 40, device=device)
    out = T.Compose([T.Resize((20, 24)), T.CenterCrop(16), T.RandomHorizontalFlip(1.0),
                     T.Normalize(MEAN, STD)])(x)
    assert out.device == x.device and out.shape == (3, 16, 16)
    ref = F.normalize(F.hflip(F.center_crop(F.resize(x, [20, 24]), 16)), MEAN, STD)
    np.testing.assert_array_equal(to_np(out), to_np(ref))
    back = T.ToPILImage()(F.hflip(x))
    assert back.size == (40, 30)


def test_reprs():
    pipe = T.Compose([T.Resize(32), T.CenterCrop(28), T.ToTensor(), T.Normalize(MEAN, STD)])
    assert repr(pipe) == (
        "Compose(\n"
        "    Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)\n"
        "    CenterCrop(size=(28, 28))\n"
        "    ToTensor()\n"
        f"    Normalize(mean={MEAN}, std={STD})\n"
        ")"
    )
    assert repr(T.RandomCrop(8, padding=2)) == "RandomCrop(size=(8, 8), padding=2)"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.ToPILImage()) == "ToPILImage()"
    assert repr(T.ToPILImage("RGB")) == "ToPILImage(mode=RGB)"


def test_transform_argument_errors():
    with pytest.raises(TypeError, match="int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="1 or 2 values"):
        T.Resize([1, 2, 3])
    with pytest.raises(ValueError, match="two dimensions"):
        T.CenterCrop([1, 2, 3])
    with pytest.raises(ValueError, match="Padding mode"):
        T.RandomCrop(4, padding_mode="wrap")
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)
    with pytest.raises(TypeError, match="PIL Image or Tensor"):
        T.RandomHorizontalFlip()(np.zeros((3, 2, 2)))
    with pytest.raises(TypeError, match="PIL Image or ndarray"):
        T.ToTensor()(gpuarr.zeros(3, 2, 2))


# --------------------------------------------------------------------------------------------
# random transforms


def test_random_crop_reproducible_with_manual_seed(device):
    x = gpuarr.rand(3, 12, 12, device=device)
    t = T.RandomCrop(8, padding=2)
    gpuarr.manual_seed(123)
    a = [to_np(t(x)) for _ in range(5)]
    gpuarr.manual_seed(123)
    b = [to_np(t(x)) for _ in range(5)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(a[0], u) for u in a[1:])  # the position does change

    # the crop is the one get_params draws, taken from the padded image
    gpuarr.manual_seed(7)
    got = t(x)
    gpuarr.manual_seed(7)
    padded = F.pad(x, 2)
    i, j, h, w = T.RandomCrop.get_params(padded, (8, 8))
    assert 0 <= i <= 8 and 0 <= j <= 8 and (h, w) == (8, 8)
    np.testing.assert_array_equal(to_np(got), to_np(padded)[:, i:i + 8, j:j + 8])


def test_random_crop_generator_and_pil(device):
    img = _pil_photo(10, 14)
    g1 = gpuarr.Generator().manual_seed(5)
    g2 = gpuarr.Generator().manual_seed(5)
    c1 = T.RandomCrop((6, 7), generator=g1)(img)
    c2 = T.RandomCrop((6, 7), generator=g2)(img)
    assert c1.size == (7, 6)
    np.testing.assert_array_equal(np.array(c1), np.array(c2))
    # a PIL image and its tensor crop at the same place for the same seed
    gpuarr.manual_seed(9)
    cp = T.RandomCrop(5)(img)
    gpuarr.manual_seed(9)
    ct = T.RandomCrop(5)(F.pil_to_tensor(img).to(device))
    np.testing.assert_array_equal(np.array(cp), to_np(ct).transpose(1, 2, 0))


def test_random_crop_padding_options(device):
    x = gpuarr.ones(1, 4, 4, device=device)
    # pad_if_needed pads each side by the shortfall (as torchvision), then crops
    gpuarr.manual_seed(0)
    out = T.RandomCrop(6, pad_if_needed=True, fill=0)(x)
    assert out.shape == (1, 6, 6)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(6)(x)
    # the full size needs no random draw and returns the whole image
    full = T.RandomCrop((4, 4))(x)
    np.testing.assert_array_equal(to_np(full), to_np(x))
    edge = T.RandomCrop(8, padding=2, padding_mode="edge")(x)
    assert to_np(edge).min() == 1.0  # edge padding repeats the ones


def test_random_flips_seeded(device):
    x = gpuarr.arange(12, dtype=gpuarr.float32, device=device).view(1, 3, 4)
    flip = T.RandomHorizontalFlip(0.5)
    gpuarr.manual_seed(2024)
    first = [bool(np.array_equal(to_np(flip(x)), to_np(x)[..., ::-1])) for _ in range(24)]
    gpuarr.manual_seed(2024)
    second = [bool(np.array_equal(to_np(flip(x)), to_np(x)[..., ::-1])) for _ in range(24)]
    assert first == second and any(first) and not all(first)
    # the decision is one uniform draw per call, compared with p
    gpuarr.manual_seed(2024)
    draws = gpuarr.rand(24).numpy()
    assert first == [bool(d < 0.5) for d in draws]

    np.testing.assert_array_equal(to_np(T.RandomHorizontalFlip(1.0)(x)), to_np(x)[..., ::-1])
    assert T.RandomHorizontalFlip(0.0)(x) is x
    np.testing.assert_array_equal(to_np(T.RandomVerticalFlip(1.0)(x)), to_np(x)[:, ::-1])
    g = gpuarr.Generator().manual_seed(1)
    img = _pil_photo(4, 5)
    out = T.RandomHorizontalFlip(1.0, generator=g)(img)
    np.testing.assert_array_equal(np.array(out), np.array(img)[:, ::-1])


def test_pad_transform(device):
    x = gpuarr.ones(2, 3, 3, device=device)
    out = T.Pad([1, 2], fill=5)(x)
    assert out.shape == (2, 7, 5) and to_np(out)[0, 0, 0] == 5
    assert repr(T.Pad(1)) == "Pad(padding=1, fill=0, padding_mode=constant)"
    with pytest.raises(ValueError, match="1, 2, or 4"):
        T.Pad([1, 2, 3])
