"""Quantiles of a run's article measures, merged from per-shard partial counts.

Shards are validated in separate tasks, and a median cannot be merged from per-shard medians, while
sending every value through XCom (7 M text lengths for enwiki) is out of the question. A
``QuantileSketch`` keeps counts in logarithmic buckets (as DDSketch does): any quantile it returns
lies within ``RELATIVE_ACCURACY`` of the true one, its size grows with the log of the value range
(a few hundred buckets for text lengths), and two sketches merge by adding counts, so the run's
median is the same whatever the sharding. Written here rather than taken from the ``ddsketch``
package: that serialises to protobuf, and the sketch has to travel as plain JSON through XCom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RELATIVE_ACCURACY = 0.005
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)


@dataclass
class QuantileSketch:
    """Counts of non-negative values: zeros apart, the rest in bucket ``ceil(log_gamma(value))``."""

    zeros: int = 0
    buckets: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Iterable[float] | Any) -> QuantileSketch:
        """The sketch of a sequence or numpy array of non-negative numbers (NaN is an error)."""
        import numpy as np

        array = np.asarray(values, dtype="float64")
        if array.size and not (array >= 0).all():  # NaN compares False as well
            raise ValueError("a quantile sketch counts non-negative numbers")
        positive = array[array > 0]
        keys, counts = np.unique(np.ceil(np.log(positive) / _LOG_GAMMA).astype("int64"), return_counts=True)
        return cls(int(array.size - positive.size), dict(zip(keys.tolist(), counts.tolist(), strict=True)))

    @property
    def count(self) -> int:
        return self.zeros + sum(self.buckets.values())

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """A new sketch holding the values of both."""
        buckets = dict(self.buckets)
        for key, count in other.buckets.items():
            buckets[key] = buckets.get(key, 0) + count
        return QuantileSketch(self.zeros + other.zeros, buckets)

    def quantile(self, q: float) -> float | None:
        """The value at rank ``q`` (0 = smallest, 0.5 = median), within the relative accuracy; None if empty."""
        if not 0 <= q <= 1:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        total = self.count
        if not total:
            return None
        rank = q * (total - 1)
        seen = self.zeros
        if rank < seen:
            return 0.0
        keys = sorted(self.buckets)
        for key in keys:
            seen += self.buckets[key]
            if rank < seen:
                break
        # the bucket holds (gamma^(key-1), gamma^key]; this point is within the accuracy of both ends
        return 2 * _GAMMA**key / (_GAMMA + 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (bucket keys as strings, as JSON object keys must be)."""
        return {"zeros": self.zeros, "buckets": {str(k): v for k, v in sorted(self.buckets.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantileSketch:
        return cls(
            int(data.get("zeros", 0)), {int(k): int(v) for k, v in (data.get("buckets") or {}).items()}
        )
