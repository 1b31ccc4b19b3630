"""Static ONNX validation: a minimal protobuf wire-format walker (``onnx`` is not needed).

It never builds an inference session.  It checks that the bytes are well-formed
protobuf of an ``onnx.ModelProto`` with an IR version, an opset and a graph whose
nodes have operator types, refuses tensors stored as *external data* (onnxruntime
would then read arbitrary paths next to the model) and refuses operators from
custom domains (they need native custom-op libraries).
"""

from __future__ import annotations

from .report import Findings

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft"})
MAX_IR_VERSION = 20

# message -> {field number: child message}
SCHEMA: dict[str, dict[int, str]] = {
    "Model": {7: "Graph", 8: "OpsetId", 20: "TrainingInfo", 25: "Function"},
    "Graph": {1: "Node", 5: "Tensor", 15: "SparseTensor"},
    "Node": {5: "Attribute"},
    "Attribute": {5: "Tensor", 6: "Graph", 10: "Tensor", 11: "Graph", 22: "SparseTensor",
                  23: "SparseTensor"},
    "SparseTensor": {1: "Tensor", 2: "Tensor"},
    "Function": {7: "Node", 9: "OpsetId"},
    "TrainingInfo": {1: "Graph", 2: "Graph"},
    "Tensor": {}, "OpsetId": {},
}


class WireError(ValueError):
    pass


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise WireError("bad varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf: memoryview):
    """Yield (field_number, wire_type, value) where value is int or memoryview."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise WireError("field number 0")
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        elif wt == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        else:
            raise WireError(f"unsupported wire type {wt}")
        if i > len(buf):
            raise WireError("field runs past the end of its message")
        yield num, wt, val


def _text(val) -> str:
    return bytes(val).decode("utf-8", "strict") if isinstance(val, memoryview) else ""


class _Walker:
    def __init__(self, f: Findings, location: str) -> None:
        self.f, self.location = f, location
        self.counts = {"Node": 0, "Graph": 0, "OpsetId": 0}
        self.ir_version = None

    def refuse(self, code: str, msg: str, detail: str, sev: str = "high") -> None:
        self.f.refuse(code, msg, f"{self.location}: {detail}" if self.location else detail, sev)

    def walk(self, kind: str, buf: memoryview, depth: int = 0) -> None:
        if depth > 64:
            raise WireError("message nesting too deep")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        children = SCHEMA[kind]
        op_type = domain = ""
        for num, wt, val in fields(buf):
            if num in children:
                if wt != 2:
                    raise WireError(f"{kind}.{num} must be a message")
                self.walk(children[num], val, depth + 1)
            elif kind == "Model" and num == 1:
                self.ir_version = val if wt == 0 else None
            elif kind == "Node" and num == 4:
                op_type = _text(val)
            elif kind == "Node" and num == 7 and wt == 2:
                domain = _text(val)
            elif kind == "Tensor" and (num == 13 or (num == 14 and val == 1)):
                self.refuse("onnx_external_data", "The ONNX model stores tensors in external "
                            "files, which is not allowed for uploads.", f"tensor field {num}")
        if kind == "Node":
            if not op_type:
                raise WireError("node without op_type")
            if domain not in STANDARD_DOMAINS:
                self.refuse("onnx_custom_operator", "The ONNX model uses an operator from a custom "
                            "domain, which would need native code to run.", f"{domain}::{op_type}")


def check_onnx(data: memoryview, f: Findings, location: str = "") -> None:
    w = _Walker(f, location)
    try:
        w.walk("Model", data)
        if not isinstance(w.ir_version, int) or not 1 <= w.ir_version <= MAX_IR_VERSION:
            raise WireError(f"missing or unsupported ir_version {w.ir_version!r}")
        if w.counts["Graph"] < 1 or w.counts["OpsetId"] < 1:
            raise WireError("model has no graph or no opset_import")
    except (WireError, UnicodeDecodeError) as exc:
        w.refuse("invalid_onnx", "The file is not a valid ONNX model.", str(exc))
