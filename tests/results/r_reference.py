"""R's default random numbers and R's ``all.equal``, to check against R packages' own tests.

unmarked's tests draw their covariates with ``set.seed(123); rnorm(...)``. R's default
generator is the Mersenne Twister seeded by ``set.seed`` through 50 + 625 steps of the
LCG ``seed = 69069 * seed + 1`` (R's RNG.c: ``Randomize``/``RNG_Init``, ``FixupSeeds``
sets the position to 624), and ``rnorm`` uses inversion with two uniforms for 53 bits:
``u = floor(2^27 * unif) + unif; qnorm(u / 2^27)`` (R's snorm.c, ``INVERSION``).
:func:`tests.results.test_colext.test_r_random_numbers_are_rs` checks the first draws
against R's well-known ``set.seed(123); rnorm(10)``.

testthat's ``expect_equivalent(x, y, tol)`` (2nd edition) is ``all.equal``: the mean
relative difference ``sum(|target - current|) / sum(|target|)`` must not exceed ``tol``
(the absolute difference when the target's mean magnitude is below ``tol``):
:func:`all_equal_difference` and :func:`expect_equivalent`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

_N, _M = 624, 397
_BIG = 134217728  # 2^27
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1)


class RRandom:
    """``set.seed(seed)`` followed by ``runif``/``rnorm`` draws, as R 3.6+ gives them."""

    def __init__(self, seed: int) -> None:
        value = seed & 0xFFFFFFFF
        for _ in range(50):
            value = (69069 * value + 1) & 0xFFFFFFFF
        state = []
        for _ in range(_N + 1):
            value = (69069 * value + 1) & 0xFFFFFFFF
            state.append(value)
        self._mt = state[1:]  # state[0] is the position, which FixupSeeds resets
        self._position = _N

    def _next(self) -> float:
        mt = self._mt
        if self._position >= _N:
            for k in range(_N):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % _N] & 0x7FFFFFFF)
                mt[k] = mt[(k + _M) % _N] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self._position = 0
        y = mt[self._position]
        self._position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y * 2.3283064365386963e-10

    def unif(self) -> float:
        """One ``runif(1)``: in (0, 1), as R's ``fixup`` keeps it."""
        value = self._next()
        if value <= 0:
            return 0.5 * _I2_32M1
        if 1 - value <= 0:
            return 1 - 0.5 * _I2_32M1
        return value

    def rnorm(self, n: int) -> NDArray[np.float64]:
        """``rnorm(n)``: standard normal draws by inversion."""
        draws = []
        for _ in range(n):
            u = int(_BIG * self.unif()) + self.unif()
            draws.append(float(special.ndtri(u / _BIG)))
        return np.array(draws)


def all_equal_difference(target: object, current: object, tolerance: float) -> float:
    """R's ``all.equal.numeric`` measure of ``current`` against ``target``, which passes
    when it is at most ``tolerance``: the mean relative difference, or the mean absolute
    difference when the target's mean magnitude is not above ``tolerance``. NaN must be
    in the same places and is left out."""
    want = np.asarray(target, dtype=float).ravel()
    got = np.asarray(current, dtype=float).ravel()
    assert want.shape == got.shape, (want.shape, got.shape)
    assert (np.isnan(want) == np.isnan(got)).all(), (want, got)
    keep = ~np.isnan(want)
    difference = float(np.abs(want[keep] - got[keep]).mean())
    scale = float(np.abs(want[keep]).mean())
    return difference / scale if scale > tolerance else difference


def expect_equivalent(current: object, target: object, tolerance: float = 1.5e-8) -> None:
    """testthat's ``expect_equivalent(current, target, tolerance)`` (default: R's
    ``sqrt(.Machine$double.eps)``)."""
    measure = all_equal_difference(target, current, tolerance)
    assert measure <= tolerance, f"mean difference {measure:.3g} > {tolerance:g}: {current}"
