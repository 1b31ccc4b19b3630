"""Static pickle scanner: ``pickletools.genops`` + a tiny symbolic stack machine.

Nothing is ever unpickled.  We walk the opcodes and model the unpickler's stack and
memo just enough to know *which* globals are imported (GLOBAL, STACK_GLOBAL, INST) and
*what* gets called (REDUCE, NEWOBJ(_EX), OBJ, INST, BUILD).  Calls must target a
global resolved from constants (memo look-ups included), otherwise the file is
refused.  joblib's ``NumpyArrayWrapper`` is followed: after its BUILD the raw array
bytes (size from the recorded shape/dtype/alignment) are skipped exactly as
``joblib.numpy_pickle.NumpyUnpickler`` does, and object arrays are walked as the
nested pickle joblib writes there.

Skipping bytes is only safe if the length is *proved* to be the one joblib will use, so a
wrapper is accepted only in the exact shape joblib writes it: created with ``cls.__new__``
(no constructor arguments), BUILT once, from a single literal dict that was built in one
place (never reached through the memo, DUP'd, shared or changed afterwards) holding only
constant string keys, each once, from joblib 1.6's attribute set, with literal values and a
literal ``numpy.dtype``.  Anything else is refused with a ``joblib_wrapper_*`` code.  For
dtypes that are not plain numbers (strings, bytes, records) the skipped bytes are also
searched for pickle imports of names off the allowlist (defence in depth).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import pickletools
import re
import sys
from typing import Any, BinaryIO

from .allowlist import NEW_ONLY, grade_with_modelscan, is_allowed, is_nested_loader
from .report import Findings, ScanLimits
from .symbols import OPAQUE, Const, DictSym, Glob, Obj, Sym, Tup, dtype_info, dtype_now, materialize_dtype

WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
#: ``NumpyArrayWrapper.__init__`` of joblib 1.6 (joblib/numpy_pickle.py) sets exactly these.
WRAPPER_KEYS = ("subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes")
#: joblib < 1.2 did not write ``numpy_array_alignment_bytes`` (read as "no padding").
WRAPPER_REQUIRED = frozenset(WRAPPER_KEYS[:5])
WRAPPER_SUBCLASSES = frozenset({"numpy.ndarray", "numpy.matrix"})
OBJECT_BASES = frozenset({"builtins.object", "__builtin__.object"})
COPYREG_NEW = frozenset({"copyreg._reconstructor", "copy_reg._reconstructor", "copyreg.__newobj__"})
#: dtype kinds whose bytes are plain numbers (bool, ints, floats, complex, datetimes).
NUMERIC_KINDS = frozenset("biufcmM")
BYTES_TYPES = frozenset(f"{m}.{n}" for m in ("builtins", "__builtin__") for n in ("bytes", "bytearray"))
_CONST_OPS = {
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "FLOAT",
    "BINFLOAT",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
}
_LITERALS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


class Abort(Exception):
    """Stop walking this stream (the reason is already recorded)."""


def _is_wrapper_class(v: Any) -> bool:
    return isinstance(v, Glob) and v.name == WRAPPER


class PickleScanner:
    """Scan one pickle (or joblib) byte stream; results go into ``findings``."""

    def __init__(
        self,
        findings: Findings,
        *,
        extra: frozenset[str],
        limits: ScanLimits,
        location: str = "",
        joblib_arrays: bool = False,
        base_depth: int = 0,
    ) -> None:
        self.f, self.extra, self.limits = findings, extra, limits
        self.location, self.joblib_arrays = location, joblib_arrays
        self.opcodes, self.base_depth = 0, base_depth
        self.saw_wrapper = False

    # -- public -----------------------------------------------------------------------
    def scan(self, stream: BinaryIO, size: int) -> None:
        self.size = size
        stream = _ClampedReader(stream, size)
        try:
            self._walk(stream, depth=self.base_depth, joblib_arrays=self.joblib_arrays)
            if stream.read(1):
                self.f.refuse(
                    "trailing_data",
                    "The file contains extra data after the end of the pickle stream, which can hide a second payload.",
                    self._where(f"offset {stream.tell() - 1}"),
                    "high",
                )
        except Abort:
            pass

    # -- helpers ----------------------------------------------------------------------
    def _escape(self, values: list, pos: int, tuple_items: bool = False) -> None:
        """``values`` are now referenced from somewhere else (a container, a call, a BUILD).

        joblib's array-header class may only be instantiated the way joblib writes it (NEWOBJ,
        or as the first argument of copyreg's helpers): handed to anything else (e.g. pandas'
        ``_new_Index(cls, d)`` or numpy's ``_mareconstruct(cls, ...)``, which call
        ``cls.__new__``), it would make an array header the scanner cannot see."""
        for idx, v in enumerate(values):
            if isinstance(v, DictSym):
                v.escaped = True
            elif isinstance(v, Tup):
                if v.wrapper_first:
                    self._wrapper_class_misuse(pos)
                for item in v.items[:64]:
                    if isinstance(item, DictSym):
                        item.escaped = True
            elif _is_wrapper_class(v) and not (tuple_items and idx == 0):
                self._wrapper_class_misuse(pos)

    def _escape_args(self, args: Any, pos: int) -> None:
        """Call arguments: a tuple led by the wrapper class is judged by ``_call`` (copyreg only)."""
        if isinstance(args, Tup):
            for item in args.items[:64]:
                if isinstance(item, DictSym):
                    item.escaped = True
        else:
            self._escape([args], pos)

    def _wrapper_class_misuse(self, pos: int) -> None:
        self._fail(
            "joblib_wrapper_indirect",
            "The pickle hands joblib's array-header class "
            "(NumpyArrayWrapper) to something other than joblib's own way of creating it, "
            "which could create an array header the scanner cannot follow.",
            f"offset {pos}",
        )
        raise Abort

    def _where(self, detail: str) -> str:
        return f"{self.location}: {detail}" if self.location else detail

    def _fail(self, code: str, message: str, detail: str, severity: str = "critical") -> None:
        self.f.refuse(code, message, self._where(detail), severity)

    def _global(self, module: Any, qualname: Any) -> Glob:
        name = f"{module}.{qualname}"
        self.f.globals.add(name)
        if is_nested_loader(name):
            self._fail(
                "nested_pickle",
                f"The file references {name}, which would load another pickle or model file while loading this one.",
                name,
            )
        elif not is_allowed(module, qualname, self.extra):
            self._fail(
                "unsafe_global",
                f"The file would import {name}, which is not on the allowlist of safe model and data types.",
                name,
                grade_with_modelscan(name),
            )
        return Glob(name)

    def _walk(self, stream: BinaryIO, depth: int, joblib_arrays: bool) -> None:
        if depth > self.limits.max_nesting_depth:
            self._fail("nesting_too_deep", "Pickles are nested too deeply.", f"depth {depth}", "high")
            raise Abort
        stack: list = []
        meta: list[list] = []
        memo: dict[int, Any] = {}

        def pop() -> Any:
            if not stack:
                self._fail(
                    "malformed_pickle", "The pickle stream is malformed (stack underflow).", f"offset {pos}", "high"
                )
                raise Abort
            return stack.pop()

        def pop_mark() -> list:
            nonlocal stack
            if not meta:
                self._fail(
                    "malformed_pickle", "The pickle stream is malformed (missing MARK).", f"offset {pos}", "high"
                )
                raise Abort
            items, stack = stack, meta.pop()
            return [i for i in items]

        ops = pickletools.genops(stream)
        first, pos, frame_end = True, stream.tell(), 0
        while True:
            try:
                opcode, arg, pos = next(ops)
            except StopIteration:
                return
            except ValueError as exc:  # genops never executes; it only decodes
                msg = str(exc)
                if "unknown" in msg:
                    self._fail("unknown_opcode", "The pickle stream contains an unknown opcode.", msg, "high")
                else:
                    self._fail("truncated_pickle", "The pickle stream is truncated or corrupt.", msg, "high")
                raise Abort from None  # the refusal is recorded; the parser's error is not the story
            self.opcodes += 1
            if self.opcodes > self.limits.max_pickle_opcodes:
                self._fail("resource_limit", "The pickle has too many operations.", str(self.opcodes), "high")
                raise Abort
            name = opcode.name
            if name == "PROTO":
                if not first or not isinstance(arg, int) or arg > 5:
                    self._fail(
                        "protocol_violation",
                        "The pickle protocol header is misplaced or unsupported.",
                        f"PROTO {arg} at offset {pos}",
                        "high",
                    )
            first = False
            if name == "PROTO":
                pass
            elif name in _CONST_OPS:
                if isinstance(arg, (bytes, bytearray)):
                    self._embedded(bytes(arg[:2]), arg, depth)
                    stack.append(Const(arg) if len(arg) <= 256 else OPAQUE)
                else:
                    stack.append(Const(arg))
            elif name in _LITERALS:
                stack.append(Const(_LITERALS[name]))
            elif name == "FRAME":
                frame_end = stream.tell() + int(arg)
            elif name == "STOP":
                pop()
            elif name == "MARK":
                meta.append(stack)
                stack = []
            elif name == "POP":
                pop()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                v = pop()
                if isinstance(v, DictSym):
                    v.fetched = True
                stack += [v, v]
            elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                if not stack:
                    pop()
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    self._fail(
                        "malformed_pickle",
                        "The pickle reads a memo slot it never wrote.",
                        f"{name} {arg} at offset {pos}",
                        "high",
                    )
                    raise Abort
                if isinstance(memo[arg], DictSym):
                    memo[arg].fetched = True
                stack.append(memo[arg])
            elif name in ("EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
                n = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}.get(name)
                items = pop_mark() if n is None else [pop() for _ in range(n)][::-1]
                self._escape(items, pos, tuple_items=True)
                tup = Tup(items)
                tup.wrapper_first = bool(items) and _is_wrapper_class(items[0])
                stack.append(tup)
            elif name in ("EMPTY_LIST", "EMPTY_SET"):
                stack.append(OPAQUE)
            elif name in ("LIST", "FROZENSET"):
                self._escape(pop_mark(), pos)
                stack.append(OPAQUE)
            elif name in ("APPEND", "APPENDS", "ADDITEMS"):
                self._escape([pop()] if name == "APPEND" else pop_mark(), pos)
                if not stack:
                    pop()
            elif name in ("EMPTY_DICT", "DICT"):
                d = DictSym()
                if name == "DICT":
                    items = pop_mark()
                    self._set_items(d, items, pos)
                stack.append(d)
            elif name in ("SETITEM", "SETITEMS"):
                items = [pop(), pop()][::-1] if name == "SETITEM" else pop_mark()
                if not stack:
                    pop()
                self._set_items(stack[-1], items, pos)
            elif name in ("GLOBAL", "INST"):
                module, _, qual = str(arg).partition(" ")
                g = self._global(module, qual)
                if name == "GLOBAL":
                    stack.append(g)
                else:
                    items = pop_mark()
                    self._escape(items, pos)
                    stack.append(self._call(g, Tup(items), pos))
            elif name == "STACK_GLOBAL":
                qual, module = pop(), pop()
                if not (
                    isinstance(qual, Const)
                    and isinstance(module, Const)
                    and isinstance(qual.value, str)
                    and isinstance(module.value, str)
                ):
                    self._fail(
                        "unresolvable_global",
                        "The pickle computes the name of an import at load time, which cannot be verified.",
                        f"offset {pos}",
                    )
                    raise Abort
                stack.append(self._global(module.value, qual.value))
            elif name == "REDUCE":
                args = pop()
                self._escape_args(args, pos)
                stack.append(self._call(pop(), args, pos))
            elif name == "NEWOBJ":
                args = pop()
                self._escape_args(args, pos)
                stack.append(self._call(pop(), args, pos, new=True))
            elif name == "NEWOBJ_EX":
                kwargs = pop()
                args = pop()
                self._escape_args(args, pos)
                self._escape([kwargs], pos)
                obj = self._call(pop(), args, pos, new=True)
                if not (isinstance(kwargs, DictSym) and kwargs.complete and not kwargs.items):
                    obj.plain_new = False  # keyword arguments reach __new__
                stack.append(obj)
            elif name == "OBJ":
                items = pop_mark()
                if not items:
                    self._fail(
                        "malformed_pickle", "The pickle stream is malformed (empty OBJ).", f"offset {pos}", "high"
                    )
                    raise Abort
                self._escape(items[1:], pos)
                stack.append(self._call(items[0], Tup(items[1:]), pos))
            elif name == "BUILD":
                state = pop()
                if not stack:
                    pop()
                self._build(stack, state, stream, pos, depth, joblib_arrays, frame_end)
            elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
                if name == "NEXT_BUFFER":
                    self._fail(
                        "out_of_band_buffer",
                        "The pickle expects out-of-band buffers, which the portal does not provide.",
                        f"offset {pos}",
                        "medium",
                    )
                    raise Abort
            elif name in ("PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4"):
                self._fail(
                    "unsupported_opcode",
                    "The pickle uses persistent IDs or the extension registry, which can resolve to arbitrary objects.",
                    f"{name} at offset {pos}",
                )
                raise Abort
            else:  # pragma: no cover - genops knows only the opcodes handled above
                self._fail("unknown_opcode", "The pickle stream contains an unsupported opcode.", name, "high")
                raise Abort

    def _set_items(self, target: Any, items: list, pos: int) -> None:
        self._escape(items, pos)
        if isinstance(target, DictSym) and target.fetched:
            target.aliased_write = True
        for key, value in zip(items[::2], items[1::2]):
            if isinstance(key, Const) and key.value == "__class__":
                self._fail(
                    "unsafe_state", "The pickle tries to change an object's class while restoring it.", f"offset {pos}"
                )
                raise Abort
            if isinstance(target, DictSym):
                target.writes += 1
                if not (isinstance(key, Const) and isinstance(key.value, str)):
                    target.computed_key = True
                    target.complete = False
                elif key.value in target.items:
                    if len(target.duplicates) < 8:
                        target.duplicates.append(key.value)
                    target.items[key.value] = value  # the last write wins, as in a real dict
                elif len(target.items) < 256:
                    target.items[key.value] = value
                else:
                    target.complete = False

    def _call(self, func: Any, args: Any, pos: int, new: bool = False) -> Sym:
        if not isinstance(func, Glob):
            self._fail(
                "indirect_call",
                "The pickle calls an object that is not a plain, "
                "verifiable import (a classic way to smuggle a function call).",
                f"offset {pos}",
            )
            raise Abort
        name = func.name
        items = args.items if isinstance(args, Tup) else None
        if isinstance(args, Tup) and args.wrapper_first and name not in COPYREG_NEW:
            self._wrapper_class_misuse(pos)
        if name == "_codecs.encode":
            if not (
                items and len(items) == 2 and isinstance(items[1], Const) and items[1].value in ("latin1", "latin-1")
            ):
                self._fail(
                    "unsafe_call_arguments",
                    "_codecs.encode is only allowed with the 'latin1' codec that pickle itself uses.",
                    f"offset {pos}",
                    "high",
                )
                raise Abort
        if name in BYTES_TYPES and items and isinstance(items[0], Const) and isinstance(items[0].value, int):
            self._fail(
                "unsafe_call_arguments",
                f"{name} is called with a size, which can exhaust memory at load time.",
                f"offset {pos}",
                "high",
            )
            raise Abort from None  # recorded as a refusal above
        if name in NEW_ONLY and not (new or (isinstance(args, Tup) and not args.items)):
            self._fail(
                "unsafe_call_arguments",
                f"{name} may only be restored, not constructed with arguments (its constructor can read files).",
                f"offset {pos}",
                "high",
            )
            raise Abort from None  # recorded as a refusal above
        if name in COPYREG_NEW:
            base_ok = name == "copyreg.__newobj__" or (
                items
                and len(items) == 3
                and isinstance(items[1], Glob)
                and items[1].name.split(".")[0] in ("builtins", "__builtin__")
            )
            if not items or not isinstance(items[0], Glob) or not base_ok:
                self._fail("indirect_call", "copyreg is used with a class that is not a plain import.", f"offset {pos}")
                raise Abort
            obj = Obj(items[0].name, args)
            # _reconstructor(cls, object, None) and __newobj__(cls) are cls.__new__ without arguments.
            obj.plain_new = (len(items) == 1 and name == "copyreg.__newobj__") or (
                len(items) == 3
                and isinstance(items[1], Glob)
                and items[1].name in OBJECT_BASES
                and isinstance(items[2], Const)
                and items[2].value is None
            )
            return obj
        obj = Obj(name, args)
        obj.plain_new = new and isinstance(args, Tup) and not args.items
        return obj

    def _build(
        self, stack: list, state: Any, stream: BinaryIO, pos: int, depth: int, joblib_arrays: bool, frame_end: int
    ) -> None:
        target = stack[-1]
        if isinstance(target, Glob):
            self._fail(
                "unsafe_state",
                "The pickle tries to overwrite attributes of a class (monkey-patching) while loading.",
                f"{target.name} at offset {pos}",
            )
            raise Abort
        if not isinstance(target, Obj):
            self._escape([state], pos)
            return
        if target.klass == WRAPPER:
            if not joblib_arrays:
                self._fail(
                    "format_mismatch",
                    "The stream contains joblib array data in a place where plain pickle loading is expected.",
                    f"offset {pos}",
                    "high",
                )
                raise Abort
            self.saw_wrapper = True
            self._check_wrapper(target, state, pos)
            if stream.tell() < frame_end:  # joblib reads array bytes from *after* the frame
                self._fail(
                    "unsupported_joblib_layout",
                    "A joblib array header sits inside a pickle frame, which would desynchronise loading.",
                    f"offset {pos}",
                )
                raise Abort
        self._escape([state], pos)
        target.builds += 1
        parts = state.items if isinstance(state, Tup) and len(state.items) == 2 else [state]
        for part in parts:
            if isinstance(part, DictSym):
                target.attrs.update(part.items)
        if target.klass == "numpy.dtype":
            target.state = state
            try:  # snapshot: later changes to memoised parts of the state cannot reach the dtype
                target.dtype = materialize_dtype(target) if target.builds == 1 else None
            except Exception:  # noqa: BLE001 - only a problem if a joblib array uses it
                target.dtype = None
        if target.klass == WRAPPER:
            self._skip_array(target, stream, pos, depth)
            stack[-1] = Obj("numpy.ndarray")

    def _check_wrapper(self, wrapper: Obj, state: Any, pos: int) -> None:
        """Refuse a NumpyArrayWrapper unless its attributes are *proved* to be the literal values
        read here (each problem gets its own code; all of them abort the walk)."""
        at = f"offset {pos}"
        problems: list[tuple[str, str, str]] = []
        if wrapper.builds:
            problems.append(
                (
                    "joblib_wrapper_rebuilt",
                    "A joblib array header is restored twice "
                    "(its state is set again later in the stream), so the length of its "
                    "data cannot be proved.",
                    at,
                )
            )
        if not wrapper.plain_new:
            problems.append(
                (
                    "joblib_wrapper_constructed",
                    "A joblib array header is created with constructor arguments instead of the way joblib writes it.",
                    at,
                )
            )
        if not isinstance(state, DictSym):
            problems.append(
                (
                    "joblib_wrapper_state_not_literal",
                    "A joblib array header's state is "
                    "not a single literal dict, so its shape and dtype cannot be proved.",
                    at,
                )
            )
        else:
            if state.fetched or state.aliased_write or state.escaped:
                problems.append(
                    (
                        "joblib_wrapper_state_aliased",
                        "A joblib array header's state dict "
                        "is reached through the pickle memo or shared with other objects, "
                        "so it may change before joblib reads it.",
                        at,
                    )
                )
            if state.computed_key:
                problems.append(
                    (
                        "joblib_wrapper_computed_key",
                        "A joblib array header's state has "
                        "a key that is computed at load time (not a constant string), so "
                        "its shape cannot be proved.",
                        at,
                    )
                )
            if state.writes > len(WRAPPER_KEYS) or not state.complete:
                problems.append(
                    (
                        "joblib_wrapper_too_many_keys",
                        "A joblib array header's state has "
                        f"more keys ({state.writes}) than joblib writes "
                        f"({len(WRAPPER_KEYS)}).",
                        f"{at}: {state.writes} keys",
                    )
                )
            if state.duplicates:
                problems.append(
                    (
                        "joblib_wrapper_duplicate_key",
                        "A joblib array header's state sets "
                        "the same key twice, so the scanner and joblib could read different "
                        "values.",
                        f"{at}: {', '.join(state.duplicates)}",
                    )
                )
            unexpected = sorted(set(state.items) - set(WRAPPER_KEYS))
            if unexpected:
                problems.append(
                    (
                        "joblib_wrapper_unexpected_key",
                        "A joblib array header's state has keys joblib never writes.",
                        f"{at}: {', '.join(unexpected[:5])[:200]}",
                    )
                )
            missing = sorted(WRAPPER_REQUIRED - set(state.items))
            if missing and not problems:
                problems.append(
                    (
                        "unsupported_joblib_layout",
                        f"A joblib array header lacks {', '.join(missing)}, so its data cannot be skipped safely.",
                        at,
                    )
                )
            if not problems:
                problems += self._wrapper_value_problems(state.items, at)
        for code, message, detail in problems:
            self._fail(code, message, detail, "critical" if code != "unsupported_joblib_layout" else "high")
        if problems:
            raise Abort

    @staticmethod
    def _wrapper_value_problems(attrs: dict, at: str) -> list[tuple[str, str, str]]:
        bad = []
        sub = attrs["subclass"]
        if not (isinstance(sub, Glob) and sub.name in WRAPPER_SUBCLASSES):
            bad.append("subclass")
        order = attrs["order"]
        if not (isinstance(order, Const) and order.value in ("C", "F")):
            bad.append("order")
        mmap = attrs["allow_mmap"]
        if not (isinstance(mmap, Const) and isinstance(mmap.value, bool)):
            bad.append("allow_mmap")
        align = attrs.get("numpy_array_alignment_bytes", Const(None))
        if not (
            isinstance(align, Const)
            and (
                align.value is None
                or (isinstance(align.value, int) and not isinstance(align.value, bool) and align.value >= 0)
            )
        ):
            bad.append("numpy_array_alignment_bytes")
        shape = attrs["shape"]
        if not (
            isinstance(shape, Tup)
            and len(shape.items) <= 64
            and all(
                isinstance(c, Const) and isinstance(c.value, int) and not isinstance(c.value, bool) and c.value >= 0
                for c in shape.items
            )
        ):
            bad.append("shape")
        try:
            dtype_now(attrs["dtype"])
        except Exception:  # noqa: BLE001 - anything but a literal numpy.dtype we can rebuild
            bad.append("dtype")
        if not bad:
            return []
        return [
            (
                "unsupported_joblib_layout",
                "A joblib array header has values that are not the "
                f"literal constants joblib writes ({', '.join(bad)}), so its data cannot be "
                "skipped safely.",
                f"{at}: {', '.join(bad)}",
            )
        ]

    def _skip_array(self, wrapper: Obj, stream: BinaryIO, pos: int, depth: int) -> None:
        try:
            shape = [c.value for c in wrapper.attrs["shape"].items]
            count = math.prod(int(s) for s in shape)
            if any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in shape):
                raise ValueError("shape")
            dtype = dtype_now(wrapper.attrs["dtype"])
            hasobject, itemsize = dtype_info(wrapper.attrs["dtype"])
            align = wrapper.attrs.get("numpy_array_alignment_bytes")
            align_value = None if align is None else align.value
        except Exception:  # noqa: BLE001 - any surprise in the layout is a refusal
            self._fail(
                "unsupported_joblib_layout",
                "A joblib array header could not be verified, so its data cannot be skipped safely.",
                f"offset {pos}",
                "high",
            )
            raise Abort from None  # recorded as a refusal above
        if hasobject:  # joblib writes a nested plain pickle for object arrays
            self._walk(stream, depth + 1, joblib_arrays=False)
            return
        skip = count * itemsize
        if align_value is not None:
            pad = stream.read(1)
            skip += pad[0] if pad else 0
            if not pad:
                skip = self.size + 1
        if stream.tell() + skip > self.size:
            self._fail("truncated_pickle", "A joblib array is cut off before its end.", f"offset {pos}", "high")
            raise Abort from None  # recorded as a refusal above
        if dtype.kind in NUMERIC_KINDS:
            stream.seek(skip, 1)
            return
        start = stream.tell() + (skip - count * itemsize)  # after the alignment padding
        stream.seek(start)
        hidden = _hidden_imports(stream, count * itemsize, self.extra)
        stream.seek(start + count * itemsize)
        if hidden:
            self._fail(
                "joblib_array_hides_opcodes",
                "The data of a joblib text/record array "
                "contains pickle instructions that import names off the allowlist "
                "(a way to smuggle code past a length check).",
                f"offset {pos}: {', '.join(hidden[:5])}",
            )
            raise Abort

    def _embedded(self, head: bytes, data: bytes, depth: int) -> None:
        """Defence in depth: bytes that are themselves a pickle get scanned too."""
        if (
            len(data) < 4
            or head[:1] != b"\x80"
            or head[1:2] not in (b"\x02", b"\x03", b"\x04", b"\x05")
            or not data.endswith(b".")
            or depth >= self.limits.max_nesting_depth
        ):
            return
        import io

        sub = Findings()
        PickleScanner(sub, extra=self.extra, limits=self.limits, base_depth=depth + 1).scan(io.BytesIO(data), len(data))
        bad = [i.detail for i in sub.issues if i.code in {"unsafe_global", "nested_pickle", "indirect_call"}]
        if bad:
            self._fail(
                "nested_pickle",
                "The file embeds another pickle that imports unsafe names.",
                ", ".join(sorted(set(bad))),
            )


_TEXT_IMPORT = re.compile(rb"[ci]([A-Za-z_][A-Za-z0-9_.]{0,127})\n([A-Za-z_][A-Za-z0-9_.]{0,127})\n")
_CHUNK = 1024 * 1024
_OVERLAP = 600


def _hidden_imports(stream: BinaryIO, length: int, extra: frozenset[str]) -> list[str]:
    """Imports of off-allowlist names that the raw bytes of an array would perform *if* they were
    read as pickle opcodes: GLOBAL/INST text and (SHORT_)BINUNICODE pairs before STACK_GLOBAL.
    Only names whose top-level package exists here count, so ordinary text such as
    ``"cat\ndog\n"`` is not mistaken for an import."""
    found: list[str] = []
    offset, tail = 0, b""
    while offset < length and len(found) < 5:
        chunk = stream.read(min(_CHUNK, length - offset))
        if not chunk:
            break
        offset += len(chunk)
        data = tail + chunk
        candidates = [(m.group(1), m.group(2)) for m in _TEXT_IMPORT.finditer(data)]
        candidates += _stack_global_pairs(data)
        for module, name in candidates:
            full = _dangerous_import(module, name, extra)
            if full and full not in found:
                found.append(full)
        tail = data[-_OVERLAP:]
    return found


_STRING_START = re.compile(rb"\x8c|X(?=[\x00-\xff]\x00\x00\x00)")


def _string_at(data: bytes, i: int) -> tuple[bytes, int] | None:
    """A SHORT_BINUNICODE or (short) BINUNICODE opcode at ``i``: (string, end) or None."""
    if i >= len(data):
        return None
    if data[i] == 0x8C and i + 1 < len(data):
        n, start = data[i + 1], i + 2
    elif data[i : i + 1] == b"X" and i + 5 <= len(data):
        n, start = int.from_bytes(data[i + 1 : i + 5], "little"), i + 5
    else:
        return None
    if not 0 < n < 256 or start + n > len(data):
        return None
    return data[start : start + n], start + n


def _stack_global_pairs(data: bytes) -> list[tuple[bytes, bytes]]:
    """(module, name) of every "string [MEMOIZE] string [MEMOIZE] STACK_GLOBAL" in ``data``."""
    pairs = []
    for match in _STRING_START.finditer(data):
        first = _string_at(data, match.start())
        if first is None:
            continue
        module, j = first
        j += data[j : j + 1] == b"\x94"
        second = _string_at(data, j)
        if second is None:
            continue
        name, k = second
        k += data[k : k + 1] == b"\x94"
        if data[k : k + 1] == b"\x93":
            pairs.append((module, name))
            if len(pairs) >= 1000:
                break
    return pairs


def _dangerous_import(module: bytes, name: bytes, extra: frozenset[str]) -> str | None:
    try:
        mod, qual = module.decode("ascii"), name.decode("ascii")
    except UnicodeDecodeError:
        return None
    top = mod.split(".")[0]
    if not top.isidentifier() or is_allowed(mod, qual, extra) or not _package_exists(top):
        return None
    return f"{mod}.{qual}"


@functools.lru_cache(maxsize=1024)
def _package_exists(top: str) -> bool:
    """Whether a top-level module of that name is importable here (found, never imported)."""
    try:
        return top in sys.builtin_module_names or importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


class _ClampedReader:
    """pickletools reads a declared length in one `read(n)` call; a corrupt or hostile length field
    must not make Python allocate gigabytes, so reads never ask for more than the bytes left."""

    def __init__(self, stream: BinaryIO, size: int):
        self._stream = stream
        self._start = stream.tell()
        self._size = size

    def _left(self) -> int:
        return max(0, self._size - (self._stream.tell() - self._start))

    def read(self, n: int = -1) -> bytes:
        left = self._left()
        return self._stream.read(left if n is None or n < 0 or n > left else n)

    def readline(self, limit: int = -1) -> bytes:
        left = self._left()
        return self._stream.readline(left if limit is None or limit < 0 or limit > left else limit)

    def tell(self) -> int:
        return self._stream.tell()

    def seek(self, *args):
        return self._stream.seek(*args)

    def __getattr__(self, name):
        return getattr(self._stream, name)
