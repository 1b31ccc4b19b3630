"""Column statistics gathered one chunk at a time, so profiling holds a block of the file and a
bounded summary per column, never the file.

Every statistic is the one ``profile`` used to compute on the whole column: counts and token
counts add up, minimum and maximum combine, sums are added chunk after chunk in file order (as
Arrow's own aggregate does over a chunked column, so with the default block size the mean is the
same to the last bit), examples are the first distinct values among the first 10,000, and the
personal-data sample takes the same evenly spaced positions (known from the first pass).

Distinct values are counted by 64-bit hash: integers, dates and floats are mixed by a bijection
(no collisions at all), text by SipHash (pandas' ``hash_array``). A column keeps its hashes
exactly up to its share of ``DatasetLimits.distinct_budget``; past it the count becomes a
HyperLogLog estimate (16 KB, about 1 % error) and the column says ``distinct_estimated``.
"""

from __future__ import annotations

import bisect
import decimal
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .convert import Converted

EXAMPLES_FROM = 10_000  # examples are taken among the first this many non-missing values
HLL_BITS = 14
_CANONICAL_NAN = np.float64("nan")


class DistinctCounter:
    """Exact distinct count by hash up to ``cap`` hashes, then a HyperLogLog estimate."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.exact: np.ndarray | None = np.empty(0, np.uint64)
        self.pending: list[np.ndarray] = []
        self.pending_n = 0
        self.registers: np.ndarray | None = None

    def add(self, values: pa.ChunkedArray) -> None:
        unique = pc.drop_null(pc.unique(values))
        if len(unique) == 0:
            return
        hashes = value_hashes(unique)
        if self.registers is not None:
            _hll_update(self.registers, hashes)
            return
        self.pending.append(hashes)
        self.pending_n += len(hashes)
        if self.pending_n >= max(len(self.exact), 1 << 16):
            self._compact()

    def _compact(self) -> None:
        if self.pending:
            self.exact = np.unique(np.concatenate([self.exact, *self.pending]))
            self.pending, self.pending_n = [], 0
        if len(self.exact) > self.cap:
            self.registers = np.zeros(1 << HLL_BITS, np.uint8)
            _hll_update(self.registers, self.exact)
            self.exact = None

    def count(self) -> tuple[int, bool]:
        """(distinct values, whether that is an estimate)."""
        if self.registers is None:
            self._compact()
        if self.registers is None:
            return len(self.exact), False
        return _hll_estimate(self.registers), True


def value_hashes(unique: pa.Array) -> np.ndarray:
    t = unique.type
    if pa.types.is_boolean(t):
        bits = unique.to_numpy(zero_copy_only=False).astype(np.uint64)
    elif pa.types.is_integer(t):
        raw = unique.to_numpy(zero_copy_only=False)
        bits = raw.astype(np.uint64) if pa.types.is_unsigned_integer(t) else raw.astype(np.int64).view(np.uint64)
    elif pa.types.is_floating(t):
        raw = unique.to_numpy(zero_copy_only=False).astype(np.float64)
        raw[np.isnan(raw)] = _CANONICAL_NAN  # Arrow counts every NaN as one value
        bits = raw.view(np.uint64)
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        bits = unique.to_numpy(zero_copy_only=False).view(np.int64).view(np.uint64)
    else:  # text, binary, decimals: as Python objects
        if pa.types.is_decimal(t):
            unique = pc.cast(unique, pa.string())
        return pd.util.hash_array(unique.to_numpy(zero_copy_only=False), categorize=False)
    return pd.util.hash_array(np.ascontiguousarray(bits))  # a bijection on 64 bits: no collisions


def _hll_update(registers: np.ndarray, hashes: np.ndarray) -> None:
    width = 64 - HLL_BITS
    index = (hashes >> np.uint64(width)).astype(np.intp)
    rest = (hashes << np.uint64(HLL_BITS)) | np.uint64(1 << (HLL_BITS - 1))  # the guard bit caps the rank
    _, exponent = np.frexp(rest.astype(np.float64))
    rank = np.minimum(65 - exponent, width + 1).astype(np.uint8)
    np.maximum.at(registers, index, rank)


def _hll_estimate(registers: np.ndarray) -> int:
    m = float(len(registers))
    raw = (0.7213 / (1 + 1.079 / m)) * m * m / float(np.sum(np.power(2.0, -registers.astype(np.float64))))
    zeros = int(np.count_nonzero(registers == 0))
    if raw <= 2.5 * m and zeros:
        raw = m * math.log(m / zeros)
    return int(round(raw))


class Extremes:
    """Minimum, maximum and sum of a numeric or datetime column, chunk after chunk."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.low = self.high = None
        self.nan = False
        self.total: Any = None
        self.count = 0
        self.scale: int | None = None

    def add(self, values: pa.ChunkedArray) -> None:
        present = len(values) - values.null_count
        if present == 0:
            return
        bounds = pc.min_max(values).as_py()
        for value in (bounds["min"], bounds["max"]):
            if isinstance(value, float) and math.isnan(value):
                self.nan = True
            elif value is not None:
                self.low = value if self.low is None else min(self.low, value)
                self.high = value if self.high is None else max(self.high, value)
        if self.kind == "datetime":
            return
        self.count += present
        chunk_sum = _exact_sum(values) if pa.types.is_integer(values.type) else pc.sum(values).as_py()
        if pa.types.is_decimal(values.type):
            self.scale = values.type.scale
        self.total = chunk_sum if self.total is None else self.total + chunk_sum

    def bounds(self) -> tuple[Any, Any]:
        """As ``pc.min_max`` on the whole column: NaN is skipped unless there is nothing else."""
        if self.low is None and self.nan:
            return math.nan, math.nan
        return self.low, self.high

    def mean(self) -> Any:
        if self.count == 0 or self.total is None:
            return None
        if isinstance(self.total, decimal.Decimal):  # Arrow keeps the column's scale, rounding half up
            with decimal.localcontext() as ctx:
                ctx.prec = 80
                return (self.total / self.count).quantize(decimal.Decimal(1).scaleb(-(self.scale or 0)),
                                                          rounding=decimal.ROUND_HALF_UP)
        return self.total / self.count


def _exact_sum(values: pa.ChunkedArray) -> int:
    """An integer column's sum without 64-bit overflow: high and low 32-bit halves summed apart."""
    wide = pc.cast(values, pa.uint64() if pa.types.is_unsigned_integer(values.type) else pa.int64())
    high = pc.sum(pc.shift_right(wide, pa.scalar(32, wide.type))).as_py() or 0
    low = pc.sum(pc.bit_wise_and(wide, pa.scalar(0xFFFFFFFF, wide.type))).as_py() or 0
    return (high << 32) + low


class Examples:
    """The first ``limit`` distinct values among the first 10,000 non-missing ones, in file order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.looked_at = 0
        self.values: pa.Array | None = None

    def add(self, values: pa.ChunkedArray) -> None:
        if self.looked_at >= EXAMPLES_FROM or (self.values is not None and len(self.values) >= self.limit):
            return
        head = values.drop_null().slice(0, EXAMPLES_FROM - self.looked_at)
        self.looked_at += len(head)
        fresh = pc.unique(head)
        if self.values is not None and len(self.values):
            fresh = pc.filter(fresh, pc.invert(pc.is_in(fresh, value_set=self.values)))
        fresh = fresh.slice(0, self.limit - (len(self.values) if self.values is not None else 0))
        self.values = fresh if self.values is None else pa.concat_arrays([self.values, fresh])

    def to_list(self) -> list:
        return [] if self.values is None else self.values.to_pylist()


class PiiSample:
    """The values ``pii.sample_values`` would take from the whole column: every non-missing value
    up to ``size``, else the evenly spaced ``positions`` (counted in the first pass)."""

    def __init__(self, positions: list[int] | None) -> None:
        self.positions = positions
        self.seen = 0
        self.values: list = []

    def add(self, text: pa.ChunkedArray | None) -> None:
        if text is None:
            return
        if self.positions is not None and (not self.positions or self.seen > self.positions[-1]):
            self.seen += len(text) - text.null_count
            return
        present = text.drop_null()
        if self.positions is None:
            self.values.extend(present.to_pylist())
        else:
            lo = bisect.bisect_left(self.positions, self.seen)
            hi = bisect.bisect_left(self.positions, self.seen + len(present))
            if hi > lo:
                picks = pa.array([p - self.seen for p in self.positions[lo:hi]], pa.int64())
                self.values.extend(present.take(picks).to_pylist())
        self.seen += len(present)
