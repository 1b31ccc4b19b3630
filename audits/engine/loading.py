"""Loading a scanned model file, in the child process only.

The registry's static scan has already refused anything outside the allowlist; loading still
happens in a throw-away process with limits, because allowed classes run their own code on load.

How a file is loaded is never re-derived from its name or magic bytes here: it is the format the
scan recorded (``detected_format``, and for MLflow zips ``inner_artifact["format"]``), and right
before loading the bytes are checked against that record by the scanner's own decision function
(``models_registry.safety.formats.artifact_format``, Django-free).  Bytes that disagree, or that
could be read as two formats, are refused without being loaded.
"""

from __future__ import annotations

import pickle
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd


class ModelLoadError(Exception):
    """The file could not be turned into a model; the message is for users."""


def load_model(path: str, fmt: str, inner_artifact: dict | None = None):
    from models_registry.safety.formats import FORMATS

    if fmt not in FORMATS:
        raise ModelLoadError(f"Models in {fmt!r} format cannot be loaded by the validation engine.")
    _require_format(path, fmt)
    if fmt == "mlflow":
        return _load_mlflow(path, inner_artifact or {})
    return _load_checked(path, fmt)


def _require_format(path: str, fmt: str) -> None:
    """Refuse a file whose bytes are not what the scan recorded (nothing of it is loaded)."""
    from models_registry.safety.formats import artifact_format

    decision = artifact_format(Path(path), fmt)
    if decision.problems or decision.format != fmt:
        reason = (
            decision.problems[0].message
            if decision.problems
            else (f"its content is {decision.format or decision.kind} data")
        )
        raise ModelLoadError(
            f"The model file does not match its recorded format ({fmt}), so it was not loaded: {reason}"
        )


def _load_checked(path: str, fmt: str):
    if fmt == "joblib":
        import joblib

        return joblib.load(path)
    if fmt == "pickle":
        with open(path, "rb") as handle:
            return pickle.load(handle)  # noqa: S301 - scanned against the allowlist before this point
    if fmt == "skops":
        import skops.io as sio

        from models_registry.safety.allowlist import is_allowed, split_global

        # skops builds every type the file names and calls their methods: trust only the types the
        # portal's allowlist trusts (the scan's own rule), never simply whatever the file names.
        named = sorted(set(sio.get_untrusted_types(file=path)))
        refused = [name for name in named if not is_allowed(*split_global(name))]
        if refused:
            raise ModelLoadError(
                "The skops file names types that are not on the portal's allowlist ("
                + ", ".join(refused[:5])
                + "), so it was not loaded."
            )
        return sio.load(path, trusted=named)
    if fmt == "onnx":
        return OnnxModel(path)
    raise ModelLoadError(f"Models in {fmt!r} format cannot be loaded by the validation engine.")


def _load_mlflow(path: str, inner: dict):
    from models_registry.safety.formats import INNER_SUFFIX, mlflow_inner_format

    member = inner.get("path")
    if not member:
        raise ModelLoadError("The MLflow archive names no model artifact.")
    name = PurePosixPath(member)
    if name.is_absolute() or ".." in name.parts:
        raise ModelLoadError("The MLflow artifact path is not inside the archive.")
    # The format the scan decided (older reports: derived from the MLmodel entries it recorded by
    # the same rule), never from the member's extension or first bytes.
    expected = mlflow_inner_format(inner.get("flavor"), inner.get("serialization_format"))
    fmt = inner.get("format", expected)
    if fmt not in INNER_SUFFIX or fmt != expected:
        raise ModelLoadError(
            "The MLflow model's recorded artifact format is missing or contradicts its "
            f"MLmodel entries ({inner.get('flavor')!r}, {inner.get('serialization_format')!r}, "
            f"{inner.get('format')!r}), so it was not loaded."
        )
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"model{INNER_SUFFIX[fmt]}"
        target.write_bytes(archive.read(member))
        _require_format(str(target), fmt)
        return _load_checked(str(target), fmt)


class OnnxModel:
    """A scikit-learn-like face for an ONNX model (as exported by skl2onnx): `predict` and, for
    classifiers, `predict_proba` and `classes_`."""

    def __init__(self, path: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self.inputs = self.session.get_inputs()
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.classes_ = None

    def _feed(self, X) -> dict:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        if len(self.inputs) == 1:
            dtype = (
                np.float32 if "float" in self.inputs[0].type else np.int64 if "int" in self.inputs[0].type else object
            )
            return {self.inputs[0].name: frame.to_numpy().astype(dtype)}
        feed = {}
        for spec in self.inputs:
            column = frame[spec.name].to_numpy().reshape(-1, 1)
            dtype = np.float32 if "float" in spec.type else np.int64 if "int" in spec.type else object
            feed[spec.name] = column.astype(dtype) if dtype is not object else column.astype(str).astype(object)
        return feed

    def _run(self, X):
        return self.session.run(None, self._feed(X))

    def predict(self, X):
        return np.asarray(self._run(X)[0]).ravel()

    def predict_proba(self, X):
        outputs = self._run(X)
        if len(outputs) < 2:
            raise AttributeError("this ONNX model has no probability output")
        probabilities = outputs[1]
        if isinstance(probabilities, list) and probabilities and isinstance(probabilities[0], dict):
            keys = sorted(probabilities[0])
            self.classes_ = np.asarray(keys)
            return np.asarray([[row[k] for k in keys] for row in probabilities], dtype=float)
        probabilities = np.asarray(probabilities, dtype=float)
        if self.classes_ is None:
            self.classes_ = np.arange(probabilities.shape[1])
        return probabilities
