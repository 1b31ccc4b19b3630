"""Bootstrap CIs in bounded memory (issue #15, million-row test sets): beyond a B x n cell budget the
resamples are drawn and evaluated a chunk at a time, with the same number of resamples and the same
statistical result as one block."""

import numpy as np
import pytest

from audits.checks import Policy, ValidationContext, base

from ._helpers import ToyModel, logistic_score, run_one, split, tabular


@pytest.fixture(scope="module")
def data():
    return split(tabular(5000), 0.2)


def ctx_for(data, seed=0):
    train, test = data
    return ValidationContext(
        task="binary",
        model=ToyModel(logistic_score),
        train=train,
        test=test,
        target="y",
        features=["x1", "x2", "colour", "sex", "noise"],
        sensitive=["sex"],
        policy=Policy.from_overrides({"bootstrap.n": 200}),
        seed=seed,
    )


def test_a_large_split_is_resampled_a_chunk_at_a_time_with_every_resample_kept(data, monkeypatch):
    n = len(data[1])
    monkeypatch.setattr(base, "BOOTSTRAP_CHUNK_CELLS", n * 30)
    seen = []

    def mean_x1(W):
        seen.append(W.shape)
        return W @ data[1]["x1"].to_numpy() / W.sum(axis=1)

    out = ctx_for(data).bootstrap("test", mean_x1)
    assert out.shape == (200,)
    assert max(rows for rows, _ in seen) == 30 and sum(rows for rows, _ in seen) == 200
    assert all(cols == n for _, cols in seen)
    assert len(np.unique(out)) > 190  # the chunks are different resamples, not one chunk repeated


def test_chunked_and_single_block_bootstraps_give_the_same_confidence_interval(data, monkeypatch):
    one_block = run_one(ctx_for(data), "PERF-01")
    monkeypatch.setattr(base, "BOOTSTRAP_CHUNK_CELLS", len(data[1]) * 17)
    chunked = run_one(ctx_for(data), "PERF-01")
    assert chunked.value == one_block.value
    a, b = one_block.ci, chunked.ci
    assert a and b
    width = a[1] - a[0]
    assert abs(a[0] - b[0]) < 0.3 * width and abs(a[1] - b[1]) < 0.3 * width


def test_chunked_bootstraps_are_reproducible_for_a_seed(data, monkeypatch):
    monkeypatch.setattr(base, "BOOTSTRAP_CHUNK_CELLS", len(data[1]) * 17)
    first = run_one(ctx_for(data, seed=5), "FAIR-02").to_dict(include_timing=False)
    second = run_one(ctx_for(data, seed=5), "FAIR-02").to_dict(include_timing=False)
    assert first == second and first["ci"]
