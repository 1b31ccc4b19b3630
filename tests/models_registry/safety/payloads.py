"""Hostile (and benign) file factories for the scanner tests.

Every malicious payload here is *live*: unpickling it would run code that leaves a
trace (a sentinel file or an environment variable).  The tests assert the trace is
absent after scanning, which proves the scanner never loaded the content.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import struct
import subprocess
import zipfile

SENTINEL_ENV = "MODEL_SCAN_SENTINEL_FIRED"


class OsSystem:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return os.system, (f"touch '{self.sentinel}'",)


class SubprocessPopen(OsSystem):
    def __reduce__(self):
        return subprocess.Popen, (["touch", self.sentinel],)


class BuiltinsEval(OsSystem):
    def __reduce__(self):
        return builtins.eval, (f"open({self.sentinel!r}, 'w').close()",)


class BuiltinsExec(OsSystem):
    def __reduce__(self):
        return builtins.exec, (f"open({self.sentinel!r}, 'w').close()",)


class SetEnv:
    def __reduce__(self):
        return os.putenv, (SENTINEL_ENV, "1")


class NestedPickleLoads(OsSystem):
    """``pickle.loads(<bytes of another malicious pickle>)``."""

    def __reduce__(self):
        return pickle.loads, (pickle.dumps(OsSystem(self.sentinel), protocol=2),)


def pickle_loads_by_name(sentinel) -> bytes:
    """GLOBAL 'pickle loads' (the pure-Python module name) fed a malicious inner pickle."""
    inner = pickle.dumps(OsSystem(sentinel), protocol=2)
    return b"\x80\x03cpickle\nloads\nB" + struct.pack("<I", len(inner)) + inner + b"\x85R."


class NestedCPickleLoads(OsSystem):
    def __reduce__(self):
        import _pickle

        return _pickle.loads, (pickle.dumps(OsSystem(self.sentinel), protocol=2),)


class NestedJoblibLoad(OsSystem):
    def __reduce__(self):
        import joblib

        return joblib.load, (self.sentinel + ".joblib",)


def s0(text: str) -> bytes:
    """Protocol-0 string literal."""
    return b"S'" + text.encode() + b"'\n"


def u8(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def getattr_trick(sentinel) -> bytes:
    """builtins.getattr(builtins.__import__('os'), 'system')('touch ...') in protocol 0."""
    return (
        b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n("
        + s0("os")
        + b"tR"
        + s0("system")
        + b"tR("
        + s0(f"touch {sentinel}")
        + b"tR."
    )


def import_only(sentinel) -> bytes:
    return b"c__builtin__\n__import__\n(" + s0("os") + b"tR."


def inst_os_system(sentinel) -> bytes:
    """Protocol 0 INST opcode: ``(S'cmd' ios\\nsystem\\n``."""
    return b"(" + s0(f"touch {sentinel}") + b"ios\nsystem\n."


def reduce_proto2(sentinel) -> bytes:
    """Protocol 2, hand-written GLOBAL + REDUCE."""
    cmd = f"touch {sentinel}".encode()
    return b"\x80\x02cposix\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"\x85q\x01Rq\x02."


def stack_global_memo_trick(sentinel) -> bytes:
    """Protocol 4: 'os'/'system' memoised early, popped, then re-fetched with BINGET.

    Naive scanners that look at the strings right before STACK_GLOBAL see only GETs
    (or the decoy 'numpy'/'ndarray' strings)."""
    cmd = f"touch {sentinel}".encode()
    return (
        b"\x80\x04"
        + u8("os")
        + b"\x94"
        + u8("system")
        + b"\x94"
        + b"00"
        + u8("numpy")
        + u8("ndarray")
        + b"00"
        + b"h\x00h\x01\x93"
        + b"\x8c"
        + bytes([len(cmd)])
        + cmd
        + b"\x85R."
    )


def computed_stack_global() -> bytes:
    """STACK_GLOBAL whose module name is the *result of a call* (not a constant)."""
    return (
        b"\x80\x04"
        + u8("builtins")
        + u8("str")
        + b"\x93"
        + u8("os")
        + b"\x85R"
        + u8("system")
        + b"\x93"
        + u8("id")
        + b"\x85R."
    )


def indirect_call() -> bytes:
    """REDUCE whose callable is an object built by a previous call."""
    return b"\x80\x02c__builtin__\nobject\n)R)R."


def build_on_class() -> bytes:
    """BUILD applied to a class object: monkey-patches LogisticRegression.predict."""
    return (
        b"\x80\x02csklearn.linear_model._logistic\nLogisticRegression\nN}"
        + b"X\x07\x00\x00\x00predict"
        + b"N"
        + b"s\x86b."
    )


def codecs_with_other_codec() -> bytes:
    return b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00hiX\x06\x00\x00\x00base64\x86R."


def misplaced_proto() -> bytes:
    return b"\x80\x02N0\x80\x02N."


def zip_bytes(members: dict[str, bytes], *, symlinks=(), encrypted=(), compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, data)
    raw = bytearray(buf.getvalue())
    for name in encrypted:  # zipfile resets flag_bits on write: patch both headers
        encoded = name.encode()
        for sig, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
            start = 0
            while (i := raw.find(sig, start)) >= 0:
                if raw[i + name_at : i + name_at + len(encoded)] == encoded:
                    raw[i + flag_at] |= 0x1
                start = i + 4
    return bytes(raw)


def mlmodel_yaml(artifact: str = "model.pkl", serialization: str = "cloudpickle", extra_pyfunc: str = "") -> bytes:
    return (
        "artifact_path: model\n"
        "flavors:\n"
        "  python_function:\n"
        "    env:\n      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.sklearn\n"
        f"    model_path: {artifact}\n"
        "    predict_fn: predict\n"
        "    python_version: 3.11.9\n"
        f"{extra_pyfunc}"
        "  sklearn:\n"
        "    code: null\n"
        f"    pickled_model: {artifact}\n"
        f"    serialization_format: {serialization}\n"
        "    sklearn_version: 1.9.1\n"
        "mlflow_version: 2.20.0\n"
        "model_uuid: 0f3c8f8e1a2b4c5d\n"
    ).encode()


# ---- minimal protobuf writer for a hand-made ONNX model ------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb(num: int, value) -> bytes:
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    if isinstance(value, str):
        value = value.encode()
    return _varint((num << 3) | 2) + _varint(len(value)) + value


def onnx_identity_model(*, op_type="Identity", domain="", external_data=False) -> bytes:
    """ModelProto: Y = Identity(X), X/Y float tensors of shape [N, 3], opset 13."""
    dims = pb(1, pb(2, "N")) + pb(1, pb(1, 3))  # TensorShapeProto.dim: dim_param / dim_value
    ttype = pb(1, pb(1, 1) + pb(2, dims))  # TypeProto.tensor_type{elem_type=FLOAT, shape}
    node = pb(1, "X") + pb(2, "Y") + pb(3, "n0") + pb(4, op_type) + (pb(7, domain) if domain else b"")
    graph = pb(1, node) + pb(2, "g") + pb(11, pb(1, "X") + pb(2, ttype)) + pb(12, pb(1, "Y") + pb(2, ttype))
    if external_data:
        tensor = pb(1, 3) + pb(2, 1) + pb(8, "W") + pb(13, pb(1, "location") + pb(2, "../../etc/passwd")) + pb(14, 1)
        graph += pb(5, tensor)
    opset = pb(2, 13) if not domain else pb(1, domain) + pb(2, 1)
    model = pb(1, 8) + pb(2, "hand-made") + pb(7, graph) + pb(8, pb(2, 13))
    if domain:
        model += pb(8, opset)
    return model


# ---- joblib NumpyArrayWrapper length tricks (issue #11, hole 1) ------------------------
def bu(text: str) -> bytes:
    """BINUNICODE."""
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def hidden_os_system(sentinel) -> bytes:
    """Opcodes that, if unpickled, run ``posix.system('touch <sentinel>')`` and leave the stack
    as they found it: GLOBAL, BINUNICODE, TUPLE1, REDUCE, POP."""
    return b"cposix\nsystem\n" + bu(f"touch {sentinel}") + b"\x85R0"


_WRAPPER_HEAD = b"\x80\x03cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x01)\x81q\x02"
_UINT8 = b"cnumpy\ndtype\n" + bu("u1") + b"\x89\x88\x87R"  # numpy.dtype('u1', False, True)


def _wrapper_items(shape: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (bu("subclass"), b"cnumpy\nndarray\n"),
        (bu("shape"), shape),
        (bu("order"), bu("C")),
        (bu("dtype"), _UINT8),
        (bu("allow_mmap"), b"\x89"),
        (bu("numpy_array_alignment_bytes"), b"N"),
    ]


def _shape(n: int) -> bytes:
    return b"J" + struct.pack("<i", n) + b"\x85"


JOBLIB_TRICKS = ("duplicate_key", "computed_key", "past_256th_key", "memo_mutated_state", "rebuilt_wrapper")


def joblib_length_trick(sentinel, trick: str) -> bytes:
    """A joblib stream whose NumpyArrayWrapper claims ``len(hidden)`` uint8 array bytes to a
    scanner that believes the first/literal ``shape``, while joblib itself ends up with
    ``shape == (0,)``, reads no array bytes and unpickles the "array" bytes as opcodes."""
    hidden = hidden_os_system(sentinel)
    n = len(hidden)
    items = _wrapper_items(_shape(n))
    zero = _shape(0)
    body = lambda pairs: b"".join(k + v for k, v in pairs)  # noqa: E731
    if trick == "duplicate_key":  # the same key twice in one SETITEMS: the last one wins
        state = b"}q\x03(" + body(items) + body([(bu("shape"), zero)]) + b"u"
    elif trick == "computed_key":  # builtins.str(b'shape', 'ascii') is an object, not a constant
        key = b"cbuiltins\nstr\nC\x05shape" + bu("ascii") + b"\x86R"
        state = b"}q\x03(" + body(items) + key + zero + b"u"
    elif trick == "past_256th_key":  # 300 harmless keys, then the real shape
        filler = [(bu(f"k{i}"), b"N") for i in range(300)]
        state = b"}q\x03(" + body(items + filler) + b"u(" + body([(bu("shape"), zero)]) + b"u"
    elif trick == "memo_mutated_state":  # the memoised state dict is changed through its memo slot
        state = b"}q\x03(" + body(items) + b"uh\x03" + bu("shape") + zero + b"s0"
    elif trick == "rebuilt_wrapper":  # BUILD the memoised wrapper again with an OrderedDict state
        first = b"}q\x03(" + body(items) + b"ub" + b"\0" * n + b"0h\x02"
        odict = b"ccollections\nOrderedDict\n)R(" + bu("shape") + zero + b"u"
        return _WRAPPER_HEAD + first + odict + b"b" + hidden + b"."
    else:
        raise ValueError(trick)
    return _WRAPPER_HEAD + state + b"b" + hidden + b"."


def zlib_joblib(data: bytes) -> bytes:
    """The container ``joblib.dump(..., compress=3)`` writes: one zlib stream, level 3."""
    import zlib

    return zlib.compress(data, 3)


def joblib_wrapper(
    sentinel, *, dtype: bytes = _UINT8, shape_n: int | None = None, data: bytes | None = None, after_dtype: bytes = b""
) -> bytes:
    """A single, otherwise well-formed wrapper whose array bytes are ``data`` (default: the hidden
    ``posix.system`` opcodes) with a custom ``dtype`` expression; ``after_dtype`` runs between
    the dtype and the wrapper's BUILD (e.g. to BUILD the memoised dtype again)."""
    data = hidden_os_system(sentinel) if data is None else data
    items = _wrapper_items(_shape(len(data) if shape_n is None else shape_n))
    items[3] = (bu("dtype"), dtype)
    state = b"}q\x03(" + b"".join(k + v for k, v in items) + b"u"
    return _WRAPPER_HEAD + after_dtype + state + b"b" + data + b"N."


# ---- ONNX + pickle polyglots (issue #11, hole 2) ------------------------------------------
def onnx_pickle_polyglot(sentinel, *, proto_header: bool = False) -> bytes:
    """Bytes that are a valid ONNX model *and* a pickle running ``posix.system``.

    The pickle comes first: ``J`` (BININT, 4 argument bytes) is also the protobuf tag of field 9
    with a length (ModelProto has no field 9: an unknown field, which protobuf readers skip).
    The argument's first byte is the field's length, so the rest of the pickle up to STOP is
    the field's content, and the real model follows.  ``pickle.load`` stops at STOP, having run
    the call; onnxruntime skips the field and runs the model.  With ``proto_header`` the pickle
    starts with PROTO 2: ``\x80\x02`` is the varint tag of field 32, ``J`` its value, and
    BININT's argument holds the field-9 tag and length."""
    cmd = f"touch {sentinel}".encode()
    tail = b"0cposix\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"\x85R."
    if proto_header:
        length = 2 + len(tail)  # BININT = (0x4A, length, 0, 0): tag, length, then 2 zeros + tail
        pickle_part = b"\x80\x02J" + bytes([0x4A, length, 0, 0]) + tail
    else:
        length = 3 + len(tail)  # BININT = (length, 0, 0, 0): length, then 3 zeros + tail
        pickle_part = b"J" + bytes([length, 0, 0, 0]) + tail
    if length >= 0x80:
        raise ValueError("sentinel path too long for a one-byte protobuf length")
    return pickle_part + onnx_identity_model()


def mlmodel_onnx_yaml(artifact: str = "model.onnx") -> bytes:
    """MLmodel of ``mlflow.onnx.save_model``: the onnx flavour and its pyfunc loader."""
    return (
        "artifact_path: model\n"
        "flavors:\n"
        "  onnx:\n"
        "    code: null\n"
        f"    data: {artifact}\n"
        "    onnx_version: 1.23.2\n"
        "    providers:\n    - CPUExecutionProvider\n"
        "  python_function:\n"
        f"    data: {artifact}\n"
        "    env:\n      virtualenv: python_env.yaml\n"
        "    loader_module: mlflow.onnx\n"
        "    python_version: 3.11.9\n"
        "mlflow_version: 2.20.0\n"
        "model_uuid: 0f3c8f8e1a2b4c5e\n"
    ).encode()


#: Allowed functions that call ``cls.__new__(cls, ...)`` on a class they are given.
INDIRECT_WRAPPER_MAKERS = {
    "pandas_new_Index": b"cpandas.core.indexes.base\n_new_Index\ncjoblib.numpy_pickle\nNumpyArrayWrapper\n}\x86R",
    "numpy_ma_mareconstruct": (
        b"cnumpy.ma.core\n_mareconstruct\n(cjoblib.numpy_pickle\nNumpyArrayWrapper\n"
        b"cnumpy\nndarray\nK\x00\x85" + bu("b") + b"tR"
    ),
}


def joblib_indirect_wrapper(sentinel, maker: str) -> bytes:
    """A NumpyArrayWrapper made by an allowed function the scanner does not see creating it:
    joblib reads 5 "array" bytes (a BINBYTES header to a scanner that does not know it is an
    array) and then runs the opcodes the scanner took for that BINBYTES' content."""
    hidden = hidden_os_system(sentinel)
    region = b"B" + struct.pack("<I", len(hidden))
    state = b"}(" + b"".join(k + v for k, v in _wrapper_items(_shape(len(region)))) + b"u"
    return b"\x80\x03" + INDIRECT_WRAPPER_MAKERS[maker] + state + b"b" + region + hidden + b"."
