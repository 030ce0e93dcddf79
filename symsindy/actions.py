"""The action of a symmetry on the terms of a feature library.

For a generator ``(A, b)`` and library ``Theta``, the Lie derivative of every term
along ``x' = A x + b`` is again a combination of terms when the library is closed:
``grad Theta(x) (A x + b) = D Theta(x)``.  For a discrete element ``R``:
``Theta(R x) = M Theta(x)``.  A model ``f = X Theta`` (``X`` = pysindy's ``coef_``)
is equivariant iff ``X D = A X`` and ``X M = R X``.

Three ways to get ``D`` and ``M``:

``polynomial``
    exact, from ``PolynomialLibrary.powers_``; linear generators preserve degree.
``symbolic``
    SymPy Jacobians of the terms (see :func:`symsindy.symbolic.library_terms`), expressed in
    the library by least squares at sample points, entries snapped to exact rationals.
``sampled``
    central differences of ``library.transform`` at sample points; for libraries whose terms
    cannot be written symbolically.

A library that is not closed under the action raises :class:`LibraryNotClosedError`
naming the terms that break closure and the residual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from .linalg import snap_rationals
from .symmetry import Symmetry

__all__ = ["InducedAction", "LibraryNotClosedError", "induced_action", "term_names"]


class LibraryNotClosedError(ValueError):
    """The library is not closed under the symmetry: no exact induced action exists."""


@dataclass
class InducedAction:
    """Matrices of a symmetry's action on library terms.

    Attributes
    ----------
    generators : list of (p, p) arrays
        ``D_k`` with ``grad Theta . (A_k x + b_k) = D_k Theta`` (rows: terms).
    elements : list of (p, p) arrays
        ``M_k`` with ``Theta(R_k x) = M_k Theta``.
    method : str
        ``"polynomial"``, ``"symbolic"`` or ``"sampled"``.
    accuracy : float
        Relative accuracy of the matrices (0 for exact ones).
    symmetry : Symmetry
    term_names : list of str
    """

    generators: list[np.ndarray]
    elements: list[np.ndarray]
    method: str
    accuracy: float
    symmetry: Symmetry
    term_names: list[str] = field(default_factory=list)

    @property
    def n_terms(self) -> int:
        return len(self.term_names)


def term_names(library, variables: Sequence[str]) -> list[str]:
    """Feature names of a fitted pysindy library for the given variable names."""
    return list(library.get_feature_names(list(variables)))


# ----------------------------------------------------------------------- polynomial, exact


def _polynomial_powers(library) -> np.ndarray | None:
    import pysindy as ps

    if type(library) is ps.PolynomialLibrary:
        return np.asarray(library.powers_, dtype=int)
    return None


def _poly_linear_action(powers: np.ndarray, A: np.ndarray, b: np.ndarray):
    """Exact D for monomials: x^a -> sum_ij a_i A_ij x^(a-e_i+e_j) + sum_i a_i b_i x^(a-e_i)."""
    p, n = powers.shape
    index = {tuple(r): k for k, r in enumerate(powers)}
    D = np.zeros((p, p))
    missing: dict[int, float] = {}
    nzA = [(i, j, A[i, j]) for i in range(n) for j in range(n) if A[i, j] != 0]
    nzb = [(i, b[i]) for i in range(n) if b[i] != 0]
    for k, alpha in enumerate(powers):
        for i, j, a in nzA:
            if alpha[i] == 0:
                continue
            beta = alpha.copy()
            beta[i] -= 1
            beta[j] += 1
            _add(D, missing, index, k, tuple(beta), alpha[i] * a)
        for i, bi in nzb:
            if alpha[i] == 0:
                continue
            beta = alpha.copy()
            beta[i] -= 1
            _add(D, missing, index, k, tuple(beta), alpha[i] * bi)
    return D, missing


def _add(D, missing, index, k, beta, value):
    col = index.get(beta)
    if col is None:
        missing[k] = missing.get(k, 0.0) + abs(value)
    else:
        D[k, col] += value


def _signed_permutation(R: np.ndarray):
    """(perm, signs) with (R x)_i = signs_i x_perm_i, or None if R is not a signed permutation."""
    nz = R != 0
    if not (np.all(nz.sum(axis=1) == 1) and np.all(nz.sum(axis=0) == 1) and np.all(np.abs(R[nz]) == 1)):
        return None
    perm = np.argmax(nz, axis=1)
    return perm, R[np.arange(len(R)), perm]


def _poly_substitution(powers: np.ndarray, R: np.ndarray):
    """Exact M with Theta(R x) = M Theta(x) for monomials, by expanding products of linear forms."""
    p, n = powers.shape
    index = {tuple(r): k for k, r in enumerate(powers)}
    sp = _signed_permutation(R)
    if sp is not None:
        # x^a -> prod_i (s_i x_perm(i))^a_i: one monomial, exponent moved to perm(i), sign prod s_i^a_i
        perm, signs = sp
        beta = np.zeros_like(powers)
        beta[:, perm] = powers
        sign = np.prod(np.where(signs < 0, (-1.0) ** powers, 1.0), axis=1)
        M = np.zeros((p, p))
        missing: dict[int, float] = {}
        for k in range(p):
            _add(M, missing, index, k, tuple(beta[k]), sign[k])
        return M, missing
    rows = []
    for i in range(n):
        rows.append({tuple(np.eye(n, dtype=int)[j]): R[i, j] for j in range(n) if R[i, j] != 0})
    cache: dict[tuple, dict] = {tuple([0] * n): {tuple([0] * n): 1.0}}

    def expand(alpha: tuple) -> dict:
        if alpha in cache:
            return cache[alpha]
        i = next(k for k, a in enumerate(alpha) if a > 0)
        rest = list(alpha)
        rest[i] -= 1
        base = expand(tuple(rest))
        out: dict = {}
        for mono, c in base.items():
            for lin, r in rows[i].items():
                key = tuple(m + l for m, l in zip(mono, lin))
                out[key] = out.get(key, 0.0) + c * r
        cache[alpha] = out
        return out

    M = np.zeros((p, p))
    missing: dict[int, float] = {}
    for k, alpha in enumerate(powers):
        for mono, c in expand(tuple(int(a) for a in alpha)).items():
            if c != 0:
                _add(M, missing, index, k, mono, c)
    return M, missing


# ----------------------------------------------------------------------- numerical paths


def _sample_points(x_samples, n, n_points, seed):
    rng = np.random.default_rng(seed)
    if x_samples is None:
        return rng.normal(size=(n_points, n))
    x_samples = np.asarray(x_samples, float)
    idx = rng.choice(len(x_samples), size=min(n_points, len(x_samples)), replace=False)
    pts = x_samples[idx]
    if len(pts) < n_points:
        # jitter around the data: the library's domain is where the data live
        extra = x_samples[rng.integers(0, len(x_samples), n_points - len(pts))]
        scale = np.std(x_samples, axis=0) + 1e-3
        pts = np.vstack([pts, extra + 0.1 * scale * rng.normal(size=extra.shape)])
    return pts


def _express(values: np.ndarray, theta: np.ndarray):
    """Least-squares T with values ~ theta @ T.T; returns (T, relative residual per row of T)."""
    sol, *_ = np.linalg.lstsq(theta, values, rcond=None)
    T = sol.T
    resid = values - theta @ sol
    norms = np.linalg.norm(values, axis=0)
    scale = np.maximum(norms, 1e-300)
    rel = np.where(norms > 1e-12 * max(1.0, np.max(norms, initial=0.0)), np.linalg.norm(resid, axis=0) / scale, 0.0)
    return T, rel


def _numeric_action(library, symmetry, x_samples, method, n_points, seed, closure_rtol):
    n = symmetry.n
    p = library.n_output_features_
    pts = _sample_points(x_samples, n, max(n_points, 4 * p), seed)
    transform = lambda z: np.asarray(library.transform(np.asarray(z, float)), float)
    if method == "symbolic":
        import sympy as sp

        from .symbolic import library_terms

        terms = library_terms(library, symmetry.variables)
        syms = sp.symbols(symmetry.variables)
        grads = [[sp.diff(tk, s) for s in syms] for tk in terms]
        f_terms = sp.lambdify(syms, terms, modules="numpy")
        f_grads = sp.lambdify(syms, grads, modules="numpy")
        cols = [np.broadcast_to(np.asarray(c, float), (len(pts),)) for c in f_terms(*pts.T)]
        theta = np.column_stack(cols)
        g = f_grads(*pts.T)
        grad = np.stack(
            [np.column_stack([np.broadcast_to(np.asarray(c, float), (len(pts),)) for c in row]) for row in g], axis=1
        )
        # grad: (m, p, n)

        def lie(A, b):
            v = pts @ A.T + b
            return np.einsum("mpn,mn->mp", grad, v)

        def subst(R):
            z = pts @ R.T
            return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(z),)) for c in f_terms(*z.T)])

        accuracy = 1e-12
    else:
        theta = transform(pts)
        h = 1e-5 * (np.std(pts, axis=0).mean() + 1.0)

        def lie(A, b):
            v = pts @ A.T + b
            return (transform(pts + h * v) - transform(pts - h * v)) / (2 * h)

        subst = lambda R: transform(pts @ R.T)
        accuracy = 1e-7
    names = term_names(library, symmetry.variables)
    gens, elems = [], []
    for kind, items in (("generator", symmetry.generators), ("element", symmetry.elements)):
        for item in items:
            values = lie(item.matrix, item.translation) if kind == "generator" else subst(item.matrix)
            T, rel = _express(values, theta)
            bad = np.flatnonzero(rel > closure_rtol)
            if bad.size:
                _raise_not_closed(item.label, [names[k] for k in bad], float(np.max(rel)), library)
            if method == "symbolic":
                T = snap_rationals(T, 64, 1e-9, relative=True)
            (gens if kind == "generator" else elems).append(T)
    return gens, elems, accuracy


def _raise_not_closed(label, bad_terms, residual, library):
    shown = ", ".join(bad_terms[:6]) + (f", ... ({len(bad_terms)} terms)" if len(bad_terms) > 6 else "")
    raise LibraryNotClosedError(
        f"symmetry {label!r}: the library {type(library).__name__} is not closed under it "
        f"(relative residual {residual:.2g}); terms that break closure: {shown}"
    )


def induced_action(
    library,
    symmetry: Symmetry,
    *,
    method: str = "auto",
    x_samples=None,
    n_points: int = 200,
    closure_rtol: float | None = None,
    random_state=0,
    seed=None,
) -> InducedAction:
    """Matrices of ``symmetry``'s action on the terms of a fitted pysindy ``library``.

    Parameters
    ----------
    library : fitted pysindy feature library
    symmetry : Symmetry
    method : {"auto", "polynomial", "symbolic", "sampled"}
        ``auto`` uses the exact polynomial action for ``PolynomialLibrary``, else symbolic
        terms when the library can be written in SymPy, else sampling.
    x_samples : (m, n) array, optional
        Points where numerical methods evaluate the library (default: standard normal draws).
    closure_rtol : float, optional
        Relative residual above which a term counts as breaking closure
        (default 1e-8 symbolic, 1e-4 sampled).
    random_state : int, SeedSequence, Generator or None, default 0
        Seeds the sample points (``seed``: its older, deprecated name).

    Raises
    ------
    LibraryNotClosedError
        When the action leaves the span of the library.
    """
    if library.n_features_in_ != symmetry.n:
        raise ValueError(
            f"library has {library.n_features_in_} input variables but the symmetry acts on {symmetry.n} "
            f"({', '.join(symmetry.variables)})"
        )
    names = term_names(library, symmetry.variables)
    if method not in ("auto", "polynomial", "symbolic", "sampled"):
        raise ValueError(f"method {method!r}: expected 'auto', 'polynomial', 'symbolic' or 'sampled'")
    powers = _polynomial_powers(library)
    if method == "polynomial" and powers is None:
        raise ValueError(f"method 'polynomial' needs a PolynomialLibrary, got {type(library).__name__}")
    if method in ("auto", "polynomial") and powers is not None:
        gens, elems = [], []
        for g in symmetry.generators:
            D, missing = _poly_linear_action(powers, g.matrix, g.translation)
            if missing:
                _raise_not_closed(g.label, [names[k] for k in sorted(missing)], 1.0, library)
            gens.append(D)
        for e in symmetry.elements:
            M, missing = _poly_substitution(powers, e.matrix)
            if missing:
                _raise_not_closed(e.label, [names[k] for k in sorted(missing)], 1.0, library)
            elems.append(M)
        return InducedAction(gens, elems, "polynomial", 0.0, symmetry, names)
    if method == "auto":
        try:
            from .symbolic import library_terms

            library_terms(library, symmetry.variables)
            method = "symbolic"
        except (TypeError, ImportError):
            method = "sampled"
    if closure_rtol is None:
        closure_rtol = 1e-8 if method == "symbolic" else 1e-4
    from .base import resolve_random_state

    random_state = resolve_random_state(random_state, seed, "induced_action")
    gens, elems, acc = _numeric_action(library, symmetry, x_samples, method, n_points, random_state, closure_rtol)
    return InducedAction(gens, elems, method, acc, symmetry, names)
