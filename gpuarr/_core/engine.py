"""The backward engine: iterative, dependency-counted (Kahn's algorithm), no recursion.

``run_backward`` walks the graph once to count, for every node, how many edges feed it, then
runs nodes whose gradients are complete. Gradients for one node output are summed in a buffer
before the node runs. Leaves accumulate into ``.grad`` (or, for ``autograd.grad``, are captured
and returned instead). Saved tensors are released after each node unless ``retain_graph``.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Iterator

from ..backends.oom import raise_if_oom
from .capture import backward_runs
from .function import Node, _acc_hooks_used, _anomaly, conj_backward
from .grad_mode import _state
from .tensor import TensorBase, _make

__all__ = ["run_backward", "leaves_of"]


def leaves_of(tensors) -> Iterator[TensorBase]:
    """The leaves that require grad which the graphs of ``tensors`` reach: the tensors
    themselves when they are such leaves, and every leaf edge of the nodes behind them (a
    leaf reached by several paths may come more than once). Lazy, so a caller looking for
    one leaf stops early.

    Args:
        tensors: tensors (anything else is skipped).

    Returns:
        An iterator over leaf tensors.
    """
    stack = []
    for t in tensors:
        if not isinstance(t, TensorBase) or not t._rg:
            continue
        if t._gfn is None:
            yield t
        else:
            stack.append(t._gfn)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if e is None:
                continue
            if e.__class__ is tuple:
                if e[0] not in seen:
                    seen.add(e[0])
                    stack.append(e[0])
            else:
                yield e


def _sum_to(g, shape):
    """Sum ``g`` down to ``shape`` (the inverse of broadcasting)."""
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1
    )
    if dims:
        g = g.sum(dim=dims, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


def _broadcastable_to(src: tuple, dst: tuple) -> bool:
    if len(src) < len(dst):
        return False
    for a, b in zip(src[len(src) - len(dst):], dst):
        if a != b and b != 1:
            return False
    return True


def _validate(node: Node, grads) -> list:
    """Check the grads a backward returned; sum broadcast dims and cast dtypes like torch."""
    n = len(node.next_edges)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != n:
        if len(grads) > n and all(g is None for g in grads[n:]):
            grads = grads[:n]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n}, got {len(grads)})"
            )
    out = list(grads)
    for i, g in enumerate(out):
        meta = node.input_meta[i]
        if g is None or not meta:  # None/False: no gradient flows to this argument
            if not meta:
                out[i] = None
            continue
        if not isinstance(g, TensorBase):
            raise TypeError(
                f"function {node.name()} returned a gradient of type {type(g).__name__} at "
                f"index {i}; expected a Tensor or None"
            )
        shape, np_dtype = meta
        if g._data.shape != shape:
            if not _broadcastable_to(g.shape, shape):
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(g.shape)} but expected shape compatible with {list(shape)}"
                )
            g = _sum_to(g, shape)
        if g._data.dtype != np_dtype:
            if g._data.dtype.kind == "c" and np_dtype.kind != "c":
                g = g.real  # a real input of a complex result gets the real part (torch's rule)
            g = g.to(np_dtype)
        if g._device is not node.device:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - expected "
                f"device {node.device} but got {g._device}"
            )
        out[i] = g
    return out


class _Owner:
    """Decides when a grad may be stored in ``.grad`` as is, or must be copied first so that two
    ``.grad`` attributes (or a ``.grad`` and a caller's tensor) never share memory."""

    def __init__(self, roots) -> None:
        self.seen = {id(g._data) for g in roots}

    def own(self, g):
        arr = g._data
        if arr.base is not None or id(arr) in self.seen:
            g = g.detach().clone()
            arr = g._data
        self.seen.add(id(arr))
        return g


def _run_hook(h, g):
    """``h(g)``, checked as torch checks tensor hooks: a returned gradient must keep ``g``'s
    shape, dtype and device."""
    r = h(g)
    if r is None:
        return g
    if not isinstance(r, TensorBase):
        raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
    name = getattr(h, "__name__", repr(h))
    if r.shape != g.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    if r._data.dtype != g._data.dtype or r._device is not g._device:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.type()} got "
                           f"{r.type()})")
    return r


def _accumulate_leaf(leaf, g, create_graph: bool, owner: _Owner, kept: bool = False) -> None:
    """Add ``g`` into ``leaf.grad`` after the leaf's tensor hooks (``kept``: the caller ran
    them, and hooks may hold ``g``)."""
    hooks = None if kept else leaf._hooks
    if hooks:
        for h in list(hooks):
            g = _run_hook(h, g)
    if leaf.grad is None:
        if create_graph:
            leaf.grad = g
        elif hooks or kept:  # a hook may have kept g: .grad gets its own copy to accumulate into
            leaf.grad = (g.detach() if g._rg else g).clone()
        else:
            leaf.grad = owner.own(g.detach() if g._rg else g)
    elif create_graph or leaf.grad._rg:
        leaf.grad = leaf.grad + g
    else:
        cur = leaf.grad
        if cur.shape == g.shape and cur._data.dtype == g._data.dtype:
            cur._device._xp()  # accumulate on the leaf's device
            cur._data += g._data
        else:
            leaf.grad = cur + g


def _hook_name(h) -> str:
    return getattr(h, "__name__", repr(h))


def _check_hook_grads(h, prev: tuple, res) -> None:
    """Check what a node hook returned in place of the gradients ``prev``, as torch does."""
    if not isinstance(res, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(res).__name__}'")
    if len(res) != len(prev):
        raise RuntimeError(f"hook '{_hook_name(h)}' has returned an incorrect number of values "
                           f"(got {len(res)}, but expected {len(prev)})")
    for old, new in zip(prev, res):
        if new is None:
            continue
        if old is None:
            raise RuntimeError("can't replace a None gradient with a non-None value")
        if not isinstance(new, TensorBase):
            raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
        if new._data.dtype != old._data.dtype or new._device is not old._device:
            raise RuntimeError(f"hook '{_hook_name(h)}' has changed the type of value (was "
                               f"{old.type()} got {new.type()})")
        if new.shape != old.shape:
            raise RuntimeError(f"hook '{_hook_name(h)}' has changed the size of value")


def _run_node_hooks(hooks: list, grads: tuple, *rest) -> tuple:
    """Call each of ``hooks`` with ``(grads, *rest)``, in order; a hook's returned tuple
    replaces ``grads`` for the hooks after it. Returns the final ``grads``."""
    for h in list(hooks):
        res = h(grads, *rest)
        if res is None or res is grads:
            continue
        _check_hook_grads(h, grads, res)
        grads = res
    return grads


def _accumulate_via_node(leaf, g, create_graph: bool, owner: _Owner) -> None:
    """Accumulate a leaf's whole gradient of this backward, ``g``, as torch's AccumulateGrad
    node does: tensor hooks, node pre-hooks, accumulation, post-accumulate-grad hooks, node
    hooks. (Leaves without hooks take a shorter path: their edges add into ``.grad`` one by
    one, which gives the same sum.)"""
    hooks = leaf._hooks
    if hooks:
        for h in list(hooks):
            g = _run_hook(h, g)
    pre, post = getattr(leaf, "_acc_hooks", None) or ((), ())
    if pre:
        (g,) = _run_node_hooks(pre, (g,))
    if g is not None:
        _accumulate_leaf(leaf, g, create_graph, owner, kept=True)
        _run_post_acc_hooks(leaf)
    if post:
        _run_node_hooks(post, (), (g,))


def _acc_step(accq: dict, leaf, g, create_graph: bool, owner: _Owner) -> None:
    """One of the incoming edges of ``leaf`` (a leaf with tensor or AccumulateGrad hooks) is
    done: sum
    its gradient; after the last edge, accumulate the sum through :func:`_accumulate_via_node`
    (torch runs a leaf's AccumulateGrad once per backward, with the summed gradient)."""
    ent = accq[id(leaf)]
    ent[0] -= 1
    if g is not None:
        ent[1] = g if ent[1] is None else ent[1] + g
    if ent[0] == 0 and ent[1] is not None:
        g, ent[1] = ent[1], None
        _accumulate_via_node(leaf, g, create_graph, owner)


def _run_post_acc_hooks(leaf) -> None:
    """Call ``leaf``'s post-accumulate-grad hooks (``hook(leaf)``)."""
    hooks = leaf._post_acc_hooks
    if hooks:
        for h in list(hooks):
            h(leaf)


def _post_acc_step(post: dict, leaf, got_grad: bool) -> None:
    """One of ``leaf``'s incoming edges is done: after the last one, if any of them brought a
    gradient, ``leaf.grad`` is complete and its post-accumulate-grad hooks run."""
    ent = post[id(leaf)]
    ent[0] -= 1
    if got_grad:
        ent[1] = True
    if ent[0] == 0 and ent[1]:
        _run_post_acc_hooks(leaf)


def run_backward(
    roots,
    root_grads,
    retain_graph: bool,
    create_graph: bool,
    inputs=None,
    allow_unused: bool = False,
    accumulate: bool = True,
    run_input_nodes: bool = False,
):
    """Backpropagate from ``roots`` (Tensors) seeded with ``root_grads``.

    Args:
        roots: output tensors.
        root_grads: one gradient Tensor per root.
        retain_graph: keep saved tensors so the graph can be traversed again.
        create_graph: record the backward pass (for higher-order gradients).
        inputs: if given, tensors whose gradients are captured and returned.
        allow_unused: with ``inputs``, return None for inputs the outputs do not depend on
            instead of raising.
        accumulate: accumulate into leaves' ``.grad`` (``Tensor.backward``); ``autograd.grad``
            passes False.
        run_input_nodes: with ``inputs``, also run the nodes of non-leaf inputs (and so
            their node hooks), as torch's ``backward(inputs=...)`` does; ``autograd.grad``
            only captures their gradients.

    Returns:
        With ``inputs``: a tuple of gradients, one per input; else None.
    """
    backward_runs[0] += 1
    prev = _state.enabled
    _state.enabled = create_graph
    try:
        return _run(roots, root_grads, retain_graph, create_graph, inputs, allow_unused,
                    accumulate, run_input_nodes)
    finally:
        _state.enabled = prev


def _run(roots, root_grads, retain_graph, create_graph, inputs, allow_unused, accumulate,
         run_input_nodes=False):
    owner = _Owner(root_grads)
    # anomaly mode is read once per backward(): nodes then run through a checking wrapper
    call_node = _call_node_anomaly if _anomaly[0] else _call_node
    # What to capture (autograd.grad): leaves by identity, non-leaves by (node, output index).
    cap_leaf: dict = {}
    cap_node: dict = {}
    results: list = []
    if inputs is not None:
        for k, t in enumerate(inputs):
            results.append(None)
            if t._gfn is None:
                cap_leaf.setdefault(id(t), []).append(k)
            else:
                cap_node.setdefault((t._gfn, t._output_nr), []).append(k)

    def capture(ks, g):
        for k in ks:
            results[k] = g if results[k] is None else results[k] + g

    # Seed: leaves among the roots get their grad at once; others go into node buffers.
    buffers: dict = {}
    start: list = []
    root_leaves: list = []  # leaves among the roots whose post-accumulate hooks are due
    acc_hooks = _acc_hooks_used[0] and accumulate and inputs is None
    acc_roots: list = []  # (leaf, grad) for root leaves with hooks
    for t, g in zip(roots, root_grads):
        fn = t._gfn
        if fn is None:
            if not t._rg:
                raise RuntimeError(
                    "element 0 of tensors does not require grad and does not have a grad_fn"
                )
            if inputs is not None:
                ks = cap_leaf.get(id(t))
                if ks:
                    capture(ks, g)
            elif accumulate and (t._hooks or acc_hooks and getattr(t, "_acc_hooks", None)):
                acc_roots.append((t, g))
            elif accumulate:
                _accumulate_leaf(t, g, create_graph, owner)
                if t._post_acc_hooks:
                    root_leaves.append(t)
            continue
        buf = buffers.get(fn)
        if buf is None:
            buf = buffers[fn] = [None] * len(fn._out_meta)
            start.append(fn)
        i = t._output_nr
        buf[i] = g if buf[i] is None else buf[i] + g

    # Count incoming edges of every reachable node (iteratively), and of every leaf with
    # post-accumulate-grad hooks (``post``: id -> [edges left, got a gradient]).
    deps: dict = {}
    stack = list(start)
    seen = set(start)
    order: list = []
    post = {id(t): [0, True] for t in root_leaves} if root_leaves else None
    hooked = accumulate and inputs is None
    # leaves with tensor or AccumulateGrad hooks, which run once on the leaf's whole gradient
    # as in torch: id -> [edges left, gradient summed so far]
    accq = {id(t): [0, None] for t, _g in acc_roots} if acc_roots else None
    while stack:
        node = stack.pop()
        order.append(node)
        for e in node.next_edges:
            if e.__class__ is tuple:
                child = e[0]
                deps[child] = deps.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
            elif hooked and e is not None:
                if e._hooks or acc_hooks and getattr(e, "_acc_hooks", None):
                    if accq is None:
                        accq = {}
                    ent = accq.get(id(e))
                    if ent is None:
                        accq[id(e)] = [1, None]
                    else:
                        ent[0] += 1
                elif e._post_acc_hooks:
                    if post is None:
                        post = {}
                    ent = post.get(id(e))
                    if ent is None:
                        post[id(e)] = [1, False]
                    else:
                        ent[0] += 1
    for t in root_leaves:  # a root leaf's own gradient is in; edges may still bring more
        ent = post[id(t)]
        ent[0] += 1
        _post_acc_step(post, t, True)
    for t, g in acc_roots:
        accq[id(t)][0] += 1
        _acc_step(accq, t, g, create_graph, owner)

    needed = capture_only = None
    if inputs is not None:
        needed, capture_only = _needed_nodes(order, deps, cap_leaf, cap_node, run_input_nodes)

    ready = [n for n in start if deps.get(n, 0) == 0]
    while ready:
        node = ready.pop()
        grads_out = buffers.pop(node, None)
        if grads_out is None:
            grads_out = [None] * len(node._out_meta)
        grads_in = None
        # (not list.count(None), which would compare each gradient with None through
        # Tensor.__eq__; most nodes have one output)
        got = (grads_out[0] is not None if len(grads_out) == 1
               else any(g is not None for g in grads_out))
        if got and (needed is None or node in needed):
            try:
                grads_in = call_node(node, grads_out, create_graph, owner, cap_node, capture)
            except (MemoryError, RuntimeError) as e:  # CUDA out of memory: torch's error
                dev = node.device
                if dev is not None and dev.type == "cuda":
                    raise_if_oom(e, dev._backend())
                raise
        elif got and capture_only and node in capture_only:
            # only its gradients are wanted: capture them, run nothing (nor node hooks)
            _capture_only(node, grads_out, cap_node, capture)
        elif node._pre_hooks is not None and (needed is None or node in needed):
            _run_hooks_without_grads(node)
        if not retain_graph and node._saved is not None:
            node.release()
        for i, e in enumerate(node.next_edges):
            if e is None:
                continue
            g = grads_in[i] if grads_in is not None else None
            if e.__class__ is tuple:
                child, idx = e
                if g is not None:
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * len(child._out_meta)
                    buf[idx] = g if buf[idx] is None else buf[idx] + g
                d = deps[child] - 1
                deps[child] = d
                if d == 0:
                    ready.append(child)
            elif accq is not None and id(e) in accq:
                _acc_step(accq, e, g, create_graph, owner)
            else:
                if g is not None:
                    if inputs is not None:
                        ks = cap_leaf.get(id(e))
                        if ks:
                            capture(ks, g)
                    elif accumulate:
                        _accumulate_leaf(e, g, create_graph, owner)
                if post is not None and id(e) in post:
                    _post_acc_step(post, e, g is not None)

    if inputs is None:
        return None
    for k in range(len(inputs)):
        if results[k] is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
    return tuple(results)


def _needed_nodes(order, deps, cap_leaf, cap_node, run_targets: bool) -> tuple:
    """The nodes from which some captured input can be reached (they must run), and the
    nodes with captured outputs that need not run (``(needed, capture_only)``)."""
    targets = {n for (n, _i) in cap_node}
    # Reverse topological order: children before parents.
    indeg = dict(deps)
    topo = []
    stack = [n for n in order if indeg.get(n, 0) == 0]
    while stack:
        n = stack.pop()
        topo.append(n)
        for e in n.next_edges:
            if e.__class__ is tuple:
                c = e[0]
                indeg[c] -= 1
                if indeg[c] == 0:
                    stack.append(c)
    needed: set = set()
    capture_only: set = set()
    for n in reversed(topo):
        for e in n.next_edges:
            if e is None:
                continue
            if e.__class__ is tuple:
                if e[0] in needed or e[0] in targets:
                    needed.add(n)
                    break
            elif id(e) in cap_leaf:
                needed.add(n)
                break
        else:
            if n in targets:
                (needed if run_targets else capture_only).add(n)
    return needed, capture_only


def _capture_only(node: Node, grads_out: list, cap_node, capture) -> None:
    """Capture the gradients of a node's outputs (after their tensor hooks) for
    ``autograd.grad`` without running the node."""
    hooks = node._pre_hooks
    if hooks:
        for i, hs in hooks.items():
            if grads_out[i] is not None:
                for h in list(hs):
                    grads_out[i] = _run_hook(h, grads_out[i])
    for i, g in enumerate(grads_out):
        ks = cap_node.get((node, i))
        if ks and g is not None:
            capture(ks, g)


def _call_node(node: Node, grads_out: list, create_graph: bool, owner: _Owner, cap_node,
               capture):
    node.device._xp()  # the node's device runs its backward (CUDA: launch and allocate there)
    if node._pre_hooks is not None:  # tensor or node hooks: the slow path
        return _call_node_hooked(node, grads_out, create_graph, owner, cap_node, capture)
    if node._retain or cap_node:
        _retain_and_capture(node, grads_out, create_graph, owner, cap_node, capture)
    if node._materialize:
        _materialize(node, grads_out)
    if node._cplx:
        return _validate(node, conj_backward(node, grads_out))
    grads_in = node._fn.backward(node, *grads_out)
    return _validate(node, grads_in)


def _retain_and_capture(node: Node, grads_out: list, create_graph: bool, owner: _Owner,
                        cap_node, capture) -> None:
    """Hand the node's output gradients to tensors that ``retain_grad()`` and to the
    gradients ``autograd.grad`` collects."""
    retain = node._retain
    if retain:
        for i, ref in retain.items():
            t = ref()
            g = grads_out[i]
            if t is not None and g is not None:
                gg = g if create_graph else owner.own(g)
                t.grad = gg if t.grad is None else t.grad + gg
    if cap_node:
        for i, g in enumerate(grads_out):
            ks = cap_node.get((node, i))
            if ks and g is not None:
                capture(ks, g)


def _materialize(node: Node, grads_out: list) -> None:
    """Zeros for the outputs that received no gradient (``set_materialize_grads(True)``)."""
    for i, g in enumerate(grads_out):
        if g is None:
            meta = node._out_meta[i]
            if meta is not None:
                grads_out[i] = _make(node.xp.zeros(meta[0], dtype=meta[1]), node.device)


def _call_node_hooked(node: Node, grads_out: list, create_graph: bool, owner: _Owner, cap_node,
                      capture):
    """:func:`_call_node` for a node with hooks, in torch's order: the outputs' tensor hooks,
    retained grads, the node's pre-hooks, its backward, its hooks."""
    for i, hs in node._pre_hooks.items():
        if grads_out[i] is not None:
            for h in list(hs):
                grads_out[i] = _run_hook(h, grads_out[i])
    _retain_and_capture(node, grads_out, create_graph, owner, cap_node, capture)
    pre = node._fn_pre_hooks
    if pre:
        grads_out = list(_run_node_hooks(pre, tuple(grads_out)))
    received = tuple(grads_out)  # what the hooks see as grad_outputs: before zeros fill in
    if node._materialize:
        _materialize(node, grads_out)
    grads_in = _validate(node, conj_backward(node, grads_out) if node._cplx
                         else node._fn.backward(node, *grads_out))
    post = node._fn_post_hooks
    if post:
        pos = node._grad_input_positions()
        n = len(grads_in)
        listed = tuple([grads_in[i] if i < n else None for i in pos])
        res = _run_node_hooks(post, listed, received)
        if res is not listed:
            for k, i in enumerate(pos):
                if i < n:
                    grads_in[i] = res[k]
    return grads_in


def _run_hooks_without_grads(node: Node) -> None:
    """A node that no gradient reached does not run, but torch calls its node hooks (with
    all-None gradients, which they cannot replace)."""
    pre = node._fn_pre_hooks
    received = (None,) * len(node._out_meta)
    if pre:
        received = _run_node_hooks(pre, received)
    post = node._fn_post_hooks
    if post:
        _run_node_hooks(post, (None,) * len(node._grad_input_positions()), received)


def _call_node_anomaly(node: Node, grads_out: list, create_graph: bool, owner: _Owner,
                       cap_node, capture):
    """:func:`_call_node` in anomaly mode: a gradient holding NaN raises (with ``check_nan``),
    and any error from the node warns with the traceback of the forward call that made it."""
    try:
        grads_in = _call_node(node, grads_out, create_graph, owner, cap_node, capture)
        if _anomaly[1]:
            for i, g in enumerate(grads_in):
                # a host sync per gradient, as in torch: this mode is for debugging
                if g is not None and g._data.dtype.kind in "fcV" and \
                        g.isnan().any().item():
                    raise RuntimeError(
                        f"Function '{node.name()}' returned nan values in its {i}th output.")
    except Exception:
        warnings.warn(_anomaly_message(node), UserWarning, stacklevel=1)
        raise
    return grads_in


def _anomaly_message(node: Node) -> str:
    """torch's warning for an error in ``node``'s backward under anomaly mode."""
    trace = node._anomaly_trace
    if trace is None:
        return (f"Error detected in {node.name()}. No forward pass information available. "
                "Enable detect anomaly during forward pass for more information.")
    return (f"Error detected in {node.name()}. Traceback of forward call that caused the "
            "error:\n" + "".join(traceback.format_list(trace)))
