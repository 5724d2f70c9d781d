"""The bench's statistics (tests/bench/concurrency.py): the distribution-free interval the CPU target is read with.
The bench itself runs under ``nox -s bench``; only its arithmetic is checked here."""

from __future__ import annotations

import math

import pytest

from tests.bench import concurrency


@pytest.mark.parametrize(
    ("n", "ranks"),
    # the order statistics (1-based) of the usual 95% interval for a median, from binomial tables
    [(6, (1, 6)), (10, (2, 9)), (15, (4, 12)), (20, (6, 15)), (80, (31, 50))],
)
def test_median_interval_takes_the_tabled_order_statistics(n: int, ranks: tuple[int, int]) -> None:
    values = [float(v) for v in range(100, 100 + n)][::-1]  # unsorted input
    low, high = concurrency.median_interval(values)
    assert (low, high) == (100 + ranks[0] - 1, 100 + ranks[1] - 1)


def test_median_interval_covers_at_least_its_level() -> None:
    for n in range(6, 120):
        low, high = concurrency.median_interval(list(map(float, range(n))))
        k = int(low) + 1  # the k-th smallest and the k-th largest
        miss = 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        assert miss <= 0.05, n
        assert high == n - k


def test_median_interval_too_few_values_says_so() -> None:
    assert all(math.isnan(x) for x in concurrency.median_interval([1.0, 2.0, 3.0, 4.0, 5.0]))
