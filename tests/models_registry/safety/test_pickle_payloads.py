"""Hostile pickles and joblib files: each must be refused with a precise code, unexecuted."""

import io
import os
import pickle
import zlib

import joblib
import numpy as np
import pytest

from models_registry.safety import ScanLimits, scan_model_file

from . import payloads as p


def scan(write, name, data, **kw):
    path, original = write(name, data)
    return scan_model_file(path, original, **kw)


def assert_refused(report, code, detail_contains=None):
    assert report.verdict == "refused", report.to_dict()
    assert code in report.codes, report.to_dict()
    if detail_contains is not None:
        details = " ".join(i.detail for i in report.reasons if i.code == code)
        assert detail_contains in details, report.to_dict()


@pytest.mark.parametrize("protocol", range(0, 6))
def test_pickle_calling_os_system_is_refused_and_names_the_global(write, sentinel, protocol):
    report = scan(write, "model.pkl", pickle.dumps(p.OsSystem(sentinel), protocol=protocol))
    assert_refused(report, "unsafe_global", "posix.system" if os.name == "posix" else "nt.system")
    assert report.reasons[0].severity == "critical"
    assert "posix.system" in report.globals_seen


def test_pickle_starting_subprocess_popen_is_refused(write, sentinel):
    report = scan(write, "model.pickle", pickle.dumps(p.SubprocessPopen(sentinel), protocol=4))
    assert_refused(report, "unsafe_global", "subprocess.Popen")


@pytest.mark.parametrize("payload, name", [(p.BuiltinsEval, "builtins.eval"), (p.BuiltinsExec, "builtins.exec")])
def test_pickle_calling_builtins_eval_or_exec_is_refused(write, sentinel, payload, name):
    report = scan(write, "model.pkl", pickle.dumps(payload(sentinel), protocol=3))
    assert_refused(report, "unsafe_global", name)


def test_pickle_setting_an_environment_variable_is_refused(write, sentinel):
    report = scan(write, "model.pkl", pickle.dumps(p.SetEnv(), protocol=2))
    assert_refused(report, "unsafe_global", "putenv")


def test_getattr_on_dunder_import_trick_is_refused_and_names_both_globals(write, sentinel):
    report = scan(write, "model.pkl", p.getattr_trick(sentinel))
    assert_refused(report, "unsafe_global", "__builtin__.getattr")
    assert_refused(report, "unsafe_global", "__builtin__.__import__")


def test_bare_dunder_import_is_refused(write, sentinel):
    assert_refused(scan(write, "model.pkl", p.import_only(sentinel)), "unsafe_global", "__import__")


def test_nested_pickle_via_pickle_loads_of_bytes_is_refused_as_nested_pickle(write, sentinel):
    assert_refused(scan(write, "model.pkl", p.pickle_loads_by_name(sentinel)), "nested_pickle", "pickle.loads")


@pytest.mark.parametrize(
    "payload, loader",
    [
        (p.NestedPickleLoads, "_pickle.loads"),
        (p.NestedCPickleLoads, "_pickle.loads"),
        (p.NestedJoblibLoad, "joblib.numpy_pickle.load"),
    ],
)
def test_nested_pickle_loaders_are_refused_as_nested_pickle(write, sentinel, payload, loader):
    report = scan(write, "model.pkl", pickle.dumps(payload(sentinel), protocol=4))
    assert_refused(report, "nested_pickle", loader)


def test_harmless_looking_bytes_that_hide_a_malicious_pickle_are_refused(write, sentinel):
    blob = pickle.dumps(p.OsSystem(sentinel), protocol=2)
    report = scan(write, "model.pkl", pickle.dumps({"weights": blob}, protocol=4))
    assert_refused(report, "nested_pickle", "posix.system")


def test_protocol_0_inst_opcode_calling_os_system_is_refused(write, sentinel):
    assert_refused(scan(write, "model.pkl", p.inst_os_system(sentinel)), "unsafe_global", "os.system")


def test_protocol_2_global_reduce_is_refused(write, sentinel):
    assert_refused(scan(write, "model.pkl", p.reduce_proto2(sentinel)), "unsafe_global", "posix.system")


def test_stack_global_fed_from_memo_after_decoy_strings_is_resolved_and_refused(write, sentinel):
    report = scan(write, "model.pkl", p.stack_global_memo_trick(sentinel))
    assert_refused(report, "unsafe_global", "os.system")
    assert "numpy.ndarray" not in report.globals_seen


def test_stack_global_with_a_computed_module_name_is_refused(write, sentinel):
    assert_refused(scan(write, "model.pkl", p.computed_stack_global()), "unresolvable_global")


def test_calling_the_result_of_a_call_is_refused_as_indirect_call(write):
    assert_refused(scan(write, "model.pkl", p.indirect_call()), "indirect_call")


def test_build_on_a_class_object_monkey_patching_is_refused(write):
    assert_refused(scan(write, "model.pkl", p.build_on_class()), "unsafe_state")


def test_codecs_encode_with_a_codec_other_than_latin1_is_refused(write):
    assert_refused(scan(write, "model.pkl", p.codecs_with_other_codec()), "unsafe_call_arguments")


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x7f\x85R.",  # bytearray(2 GiB)
        b"\x80\x02cxgboost.core\nBooster\nNN\x8c\x0b/etc/passwd\x87R.",  # Booster(model_file=...)
    ],
)
def test_allowed_types_called_with_dangerous_arguments_are_refused(write, data):
    assert_refused(scan(write, "model.pkl", data), "unsafe_call_arguments")


def test_copyreg_reconstructor_with_a_non_builtin_base_is_refused(write):
    data = b"\x80\x02ccopy_reg\n_reconstructor\ncsklearn.pipeline\nPipeline\ncsklearn.pipeline\nPipeline\nN\x87R."
    assert_refused(scan(write, "model.pkl", data), "indirect_call")


def test_empty_obj_opcode_is_refused_as_malformed(write):
    assert_refused(scan(write, "model.pkl", b"\x80\x02(o."), "malformed_pickle")


@pytest.mark.parametrize("data", [p.misplaced_proto(), b"\x80\x06N.", b"\x80\x02\x80\x05N."])
def test_misplaced_or_unsupported_protocol_header_is_refused(write, data):
    assert_refused(scan(write, "model.pkl", data), "protocol_violation")


def test_unknown_opcode_is_refused(write):
    assert_refused(scan(write, "model.pkl", b"\x80\x04\xff."), "unknown_opcode")


def test_truncated_pickle_is_refused(write, logistic_regression):
    data = pickle.dumps(logistic_regression, protocol=4)
    assert_refused(scan(write, "model.pkl", data[: len(data) // 2]), "truncated_pickle")


def test_second_pickle_appended_after_stop_is_refused_as_trailing_data(write, sentinel, logistic_regression):
    data = pickle.dumps(logistic_regression, protocol=4) + pickle.dumps(p.OsSystem(sentinel))
    assert_refused(scan(write, "model.pkl", data), "trailing_data")


def test_persistent_id_opcodes_are_refused(write):
    assert_refused(scan(write, "model.pkl", b"\x80\x02X\x01\x00\x00\x000Q."), "unsupported_opcode")


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3)])
def test_joblib_file_with_an_evil_global_after_real_arrays_is_refused(
    tmp_path, sentinel, compress, logistic_regression
):
    path = tmp_path / "upload"
    obj = {
        "model": logistic_regression,
        "big": np.arange(5000.0),
        "strings": np.array(["a", None]),
        "evil": p.OsSystem(sentinel),
    }
    joblib.dump(obj, path, compress=compress)
    report = scan_model_file(path, "model.joblib")
    assert_refused(report, "unsafe_global", "posix.system")
    assert report.detected_format == "joblib"
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in report.globals_seen  # we walked past arrays


def test_evil_global_hidden_in_a_joblib_object_array_nested_pickle_is_refused(tmp_path, sentinel):
    path = tmp_path / "upload"
    joblib.dump({"x": np.array([p.OsSystem(sentinel), 1], dtype=object)}, path)
    assert_refused(scan_model_file(path, "model.joblib"), "unsafe_global", "posix.system")


def test_joblib_array_header_inside_a_frame_is_refused(write):
    buf = io.BytesIO()
    joblib.dump(np.arange(4.0), buf, protocol=4)
    data = buf.getvalue()
    # Widen the first frame so the raw array bytes sit inside it (a loader desync trick).
    assert data[2:3] == b"\x95"
    size = int.from_bytes(data[3:11], "little")
    tampered = data[:3] + (len(data) - 11).to_bytes(8, "little") + data[11:]
    assert size != len(data) - 11
    assert_refused(scan(write, "model.joblib", tampered), "unsupported_joblib_layout")


def test_compressed_joblib_bomb_is_refused(write):
    bomb = zlib.compress(b"\x80\x04" + b"N0" * 2_000_000 + b"N.", 9)
    limits = ScanLimits(max_decompressed_size=1_000_000, ratio_check_min_size=1_000)
    assert_refused(scan(write, "model.joblib", bomb, limits=limits), "zip_bomb")


def test_truncated_compressed_joblib_is_refused(tmp_path, logistic_regression):
    path = tmp_path / "upload"
    joblib.dump(logistic_regression, path, compress=3)
    path.write_bytes(path.read_bytes()[:-40])
    assert_refused(scan_model_file(path, "model.joblib"), "truncated_pickle")


def test_allowlist_extra_cannot_unlock_a_never_allowed_global(write, sentinel):
    report = scan(
        write,
        "model.pkl",
        pickle.dumps(p.BuiltinsEval(sentinel), protocol=2),
        allowlist_extra=frozenset({"builtins.eval", "__builtin__.eval"}),
    )
    assert_refused(report, "unsafe_global", "__builtin__.eval")  # protocol 2 writes py2 names


def test_positive_control_the_sentinel_payload_really_fires_when_unpickled(tmp_path):
    """Proves the payloads above are live, so their absence after scanning means something."""
    target = tmp_path / "fired"
    pickle.loads(pickle.dumps(p.BuiltinsExec(target)))
    assert target.exists()


def _joblib_float_array_protocol2() -> bytes:
    buf = io.BytesIO()
    joblib.dump(np.arange(4.0), buf, protocol=2)
    return buf.getvalue()


def test_joblib_array_header_claiming_more_data_than_the_file_has_is_refused(write):
    data = _joblib_float_array_protocol2()
    assert data.count(b"K\x04\x85") == 1
    assert_refused(scan(write, "a.joblib", data.replace(b"K\x04\x85", b"M\x90\x01\x85")), "truncated_pickle")


def test_dtype_state_lying_about_item_size_does_not_desynchronise_the_walk(write, tmp_path):
    # numpy ignores elsize for float64; the scanner must compute sizes exactly as numpy does.
    data = _joblib_float_array_protocol2()
    tampered = data.replace(b"NNNJ\xff\xff\xff\xff", b"NNNK\x04", 1)
    assert tampered != data
    report = scan(write, "a.joblib", tampered)
    assert report.verdict == "safe", report.to_dict()
    (tmp_path / "own.joblib").write_bytes(tampered)  # our own benign bytes: safe to load
    assert (joblib.load(tmp_path / "own.joblib") == np.arange(4.0)).all()
