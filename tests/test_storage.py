"""Storages (Tensor.untyped_storage / storage / set_, UntypedStorage, TypedStorage, from_file),
compared with torch: gpuarr on each device against torch on the CPU."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr import storage as _storage

pytestmark = pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")


def _pair(values, dtype: str, device: str):
    return (gpuarr.tensor(values, dtype=getattr(gpuarr, dtype), device=device),
            torch.tensor(values, dtype=getattr(torch, dtype)))


def _raises_like(fn_g, fn_t, exc=None):
    """Both raise the same exception type, with the same message (torch -> gpuarr)."""
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(Exception) as eg:
        fn_g()
    assert type(eg.value) is type(et.value)
    if exc is not None:
        assert type(eg.value) is exc
    assert str(eg.value) == str(et.value).replace("torch", "gpuarr")


# ---------------------------------------------------------------------------------------------
# UntypedStorage of a tensor


@pytest.mark.parametrize("dtype", ["float32", "int64", "float16", "uint8", "bool", "float64"])
def test_untyped_storage_bytes_match_torch(device, dtype):
    vals = [[1, 0, 3], [4, 5, 0]]
    g, t = _pair(vals, dtype, device)
    sg, st = g.untyped_storage(), t.untyped_storage()
    assert type(sg) is gpuarr.UntypedStorage
    assert sg.nbytes() == st.nbytes() == sg.size() == len(sg)
    assert sg.element_size() == st.element_size() == 1
    assert sg.tolist() == st.tolist()
    assert list(sg) == st.tolist()
    assert sg.device == g.device and sg.is_cuda == (device == "cuda")
    assert sg.data_ptr() == g.data_ptr()
    assert sg.type() == st.type().replace("torch", "gpuarr")
    assert sg.is_pinned() is False and sg.untyped() is sg


def test_views_share_the_storage(device):
    g, t = _pair([[0.0, 1, 2], [3, 4, 5]], "float32", device)
    for fg, ft in [(lambda x: x[1:], lambda x: x[1:]), (lambda x: x.t(), lambda x: x.t()),
                   (lambda x: x[:, 1], lambda x: x[:, 1]),
                   (lambda x: x.view(3, 2)[2], lambda x: x.view(3, 2)[2])]:
        vg, vt = fg(g), ft(t)
        assert vg.untyped_storage().data_ptr() == g.untyped_storage().data_ptr()
        assert vg.untyped_storage().nbytes() == vt.untyped_storage().nbytes() == 24
        assert vg.storage_offset() == vt.storage_offset()
        assert vg.data_ptr() == vg.untyped_storage().data_ptr() + 4 * vg.storage_offset()
    # a copy has its own
    assert g.clone().untyped_storage().data_ptr() != g.untyped_storage().data_ptr()


_VIEW_OPS = {
    "expand": lambda m, a: a[:, :1].expand(2, 5, 4),
    "permute": lambda m, a: a.permute(2, 0, 1),
    "diagonal": lambda m, a: a.diagonal(0, 1, 2),
    "unfold": lambda m, a: a.unfold(2, 2, 1),
    "as_strided": lambda m, a: a.as_strided((2, 2), (3, 1), 5),
    "narrow": lambda m, a: a.narrow(2, 1, 2),
    "select": lambda m, a: a.select(1, 2),
    "unsqueeze": lambda m, a: a[1].unsqueeze(0),
    "flatten": lambda m, a: a.flatten(),
    "chunk": lambda m, a: a.chunk(2, 2)[1],
    "unbind": lambda m, a: a.unbind(1)[2],
    "mT": lambda m, a: a.mT,
    "view_dtype": lambda m, a: a.view(m.int32),
    "detach": lambda m, a: a.detach()[1:],
    "movedim": lambda m, a: a.movedim(0, 2),
    # results with storages of their own
    "reshape_copy": lambda m, a: a.transpose(0, 1).reshape(-1),
    "sum": lambda m, a: a.sum(0),
    "matmul": lambda m, a: a @ a.mT,
    "max": lambda m, a: a.max(dim=1).values,
}


@pytest.mark.parametrize("op", list(_VIEW_OPS))
def test_view_ops_storage_geometry_matches_torch(device, op):
    vals = np.arange(24, dtype=np.float32).reshape(2, 3, 4).tolist()
    g, t = _pair(vals, "float32", device)
    vg, vt = _VIEW_OPS[op](gpuarr, g), _VIEW_OPS[op](torch, t)
    sg, st = vg.untyped_storage(), vt.untyped_storage()
    assert sg.nbytes() == st.nbytes()
    assert vg.storage_offset() == vt.storage_offset()
    assert (sg.data_ptr() == g.untyped_storage().data_ptr()) == \
        (st.data_ptr() == t.untyped_storage().data_ptr())
    assert sg.tolist() == st.tolist()


def test_write_through_storage_changes_tensor_and_back(device):
    g, t = _pair([1.0, 2.0, 3.0], "float32", device)
    sg, st = g[1:].untyped_storage(), t[1:].untyped_storage()
    for s in (sg, st):
        s[4] = 0
        s[5] = 0
        s[6] = 0x20
        s[7] = 0x41  # 10.0
    assert g.tolist() == t.tolist() == [1.0, 10.0, 3.0]
    g[2] = 2.0
    t[2] = 2.0
    assert sg.tolist() == st.tolist()
    sg[8:12] = 0
    st[8:12] = 0
    assert g.tolist() == t.tolist() == [1.0, 10.0, 0.0]
    sg.fill_(0)
    assert g.tolist() == [0.0, 0.0, 0.0]


def test_getitem_setitem_semantics(device):
    g, t = _pair([1, 2, 300, -5], "int16", device)
    sg, st = g.untyped_storage(), t.untyped_storage()
    for i in (0, 3, -1, -8):
        assert sg[i] == st[i]
    for sl in (slice(2, 6), slice(None, 3), slice(-3, None), slice(6, 100), slice(5, 2)):
        assert type(sg[sl]) is gpuarr.UntypedStorage
        assert sg[sl].tolist() == st[sl].tolist()
    view = sg[2:6]
    view[0] = 7  # aliases the parent
    assert sg[2] == 7 and g[1].item() == 7 and view.data_ptr() == sg.data_ptr() + 2
    for v in (256, -1, -300, True):  # ints are taken modulo 256, as torch stores them
        sg[0] = v
        st[0] = v
        assert sg[0] == st[0]
    _raises_like(lambda: sg[100], lambda: st[100], IndexError)
    _raises_like(lambda: sg[-100], lambda: st[-100], IndexError)
    _raises_like(lambda: sg[1:5:2], lambda: st[1:5:2], RuntimeError)
    _raises_like(lambda: sg["a"], lambda: st["a"], TypeError)
    _raises_like(lambda: sg.__setitem__(0, 1.5), lambda: st.__setitem__(0, 1.5), RuntimeError)
    _raises_like(lambda: sg.__setitem__(20, 1), lambda: st.__setitem__(20, 1), RuntimeError)
    _raises_like(lambda: sg.fill_(1.5), lambda: st.fill_(1.5), RuntimeError)


def test_fill_copy_clone(device):
    g, t = _pair([1.0, 2.0], "float32", device)
    sg, st = g.untyped_storage(), t.untyped_storage()
    assert sg.fill_(300) is sg
    st.fill_(300)
    assert sg.tolist() == st.tolist()
    src_g, src_t = _pair([5.0, 6.0], "float32", "cpu")
    assert sg.copy_(src_g.untyped_storage()) is sg
    st.copy_(src_t.untyped_storage())
    assert g.tolist() == t.tolist() == [5.0, 6.0]
    _raises_like(lambda: sg.copy_(gpuarr.UntypedStorage(3)),
                 lambda: st.copy_(torch.UntypedStorage(3)), RuntimeError)
    _raises_like(lambda: sg.copy_(g), lambda: st.copy_(t), TypeError)
    c = sg.clone()
    assert c.device == sg.device and c.data_ptr() != sg.data_ptr()
    assert c.tolist() == sg.tolist()
    c[0] = 1
    assert sg[0] == 0
    assert copy.copy(sg).data_ptr() != sg.data_ptr()
    p = pickle.loads(pickle.dumps(sg))
    assert p.tolist() == sg.tolist() and p.device == sg.device


def test_cpu_cuda_moves(device):
    g = gpuarr.tensor([1.0, 2.0], device=device)
    s = g.untyped_storage()
    c = s.cpu()
    assert c.device == gpuarr.device("cpu") and c.tolist() == s.tolist()
    assert (c is s) == (device == "cpu")
    assert s.to(device=device) is s
    if device == "cuda":
        assert s.cuda() is s
        back = c.cuda()
        assert back.device.type == "cuda" and back.tolist() == s.tolist()
        gc = gpuarr.UntypedStorage(8, device="cuda")
        gc.copy_(c)  # across devices
        assert gc.tolist() == c.tolist()


def test_constructors_match_torch(device):
    assert gpuarr.UntypedStorage(10, device=device).nbytes() == 10
    assert gpuarr.UntypedStorage(10, device=device).device.type == device
    assert gpuarr.UntypedStorage().nbytes() == torch.UntypedStorage().nbytes() == 0
    assert (gpuarr.UntypedStorage([1, 2, 300], device=device).tolist()
            == torch.UntypedStorage([1, 2, 300]).tolist())
    assert gpuarr.UntypedStorage(b"abc").tolist() == torch.UntypedStorage(b"abc").tolist()
    _raises_like(lambda: gpuarr.UntypedStorage(2.5), lambda: torch.UntypedStorage(2.5),
                 RuntimeError)
    _raises_like(lambda: gpuarr.UntypedStorage("ab"), lambda: torch.UntypedStorage("ab"),
                 RuntimeError)
    with pytest.raises(RuntimeError, match="negative number"):
        gpuarr.UntypedStorage(-1)
    ts = gpuarr.TypedStorage([1, 2.5], dtype=gpuarr.float64, device=device)
    assert ts.tolist() == torch.TypedStorage([1, 2.5], dtype=torch.float64).tolist()
    assert ts.device.type == device and ts.size() == 2
    assert gpuarr.TypedStorage(3, dtype=gpuarr.int32, device=device).size() == 3
    assert gpuarr.TypedStorage().dtype == gpuarr.get_default_dtype()
    w = gpuarr.TypedStorage(wrap_storage=gpuarr.UntypedStorage(7, device=device),
                            dtype=gpuarr.float32)
    assert w.size() == torch.TypedStorage(wrap_storage=torch.UntypedStorage(7),
                                          dtype=torch.float32).size() == 1
    assert gpuarr.FloatStorage([1, 2]).tolist() == torch.FloatStorage([1, 2]).tolist()
    assert gpuarr.FloatStorage(2).dtype == gpuarr.float32
    assert isinstance(gpuarr.LongStorage(1), gpuarr.TypedStorage)


def test_resize(device):
    s = gpuarr.UntypedStorage([1, 2, 3], device=device)
    t = torch.UntypedStorage([1, 2, 3])
    assert s.resizable() is t.resizable() is True
    assert s.resize_(5) is s
    t.resize_(5)
    assert s.nbytes() == t.nbytes() == 5 and s.tolist()[:3] == t.tolist()[:3] == [1, 2, 3]
    s.resize_(2)
    t.resize_(2)
    assert s.tolist() == t.tolist()
    with pytest.raises(RuntimeError, match="negative number"):
        s.resize_(-1)
    ts = gpuarr.TypedStorage(2, dtype=gpuarr.float32, device=device)
    assert ts.resize_(4) is None and ts.size() == 4


def test_shared_flags(device):
    g, t = _pair([1.0], "float32", device)
    sg = g.untyped_storage()
    assert sg.is_shared() == (device == "cuda")
    assert sg.share_memory_() is sg and sg.is_shared()
    assert g.untyped_storage().is_shared()  # a new storage object of the same memory knows


# ---------------------------------------------------------------------------------------------
# TypedStorage


def test_typed_storage_warns_once_like_torch():
    torch.storage._warn_typed_storage_removal.__dict__["has_warned"] = False
    _storage._warned_typed = False
    for mod in (torch, gpuarr):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mod.zeros(2).storage()
            mod.zeros(2).storage()
        msgs = [str(x.message) for x in w if "TypedStorage" in str(x.message)]
        assert len(msgs) == 1 and w[0].category is UserWarning
        assert w[0].filename == __file__  # attributed to the caller
        if mod is torch:
            expected = msgs[0]
        else:
            assert msgs[0] == expected


@pytest.mark.parametrize("dtype", ["float32", "int64", "float16", "bool", "uint8", "int16"])
def test_typed_storage_matches_torch(device, dtype):
    vals = [1, 0, 3, 1]
    g, t = _pair(vals, dtype, device)
    sg, st = g[1:].storage(), t[1:].storage()
    assert type(sg) is gpuarr.TypedStorage
    assert sg.dtype == getattr(gpuarr, dtype)
    assert sg.size() == len(sg) == st.size() == 4
    assert sg.tolist() == st.tolist()
    assert sg[1] == st[1] and sg[-1] == st[-1]
    assert sg.element_size() == st.element_size() and sg.nbytes() == st.nbytes()
    assert sg.data_ptr() == g.data_ptr()
    assert sg.untyped() is sg._untyped_storage
    assert sg.untyped().data_ptr() == g.untyped_storage().data_ptr()
    assert sg.device == g.device
    assert sg.type() == st.type().replace("torch", "gpuarr" + (".cuda" if device == "cuda"
                                                                    else ""))
    assert g.storage_type().__name__ == t.storage_type().__name__
    _raises_like(lambda: sg[1:2], lambda: st[1:2], RuntimeError)
    _raises_like(lambda: sg[10], lambda: st[10], IndexError)


def test_typed_storage_writes_alias(device):
    g, t = _pair([1.0, 2.0, 3.0], "float32", device)
    sg, st = g.storage(), t.storage()
    sg[0] = 5.0
    st[0] = 5.0
    sg[1:3] = 7.0
    st[1:3] = 7.0
    assert g.tolist() == t.tolist() == [5.0, 7.0, 7.0]
    assert sg.fill_(2) is sg
    assert g.tolist() == [2.0, 2.0, 2.0]
    assert sg.clone().data_ptr() != sg.data_ptr()
    assert sg.cpu().tolist() == [2.0, 2.0, 2.0]


def test_storage_type_without_legacy_class():
    assert gpuarr.zeros(2, dtype=gpuarr.uint16).storage_type() is None
    assert torch.zeros(2, dtype=torch.uint16).storage_type() is None


# ---------------------------------------------------------------------------------------------
# set_


def test_set_to_storage_aliases(device):
    g, t = _pair([0.0, 1, 2, 3, 4, 5], "float32", device)
    for a, mod, s in ((g, gpuarr, g.untyped_storage()), (t, torch, t.untyped_storage())):
        x = mod.tensor([], dtype=mod.float32, device=a.device)
        assert x.set_(s) is x
        assert x.tolist() == a.tolist()
        y = mod.tensor([], dtype=mod.float32, device=a.device).set_(s, 2, (2, 2), (1, 2))
        assert y.storage_offset() == 2 and y.stride() == (1, 2)
        y[0, 0] = 100.0
        z = mod.tensor([], dtype=mod.float32, device=a.device).set_(s, 1, [2, 2])
        assert z.stride() == (2, 1)
        z[1, 1] = -1.0
        w = mod.tensor([], dtype=mod.float32, device=a.device).set_(a.storage(), 0, (3,))
        w[1] = 9.0
        if mod is gpuarr:
            yg = y
    assert g.tolist() == t.tolist() == [0.0, 9.0, 100.0, 3.0, -1.0, 5.0]
    assert yg.untyped_storage().data_ptr() == g.untyped_storage().data_ptr()
    g[5] = 42.0
    assert yg[1, 1].item() == 42.0  # and back: the tensor sees writes to the original


def test_set_reinterprets_untyped_storage(device):
    g, t = _pair([1.0, 2.0, 3.0, 4.0], "float32", device)
    xg = gpuarr.tensor([], dtype=gpuarr.int32, device=device).set_(g.untyped_storage())
    xt = torch.tensor([], dtype=torch.int32).set_(t.untyped_storage())
    assert xg.tolist() == xt.tolist()
    yg = gpuarr.tensor([], dtype=gpuarr.float64, device=device).set_(g.untyped_storage())
    yt = torch.tensor([], dtype=torch.float64).set_(t.untyped_storage())
    assert yg.tolist() == yt.tolist()


def test_set_to_tensor(device):
    g, t = _pair([0.0, 1, 2, 3, 4, 5], "float32", device)
    bg = gpuarr.zeros(2, device=device).set_(g[2:].view(2, 2))
    bt = torch.zeros(2).set_(t[2:].view(2, 2))
    assert bg.shape == bt.shape and bg.stride() == bt.stride()
    assert bg.storage_offset() == bt.storage_offset() == 2
    assert bg.data_ptr() == g[2:].data_ptr() and bg._version_value() == bt._version == 1
    bg[0, 0] = 9.0
    bt[0, 0] = 9.0
    assert g[2].item() == t[2].item() == 9.0
    cg = gpuarr.zeros(2, device=device).set_(g, 1, (2,))
    ct = torch.zeros(2).set_(t, 1, (2,))
    assert cg.tolist() == ct.tolist() == [1.0, 9.0]
    eg, et = gpuarr.zeros(3, device=device).set_(), torch.zeros(3).set_()
    assert eg.shape == et.shape and eg.untyped_storage().nbytes() == 0


def test_set_errors_match_torch(device):
    g, t = _pair([0.0, 1, 2, 3, 4, 5], "float32", device)
    sg, st = g.untyped_storage(), t.untyped_storage()

    def both(f):
        return (lambda: f(gpuarr, g, sg, device)), (lambda: f(torch, t, st, "cpu"))

    cases = [
        (lambda m, a, s, d: m.tensor([], device=d).set_(s, -1, (2,)), RuntimeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(s, 0, (2,), (-1,)), RuntimeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(s, 0, (-2,)), RuntimeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(s, 0, (2,), (1, 1)), RuntimeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(s, 0), TypeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(s, size=(2, 3)), TypeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(None), TypeError),
        (lambda m, a, s, d: m.tensor([], device=d).set_(1), TypeError),
        (lambda m, a, s, d: m.zeros(2, dtype=m.int64, device=d).set_(a), RuntimeError),
        (lambda m, a, s, d: m.tensor([], dtype=m.float64, device=d).set_(a.storage()),
         RuntimeError),
        (lambda m, a, s, d: m.zeros(2, device=d).set_(a, 1), TypeError),
    ]
    for f, exc in cases:
        fg, ft = both(f)
        with pytest.raises(exc) as et:
            ft()
        with pytest.raises(exc) as eg:
            fg()
        first = str(et.value).splitlines()[0]
        assert str(eg.value).splitlines()[0] == first.replace("torch", "gpuarr")


def test_set_beyond_storage_raises(device):
    # torch grows a resizable storage here; gpuarr cannot move other tensors' memory, so it
    # refuses with torch's out-of-bounds text for storages that cannot grow
    g = gpuarr.arange(6.0, device=device)
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 24"):
        gpuarr.tensor([], device=device).set_(g.untyped_storage(), 2, (5,))


def test_set_cuda_storage_on_cpu_tensor_refused(cp):
    with pytest.raises(RuntimeError, match="the devices must match"):
        gpuarr.tensor([]).set_(gpuarr.UntypedStorage(8, device="cuda"))


def test_set_autograd_rules_match_torch(device):
    src_g, src_t = _pair([1.0, 2.0, 3.0], "float32", device)
    for mod, src in ((torch, src_t), (gpuarr, src_g)):
        dev = src.device
        leaf = mod.zeros(2, requires_grad=True, device=dev)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation."):
            leaf.set_(src)
        with mod.no_grad():
            leaf.set_(src)
        assert leaf.requires_grad and leaf.is_leaf and leaf.tolist() == [1.0, 2.0, 3.0]
        y = mod.zeros(2, requires_grad=True, device=dev) * 2
        y.set_(src)
        assert type(y.grad_fn).__name__ == "NotImplemented" and y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for set_ is not implemented"):
            y.sum().backward()
        z = mod.ones(3, requires_grad=True, device=dev)
        q = mod.zeros(2, device=dev).set_(z)
        assert q.requires_grad and type(q.grad_fn).__name__ == "NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for set_ is not implemented"):
            q.sum().backward()
        assert not mod.zeros(2, device=dev).set_(z.detach()).requires_grad


# ---------------------------------------------------------------------------------------------
# from_file


def _write(path, n=10):
    np.arange(n, dtype=np.float32).tofile(path)
    return str(path)


def test_from_file_private_matches_torch(tmp_path):
    fn = _write(tmp_path / "a.bin")
    for kw in ({"size": 10}, {"size": 5}, {"size": 4, "dtype": "int16"},
               {"size": 3, "dtype": "float64"}, {"size": 0}):
        kg = {k: getattr(gpuarr, v) if k == "dtype" else v for k, v in kw.items()}
        kt = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        g, t = gpuarr.from_file(fn, **kg), torch.from_file(fn, **kt)
        assert g.tolist() == t.tolist() and g.dtype.name == str(t.dtype)[6:]
        assert g.device.type == "cpu"
    g = gpuarr.from_file(fn, shared=False, size=10)
    g[0] = 7.0  # copy-on-write: the file keeps its data
    assert np.fromfile(fn, dtype=np.float32)[0] == 0.0
    s = g.untyped_storage()
    assert s.filename is None and s.resizable() is False and s.is_shared()
    _raises_like(lambda: gpuarr.from_file(fn, size=20), lambda: torch.from_file(fn, size=20),
                 RuntimeError)
    missing = str(tmp_path / "missing.bin")
    _raises_like(lambda: gpuarr.from_file(missing, size=3),
                 lambda: torch.from_file(missing, size=3), RuntimeError)
    _raises_like(lambda: gpuarr.from_file(fn, size=3, pin_memory=True),
                 lambda: torch.from_file(fn, size=3, pin_memory=True), RuntimeError)
    assert gpuarr.from_file(fn, size=3, requires_grad=True).requires_grad


def test_from_file_shared_writes_back(tmp_path):
    fn = _write(tmp_path / "b.bin")
    g = gpuarr.from_file(fn, shared=True, size=10)
    g[0] = 42.0
    g[1:3] += 1.0
    assert np.fromfile(fn, dtype=np.float32)[:4].tolist() == [42.0, 2.0, 3.0, 3.0]
    s = g.untyped_storage()
    assert s.filename == fn and s.is_shared() and not s.resizable()
    # a larger size grows the file, as torch does
    big = gpuarr.from_file(fn, shared=True, size=12)
    assert big.tolist()[-2:] == [0.0, 0.0] and (tmp_path / "b.bin").stat().st_size == 48
    fresh = str(tmp_path / "new.bin")
    assert gpuarr.from_file(fresh, shared=True, size=3).tolist() == [0.0, 0.0, 0.0]
    assert (tmp_path / "new.bin").stat().st_size == 12
    us = gpuarr.UntypedStorage.from_file(fn, True, 8)
    tu = torch.UntypedStorage.from_file(fn, True, 8)
    assert us.tolist() == tu.tolist() and us.filename == tu.filename == fn
    us[0:4] = 0
    assert np.fromfile(fn, dtype=np.float32)[0] == 0.0
    assert gpuarr.FloatStorage.from_file(fn, False, 2).tolist() == \
        torch.FloatStorage.from_file(fn, False, 2).tolist()
    _raises_like(lambda: gpuarr.TypedStorage.from_file(fn, False, 2),
                 lambda: torch.TypedStorage.from_file(fn, False, 2), RuntimeError)


def test_from_file_on_cuda_refused(tmp_path, cp):
    fn = _write(tmp_path / "c.bin")
    # torch's from_file has only a CPU kernel
    with pytest.raises(NotImplementedError, match="only available for these backends: "
                                                  r"\[CPU\]"):
        gpuarr.from_file(fn, size=3, device="cuda")
