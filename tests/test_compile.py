"""``gpuarr.compile``: capture a whole step once, replay it without Python overhead.

The specification these tests check (it mirrors ``torch.compile``):

- ``gpuarr.compile(fn, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
  options=None, disable=False)``, ``@gpuarr.compile`` and ``@gpuarr.compile(mode=...)`` return
  a callable with ``stats()`` (a dict with "traces", "replays", "eager_calls",
  "cache_entries") and ``eager_reason`` (None or a str); ``options={"cache_size_limit": N}``
  bounds the cached programs (default 8).
- A call whose signature (tensor arguments' shapes/dtypes/devices/requires_grad, grad mode,
  Modules' training flags, optimizer hyperparameters other than the learning rate, which
  replays read afresh, closed-over Python scalars) has no
  verified program runs eagerly while recording (a trace). Two consecutive traces of the same
  signature that record the same program verify it; later calls replay it. A stable step
  traces on calls 1 and 2 and replays from call 3; a step whose program changes between calls
  1 and 2 (optimizer state created on call 1, ``p.grad`` None on call 1) traces on call 3 too
  and replays from call 4.
- Replayed results equal eager gpuarr's exactly on the CPU and within 1e-6 relative on CUDA.
- A new signature retraces and old ones stay cached; more than ``cache_size_limit`` signatures
  make the function run eagerly from then on, with one UserWarning naming "gpuarr.compile"
  and "cache_size_limit".
- Reading a value in Python during a trace (``.item()``, ``bool``, ``float``, ``.tolist()``,
  ``print``) makes the function run eagerly from then on, with one UserWarning that contains
  "gpuarr.compile", "runs eagerly" and the user's file:line; ``eager_reason`` says the same and
  ``stats()["eager_calls"]`` counts those calls. A function that returns tensors still needing
  autograd (a model's forward in training) records its backward program too, and replays join
  the caller's autograd graph as one node.
- ``gpuarr.compile(module)`` returns a module-like object (with ``_orig_mod``) that runs the
  compiled forward.
- Random ops draw exactly what eager draws with the same seed.

Every test computes the eager reference with plain gpuarr, runs the compiled version on the
same inputs and compares; the statistics and warning checks come last. Python side effects
(list appends, counters) happen only on traced calls, as with torch's CUDA graphs, so no test
relies on them during replay.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from compile_models import (
    BATCH,
    CASES,
    assert_same,
    assert_same_params,
    batches,
    compile_warnings,
    make_train_step,
    mlp,
    mlp_with_batchnorm_dropout,
    mlp_with_dropout,
    recorded_warnings,
    run_steps,
    snap,
    twin_models,
)

import gpuarr
from gpuarr import nn

STATS_KEYS = {"traces", "replays", "eager_calls", "cache_entries"}


# --- helpers ---------------------------------------------------------------------------------

def stats_of(compiled) -> dict:
    """``compiled.stats()``, checked to have the four specified keys."""
    st = compiled.stats()
    assert STATS_KEYS <= set(st), f"stats() lacks {STATS_KEYS - set(st)}: {st}"
    return st


def assert_no_fallback(compiled, n_calls: int) -> dict:
    """The function never fell back to eager: no eager calls, no eager_reason, and every one of
    the ``n_calls`` calls was either a trace or a replay."""
    st = stats_of(compiled)
    assert st["eager_calls"] == 0, st
    assert compiled.eager_reason is None
    assert st["traces"] + st["replays"] == n_calls, st
    return st


def line_of(marker: str) -> int:
    """The line number, in this file, of the one line that ends with the comment
    ``# marker`` (the line a fallback warning must name)."""
    lines = Path(__file__).read_text().splitlines()
    hits = [i for i, text in enumerate(lines, 1) if text.rstrip().endswith("# " + marker)]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def twin_setups(setup, device: str):
    """``setup(model)`` (a step and what else it returns) for twin MLPs, the first step
    compiled: ``((compiled step, *rest), (eager step, *rest), (compiled model, eager model))``."""
    model_c, model_e = twin_models(mlp, device)
    step_c, *rest_c = setup(model_c)
    step_e, *rest_e = setup(model_e)
    return (gpuarr.compile(step_c), *rest_c), (step_e, *rest_e), (model_c, model_e)


def affine_tanh(x, w):
    """A small pure tensor function (no autograd: neither argument requires grad)."""
    return (x @ w).tanh() * 2.0 + 1.0


def inputs(device: str, batch: int, n: int = 1, seed: int = 0):
    """``n`` different float32 inputs of shape (batch, 16) on ``device``."""
    rng = np.random.default_rng(seed)
    return [gpuarr.tensor(rng.standard_normal((batch, 16)).astype(np.float32), device=device)
            for _ in range(n)]


def weight(device: str):
    """A fixed (16, 8) float32 weight on ``device`` that does not require grad."""
    rng = np.random.default_rng(99)
    return gpuarr.tensor(rng.standard_normal((16, 8)).astype(np.float32), device=device)


# --- 1. whole training steps: compiled == eager ----------------------------------------------

@pytest.mark.parametrize("case", list(CASES))
def test_training_steps_match_eager(case, device):
    """20 training steps (zero_grad, forward, cross-entropy, backward, optimizer step) of an MLP
    with SGD momentum, a CNN with Adam, an LSTM with SGD and an attention block with AdamW:
    the compiled step returns the same loss at every step as the eager step, and leaves the
    same parameters. The optimizer creates its state on call 1 (SGD momentum buffers, Adam
    moments; plain SGD has ``p.grad`` None on call 1 at least), so calls 1-3 may trace and
    at least 17 calls replay."""
    spec = CASES[case]
    model_c, model_e = twin_models(spec.build, device)
    step_c = gpuarr.compile(make_train_step(model_c, spec.make_opt(model_c.parameters())))
    step_e = make_train_step(model_e, spec.make_opt(model_e.parameters()))
    data = batches(20, spec.x_shape, device)

    losses_e = run_steps(step_e, data)
    losses_c = run_steps(step_c, data)

    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1}")
    assert np.mean(losses_e[-4:]) < np.mean(losses_e[:4])  # the eager reference learns
    assert_same_params(model_c, model_e, device)
    st = assert_no_fallback(step_c, 20)
    assert st["replays"] >= 17, st
    assert st["cache_entries"] == 1, st


# --- API forms and the trace/replay policy ---------------------------------------------------

def test_call_forms_and_stats_of_a_stable_function(device):
    """``compile(fn)``, ``compile(fn, **torch_options)``, ``@compile`` and ``@compile(mode=)``
    all give a callable with ``stats()`` and ``eager_reason``. A stable function traces on
    calls 1 and 2 and replays from call 3, with results equal to eager on new inputs."""
    @gpuarr.compile
    def decorated(x, w):
        return affine_tanh(x, w)

    @gpuarr.compile(mode="reduce-overhead")
    def decorated_with_mode(x, w):
        return affine_tanh(x, w)

    forms = {
        "compile(fn)": gpuarr.compile(affine_tanh),
        "compile(fn, options)": gpuarr.compile(
            affine_tanh, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options={"cache_size_limit": 8}, disable=False),
        "@compile": decorated,
        "@compile(mode=...)": decorated_with_mode,
    }
    w = weight(device)
    xs = inputs(device, BATCH, n=6)
    expected = [snap(affine_tanh(x, w)) for x in xs]
    for name, fn in forms.items():
        for k, x in enumerate(xs):
            assert_same(snap(fn(x, w)), expected[k], device, what=f"{name}, call {k + 1}")
    for name, fn in forms.items():
        assert fn.eager_reason is None, name
        st = stats_of(fn)
        assert (st["traces"], st["replays"], st["eager_calls"], st["cache_entries"]) == (
            2, 4, 0, 1), (name, st)


def test_fresh_compiled_function_has_zero_stats():
    """Before its first call a compiled function has traced, replayed and cached nothing."""
    fn = gpuarr.compile(affine_tanh)
    assert fn.eager_reason is None
    st = stats_of(fn)
    assert (st["traces"], st["replays"], st["eager_calls"], st["cache_entries"]) == (0, 0, 0, 0)


# --- 2. signatures: retrace on shape change, cache reuse, cache_size_limit ---------------------

def test_shape_change_retraces_and_switching_back_replays(device):
    """Batch 8 (calls 1-4: trace, trace, replay, replay), batch 4 (calls 5-7: a new signature,
    trace, trace, replay), back to batch 8 (calls 8-9: its program is still cached, so both
    replay). Every result equals eager."""
    fn = gpuarr.compile(affine_tanh)
    w = weight(device)
    sizes = [8, 8, 8, 8, 4, 4, 4, 8, 8]
    xs = [inputs(device, b, seed=k)[0] for k, b in enumerate(sizes)]
    for k, x in enumerate(xs):
        assert_same(snap(fn(x, w)), snap(affine_tanh(x, w)), device, what=f"call {k + 1}")
    st = assert_no_fallback(fn, len(sizes))
    assert (st["traces"], st["replays"], st["cache_entries"]) == (4, 5, 2), st


def test_training_step_with_changing_batch_size_matches_eager(device):
    """A training step (MLP, Adam) fed batches of 8, then 4, then 8 and 4 again: losses and
    parameters equal eager, two signatures are cached, and switching back replays (at least
    1 + 2 + 3 + 3 replays: batch 8 replays from call 4, batch 4 from its third call, and
    every call after the switch back)."""
    model_c, model_e = twin_models(mlp, device)
    step_c = gpuarr.compile(make_train_step(
        model_c, gpuarr.optim.Adam(model_c.parameters(), lr=1e-2)))
    step_e = make_train_step(model_e, gpuarr.optim.Adam(model_e.parameters(), lr=1e-2))
    sizes = [8] * 4 + [4] * 4 + [8] * 3 + [4] * 3
    data = [batches(1, (16,), device, batch=b, seed=k)[0] for k, b in enumerate(sizes)]

    losses_e = run_steps(step_e, data)
    losses_c = run_steps(step_c, data)

    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1} (batch {sizes[k]})")
    assert_same_params(model_c, model_e, device)
    st = assert_no_fallback(step_c, len(sizes))
    assert st["cache_entries"] == 2, st
    assert st["replays"] >= 9, st


def test_closed_over_python_scalar_is_part_of_the_signature(device):
    """Rebinding a Python float the function closes over is a new signature: the compiled
    function retraces for the new value (never replays the old constant) and replays the old
    program when the value comes back."""
    scale = 1.0

    def scaled(x):
        return x * scale + 1.0

    fn = gpuarr.compile(scaled)
    xs = inputs(device, BATCH, n=8)
    for k, value in enumerate([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0]):
        scale = value
        assert_same(snap(fn(xs[k])), snap(scaled(xs[k])), device,
                    what=f"call {k + 1}, scale={value}")
    st = assert_no_fallback(fn, 8)
    assert (st["traces"], st["replays"], st["cache_entries"]) == (4, 4, 2), st


@pytest.mark.parametrize("limit", [None, 2], ids=["default_limit_8", "limit_2"])
def test_cache_size_limit_makes_the_function_run_eagerly_with_one_warning(limit, device):
    """``limit`` signatures (batch sizes 1..limit, three calls each, so each one is verified
    and replayed once) fit the cache without a warning; the next new signature exceeds
    ``cache_size_limit`` (default 8): exactly one UserWarning naming gpuarr.compile and
    cache_size_limit, and from then on every call, old signatures included, runs eagerly
    (no further replays) with correct results."""
    n_fit = 8 if limit is None else limit
    fn = (gpuarr.compile(affine_tanh) if limit is None
          else gpuarr.compile(affine_tanh, options={"cache_size_limit": limit}))
    w = weight(device)
    with recorded_warnings() as rec_fit:
        for b in range(1, n_fit + 1):
            for k, x in enumerate(inputs(device, b, n=3, seed=b)):
                assert_same(snap(fn(x, w)), snap(affine_tanh(x, w)), device,
                            what=f"batch {b}, call {k + 1}")
    with recorded_warnings() as rec_over:
        # a new signature (one too many), then the old ones again
        for b in [n_fit + 1, n_fit + 1, n_fit + 1, 1, 1, 2, 2, n_fit + 1]:
            x = inputs(device, b, seed=100 + b)[0]
            assert_same(snap(fn(x, w)), snap(affine_tanh(x, w)), device, what=f"batch {b}")

    assert compile_warnings(rec_fit) == [], "no warning while the signatures fit"
    msgs = compile_warnings(rec_over)
    assert len(msgs) == 1, msgs
    assert "cache_size_limit" in msgs[0], msgs[0]
    st = stats_of(fn)
    assert st["replays"] == n_fit, st  # one per fitting signature, none after the overflow
    assert st["eager_calls"] >= 7, st  # the 8 calls from the overflow on (the first may trace)
    assert st["traces"] + st["replays"] + st["eager_calls"] == 3 * n_fit + 8, st


# --- 3. value-dependent Python: eager fallback with one warning -------------------------------

def test_item_in_training_step_falls_back_to_eager_with_one_warning(device):
    """A training step that branches on ``x.mean().item()`` (the branch differs between
    batches, so a replayed program would be wrong) runs eagerly from its first call on, with
    exactly one UserWarning over six calls. The warning and ``eager_reason`` name
    gpuarr.compile, say it runs eagerly, and point at this file and the line of the
    ``.item()`` call. Losses and parameters equal eager."""
    def make_step(model, opt):
        loss_fn = nn.CrossEntropyLoss()

        def step(x, y):
            opt.zero_grad()
            out = model(x)
            if x.mean().item() > 0:  # value-read: training item
                out = out * 2.0
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            return loss

        return step

    model_c, model_e = twin_models(mlp, device)
    step_c = gpuarr.compile(make_step(
        model_c, gpuarr.optim.SGD(model_c.parameters(), lr=0.1, momentum=0.9)))
    step_e = make_step(model_e, gpuarr.optim.SGD(model_e.parameters(), lr=0.1, momentum=0.9))
    data = batches(6, (16,), device, seed=3)
    signs = {bool(snap(x).mean() > 0) for x, _ in data}
    assert signs == {True, False}, "the data must take both branches"

    losses_e = run_steps(step_e, data)
    with recorded_warnings() as rec:
        losses_c = run_steps(step_c, data)

    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1}")
    assert_same_params(model_c, model_e, device)
    where = f"test_compile.py:{line_of('value-read: training item')}"
    msgs = compile_warnings(rec)
    assert len(msgs) == 1, msgs
    assert "runs eagerly" in msgs[0] and where in msgs[0], msgs[0]
    assert step_c.eager_reason is not None and where in step_c.eager_reason
    st = stats_of(step_c)
    assert st["replays"] == 0, st
    assert st["eager_calls"] >= 5, st


def read_item(x, w):
    """Scales by the sign of a value read with ``.item()``."""
    y = affine_tanh(x, w)
    s = y.sum().item()  # value-read: item
    return y * (2.0 if s > 0 else -1.0)


def read_bool(x, w):
    """Branches on ``bool(tensor)`` (the implicit ``if t:``)."""
    y = affine_tanh(x, w)
    if y.sum() > 0:  # value-read: bool
        return y * 2.0
    return y * -1.0


def read_float(x, w):
    """Scales by ``float(tensor)``."""
    y = affine_tanh(x, w)
    s = float(y.mean())  # value-read: float
    return y * s


def read_tolist(x, w):
    """Scales by an element read with ``.tolist()``."""
    y = affine_tanh(x, w)
    first = y[0, 0].tolist()  # value-read: tolist
    return y * first


def read_print(x, w):
    """Prints a tensor (which reads its values) and returns a result."""
    y = affine_tanh(x, w)
    print(y)  # value-read: print
    return y * 2.0


@pytest.mark.parametrize("fn", [read_item, read_bool, read_float, read_tolist, read_print],
                         ids=["item", "bool", "float", "tolist", "print"])
def test_value_read_falls_back_to_eager_with_one_warning(fn, device, capsys):
    """Each way of reading a tensor's value in Python during a trace (``.item()``,
    ``bool()``, ``float()``, ``.tolist()``, ``print()``) makes the function run eagerly:
    results equal eager on five calls, exactly one UserWarning that says "gpuarr.compile",
    "runs eagerly" and this file's line of the read, the same place in ``eager_reason``, no
    replays."""
    compiled = gpuarr.compile(fn)
    w = weight(device)
    xs = inputs(device, BATCH, n=5, seed=7)
    expected = [snap(fn(x, w)) for x in xs]
    with recorded_warnings() as rec:
        for k, x in enumerate(xs):
            assert_same(snap(compiled(x, w)), expected[k], device, what=f"call {k + 1}")
    capsys.readouterr()  # drop what read_print printed

    where = f"test_compile.py:{line_of('value-read: ' + fn.__name__[len('read_'):])}"
    msgs = compile_warnings(rec)
    assert len(msgs) == 1, msgs
    assert "runs eagerly" in msgs[0] and where in msgs[0], msgs[0]
    assert compiled.eager_reason is not None and where in compiled.eager_reason
    st = stats_of(compiled)
    assert st["replays"] == 0, st
    assert st["eager_calls"] >= 4, st


# --- 4. random ops draw what eager draws -----------------------------------------------------

def test_dropout_and_randn_in_the_step_draw_as_eager(device):
    """A training step with input noise from ``gpuarr.randn`` and a model with two
    ``nn.Dropout(0.3)`` in training mode, run 20 times after ``gpuarr.manual_seed(123)``:
    the compiled step draws the same numbers as the eager one (identical losses and
    parameters), and leaves the generator in the same state (the next draw agrees)."""
    def make_step(model, opt):
        loss_fn = nn.CrossEntropyLoss()

        def step(x, y):
            opt.zero_grad()
            noise = gpuarr.randn(*x.shape, device=x.device) * 0.1
            loss = loss_fn(model(x + noise), y)
            loss.backward()
            opt.step()
            return loss

        return step

    model_c, model_e = twin_models(mlp_with_dropout, device)
    step_c = gpuarr.compile(make_step(
        model_c, gpuarr.optim.SGD(model_c.parameters(), lr=0.1, momentum=0.9)))
    step_e = make_step(model_e, gpuarr.optim.SGD(model_e.parameters(), lr=0.1, momentum=0.9))
    data = batches(20, (16,), device)

    gpuarr.manual_seed(123)
    losses_e = run_steps(step_e, data)
    next_e = snap(gpuarr.rand(4, device=device))
    gpuarr.manual_seed(123)
    losses_c = run_steps(step_c, data)
    next_c = snap(gpuarr.rand(4, device=device))

    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1}")
    assert_same_params(model_c, model_e, device)
    np.testing.assert_array_equal(next_c, next_e, err_msg="generator state after the run")
    st = assert_no_fallback(step_c, 20)
    assert st["replays"] >= 17, st


# --- 5. gradient accumulation ----------------------------------------------------------------

@pytest.mark.parametrize("set_to_none", [True, False], ids=["grads_to_none", "grads_to_zero"])
def test_gradient_accumulation_matches_eager(set_to_none, device):
    """The compiled function only runs forward and backward (loss / 4), accumulating into
    ``p.grad``; every 4 calls the optimizer (SGD momentum) steps and zeroes the gradients
    eagerly, outside the compiled function, for 5 rounds. The replayed program must read the
    parameters the eager optimizer updated in place and add to the existing gradients (or
    create them after ``zero_grad(set_to_none=True)``): per-call losses, the accumulated
    gradients before every optimizer step, and the final parameters equal eager. With
    ``set_to_none=False`` the gradients exist from call 2 on, so calls 4-20 replay."""
    def make_accumulate(model):
        loss_fn = nn.CrossEntropyLoss()

        def accumulate(x, y):
            loss = loss_fn(model(x), y) / 4
            loss.backward()
            return loss

        return accumulate

    model_c, model_e = twin_models(mlp, device)
    opt_c = gpuarr.optim.SGD(model_c.parameters(), lr=0.1, momentum=0.9)
    opt_e = gpuarr.optim.SGD(model_e.parameters(), lr=0.1, momentum=0.9)
    acc_c = gpuarr.compile(make_accumulate(model_c))
    acc_e = make_accumulate(model_e)
    data = batches(20, (16,), device, seed=5)

    for r in range(5):
        for k, (x, y) in enumerate(data[4 * r:4 * r + 4]):
            le = snap(acc_e(x, y))
            lc = snap(acc_c(x, y))
            assert_same(lc, le, device, what=f"round {r + 1}, micro-batch {k + 1}")
        for (name, pc), pe in zip(model_c.named_parameters(), model_e.parameters()):
            assert pc.grad is not None, name
            assert_same(pc.grad, pe.grad, device, what=f"grad of {name}, round {r + 1}")
        for opt in (opt_c, opt_e):
            opt.step()
            opt.zero_grad(set_to_none=set_to_none)
    assert_same_params(model_c, model_e, device)
    st = assert_no_fallback(acc_c, 20)
    assert st["replays"] >= (1 if set_to_none else 17), st


# --- 6. no_grad evaluation and the training flag ---------------------------------------------

def test_no_grad_eval_and_train_eval_toggling_match_eager(device):
    """``predict(x)`` returns the logits computed under ``gpuarr.no_grad()`` of a model with
    BatchNorm1d and Dropout. Calls in eval mode (running statistics, no dropout) and in
    training mode (batch statistics, running-stat updates, dropout draws) interleave: the
    training flag is part of the signature, so each mode gets its own program (traces on its
    first two calls, replays afterwards, including after every switch) and every call equals
    eager, as do the BatchNorm buffers at the end."""
    def make_predict(model):
        def predict(x):
            with gpuarr.no_grad():
                return model(x)
        return predict

    model_c, model_e = twin_models(mlp_with_batchnorm_dropout, device)
    predict_c = gpuarr.compile(make_predict(model_c))
    predict_e = make_predict(model_e)
    modes = ["eval"] * 3 + ["train"] * 3 + ["eval", "train", "eval", "train"]
    xs = [x for x, _ in batches(len(modes), (16,), device, seed=11)]

    def run(model, predict):
        out = []
        gpuarr.manual_seed(7)
        for mode, x in zip(modes, xs):
            model.train(mode == "train")
            out.append(snap(predict(x)))
        return out

    outs_e = run(model_e, predict_e)
    outs_c = run(model_c, predict_c)

    for k, (oc, oe) in enumerate(zip(outs_c, outs_e)):
        assert_same(oc, oe, device, what=f"call {k + 1} ({modes[k]})")
    assert_same_params(model_c, model_e, device)  # includes running_mean/var, batch count
    st = assert_no_fallback(predict_c, len(modes))
    assert (st["traces"], st["replays"], st["cache_entries"]) == (4, 6, 2), st


# --- 7. learning-rate schedule -----------------------------------------------------------------

def test_lr_scheduler_between_calls_matches_eager(device):
    """StepLR halves the SGD-momentum learning rate every 4 steps (scheduler.step() runs
    eagerly after each compiled step): the optimizers read the learning rate afresh at each
    replay, so the schedule needs no retrace (one cache entry); losses and parameters equal
    eager, and no warning is raised."""
    def setup(model):
        opt = gpuarr.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        sched = gpuarr.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
        return make_train_step(model, opt), opt, sched

    (step_c, opt_c, sched_c), (step_e, opt_e, sched_e), (model_c, model_e) = twin_setups(
        setup, device)
    data = batches(20, (16,), device, seed=2)

    def run(step, opt, sched):
        losses, lrs = [], []
        for x, y in data:
            lrs.append(opt.param_groups[0]["lr"])
            losses.append(snap(step(x, y)))
            sched.step()
        return losses, lrs

    losses_e, lrs_e = run(step_e, opt_e, sched_e)
    with recorded_warnings() as rec:
        losses_c, lrs_c = run(step_c, opt_c, sched_c)

    assert lrs_c == lrs_e and len(set(lrs_e)) == 5
    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1} (lr {lrs_e[k]})")
    assert_same_params(model_c, model_e, device)
    assert compile_warnings(rec) == []
    st = assert_no_fallback(step_c, 20)
    assert st["cache_entries"] == 1, st
    # calls 1-3 trace (momentum buffers appear on call 1), every later call replays
    assert st["traces"] == 3 and st["replays"] == 17, st


def test_hyperparameter_change_and_new_param_group_match_eager(device):
    """Setting a group's momentum between calls is a new signature (the compiled step
    retraces rather than replaying the old update), and so is a param group added by
    ``add_param_group`` (the watch of the optimizer sees its new structure): losses and
    parameters equal eager throughout."""
    def setup(model):
        params = list(model.parameters())
        opt = gpuarr.optim.SGD(params[:2], lr=0.1)
        return make_train_step(model, opt), opt, params[2:]

    (step_c, opt_c, rest_c), (step_e, opt_e, rest_e), (model_c, model_e) = twin_setups(
        setup, device)
    data = batches(12, (16,), device, seed=5)

    def run(step, opt, rest):
        losses = []
        for k, (x, y) in enumerate(data):
            if k == 4:
                opt.param_groups[0]["momentum"] = 0.9
            if k == 8:
                opt.add_param_group({"params": rest, "lr": 0.05})
            losses.append(snap(step(x, y)))
        return losses

    losses_e = run(step_e, opt_e, rest_e)
    losses_c = run(step_c, opt_c, rest_c)
    for k, (lc, le) in enumerate(zip(losses_c, losses_e)):
        assert_same(lc, le, device, what=f"loss of step {k + 1}")
    assert_same_params(model_c, model_e, device)
    st = assert_no_fallback(step_c, 12)
    assert st["cache_entries"] == 3 and st["replays"] > 0, st


# --- 8. compile(module) --------------------------------------------------------------------------

def test_compiled_module_under_no_grad_replays_and_matches_eager(device):
    """``gpuarr.compile(model)`` of an eval-mode model, called under ``gpuarr.no_grad()`` on
    six batches: outputs equal the eager model's, the forward traces twice and replays four
    times, no warning, and ``_orig_mod`` is the model."""
    model_c, model_e = twin_models(mlp_with_batchnorm_dropout, device)
    model_c.eval()
    model_e.eval()
    cmodel = gpuarr.compile(model_c)
    xs = [x for x, _ in batches(6, (16,), device, seed=4)]

    with gpuarr.no_grad():
        expected = [snap(model_e(x)) for x in xs]
        with recorded_warnings() as rec:
            got = [snap(cmodel(x)) for x in xs]

    for k, (g, e) in enumerate(zip(got, expected)):
        assert_same(g, e, device, what=f"call {k + 1}")
    assert compile_warnings(rec) == []
    assert cmodel._orig_mod is model_c
    st = assert_no_fallback(cmodel, 6)
    assert (st["traces"], st["replays"]) == (2, 4), st


def test_compiled_module_training_forward_replays_into_autograd(device):
    """A compiled training-mode model called with grad enabled returns logits whose backward
    runs outside (``compile(model)`` as torch programs use it): the trace also records the
    backward program, and replays hand their outputs to autograd as one graph node whose
    backward replays that program. Over ten steps (SGD with momentum, the backward and the
    optimizer eager outside) the logits carry a graph, equal eager's, and leave the same
    parameters; nothing falls back and nothing warns."""
    model_c, model_e = twin_models(mlp, device)
    cmodel = gpuarr.compile(model_c)
    opt_c = gpuarr.optim.SGD(model_c.parameters(), lr=0.1, momentum=0.9)
    opt_e = gpuarr.optim.SGD(model_e.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    data = batches(10, (16,), device, seed=6)

    def train(forward, opt):
        outs = []
        for x, y in data:
            opt.zero_grad()
            out = forward(x)
            assert out.requires_grad and out.grad_fn is not None
            outs.append(snap(out))
            loss_fn(out, y).backward()
            opt.step()
        return outs

    outs_e = train(model_e, opt_e)
    with recorded_warnings() as rec:
        outs_c = train(cmodel, opt_c)

    for k, (oc, oe) in enumerate(zip(outs_c, outs_e)):
        assert_same(oc, oe, device, what=f"logits of step {k + 1}")
    assert_same_params(model_c, model_e, device)
    assert compile_warnings(rec) == []
    assert cmodel._orig_mod is model_c
    st = assert_no_fallback(cmodel, 10)
    assert st["replays"] == 8, st


def test_compiled_forward_with_input_grad_and_frozen_layer(device):
    """Gradients also flow to an argument that requires grad (through the replayed node), and
    freezing a layer between calls (requires_grad_(False)) makes a new program: compiled
    input and parameter gradients equal eager's."""
    model_c, model_e = twin_models(mlp, device)
    cmodel = gpuarr.compile(model_c)
    data = batches(6, (16,), device, seed=8)
    for k, (x, _) in enumerate(data):
        if k == 3:  # freeze the first layer from the fourth call on
            for m in (model_c, model_e):
                next(m.parameters()).requires_grad_(False)
        grads = []
        for fwd, model in ((cmodel, model_c), (model_e, model_e)):
            model.zero_grad()
            xi = x.clone().requires_grad_(True)
            (fwd(xi) ** 2).sum().backward()
            grads.append([xi.grad] + [p.grad for p in model.parameters()])
        for gc, ge in zip(*grads):
            assert (gc is None) == (ge is None)
            if gc is not None:
                assert_same(snap(gc), snap(ge), device, what=f"call {k + 1}")
    st = cmodel.stats()
    # calls 1-2 trace, 3 replays; after the freeze (call 4) a new entry traces 4-5, 6 replays
    assert cmodel.eager_reason is None and st["cache_entries"] == 2, st
    assert st["replays"] == 2 and st["traces"] == 4, st
