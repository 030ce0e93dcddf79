"""The action of a symmetry on the terms of a PDE library, exact.

A symmetry of ``u_t = F(u, u_x, u_xx, ...)`` acts on the field as ``u~(x, t) = C u(P^-1 x, t)``:
``C`` on the components, ``P`` on the domain.  On the jet (the components and their spatial
derivatives at a point) it is linear: ``u~_a = sign(a) C u_pi(a)`` for a signed permutation
``P`` of the axes (``flip(x)``: a derivative of order k in x picks up ``(-1)**k``), and the
equation is equivariant when ``F(T j) = C F(j)``.  Every term of the library is a monomial in
the jet, so its matrix is that of a linear substitution in a polynomial library, computed
exactly as for ODEs (:mod:`symsindy.actions`); the equivariant subspace and the constrained
fit then apply unchanged.

Specs use the grammar of :mod:`symsindy.symmetry` over the component and axis names together:
``flip(x)``, ``flip(x)+flip(u)``, ``swap(u,v)``, ``rotation(u,v)``, ``swap(x,y)``,
``translation(x)`` (trivial for a library without explicit x).  A rotation of the domain is not
handled yet and is refused in one line.
"""

from __future__ import annotations

import numpy as np
import sympy

from ..actions import InducedAction, LibraryNotClosedError, _poly_linear_action, _poly_substitution
from ..symmetry import Symmetry
from ._library import derivative_symbol, pde_terms

__all__ = ["pde_action", "jet_variables"]


def jet_variables(library, components, axes) -> tuple[list[sympy.Symbol], np.ndarray]:
    """The jet's symbols (the components, then each derivative of each component, in the
    library's order) and their multi-indices (zeros for the components)."""
    multi = np.atleast_2d(np.asarray(library.multiindices, int))
    symbols = [sympy.Symbol(c) for c in components]
    index = [np.zeros(len(axes), int) for _ in components]
    for m in multi:
        for c in components:
            symbols.append(derivative_symbol(c, m, axes))
            index.append(np.asarray(m, int))
    return symbols, np.array(index)


def _powers(terms, symbols) -> np.ndarray:
    out = np.zeros((len(terms), len(symbols)), int)
    for k, term in enumerate(terms):
        if term == 1:
            continue
        monoms = sympy.Poly(term, *symbols).monoms()
        if len(monoms) != 1:
            raise ValueError(f"term {term}: not a monomial in the jet")
        out[k] = monoms[0]
    return out


def _split(matrix, nc, where):
    """The component block and the axis block of a matrix on (components, axes)."""
    C, S = matrix[:nc, :nc], matrix[nc:, nc:]
    if np.any(matrix[:nc, nc:]) or np.any(matrix[nc:, :nc]):
        raise ValueError(f"symmetry {where!r}: mixes components with axes; only separate actions are supported")
    return C, S


def _signed_axis_permutation(S, where):
    nz = S != 0
    if not (np.all(nz.sum(axis=1) == 1) and np.all(nz.sum(axis=0) == 1) and np.all(np.abs(S[nz]) == 1)):
        raise ValueError(
            f"symmetry {where!r}: acts on the domain by a map other than a signed permutation of the axes "
            "(a rotation of the domain is not supported yet)"
        )
    return np.argmax(nz, axis=1), S[np.arange(len(S)), np.argmax(nz, axis=1)]


def _jet_matrix(C, S, index, nc, where) -> np.ndarray:
    """``T`` with ``j~ = T j``: each derivative ``u_a`` goes to ``sign C u_b``, ``x -> S x``."""
    perm, signs = _signed_axis_permutation(S, where)
    # x~ = S x, so d/dx~_i = sum_j (S^-T)_ij d/dx_j = signs_i d/dx_perm(i) (S^-T = S for a signed permutation)
    key = {tuple(m): k for k, m in enumerate(index[::nc])}  # multi-index -> its block of nc jet variables
    n_jet = len(index)
    T = np.zeros((n_jet, n_jet))
    blocks = n_jet // nc
    for b in range(blocks):
        a = index[b * nc]
        image = np.zeros_like(a)
        image[perm] = a
        sign = float(np.prod(np.where(signs < 0, (-1.0) ** a, 1.0)))
        target = key.get(tuple(image))
        if target is None:
            raise LibraryNotClosedError(f"symmetry {where!r}: derivative {tuple(a)} maps outside the library")
        T[b * nc : (b + 1) * nc, target * nc : (target + 1) * nc] = sign * C
    return T


def pde_action(library, components, axes, specs) -> InducedAction:
    """The exact action of ``specs`` on a fitted ``PDELibrary``'s terms (see the module docstring).

    Returns an :class:`~symsindy.actions.InducedAction` whose ``symmetry`` acts on the
    components (the output ``u_t``), so that :func:`symsindy.constraints.equivariant_subspace`
    gives the equivariant models.
    """
    components, axes = list(components), list(axes)
    nc = len(components)
    full = Symmetry(components + axes, specs)
    symbols, index = jet_variables(library, components, axes)
    terms = pde_terms(library, components, axes)
    powers = _powers(terms, symbols)
    gens, elems, out_gens, out_elems = [], [], [], []
    for g in full.generators:
        where = g.label or "generator"
        if np.any(g.translation[:nc]):
            raise ValueError(f"symmetry {where!r}: translates a component; not supported")
        C, S = _split(g.matrix, nc, where)
        if np.any(S):
            raise ValueError(f"symmetry {where!r}: a continuous map of the domain is not supported yet")
        if not np.any(C):  # a translation of the domain: trivial for a library without explicit x
            continue
        A_jet = np.kron(np.eye(len(index) // nc), C)
        D, missing = _poly_linear_action(powers, A_jet, np.zeros(len(index)))
        if missing:
            raise LibraryNotClosedError(f"symmetry {where!r}: terms {sorted(missing)} leave the library")
        gens.append(D)
        out_gens.append(C)
    for e in full.elements:
        where = e.label or "element"
        C, S = _split(e.matrix, nc, where)
        T = _jet_matrix(C, S, index, nc, where)
        M, missing = _poly_substitution(powers, T)
        if missing:
            raise LibraryNotClosedError(f"symmetry {where!r}: terms {sorted(missing)} leave the library")
        elems.append(M)
        out_elems.append(C)
    sym = Symmetry(components, generators=out_gens, elements=out_elems)
    return InducedAction(gens, elems, "polynomial", 0.0, sym, [str(t) for t in terms])
