"""Issue #11, hole 1: a joblib NumpyArrayWrapper whose array length the scanner cannot prove.

The scanner skips a wrapper's array bytes by the length it computes from ``shape`` and ``dtype``.
If joblib ends up with another shape (a computed key, a key past the scanner's bookkeeping, a
duplicate, a state changed through the memo, a second BUILD), joblib reads no array bytes and
unpickles the "array" as opcodes the scanner never looked at.  Each file is built here, byte by
byte; each must be refused with a code naming the trick, and nothing may run.
"""

import io

import joblib
import numpy as np
import pytest

from . import payloads as p
from .test_pickle_payloads import assert_refused, scan

TRICK_CODES = {
    "duplicate_key": "joblib_wrapper_duplicate_key",
    "computed_key": "joblib_wrapper_computed_key",
    "past_256th_key": "joblib_wrapper_too_many_keys",
    "memo_mutated_state": "joblib_wrapper_state_aliased",
    "rebuilt_wrapper": "joblib_wrapper_rebuilt",
}
CONTAINERS = {
    "uncompressed": (lambda data: data, "model.joblib"),
    "zlib_compress_3": (p.zlib_joblib, "model.joblib"),
    "named_pkl": (lambda data: data, "model.pkl"),
}


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("trick", p.JOBLIB_TRICKS)
def test_joblib_wrapper_whose_array_length_cannot_be_proved_is_refused(write, sentinel, trick, container):
    wrap, name = CONTAINERS[container]
    report = scan(write, name, wrap(p.joblib_length_trick(sentinel, trick)))
    assert_refused(report, TRICK_CODES[trick])
    reason = next(i for i in report.reasons if i.code == TRICK_CODES[trick])
    assert "joblib array header" in reason.message and reason.severity == "critical"
    assert "posix.system" not in report.globals_seen  # the hidden opcodes were never walked


@pytest.mark.parametrize("trick", p.JOBLIB_TRICKS)
def test_positive_control_joblib_really_runs_the_hidden_opcodes(tmp_path, trick):
    """Proves each trick is live against joblib 1.6, so refusing it is closing a real hole."""
    fired = tmp_path / "fired"
    path = tmp_path / "own.joblib"
    path.write_bytes(p.joblib_length_trick(fired, trick))
    joblib.load(path)
    assert fired.exists()


def test_wrapper_with_keys_joblib_never_writes_is_refused(write, sentinel):
    data = p.joblib_wrapper(sentinel).replace(p.bu("allow_mmap"), p.bu("allow_mmaq"))
    assert_refused(scan(write, "model.joblib", data), "joblib_wrapper_unexpected_key", "allow_mmaq")


def test_wrapper_created_with_constructor_arguments_is_refused(write, sentinel):
    # NumpyArrayWrapper(ndarray, (0,), 'C', dtype) runs __init__: its attributes do not come from BUILD.
    data = p.joblib_wrapper(sentinel)
    head = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x01)\x81q\x02"
    ctor = (
        b"cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x01(cnumpy\nndarray\nK\x00\x85" + p.bu("C") + p._UINT8 + b"tRq\x02"
    )
    assert_refused(scan(write, "model.joblib", data.replace(head, ctor)), "joblib_wrapper_constructed")


def test_wrapper_whose_state_is_not_a_literal_dict_is_refused(write, sentinel):
    data = p.joblib_wrapper(sentinel).replace(
        b"b" + p.hidden_os_system(sentinel), b"N\x86b" + p.hidden_os_system(sentinel)
    )  # (state, None)
    assert_refused(scan(write, "model.joblib", data), "joblib_wrapper_state_not_literal")


def test_wrapper_whose_dtype_is_computed_at_load_time_is_refused(write, sentinel):
    computed = b"cnumpy\ndtype\ncbuiltins\nstr\nC\x02u1" + p.bu("ascii") + b"\x86R\x89\x88\x87R"
    report = scan(write, "model.joblib", p.joblib_wrapper(sentinel, dtype=computed))
    assert_refused(report, "unsupported_joblib_layout", "dtype")
    assert "posix.system" not in report.globals_seen


def test_wrapper_whose_dtype_is_not_a_numpy_dtype_is_refused(write, sentinel):
    report = scan(write, "model.joblib", p.joblib_wrapper(sentinel, dtype=b"cnumpy\nuint8\n"))
    assert_refused(report, "unsupported_joblib_layout", "dtype")


def test_wrapper_whose_dtype_state_is_set_twice_is_refused(write, sentinel):
    # The dtype is memoised, BUILT, then BUILT again before the wrapper uses it.
    dtype = (
        b"cnumpy\ndtype\n"
        + p.bu("u1")
        + b"\x89\x88\x87Rq\x09"
        + b"(K\x03"
        + p.bu("|")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    rebuild = b"h\x09(K\x03" + p.bu("|") + b"NNNK\x08K\x01K\x00tb0"
    report = scan(write, "model.joblib", p.joblib_wrapper(sentinel, dtype=dtype + rebuild))
    assert_refused(report, "unsupported_joblib_layout", "dtype")


def test_text_array_whose_bytes_are_pickle_opcodes_is_refused(write, sentinel):
    hidden = p.hidden_os_system(sentinel)
    dtype = b"cnumpy\ndtype\n" + p.bu(f"S{len(hidden)}") + b"\x89\x88\x87R"
    report = scan(write, "model.joblib", p.joblib_wrapper(sentinel, dtype=dtype, shape_n=1))
    assert_refused(report, "joblib_array_hides_opcodes", "posix.system")


def test_stack_global_opcodes_hidden_in_a_record_array_are_refused(write, sentinel):
    cmd = f"touch {sentinel}".encode()
    hidden = p.u8("os") + b"\x94" + p.u8("system") + b"\x94\x93" + b"\x8c" + bytes([len(cmd)]) + cmd + b"\x85R0"
    dtype = b"cnumpy\ndtype\n" + p.bu(f"V{len(hidden)}") + b"\x89\x88\x87R"
    report = scan(write, "model.joblib", p.joblib_wrapper(sentinel, dtype=dtype, shape_n=1, data=hidden))
    assert_refused(report, "joblib_array_hides_opcodes", "os.system")


@pytest.mark.parametrize(
    "array",
    [
        np.array([b"cat\ndog\n", b"csv\nrow\n"]),
        np.array(["cos\nsystem\n"]),  # UTF-32: no byte pattern
        np.array([(b"a\nb\n", 1.5)], dtype=[("k", "S6"), ("v", "<f8")]),
    ],
)
@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_genuine_text_and_record_arrays_still_pass(tmp_path, array, protocol):
    path = tmp_path / "upload"
    joblib.dump({"a": array}, path, protocol=protocol)
    from models_registry.safety import scan_model_file

    report = scan_model_file(path, "arrays.joblib")
    assert report.verdict == "safe", report.to_dict()


@pytest.mark.parametrize("protocol", range(0, 6))
@pytest.mark.parametrize("aligned", [True, False])
def test_genuine_joblib_files_of_every_protocol_with_and_without_alignment_pass(
    tmp_path, hgb_pipeline, protocol, aligned
):
    class Unseekable(io.RawIOBase):  # joblib writes no alignment padding where it cannot tell()
        def __init__(self):
            self.buffer = io.BytesIO()

        def writable(self):
            return True

        def write(self, b):
            return self.buffer.write(b)

    path = tmp_path / "upload"
    if aligned:
        joblib.dump(hgb_pipeline, path, protocol=protocol)
    else:
        sink = Unseekable()
        joblib.dump(hgb_pipeline, sink, protocol=protocol)
        path.write_bytes(sink.buffer.getvalue())
    from models_registry.safety import scan_model_file

    report = scan_model_file(path, "pipeline.joblib")
    assert report.verdict == "safe", report.to_dict()
    assert report.detected_format == "joblib"


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("maker", p.INDIRECT_WRAPPER_MAKERS)
def test_wrapper_created_by_another_allowed_function_is_refused(write, sentinel, maker, container):
    wrap, name = CONTAINERS[container]
    report = scan(write, name, wrap(p.joblib_indirect_wrapper(sentinel, maker)))
    assert_refused(report, "joblib_wrapper_indirect")


@pytest.mark.parametrize("maker", p.INDIRECT_WRAPPER_MAKERS)
def test_positive_control_joblib_runs_the_opcodes_after_an_indirectly_created_wrapper(tmp_path, maker):
    fired = tmp_path / "fired"
    path = tmp_path / "own.joblib"
    path.write_bytes(p.joblib_indirect_wrapper(fired, maker))
    joblib.load(path)
    assert fired.exists()


@pytest.mark.parametrize(
    "use",
    [
        b"]cjoblib.numpy_pickle\nNumpyArrayWrapper\na.",  # put into a list
        b"N}(" + p.bu("k") + b"cjoblib.numpy_pickle\nNumpyArrayWrapper\nu\x86.",  # a dict value
        b"N" + b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n" + b"\x86.",  # not first in a tuple
    ],
)
def test_the_wrapper_class_handed_around_is_refused(write, use):
    assert_refused(scan(write, "model.joblib", b"\x80\x03" + use), "joblib_wrapper_indirect")
