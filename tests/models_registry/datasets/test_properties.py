"""Property: whatever a user's tool writes (delimiter, encoding, compression), we read it back."""

import gzip

import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from models_registry.datasets import ERROR_CODES, DatasetError, profile_dataset, read_dataset

# A leading "w" keeps labels from looking like numbers, booleans, dates or missing tokens; the rest
# of the label may hold any cp1252 character, delimiters and quotes included.
texts = st.text(alphabet=st.characters(codec="cp1252", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
                max_size=8).map(lambda s: "w" + s.strip())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ints=st.lists(st.integers(-10**9, 10**9), min_size=1, max_size=20),
    words=st.data(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    compress=st.booleans(),
)
def test_any_written_table_round_trips(tmp_path, ints, words, delimiter, encoding, compress):
    labels = words.draw(st.lists(texts, min_size=len(ints), max_size=len(ints)))
    frame = pd.DataFrame({"n": ints, "label": labels})
    data = frame.to_csv(index=False, sep=delimiter).encode(encoding)
    path = tmp_path / "t.csv"
    path.write_bytes(gzip.compress(data) if compress else data)
    profile = profile_dataset(path, "t.csv")
    back = read_dataset(path, profile.read_options, mode="typed")
    assert profile.read_options["delimiter"] == delimiter
    assert back["n"].tolist() == ints
    assert back["label"].tolist() == labels
    assert profile.column("n")["type"] == "integer" and profile.row_count == len(ints)


SEED_CSV = "id;name;amount;when\n" + "".join(f"{i};Zürich {i};{i},5;2024-01-{i % 28 + 1:02d}\n" for i in range(50))
def _parquet_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    pd.DataFrame({"a": range(50), "b": ["x", "?"] * 25}).to_parquet(buffer)
    return buffer.getvalue()


SEEDS = [("d.csv", SEED_CSV.encode()), ("d.csv", SEED_CSV.encode("utf-16")),
         ("d.csv.gz", gzip.compress(SEED_CSV.encode())), ("d.parquet", _parquet_bytes())]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 10_000), noise=st.binary(max_size=12),
       at=st.integers(0, 10_000))
def test_damaged_uploads_raise_dataset_errors_and_never_crash(tmp_path, seed, cut, noise, at):
    name, data = seed
    data = data[: max(1, len(data) - cut % 200)]
    at %= len(data)
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data[:at] + noise + data[at + len(noise):])
    try:
        profile = profile_dataset(path, name)
    except DatasetError as err:
        assert err.code in ERROR_CODES and err.message
        return
    assert len(read_dataset(path, profile.read_options, mode="typed")) == profile.row_count
