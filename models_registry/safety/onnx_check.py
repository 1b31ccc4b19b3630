"""Static ONNX validation; onnxruntime is never invoked here.

The verdict comes from the official ``onnx`` protobuf definitions, parsed in a short-lived child
process with memory, CPU and wall-clock limits (``onnx_parse``): parsing hostile protobuf never
happens in the web process, and a parser that hangs, crashes or runs out of memory refuses the
file.  The file must parse cleanly (no unknown fields anywhere: nothing the portal's parser does
not understand may reach onnxruntime), have an IR version, an opset and a graph whose nodes
have operator types; *any* tensor with external data (``data_location`` not DEFAULT or
``external_data`` entries) is refused wherever it sits (initializers, node attributes, sparse
tensors, sub-graphs, functions, training info): onnxruntime would read files next to the model.
Operators from custom domains are refused (they need native custom-op libraries).

A small hand-written wire-format walker gives a second opinion with the *lenient* semantics of
onnxruntime's C++ parser (tags and enums keep their low 32 bits: an over-long tag and a
``data_location`` of 2**32+1 still mean external data there, while the official Python parser
rejects or normalises them).  Its external-data and custom-operator findings are refusals too;
its structural complaints are only notes.
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
from pathlib import Path

from .feature_names import onnx_column_inputs
from .onnx_parse import STANDARD_DOMAINS
from .report import Findings, ScanLimits

MAX_IR_VERSION = 20
_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the models_registry package

# message -> {field number: child message}
SCHEMA: dict[str, dict[int, str]] = {
    "Model": {7: "Graph", 8: "OpsetId", 20: "TrainingInfo", 25: "Function"},
    "Graph": {1: "Node", 5: "Tensor", 15: "SparseTensor"},
    "Node": {5: "Attribute"},
    "Attribute": {5: "Tensor", 6: "Graph", 10: "Tensor", 11: "Graph", 22: "SparseTensor", 23: "SparseTensor"},
    "SparseTensor": {1: "Tensor", 2: "Tensor"},
    "Function": {7: "Node", 9: "OpsetId", 11: "Attribute"},
    "TrainingInfo": {1: "Graph", 2: "Graph"},
    "Tensor": {},
    "OpsetId": {},
}


class WireError(ValueError):
    pass


class ParseFailure(Exception):
    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.message, self.detail = code, message, detail


# -- the verdict: official definitions, in a limited child process ------------------------
def parse_onnx_isolated(path: Path, limits: ScanLimits) -> dict:
    """Run ``onnx_parse`` on ``path`` in a child process; its JSON facts, or ParseFailure."""
    if not sys.executable:
        raise ParseFailure(
            "onnx_parse_crashed",
            "The ONNX model could not be verified (no Python interpreter to run the parser).",
            "sys.executable is empty",
        )
    cmd = [
        sys.executable,
        "-E",
        "-s",
        "-m",
        "models_registry.safety.onnx_parse",
        "--memory",
        str(int(limits.onnx_parse_memory)),
        "--cpu",
        str(max(1, int(limits.onnx_parse_cpu_seconds))),
        str(Path(path).resolve()),
    ]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    try:
        proc = subprocess.run(
            cmd,
            cwd=_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limits.onnx_parse_timeout,
            close_fds=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ParseFailure(
            "onnx_parse_timeout",
            "The ONNX model took too long to parse and was refused (possible resource-exhaustion file).",
            f"more than {limits.onnx_parse_timeout:g} s",
        ) from None
    except OSError as exc:
        raise ParseFailure(
            "onnx_parse_crashed",
            "The ONNX model could not be verified (the parser could not be started).",
            str(exc)[:200],
        ) from None
    if proc.returncode in (-24, 128 + 24):  # SIGXCPU: RLIMIT_CPU reached
        raise ParseFailure(
            "onnx_parse_timeout",
            "The ONNX model took too long to parse and was refused (possible resource-exhaustion file).",
            f"more than {limits.onnx_parse_cpu_seconds} s of CPU",
        )
    try:
        result = json.loads(proc.stdout.decode("utf-8")) if proc.returncode == 0 else None
    except (UnicodeDecodeError, ValueError):
        result = None
    if not isinstance(result, dict):
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        error = tail[0].split(":")[0][:80]  # the exception's name only: no server paths in reports
        raise ParseFailure(
            "onnx_parse_crashed",
            "The ONNX parser crashed or exceeded its memory limit on this file, so it was refused.",
            f"exit status {proc.returncode}" + (f" ({error})" if error else ""),
        )
    if result.get("limit") == "memory":
        raise ParseFailure(
            "onnx_parse_crashed",
            "The ONNX parser exceeded its memory limit on this file, so it was refused.",
            f"limit {limits.onnx_parse_memory} bytes",
        )
    return result


def check_onnx(path: Path, f: Findings, location: str = "", limits: ScanLimits | None = None) -> None:
    limits = limits or ScanLimits()
    where = lambda d: f"{location}: {d}" if location else d  # noqa: E731
    _second_opinion(path, f, location)
    try:
        facts = parse_onnx_isolated(path, limits)
    except ParseFailure as exc:
        f.refuse(exc.code, exc.message, where(exc.detail), "high")
        return
    if not facts.get("ok"):
        f.refuse("invalid_onnx", "The file is not a valid ONNX model.", where(str(facts.get("error", ""))), "high")
        return
    counts = facts.get("counts", {})
    for item in facts.get("external", []):
        f.refuse(
            "onnx_external_data",
            "The ONNX model stores tensors in external files, which is "
            "not allowed for uploads (onnxruntime would read files next to the model).",
            where(item),
            "critical",
        )
    if counts.get("external", 0) > len(facts.get("external", [])):
        f.refuse(
            "onnx_external_data",
            "The ONNX model stores tensors in external files, which is "
            "not allowed for uploads (onnxruntime would read files next to the model).",
            where(f"{counts['external']} tensors in all"),
            "critical",
        )
    for item in sorted(set(facts.get("custom", []))):
        f.refuse(
            "onnx_custom_operator",
            "The ONNX model uses an operator from a custom domain, which would need native code to run.",
            where(item),
            "high",
        )
    if facts.get("unknown_fields"):
        f.refuse(
            "onnx_unknown_fields",
            "The ONNX model contains data the ONNX format does not "
            "define (unknown protobuf fields), which could be read differently by the runtime.",
            where(f"{counts.get('unknown_fields', 0)} messages, e.g. " + ", ".join(facts["unknown_fields"][:3])),
            "high",
        )
    ir = facts.get("ir_version")
    problems = []
    if not isinstance(ir, int) or not 1 <= ir <= MAX_IR_VERSION:
        problems.append(f"missing or unsupported ir_version {ir!r}")
    if not facts.get("graph") or not facts.get("opset_count"):
        problems.append("model has no graph or no opset_import")
    if facts.get("no_op_type"):
        problems.append("node without op_type")
    if problems:
        f.refuse("invalid_onnx", "The file is not a valid ONNX model.", where("; ".join(problems)), "high")
    if not f.feature_names:  # an MLflow signature, read first, wins
        f.feature_names = onnx_column_inputs(facts.get("inputs"))


# -- second opinion: onnxruntime-like lenient wire walker ---------------------------------
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
    """Yield (field_number, wire_type, value) where value is int or memoryview.  Tags keep their
    low 32 bits, as protobuf's C++ parser (used by onnxruntime) does."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        key &= 0xFFFFFFFF
        num, wt = key >> 3, key & 7
        if num == 0:
            raise WireError("field number 0")
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = buf[i : i + 8], i + 8
        elif wt == 5:
            val, i = buf[i : i + 4], i + 4
        elif wt == 2:
            n, i = _varint(buf, i)
            val, i = buf[i : i + n], i + n
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

    def refuse(self, code: str, msg: str, detail: str, sev: str = "high") -> None:
        self.f.refuse(code, msg, f"{self.location}: {detail}" if self.location else detail, sev)

    def walk(self, kind: str, buf: memoryview, depth: int = 0) -> None:
        if depth > 64:
            raise WireError("message nesting too deep")
        children = SCHEMA[kind]
        op_type = domain = name = ""
        external = []
        for num, wt, val in fields(buf):
            if num in children and wt == 2:
                self.walk(children[num], val, depth + 1)
            elif kind == "Node" and num == 4 and wt == 2:
                op_type = _text(val)
            elif kind == "Node" and num == 7 and wt == 2:
                domain = _text(val)
            elif kind == "Tensor" and num == 8 and wt == 2:
                name = bytes(val[:100]).decode("utf-8", "replace")
            elif kind == "Tensor" and num == 13:
                external.append("external_data")
            elif kind == "Tensor" and num == 14 and wt == 0 and val & 0xFFFFFFFF:
                external.append(f"data_location={val & 0xFFFFFFFF} (varint {val})")
        if external:
            self.refuse(
                "onnx_external_data",
                "The ONNX model stores tensors in external files, "
                "which is not allowed for uploads (onnxruntime would read files next "
                "to the model).",
                f"tensor {name!r}: {', '.join(external)}, as onnxruntime's protobuf parser reads it",
                "critical",
            )
        if kind == "Node" and domain not in STANDARD_DOMAINS:
            self.refuse(
                "onnx_custom_operator",
                "The ONNX model uses an operator from a custom domain, which would need native code to run.",
                f"{domain}::{op_type}",
            )


def _second_opinion(path: Path, f: Findings, location: str) -> None:
    if Path(path).stat().st_size == 0:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            _Walker(f, location).walk("Model", view)
        except (WireError, UnicodeDecodeError) as exc:
            f.note(
                "onnx_wire_walker",
                "The lenient protobuf walker could not follow the file.",
                f"{location}: {exc}" if location else str(exc),
            )
        finally:
            view.release()
