"""Allowlist policy unit tests and a small fuzz pass (the scanner never raises)."""

import pickle

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models_registry.safety import EXACT_ALLOWED, NEVER_ALLOWED, is_allowed, scan_model_file


@pytest.mark.parametrize(
    "module, name",
    [
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        ("sklearn.pipeline", "Pipeline"),
        ("sklearn.tree._tree", "Tree"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "dtype"),
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("collections", "OrderedDict"),
        ("builtins", "slice"),
    ],
)
def test_model_and_data_types_are_allowed(module, name):
    assert is_allowed(module, name)


@pytest.mark.parametrize(
    "module, name",
    [
        ("sklearnx", "Pipeline"),
        ("sklearn_evil.pipeline", "Pipeline"),
        ("sklearn.pipeline", "Pipeline.__init__"),  # dotted qualname walking
        ("sklearn.base", "os"),
        ("sklearn.utils", "check_array"),  # re-exported module / function
        ("sklearn.utils._testing", "TempMemmap"),
        ("sklearn.utils.parallel", "Parallel"),
        ("sklearn.datasets._base", "Bunch"),
        ("sklearn.externals._packaging.version", "Version"),
        ("sklearn.linear_model", "LogisticRegression"),  # re-export: real pickles use the defining module
        ("numpy", "load"),
        ("numpy.testing", "assert_equal"),
        ("numpy", "memmap"),
        ("numpy.lib.format", "read_array"),
        ("pandas", "read_pickle"),
        ("pandas.io.pickle", "read_pickle"),
        ("pandas", "HDFStore"),
        ("scipy.io", "loadmat"),
        ("joblib", "load"),
        ("functools", "partial"),
        ("operator", "attrgetter"),
        ("operator", "methodcaller"),
        ("builtins", "getattr"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "open"),
        ("builtins", "__import__"),
        ("builtins", "type"),
        ("__builtin__", "eval"),
        ("os", "system"),
        ("posix", "system"),
        ("xgboost.core", "DMatrix"),
        ("lightgbm.basic", "Dataset"),
        ("builtins", "int\nos"),
        ("sklearn.pipeline\n", "Pipeline"),
    ],
)
def test_dangerous_or_unverifiable_names_are_not_allowed(module, name):
    assert not is_allowed(module, name)


def test_never_allowed_and_exact_allowlist_do_not_overlap():
    assert not NEVER_ALLOWED & EXACT_ALLOWED
    assert not is_allowed("builtins", "eval", frozenset({"builtins.eval"}))
    assert is_allowed("mypkg.models", "Custom", frozenset({"mypkg.models.Custom"}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), ext=st.sampled_from([".pkl", ".joblib", ".onnx", ".skops", ".zip"]))
def test_random_bytes_never_crash_the_scanner(tmp_path, data, ext):
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    report = scan_model_file(path, "upload" + ext)
    assert report.verdict in ("safe", "refused")
    assert "scan_error" not in report.codes, report.to_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=400), flip=st.integers(min_value=0, max_value=255))
@example(cut=12, flip=141)  # a corrupt length field once made pickletools allocate until MemoryError
def test_mutated_benign_pickles_never_crash_the_scanner(tmp_path, cut, flip):
    base = bytearray(pickle.dumps({"w": [1.5, 2.5], "name": "m", "t": (1, None)}, protocol=4))
    base[cut % len(base)] = flip
    path = tmp_path / "fuzz"
    path.write_bytes(bytes(base))
    report = scan_model_file(path, "m.pkl")
    assert "scan_error" not in report.codes, report.to_dict()
