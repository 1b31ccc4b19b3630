"""Django-free, static safety scanner for uploaded ML model files.

``scan_model_file(path, original_name)`` returns a frozen ``ScanReport``; it never
imports, unpickles or runs anything from the upload, and never raises for bad input.

Formats: skops (``.skops``), ONNX (``.onnx``), joblib / pickle (``.joblib``, ``.pkl``,
``.pickle``) and MLflow model folders uploaded as ``.zip``.  Everything else is refused.

Design choices
--------------
* Pickles are scanned with the standard library's ``pickletools.genops`` (a
  disassembler that never executes) driven by our own symbolic stack/memo model
  (``pickle_scan``), under an **allowlist** (``allowlist``; see its docstring for the
  policy).  ``STACK_GLOBAL`` names must come from constants (memo look-ups are
  followed), calls must target verified imports, and joblib's raw numpy payloads are
  skipped exactly like ``joblib.numpy_pickle.NumpyUnpickler`` reads them.
* fickling (LGPL, symbolic static analysis) and modelscan (Apache, denylist) cannot
  express an allowlist, so they are only second opinions: fickling's findings are added
  to ``report.notes`` (not the verdict: it flags benign numpy RandomState constructors
  as unsafe, and its interpreter cannot follow joblib's interleaved array bytes), and
  modelscan's maintained denylist grades the severity of refused globals.  Neither is
  needed for a verdict; both are imported lazily.
* skops files are checked with ``skops.io.get_untrusted_types`` (reads the schema only).
* ONNX files are parsed with the official ``onnx`` protobuf definitions in a child process
  with memory/CPU/time limits (``onnx_check``, ``onnx_parse``); any external data, unknown
  field or custom-domain operator is refused; onnxruntime is never invoked here.
* One function, ``formats.artifact_format``, decides what an artifact is (from the name or
  MLmodel *and* the bytes; polyglots that read as two formats are refused); the scanner
  records the decision (``detected_format``, ``inner_artifact["format"]``) and the worker's
  loader calls the same function and refuses bytes that disagree with the record.
* Archives (MLflow zips, skops) get zip-bomb, traversal, symlink, duplicate and
  encryption checks, and must be exactly one zip: first local header at offset 0, members
  back to back, central directory and end record ending at EOF (no bytes before, between
  or after); members are only ever extracted to files we name ourselves.

Loading contract for the worker: load according to ``report.detected_format`` (and for
MLflow zips ``inner_artifact["format"]``; ``joblib`` means ``joblib.load``; ``pickle`` means
``pickle.load``), never by extension, after ``artifact_format`` confirmed the bytes,
and in a sandbox with memory/time limits: an allowlist stops code execution, not every
resource-exhaustion trick (e.g. a huge ``numpy.ndarray`` shape).
"""

from .allowlist import EXACT_ALLOWED, NEVER_ALLOWED, is_allowed
from .report import ACCEPTED_FORMATS, Issue, ScanLimits, ScanReport

__all__ = [
    "ACCEPTED_FORMATS",
    "EXACT_ALLOWED",
    "NEVER_ALLOWED",
    "Issue",
    "ScanLimits",
    "ScanReport",
    "artifact_format",
    "is_allowed",
    "scan_model_file",
]


def __getattr__(name: str):
    # Imported on first use, so that ``python -m models_registry.safety.onnx_parse`` (the ONNX
    # parser's child process) and the worker's format check stay light.
    if name == "scan_model_file":
        from .scanner import scan_model_file

        return scan_model_file
    if name == "artifact_format":
        from .formats import artifact_format

        return artifact_format
    raise AttributeError(name)
