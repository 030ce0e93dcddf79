"""Small exact-minded linear algebra shared by the subspace, discovery and conservation code."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["rref", "snap_rationals"]


def rref(
    B: np.ndarray,
    tol: float = 1e-10,
    *,
    relative: bool = False,
    clean: bool = False,
    full: bool = False,
    pivots: bool = False,
):
    """Reduced row echelon form of the rows of ``B`` (a basis), with partial pivoting.

    A column whose largest remaining entry is at most ``tol`` (times ``max |B|`` when
    ``relative``) gets no pivot.  ``clean`` zeroes entries of each pivot row below ``tol``.
    ``full``: full pivoting, each pivot the largest remaining entry in any column not yet
    pivoted (rows in pivot order), so that a noisy basis is expressed through its dominant
    entries rather than through whichever column comes first.
    Returns the nonzero rows: every pivot entry is 1 and the other rows vanish there,
    which makes a basis readable (and, for flips and permutations, a set of orbit sums);
    with ``pivots``, ``(rows, pivot columns)``.
    """
    B = np.array(B, dtype=float, copy=True)
    k, m = B.shape
    level = tol * max(np.abs(B).max(initial=0.0), 1e-300) if relative else tol
    cols: list[int] = []
    done = (lambda r: (B[:r], cols)) if pivots else (lambda r: B[:r])
    if full:
        for r in range(k):
            rest = np.abs(B[r:])
            rest[:, cols] = 0.0
            i, c = np.unravel_index(int(np.argmax(rest)), rest.shape)
            if rest[i, c] <= level:
                return done(r)
            B[[r, r + i]] = B[[r + i, r]]
            B[r] /= B[r, c]
            others = np.arange(k) != r
            B[others] -= np.outer(B[others, c], B[r])
            if clean:
                B[r, np.abs(B[r]) < level] = 0.0
            cols.append(int(c))
        return done(k)
    r = 0
    for c in range(m):
        if r == k:
            break
        piv = r + int(np.argmax(np.abs(B[r:, c])))
        if abs(B[piv, c]) <= level:
            continue
        B[[r, piv]] = B[[piv, r]]
        B[r] /= B[r, c]
        others = np.arange(k) != r
        B[others] -= np.outer(B[others, c], B[r])
        if clean:
            B[r, np.abs(B[r]) < level] = 0.0
        cols.append(c)
        r += 1
    return done(r)


def snap_rationals(a: np.ndarray, max_den: int, tol: float, *, relative: bool = False) -> np.ndarray:
    """A copy of ``a`` with each entry within ``tol`` of a fraction ``p/q`` (``q <= max_den``)
    replaced by that fraction; ``tol`` scales with ``max(1, |entry|)`` when ``relative``."""
    a = np.asarray(a, dtype=float)
    out = a.copy()
    for idx, v in np.ndenumerate(a):
        fr = float(Fraction(float(v)).limit_denominator(max_den))
        if abs(fr - v) <= (tol * max(1.0, abs(v)) if relative else tol):
            out[idx] = fr
    return out
