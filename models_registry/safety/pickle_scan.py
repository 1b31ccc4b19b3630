"""Static pickle scanner: ``pickletools.genops`` + a tiny symbolic stack machine.

Nothing is ever unpickled.  We walk the opcodes and model the unpickler's stack and
memo just enough to know *which* globals are imported (GLOBAL, STACK_GLOBAL, INST) and
*what* gets called (REDUCE, NEWOBJ(_EX), OBJ, INST, BUILD).  Calls must target a
global resolved from constants (memo look-ups included), otherwise the file is
refused.  joblib's ``NumpyArrayWrapper`` is followed: after its BUILD the raw array
bytes (size from the recorded shape/dtype/alignment) are skipped exactly as
``joblib.numpy_pickle.NumpyUnpickler`` does, and object arrays are walked as the
nested pickle joblib writes there.
"""

from __future__ import annotations

import math
import pickletools
from typing import Any, BinaryIO

from .allowlist import NEW_ONLY, grade_with_modelscan, is_allowed, is_nested_loader
from .report import Findings, ScanLimits
from .symbols import OPAQUE, Const, DictSym, Glob, Obj, Tup, dtype_info

WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
BYTES_TYPES = frozenset(f"{m}.{n}" for m in ("builtins", "__builtin__") for n in ("bytes", "bytearray"))
_CONST_OPS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
    "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
}
_LITERALS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


class Abort(Exception):
    """Stop walking this stream (the reason is already recorded)."""




class PickleScanner:
    """Scan one pickle (or joblib) byte stream; results go into ``findings``."""

    def __init__(self, findings: Findings, *, extra: frozenset[str], limits: ScanLimits,
                 location: str = "", joblib_arrays: bool = False, base_depth: int = 0) -> None:
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
                self.f.refuse("trailing_data", "The file contains extra data after the end "
                              "of the pickle stream, which can hide a second payload.",
                              self._where(f"offset {stream.tell() - 1}"), "high")
        except Abort:
            pass

    # -- helpers ----------------------------------------------------------------------
    def _where(self, detail: str) -> str:
        return f"{self.location}: {detail}" if self.location else detail

    def _fail(self, code: str, message: str, detail: str, severity: str = "critical") -> None:
        self.f.refuse(code, message, self._where(detail), severity)

    def _global(self, module: Any, qualname: Any) -> Glob:
        name = f"{module}.{qualname}"
        self.f.globals.add(name)
        if is_nested_loader(name):
            self._fail("nested_pickle", f"The file references {name}, which would load "
                       "another pickle or model file while loading this one.", name)
        elif not is_allowed(module, qualname, self.extra):
            self._fail("unsafe_global", f"The file would import {name}, which is not on the "
                       "allowlist of safe model and data types.", name, grade_with_modelscan(name))
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
                self._fail("malformed_pickle", "The pickle stream is malformed (stack underflow).",
                           f"offset {pos}", "high")
                raise Abort
            return stack.pop()

        def pop_mark() -> list:
            nonlocal stack
            if not meta:
                self._fail("malformed_pickle", "The pickle stream is malformed (missing MARK).",
                           f"offset {pos}", "high")
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
                raise Abort
            self.opcodes += 1
            if self.opcodes > self.limits.max_pickle_opcodes:
                self._fail("resource_limit", "The pickle has too many operations.", str(self.opcodes), "high")
                raise Abort
            name = opcode.name
            if name == "PROTO":
                if not first or not isinstance(arg, int) or arg > 5:
                    self._fail("protocol_violation", "The pickle protocol header is misplaced or "
                               "unsupported.", f"PROTO {arg} at offset {pos}", "high")
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
                stack += [v, v]
            elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                if not stack:
                    pop()
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    self._fail("malformed_pickle", "The pickle reads a memo slot it never wrote.",
                               f"{name} {arg} at offset {pos}", "high")
                    raise Abort
                stack.append(memo[arg])
            elif name in ("EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
                n = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}.get(name)
                items = pop_mark() if n is None else [pop() for _ in range(n)][::-1]
                stack.append(Tup(items))
            elif name in ("EMPTY_LIST", "EMPTY_SET"):
                stack.append(OPAQUE)
            elif name in ("LIST", "FROZENSET"):
                pop_mark()
                stack.append(OPAQUE)
            elif name in ("APPEND", "APPENDS", "ADDITEMS"):
                pop() if name == "APPEND" else pop_mark()
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
                    stack.append(self._call(g, Tup(pop_mark()), pos))
            elif name == "STACK_GLOBAL":
                qual, module = pop(), pop()
                if not (isinstance(qual, Const) and isinstance(module, Const)
                        and isinstance(qual.value, str) and isinstance(module.value, str)):
                    self._fail("unresolvable_global", "The pickle computes the name of an import "
                               "at load time, which cannot be verified.", f"offset {pos}")
                    raise Abort
                stack.append(self._global(module.value, qual.value))
            elif name == "REDUCE":
                args = pop()
                stack.append(self._call(pop(), args, pos))
            elif name == "NEWOBJ":
                args = pop()
                stack.append(self._call(pop(), args, pos, new=True))
            elif name == "NEWOBJ_EX":
                pop()
                args = pop()
                stack.append(self._call(pop(), args, pos, new=True))
            elif name == "OBJ":
                items = pop_mark()
                if not items:
                    self._fail("malformed_pickle", "The pickle stream is malformed (empty OBJ).",
                               f"offset {pos}", "high")
                    raise Abort
                stack.append(self._call(items[0], Tup(items[1:]), pos))
            elif name == "BUILD":
                state = pop()
                if not stack:
                    pop()
                self._build(stack, state, stream, pos, depth, joblib_arrays, frame_end)
            elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
                if name == "NEXT_BUFFER":
                    self._fail("out_of_band_buffer", "The pickle expects out-of-band buffers, "
                               "which the portal does not provide.", f"offset {pos}", "medium")
                    raise Abort
            elif name in ("PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4"):
                self._fail("unsupported_opcode", "The pickle uses persistent IDs or the extension "
                           "registry, which can resolve to arbitrary objects.", f"{name} at offset {pos}")
                raise Abort
            else:  # pragma: no cover - genops knows only the opcodes handled above
                self._fail("unknown_opcode", "The pickle stream contains an unsupported opcode.", name, "high")
                raise Abort

    def _set_items(self, target: Any, items: list, pos: int) -> None:
        for key, value in zip(items[::2], items[1::2]):
            if isinstance(key, Const) and key.value == "__class__":
                self._fail("unsafe_state", "The pickle tries to change an object's class while "
                           "restoring it.", f"offset {pos}")
                raise Abort
            if isinstance(target, DictSym):
                if isinstance(key, Const) and isinstance(key.value, str) and len(target.items) < 256:
                    target.items[key.value] = value
                else:
                    target.complete = False

    def _call(self, func: Any, args: Any, pos: int, new: bool = False) -> Sym:
        if not isinstance(func, Glob):
            self._fail("indirect_call", "The pickle calls an object that is not a plain, "
                       "verifiable import (a classic way to smuggle a function call).", f"offset {pos}")
            raise Abort
        name = func.name
        items = args.items if isinstance(args, Tup) else None
        if name == "_codecs.encode":
            if not (items and len(items) == 2 and isinstance(items[1], Const)
                    and items[1].value in ("latin1", "latin-1")):
                self._fail("unsafe_call_arguments", "_codecs.encode is only allowed with the "
                           "'latin1' codec that pickle itself uses.", f"offset {pos}", "high")
                raise Abort
        if name in BYTES_TYPES and items and isinstance(items[0], Const) and isinstance(items[0].value, int):
            self._fail("unsafe_call_arguments", f"{name} is called with a size, which can exhaust "
                       "memory at load time.", f"offset {pos}", "high")
            raise Abort
        if name in NEW_ONLY and not (new or (isinstance(args, Tup) and not args.items)):
            self._fail("unsafe_call_arguments", f"{name} may only be restored, not constructed "
                       "with arguments (its constructor can read files).", f"offset {pos}", "high")
            raise Abort
        if name in ("copyreg._reconstructor", "copy_reg._reconstructor", "copyreg.__newobj__"):
            base_ok = name == "copyreg.__newobj__" or (
                items and len(items) == 3 and isinstance(items[1], Glob)
                and items[1].name.split(".")[0] in ("builtins", "__builtin__"))
            if not items or not isinstance(items[0], Glob) or not base_ok:
                self._fail("indirect_call", "copyreg is used with a class that is not a plain import.",
                           f"offset {pos}")
                raise Abort
            name = items[0].name
        return Obj(name, args)

    def _build(self, stack: list, state: Any, stream: BinaryIO, pos: int, depth: int,
               joblib_arrays: bool, frame_end: int) -> None:
        target = stack[-1]
        if isinstance(target, Glob):
            self._fail("unsafe_state", "The pickle tries to overwrite attributes of a class "
                       "(monkey-patching) while loading.", f"{target.name} at offset {pos}")
            raise Abort
        if not isinstance(target, Obj):
            return
        parts = state.items if isinstance(state, Tup) and len(state.items) == 2 else [state]
        for part in parts:
            if isinstance(part, DictSym):
                target.attrs.update(part.items)
        if target.klass == "numpy.dtype":
            target.state = state
        if target.klass == WRAPPER:
            if not joblib_arrays:
                self._fail("format_mismatch", "The stream contains joblib array data in a place "
                           "where plain pickle loading is expected.", f"offset {pos}", "high")
                raise Abort
            self.saw_wrapper = True
            if stream.tell() < frame_end:  # joblib reads array bytes from *after* the frame
                self._fail("unsupported_joblib_layout", "A joblib array header sits inside a "
                           "pickle frame, which would desynchronise loading.", f"offset {pos}")
                raise Abort
            self._skip_array(target, stream, pos, depth)
            stack[-1] = Obj("numpy.ndarray")

    def _skip_array(self, wrapper: Obj, stream: BinaryIO, pos: int, depth: int) -> None:
        try:
            shape = [c.value for c in wrapper.attrs["shape"].items]
            count = math.prod(int(s) for s in shape)
            if any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in shape):
                raise ValueError("shape")
            hasobject, itemsize = dtype_info(wrapper.attrs["dtype"])
            align = wrapper.attrs.get("numpy_array_alignment_bytes")
            align_value = None if align is None else align.value
        except Exception:  # noqa: BLE001 - any surprise in the layout is a refusal
            self._fail("unsupported_joblib_layout", "A joblib array header could not be "
                       "verified, so its data cannot be skipped safely.", f"offset {pos}", "high")
            raise Abort
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
            self._fail("truncated_pickle", "A joblib array is cut off before its end.",
                       f"offset {pos}", "high")
            raise Abort
        stream.seek(skip, 1)

    def _embedded(self, head: bytes, data: bytes, depth: int) -> None:
        """Defence in depth: bytes that are themselves a pickle get scanned too."""
        if len(data) < 4 or head[:1] != b"\x80" or head[1:2] not in (b"\x02", b"\x03", b"\x04", b"\x05") \
                or not data.endswith(b".") or depth >= self.limits.max_nesting_depth:
            return
        import io

        sub = Findings()
        PickleScanner(sub, extra=self.extra, limits=self.limits,
                      base_depth=depth + 1).scan(io.BytesIO(data), len(data))
        bad = [i.detail for i in sub.issues if i.code in {"unsafe_global", "nested_pickle", "indirect_call"}]
        if bad:
            self._fail("nested_pickle", "The file embeds another pickle that imports unsafe "
                       "names.", ", ".join(sorted(set(bad))))


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
