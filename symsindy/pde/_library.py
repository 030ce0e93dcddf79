"""The library of a PDE ``u_t = N(u, u_x, u_xx, ...)`` and its terms in SymPy.

Built on pysindy's ``PDELibrary``: polynomials of the components (its function library), the
spatial derivatives of each component up to an order, and their products.  :func:`pde_terms`
writes every column as a SymPy expression in the components and symbols named component,
underscore, axes: ``u_x``, ``u_xx``, ``v_xy``, so that a model reads ``u_t = -u*u_x + 0.1*u_xx``.
The order of the columns is pysindy's: the constant, the polynomial terms, the derivative terms
(per derivative multi-index, each component), then every derivative term times every
polynomial term.

A PDE whose right-hand side depends on the place, such as transport by a given flow
(``c_t = y c_x - x c_y`` in a rotating one), needs the coordinates as features:
``pde_library(..., coordinates=("x", "y"), coordinate_degree=q)`` returns a
:class:`CoordinateLibrary`, every column of the ``PDELibrary`` times every monomial of the
named coordinates up to degree ``q`` (the monomial 1 first: the columns of the ``PDELibrary``,
then those times ``x``, then ``y``, ``x**2``, ...; ``x*y*u_x`` in SymPy).
"""

from __future__ import annotations

import warnings

import numpy as np
import pysindy as ps
import sympy

from ._data import FieldData

__all__ = ["CoordinateLibrary", "pde_library", "pde_terms", "derivative_symbol", "to_pysindy"]


def derivative_symbol(component: str, multiindex, axes) -> sympy.Symbol:
    """The symbol of a spatial derivative: ``u_x`` for (1,) on axis x, ``v_xy`` for (1, 1) on x, y."""
    counts = [int(c) for c in multiindex]
    if len(counts) != len(axes) or any(c < 0 for c in counts) or not any(counts):
        raise ValueError(f"derivative {counts}: expected {len(axes)} counts >= 0, not all zero")
    return sympy.Symbol(f"{component}_" + "".join(a * c for a, c in zip(axes, counts)))


def pde_library(
    data: FieldData,
    degree: int = 2,
    derivative_order: int = 2,
    *,
    include_bias: bool = True,
    coordinates=(),
    coordinate_degree: int = 1,
):
    """pysindy's ``PDELibrary`` on ``data``'s grid (uniform; one-line error otherwise), fitted.

    ``degree``: of the polynomials in the components; ``derivative_order``: the highest
    spatial derivative.  The derivatives are pysindy's finite differences (one-sided at the
    edges of the grid).  ``coordinates``: axis names whose monomials up to
    ``coordinate_degree`` multiply every column (a :class:`CoordinateLibrary`); none by default.
    """
    for name, v in (("degree", degree), ("derivative_order", derivative_order)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} {v!r}: expected an integer >= 1")
    coordinates = _check_coordinates(coordinates, data.axes)
    if coordinates and (
        isinstance(coordinate_degree, bool)
        or not isinstance(coordinate_degree, (int, np.integer))
        or coordinate_degree < 1
    ):
        raise ValueError(f"coordinate_degree {coordinate_degree!r}: expected an integer >= 1")
    for a in data.axes:
        data.spacing(a)
    if len(data.axes) == 1:
        grid = data.grid[data.axes[0]]
    else:
        grid = np.stack(np.meshgrid(*[data.grid[a] for a in data.axes], indexing="ij"), axis=-1)
    with warnings.catch_warnings():
        # pysindy 2.1 announces is_uniform's deprecation on every construction; the option is
        # what keeps its finite differences on the uniform grid
        warnings.filterwarnings("ignore", message="is_uniform and periodic have been deprecated")
        lib = ps.PDELibrary(
            function_library=ps.PolynomialLibrary(degree=int(degree), include_bias=False),
            derivative_order=int(derivative_order),
            spatial_grid=grid,
            include_bias=include_bias,
            is_uniform=True,
        )
    lib.fit([to_pysindy(u) for u in data.u])
    if coordinates:
        return CoordinateLibrary(lib, data.axes, coordinates, int(coordinate_degree), data.grid)
    return lib


def _check_coordinates(coordinates, axes) -> tuple:
    """``coordinates`` (None, an axis name, a comma-separated string or a sequence of names)
    as a tuple of axis names in the order of ``axes``; a one-line error names an unknown one."""
    if coordinates is None:
        return ()
    if isinstance(coordinates, str):
        coordinates = [c.strip() for c in coordinates.split(",") if c.strip()]
    try:
        names = [str(c) for c in coordinates]
    except TypeError:
        raise ValueError(f"coordinates {coordinates!r}: expected axis names") from None
    for c in names:
        if c not in axes:
            raise ValueError(f"coordinates: unknown axis {c!r}; axes are {', '.join(axes)}")
    if len(set(names)) != len(names):
        raise ValueError(f"coordinates {', '.join(names)}: an axis named twice")
    return tuple(a for a in axes if a in names)


class CoordinateLibrary:
    """Every column of a fitted ``PDELibrary`` times every monomial of some coordinates.

    Parameters
    ----------
    base : fitted ``pysindy.PDELibrary``
    axes : sequence of str
        All spatial axes, in the grid's order.
    coordinates : sequence of str
        The axes whose monomials are features.
    degree : int
        Highest degree of the monomials.
    grid : dict of str to array
        The grid along each axis (the coordinates' values).

    Attributes
    ----------
    coordinate_powers_ : (m, n_axes) int array
        The monomials' exponents over all axes (zero on the axes that are not coordinates),
        the monomial 1 first, then by degree; column ``k * p + j`` of the library is monomial
        ``k`` times column ``j`` of ``base``.
    """

    def __init__(self, base, axes, coordinates, degree, grid):
        from itertools import combinations_with_replacement

        self.base = base
        self.axes = tuple(axes)
        self.coordinates = tuple(coordinates)
        self.coordinate_degree = int(degree)
        self.grid = {a: np.asarray(grid[a], float) for a in self.axes}
        where = [self.axes.index(c) for c in self.coordinates]
        powers = [np.zeros(len(self.axes), int)]
        for d in range(1, self.coordinate_degree + 1):
            for combo in combinations_with_replacement(where, d):
                row = np.zeros(len(self.axes), int)
                for i in combo:
                    row[i] += 1
                powers.append(row)
        self.coordinate_powers_ = np.array(powers)

    # the structure of the base library, for the terms, the actions and the weak form
    multiindices = property(lambda self: self.base.multiindices)
    function_library = property(lambda self: self.base.function_library)
    include_bias = property(lambda self: self.base.include_bias)
    include_interaction = property(lambda self: self.base.include_interaction)
    n_features_in_ = property(lambda self: self.base.n_features_in_)

    @property
    def n_output_features_(self) -> int:
        return int(self.base.n_output_features_) * len(self.coordinate_powers_)

    def monomials(self) -> list[sympy.Expr]:
        """The coordinate monomials in SymPy, in the order of ``coordinate_powers_``."""
        syms = [sympy.Symbol(a) for a in self.axes]
        return [sympy.Mul(*[s ** int(k) for s, k in zip(syms, row)]) for row in self.coordinate_powers_]

    def get_feature_names(self, input_features=None) -> list[str]:
        base = self.base.get_feature_names(input_features)
        out = []
        for mono in self.monomials():
            out += base if mono == 1 else [f"{mono} {name}" for name in base]
        return out

    def monomial_fields(self, shape) -> np.ndarray:
        """The monomials on the grid: ``(m, nx[, ny])`` (a one-line error when ``shape`` is not
        the library's grid)."""
        expected = tuple(len(self.grid[a]) for a in self.axes)
        if tuple(shape) != expected:
            raise ValueError(f"fields on a grid of shape {tuple(shape)}; the library's coordinates are on {expected}")
        mesh = np.meshgrid(*[self.grid[a] for a in self.axes], indexing="ij")
        return np.array([np.prod([m ** int(k) for m, k in zip(mesh, row)], axis=0) for row in self.coordinate_powers_])

    def transform(self, x):
        """The columns on each run (pysindy's layout ``(nx[, ny], nt, ncomp)``): ``(nx[, ny], nt, p m)``."""
        monomials = [self.monomial_fields(np.shape(u)[:-2]) for u in x]
        out = []
        for monos, cols in zip(monomials, self.base.transform(x)):
            cols = np.asarray(cols)
            # (m, nx[, ny]) x (nx[, ny], nt, p) -> (nx[, ny], nt, m, p)
            prod = monos[(...,) + (None, None)] * cols[None]
            prod = np.moveaxis(prod, 0, -2)
            out.append(prod.reshape(cols.shape[:-1] + (-1,)))
        return out


def to_pysindy(u: np.ndarray) -> np.ndarray:
    """A run ``(nt, nx[, ny], ncomp)`` in pysindy's layout ``(nx[, ny], nt, ncomp)``."""
    return np.moveaxis(np.asarray(u, float), 0, -2)


def pde_terms(library, components, axes) -> list[sympy.Expr]:
    """Every column of a fitted ``PDELibrary`` (or :class:`CoordinateLibrary`) as a SymPy
    expression (see the module docstring)."""
    from ..symbolic import library_terms

    if isinstance(library, CoordinateLibrary):
        if list(axes) != list(library.axes):
            raise ValueError(f"axes: {', '.join(axes)} for a library on {', '.join(library.axes)}")
        base = pde_terms(library.base, components, axes)
        return [m * t for m in library.monomials() for t in base]

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
