"""The action of a symmetry on the terms of a PDE library, exact.

A symmetry of ``u_t = F(u, u_x, u_xx, ...)`` acts on the field as ``u~(x, t) = C u(P^-1 x, t)``:
``C`` on the components, ``P`` (any invertible linear map, plus a translation) on the domain.
With ``L = P^-T`` the gradient transforms as ``d/dx~ = L d/dx``, so a derivative of order k is
a symmetric tensor: ``d^a u~ = C prod_i (sum_j L_ij d_j)^(a_i) u``, the expansion of the monomial
``xi^a`` under ``xi -> L xi`` (a signed permutation of the axes only permutes and signs the
derivatives: ``flip(x)`` multiplies a k-th derivative in x by ``(-1)**k``; a rotation of the
plane mixes ``u_xx, u_xy, u_yy``).  On the jet ``j`` (the components and their spatial
derivatives at a point) the map is linear, ``j~ = T j`` with ``T = M_L (x) C`` block by
derivative multi-index; for a generator ``(C, S)`` (``P = exp(t S)``) its generator is
``D_xi (x) I + I (x) C``, ``D_xi`` the Lie derivative of the monomials ``xi^a`` along
``xi' = -S^T xi``.  Every term of the library is a monomial in the jet, so its matrix is that of
a linear map of the variables of a polynomial library, computed exactly as for ODEs
(:mod:`symsindy.actions`), and the equation is equivariant when ``F(T j) = C F(j)``: the
equivariant subspace and the constrained fit then apply unchanged.

Specs use the grammar of :mod:`symsindy.symmetry` over the component and axis names together:
``rotation(x,y)`` (a scalar field on a rotated plane), ``rotation(x,y)+rotation(u,v)`` (a vector
field rotated with its domain), ``flip(x)``, ``flip(x)+flip(u)``, ``swap(u,v)``,
``rotation(u,v)``, ``swap(x,y)``, ``scaling(x)``, ``translation(x)`` (trivial for a library
without explicit x).  With explicit coordinates (a :class:`~symsindy.pde.CoordinateLibrary`) the
terms are monomials in the jet and the coordinates together, and the equation is equivariant
when ``F(P x + b, T j) = C F(x, j)``: the coordinates move with the domain (``x -> P x`` for an
element, ``x' = S x + b`` for a generator, translations included, which then constrain the
model).  A :class:`~symsindy.symmetry.Symmetry` on the components and axes may be
given instead, for elements as matrices (a rotation by 2 pi/3, say).  Refused in one line: a
translation of a component, a map mixing components with axes, and a library whose derivative
multi-indices are not closed under the domain map (``LibraryNotClosedError``; pysindy's
``PDELibrary`` holds every mixed derivative up to its order, so it always is).
"""

from __future__ import annotations

import weakref

import numpy as np
import sympy

from ..actions import InducedAction, LibraryNotClosedError, _poly_linear_action, _poly_substitution
from ..symmetry import Element, Generator, Symmetry
from ._library import CoordinateLibrary, derivative_symbol, pde_terms

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


# per fitted library: its jet, terms and their exponents, which every action on it needs (a
# discovery computes hundreds of actions on one library; the exponents take SymPy's Poly per term)
_JET_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _jet_structure(library, components, axes):
    """``(symbols, index, terms, powers, term names)`` of a fitted library, computed once per library
    and names.  With explicit coordinates, ``powers`` has one more column per axis (the
    exponents of the coordinates, after those of the jet's ``symbols``)."""
    key = (tuple(components), tuple(axes), tuple(library.get_feature_names(list(components))))
    per = _JET_CACHE.setdefault(library, {})
    if key not in per:
        symbols, index = jet_variables(library, components, axes)
        terms = pde_terms(library, components, axes)
        variables = symbols + ([sympy.Symbol(a) for a in axes] if _has_coordinates(library) else [])
        per[key] = (symbols, index, terms, _powers(terms, variables), [str(t) for t in terms])
    return per[key]


def _has_coordinates(library) -> bool:
    return isinstance(library, CoordinateLibrary)


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


def _shown(names) -> str:
    names = [str(s) for s in names]
    return ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")


def _check_closed(missing, names, where, what):
    if missing:
        raise LibraryNotClosedError(
            f"symmetry {where!r}: maps the {what} {_shown(names[k] for k in sorted(missing))} outside the library"
        )


def _blocks(index, nc):
    """The multi-index of each block of ``nc`` jet variables (the first block: the components)."""
    return index[::nc]


def _jet_generator(C, S, index, nc, symbols, where) -> np.ndarray:
    """The jet's generator ``D_xi (x) I + I (x) C`` for ``u~(x) = exp(tC) u(exp(-tS) x)``."""
    blocks = _blocks(index, nc)
    # d/dx~ = exp(-t S^T) d/dx: the multi-index monomials xi^a flow along xi' = -S^T xi
    Dxi, missing = _poly_linear_action(blocks, -S.T, np.zeros(len(S)))
    _check_closed(missing, symbols[::nc], where, "derivatives")
    return np.kron(Dxi, np.eye(nc)) + np.kron(np.eye(len(blocks)), C)


def _jet_matrix(C, P, index, nc, symbols, where) -> np.ndarray:
    """``T`` with ``j~ = T j`` for ``u~(x) = C u(P^-1 x)``: ``T = M (x) C``, ``M`` the map of the
    derivatives under ``d/dx~ = P^-T d/dx``."""
    blocks = _blocks(index, nc)
    # exact for signed permutations and every matrix with P^T P = I to the last bit
    L = P if np.array_equal(P.T @ P, np.eye(len(P))) else np.linalg.inv(P).T
    M, missing = _poly_substitution(blocks, L)
    _check_closed(missing, symbols[::nc], where, "derivatives")
    return np.kron(M, C)


def _symmetry(components, axes, specs) -> Symmetry:
    variables = list(components) + list(axes)
    if isinstance(specs, Symmetry):
        if list(specs.variables) != variables:
            raise ValueError(
                f"symmetry {specs!r}: acts on {', '.join(specs.variables)}; expected the components "
                f"and axes {', '.join(variables)}"
            )
        return specs
    return Symmetry(variables, specs)


def pde_action(library, components, axes, specs) -> InducedAction:
    """The exact action of ``specs`` on a fitted ``PDELibrary``'s terms (see the module docstring).

    Parameters
    ----------
    library : fitted ``pysindy.PDELibrary``
    components, axes : sequence of str
        The names of the components and of the spatial axes.
    specs : spec string, list of spec strings, or Symmetry
        Over ``components + axes``, e.g. ``"rotation(x,y)+rotation(u,v)"``.

    Returns
    -------
    InducedAction
        Its ``symmetry`` acts on the components (the output ``u_t``), so that
        :func:`symsindy.constraints.equivariant_subspace` gives the equivariant models; for a
        generator ``(C, S)``, ``Theta(j~) = expm(t D) Theta(j)`` with ``j~`` the jet of
        ``exp(tC) u(exp(-tS) x)`` at ``x`` and ``j`` that of ``u`` at ``exp(-tS) x``.

    Raises
    ------
    LibraryNotClosedError
        When a derivative or a term maps outside the library.
    """
    components, axes = list(components), list(axes)
    nc = len(components)
    full = _symmetry(components, axes, specs)
    symbols, index, terms, powers, names = _jet_structure(library, components, axes)
    explicit = _has_coordinates(library)
    gens, elems, out_gens, out_elems = [], [], [], []
    for g in full.generators:
        where = g.label or "generator"
        if np.any(g.translation[:nc]):
            raise ValueError(f"symmetry {where!r}: translates a component; not supported")
        C, S = _split(g.matrix, nc, where)
        shift = np.asarray(g.translation[nc:], float)
        if not np.any(C) and not np.any(S) and not (explicit and np.any(shift)):
            continue  # a translation of the domain: trivial for a library without explicit coordinates
        A_jet = _jet_generator(C, S, index, nc, symbols, where)
        if explicit:  # the coordinates flow with the domain: x' = S x + b
            A = np.block([[A_jet, np.zeros((len(index), len(axes)))], [np.zeros((len(axes), len(index))), S]])
            b = np.concatenate([np.zeros(len(index)), shift])
        else:
            A, b = A_jet, np.zeros(len(index))
        D, missing = _poly_linear_action(powers, A, b)
        _check_closed(missing, terms, where, "terms")
        gens.append(D)
        out_gens.append(Generator(C.copy(), np.zeros(nc), where))  # C = 0 for a map of the domain alone
    for e in full.elements:
        where = e.label or "element"
        C, P = _split(e.matrix, nc, where)
        T = _jet_matrix(C, P, index, nc, symbols, where)
        if explicit:  # F(P x, T j) = C F(x, j)
            T = np.block([[T, np.zeros((len(index), len(axes)))], [np.zeros((len(axes), len(index))), P]])
        M, missing = _poly_substitution(powers, T)
        _check_closed(missing, terms, where, "terms")
        elems.append(M)
        out_elems.append(Element(C.copy(), where))
    sym = Symmetry(components, generators=out_gens, elements=out_elems)
    return InducedAction(gens, elems, "polynomial", 0.0, sym, list(names))
