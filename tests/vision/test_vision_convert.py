"""gpuarr.vision conversions: to_tensor, pil_to_tensor, to_pil_image (the course's JPEG cell)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import gpuarr
from gpuarr.vision import functional as F
from gpuarr.vision import transforms


def _photo(h: int = 53, w: int = 80) -> np.ndarray:
    """A smooth RGB test picture (gradients plus a disc) as HWC uint8."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = (xx * 255 // max(w - 1, 1)).astype(np.uint8)
    g = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
    b = np.where((yy - h / 2) ** 2 + (xx - w / 3) ** 2 < (h / 4) ** 2, 230, 40).astype(np.uint8)
    return np.stack([r, g, b], axis=-1)


@pytest.fixture
def jpeg_path(tmp_path):
    path = tmp_path / "cat.jpg"
    Image.fromarray(_photo()).save(path, quality=90)
    return path


def test_course_cell_jpeg(jpeg_path, device):
    img = Image.open(jpeg_path)
    decoded = np.array(img)
    assert decoded.shape == (53, 80, 3)

    image_tensor = transforms.ToTensor()(img)
    assert isinstance(image_tensor, gpuarr.Tensor)
    assert image_tensor.shape == (3, 53, 80)
    assert image_tensor.dtype == gpuarr.float32
    assert image_tensor.device == gpuarr.device("cpu")
    got = image_tensor.numpy()
    assert got.min() >= 0.0 and got.max() <= 1.0
    expect = decoded.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(got, expect)

    # the tensor can travel to the device and come back as the same pixels
    back = transforms.ToPILImage()(image_tensor.to(device))
    assert back.mode == "RGB" and back.size == img.size
    np.testing.assert_array_equal(np.array(back), decoded)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA"])
def test_roundtrip_modes(mode, device):
    rng = np.random.default_rng(1)
    nch = len(mode)
    arr = rng.integers(0, 256, size=(7, 9, nch), dtype=np.uint8)
    img = Image.fromarray(arr[..., 0] if nch == 1 else arr, mode=mode)
    t = F.to_tensor(img)
    assert t.shape == (nch, 7, 9)
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1) / np.float32(255))
    back = F.to_pil_image(t.to(device))
    assert back.mode == mode
    np.testing.assert_array_equal(np.array(back).reshape(7, 9, nch), arr)
    # the whole uint8 range survives float32 and back
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(np.array(F.to_pil_image(F.to_tensor(ramp))), ramp)


def test_pil_to_tensor_keeps_values_and_dtype():
    arr = np.random.default_rng(2).integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    t = F.pil_to_tensor(Image.fromarray(arr))
    assert t.dtype == gpuarr.uint8 and t.shape == (3, 4, 6)
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1))
    assert transforms.PILToTensor()(Image.fromarray(arr)).dtype == gpuarr.uint8

    ints = np.arange(-6, 6, dtype=np.int32).reshape(3, 4) * 100000
    ti = F.pil_to_tensor(Image.fromarray(ints))
    assert ti.dtype == gpuarr.int32
    np.testing.assert_array_equal(ti.numpy()[0], ints)

    bits = Image.fromarray(np.array([[True, False], [False, True]]))
    tb = F.pil_to_tensor(bits)
    assert tb.dtype == gpuarr.bool and tb.numpy()[0].tolist() == [[True, False], [False, True]]

    # gpuarr has no uint16: 16-bit images widen to int32 without losing values
    u16 = Image.fromarray(np.array([[0, 40000]], dtype=np.uint16))
    t16 = F.pil_to_tensor(u16)
    assert t16.dtype == gpuarr.int32 and t16.numpy().tolist() == [[[0, 40000]]]


def test_to_tensor_pil_modes():
    bits = Image.fromarray(np.array([[True, False]]))  # mode '1' -> {0, 1} floats
    assert F.to_tensor(bits).numpy().tolist() == [[[1.0, 0.0]]]

    f = np.array([[0.25, -3.5], [7.0, 1.0]], dtype=np.float32)
    tf = F.to_tensor(Image.fromarray(f))
    assert tf.dtype == gpuarr.float32
    np.testing.assert_array_equal(tf.numpy()[0], f)  # mode F keeps values, no scaling

    ints = Image.fromarray(np.array([[5, -7]], dtype=np.int32))
    ti = F.to_tensor(ints)
    assert ti.dtype == gpuarr.int32 and ti.numpy().tolist() == [[[5, -7]]]

    # I;16 reads as int16 (bits kept, as torchvision) and converts back to the same image
    i16 = Image.fromarray(np.array([[1, 40000, 300]], dtype=np.uint16))
    t16 = F.to_tensor(i16)
    assert t16.dtype == gpuarr.int16 and t16.numpy().tolist() == [[[1, 40000 - 65536, 300]]]
    back = F.to_pil_image(t16)
    assert back.mode == "I;16" and np.array(back).tolist() == [[1, 40000, 300]]

    pal = Image.fromarray(np.array([[0, 3], [2, 1]], dtype=np.uint8), mode="L").convert("P")
    tp = F.to_tensor(pal)
    assert tp.shape == (1, 2, 2)
    np.testing.assert_array_equal(tp.numpy()[0] * 255, np.array(pal).astype(np.float32))


def test_to_tensor_ndarray():
    arr = np.random.default_rng(3).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    t = F.to_tensor(arr)
    assert t.shape == (3, 5, 4) and t.dtype == gpuarr.float32
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1) / np.float32(255))
    assert F.to_tensor(arr[:, :, 0]).shape == (1, 5, 4)

    # other dtypes keep their values and dtype (no scaling), and the result owns its memory
    f64 = np.random.default_rng(4).random((5, 4, 2))
    t64 = F.to_tensor(f64)
    assert t64.dtype == gpuarr.float64
    np.testing.assert_array_equal(t64.numpy(), f64.transpose(2, 0, 1))
    f64[0, 0, 0] = 123.0
    assert t64.numpy()[0, 0, 0] != 123.0

    with _default_dtype(gpuarr.float64):  # uint8 becomes the default float dtype
        t = F.to_tensor(arr)
    assert t.dtype == gpuarr.float64
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1) / 255.0)


class _default_dtype:
    def __init__(self, dt):
        self.dt = dt

    def __enter__(self):
        self.old = gpuarr.get_default_dtype()
        gpuarr.set_default_dtype(self.dt)

    def __exit__(self, *exc):
        gpuarr.set_default_dtype(self.old)


def test_to_pil_image_modes_from_dtype(device):
    f = gpuarr.tensor([[[0.0, 0.5], [1.0, 0.999]]], device=device)
    img = F.to_pil_image(f)
    assert img.mode == "L"
    # floats are scaled by 255 and truncated, as torchvision's pic.mul(255).byte()
    assert np.array(img).tolist() == [[0, 127], [255, 254]]

    img_f = F.to_pil_image(f, mode="F")
    assert img_f.mode == "F"
    np.testing.assert_array_equal(np.array(img_f), f.cpu().numpy()[0])

    assert F.to_pil_image(gpuarr.zeros(2, 2, dtype=gpuarr.int32, device=device)).mode == "I"
    i16 = F.to_pil_image(np.array([[1, 300]], dtype=np.int16))
    assert i16.mode == "I;16" and np.array(i16).tolist() == [[1, 300]]
    assert F.to_pil_image(gpuarr.zeros(3, 2, 2, device=device)).mode == "RGB"
    assert F.to_pil_image(gpuarr.zeros(4, 2, 2, device=device)).mode == "RGBA"
    assert F.to_pil_image(gpuarr.zeros(2, 2, 2, device=device)).mode == "LA"
    assert F.to_pil_image(gpuarr.zeros(3, 2, 2, device=device), mode="YCbCr").mode == "YCbCr"
    assert F.to_pil_image(np.zeros((2, 2, 4), np.uint8), mode="CMYK").mode == "CMYK"

    # out-of-range floats saturate instead of wrapping around
    sat = F.to_pil_image(gpuarr.tensor([[-0.5, 2.0]], device=device))
    assert np.array(sat).tolist() == [[0, 255]]
    # a tensor that requires grad converts too
    g = gpuarr.rand(3, 4, 4, device=device, requires_grad=True)
    assert F.to_pil_image(g * 1).size == (4, 4)


def test_to_pil_image_ndarray_hwc():
    arr = np.random.default_rng(5).integers(0, 256, size=(3, 5, 3), dtype=np.uint8)
    img = F.to_pil_image(arr)
    assert img.size == (5, 3)
    np.testing.assert_array_equal(np.array(img), arr)


def test_conversion_errors():
    with pytest.raises(TypeError, match="PIL Image or ndarray"):
        F.to_tensor([[1, 2]])
    with pytest.raises(TypeError, match="already a tensor"):
        F.to_tensor(gpuarr.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="2/3 dimensional"):
        F.to_tensor(np.zeros((2, 2, 2, 2), np.uint8))
    with pytest.raises(TypeError, match="PIL Image"):
        F.pil_to_tensor(np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError, match="Tensor or ndarray"):
        F.to_pil_image("cat.jpg")
    with pytest.raises(ValueError, match="2/3 dimensional"):
        F.to_pil_image(gpuarr.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="> 4 channels"):
        F.to_pil_image(gpuarr.zeros(5, 2, 2))
    with pytest.raises(ValueError, match="C x H x W"):
        F.to_pil_image(gpuarr.zeros(8, 8, 3))  # HWC tensor: a clear hint
    with pytest.raises(ValueError, match="Incorrect mode"):
        F.to_pil_image(gpuarr.zeros(1, 2, 2, dtype=gpuarr.uint8), mode="F")
    with pytest.raises(ValueError, match="Only modes"):
        F.to_pil_image(gpuarr.zeros(3, 2, 2), mode="RGBA")
    with pytest.raises(TypeError, match="not supported"):
        F.to_pil_image(np.zeros((2, 2), np.int64))
    # uint32 arrays stay uint32, as torchvision's to_tensor with torch's uint32 tensors
    assert F.to_tensor(np.zeros((2, 2), np.uint32)).dtype == gpuarr.uint32
