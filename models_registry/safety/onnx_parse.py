"""Child process: parse one ONNX file with the official ``onnx`` protobuf definitions.

``python -m models_registry.safety.onnx_parse [--memory BYTES] [--cpu SECONDS] <path>`` is run by
``onnx_check.parse_onnx_isolated`` for every uploaded ONNX model, so that parsing hostile
protobuf never happens in the web process.  Limits are set *before* the file is read:
address space (``RLIMIT_AS``), CPU time, no file writes, no core dumps.  Only the generated
``onnx_ml_pb2`` module is loaded (by file, without running ``onnx/__init__``: no C++ checker,
no shape inference, nothing else of the package).

Prints one JSON object: ``{"ok": false, "error": ...}`` when the bytes are not a ``ModelProto``,
else the facts the scanner decides on: ir_version, opsets, whether there is a graph, the number
of nodes, and (at most 20 each, with their counts) every tensor with external data, every node
from a non-standard domain, nodes without an operator type and messages with unknown fields.
Every message is visited generically (descriptor-driven), so tensors are found wherever the
schema allows them: initializers, sparse initializers, node attributes (``t``, ``tensors``,
``sparse_tensor``, ``sparse_tensors``), sub-graphs of If/Loop/Scan at any depth, training
info and model-local functions (including their attribute defaults).
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft"})
MAX_LISTED = 20


def set_limits(memory: int, cpu: int) -> None:
    """Lower (never raise) the limits inherited from the caller, which may itself be a limited
    process (an unprivileged process cannot raise a hard limit)."""
    _lower(resource.RLIMIT_AS, memory, memory)
    _lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    _lower(resource.RLIMIT_FSIZE, 0, 0)
    _lower(resource.RLIMIT_CORE, 0, 0)


def _lower(which: int, soft: int, hard: int) -> None:
    old_soft, old_hard = resource.getrlimit(which)
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    if old_soft != resource.RLIM_INFINITY:
        soft = min(soft, old_soft)
    resource.setrlimit(which, (min(soft, hard), hard))


def load_onnx_pb2():
    """The ``onnx_ml_pb2`` module generated from onnx-ml.proto, loaded on its own."""
    spec = importlib.util.find_spec("onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the onnx package is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "onnx_ml_pb2.py")
    module_spec = importlib.util.spec_from_file_location("_portal_onnx_ml_pb2", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


class _Facts:
    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = {"external": [], "custom": [], "unknown_fields": [], "no_op_type": []}
        self.counts = dict.fromkeys(self.lists, 0)
        self.nodes = 0
        self.messages = 0

    def add(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        if len(self.lists[kind]) < MAX_LISTED:
            self.lists[kind].append(text[:300])


def _label(message, field, index: int | None) -> str:
    name = field.name if index is None else f"{field.name}[{index}]"
    child = getattr(message, field.name) if index is None else getattr(message, field.name)[index]
    ident = getattr(child, "name", "") if child.DESCRIPTOR.fields_by_name.get("name") else ""
    return f"{name}({ident})" if ident else name


def analyse(data: bytes) -> dict:
    from google.protobuf.message import DecodeError
    from google.protobuf.unknown_fields import UnknownFieldSet

    pb2 = load_onnx_pb2()
    model = pb2.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as exc:
        return {"ok": False, "error": f"protobuf: {exc}"[:300]}
    facts = _Facts()
    pending = [(model, "model")]
    while pending:
        message, where = pending.pop()
        facts.messages += 1
        if len(UnknownFieldSet(message)):
            facts.add("unknown_fields", where)
        kind = message.DESCRIPTOR.full_name
        if kind == "onnx.TensorProto":
            if message.data_location != 0 or len(message.external_data):
                keys = ",".join(f"{e.key}={e.value}" for e in message.external_data)[:200]
                facts.add(
                    "external",
                    f"{where}: data_location={message.data_location}" + (f" external_data={keys}" if keys else ""),
                )
        elif kind == "onnx.NodeProto":
            facts.nodes += 1
            if not message.op_type:
                facts.add("no_op_type", where)
            if message.domain not in STANDARD_DOMAINS:
                facts.add("custom", f"{message.domain}::{message.op_type}")
        for field, value in message.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if field.is_repeated:
                for i in range(len(value)):
                    pending.append((value[i], f"{where}.{_label(message, field, i)}"))
            else:
                pending.append((value, f"{where}.{_label(message, field, None)}"))
    return {
        "ok": True,
        "ir_version": model.ir_version if model.HasField("ir_version") else None,
        "opsets": [[o.domain, o.version] for o in model.opset_import][:MAX_LISTED],
        "opset_count": len(model.opset_import),
        "graph": model.HasField("graph"),
        # The graph's inputs that are not initialisers (old exporters list weights as inputs too).
        "inputs": [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}][:5000],
        "nodes": facts.nodes,
        "messages": facts.messages,
        **facts.lists,
        "counts": facts.counts,
    }


def main(argv: list[str]) -> int:
    memory, cpu, args = 1024**3, 30, list(argv)
    while args and args[0].startswith("--"):
        flag, value = args.pop(0), args.pop(0)
        if flag == "--memory":
            memory = int(value)
        elif flag == "--cpu":
            cpu = int(value)
        else:
            raise SystemExit(f"unknown option {flag}")
    if len(args) != 1:
        raise SystemExit("usage: python -m models_registry.safety.onnx_parse [--memory B] [--cpu S] <path>")
    set_limits(memory, cpu)
    try:
        with open(args[0], "rb") as handle:
            data = handle.read()
        result = analyse(data)
    except MemoryError:
        result = {"ok": False, "limit": "memory", "error": "the parser ran out of memory"}
    except RecursionError:
        result = {"ok": False, "error": "messages are nested too deeply"}
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
