"""The input feature names a model file declares, read statically (nothing is loaded or run).

- skops: the ``feature_names_in_`` array in ``schema.json`` (scikit-learn stores the column names
  it was fitted on there; skops writes an array of strings as JSON).
- MLflow: the column names of the ``signature.inputs`` in ``MLmodel`` (a JSON string in YAML).
- ONNX: the graph's input names, when each input is one column (several inputs, the convention of
  skl2onnx for data frames); a single tensor input is a matrix without column names.

Pickles and joblib files have no static form of their names: the validation engine reads
``feature_names_in_`` in its sandboxed child after it loads the model (``audits.engine.child``).
Every reader returns a list of strings, empty when the file declares none; it never raises for a
malformed file (the scan decides the file's fate, not this)."""

from __future__ import annotations

import json
import zipfile
from collections import deque
from pathlib import Path

MAX_NAMES = 5000
MAX_NAME_LENGTH = 200
_MAX_SCHEMA_BYTES = 64 * 1024 * 1024
_MAX_NODES = 200_000


def clean_names(names) -> list[str]:
    """A list of distinct, non-empty names of a sane length, or [] when `names` is not one."""
    if not isinstance(names, (list, tuple)) or not names or len(names) > MAX_NAMES:
        return []
    if not all(isinstance(n, str) and n.strip() and len(n) <= MAX_NAME_LENGTH for n in names):
        return []
    if len(set(names)) != len(names):
        return []
    return list(names)


def skops_feature_names(path: Path) -> list[str]:
    """The shallowest ``feature_names_in_`` in a skops schema (a pipeline's own, or its first step's)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("schema.json")
            if info.file_size > _MAX_SCHEMA_BYTES:
                return []
            schema = json.loads(archive.read(info))
    except (KeyError, OSError, ValueError, RecursionError, zipfile.BadZipFile):
        return []
    return _shallowest_feature_names(schema)


def _shallowest_feature_names(schema) -> list[str]:
    # Breadth first: nested transformers hold only their own subset of the columns.
    queue: deque = deque([schema])
    seen = 0
    while queue and seen < _MAX_NODES:
        node = queue.popleft()
        seen += 1
        if isinstance(node, dict):
            found = node.get("feature_names_in_")
            if isinstance(found, dict) and found.get("__loader__") == "NdArrayNode":
                names = _json_strings(found.get("content"))
                if names:
                    return names
            queue.extend(node.values())
        elif isinstance(node, list):
            queue.extend(node)
    return []


def _json_strings(content) -> list[str]:
    if not isinstance(content, list):
        return []
    names = []
    for item in content:
        if not (isinstance(item, dict) and item.get("__loader__") == "JsonNode" and item.get("__class__") == "str"):
            return []
        try:
            names.append(json.loads(item.get("content", "")))
        except (TypeError, ValueError):
            return []
    return clean_names(names)


def mlflow_signature_names(mlmodel: dict) -> list[str]:
    """The input column names of an MLmodel document's signature ([] for tensor signatures)."""
    signature = mlmodel.get("signature") if isinstance(mlmodel, dict) else None
    if not isinstance(signature, dict):
        return []
    inputs = signature.get("inputs")
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except ValueError:
            return []
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        return []
    if any(i.get("type") == "tensor" for i in inputs):
        return []
    return clean_names([i.get("name") for i in inputs])


def onnx_column_inputs(inputs) -> list[str]:
    """Graph input names when the model takes one input per column (more than one input)."""
    names = clean_names(inputs)
    return names if len(names) > 1 else []
