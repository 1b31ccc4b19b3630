"""Issue #11, hole 5b: bytes before, between or after a container.

zipfile (and so skops and MLflow) happily reads a zip with a pickle glued in front of it; the
file is then a valid pickle *and* a valid zip, stored as "safe".  A container must now be
exactly one zip from offset 0 to EOF; a pickle must end at its STOP opcode.
"""

import io
import pickle
import struct
import zipfile

import pytest
import skops.io as sio

from . import payloads as p
from .test_archives_and_formats import mlflow_zip
from .test_benign_models import assert_safe
from .test_pickle_payloads import assert_refused, scan


@pytest.fixture
def mlflow_bytes(logistic_regression):
    return mlflow_zip(pickle.dumps(logistic_regression))


@pytest.fixture
def skops_bytes(logistic_regression):
    return sio.dumps(logistic_regression)


def test_pickle_prefixed_to_a_valid_mlflow_zip_is_refused(write, sentinel, mlflow_bytes):
    data = pickle.dumps(p.OsSystem(sentinel), protocol=4) + mlflow_bytes
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # zipfile itself accepts it
    assert_refused(scan(write, "model.zip", data), "zip_leading_data")


def test_pickle_prefixed_to_a_valid_skops_file_is_refused(write, sentinel, skops_bytes):
    data = pickle.dumps(p.OsSystem(sentinel), protocol=2) + skops_bytes
    assert sio.get_untrusted_types(data=data) is not None  # skops reads it too
    assert_refused(scan(write, "model.skops", data), "zip_leading_data")


def test_text_pickle_prefixed_to_a_zip_is_refused(write, sentinel, mlflow_bytes):
    assert_refused(scan(write, "model.zip", p.inst_os_system(sentinel) + mlflow_bytes), "zip_leading_data")


@pytest.mark.parametrize("name", ["model.zip", "model.skops"])
def test_bytes_after_the_end_of_a_zip_are_refused(write, sentinel, name, mlflow_bytes, skops_bytes):
    data = (mlflow_bytes if name == "model.zip" else skops_bytes) + pickle.dumps(p.OsSystem(sentinel))
    assert_refused(scan(write, name, data), "zip_trailing_data")


def test_bytes_hidden_between_zip_members_are_refused(write, sentinel, logistic_regression):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model/MLmodel", p.mlmodel_yaml())
        buf.seek(zf.start_dir)
        buf.write(pickle.dumps(p.OsSystem(sentinel)))  # zipfile's own offsets stay consistent
        zf.start_dir = buf.tell()
        zf.writestr("model/model.pkl", pickle.dumps(logistic_regression))
    data = buf.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    assert_refused(scan(write, "model.zip", data), "zip_layout_inconsistent", "model/model.pkl")


def test_zip_members_that_overlap_are_refused(write, logistic_regression):
    data = bytearray(mlflow_zip(pickle.dumps(logistic_regression)))
    # Point the second central-directory entry at the first member's local header.
    second = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
    data[second + 42 : second + 46] = struct.pack("<L", 0)
    assert_refused(scan(write, "model.zip", bytes(data)), "zip_layout_inconsistent")


def test_pickle_with_a_zip_appended_after_stop_is_refused(write, sentinel, mlflow_bytes):
    assert_refused(scan(write, "model.pkl", pickle.dumps({"w": [1.0]}) + mlflow_bytes), "trailing_data")


def test_zip_with_a_comment_still_passes(write, logistic_regression):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.comment = b"exported by a build tool"
        for name, data in {
            "model/MLmodel": p.mlmodel_yaml(),
            "model/model.pkl": pickle.dumps(logistic_regression),
        }.items():
            zf.writestr(name, data)
    assert_safe(scan(write, "model.zip", buf.getvalue()), "mlflow")


def test_zip_written_to_a_stream_with_data_descriptors_still_passes(write, logistic_regression):
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buffer = io.BytesIO()

        def writable(self):
            return True

        def write(self, b):
            return self.buffer.write(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("model/MLmodel", "w") as out:
            out.write(p.mlmodel_yaml())
        with zf.open("model/model.pkl", "w") as out:
            out.write(pickle.dumps(logistic_regression))
    data = sink.buffer.getvalue()
    assert all(i.flag_bits & 0x8 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert_safe(scan(write, "model.zip", data), "mlflow")


def test_zip64_end_records_still_pass(write, logistic_regression, monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # makes zipfile write zip64 end records
    data = mlflow_zip(pickle.dumps(logistic_regression))
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    monkeypatch.undo()
    assert_safe(scan(write, "model.zip", data), "mlflow")


def test_genuine_skops_file_still_passes(write, skops_bytes):
    assert_safe(scan(write, "model.skops", skops_bytes), "skops")


def test_member_whose_local_header_names_another_file_is_refused(write, logistic_regression):
    data = mlflow_zip(pickle.dumps(logistic_regression))
    local = data.find(b"PK\x03\x04")  # the first local header is the MLmodel's
    name_at = data.find(b"model/MLmodel", local)
    tampered = data[:name_at] + b"model/MLmodeX" + data[name_at + 13 :]  # the directory still says MLmodel
    assert_refused(scan(write, "model.zip", tampered), "zip_layout_inconsistent", "model/MLmodel")


def test_member_whose_local_header_disagrees_on_its_size_is_refused(write, logistic_regression):
    data = bytearray(mlflow_zip(pickle.dumps(logistic_regression)))
    data[22:26] = struct.pack("<L", struct.unpack("<L", data[22:26])[0] + 1)  # first member's size
    assert_refused(scan(write, "model.zip", bytes(data)), "zip_layout_inconsistent")


def test_member_with_corrupt_compressed_data_is_refused(write, logistic_regression):
    data = bytearray(
        p.zip_bytes(
            {
                "model/MLmodel": p.mlmodel_yaml(),
                "model/model.pkl": pickle.dumps(logistic_regression),
                "model/requirements.txt": b"scikit-learn\n",
            }
        )
    )
    info = next(i for i in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist() if i.filename == "model/model.pkl")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    assert_refused(scan(write, "model.zip", bytes(data)), "corrupt_archive", "model/model.pkl")
