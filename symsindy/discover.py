"""Discovering the symmetries of a fitted model, and of data.

Continuous: for a fixed model ``X`` (pysindy's ``coef_``) the map ``A -> X D_A - A X``
is linear in ``A``.  Over a basis ``A_1..A_q`` of a candidate algebra (gl(n), so(n),
affine = gl(n) + translations) its near-null right singular vectors span the symmetry
algebra.  Discrete: signed permutations of the coordinates, ranked by the relative
residual ``|X M_R - R X| / (2 |X|)``.

The gap rule (documented in :func:`select_nullity`): with singular values relative to
the operator's scale and sorted ascending, the nullity is the largest ``d`` with
``s[d-1] <= max_null`` and a gap ``s[d] / s[d-1] >= min_gap``; none -> 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from collections.abc import Sequence

import numpy as np
import scipy.linalg as sla

from .actions import induced_action
from .differentiation import estimate_derivatives
from .linalg import rref, snap_rationals
from .symmetry import Symmetry

__all__ = [
    "candidate_generators",
    "lie_derivative_operator",
    "select_nullity",
    "ContinuousSymmetries",
    "DiscreteCandidate",
    "discover_continuous",
    "discover_discrete",
    "element_spec",
    "generator_specs",
    "generating_set",
    "data_weight",
    "SymmetryReport",
    "discover_symmetries",
    "fit_with_discovered_symmetry",
    "enforced_symmetry",
    "estimate_derivatives",
    "free_refit",
    "refit_check",
]

FAMILIES = ("gl", "so", "affine", "sl")


def candidate_generators(n: int, family: str = "gl") -> list[tuple[np.ndarray, np.ndarray]]:
    """Orthonormal basis ``[(A, b), ...]`` of the candidate algebra.

    ``gl``: the n^2 matrix units; ``so``: (E_ij - E_ji)/sqrt(2) for i < j;
    ``affine``: gl plus the n translations; ``sl``: the traceless matrices (gl without the
    uniform dilation): the off-diagonal units and an orthonormal basis of the traceless diagonals.
    """
    if family not in FAMILIES:
        raise ValueError(f"candidates {family!r}: expected one of {', '.join(FAMILIES)}")
    zero = np.zeros(n)
    out = []
    if family == "sl":
        for i in range(n):
            for j in range(n):
                if i != j:
                    A = np.zeros((n, n))
                    A[i, j] = 1.0
                    out.append((A, zero))
        if n > 1:
            D = np.zeros((n, n - 1))
            for k in range(n - 1):
                D[k, k], D[k + 1, k] = 1.0, -1.0
            Q, _ = np.linalg.qr(D)
            out += [(np.diag(q), zero) for q in Q.T]
        return out
    if family in ("gl", "affine"):
        for i in range(n):
            for j in range(n):
                A = np.zeros((n, n))
                A[i, j] = 1.0
                out.append((A, zero))
    else:
        for i in range(n):
            for j in range(i + 1, n):
                A = np.zeros((n, n))
                A[i, j], A[j, i] = -1 / np.sqrt(2), 1 / np.sqrt(2)
                out.append((A, zero))
    if family == "affine":
        for i in range(n):
            b = np.zeros(n)
            b[i] = 1.0
            out.append((np.zeros((n, n)), b))
    return out


def data_weight(library, x_samples) -> np.ndarray | None:
    """Square root ``S`` of the library Gram matrix on the data: ``|S v| = RMS of v·Theta(x_k)``.

    Weighting residuals by ``S`` measures them as differences of right-hand sides on the
    data, so a term's weight reflects its contribution rather than its raw coefficient.
    """
    if x_samples is None:
        return None
    return _gram_root(np.asarray(library.transform(np.asarray(x_samples, float)), float))


def _gram_root(theta: np.ndarray) -> np.ndarray:
    """Square root ``S`` of the Gram matrix ``theta^T theta / m`` of library rows ``theta``."""
    G = theta.T @ theta / max(len(theta), 1)
    w, V = np.linalg.eigh(G)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def _weighted(L: np.ndarray, S) -> np.ndarray:
    # L is (n, p); the weighted residual is S L^T, i.e. values on the data
    return L.T if S is None else S @ L.T


def lie_derivative_operator(coef, library, variables, candidates, *, x_samples=None, weight=None):
    """The matrix whose column k is ``vec(X D_k - A_k X)`` for candidate generator k, and a scale.

    ``candidates`` is a family name or a list of ``(A, b)`` pairs.  ``weight`` (from
    :func:`data_weight`) measures each column on the data.  The scale,
    ``max_k |X D_k| + |A_k X|``, is what the Lie derivative would be without cancellation;
    singular values divided by it are comparable across models and candidate sets.
    """
    X = np.asarray(coef, float)
    variables = list(variables)
    n = len(variables)
    if isinstance(candidates, str):
        candidates = candidate_generators(n, candidates)
    sym = Symmetry(variables, generators=[(A, b) for A, b in candidates if np.any(A) or np.any(b)])
    act = induced_action(library, sym, x_samples=x_samples)
    cols = []
    scale = 0.0
    k = 0
    for A, b in candidates:
        if not (np.any(A) or np.any(b)):
            cols.append(np.zeros(X.size))
            continue
        D = act.generators[k]
        k += 1
        XD, AX = _weighted(X @ D, weight), _weighted(A @ X, weight)
        cols.append((XD - AX).ravel())
        scale = max(scale, float(np.linalg.norm(XD) + np.linalg.norm(AX)))
    return np.column_stack(cols), scale


def select_nullity(s_rel: np.ndarray, *, max_null: float = 0.05, min_gap: float = 10.0) -> int:
    """Number of near-zero singular values by the gap rule.

    ``s_rel`` ascending, normalised by the operator's scale (see
    :func:`lie_derivative_operator`; a sentinel 1 follows the last).  The nullity is the
    largest ``d`` with ``s_rel[d-1] <= max_null`` and ``s_rel[d] / s_rel[d-1] >= min_gap``:
    every direction below a clear gap counts, so exactly zero ones do not hide nearly zero
    ones above them.  Exact zeros (below 1e-12) always count.
    """
    s = np.append(np.asarray(s_rel, float), 1.0)
    exact = int(np.sum(s <= 1e-12))
    best = exact
    for d in range(max(exact, 1), len(s)):
        if s[d - 1] > max_null:
            break
        if max(s[d], 1e-12) / max(s[d - 1], 1e-300) >= min_gap:
            best = d
    return best


@dataclass
class ContinuousSymmetries:
    """The discovered symmetry algebra of a model.

    Attributes
    ----------
    variables : list of str
    family : str or None
        Candidate family (None for user-given candidates).
    singular_values : (q,) array
        Singular values of the Lie-derivative operator, ascending, relative to its scale
        (``max_k |X D_k| + |A_k X|``, measured on the data when samples are given).
    nullity : int
        Dimension of the discovered algebra (gap rule).
    generators : list of (A, b)
        A basis of the discovered algebra (reduced row echelon form, rounded to simple
        rationals where that changes nothing beyond the tolerance).
    specs : list of str
        Recognised spec strings, e.g. ``["rotation(x,y)"]``.
    unnamed : list of (A, b)
        Basis elements of the algebra not covered by ``specs``.
    basis : (q_total, nullity) array
        The algebra as coefficient vectors over ``(vec A, b)``.
    """

    variables: list[str]
    family: str | None
    singular_values: np.ndarray
    nullity: int
    generators: list
    specs: list[str]
    unnamed: list
    basis: np.ndarray

    @property
    def gap(self) -> float:
        s = self.singular_values
        if self.nullity == 0 or self.nullity >= len(s):
            return float("nan")
        return float(s[self.nullity] / max(s[self.nullity - 1], 1e-300))

    def symmetry(self) -> Symmetry:
        """The discovered algebra as a :class:`Symmetry` (recognised specs plus unnamed generators)."""
        sym = Symmetry(self.variables, self.specs) if self.specs else Symmetry(self.variables)
        if self.unnamed:
            sym = sym + Symmetry(self.variables, generators=list(self.unnamed))
        return sym


def _to_vec(A, b):
    return np.concatenate([np.asarray(A, float).ravel(), np.asarray(b, float)])


def _from_vec(v, n):
    return v[: n * n].reshape(n, n), v[n * n :]


def _named_candidates(variables: Sequence[str], affine: bool):
    """(spec, vec) of simple named generators, simplest first."""
    n = len(variables)
    out = []
    if affine:
        for i, v in enumerate(variables):
            b = np.zeros(n)
            b[i] = 1
            out.append((f"translation({v})", _to_vec(np.zeros((n, n)), b)))
    pairs = list(itertools.combinations(range(n), 2))
    rot = {}
    for i, j in pairs:
        A = np.zeros((n, n))
        A[i, j], A[j, i] = -1, 1
        rot[(i, j)] = A
        out.append((f"rotation({variables[i]},{variables[j]})", _to_vec(A, np.zeros(n))))
    # simultaneous rotations of two planes (canonical pairs, two particles)
    for (i, j), (k, l) in itertools.combinations(pairs, 2):
        if len({i, j, k, l}) == 4:
            A = rot[(i, j)] + rot[(k, l)]
            out.append(
                (
                    f"rotation({variables[i]},{variables[j]})+rotation({variables[k]},{variables[l]})",
                    _to_vec(A, np.zeros(n)),
                )
            )
    return out


def _fmt_weight(w: float) -> str:
    fr = Fraction(w).limit_denominator(12)
    return str(fr) if abs(float(fr) - w) < 1e-9 else f"{w:.6g}"


def generator_specs(basis: np.ndarray, variables: Sequence[str], *, affine: bool, tol: float = 0.05):
    """Recognise spec strings for the algebra spanned by the columns of ``basis`` (over (vec A, b)).

    Returns ``(specs, unnamed)``: named generators inside the algebra (within principal
    angle ``tol``) and a basis of the rest as ``(A, b)`` pairs.
    """
    n = len(variables)
    if basis.shape[1] == 0:
        return [], []
    Qb, _ = np.linalg.qr(basis)
    chosen: list[np.ndarray] = []
    specs: list[str] = []
    for spec, v in _named_candidates(variables, affine):
        u = v / np.linalg.norm(v)
        if np.linalg.norm(u - Qb @ (Qb.T @ u)) > tol:
            continue
        if chosen:
            C = np.column_stack(chosen)
            if np.linalg.matrix_rank(np.column_stack([C, u]), tol=1e-6) <= C.shape[1]:
                continue
        chosen.append(u)
        specs.append(spec)
    specs = _merge_so3(specs, variables)
    # what the named generators leave over, in a readable form
    if chosen:
        C, _ = np.linalg.qr(np.column_stack(chosen))
        rest = Qb - C @ (C.T @ Qb)
        U, s, _ = np.linalg.svd(rest, full_matrices=False)
        rest = U[:, s > tol]
    else:
        rest = Qb
    unnamed = []
    if rest.shape[1]:
        R = rref(rest.T, 1e-8)
        for row in R:
            row = snap_rationals(row, 12, 1e-3)
            A, b = _from_vec(row, n)
            if not np.any(b) and np.count_nonzero(A - np.diag(np.diag(A))) == 0 and np.any(A):
                d = np.diag(A)
                scale = np.min(np.abs(d[d != 0]))
                d = d / scale
                args = ",".join(f"{variables[i]}={_fmt_weight(d[i])}" for i in range(n) if d[i] != 0)
                specs.append(f"scaling({args})")
            else:
                unnamed.append((A, b))
    return specs, unnamed


def _merge_so3(specs: list[str], variables) -> list[str]:
    """Three rotations of the same triple become rotation(a,b,c)."""
    single = [s for s in specs if s.startswith("rotation(") and "+" not in s]
    planes = {tuple(s[len("rotation(") : -1].split(",")): s for s in single}
    out = list(specs)
    for a, b, c in itertools.combinations(variables, 3):
        need = [(a, b), (a, c), (b, c)]
        # with four or more variables the triples share planes: merge each plane once
        if all(p in planes and planes[p] in out for p in need):
            for p in need:
                out.remove(planes[p])
            out.append(f"rotation({a},{b},{c})")
    return out


def discover_continuous(
    coef,
    library,
    variables: Sequence[str],
    candidates="gl",
    *,
    max_null: float = 0.05,
    min_gap: float = 10.0,
    nullity: int | None = None,
    x_samples=None,
    angle_tol: float = 0.05,
) -> ContinuousSymmetries:
    """Continuous symmetries of the model ``coef @ Theta(x)``.

    Parameters
    ----------
    coef : (n, p) array
        A fitted model (pysindy's ``coef_``).
    library : fitted pysindy library
    variables : list of str
    candidates : {"gl", "so", "affine"} or list of (A, b)
    max_null, min_gap : float
        The gap rule of :func:`select_nullity` (defaults 0.05 and 10).
    nullity : int, optional
        Override the gap rule.
    x_samples : (m, n) array, optional
        Data states: residuals are then measured as right-hand-side values on the data.
    angle_tol : float
        Tolerance for recognising named generators.
    """
    variables = list(variables)
    n = len(variables)
    family = candidates if isinstance(candidates, str) else None
    cands = (
        candidate_generators(n, candidates)
        if isinstance(candidates, str)
        else [(np.asarray(A, float), np.asarray(b, float)) for A, b in candidates]
    )
    if not cands:
        raise ValueError("candidates: expected at least one candidate generator")
    weight = data_weight(library, x_samples)
    L, smax = lie_derivative_operator(coef, library, variables, cands, x_samples=x_samples, weight=weight)
    _, s, Vt = sla.svd(L, full_matrices=True)
    q = len(cands)
    s_full = np.zeros(q)
    s_full[: len(s)] = s
    order = np.argsort(s_full)
    s_rel = s_full[order] / smax if smax > 0 else np.zeros(q)
    # right singular vectors in ascending order of singular value (missing ones are exact zeros)
    V = Vt.T
    V_sorted = V[:, order] if V.shape[1] == q else V
    d = select_nullity(s_rel, max_null=max_null, min_gap=min_gap) if nullity is None else int(nullity)
    if smax == 0:
        d = q
    coeffs = V_sorted[:, :d]  # coordinates over the candidate basis
    M = np.column_stack([_to_vec(A, b) for A, b in cands])
    basis = M @ coeffs
    gens = []
    if d:
        # entries at the level of the near-zero singular values are noise: no pivots there
        level = max(1e-8, 10.0 * float(s_rel[d - 1]))
        for row in rref(basis.T, level, relative=True, clean=True):
            A, b = _from_vec(snap_rationals(row, 12, 1e-3), n)
            gens.append((A, b))
    affine = any(np.any(b) for _, b in cands)
    specs, unnamed = generator_specs(basis, variables, affine=affine, tol=angle_tol)
    return ContinuousSymmetries(variables, family, s_rel, d, gens, specs, unnamed, basis)


# ----------------------------------------------------------------------------- discrete


@dataclass
class DiscreteCandidate:
    """A signed permutation with its relative equivariance residual."""

    matrix: np.ndarray
    spec: str
    residual: float


def _cycles(perm: Sequence[int]) -> list[list[int]]:
    seen, out = set(), []
    for s in range(len(perm)):
        if s in seen or perm[s] == s:
            continue
        cyc, k = [], s
        while k not in seen:
            seen.add(k)
            cyc.append(k)
            k = perm[k]
        out.append(cyc)
    return out


def element_spec(R: np.ndarray, variables: Sequence[str]) -> str:
    """Spec string of a signed permutation ``R`` (flip first, then permutations), checked by re-parsing."""
    n = len(variables)
    nz = np.argmax(R != 0, axis=0)  # column j -> row where x_j lands
    # R = P F: F flips x_j (sign of column j), P moves coordinate j to row nz[j]
    signs = R[nz, np.arange(n)]
    parts = []
    flipped = [variables[j] for j in range(n) if signs[j] < 0]
    if flipped:
        parts.append(f"flip({','.join(flipped)})")
    for cyc in _cycles(list(nz)):
        names = [variables[j] for j in cyc]
        parts.append(f"swap({names[0]},{names[1]})" if len(cyc) == 2 else f"cycle({','.join(names)})")
    spec = "+".join(parts)
    parsed = Symmetry(variables, spec).elements[0].matrix if spec else np.eye(n)
    if not np.array_equal(parsed, R):
        return "element(" + ";".join(",".join(f"{v:g}" for v in row) for row in R) + ")"
    return spec


def _signed_permutations(n: int, max_exhaustive: int):
    eye = np.eye(n)
    if n <= max_exhaustive:
        for perm in itertools.permutations(range(n)):
            P = eye[:, list(perm)]
            for signs in itertools.product((1.0, -1.0), repeat=n):
                yield P * np.array(signs)[None, :]
        return
    seen = set()
    perms = [list(range(n))]
    perms += [list(p) for p in _transpositions(n)]
    for k in range(1, n):
        perms.append([(i + k) % n for i in range(n)])
    sign_sets = list(itertools.product((1.0, -1.0), repeat=n)) if n <= 12 else [tuple([1.0] * n), tuple([-1.0] * n)]
    for perm in perms:
        P = eye[:, perm]
        for signs in sign_sets if perm == list(range(n)) else [tuple([1.0] * n), tuple([-1.0] * n)]:
            R = P * np.array(signs)[None, :]
            key = R.tobytes()
            if key not in seen:
                seen.add(key)
                yield R


def _transpositions(n):
    for i, j in itertools.combinations(range(n), 2):
        p = list(range(n))
        p[i], p[j] = j, i
        yield p


def discover_discrete(
    coef,
    library,
    variables: Sequence[str],
    *,
    tol: float = 0.05,
    max_exhaustive: int = 5,
    x_samples=None,
) -> list[DiscreteCandidate]:
    """Signed permutations ranked by a relative equivariance residual.

    With ``x_samples``: ``|S (X M_R - R X)^T|_F / (2 |S X^T|_F)``, ``S`` the data weight of
    :func:`data_weight`, i.e. right-hand sides compared on the data.  Without data the
    model's coefficients alone decide: the largest entrywise relative difference
    ``|X M_R - R X|_ij / max(|X M_R|_ij, |R X|_ij)`` (an orbit of terms must carry equal
    coefficients, whatever their size).

    Exhaustive over all ``2^n n!`` signed permutations for ``n <= max_exhaustive``; above
    that, all sign patterns (n <= 12; else only the global flip), all transpositions and
    all cyclic shifts, each also with the global sign flip.  Returns the candidates with
    residual ``<= tol`` (identity excluded), smallest residual first.
    """
    X = np.asarray(coef, float)
    variables = list(variables)
    n = len(variables)
    weight = data_weight(library, x_samples)
    nx = np.linalg.norm(_weighted(X, weight))
    out = []
    eye = np.eye(n)
    for R in _signed_permutations(n, max_exhaustive):
        if np.array_equal(R, eye):
            continue
        act = induced_action(library, Symmetry(variables, elements=[R]), x_samples=x_samples)
        M = act.elements[0]
        if nx == 0:
            res = 0.0
        elif weight is not None:
            res = float(np.linalg.norm(_weighted(X @ M - R @ X, weight)) / (2 * nx))
        else:
            XM, RX = X @ M, R @ X
            den = np.maximum(np.abs(XM), np.abs(RX))
            nz = den > 1e-12 * np.abs(X).max()
            res = float(np.max(np.abs(XM - RX)[nz] / den[nz], initial=0.0))
        if res <= tol:
            out.append(DiscreteCandidate(R, element_spec(R, variables), res))
    out.sort(key=lambda c: (c.residual, c.spec))
    return out


def _group_closure(gens: list[np.ndarray], n: int, max_order: int) -> dict:
    def key(R):
        return (np.round(R, 9) + 0.0).tobytes()  # + 0.0 folds -0.0 into 0.0

    group = {key(np.eye(n)): np.eye(n)}
    frontier = [np.eye(n)]
    while frontier and len(group) < max_order:
        new = []
        for g in frontier:
            for h in gens:
                gh = h @ g
                k = key(gh)
                if k not in group:
                    group[k] = gh
                    new.append(gh)
        frontier = new
    return group


def generating_set(elements: list[DiscreteCandidate], max_order: int = 4096, base=()) -> list[DiscreteCandidate]:
    """A small generating set of the group the candidates generate, simplest specs first.

    Elements are added while they are outside the group generated so far; then any
    element generated by the others is dropped.  ``base``: matrices the group is known to
    hold already (the quarter turns of a discovered rotation); candidates they generate are
    not added.
    """
    if not elements:
        return []
    n = len(elements[0].matrix)
    base = [np.asarray(b, float) for b in base]
    key = lambda R: (np.round(R, 9) + 0.0).tobytes()
    chosen: list[DiscreteCandidate] = []
    group = _group_closure(base, n, max_order)
    for c in sorted(elements, key=lambda c: (len(c.spec), c.residual)):
        if key(c.matrix) not in group:
            chosen.append(c)
            group = _group_closure(base + [e.matrix for e in chosen], n, max_order)
    for c in list(chosen):
        others = base + [e.matrix for e in chosen if e is not c]
        if others and key(c.matrix) in _group_closure(others, n, max_order):
            chosen = [e for e in chosen if e is not c]
    return chosen


# ----------------------------------------------------------------------------- from data


def _principal_angle(B1: np.ndarray, B2: np.ndarray) -> float:
    if B1.shape[1] == 0 and B2.shape[1] == 0:
        return 0.0
    if B1.shape[1] != B2.shape[1]:
        return float(np.pi / 2)
    return float(np.max(sla.subspace_angles(B1, B2)))


@dataclass
class SymmetryReport:
    """Symmetries discovered from data, with the evidence.

    Attributes
    ----------
    variables : list of str
    continuous : ContinuousSymmetries
        From the model fitted to all the data.
    discrete : list of DiscreteCandidate
        Signed permutations that pass, smallest residual first.
    discrete_generators : list of DiscreteCandidate
        A small generating set of the group they generate.
    model : SymmetricSINDy
        The unconstrained model that was analysed.
    n_bootstrap : int
    nullity_agreement : float
        Fraction of bootstrap refits whose algebra has the same dimension.
    angle_median, angle_max : float
        Largest principal angle (radians) between each bootstrap algebra of that dimension
        and the full-data one: median and maximum over the refits.
    spec_frequency : dict
        Fraction of bootstrap refits in which each reported spec is found.
    refit_cost : dict
        For each candidate spec (and unnamed generator label): the relative growth of the
        residual sum of squares when it is enforced, ``RSS_sym / RSS_free - 1``.
    rejected : list of str
        Candidates whose refit cost exceeded the tolerance: the data break them.
    condition_number : float
        Of the library on the data, columns normalised: large means the data do not pin
        the model down.
    warnings : list of str
        Reasons to distrust the answer.
    """

    variables: list[str]
    continuous: ContinuousSymmetries
    discrete: list[DiscreteCandidate]
    discrete_generators: list[DiscreteCandidate]
    model: object
    n_bootstrap: int = 0
    nullity_agreement: float = float("nan")
    angle_median: float = float("nan")
    angle_max: float = float("nan")
    spec_frequency: dict = field(default_factory=dict)
    refit_cost: dict = field(default_factory=dict)
    rejected: list = field(default_factory=list)
    condition_number: float = float("nan")
    warnings: list = field(default_factory=list)

    @property
    def specs(self) -> list[str]:
        """Spec strings of everything found and not rejected: continuous specs, then discrete generators."""
        found = list(self.continuous.specs) + [c.spec for c in self.discrete_generators]
        return [s for s in found if s not in self.rejected]

    @property
    def uncertain(self) -> list[str]:
        """Specs found in fewer than half of the bootstrap refits (none without a bootstrap):
        the data support them weakly, and ``fit_with_discovered_symmetry`` does not enforce them
        at its default ``min_frequency``."""
        if not self.n_bootstrap:
            return []
        return [s for s in self.specs if self.spec_frequency.get(s, 0.0) < 0.5]

    @property
    def unnamed(self) -> list:
        """Unnamed continuous generators that were not rejected."""
        return [g for k, g in enumerate(self.continuous.unnamed) if f"generator[{k}]" not in self.rejected]

    def symmetry(self) -> Symmetry:
        """Everything found as one :class:`Symmetry` (unnamed generators included as matrices)."""
        sym = Symmetry(self.variables, self.specs) if self.specs else Symmetry(self.variables)
        if self.unnamed:
            sym = sym + Symmetry(self.variables, generators=list(self.unnamed))
        return sym

    def to_dict(self) -> dict:
        """JSON-ready: ``variables``, ``continuous``, ``translations``, ``discrete``,
        ``singular_values``, ``specs`` and the evidence."""
        cont, trans, cont_b = [], [], []
        for A, b in self.continuous.generators:
            if np.any(A):
                cont.append(A.tolist())
                cont_b.append(b.tolist())
            else:
                trans.append(b.tolist())
        return {
            "variables": list(self.variables),
            "continuous": cont,
            "continuous_translations": cont_b,
            "translations": trans,
            "discrete": [c.matrix.tolist() for c in self.discrete_generators],
            "discrete_specs": [c.spec for c in self.discrete_generators],
            "discrete_candidates": [{"spec": c.spec, "residual": c.residual} for c in self.discrete],
            "singular_values": self.continuous.singular_values.tolist(),
            "nullity": self.continuous.nullity,
            "gap": None if np.isnan(self.continuous.gap) else self.continuous.gap,
            "candidates": self.continuous.family,
            "specs": self.specs,
            "uncertain": self.uncertain,
            "rejected": list(self.rejected),
            "condition_number": None if np.isnan(self.condition_number) else self.condition_number,
            "warnings": list(self.warnings),
            "refit_cost": dict(self.refit_cost),
            "bootstrap": {
                "n": self.n_bootstrap,
                "nullity_agreement": None if np.isnan(self.nullity_agreement) else self.nullity_agreement,
                "angle_median": None if np.isnan(self.angle_median) else self.angle_median,
                "angle_max": None if np.isnan(self.angle_max) else self.angle_max,
                "spec_frequency": dict(self.spec_frequency),
            },
        }

    def summary(self) -> str:
        """A readable report."""
        c = self.continuous
        lines = []
        sv = ", ".join(f"{v:.2e}" for v in c.singular_values[: min(len(c.singular_values), c.nullity + 3)])
        fam = c.family or "given"
        lines.append(f"continuous ({fam} candidates): dimension {c.nullity}; smallest singular values {sv}")
        if c.nullity:
            lines.append(f"  gap (first nonzero / last zero): {c.gap:.3g}")

        def verdict(label):
            cost = self.refit_cost.get(label)
            out = "" if cost is None else f"   refit cost {cost:.2g}"
            freq = self.spec_frequency.get(label)
            if freq is not None:
                out += f"   (in {freq:.0%} of bootstrap refits)"
            if label in self.rejected:
                out += "   REJECTED: enforcing it worsens the fit; the data break this symmetry"
            return out

        for spec in c.specs:
            lines.append(f"  {spec}{verdict(spec)}")
        for k, (A, b) in enumerate(c.unnamed):
            lines.append(
                f"  generator[{k}] A={np.round(A, 3).tolist()} b={np.round(b, 3).tolist()}{verdict(f'generator[{k}]')}"
            )
        lines.append(f"discrete: {len(self.discrete)} signed permutation(s) pass")
        for e in self.discrete_generators:
            lines.append(f"  {e.spec}   residual {e.residual:.2e}{verdict(e.spec)}")
        if self.n_bootstrap:
            lines.append(
                f"bootstrap: {self.n_bootstrap} refits; same dimension in {self.nullity_agreement:.0%}; "
                f"principal angle median {self.angle_median:.2g} rad, max {self.angle_max:.2g} rad"
            )
        for w in self.warnings:
            lines.append(f"warning: {w}")
        weak = self.uncertain
        sure = [s for s in self.specs if s not in weak]
        if weak and not sure:
            lines.append("found: no symmetry the bootstrap supports")
        else:
            lines.append("found: " + ("; ".join(sure) if sure else "no symmetry"))
        if weak:
            lines.append(
                "uncertain (in fewer than half of the bootstrap refits): "
                + "; ".join(f"{s} ({self.spec_frequency.get(s, 0.0):.0%})" for s in weak)
            )
        return "\n".join(lines)


def _in_continuous_group(R: np.ndarray, cont: ContinuousSymmetries, tol: float = 0.05) -> bool:
    """Whether ``R = exp(A)`` for some ``A`` in the discovered algebra (principal logarithm).

    ``tol`` is the relative distance of ``log R`` from the algebra, as for recognising
    named generators: a fitted model's algebra is only close to the exact one.
    """
    if cont.nullity == 0:
        return False
    n = len(R)
    # one-parameter subgroups of the recognised (exact) generators: rotations by any angle,
    # including the half turn whose matrix logarithm is not real
    for spec in cont.specs:
        for g in Symmetry(cont.variables, spec).generators:
            if g.is_affine or not np.allclose(g.matrix, -g.matrix.T):
                continue
            for angle in np.linspace(0.0, 2 * np.pi, 73):
                if np.allclose(sla.expm(angle * g.matrix), R, atol=1e-9):
                    return True
    with np.errstate(all="ignore"):
        L = sla.logm(R)
    if not np.all(np.isfinite(L)) or np.max(np.abs(np.imag(L))) > 1e-9:
        return False
    v = _to_vec(np.real(L), np.zeros(n))
    if np.linalg.norm(v) == 0:
        return True
    Q, _ = np.linalg.qr(cont.basis)
    return bool(np.linalg.norm(v - Q @ (Q.T @ v)) <= tol * np.linalg.norm(v))


def _rss(model, theta, target) -> float:
    return float(np.sum((target - theta @ model.coef_.T) ** 2))


def _fit_rows(kw: dict, sym, theta, target, library, names, x_samples=None):
    """A :class:`~symsindy.model.SymmetricSINDy` fitted to given regression rows (``theta`` the
    library on the data, or the weak form's test-function integrals; ``target`` the derivatives
    or their weak counterparts)."""
    from .model import SymmetricSINDy

    est = SymmetricSINDy(symmetry=sym, **{k: v for k, v in kw.items() if k in _FIT_KEYS})
    sym = est._resolve_symmetry(names)
    sym, action, subspace = est._subspace(library, sym, x_samples)
    return est._fit_rows(theta, target, library, names, sym, action, subspace)


_FIT_KEYS = ("library", "threshold", "alpha", "differentiation", "formulation", "weak", "criterion")


def free_refit(kw: dict, theta, target, library, names):
    """The unconstrained full-library least-squares fit the refit check compares against, and its RSS."""
    free = _fit_rows({**kw, "threshold": 0.0}, None, theta, target, library, names)
    return free, _rss(free, theta, target)


def refit_check(kw: dict, sym, theta, target, library, names, x_samples=None, tol: float = 0.1, free=None) -> dict:
    """The data's verdict on a symmetry: refit the full library with it enforced.

    Full-library least squares on both sides (no thresholding: a sparse free model may already
    have dropped the very term that breaks the symmetry).  ``cost`` is the relative growth of
    the residual sum of squares, measured against at least 1e-6 of ``|target|^2`` (below a
    residual of 0.1 % RMS the fit is as good as the differentiation allows); it is allowed to
    reach ``tol`` plus what chance alone adds when ``q`` coefficients are tied or removed, the
    99 % point of the nested least-squares F statistic, ``q F_0.99(q, dof) / dof``.

    Returns a dict: ``cost``, ``allowed``, ``passed``, ``q`` (coefficients the symmetry ties or
    removes), ``dof`` (residual degrees of freedom of the free fit) and ``testable``: False when
    the free fit has no residual degrees of freedom (as many coefficients as equations, or
    more), where a growth of the residual says nothing.  ``free``: ``(model, rss)`` from
    :func:`free_refit`, to reuse over several symmetries, or the least-squares fit inside a
    larger symmetric subspace that contains ``sym``'s (the nested test then asks whether the
    additional symmetry costs fit).
    """
    from scipy.stats import f as f_dist

    free_model, rss_free = free_refit(kw, theta, target, library, names) if free is None else free
    floor = 1e-6 * float(np.sum(target**2))
    k_free = int(free_model.subspace_.dim)
    dof = int(target.size - k_free)
    allowed, q = float(tol), 0
    try:
        enforced = _fit_rows({**kw, "threshold": 0.0}, sym, theta, target, library, names, x_samples)
        cost = (_rss(enforced, theta, target) - rss_free) / max(rss_free, floor)
        q = k_free - enforced.subspace_.dim
        if q > 0 and dof > 0:
            allowed += q * float(f_dist.ppf(0.99, q, dof)) / dof
    except ValueError:
        cost = float("inf")
    cost = float(max(cost, 0.0))
    return {
        "cost": cost,
        "allowed": float(allowed),
        "passed": bool(cost <= allowed),
        "q": int(q),
        "dof": dof,
        "testable": dof > 0,
    }


def _verify_by_refit(
    report: SymmetryReport, kw: dict, theta: np.ndarray, target: np.ndarray, library, x_samples, tol: float
) -> None:
    names = report.variables
    free = free_refit(kw, theta, target, library, names)
    candidates = [(spec, Symmetry(names, spec)) for spec in report.continuous.specs]
    candidates += [
        (f"generator[{k}]", Symmetry(names, generators=[g])) for k, g in enumerate(report.continuous.unnamed)
    ]
    candidates += [(e.spec, Symmetry(names, elements=[e.matrix])) for e in report.discrete_generators]
    for label, sym in candidates:
        check = refit_check(kw, sym, theta, target, library, names, x_samples, tol, free=free)
        report.refit_cost[label] = check["cost"]
        if not check["passed"]:
            report.rejected.append(label)


def discover_symmetries(
    x,
    t=None,
    x_dot=None,
    feature_names=None,
    *,
    library=None,
    threshold="auto",
    alpha: float = 0.0,
    formulation: str = "auto",
    weak=None,
    candidates="gl",
    discrete: bool = True,
    n_bootstrap: int = 20,
    random_state=0,
    max_null: float = 0.05,
    min_gap: float = 10.0,
    discrete_tol: float = 0.05,
    max_exhaustive: int = 5,
    differentiation=None,
    refit_tol: float = 0.1,
    max_condition: float = 1e4,
    seed=None,
) -> SymmetryReport:
    """Discover continuous and discrete symmetries from trajectories.

    Fits an unconstrained sparse model, analyses it (:func:`discover_continuous`,
    :func:`discover_discrete`, residuals measured on the data), and refits on
    ``n_bootstrap`` bootstrap resamples of the samples to say how sure the answer is.

    Every candidate is then checked against the data: the full-library least-squares fit
    is repeated with it enforced, and it is rejected when the residual sum of squares grows by more than
    ``refit_tol`` (default 0.1, i.e. 10%) plus what chance alone gives when ``q`` coefficients are
    tied (``q F_0.99(q, dof) / dof``, the nested least-squares F statistic's 99% point, which fades as
    the data grow): a symmetry the data break costs fit.  A
    library whose normalised columns have condition number above ``max_condition`` on the
    data (default 1e4) adds a warning: such data cannot tell models apart.

    Parameters mirror :class:`~symsindy.model.SymmetricSINDy` (``library``, ``threshold``,
    ``alpha``, ``formulation``, ``weak``, ``differentiation``) and the gap rule (``max_null``,
    ``min_gap``).  In the weak formulation the refits and the bootstrap work on the
    test-function rows, as the strong form's work on the samples.  ``random_state`` seeds the
    bootstrap (``seed`` is its older, deprecated name).
    """
    from .base import resolve_random_state
    from .model import SymmetricSINDy

    random_state = resolve_random_state(random_state, seed, "discover_symmetries")

    kw = dict(
        library=library,
        threshold=threshold,
        alpha=alpha,
        differentiation=differentiation,
        formulation=formulation,
        weak=weak,
    )
    model = SymmetricSINDy(**kw)
    xs, ts, dxs, names, sym = model._validate(x, t, x_dot, feature_names)
    # differentiate (or integrate) once: the plain fit, the analysis and every refit use these rows
    rows = model._fit_data(xs, ts, dxs, names, sym)
    lib, theta, target, X_all = model.library_, rows.theta, rows.target, rows.states
    if not np.any(model.coef_):
        raise ValueError(
            f"the unconstrained fit (threshold {model.threshold_:.3g}) is the zero model, which every transformation "
            "leaves unchanged: lower the threshold or check the data"
        )
    cont = discover_continuous(model.coef_, lib, names, candidates, max_null=max_null, min_gap=min_gap, x_samples=X_all)
    disc = (
        discover_discrete(model.coef_, lib, names, tol=discrete_tol, max_exhaustive=max_exhaustive, x_samples=X_all)
        if discrete
        else []
    )
    # an element of the continuous group (a rotation by 90 degrees when rotations are found)
    # adds nothing: keep only elements outside it
    disc = [c for c in disc if not _in_continuous_group(c.matrix, cont)]
    gens = generating_set(disc)
    report = SymmetryReport(names, cont, disc, gens, model, n_bootstrap=int(n_bootstrap))
    report.condition_number = model.conditioning_["condition_number"]  # of the plain fit's rows
    if report.condition_number > max_condition:
        report.warnings.append(
            f"the library is nearly collinear on the data (condition number {report.condition_number:.2g}): "
            "the data do not pin the model down and symmetries found may be artefacts; data from more "
            "varied initial states help"
        )
    _verify_by_refit(report, kw, theta, target, lib, X_all, refit_tol)
    if n_bootstrap <= 0:
        return report
    rng = np.random.default_rng(random_state)
    same, angles = 0, []
    counts = {s: 0 for s in report.specs}
    m_total = len(theta)
    # the refits keep the plain fit's threshold: the bootstrap measures how the model varies at
    # that setting (and an automatic threshold per refit would cost a whole path each)
    boot_kw = {**kw, "threshold": float(model.threshold_)}
    for _ in range(n_bootstrap):
        idx = rng.integers(0, m_total, m_total)
        try:
            bm = _fit_rows(boot_kw, None, theta[idx], target[idx], lib, names)
        except ValueError:
            continue
        bc = discover_continuous(bm.coef_, lib, names, candidates, max_null=max_null, min_gap=min_gap, x_samples=X_all)
        if bc.nullity == cont.nullity:
            same += 1
            angles.append(_principal_angle(bc.basis, cont.basis))
        for spec in bc.specs:
            if spec in counts:
                counts[spec] += 1
        if discrete and gens:
            bd = discover_discrete(
                bm.coef_, lib, names, tol=discrete_tol, max_exhaustive=max_exhaustive, x_samples=X_all
            )
            found = {c.spec for c in bd}
            for g in gens:
                if g.spec in found and g.spec in counts:  # rejected generators are not counted
                    counts[g.spec] += 1
    report.nullity_agreement = same / n_bootstrap
    if angles:
        report.angle_median = float(np.median(angles))
        report.angle_max = float(np.max(angles))
    report.spec_frequency = {s: c / n_bootstrap for s, c in counts.items()}
    return report


def enforced_symmetry(report: SymmetryReport, min_frequency: float = 0.5) -> tuple[Symmetry, list[str]]:
    """What to enforce from a discovery: the specs found (and not rejected) in at least
    ``min_frequency`` of the bootstrap refits, and the unnamed generators when the bootstrap
    agrees on the algebra's dimension as often (everything found without a bootstrap).

    Returns ``(symmetry, enforced_specs)``; the trivial symmetry when nothing qualifies.
    """
    if not (isinstance(min_frequency, (int, float)) and 0 <= min_frequency <= 1) or isinstance(min_frequency, bool):
        raise ValueError(f"min_frequency {min_frequency!r}: expected a number from 0 to 1")
    boot = report.n_bootstrap > 0
    enforced = [s for s in report.specs if not boot or report.spec_frequency.get(s, 0.0) >= min_frequency]
    names = report.variables
    sym = Symmetry(names, enforced) if enforced else Symmetry(names)
    if report.unnamed and (not boot or report.nullity_agreement >= min_frequency):
        sym = sym + Symmetry(names, generators=list(report.unnamed))
    return sym, enforced


def fit_with_discovered_symmetry(x, t=None, x_dot=None, feature_names=None, *, min_frequency: float = 0.5, **kwargs):
    """Discover symmetries, enforce what was found, refit: ``SymmetricSINDy(symmetry="auto")``.

    Keyword arguments of :class:`~symsindy.model.SymmetricSINDy` configure the fits (and the
    discovery's plain fit); the others go to :func:`discover_symmetries`.  Specs found in fewer
    than ``min_frequency`` of the bootstrap refits are not enforced (:func:`enforced_symmetry`).
    Returns ``(model, report, enforced_specs)``; ``model`` is the fitted
    :class:`~symsindy.model.SymmetricSINDy` (plain when nothing was found), ``report`` its
    ``discovery_``.
    """
    from .base import resolve_random_state
    from .model import SymmetricSINDy

    if "seed" in kwargs:
        kwargs["random_state"] = resolve_random_state(
            kwargs.pop("random_state", 0), kwargs.pop("seed"), "fit_with_discovered_symmetry"
        )
    names = set(SymmetricSINDy._get_param_names()) - {"symmetry", "discovery"}
    fit_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    model = SymmetricSINDy(symmetry="auto", discovery={**kwargs, "min_frequency": min_frequency}, **fit_kw)
    model.fit(x, t=t, x_dot=x_dot, feature_names=feature_names)
    return model, model.discovery_, list(model.enforced_specs_)
