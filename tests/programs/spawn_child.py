"""Starts a 'spawn' child that imports torch: under ``python -m gpuarr.run_torch`` the child
must get gpuarr too (tests/test_run_torch.py)."""

import multiprocessing as mp

import torch


def child(q) -> None:
    import torch as t

    q.put((getattr(t, "__gpuarr__", False), type(t.ones(2)).__module__,
           float(t.ones(3).sum().item())))


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    print("parent", getattr(torch, "__gpuarr__", False))
    print("child", *q.get(timeout=120))
    p.join()
    print("exitcode", p.exitcode)
