"""``linalg.eig`` / ``linalg.eigvals`` (gpuarr.ops.linalg_eig), tested against PyTorch 2.13.

Eigenvalues come in no fixed order (NumPy's and torch's LAPACK builds may differ), so they are
compared as sets: each torch eigenvalue is matched to the nearest gpuarr one, and the match
must be a permutation. Eigenvectors are defined up to a phase per column, so they are checked
through ``A V = V diag(L)``, unit column norms, and ``|V|`` (phase-invariant) against torch's
matched columns. Gradients are checked by gradcheck (float64 / complex128) and against torch
with losses that do not depend on the eigenvectors' phase.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.ops.linalg_eig import eig, eigvals

HSET = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

DTYPES = ["float32", "float64", "complex64", "complex128"]
RESULT = {"float32": "complex64", "complex64": "complex64",
          "float64": "complex128", "complex128": "complex128"}


def npy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def rand(shape, seed: int = 0, dtype: str = "float64") -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def match(ours: np.ndarray, ref: np.ndarray, tol: float) -> np.ndarray:
    """For a batch of eigenvalue vectors, the permutation ``p`` with ``ours[..., p] ~= ref``
    (nearest neighbour; asserts it is a permutation and the values agree within ``tol``)."""
    assert ours.shape == ref.shape
    if ref.size == 0:
        return np.zeros(ref.shape, dtype=np.int64)
    o = ours.reshape(-1, ours.shape[-1])
    r = ref.reshape(-1, ref.shape[-1])
    perms = []
    for oi, ri in zip(o, r):
        d = np.abs(ri[:, None] - oi[None, :])
        p = d.argmin(1)
        assert sorted(p.tolist()) == list(range(len(ri))), (oi, ri)
        np.testing.assert_allclose(oi[p], ri, atol=tol, rtol=tol)
        perms.append(p)
    return np.array(perms, dtype=np.int64).reshape(ref.shape)


def check_decomposition(a: np.ndarray, L: np.ndarray, V: np.ndarray, tol: float) -> None:
    """``A V = V diag(L)`` and unit column norms."""
    a = a.astype(V.dtype)
    scale = max(1.0, float(np.abs(a).max(initial=0)))
    np.testing.assert_allclose(a @ V, V * L[..., None, :], atol=tol * scale)
    if V.size:
        np.testing.assert_allclose(np.linalg.norm(V, axis=-2), 1.0, atol=tol)


def compare_with_torch(a: np.ndarray, device: str) -> None:
    tol = 1e-4 if a.dtype in (np.float32, np.complex64) else 1e-10
    L, V = eig(gpuarr.tensor(a, device=device))
    tL, tV = torch.linalg.eig(torch.tensor(a))
    assert L.dtype.name == str(tL.dtype).split(".")[1] and V.dtype == L.dtype
    assert tuple(L.shape) == tuple(tL.shape) and tuple(V.shape) == tuple(tV.shape)
    assert L.device == V.device and L.device.type == device
    Ln, Vn = npy(L), npy(V)
    check_decomposition(a, Ln, Vn, tol * 10)
    p = match(Ln, tL.numpy(), tol * 10)
    # |V| does not depend on the phase: compare the matched columns with torch's
    Vp = np.take_along_axis(Vn, p[..., None, :], axis=-1)
    np.testing.assert_allclose(np.abs(Vp), np.abs(tV.numpy()), atol=tol * 1e3)
    # eigvals gives the same set
    w = eigvals(gpuarr.tensor(a, device=device))
    assert w.dtype == L.dtype and w.device == L.device
    match(npy(w), tL.numpy(), tol * 10)


# --------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 4, 4), (2, 1, 3, 3)])
def test_values_match_torch(device, dtype, shape):
    compare_with_torch(rand(shape, 1, dtype), device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_result_dtypes(device, dtype):
    L, V = eig(gpuarr.tensor(rand((3, 3), 2, dtype), device=device))
    assert L.dtype.name == V.dtype.name == RESULT[dtype]
    assert eigvals(gpuarr.tensor(rand((3, 3), 2, dtype), device=device)).dtype.name == \
        RESULT[dtype]


def test_complex_eigenvalues_of_real_matrix(device):
    """A rotation: real input, a conjugate pair of eigenvalues (NumPy returns complex here and
    real arrays for real spectra: both must come out complex)."""
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    compare_with_torch(rot, device)
    L = npy(eig(gpuarr.tensor(rot, device=device)).eigenvalues)
    np.testing.assert_allclose(np.sort(L.imag), [-1.0, 1.0])
    diag = np.diag([1.0, 2.0, 3.0]).astype(np.float32)
    L, V = eig(gpuarr.tensor(diag, device=device))
    assert L.dtype == gpuarr.complex64
    np.testing.assert_allclose(np.sort(npy(L).real), [1, 2, 3])
    np.testing.assert_allclose(np.abs(npy(V)), np.eye(3))


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_empty(device, shape):
    L, V = eig(gpuarr.zeros(shape, device=device))
    tL, tV = torch.linalg.eig(torch.zeros(shape))
    assert tuple(L.shape) == tuple(tL.shape) and tuple(V.shape) == tuple(tV.shape)
    assert L.dtype == V.dtype == gpuarr.complex64
    assert tuple(eigvals(gpuarr.zeros(shape, device=device)).shape) == tuple(tL.shape)


@given(batch=st.lists(st.integers(0, 2), max_size=2), n=st.integers(0, 4),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
@HSET
def test_shapes_hypothesis(device, batch, n, dtype, seed):
    compare_with_torch(rand(tuple(batch) + (n, n), seed, dtype), device)


def test_cpu_autocast_runs_in_float32():
    """torch's CPU autocast casts eig's and eigvals' inputs to float32 (needs the "eig" and
    "eigvals" entries of gpuarr._autocast.POLICIES)."""
    a = np.eye(2, dtype=np.float32)
    with gpuarr.autocast("cpu", dtype=gpuarr.bfloat16):
        L, V = eig(gpuarr.tensor(a, dtype=gpuarr.bfloat16))
        w = eigvals(gpuarr.tensor(a, dtype=gpuarr.bfloat16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tL = torch.linalg.eig(torch.tensor(a, dtype=torch.bfloat16))[0]
    assert L.dtype == V.dtype == w.dtype == gpuarr.complex64 and tL.dtype == torch.complex64
    np.testing.assert_allclose(npy(L), tL.numpy())


def test_result_type_and_fields(device):
    res = eig(gpuarr.tensor(rand((2, 2)), device=device))
    assert type(res).__name__ == "linalg_eig"
    assert res.eigenvalues is res[0] and res.eigenvectors is res[1]


# --------------------------------------------------------------------------------------------
# errors, compared with torch's


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    return None


ERROR_CASES = {
    "non-square": lambda m, f: getattr(m.linalg if m is torch else _MOD, f)(m.ones(2, 3)),
    "1-d": lambda m, f: getattr(m.linalg if m is torch else _MOD, f)(m.ones(3)),
    "int": lambda m, f: getattr(m.linalg if m is torch else _MOD, f)(
        m.ones(2, 2, dtype=m.int64)),
    "bool": lambda m, f: getattr(m.linalg if m is torch else _MOD, f)(
        m.ones(2, 2, dtype=m.bool)),
    "half": lambda m, f: getattr(m.linalg if m is torch else _MOD, f)(
        m.ones(2, 2, dtype=m.float16)),
    "list": lambda m, f: getattr(m.linalg if m is torch else _MOD, f)([[1.0, 2.0], [3.0, 4.0]]),
}


class _MOD:  # gpuarr's functions under torch.linalg's names
    eig = staticmethod(eig)
    eigvals = staticmethod(eigvals)


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")  # torch's, for half
@pytest.mark.parametrize("fn", ["eig", "eigvals"])
@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_match_torch(fn, case):
    ours = _outcome(lambda: ERROR_CASES[case](gpuarr, fn))
    ref = _outcome(lambda: ERROR_CASES[case](torch, fn))
    assert ref is not None
    assert ours == ref


def test_errors_on_device(device):
    with pytest.raises(RuntimeError, match="A must be batches of square matrices, but they are "
                                           "2 by 3 matrices"):
        eig(gpuarr.ones(2, 3, device=device))
    with pytest.raises(RuntimeError, match="Unknown Complex ScalarType for Int"):
        eigvals(gpuarr.ones(2, 2, dtype=gpuarr.int32, device=device))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nonfinite_input(device, bad):
    a = np.array([[1.0, bad], [3.0, 4.0]])
    ref = _outcome(lambda: torch.linalg.eig(torch.tensor(a)))
    assert ref == _outcome(lambda: eig(gpuarr.tensor(a, device=device)))
    # (torch's eigvals crashes the process on NaN input; gpuarr raises eig's error)
    assert _outcome(lambda: eigvals(gpuarr.tensor(a, device=device))) == ref


# --------------------------------------------------------------------------------------------
# out=


@pytest.mark.parametrize("out_dtype", ["complex64", "complex128"])
def test_out(device, out_dtype):
    a = rand((2, 3, 3), 3)
    dt = getattr(gpuarr, out_dtype)
    w, v = gpuarr.empty(0, dtype=dt, device=device), gpuarr.empty(0, dtype=dt, device=device)
    res = eig(gpuarr.tensor(a, device=device), out=(w, v))
    assert res[0] is w and res[1] is v
    assert w.dtype == dt and tuple(w.shape) == (2, 3) and tuple(v.shape) == (2, 3, 3)
    check_decomposition(a, npy(w), npy(v), 1e-5)
    o = gpuarr.empty(0, dtype=dt, device=device)
    assert eigvals(gpuarr.tensor(a, device=device), out=o) is o
    match(npy(o), npy(w), 1e-5)


OUT_ERROR_CASES = [
    ("eig", lambda m: (m.empty(0), m.empty(0, dtype=m.complex64))),
    ("eig", lambda m: (m.empty(0, dtype=m.complex64), m.empty(0))),
    ("eig", lambda m: m.empty(0, dtype=m.complex64)),
    ("eigvals", lambda m: m.empty(0)),
]


@pytest.mark.parametrize("fn,make_out", OUT_ERROR_CASES)
def test_out_errors_match_torch(fn, make_out):
    ref = _outcome(lambda: getattr(torch.linalg, fn)(torch.ones(2, 2), out=make_out(torch)))
    ours = _outcome(lambda: getattr(_MOD, fn)(gpuarr.ones(2, 2), out=make_out(gpuarr)))
    assert ref is not None and ours == ref


def test_out_with_grad_raises(device):
    A = gpuarr.tensor(rand((2, 2)), device=device, requires_grad=True)
    o = gpuarr.empty(0, dtype=gpuarr.complex128, device=device)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        eigvals(A, out=o)


# --------------------------------------------------------------------------------------------
# gradients


def _loss(L, V):
    """A loss invariant to each eigenvector's phase: eigenvalues and |V| only."""
    return (L.real * L.imag).sum() + (L.abs() ** 2).sum() + (V.abs() ** 3).sum()


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_gradcheck_eigenvalues(device, dtype):
    A = gpuarr.tensor(rand((2, 3, 3), 4, dtype), device=device, requires_grad=True)
    assert gradcheck(lambda x: eig(x)[0], (A,))
    assert gradcheck(eigvals, (A,))


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_gradcheck_eigenvector_moduli(device, dtype):
    A = gpuarr.tensor(rand((3, 3), 5, dtype), device=device, requires_grad=True)
    assert gradcheck(lambda x: eig(x)[1].abs(), (A,))
    assert gradcheck(lambda x: _loss(*eig(x)), (A,))


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_grad_matches_torch(device, dtype, shape):
    a = rand(shape, 6, dtype)
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    tA = torch.tensor(a, requires_grad=True)
    _loss(*eig(A)).backward()
    _loss(*torch.linalg.eig(tA)).backward()
    assert A.grad.dtype == A.dtype and A.grad.device == A.device
    np.testing.assert_allclose(npy(A.grad), tA.grad.numpy(), atol=1e-8, rtol=1e-7)
    # eigenvalues only: the same backward with no eigenvector gradient
    A.grad = None
    tA.grad = None
    (eigvals(A).imag ** 2 + eigvals(A).real).sum().backward()
    (torch.linalg.eigvals(tA).imag ** 2 + torch.linalg.eigvals(tA).real).sum().backward()
    np.testing.assert_allclose(npy(A.grad), tA.grad.numpy(), atol=1e-8, rtol=1e-7)


def test_grad_only_eigenvectors_matches_torch(device):
    a = rand((3, 3), 7, "complex128")
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    tA = torch.tensor(a, requires_grad=True)
    (eig(A)[1].abs() ** 2 * gpuarr.arange(3.0, device=device)).sum().backward()
    (torch.linalg.eig(tA)[1].abs() ** 2 * torch.arange(3.0)).sum().backward()
    np.testing.assert_allclose(npy(A.grad), tA.grad.numpy(), atol=1e-8, rtol=1e-7)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_phase_dependent_loss_raises(device, dtype):
    # a matrix whose eigenvectors are complex (complex input, or a real rotation-like block)
    a = rand((3, 3), 8, dtype) if dtype == "complex128" else \
        np.array([[0.0, -2.0, 0.1], [1.0, 0.0, 0.3], [0.2, 0.1, 3.0]])
    A = gpuarr.tensor(a, device=device, requires_grad=True)
    tA = torch.tensor(a, requires_grad=True)
    ref = _outcome(lambda: torch.linalg.eig(tA)[1].imag.sum().backward())
    assert ref is not None
    assert _outcome(lambda: eig(A)[1].imag.sum().backward()) == ref
    assert ref[1] == (
        "linalg_eig_backward: The eigenvectors in the complex case are specified up to "
        "multiplication by e^{i phi}. The specified loss function depends on this quantity, "
        "so it is ill-defined.")


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_gradgradcheck(device, dtype):
    A = gpuarr.tensor(rand((3, 3), 9, dtype), device=device, requires_grad=True)
    assert gradgradcheck(eigvals, (A,))
    assert gradgradcheck(lambda x: eig(x)[1].abs(), (A,))


def test_outputs_require_grad(device):
    A = gpuarr.tensor(rand((2, 2)), device=device, requires_grad=True)
    L, V = eig(A)
    assert L.requires_grad and V.requires_grad and eigvals(A).requires_grad
    assert L.grad_fn.name() == "LinalgEigBackward0"  # torch's node name
    assert not eigvals(A.detach()).requires_grad


@pytest.mark.filterwarnings("ignore:Synchronization debug mode is a prototype")
def test_cuda_sync_is_reported(cp):
    """On CUDA the decomposition reads the matrix on the host: the sync debug mode sees it
    (``cp``: skipped where CUDA is not available)."""
    A = gpuarr.tensor(rand((2, 2)), device="cuda")
    gpuarr.cuda.set_sync_debug_mode(2)
    try:
        with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
            eig(A)
        with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
            eigvals(A)
    finally:
        gpuarr.cuda.set_sync_debug_mode(0)
