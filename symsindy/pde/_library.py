"""The library of a PDE ``u_t = N(u, u_x, u_xx, ...)`` and its terms in SymPy.

Built on pysindy's ``PDELibrary``: polynomials of the components (its function library), the
spatial derivatives of each component up to an order, and their products.  :func:`pde_terms`
writes every column as a SymPy expression in the components and symbols named component,
underscore, axes: ``u_x``, ``u_xx``, ``v_xy``, so that a model reads ``u_t = -u*u_x + 0.1*u_xx``.
The order of the columns is pysindy's: the constant, the polynomial terms, the derivative terms
(per derivative multi-index, each component), then every derivative term times every
polynomial term.
"""

from __future__ import annotations

import numpy as np
import pysindy as ps
import sympy

from ._data import FieldData

__all__ = ["pde_library", "pde_terms", "derivative_symbol", "to_pysindy"]


def derivative_symbol(component: str, multiindex, axes) -> sympy.Symbol:
    """The symbol of a spatial derivative: ``u_x`` for (1,) on axis x, ``v_xy`` for (1, 1) on x, y."""
    counts = [int(c) for c in multiindex]
    if len(counts) != len(axes) or any(c < 0 for c in counts) or not any(counts):
        raise ValueError(f"derivative {counts}: expected {len(axes)} counts >= 0, not all zero")
    return sympy.Symbol(f"{component}_" + "".join(a * c for a, c in zip(axes, counts)))


def pde_library(data: FieldData, degree: int = 2, derivative_order: int = 2, *, include_bias: bool = True):
    """pysindy's ``PDELibrary`` on ``data``'s grid (uniform; one-line error otherwise), fitted.

    ``degree``: of the polynomials in the components; ``derivative_order``: the highest
    spatial derivative.  The derivatives are pysindy's finite differences (one-sided at the
    edges of the grid).
    """
    for name, v in (("degree", degree), ("derivative_order", derivative_order)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} {v!r}: expected an integer >= 1")
    for a in data.axes:
        data.spacing(a)
    if len(data.axes) == 1:
        grid = data.grid[data.axes[0]]
    else:
        grid = np.stack(np.meshgrid(*[data.grid[a] for a in data.axes], indexing="ij"), axis=-1)
    lib = ps.PDELibrary(
        function_library=ps.PolynomialLibrary(degree=int(degree), include_bias=False),
        derivative_order=int(derivative_order),
        spatial_grid=grid,
        include_bias=include_bias,
        is_uniform=True,
    )
    lib.fit([to_pysindy(u) for u in data.u])
    return lib


def to_pysindy(u: np.ndarray) -> np.ndarray:
    """A run ``(nt, nx[, ny], ncomp)`` in pysindy's layout ``(nx[, ny], nt, ncomp)``."""
    return np.moveaxis(np.asarray(u, float), 0, -2)


def pde_terms(library, components, axes) -> list[sympy.Expr]:
    """Every column of a fitted ``PDELibrary`` as a SymPy expression (see the module docstring)."""
    from ..symbolic import library_terms

    components, axes = list(components), list(axes)
    if library.n_features_in_ != len(components):
        raise ValueError(f"components: {len(components)} names for a library of {library.n_features_in_} components")
    multi = np.atleast_2d(np.asarray(library.multiindices))
    if multi.shape[1] != len(axes):
        raise ValueError(f"axes: {len(axes)} names for a library on {multi.shape[1]} spatial axes")
    poly = library_terms(library.function_library, components)
    derivs = [derivative_symbol(c, m, axes) for m in multi for c in components]
    terms = ([sympy.Integer(1)] if library.include_bias else []) + poly + derivs
    if library.include_interaction and poly and derivs:
        terms += [f * d for d in derivs for f in poly]
    if len(terms) != len(library.get_feature_names(components)):
        raise ValueError("pde_terms: the library's columns do not match its structure (an unsupported option)")
    return terms
