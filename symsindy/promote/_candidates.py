"""Candidate symmetries of a promoted model: keys, snapping near-symmetries to simple generators,
named specs, and what of a discovered algebra is enforced."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..linalg import rref
from ..symmetry import Symmetry


def _is_simple(a, max_den: int = 12) -> bool:
    return all(float(Fraction(float(v)).limit_denominator(max_den)) == v for v in np.ravel(a))


def _symmetry_key(sym: Symmetry) -> bytes:
    if not sym.generators:
        return b""
    return np.round(np.array([np.concatenate([g.matrix.ravel(), g.translation]) for g in sym.generators]), 8).tobytes()


def _algebra_key(sym: Symmetry) -> bytes:
    """The same bytes for symmetries with the same generators' span (and discrete elements)."""
    if sym.is_trivial:
        return b""
    parts = []
    if sym.generators:
        V = np.array([np.concatenate([g.matrix.ravel(), g.translation]) for g in sym.generators]).T
        U, sv, _ = np.linalg.svd(V, full_matrices=False)
        U = U[:, sv > 1e-10 * sv[0]]
        parts.append(np.round(U @ U.T, 8) + 0.0)
    for e in getattr(sym, "elements", ()):
        parts.append(np.round(np.asarray(getattr(e, "matrix", e), float), 8) + 0.0)
    return b"|".join(p.tobytes() for p in parts)


def _rref_snap(W: np.ndarray, zero: float, step: float) -> np.ndarray:
    """Rows spanning the row space of ``W`` in reduced row echelon form (pivots on the largest
    entries), each entry below ``zero`` (relative to its pivot, 1) set to 0 and the rest rounded to
    multiples of ``step``: a sparse, rational basis of a nearby subspace."""
    R = rref(W, 1e-12, full=True)
    S = np.round(R / step) * step
    S[np.abs(R) < zero] = 0.0
    return S + 0.0


#: near-symmetries of a promoted model turned into candidates: up to this many directions, while
#: their singular value is at most this fraction of the largest
SNAP_MAX_DIM, SNAP_MAX_RATIO = 3, 0.5
#: (zero below, rounding step) of the two snapping grids: integers, then halves
SNAP_GRIDS = ((0.5, 1.0), (0.25, 0.5))


def _snapped_candidates(setup, xt, names, affine: bool) -> list[Symmetry]:
    """Candidate symmetries read off the least-broken directions of a promoted model.

    With few data the penalty rarely makes a direction exactly symmetric, but the directions the
    model breaks least point to the symmetry (on Langford's system at 18 samples, the least-broken
    direction of gl(3) is within 0.93 cosine of the rotation about z).  For k = 1, 2, 3 the k
    least-broken directions (right singular vectors of the Lie-derivative matrix over the
    candidates, while the k-th singular value is at most half the largest) are put in reduced
    row echelon form and rounded to integers and to halves; each result is a candidate, named
    when the named generators span it.  Whether the data support it is decided by the
    leave-one-out comparison and the refit check, not here.
    """
    n = len(names)
    Z = np.einsum("kab,b->ak", setup.T, xt)
    q = Z.shape[1]
    if q < 2:
        return []
    _, sv, Vt = np.linalg.svd(Z, full_matrices=True)
    sv = np.concatenate([sv, np.zeros(q - len(sv))])
    if sv[0] <= 0:
        return []
    C = np.array([np.concatenate([A.ravel(), b]) for A, b in setup.cands])
    out = []
    for k in range(1, min(SNAP_MAX_DIM, q - 1) + 1):
        if sv[q - k] > SNAP_MAX_RATIO * sv[0]:
            break
        W = Vt[q - k :] @ C
        for zero, step in SNAP_GRIDS:
            S = _rref_snap(W, zero, step)
            gens = [(row[: n * n].reshape(n, n), row[n * n :]) for row in S if np.any(row)]
            if gens:
                out.append(_as_symmetry(names, gens, affine))
    return out


def _simple_generators(setup, names, affine: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rotations of two variables, scalings of one, of two and of all, and (affine) translations:
    those inside the candidate family's span."""
    import itertools

    n = len(names)
    gens = []
    for i, j in itertools.combinations(range(n), 2):
        A = np.zeros((n, n))
        A[i, j], A[j, i] = -1.0, 1.0
        gens.append((A, np.zeros(n)))
    for i in range(n):
        gens.append((np.diag(np.eye(n)[i]), np.zeros(n)))
    for i, j in itertools.combinations(range(n), 2):
        if n > 2:
            gens.append((np.diag(np.eye(n)[i] + np.eye(n)[j]), np.zeros(n)))
    gens.append((np.eye(n), np.zeros(n)))
    if affine:
        gens += [(np.zeros((n, n)), np.eye(n)[i]) for i in range(n)]
    C = np.array([np.concatenate([A.ravel(), b]) for A, b in setup.cands]).T
    Q, _ = np.linalg.qr(C)
    out = []
    for A, b in gens:
        v = np.concatenate([A.ravel(), b])
        if np.linalg.norm(v - Q @ (Q.T @ v)) <= 1e-9 * np.linalg.norm(v):
            out.append((A, b))
    return out


def _as_symmetry(names, gens, affine: bool) -> Symmetry:
    """The named specs when they span the generators exactly, else the generators themselves."""
    from ..discover import generator_specs

    B = np.column_stack([np.concatenate([A.ravel(), b]) for A, b in gens])
    try:
        specs, rest = generator_specs(B, names, affine=affine, tol=1e-8)
    except ValueError:
        specs, rest = [], [None]
    if specs and not rest:
        named = Symmetry(names, specs)
        if _algebra_key(named) == _algebra_key(Symmetry(names, generators=gens)):
            return named
    return Symmetry(names, generators=gens)


def _named_specs(sym: Symmetry) -> list[str]:
    """The named specs of a symmetry (unnamed generators left out: see :func:`_unnamed`)."""
    return [s for s in sym.specs if not s.startswith("generator")]


def _unnamed(sym: Symmetry) -> list[dict]:
    """The generators of a symmetry given as matrices, ``{"A": .., "b": ..}`` each."""
    k = sum(spec.startswith("generator") for spec in sym.specs)  # they come after the named ones
    gens = list(sym.generators)[len(sym.generators) - k :] if k else []
    return [{"A": g.matrix.tolist(), "b": g.translation.tolist()} for g in gens]


def _spec_is_exact(names, spec: str) -> bool:
    sym = Symmetry(names, spec)
    return all(_is_simple(g.matrix) and _is_simple(g.translation) for g in sym.generators)


def _enforceable(names, disc) -> tuple[Symmetry, Symmetry]:
    """``(symmetry, named part)`` to enforce for a discovered algebra.

    Named specs and unnamed generators whose entries are simple rationals (denominators up to
    12, as discovery snaps them); noisy ones, e.g. ``scaling(x=1,y=1,z=1.00127)`` or a generator
    that is the model's own linear part (every linear model commutes with itself), are
    artefacts of the noise and are reported but not enforced.
    """
    specs = [s for s in disc.specs if _spec_is_exact(names, s)]
    named = Symmetry(names, specs) if specs else Symmetry(names)
    clean = [(A, b) for A, b in disc.unnamed if _is_simple(A) and _is_simple(b)]
    sym = named + Symmetry(names, generators=clean) if clean else named
    return sym, named


def _describe(sym: Symmetry) -> str:
    if sym.is_trivial:
        return "nothing"
    named = [s for s in sym.specs if not s.startswith("generator")]
    k = len(sym.specs) - len(named)
    return "; ".join(named + ([f"{k} unnamed generator(s)"] if k else []))
