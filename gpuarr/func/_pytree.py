"""A small pytree helper for the function transforms: flatten nested tuples, lists and dicts
(namedtuples and OrderedDicts included) to their leaves and back.

The structure object, :class:`TreeSpec`, prints as torch's does, so the transforms' error
messages about mismatched structures read as torch's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["TreeSpec", "LEAF", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_prefix",
           "treespec_pprint"]


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


class TreeSpec:
    """The shape of a pytree: a node type, its context (dict keys) and its children's specs.

    A leaf is a ``TreeSpec`` with ``type`` None; it prints as ``*``.
    """

    __slots__ = ("type", "context", "children", "num_leaves")

    def __init__(self, typ, context, children: list) -> None:
        self.type = typ
        self.context = context
        self.children = children
        self.num_leaves = 1 if typ is None else sum(c.num_leaves for c in children)

    def is_leaf(self) -> bool:
        return self.type is None

    def __eq__(self, other) -> bool:
        return (isinstance(other, TreeSpec) and self.type is other.type
                and self.context == other.context and self.children == other.children)

    def __repr__(self, indent: int = 0) -> str:
        if self.type is None:
            return "*"
        # the layout of torch.utils._pytree.TreeSpec.__repr__
        text = ""
        if self.children:
            indent += 2
            text = self.children[0].__repr__(indent)
            text += "," if len(self.children) > 1 else ""
            text += ",".join("\n" + " " * indent + c.__repr__(indent) for c in self.children[1:])
        return f"TreeSpec({self.type.__name__}, {self.context}, [{text}])"


LEAF = TreeSpec(None, None, [])


def _children(x) -> tuple[Any, list] | None:
    """``(context, children)`` of a container node; None for a leaf."""
    if isinstance(x, (dict, OrderedDict)):
        keys = list(x.keys())
        return keys, [x[k] for k in keys]
    if _is_namedtuple(x):
        return type(x), list(x)
    if isinstance(x, (tuple, list)):
        return None, list(x)
    return None


def tree_flatten(tree) -> tuple[list, TreeSpec]:
    """The leaves of ``tree`` (depth first, dicts in key order) and its :class:`TreeSpec`."""
    leaves: list = []

    def walk(x) -> TreeSpec:
        node = _children(x)
        if node is None:
            leaves.append(x)
            return LEAF
        context, kids = node
        return TreeSpec(type(x), context, [walk(k) for k in kids])

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(leaves, spec: TreeSpec):
    """The inverse of :func:`tree_flatten`: rebuild ``spec``'s structure around ``leaves``."""
    it = iter(leaves)

    def build(s: TreeSpec):
        if s.type is None:
            return next(it)
        kids = [build(c) for c in s.children]
        if issubclass(s.type, dict):
            return s.type(zip(s.context, kids))
        if s.context is not None:  # a namedtuple
            return s.type(*kids)
        return s.type(kids)

    return build(spec)


def tree_map(fn: Callable, tree):
    """``tree`` with every leaf replaced by ``fn(leaf)``."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree) -> list | None:
    """``prefix`` (a pytree whose leaves stand for whole subtrees of ``tree``) expanded to one
    value per leaf of ``tree``; None when ``prefix`` is not a prefix of ``tree``'s structure."""
    out: list = []

    def walk(p, t) -> bool:
        pnode = _children(p)
        if pnode is None:
            out.extend([p] * tree_flatten(t)[1].num_leaves)
            return True
        tnode = _children(t)
        if tnode is None or type(p) is not type(t) or len(pnode[1]) != len(tnode[1]):
            return False
        if isinstance(p, dict):
            if set(p) != set(t):
                return False
            return all(walk(p[k], t[k]) for k in t)
        return all(walk(a, b) for a, b in zip(pnode[1], tnode[1]))

    return out if walk(prefix, tree) else None


def treespec_pprint(spec: TreeSpec) -> str:
    """A compact form of ``spec`` (leaves as ``*``), as torch's ``treespec_pprint`` writes it:
    ``(*,)``, ``[*, *]``, ``{'a': *}``."""
    if spec.type is None:
        return "*"
    kids = [treespec_pprint(c) for c in spec.children]
    if issubclass(spec.type, dict):
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(spec.context, kids)) + "}"
    if spec.context is not None:  # a namedtuple
        fields = ", ".join(f"{f}={v}" for f, v in zip(spec.context._fields, kids))
        return f"{spec.type.__name__}({fields})"
    if issubclass(spec.type, list):
        return "[" + ", ".join(kids) + "]"
    return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
