"""``DistributedDataParallel``: synchronous data-parallel training, with torch's semantics.

Every process (rank) holds a replica of the model and trains on its own part of the data.
At construction the parameters and buffers of rank 0 are broadcast to every rank. During
``backward`` each parameter's gradient, once complete, is copied into a *bucket* (a flat
buffer of about ``bucket_cap_mb`` MiB; the first one is 1 MiB, as in torch); a full bucket is
averaged over the ranks with an asynchronous ``all_reduce`` while backward goes on computing
the gradients of earlier layers, and when the last bucket has been launched the reductions are
waited for and the averaged gradients written back into ``.grad``. After ``loss.backward()``
every rank therefore holds the same, averaged gradients and the optimizer steps stay in sync.

A gradient is "ready" when the parameter's post-accumulate-grad hook runs (once per backward,
after all of its contributions are summed into ``.grad``). Torch waits for the reductions in
a callback queued at the end of backward; here the hook that launches the last bucket waits,
which is the same moment for the parameters (later graph nodes, e.g. gradients of inputs, may
still run afterwards). Buckets are launched strictly in order, so every rank issues the same
collectives in the same order.

The collectives come from :mod:`gpuarr.distributed` (MPI for CPU tensors, NCCL for CUDA
tensors), which is imported only when a ``DistributedDataParallel`` is made.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ... import distributed as dist
from ..._core.engine import leaves_of
from ..._creation import empty, tensor, zeros_like
from ..._dtype import int32, int64
from ..._tensor import Tensor
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...ops.elementwise import div
from ...ops.stacking import cat
from ..module import Module

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024
_DEFAULT_BUCKET_CAP_MB = 25
_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


def _find_tensors(obj) -> Iterator[Tensor]:
    """Every Tensor inside ``obj`` (nested tuples, lists and dicts), as torch's DDP finds the
    outputs of ``forward``."""
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            yield o
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())


def _to_device(obj, dev):
    """``obj`` with every Tensor inside (nested tuples, lists, dicts) moved to ``dev``."""
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_to_device(o, dev) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(o, dev) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, dev)) for k, v in obj.items())
    return obj


def _assign_buckets(params: Sequence[Tensor], limits: Sequence[int]) -> list[list[int]]:
    """Group parameter indices into buckets, as torch's ``_compute_bucket_assignment_by_size``
    does for the order in which gradients become ready: parameters are taken in reverse order
    (the last layer's gradients are computed first), one open bucket per (dtype, device); a
    bucket closes once it holds at least its size limit (``limits[k]`` for the k-th bucket of
    that dtype/device, the last limit for all further ones)."""
    open_: dict[tuple, list] = {}  # key -> [indices, bytes, how many buckets closed]
    closed: list[list[int]] = []
    for i in range(len(params) - 1, -1, -1):
        p = params[i]
        key = (str(p.dtype), str(p.device))
        b = open_.get(key)
        if b is None:
            b = open_[key] = [[], 0, 0]
        b[0].append(i)
        b[1] += p.numel() * p.element_size()
        if b[1] >= limits[min(b[2], len(limits) - 1)]:
            closed.append(b[0])
            open_[key] = [[], 0, b[2] + 1]
    closed.extend(b[0] for b in open_.values() if b[0])
    # in the order their first gradient becomes ready (the reverse parameter order)
    closed.sort(key=lambda idx: -idx[0])
    return closed


class _Bucket:
    """Parameters whose gradients are averaged with one ``all_reduce`` of a flat buffer."""

    __slots__ = ("indices", "offsets", "numel", "dtype", "device", "pending", "buffer", "views",
                 "work")

    def __init__(self, indices: list[int], params: Sequence[Tensor]) -> None:
        self.indices = indices
        self.offsets = []
        n = 0
        for i in indices:
            self.offsets.append(n)
            n += params[i].numel()
        self.numel = n
        self.dtype = params[indices[0]].dtype
        self.device = params[indices[0]].device
        self.pending = len(indices)
        self.buffer: Tensor | None = None
        self.views: list[Tensor] = []
        self.work = None


class _Reducer:
    """Marks parameters ready as their gradients complete and averages full buckets.

    Buckets are launched strictly in index order (a ready bucket waits for the ones before
    it), so every rank issues the same collectives in the same order.
    """

    def __init__(self, ddp: DistributedDataParallel, params: list[Tensor], names: list[str],
                 buckets: list[list[int]]) -> None:
        self.ddp = weakref.ref(ddp)
        self.params = params
        self.names = names
        self.buckets = [_Bucket(idx, params) for idx in buckets]
        self.bucket_of = [0] * len(params)
        for b, bucket in enumerate(self.buckets):
            for i in bucket.indices:
                self.bucket_of[i] = b
        self.expect_hooks = False  # a synchronising backward is due
        self.started = False  # some gradient arrived in that backward
        self.ready = [False] * len(params)
        self.next_bucket = 0
        self.local_used: list[bool] | None = None
        self.handles = [p.register_post_accumulate_grad_hook(self._hook(i))
                        for i, p in enumerate(params)]

    # ---- the per-iteration protocol ----
    def prepare_for_backward(self, unused: Sequence[int], find_unused: bool) -> None:
        """Arm the hooks for the next backward; ``unused`` parameters are ready already."""
        self.drain()
        self.expect_hooks = True
        self.started = False
        self.ready = [False] * len(self.params)
        self.next_bucket = 0
        for b in self.buckets:
            b.pending = len(b.indices)
        self.local_used = [True] * len(self.params) if find_unused else None
        for i in unused:
            self.local_used[i] = False  # type: ignore[index]
            self._mark_ready(i)

    def unfinished(self) -> list[int]:
        """Indices of the parameters whose gradient did not arrive in a backward that began
        (empty when the last synchronising backward completed or never started)."""
        if not (self.expect_hooks and self.started):
            return []
        return [i for i, r in enumerate(self.ready) if not r]

    def drain(self) -> None:
        """Wait for reductions still in flight (a forward whose backward never ran)."""
        for b in self.buckets:
            if b.work is not None:
                b.work.wait()
                b.work = None

    def _hook(self, index: int):
        ref = weakref.ref(self)

        def ddp_grad_ready(param: Tensor) -> None:
            red = ref()
            if red is not None:
                red.grad_ready(index)

        return ddp_grad_ready

    def grad_ready(self, i: int) -> None:
        """Post-accumulate-grad hook of parameter ``i``: its ``.grad`` is complete."""
        if not self.expect_hooks:
            return  # inside no_sync(), after no forward, or a second backward: local only
        if self.ready[i]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of "
                "the following reasons: 1) Use of a module parameter outside the `forward` "
                "function, or 2) reused parameters in multiple reentrant backward passes "
                "(several backward calls after one forward). Parameter that was marked ready "
                f"twice: {self.names[i]} (index {i})."
            )
        self.started = True
        self._mark_ready(i)

    def _mark_ready(self, i: int) -> None:
        self.ready[i] = True
        bucket = self.buckets[self.bucket_of[i]]
        bucket.pending -= 1
        if bucket.pending:
            return
        buckets = self.buckets
        while self.next_bucket < len(buckets) and buckets[self.next_bucket].pending == 0:
            self._launch(buckets[self.next_bucket])
            self.next_bucket += 1
        if self.next_bucket == len(buckets):
            self._finalize()

    def _launch(self, b: _Bucket) -> None:
        """Copy the bucket's gradients into its flat buffer, divide by the world size and start
        an asynchronous all-reduce (sum) of it."""
        ddp = self.ddp()
        if b.buffer is None:
            b.buffer = empty(b.numel, dtype=b.dtype, device=b.device)
            b.views = [b.buffer[o:o + self.params[i].numel()].view(self.params[i].shape)
                       for i, o in zip(b.indices, b.offsets)]
        world = ddp.world_size
        with no_grad():  # copy and divide in one pass (torch divides before the sum too)
            for i, view in zip(b.indices, b.views):
                g = self.params[i].grad
                if g is None:
                    view.zero_()
                elif g is view:  # gradient_as_bucket_view: already in place
                    view.div_(world)
                else:
                    div(g, world, out=view)
        b.work = dist.all_reduce(b.buffer, op=dist.ReduceOp.SUM, group=ddp.process_group,
                                 async_op=True)

    def _finalize(self) -> None:
        """All buckets launched: wait for them and write the averaged gradients back."""
        ddp = self.ddp()
        globally_used = None
        if self.local_used is not None:
            used = tensor([1 if u else 0 for u in self.local_used], dtype=int32,
                          device=self.params[0].device)
            dist.all_reduce(used, op=dist.ReduceOp.SUM, group=ddp.process_group)
            globally_used = used.tolist()
        as_view = ddp.gradient_as_bucket_view
        with no_grad():
            for b in self.buckets:
                b.work.wait()
                b.work = None
                for i, view in zip(b.indices, b.views):
                    p = self.params[i]
                    if globally_used is not None and not globally_used[i]:
                        continue  # unused on every rank: .grad stays as it was (torch)
                    if as_view:
                        p.grad = view
                    elif p.grad is None:
                        p.grad = view.clone()
                    elif p.grad is not view:
                        p.grad.copy_(view)
        self.expect_hooks = False

    def remove(self) -> None:
        """Unregister the gradient hooks."""
        for h in self.handles:
            h.remove()
        self.handles = []


class DistributedDataParallel(Module):
    """Data parallelism over processes: wraps ``module`` so that ``backward`` averages the
    gradients of all ranks (torch's ``torch.nn.parallel.DistributedDataParallel``).

    Launch one process per replica (``mpirun -n 2 python train.py``), call
    ``gpuarr.distributed.init_process_group`` in each, build the same model everywhere and wrap
    it. Give each rank its own part of the data (``DistributedSampler``). The parameters and
    buffers of rank 0 are broadcast at construction, so the replicas start equal; gradients
    are averaged in buckets of about ``bucket_cap_mb`` MiB (the first bucket 1 MiB) while
    backward runs, so an optimizer step on every rank keeps the replicas equal.

    Args:
        module: the model to replicate.
        device_ids: for a CUDA module, ``[device]`` (one device per process), as torch; inputs
            are moved to that device before ``forward``. ``None`` for CPU modules.
        output_device: accepted for torch compatibility (outputs stay where ``module`` puts
            them).
        dim: accepted for torch compatibility.
        broadcast_buffers: broadcast the buffers of rank 0 (e.g. BatchNorm running
            statistics) before each forward (default True), and at construction.
        init_sync: broadcast parameters and buffers of rank 0 at construction (default True).
        process_group: the group to reduce over (default: the whole world), from
            ``gpuarr.distributed.new_group``.
        bucket_cap_mb: bucket size in MiB (default 25, with a first bucket of 1 MiB as torch).
        find_unused_parameters: after each forward, find the parameters its outputs do not
            depend on and count them as ready (their gradient is left alone where no rank
            used them). Without it, a parameter that gets no gradient makes the next forward
            raise a RuntimeError that names it.
        check_reduction: accepted for torch compatibility (ignored, as in torch).
        gradient_as_bucket_view: after the reduction, ``.grad`` is a view into the bucket
            buffer instead of a copy of it (saves one copy and memory per step).
        static_graph: accepted for torch compatibility (the graph is taken as it comes).

    Raises:
        RuntimeError: if the default process group is not initialized, or ``module`` has no
            parameter that requires grad, or ranks hold differently shaped models.
        ValueError: for ``device_ids`` with more than one device or on a CPU module.

    Example:
        >>> import gpuarr.distributed as dist
        >>> from gpuarr.nn.parallel import DistributedDataParallel as DDP
        >>> dist.init_process_group("mpi")          # under `mpirun -n 2`
        >>> model = DDP(nn.Linear(10, 1))
        >>> opt = gpuarr.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = model(x).square().mean()          # x: this rank's batch
        >>> loss.backward()                          # .grad now averaged over both ranks
        >>> opt.step()
        >>> with model.no_sync():                    # accumulate locally ...
        ...     model(x2).sum().backward()
        >>> model(x3).sum().backward()               # ... and synchronise here
        >>> model.state_dict().keys()                # odict_keys(['module.weight', 'module.bias'])
    """

    def __init__(
        self,
        module: Module,
        device_ids: Sequence[Any] | None = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("Default process group has not been initialized, please make "
                               "sure to call init_process_group.")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects an nn.Module, got "
                            f"{type(module).__name__}")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        devices = {str(p.device) for _, p in named}
        if len(devices) > 1:
            raise ValueError(f"DistributedDataParallel's input module must be on the same "
                             f"device, but found parameters on {sorted(devices)}.")
        self._device = named[0][1].device
        if device_ids is not None:
            device_ids = list(device_ids)
            if len(device_ids) != 1 or self._device.type == "cpu":
                raise ValueError(
                    "DistributedDataParallel device_ids and output_device arguments only work "
                    "with single-device GPU modules or CPU modules, but got device_ids "
                    f"{device_ids}, output_device {output_device}, and module parameters "
                    f"{{{self._device}}}. For a CPU module pass device_ids=None.")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.process_group = process_group
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.check_reduction = check_reduction
        self.world_size = dist.get_world_size(process_group)
        self.rank = dist.get_rank(process_group)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True

        cap = _DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap * _MB)
        first = _DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
        params = [p for _, p in named]
        self._param_names = [n for n, _ in named]
        self._verify_same_model(params)
        if init_sync:
            self._broadcast_coalesced(list(module.parameters()) + self._buffers_list())
        buckets = _assign_buckets(params, [first, self.bucket_bytes_cap])
        self.reducer = _Reducer(self, params, self._param_names, buckets)

    # ---- collectives helpers ----
    def _src(self) -> int:
        """The global rank of rank 0 of ``process_group`` (the source of broadcasts)."""
        if self.process_group is None:
            return 0
        return dist.get_global_rank(self.process_group, 0)

    def _buffers_list(self) -> list[Tensor]:
        return [b for b in self.module.buffers() if b is not None]

    def _broadcast_coalesced(self, tensors: list[Tensor]) -> None:
        """Broadcast ``tensors`` from rank 0 in place, one broadcast per dtype/device."""
        if self.world_size == 1 or not tensors:
            return
        groups: dict[tuple, list[Tensor]] = {}
        for t in tensors:
            groups.setdefault((str(t.dtype), str(t.device)), []).append(t)
        src = self._src()
        with no_grad():
            for ts in groups.values():
                flat = cat([t.detach().reshape(-1) for t in ts])
                dist.broadcast(flat, src=src, group=self.process_group)
                off = 0
                for t in ts:
                    n = t.numel()
                    t.copy_(flat[off:off + n].view(t.shape))
                    off += n

    def _verify_same_model(self, params: list[Tensor]) -> None:
        """Raise if the ranks hold models with different parameter counts or shapes."""
        if self.world_size == 1:
            return
        sig = 0
        for p in params:
            for s in p.shape:
                sig = (sig * 1_000_003 + s + 1) % (2**61 - 1)
        mine = tensor([len(params), sum(p.numel() for p in params), sig], dtype=int64,
                      device=params[0].device)
        gathered = [zeros_like(mine) for _ in range(self.world_size)]
        dist.all_gather(gathered, mine, group=self.process_group)
        ref = gathered[0].tolist()
        for r, g in enumerate(gathered):
            v = g.tolist()
            if v != ref:
                raise RuntimeError(
                    "DDP expects same model across all ranks, but Rank 0 has "
                    f"{ref[0]} params ({ref[1]} elements), while rank {r} has inconsistent "
                    f"{v[0]} params ({v[1]} elements) or different parameter shapes.")

    # ---- forward ----
    def forward(self, *inputs, **kwargs):
        """Run ``module`` on this rank's inputs; with grad enabled (outside ``no_sync``) the
        following backward averages the gradients over the ranks.

        Raises:
            RuntimeError: if the previous synchronising backward did not produce a gradient
                for every parameter (unused parameters without ``find_unused_parameters``).
        """
        red = self.reducer
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            missing = red.unfinished()
            if missing:
                self._raise_unfinished(missing)
        if self.require_forward_param_sync and self.broadcast_buffers:
            bufs = self._buffers_list()
            if bufs:
                self._broadcast_coalesced(bufs)
        if self.device_ids:
            inputs = _to_device(inputs, self._device)
            kwargs = _to_device(kwargs, self._device)
        out = self.module(*inputs, **kwargs)
        if sync:
            self.require_forward_param_sync = True
            unused: list[int] = []
            if self.find_unused_parameters:
                reached = {id(leaf) for leaf in leaves_of(_find_tensors(out))}
                unused = [i for i, p in enumerate(red.params) if id(p) not in reached]
            red.prepare_for_backward(unused, self.find_unused_parameters)
        else:
            self.require_forward_param_sync = False
        return out

    def _raise_unfinished(self, missing: list[int]) -> None:
        names = ", ".join(self._param_names[i] for i in missing)
        idx = " ".join(str(i) for i in missing)
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to "
            "`gpuarr.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
            "function outputs participate in calculating loss.\n"
            f"Parameters which did not receive grad for rank {self.rank}: {names}\n"
            f"Parameter indices which did not receive grad for rank {self.rank}: {idx}"
        )

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Context manager that turns gradient synchronisation off: backward passes of
        forwards run inside it only accumulate into the local ``.grad``; the first
        forward/backward after it averages the accumulated gradients over the ranks.

        Example:
            >>> with ddp.no_sync():
            ...     for xb in micro_batches[:-1]:
            ...         loss_fn(ddp(xb), y).backward()   # local accumulation
            >>> loss_fn(ddp(micro_batches[-1]), y).backward()   # synchronised
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old
