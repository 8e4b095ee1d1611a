"""transforms and constraint_registry against torch: forward and inverse values, log-det-
Jacobians (also against autograd Jacobians), domains/codomains, event dims, signs, shapes,
caching, inverses, equality, gradients (gradcheck and gradgradcheck), biject_to/transform_to
and their errors; and the constraints the transforms brought (cat, stack)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD
from test_dist_gradients import host, leaf

import gpuarr
import gpuarr.distributions as GD
from gpuarr.autograd import gradcheck, gradgradcheck

GT = GD.transforms
TT = TD.transforms

# name -> (constructor taking the transforms module and a tensor-maker, inputs x in the domain)
CASES = {
    "Exp": (lambda T, t: T.ExpTransform(), [[0.3, -1.0, 2.0]]),
    "Affine": (lambda T, t: T.AffineTransform(t([1.0, -2.0, 0.5]), t([2.0, -0.5, 3.0])),
               [[0.3, -1.0, 2.0]]),
    "Affine-scalar": (lambda T, t: T.AffineTransform(1.0, -3.0), [[0.3, -1.0, 2.0]]),
    "Affine-event": (lambda T, t: T.AffineTransform(t([1.0, 2.0]), t([2.0, -0.5]), event_dim=1),
                     [[[0.3, -1.0], [2.0, 0.0]]]),
    "Sigmoid": (lambda T, t: T.SigmoidTransform(), [[0.3, -1.0, 20.0]]),
    "Softplus": (lambda T, t: T.SoftplusTransform(), [[0.3, -1.0, 20.0]]),
    "Tanh": (lambda T, t: T.TanhTransform(), [[0.3, -1.0, 2.0]]),
    "Abs": (lambda T, t: T.AbsTransform(), [[0.3, -1.0, 2.0]]),
    "Power": (lambda T, t: T.PowerTransform(t([2.0, 0.5, -1.5])), [[0.3, 1.0, 2.0]]),
    "Softmax": (lambda T, t: T.SoftmaxTransform(), [[[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]]]),
    "StickBreaking": (lambda T, t: T.StickBreakingTransform(),
                      [[[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]]]),
    "LowerCholesky": (lambda T, t: T.LowerCholeskyTransform(),
                      [[[0.3, -1.0], [2.0, 0.5]]]),
    "PositiveDefinite": (lambda T, t: T.PositiveDefiniteTransform(),
                         [[[0.3, -1.0], [2.0, 0.5]]]),
    "Compose": (lambda T, t: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.ExpTransform(),
                                                 T.PowerTransform(t(0.5))]),
                [[0.3, -1.0, 2.0]]),
    "Compose-vector": (lambda T, t: T.ComposeTransform([T.ExpTransform(),
                                                        T.AffineTransform(0.0, 2.0),
                                                        T.ExpTransform().inv,
                                                        T.StickBreakingTransform()]),
                       [[[0.3, -1.0, 2.0]]]),
    "Identity": (lambda T, t: T.identity_transform, [[0.3, -1.0]]),
    "Independent": (lambda T, t: T.IndependentTransform(T.ExpTransform(), 1),
                    [[[0.3, -1.0], [2.0, 0.0]]]),
    "Reshape": (lambda T, t: T.ReshapeTransform((2, 3), (3, 2)),
                [np.arange(12.0).reshape(2, 2, 3) / 5]),
    "Inverse": (lambda T, t: T.SigmoidTransform().inv, [[0.3, 0.01, 0.9]]),
    "Cat": (lambda T, t: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0)],
                                        dim=-1, lengths=[2, 1]), [[[0.3, -1.0, 2.0]]]),
    "Cat-event": (lambda T, t: T.CatTransform([T.IndependentTransform(T.ExpTransform(), 1),
                                               T.SigmoidTransform()],
                                              dim=-1, lengths=[2, 1]), [[[0.3, -1.0, 2.0]]]),
    "Stack": (lambda T, t: T.StackTransform([T.ExpTransform(), T.TanhTransform()], dim=1),
              [[[0.3, -1.0], [2.0, 0.0]]]),
    "CorrCholesky": (lambda T, t: T.CorrCholeskyTransform(),
                     [[[0.3, -1.0, 2.0], [0.0, 0.5, -0.2]], [[0.3, -1.0, 2.0, 0.1, 0.0, -3.0]]]),
    "CDF": (lambda T, t: T.CumulativeDistributionTransform(
        (GD if T is GT else TD).Normal(t([0.5]), t([2.0]))), [[0.3, -1.0, 2.0]]),
}
NOT_BIJECTIVE = {"Abs", "Softmax", "LowerCholesky", "PositiveDefinite"}
# a cat of constraints with different event dims cannot join its checks (torch's neither)
UNCHECKABLE = {"Cat-event"}


def _pair(name, device):
    ctor, values = CASES[name]
    ours = ctor(GT, lambda v: gpuarr.tensor(np.asarray(v, dtype=np.float64), device=device))
    theirs = ctor(TT, lambda v: torch.tensor(np.asarray(v, dtype=np.float64)))
    return ours, theirs, values


def _close(a, b, rtol=1e-10):
    np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=rtol, atol=1e-12)


def _name(c) -> str:
    return repr(c).split("(")[0]


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(device, name):
    ours, theirs, values = _pair(name, device)
    assert ours.bijective == theirs.bijective
    assert _name(ours.domain) == _name(theirs.domain)
    assert _name(ours.codomain) == _name(theirs.codomain)
    assert ours.domain.event_dim == theirs.domain.event_dim
    assert ours.codomain.event_dim == theirs.codomain.event_dim
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.inv.inv is ours
    for v in values:
        tx = torch.tensor(np.asarray(v, dtype=np.float64))
        gx = gpuarr.tensor(tx.numpy(), device=device)
        gy, ty = ours(gx), theirs(tx)
        _close(gy, ty)
        assert tuple(ours.forward_shape(gx.shape)) == tuple(theirs.forward_shape(tx.shape))
        assert tuple(ours.inverse_shape(gy.shape)) == tuple(theirs.inverse_shape(ty.shape))
        if name not in UNCHECKABLE:
            assert np.all(host(ours.codomain.check(gy)))
        _close(ours.inv(gy), theirs.inv(ty), rtol=1e-8)
        if name not in NOT_BIJECTIVE:
            _close(ours.log_abs_det_jacobian(gx, gy), theirs.log_abs_det_jacobian(tx, ty))
            _close(ours.inv.log_abs_det_jacobian(gy, gx), theirs.inv.log_abs_det_jacobian(ty, tx))
            _close(ours.inv(gy), tx, rtol=1e-8)  # a true inverse


@pytest.mark.parametrize("name", ["Exp", "Affine", "Sigmoid", "Tanh", "Softplus", "Power",
                                  "Compose", "Inverse"])
def test_log_abs_det_jacobian_is_log_derivative(device, name):
    ours, _, values = _pair(name, device)
    # (at |x| = 20 autograd's s (1 - s) for the sigmoid has lost digits; the formula has not)
    x = leaf(np.clip(values[0], -3, 3), device)
    ours(x).sum().backward()  # elementwise: the Jacobian is diagonal
    np.testing.assert_allclose(host(ours.log_abs_det_jacobian(x, ours(x))),
                               np.log(np.abs(host(x.grad))), rtol=1e-9)


def test_stick_breaking_jacobian_determinant(device):
    t = GT.StickBreakingTransform()
    x = np.array([0.3, -1.0, 2.0])
    jac = np.zeros((3, 3))
    for i in range(3):  # d y[:3] / d x, one output at a time
        xi = leaf(x, device)
        t(xi)[i].backward()
        jac[i] = host(xi.grad)
    gx = gpuarr.tensor(x, device=device)
    expected = np.log(abs(np.linalg.det(jac)))
    np.testing.assert_allclose(host(t.log_abs_det_jacobian(gx, t(gx))), expected, rtol=1e-9)


@pytest.mark.parametrize("name", ["Exp", "Affine", "Sigmoid", "Tanh", "Softplus", "Power",
                                  "StickBreaking", "Softmax", "LowerCholesky", "Compose-vector",
                                  "CorrCholesky",
                                  "Cat", "Stack", "Independent"])
def test_gradcheck(device, name):
    ours, _, values = _pair(name, device)
    # away from saturation, where finite differences of the clamped inverse are meaningless
    x = leaf(np.clip(values[0], -3, 3), device)
    assert gradcheck(lambda x: ours(x), (x,))
    assert gradgradcheck(lambda x: ours(x), (x,))
    if name not in NOT_BIJECTIVE:
        assert gradcheck(lambda x: ours.log_abs_det_jacobian(x, ours(x)), (x,))
        y = ours(x).detach().requires_grad_()
        assert gradcheck(lambda y: ours.inv(y), (y,))


def test_parameter_gradients_match_torch(device):
    loc, scale, expo = (leaf(v, device) for v in ([1.0, -2.0], [2.0, -0.5], [2.0, 0.5]))
    tl, ts, te = (torch.tensor(v, dtype=torch.float64, requires_grad=True)
                  for v in ([1.0, -2.0], [2.0, -0.5], [2.0, 0.5]))
    x = np.array([0.3, 1.5])
    for lib, a, b, c, xv in ((GT, loc, scale, expo, gpuarr.tensor(x, device=loc.device)),
                             (TT, tl, ts, te, torch.tensor(x))):
        t = lib.ComposeTransform([lib.PowerTransform(c), lib.AffineTransform(a, b)])
        y = t(xv)
        (y.sum() + t.log_abs_det_jacobian(xv, y).sum()).backward()
    for g, t in ((loc, tl), (scale, ts), (expo, te)):
        np.testing.assert_allclose(host(g.grad), t.grad.numpy(), rtol=1e-10)


def test_sign_event_dim_and_equality(device):
    def t(v):
        return gpuarr.tensor(v, dtype=gpuarr.float64, device=device)

    assert GT.ExpTransform().sign == 1 and GT.AffineTransform(0.0, -2.0).sign == -1
    assert host(GT.AffineTransform(0.0, t([2.0, -1.0])).sign).tolist() == [1.0, -1.0]
    assert GT.ComposeTransform([GT.ExpTransform(), GT.AffineTransform(0.0, -1.0)]).sign == -1
    assert GT.AffineTransform(0.0, -1.0).inv.sign == -1
    assert GT.ExpTransform() == GT.ExpTransform() and GT.ExpTransform() != GT.SigmoidTransform()
    assert GT.ExpTransform().inv == GT.ExpTransform().inv
    assert GT.AffineTransform(1.0, 2.0) == GT.AffineTransform(1.0, 2.0)
    assert GT.AffineTransform(t([1.0]), 2.0) != GT.AffineTransform(t([1.5]), 2.0)
    assert GT.PowerTransform(t(2.0)) == GT.PowerTransform(t(2.0))
    assert GT.ComposeTransform([GT.ExpTransform()]) == GT.ComposeTransform([GT.ExpTransform()])
    assert GT.StickBreakingTransform().event_dim == 1
    with pytest.raises(ValueError, match="Please use either .domain.event_dim or"):
        GT.ReshapeTransform((2, 3), (6,)).event_dim  # noqa: B018
    assert GT.CatTransform([GT.ExpTransform(), GT.StickBreakingTransform()]).event_dim == 1
    assert repr(GT.IndependentTransform(GT.ExpTransform(), 1)) == repr(
        TT.IndependentTransform(TT.ExpTransform(), 1))
    assert repr(GT.ComposeTransform([GT.ExpTransform(), GT.TanhTransform()])) == repr(
        TT.ComposeTransform([TT.ExpTransform(), TT.TanhTransform()]))
    assert repr(GT.ExpTransform().inv) == repr(TT.ExpTransform().inv)


def test_caching(device):
    x = gpuarr.tensor([0.3, -1.0], dtype=gpuarr.float64, device=device)
    t = GT.ExpTransform(cache_size=1)
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert GT.ExpTransform()(x) is not GT.ExpTransform()(x)
    assert t.with_cache(1) is t and t.with_cache(0)._cache_size == 0
    c = GT.ComposeTransform([GT.ExpTransform(), GT.AffineTransform(1.0, 2.0)], cache_size=1)
    assert c.inv(c(x)) is x
    assert GT.AffineTransform(0.0, 1.0).inv.with_cache(1)._cache_size == 1
    for bad in (lambda: GT.ExpTransform(cache_size=2), lambda: TT.ExpTransform(cache_size=2)):
        with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
            bad()


def test_shape_errors_match_torch(device):
    pairs = [
        (lambda T: T.ReshapeTransform((2, 3), (5,)), ValueError),
        (lambda T: T.ReshapeTransform((2, 3), (6,)).forward_shape((2, 4)), ValueError),
        (lambda T: T.ReshapeTransform((2, 3), (6,)).forward_shape((3,)), ValueError),
        (lambda T: T.StickBreakingTransform().forward_shape(()), ValueError),
        (lambda T: T.SoftmaxTransform().inverse_shape(()), ValueError),
    ]
    for make, exc in pairs:
        with pytest.raises(exc) as e2:
            make(TT)
        with pytest.raises(exc) as e1:
            make(GT)
        assert str(e1.value) == str(e2.value).replace("torch", "gpuarr")
    x = gpuarr.zeros(2, 2, device=device)
    with pytest.raises(ValueError, match="Too few dimensions on input"):
        GT.IndependentTransform(GT.ExpTransform(), 3)(x)


@pytest.mark.parametrize("dev_shape", [(0, 3), (2, 0, 3)])
def test_empty_inputs(device, dev_shape):
    x = gpuarr.zeros(dev_shape, dtype=gpuarr.float64, device=device)
    for t in (GT.ExpTransform(), GT.StickBreakingTransform(), GT.SoftmaxTransform(),
              GT.IndependentTransform(GT.SigmoidTransform(), 1)):
        y = t(x)
        assert tuple(y.shape) == tuple(t.forward_shape(x.shape))
        if t.bijective:
            expected = dev_shape[: len(dev_shape) - t.domain.event_dim]
            assert tuple(t.log_abs_det_jacobian(x, y).shape) == expected


# ---- constraint registry -------------------------------------------------------------------


def _constraints(C, t):
    return [C.real, C.positive, C.nonnegative, C.unit_interval, C.interval(t(-2.0), t(3.0)),
            C.half_open_interval(1.0, 4.0), C.greater_than(t(2.0)), C.greater_than_eq(-1.0),
            C.less_than(t(1.5)), C.simplex, C.real_vector, C.independent(C.positive, 1),
            C.lower_cholesky, C.positive_definite, C.corr_cholesky,
            C.cat([C.positive, C.unit_interval], -1, [2, 1]),
            C.stack([C.positive, C.real, C.unit_interval], -1)]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_registry_matches_torch(device, registry):
    ours_reg = getattr(GD, registry)
    theirs_reg = getattr(TD, registry)
    ours_cs = _constraints(GD.constraints, lambda v: gpuarr.tensor(v, dtype=gpuarr.float64,
                                                                   device=device))
    theirs_cs = _constraints(TD.constraints, lambda v: torch.tensor(v, dtype=torch.float64))
    x = np.array([[0.3, -1.0, 2.0], [0.0, 0.5, -0.2], [1.0, 1.0, 1.0]])
    for oc, tc in zip(ours_cs, theirs_cs):
        try:
            tt = theirs_reg(tc)
        except NotImplementedError as e:
            with pytest.raises(NotImplementedError, match=str(e)):
                ours_reg(oc)
            continue
        ot = ours_reg(oc)
        assert repr(ot) == repr(tt)
        xv = x if oc.event_dim < 2 else x[:2, :2]
        if isinstance(ot, GT.CorrCholeskyTransform):
            xv = x  # rows of 3 = 3 x 3 / 2 below-diagonal entries
        gx, tx = gpuarr.tensor(xv, device=device), torch.tensor(xv)
        gy = ot(gx)
        _close(gy, tt(tx))
        assert np.all(host(oc.check(gy)))  # onto the constraint
        if ot.bijective:
            _close(ot.inv(gy), tx, rtol=1e-7)
            _close(ot.log_abs_det_jacobian(gx, gy), tt.log_abs_det_jacobian(tx, tt(tx)))


def test_registry_register_and_errors():
    reg = GD.constraint_registry.ConstraintRegistry()

    @reg.register(GD.constraints.positive)
    def _to_positive(constraint):
        return GT.SoftplusTransform()

    assert isinstance(reg(GD.constraints.positive), GT.SoftplusTransform)
    with pytest.raises(NotImplementedError, match="Cannot transform _Simplex constraints"):
        reg(GD.constraints.simplex)
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint"):
        reg.register(3, _to_positive)
    assert GD.biject_to is GD.constraint_registry.biject_to


def test_cat_and_stack_constraints_match_torch(device):
    v = np.array([[0.5, 2.0, 0.3], [-1.0, 0.2, 1.5]])
    gv, tv = gpuarr.tensor(v, device=device), torch.tensor(v)
    for make in (lambda C: C.cat([C.positive, C.unit_interval], 1, [2, 1]),
                 lambda C: C.stack([C.positive, C.real, C.unit_interval], 1),
                 lambda C: C.stack([C.positive, C.unit_interval], 0),
                 lambda C: C.cat([C.positive, C.real], 0, [1, 1])):
        oc, tc = make(GD.constraints), make(TD.constraints)
        np.testing.assert_array_equal(host(oc.check(gv)), tc.check(tv).numpy())
        assert oc.event_dim == tc.event_dim and oc.is_discrete == tc.is_discrete


def test_tril_vec_helpers_match_torch(device):
    from torch.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix

    m = np.arange(32.0).reshape(2, 4, 4)
    for diag in (-2, -1, 0, 1):
        v = GT.tril_matrix_to_vec(gpuarr.tensor(m, device=device), diag)
        np.testing.assert_array_equal(host(v), tril_matrix_to_vec(torch.tensor(m), diag).numpy())
        back = GT.vec_to_tril_matrix(v, diag)
        np.testing.assert_array_equal(host(back), vec_to_tril_matrix(
            torch.tensor(host(v)), diag).numpy())
    with pytest.raises(ValueError, match="cannot be expressed as the lower triangular part"):
        GT.vec_to_tril_matrix(gpuarr.zeros(4, device=device))
    with pytest.raises(ValueError, match=r"diag \(4\) provided is outside \[-4, 3\]"):
        GT.tril_matrix_to_vec(gpuarr.tensor(m, device=device), 4)
    c = GD.constraints.corr_cholesky
    y = GT.CorrCholeskyTransform()(gpuarr.tensor([[0.3, -1.0, 2.0]], device=device))
    bad = y * 1.1
    np.testing.assert_array_equal(host(c.check(gpuarr.cat([y, bad]))), [True, False])
