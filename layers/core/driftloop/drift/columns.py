"""Column coercion and fast binning: raw values (strings, numbers, None) to typed arrays."""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

MISSING_TOKENS = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None", "NA", "N/A"})
_MAX_LOOKUP_CELLS = 1 << 18  # 256k cells: the table stays small enough to sit in cache


def coerce_numeric(values: npt.ArrayLike | Sequence[Any]) -> tuple[FloatArray, int, int]:
    """Values to float64 with NaN for missing. Returns (array, missing, type_errors).

    Type errors (a non-numeric string in a numeric column) become NaN but are counted apart from
    missing values, so the data type check can report them.
    """
    array = values if isinstance(values, np.ndarray) else None
    if array is not None and array.dtype.kind in "fiub":
        floats = array.astype(np.float64, copy=False).ravel()
        return floats, int(np.count_nonzero(np.isnan(floats))), 0
    if array is not None and array.dtype.kind == "U":
        try:
            floats = array.astype(np.float64).ravel()
        except ValueError:
            pass
        else:
            return floats, int(np.count_nonzero(np.isnan(floats))), 0
    items: Iterable[Any] = array.ravel().tolist() if array is not None else values  # type: ignore[assignment]
    return _coerce_items(items)


def _coerce_items(items: Iterable[Any]) -> tuple[FloatArray, int, int]:
    out: list[float] = []
    missing = errors = 0
    for item in items:
        if isinstance(item, (int, float)):
            value = float(item)
        elif item is None or str(item).strip() in MISSING_TOKENS:
            value = math.nan
        else:
            try:
                value = float(str(item).strip())
            except ValueError:
                out.append(math.nan)
                errors += 1
                continue
        if math.isnan(value):
            missing += 1
        out.append(value)
    return np.asarray(out, dtype=np.float64), missing, errors


def category_key(item: Any) -> str | None:
    """Canonical category label: None for missing; 3.0 and "3" both become "3"."""
    if item is None:
        return None
    if isinstance(item, float):
        if math.isnan(item):
            return None
        if item.is_integer():
            return str(int(item))
        return repr(item)
    text = str(item).strip()
    return None if text in MISSING_TOKENS else text


def count_categories(
    values: npt.ArrayLike | Sequence[Any], known: Sequence[str] = ()
) -> tuple[dict[str, int], int]:
    """Category counts and missing count.

    For numpy string arrays and a small known domain, counts by vectorised comparison (one pass per
    known category) and only runs a general count on the leftovers.
    """
    array = values if isinstance(values, np.ndarray) else None
    if array is not None and array.dtype.kind == "U" and 0 < len(known) <= 64:
        flat = array.ravel()
        counts: dict[str, int] = {}
        matched = np.zeros(flat.shape, dtype=bool)
        for category in known:
            hits = flat == category
            counts[category] = int(np.count_nonzero(hits))
            matched |= hits
        rest = flat[~matched]
        missing = 0
        if rest.size:
            extra, missing = _count_generic(rest.tolist())
            for key, value in extra.items():
                counts[key] = counts.get(key, 0) + value
        return {k: v for k, v in counts.items() if v}, missing
    if array is not None and array.dtype.kind == "U":
        uniques, totals = np.unique(array.ravel(), return_counts=True)
        return _fold(zip(uniques.tolist(), totals.tolist(), strict=True))
    items = array.ravel().tolist() if array is not None else list(values)  # type: ignore[arg-type]
    return _count_generic(items)


def _count_generic(items: list[Any]) -> tuple[dict[str, int], int]:
    return _fold(Counter(category_key(item) for item in items).items())


def _fold(pairs: Iterable[tuple[Any, int]]) -> tuple[dict[str, int], int]:
    """(raw value, count) pairs -> counts per canonical category, plus the missing count."""
    counts: dict[str, int] = {}
    missing = 0
    for value, count in pairs:
        key = category_key(value)
        if key is None:
            missing += count
        else:
            counts[key] = counts.get(key, 0) + count
    return counts, missing


class Binner:
    """Bin index for fixed inner edges: bins (-inf, e0), [e0, e1), ..., [e_last, inf).

    Equivalent to ``searchsorted(edges, x, side="right")`` but about 3x faster on large arrays: a
    uniform lookup grid gives each value's bin up to one step, and one comparison each way fixes it.
    The grid is used only when every grid cell holds at most one edge (checked at construction).
    """

    def __init__(self, edges: Sequence[float] | FloatArray) -> None:
        self.edges = np.asarray(edges, dtype=np.float64)
        self.n_bins = self.edges.size + 1
        self._table: IndexArray | None = None
        self._discrete: Binner | None = None
        lows, highs = self.edges[0::2], self.edges[1::2]
        if (
            self.edges.size >= 4
            and self.edges.size % 2 == 0
            and np.array_equal(highs, np.nextafter(lows, np.inf))
        ):
            # discrete baseline: edges come in pairs [v, next float up); bin the values on v alone
            self._discrete = Binner(lows)
        elif self.edges.size >= 2:
            low, high = float(self.edges[0]), float(self.edges[-1])
            narrowest = float(np.min(np.diff(self.edges)))
            # cells at most half the narrowest bin, so a cell never holds two edges
            ratio = 2.0 * (high - low) / narrowest if narrowest > 0 else math.inf
            cells = math.ceil(ratio) + 1 if ratio < _MAX_LOOKUP_CELLS else 0
            width = (high - low) / cells if cells else 0.0
            # a usable grid needs a normal cell width whose scale and offset stay finite (edges that
            # differ by a few subnormals, e.g. [0, 5e-324], fall back to searchsorted)
            if width >= sys.float_info.min and math.isfinite(1.0 / width) and math.isfinite(low / width):
                # each cell's entry counts the edges a quarter cell below its left end, so rounding in
                # the cell computation can only leave a value one bin short, never one bin over
                grid = low + width * (np.arange(cells + 1) - 0.25)
                table = np.searchsorted(self.edges, grid, side="right")
                self._table = np.concatenate(([0], table, [self.edges.size])).astype(np.intp)
                self._cells = cells
                self._scale = 1.0 / width
                self._offset = 1.0 - low / width  # cell + 1, so values below the grid land in slot 0
                self._upper = np.append(self.edges, np.inf)

    def bins(self, values: FloatArray) -> IndexArray:
        """Bin index per value (finite values; NaN must be filtered out first)."""
        if self._discrete is not None and values.size >= 4096:
            # k values <= x; x sits in [v_k-1, next up) when it equals v_k-1, else in the gap after it
            below = self._discrete.bins(values)
            exact = values == self._discrete.edges[np.maximum(below - 1, 0)]
            exact &= below > 0
            index: IndexArray = 2 * below - exact.astype(np.intp)
            return index
        if self._table is None or values.size < 4096:
            return np.searchsorted(self.edges, values, side="right").astype(np.intp)
        cell = values * self._scale
        cell += self._offset
        np.clip(cell, 0.0, self._cells + 1.0, out=cell)
        index = self._table[cell.astype(np.intp)]
        index += values >= self._upper[index]
        return index

    def histogram(self, values: FloatArray, *, assume_finite: bool = False) -> tuple[list[int], list[float]]:
        """(counts, per-bin sums) of the finite ``values`` (NaN and +-inf are left out)."""
        finite = values if assume_finite else values[np.isfinite(values)]
        index = self.bins(finite)
        counts = np.bincount(index, minlength=self.n_bins)
        sums = np.bincount(index, weights=finite, minlength=self.n_bins)
        return [int(c) for c in counts], [float(s) for s in sums]


@lru_cache(maxsize=512)
def binner_for(edges: tuple[float, ...]) -> Binner:
    return Binner(edges)
