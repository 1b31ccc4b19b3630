"""Entry point: dispatch on the announced extension, then verify the actual content."""

from __future__ import annotations

import contextlib
import io
import lzma
import posixpath
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

from . import containers
from .containers import LimitExceeded, check_zip, member_name_problem
from .feature_names import mlflow_signature_names, skops_feature_names
from .formats import COMPRESSED, INNER_SUFFIX, artifact_format, mlflow_inner_format
from .onnx_check import check_onnx
from .pickle_scan import PickleScanner
from .report import ACCEPTED_FORMATS, Findings, ScanLimits, ScanReport, accepted_formats_sentence

MLFLOW_FLAVOURS = {"sklearn": "pickled_model", "onnx": "data"}
MLFLOW_LOADERS = {"sklearn": "mlflow.sklearn", "onnx": "mlflow.onnx"}
MLFLOW_SIDE_FILES = {".yaml", ".yml", ".txt", ".json", ".md", ""}


def scan_model_file(
    path: Path, original_name: str, *, allowlist_extra: frozenset[str] = frozenset(), limits: ScanLimits | None = None
) -> ScanReport:
    """Statically scan an uploaded model file. Never loads it; never raises for bad input."""
    if not isinstance(path, Path):
        raise TypeError("path must be a pathlib.Path")
    if not isinstance(original_name, str):
        raise TypeError("original_name must be a str")
    if not isinstance(allowlist_extra, frozenset) or not all(isinstance(x, str) for x in allowlist_extra):
        raise TypeError("allowlist_extra must be a frozenset of 'module.qualname' strings")
    if limits is not None and not isinstance(limits, ScanLimits):
        raise TypeError("limits must be a ScanLimits")
    limits = limits or ScanLimits()
    f = Findings()
    f.tools = _tool_versions()
    try:
        _scan(path, original_name, f, allowlist_extra, limits)
    except Exception as exc:  # noqa: BLE001 - hostile input must give a report, not a crash
        f.refuse(
            "scan_error",
            "The file could not be scanned safely and was refused.",
            f"{type(exc).__name__}: {exc}"[:300],
            "high",
        )
    return f.freeze(original_name)


def _tool_versions() -> dict[str, str]:
    import skops

    tools = {
        "pickletools": f"python {sys.version.split()[0]}",
        "skops": skops.__version__,
        "onnx_check": "onnx protobuf definitions in a limited subprocess + lenient wire walker",
    }
    try:
        from importlib.metadata import version

        tools["onnx"] = version("onnx")
    except Exception:  # noqa: BLE001
        pass
    try:
        import fickling

        tools["fickling"] = fickling.__version__
    except Exception:  # noqa: BLE001
        pass
    try:
        from modelscan._version import __version__ as ms_version

        tools["modelscan"] = str(ms_version)
    except Exception:  # noqa: BLE001
        pass
    return tools


def _scan(path: Path, original_name: str, f: Findings, extra: frozenset[str], limits: ScanLimits) -> None:
    ext = posixpath.splitext(original_name.replace("\\", "/").lower())[1]
    if ext not in ACCEPTED_FORMATS:
        f.refuse(
            "unknown_format",
            f"Files of type '{ext or 'without extension'}' are not accepted. " + accepted_formats_sentence(),
            original_name,
            "medium",
        )
        return
    f.format = ACCEPTED_FORMATS[ext]
    if not path.is_file():
        f.refuse("unreadable_file", "The uploaded file could not be read.", original_name, "high")
        return
    size = path.stat().st_size
    if size == 0:
        f.refuse("empty_file", "The uploaded file is empty.", original_name, "medium")
        return
    if size > limits.max_file_size:
        f.refuse("file_too_large", "The uploaded file is larger than allowed.", f"{size} bytes", "medium")
        return
    if f.format == "mlflow":
        decision = artifact_format(path, "mlflow", max_opcodes=limits.max_pickle_opcodes)
        for problem in decision.problems:
            f.refuse(problem.code, problem.message, problem.detail, problem.severity)
        if decision.problems:
            return
        _scan_mlflow(path, f, extra, limits)
    else:
        decided = _scan_artifact(path, f.format, ext, f, extra, limits, location="", strict_pickle=False)
        if decided:
            f.format = decided  # what the loader will use (a .pkl holding joblib data is joblib)


def _scan_artifact(
    path: Path,
    fmt: str,
    ext: str,
    f: Findings,
    extra: frozenset[str],
    limits: ScanLimits,
    location: str,
    strict_pickle: bool,
) -> str | None:
    """Scan one model file announced as ``fmt``; returns the format it must be loaded with (the
    same function decides it for the loader: ``formats.artifact_format``), None if refused."""
    where = f"{location}: " if location else ""
    decision = artifact_format(path, fmt, name=location, max_opcodes=limits.max_pickle_opcodes)
    for problem in decision.problems:
        detail = problem.detail if problem.code == "mlflow_format_conflict" else where + problem.detail
        f.refuse(problem.code, problem.message, detail, problem.severity)
    if decision.problems or decision.format is None:
        return None
    kind = decision.kind
    if decision.format == "skops":
        _scan_skops(path, f, extra, limits, where)
    elif decision.format == "onnx":
        check_onnx(path, f, location, limits)
    else:
        if strict_pickle and decision.format != fmt:
            f.refuse(
                "format_mismatch",
                "A compressed joblib file cannot be used where a plain pickle is expected.",
                where + kind,
                "high",
            )
            return None
        layout = _scan_pickle_file(path, kind, ext, f, extra, limits, location, strict_pickle)
        return "joblib" if layout == "joblib" else decision.format  # joblib arrays need joblib.load
    return decision.format


def _scan_pickle_file(
    path: Path, kind: str, ext: str, f: Findings, extra: frozenset[str], limits: ScanLimits, location: str, strict: bool
) -> str:
    where = f"{location}: " if location else ""
    if kind in COMPRESSED and strict:
        f.refuse(
            "format_mismatch",
            "A compressed joblib file cannot be used where a plain pickle is expected.",
            where + kind,
            "high",
        )
        return
    scanner = PickleScanner(f, extra=extra, limits=limits, location=location, joblib_arrays=not strict)
    with open(path, "rb") as raw:
        if kind in COMPRESSED:
            try:
                stream, total, trailing = containers.decompress(raw, kind, limits, path.stat().st_size)
            except LimitExceeded as exc:
                f.refuse(
                    "zip_bomb",
                    "The compressed file expands far beyond the allowed size or ratio.",
                    where + str(exc),
                    "critical",
                )
                return
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
                f.refuse("truncated_pickle", "The compressed data is corrupt or truncated.", where + str(exc), "high")
                return
            with stream:
                if trailing:
                    f.refuse("trailing_data", "There is extra data after the compressed stream.", where + kind, "high")
                scanner.scan(stream, total)
            if not location:
                f.format = "joblib"
            return "joblib"
        scanner.scan(raw, path.stat().st_size)
    if kind in ("text", "binary") and any(
        i.code in ("truncated_pickle", "unknown_opcode", "malformed_pickle") for i in f.issues
    ):
        label = "text (e.g. CSV)" if kind == "text" else "binary data"
        f.refuse(
            "format_mismatch", f"The file is named {ext} but contains {label}, not a pickle.", where + kind, "high"
        )
    if scanner.saw_wrapper and not location and f.format != "joblib":
        f.format = "joblib"
        f.note("joblib_content", "The file holds joblib array data; it must be loaded with joblib.load.")
    if not scanner.saw_wrapper:
        _second_opinion(path, f, limits, where)
    return "joblib" if scanner.saw_wrapper else "pickle"


def _second_opinion(path: Path, f: Findings, limits: ScanLimits, where: str) -> None:
    """fickling's static (symbolic) analysis; its findings are added to the report."""
    if path.stat().st_size > limits.second_opinion_max_size:
        return
    try:
        from fickling.analysis import Severity, check_safety
        from fickling.fickle import Pickled

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            pickled = Pickled.load(path.read_bytes(), fail_on_decode_error=False)
            results = check_safety(pickled)
    except Exception as exc:  # noqa: BLE001 - second opinion only
        f.note("second_opinion_unavailable", "fickling could not analyse the file.", f"{where}{exc}"[:200])
        return
    # fickling's heuristics flag benign models (e.g. numpy RandomState constructors), so
    # its findings are recorded as notes; the allowlist alone decides the verdict.
    for r in results.results:
        if r.severity == Severity.LIKELY_SAFE or not r.trigger:
            continue
        sev = "medium" if r.severity >= Severity.LIKELY_UNSAFE else "low"
        f.note(
            "second_opinion",
            f"fickling rates this {r.severity.name}.",
            f"{where}{r.analysis_name}: {r.trigger}"[:300],
            sev,
        )


def _scan_skops(path: Path, f: Findings, extra: frozenset[str], limits: ScanLimits, where: str) -> None:
    members = check_zip(path, f, limits, "skops file")
    if members is None:
        return
    if "schema.json" not in {m.filename for m in members}:
        f.refuse("format_mismatch", "The zip file is not a skops model (no schema.json).", where + "skops", "high")
        return
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)  # reads the schema, does not load objects
    except Exception as exc:  # noqa: BLE001
        f.refuse("invalid_skops", "The skops file could not be read.", f"{where}{exc}"[:300], "high")
        return
    from models_registry.safety.allowlist import is_allowed, split_global

    for name in sorted(set(untrusted)):
        f.globals.add(name)
        # The same policy as for pickles: types skops does not trust by default are accepted when
        # they are on the portal's allowlist (e.g. scikit-learn's TreePredictor).
        if not is_allowed(*split_global(name), extra):
            f.refuse(
                "untrusted_skops_type",
                f"The skops file contains the type {name}, which is not "
                "trusted by default nor on the portal's allowlist.",
                where + name,
                "high",
            )
    if not f.feature_names:  # an MLflow signature, read first, wins
        f.feature_names = skops_feature_names(path)


def _scan_mlflow(path: Path, f: Findings, extra: frozenset[str], limits: ScanLimits) -> None:
    import yaml

    members = check_zip(path, f, limits, "MLflow upload")
    if members is None:
        return
    mlmodels = [m for m in members if posixpath.basename(m.filename) == "MLmodel"]
    if len(mlmodels) != 1:
        f.refuse(
            "bad_mlflow_model",
            "An MLflow upload must contain exactly one MLmodel file.",
            f"{len(mlmodels)} found",
            "medium",
        )
        return
    mlmodel = mlmodels[0]
    root = posixpath.dirname(mlmodel.filename)
    if mlmodel.file_size > limits.max_mlmodel_size:
        f.refuse("bad_mlflow_model", "The MLmodel file is too large.", mlmodel.filename, "medium")
        return
    try:
        with zipfile.ZipFile(path) as zf:
            doc = yaml.safe_load(io.TextIOWrapper(zf.open(mlmodel), "utf-8").read())
        flavors = doc["flavors"]
        assert isinstance(flavors, dict)
    except Exception as exc:  # noqa: BLE001
        f.refuse("bad_mlflow_model", "The MLmodel file is not valid MLflow YAML.", str(exc)[:200], "medium")
        return
    f.feature_names = mlflow_signature_names(doc)
    pyfunc = flavors.get("python_function") or {}
    if (
        not isinstance(pyfunc, dict)
        or pyfunc.get("code")
        or "python_model" in pyfunc
        or (pyfunc.get("loader_module") not in (None, *MLFLOW_LOADERS.values()))
    ):
        f.refuse(
            "bad_mlflow_model",
            "The MLflow model uses custom Python code, which is not accepted.",
            str(pyfunc.get("loader_module", "python_function")),
            "high",
        )
        return
    present = [fl for fl in MLFLOW_FLAVOURS if isinstance(flavors.get(fl), dict)]
    if not present:
        f.refuse(
            "bad_mlflow_model",
            "The MLflow model has no supported flavour (sklearn or onnx).",
            ", ".join(map(str, flavors)),
            "medium",
        )
        return
    if len(present) > 1:
        f.refuse(
            "mlflow_format_conflict",
            "The MLmodel file declares more than one model flavour, so "
            "it is ambiguous how the artifact would be loaded.",
            ", ".join(present),
            "critical",
        )
        return
    flavour = present[0]
    conf = flavors[flavour]
    art = conf.get(MLFLOW_FLAVOURS[flavour])
    fmt = conf.get("serialization_format", "cloudpickle" if flavour == "sklearn" else "onnx")
    inner_fmt = mlflow_inner_format(flavour, fmt)
    if not isinstance(art, str) or member_name_problem(art):
        f.refuse("bad_mlflow_model", "The MLmodel file points to an invalid artifact.", f"{art!r} ({fmt})", "high")
        return
    if inner_fmt is None:
        f.refuse(
            "mlflow_format_conflict",
            f"The MLmodel file declares the {flavour} flavour with the "
            f"serialization format {fmt!r}, which that flavour does not use.",
            f"{flavour}: {fmt}",
            "critical",
        )
        return
    loader = pyfunc.get("loader_module")
    pyfunc_path = pyfunc.get("model_path", pyfunc.get("data"))
    if (loader is not None and loader != MLFLOW_LOADERS[flavour]) or (pyfunc_path is not None and pyfunc_path != art):
        f.refuse(
            "mlflow_format_conflict",
            "The MLmodel file's python_function section disagrees with "
            f"its {flavour} flavour (loader or artifact), so it is ambiguous how it would be loaded.",
            f"{loader} {pyfunc_path!r} vs {art!r}",
            "critical",
        )
        return
    full = posixpath.normpath(posixpath.join(root, art))
    f.inner = {"path": full, "flavor": flavour, "serialization_format": str(fmt)}
    info = next((m for m in members if m.filename == full), None)
    if info is None:
        f.refuse("bad_mlflow_model", "The model artifact named in MLmodel is missing.", full, "medium")
        return
    for m in members:
        if m is not info and m is not mlmodel and posixpath.splitext(m.filename)[1].lower() not in MLFLOW_SIDE_FILES:
            f.refuse(
                "unexpected_archive_member",
                "The MLflow upload contains a file that is neither the model nor metadata.",
                m.filename,
                "medium",
            )
    suffix = INNER_SUFFIX[inner_fmt]
    with tempfile.TemporaryDirectory(prefix="mlflow-scan-") as tmp:
        try:
            target = containers.extract_member(path, info, Path(tmp), suffix)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, LimitExceeded) as exc:
            f.refuse(
                "corrupt_archive",
                "The model artifact inside the zip is corrupt (bad "
                "checksum or compressed data), so it cannot be scanned.",
                f"{full}: {exc}"[:300],
            )
            return
        decided = _scan_artifact(target, inner_fmt, suffix, f, extra, limits, location=full, strict_pickle=True)
    # The single truth the loader follows (and re-checks against the bytes before loading).
    f.inner = {**f.inner, "format": decided or "unknown"}
