"""Symbolic values for the pickle walker, and safe reconstruction of numpy dtypes."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_DTYPE_STR = re.compile(r"^[a-zA-Z]\d{0,6}$")


class Sym:
    __slots__ = ()


class Const(Sym):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Glob(Sym):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Tup(Sym):
    __slots__ = ("items", "wrapper_first")

    def __init__(self, items: list) -> None:
        self.items = items
        self.wrapper_first = False  # (NumpyArrayWrapper, ...): only copyreg may receive it


class DictSym(Sym):
    """A dict built by EMPTY_DICT/DICT + SETITEM(S).  ``items`` holds the first 256 string keys;
    the other fields record everything that makes the contents unprovable (used to refuse joblib
    array headers whose length the scanner cannot prove equals what joblib will read)."""

    __slots__ = ("items", "complete", "writes", "duplicates", "computed_key", "fetched", "aliased_write", "escaped")

    def __init__(self) -> None:
        self.items: dict[str, Sym] = {}
        self.complete = True
        self.writes = 0  # every key written, duplicates and non-constant keys included
        self.duplicates: list[str] = []  # string keys written more than once (first few)
        self.computed_key = False  # a key that is not a constant string (e.g. a call result)
        self.fetched = False  # pushed again from the memo (GET) or by DUP: it has aliases
        self.aliased_write = False  # written to after it was fetched from the memo / DUP'd
        self.escaped = False  # stored into another container, a call or a BUILD before


class Obj(Sym):
    __slots__ = ("klass", "args", "attrs", "state", "builds", "plain_new", "dtype")

    def __init__(self, klass: str | None, args: Sym | None = None) -> None:
        self.klass, self.args, self.attrs, self.state = klass, args, {}, None
        self.builds = 0  # how many BUILD opcodes were applied to it
        self.plain_new = False  # created without constructor arguments (cls.__new__ only)
        self.dtype: Any = None  # numpy.dtype: the dtype as it was right after its BUILD


class Opaque(Sym):
    __slots__ = ()


OPAQUE = Opaque()


def _plain(sym: Any, depth: int) -> Any:
    """Turn a constant-only symbolic value into Python data (dtypes are rebuilt)."""
    if depth > 16:
        raise ValueError("too deep")
    if isinstance(sym, Const):
        return sym.value
    if isinstance(sym, Tup):
        return tuple(_plain(i, depth + 1) for i in sym.items)
    if isinstance(sym, DictSym) and sym.complete:
        return {k: _plain(v, depth + 1) for k, v in sym.items.items()}
    if isinstance(sym, Obj) and sym.klass == "numpy.dtype":
        return dtype_now(sym, depth + 1)
    raise ValueError("not constant data")


def materialize_dtype(sym: Any, depth: int = 0) -> np.dtype:
    """Rebuild a ``numpy.dtype`` exactly as unpickling would (``np.dtype(*args)`` then
    ``__setstate__(state)``), but only from constant data, so no foreign code can run."""
    if not isinstance(sym, Obj) or sym.klass != "numpy.dtype" or not isinstance(sym.args, Tup):
        raise ValueError("dtype")
    args = _plain(sym.args, depth + 1)
    if not args or not isinstance(args[0], str) or not _DTYPE_STR.match(args[0]):
        raise ValueError("dtype")
    if not all(isinstance(a, bool) for a in args[1:3]) or len(args) > 3:
        raise ValueError("dtype")
    dtype = np.dtype(*args)
    if sym.state is not None:
        dtype.__setstate__(_plain(sym.state, depth + 1))
    return dtype


def dtype_now(sym: Any, depth: int = 0) -> np.dtype:
    """The dtype a symbolic ``numpy.dtype`` object is *at this point of the stream*: the snapshot
    taken at its (single) BUILD, or its constructor arguments if it was never BUILT.  A dtype that
    was BUILT twice is refused: what ``__setstate__`` twice leaves behind is numpy's business."""
    if not isinstance(sym, Obj) or sym.klass != "numpy.dtype":
        raise ValueError("dtype is not a literal numpy.dtype construction")
    if sym.builds > 1:
        raise ValueError("dtype state was set more than once")
    if sym.builds == 1:
        if not isinstance(sym.dtype, np.dtype):
            raise ValueError("dtype state could not be rebuilt from constants")
        return sym.dtype
    return materialize_dtype(sym, depth)


def dtype_info(sym: Any) -> tuple[bool, int]:
    """(hasobject, itemsize) of a symbolic dtype, as joblib's reader would see them."""
    dtype = dtype_now(sym)
    if dtype.itemsize <= 0 and not dtype.hasobject:
        raise ValueError("itemsize")
    return bool(dtype.hasobject), int(dtype.itemsize)
