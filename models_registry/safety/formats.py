"""The one decision of what an artifact *is* (Django-free, never loads anything).

The scanner and the worker's loader both call ``artifact_format``: the scanner to decide how
to scan a file (and it records the decision in the report), the loader to confirm, right
before loading, that the bytes still are what the report says.  A disagreement is a refusal
on both sides, so "the scanner checked it as ONNX while the loader unpickled it" cannot happen.

Formats (= how the worker loads the file): ``pickle`` (``pickle.load``), ``joblib``
(``joblib.load``), ``skops``, ``onnx`` and ``mlflow`` (a zip whose MLmodel names one inner
artifact of one of the first four formats, see ``mlflow_inner_format``).

A file whose bytes can be read as two formats is refused (``polyglot_file``): an ONNX file
whose first bytes decode as pickle instructions that import or call something, and a
pickle that is also a well-formed protobuf message with an ONNX model's fields.  (A zip cannot
be a protobuf message: its first bytes ``PK\\x03\\x04`` encode field number 0; it cannot be an
executable pickle either: ``P`` is a persistent-id load, which pickle refuses by default; and
bytes before or after a zip are refused by ``containers.zip_layout_problems``.)
"""

from __future__ import annotations

import mmap
import pickletools
import posixpath
from dataclasses import dataclass
from pathlib import Path

from .containers import sniff, zip_layout_problems

FORMATS = ("pickle", "joblib", "skops", "onnx", "mlflow")
COMPRESSED = frozenset({"zlib", "gzip", "bz2", "xz", "lzma"})
PICKLE_FAMILY = frozenset({"pickle", "joblib"})

#: MLmodel (flavour, serialization_format) -> inner artifact format; nothing else is accepted.
MLFLOW_INNER_FORMATS = {
    ("sklearn", "pickle"): "pickle",
    ("sklearn", "cloudpickle"): "pickle",
    ("sklearn", "skops"): "skops",
    ("onnx", "onnx"): "onnx",
}
#: Extensions an MLflow inner artifact of each format may have (MLflow writes exactly these).
INNER_EXTENSIONS = {"pickle": (".pkl", ".pickle"), "skops": (".skops",), "onnx": (".onnx",)}
#: The file name the loader and the scanner give an extracted inner artifact of each format.
INNER_SUFFIX = {"pickle": ".pkl", "skops": ".skops", "onnx": ".onnx"}

_KIND_LABEL = {
    "zip": "a zip archive",
    "pickle": "a pickle",
    "text": "text (e.g. CSV)",
    "binary": "binary data",
    **{k: f"{k}-compressed data" for k in COMPRESSED | {"lz4"}},
    "joblib_compat": "an old joblib (ZF) file",
}
_ACTIVE_PICKLE_OPS = frozenset(
    {
        "GLOBAL",
        "STACK_GLOBAL",
        "INST",
        "OBJ",
        "REDUCE",
        "NEWOBJ",
        "NEWOBJ_EX",
        "BUILD",
        "PERSID",
        "BINPERSID",
        "EXT1",
        "EXT2",
        "EXT4",
        "STOP",
    }
)


@dataclass(frozen=True)
class FormatProblem:
    code: str
    message: str
    detail: str = ""
    severity: str = "high"


@dataclass(frozen=True)
class FormatDecision:
    """``format`` is how the file must be loaded (None when it cannot be decided); ``kind`` is what
    its first bytes look like; ``problems`` are refusals."""

    format: str | None
    kind: str
    problems: tuple[FormatProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.format is not None and not self.problems


def mlflow_inner_format(flavor: object, serialization_format: object) -> str | None:
    """The inner artifact's format for an MLmodel flavour and its serialization format."""
    if not isinstance(flavor, str) or not isinstance(serialization_format, (str, type(None))):
        return None
    if flavor == "onnx" and serialization_format in (None, "onnx"):
        return "onnx"
    return MLFLOW_INNER_FORMATS.get((flavor, serialization_format))


def artifact_format(path: Path, announced: str, *, name: str = "", max_opcodes: int = 50_000_000) -> FormatDecision:
    """Decide how ``path`` must be loaded, given the format its name or MLmodel ``announced``.

    ``name`` (an MLflow member's path) must then carry an extension of that format.  The answer
    is ``announced`` except that compressed content announced as ``pickle`` is ``joblib`` (only
    joblib can load it; callers that need exactly ``pickle`` compare).  Never raises for bad
    input; the content is only sniffed and probed, never loaded."""
    path = Path(path)
    if announced not in FORMATS:
        return FormatDecision(
            None,
            "unknown",
            (
                FormatProblem(
                    "unknown_format", f"Models in {announced!r} format are not accepted.", str(announced), "medium"
                ),
            ),
        )
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return FormatDecision(
            None,
            "unreadable",
            (FormatProblem("unreadable_file", "The model file could not be read.", str(exc)[:200], "high"),),
        )
    kind = sniff(head)
    problems: list[FormatProblem] = []
    if name:
        ext = posixpath.splitext(name.lower())[1]
        allowed = INNER_EXTENSIONS.get(announced, ())
        if ext not in allowed:
            problems.append(
                FormatProblem(
                    "mlflow_format_conflict",
                    f"The MLmodel file declares a {announced} artifact, but the "
                    f"artifact is named {posixpath.basename(name)!r}; a file whose name and declared "
                    "format disagree could be loaded as something else.",
                    name,
                    "critical",
                )
            )
    if kind == "empty" or size == 0:
        return FormatDecision(
            None, "empty", (*problems, FormatProblem("empty_file", "The model file is empty.", "", "medium"))
        )
    if announced in ("skops", "mlflow"):
        decided = announced
        layout = zip_layout_problems(path)
        if kind != "zip" and not any(code == "zip_leading_data" for code, _, _ in layout):
            label = "skops archive" if announced == "skops" else "zip archive (MLflow model folder)"
            problems.append(
                FormatProblem(
                    "format_mismatch",
                    f"The file should be a {label} but contains {_KIND_LABEL.get(kind, 'binary data')}.",
                    kind,
                )
            )
        else:
            problems += [
                FormatProblem(code, message, detail, "critical" if code != "format_mismatch" else "high")
                for code, message, detail in layout
            ]
    elif announced == "onnx":
        decided = "onnx"
        if kind == "pickle" and _reads_as_onnx(path):
            problems.append(
                FormatProblem(
                    "polyglot_file",
                    "The file is both an ONNX (protobuf) model and a pickle; files that "
                    "can be read as two formats are refused.",
                    "starts with a pickle PROTO header and parses as a ModelProto with a graph",
                    "critical",
                )
            )
        elif kind in _KIND_LABEL and kind != "binary":
            problems.append(
                FormatProblem(
                    "format_mismatch", f"The file should be an ONNX model but contains {_KIND_LABEL[kind]}.", kind
                )
            )
        elif ops := _reads_as_pickle(path, max_opcodes):
            problems.append(
                FormatProblem(
                    "polyglot_file",
                    "The file is both an ONNX model and a pickle that would run code "
                    "when unpickled; files that can be read as two formats are refused.",
                    f"pickle instructions from offset 0: {ops}",
                    "critical",
                )
            )
    else:  # pickle / joblib
        decided = announced
        if kind in ("lz4", "joblib_compat"):
            problems.append(
                FormatProblem(
                    "unsupported_compression",
                    "This joblib compression format "
                    "is not supported; re-save with compress=3 (zlib), gzip, "
                    "bz2 or lzma.",
                    kind,
                    "medium",
                )
            )
        elif kind == "zip":
            problems.append(
                FormatProblem("format_mismatch", "The file should be a pickle but contains a zip archive.", kind)
            )
        elif kind in COMPRESSED:
            decided = "joblib"
        elif _reads_as_onnx(path):
            problems.append(
                FormatProblem(
                    "polyglot_file",
                    "The file is both a pickle and a well-formed ONNX (protobuf) "
                    "model; files that can be read as two formats are refused.",
                    "the whole file parses as a ModelProto with a graph",
                    "critical",
                )
            )
    return FormatDecision(decided, kind, tuple(problems))


def _reads_as_pickle(path: Path, max_opcodes: int) -> str:
    """The pickle opcodes that would *do something* (import, call, BUILD, STOP) if the file were
    unpickled from its first byte; empty when decoding fails before any of them.  Real ONNX
    files start with 0x08 (ir_version), which is not a pickle opcode."""
    from .pickle_scan import _ClampedReader

    seen: list[str] = []
    with open(path, "rb") as fh:
        reader = _ClampedReader(fh, path.stat().st_size)
        try:
            for count, (opcode, _arg, _pos) in enumerate(pickletools.genops(reader)):
                if opcode.name in _ACTIVE_PICKLE_OPS:
                    seen.append(opcode.name)
                    if len(seen) >= 3 or opcode.name == "STOP":
                        break
                if count >= max_opcodes:
                    break
        except (ValueError, EOFError, UnicodeDecodeError, OverflowError, MemoryError):
            pass
    return ", ".join(seen)


def _reads_as_onnx(path: Path) -> bool:
    """Whether the whole file is a well-formed protobuf message (read leniently, groups and all)
    with an ONNX ModelProto's ir_version (field 1, varint) and graph (field 7, bytes)."""
    if path.stat().st_size < 4:
        return False
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            top = _lenient_fields(view)
        finally:
            view.release()
    return top is not None and (1, 0) in top and (7, 2) in top


def _lenient_fields(buf) -> set[tuple[int, int]] | None:
    """The (field, wire type) pairs of a protobuf message's top level, or None if malformed."""
    seen: set[tuple[int, int]] = set()
    i, n, groups = 0, len(buf), []
    while i < n:
        key, i = _varint(buf, i)
        if key is None:
            return None
        key &= 0xFFFFFFFF
        num, wt = key >> 3, key & 7
        if num == 0:
            return None
        if not groups:
            seen.add((num, wt))
        if wt == 0:
            value, i = _varint(buf, i)
            if value is None:
                return None
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            length, i = _varint(buf, i)
            if length is None:
                return None
            i += length
        elif wt == 3:
            groups.append(num)
        elif wt == 4:
            if not groups or groups.pop() != num:
                return None
        else:
            return None
        if i > n:
            return None
    return None if groups else seen


def _varint(buf, i: int) -> tuple[int | None, int]:
    result = shift = 0
    while i < len(buf) and shift <= 63:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
    return None, i
