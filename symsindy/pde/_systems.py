"""A catalogue of PDEs ``u_t = N(u, u_x, u_xx, ...)`` with spectral solvers and checked symmetry claims.

Each :class:`PDESystem` holds its right-hand side in SymPy, in the components and the derivative
symbols of :func:`~symsindy.pde.derivative_symbol` (``u_x``, ``u_xx``, ``v_xy``), its parameters, the
symmetries it claims as spec strings over the component and axis names together (the grammar of
:mod:`symsindy.symmetry`: ``flip(x)+flip(u)``, ``rotation(u,v)``, ``rotation(x,y)``, ``swap(x,y)``,
``translation(x)``), the library (degree, derivative order) that holds it, and a generator of data:
a pseudo-spectral solver on a periodic grid.

The solver splits the right-hand side into its linear part with constant coefficients, exact in
Fourier space (a matrix on the components per wavenumber), and the rest, evaluated on the grid
with spectral derivatives and dealiased by the 2/3 rule; it steps with exponential time
differencing (ETDRK4, Cox and Matthews 2002, its coefficients by Kassam and Trefethen's contour
means).  Both parts come from the SymPy right-hand side, so the equation solved is the one
declared.

:func:`check_pde_claims` checks every claim symbolically, without the library action of
``symsindy/pde/_actions.py``: a symmetry acts on the fields as ``u~(x) = C u(xi) + K xi + c`` at
``x = P xi + b`` (its matrix over components and axes; a continuous one through the group element
``exp(theta G)`` with a symbolic ``theta``), the components are SymPy functions of ``xi``, the
derivatives in ``x`` follow by the chain rule, and the claim holds when ``N(u~)(x) = C N(u)(xi)``
identically (cos and sin of ``theta`` reduced modulo ``cos**2 + sin**2 = 1``).
"""

from __future__ import annotations

import difflib
import itertools
import math
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import sympy

from ..base import resolve_random_state
from ..catalogue import ClaimCheck
from ..symmetry import SpecError, Symmetry
from ._data import FieldData
from ._library import derivative_symbol

__all__ = ["PDESystem", "get_pde_system", "list_pde_systems", "check_pde_claims"]

#: Most values (samples x grid points x components x runs) one simulation returns.
MAX_VALUES = 50_000_000
_JET_ORDER = 6


# --------------------------------------------------------------------------- the jet


def _jet_symbols(components, axes, order: int) -> dict[sympy.Symbol, tuple[str, tuple[int, ...]]]:
    """Every component and derivative symbol up to ``order``: symbol -> (component, multi-index)."""
    out = {sympy.Symbol(c): (c, (0,) * len(axes)) for c in components}
    for k in range(1, order + 1):
        for m in itertools.product(range(k + 1), repeat=len(axes)):
            if sum(m) == k:
                for c in components:
                    out[derivative_symbol(c, m, axes)] = (c, tuple(m))
    return out


def _wavenumbers(shape, lengths):
    """Angular wavenumbers per axis, broadcastable over the grid, and a copy with Nyquist set to 0."""
    ks, odd = [], []
    for j, (n, length) in enumerate(zip(shape, lengths)):
        k = 2 * np.pi * np.fft.fftfreq(n, d=length / n)
        k_odd = k.copy()
        if n % 2 == 0:
            k_odd[n // 2] = 0.0  # an odd derivative of the Nyquist mode of a real field is zero
        view = [1] * len(shape)
        view[j] = n
        ks.append(k.reshape(view))
        odd.append(k_odd.reshape(view))
    return ks, odd


def _multiplier(alpha, ks, odd):
    """The Fourier symbol of the derivative with multi-index ``alpha``: prod (i k_j)**alpha_j."""
    out = 1.0 + 0j
    for a, k, ko in zip(alpha, ks, odd):
        if a:
            out = out * (1j * (ko if a % 2 else k)) ** a
    return out


def _etd_coefficients(L: np.ndarray, h: float, n_contour: int = 32) -> list[np.ndarray]:
    """ETDRK4's matrices (Cox and Matthews) for a stack of small matrices ``L`` ``(..., n, n)``:
    ``exp(hL)``, ``exp(hL/2)`` and ``Q, f1, f2, f3``, the phi functions evaluated as means over a
    circle around each eigenvalue (Kassam and Trefethen), which avoids their cancellation near 0."""
    n = L.shape[-1]
    diagonal = not np.any(L[..., ~np.eye(n, dtype=bool)])
    if diagonal:
        w, V, Vinv = np.diagonal(L, axis1=-2, axis2=-1), None, None
    else:
        w, V = np.linalg.eig(L)
        if np.max(np.linalg.cond(V)) > 1e8:
            raise ValueError("the linear part is not diagonalisable on this grid; ETDRK4 needs its eigenvectors")
        Vinv = np.linalg.inv(V)
    z = h * w
    r = np.exp(2j * np.pi * (np.arange(n_contour) + 0.5) / n_contour)
    zr = z[..., None] + r
    ez = np.exp(zr)
    phis = [
        np.exp(z),
        np.exp(z / 2),
        h * np.mean((np.exp(zr / 2) - 1) / zr, axis=-1),
        h * np.mean((-4 - zr + ez * (4 - 3 * zr + zr**2)) / zr**3, axis=-1),
        h * np.mean((2 + zr + ez * (zr - 2)) / zr**3, axis=-1),
        h * np.mean((-4 - 3 * zr - zr**2 + ez * (4 - zr)) / zr**3, axis=-1),
    ]
    if diagonal:
        return [p[..., :, None] * np.eye(n) for p in phis]
    return [np.einsum("...ij,...j,...jk->...ik", V, p, Vinv) for p in phis]


# --------------------------------------------------------------------------- systems


@dataclass(frozen=True)
class PDESystem:
    """A PDE ``u_t = N(u, u_x, ...)`` on a periodic domain, with its claims and a solver.

    Parameters
    ----------
    name, description, reference : str
    components, axes : tuple of str
        Component names (``u``, ``v``) and spatial axis names (``x``, ``y``).
    parameters : dict of str to float
        Parameter values by name.
    equations : dict of str to sympy.Expr
        The right-hand side of each component in the components, the derivative symbols
        (``u_x``, ``u_xx``, ``v_xy``), the parameters (as symbols) and, where the PDE has
        them, the coordinates.
    symmetries : tuple of str
        Claimed symmetries, spec strings over components and axes (``flip(x)+flip(u)``).
    degree, derivative_order : int
        A ``pde_library`` of this degree and derivative order holds every term.
    lengths, origin : tuple of float
        The period of each axis and where its grid starts.
    nx, nt, t_end : int, int, float
        Default grid points per axis, samples and final time.
    max_step : float
        Largest step of the integrator (stability and accuracy on the default grid).
    initial : callable
        ``initial(rng, coords) -> (*grid, ncomp)``: a random smooth initial field, where
        ``coords`` are the grid's coordinate arrays (``indexing="ij"``).
    coordinates : tuple of str
        Axes that appear explicitly in the right-hand side; a library for it needs them
        as features.
    tags : tuple of str
        ``pde`` and ``1d`` or ``2d`` first.
    notes : str
        Symmetries that hold but no spec expresses, and other remarks.
    """

    name: str
    description: str
    reference: str
    components: tuple
    axes: tuple
    parameters: dict
    equations: dict
    symmetries: tuple
    degree: int
    derivative_order: int
    lengths: tuple
    origin: tuple
    nx: int
    nt: int
    t_end: float
    max_step: float
    initial: object = field(repr=False, compare=False)
    coordinates: tuple = ()
    tags: tuple = ()
    notes: str = ""

    # ---- names and expressions
    @property
    def dimension(self) -> int:
        return len(self.axes)

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def parameter_symbols(self) -> dict:
        return {p: sympy.Symbol(p) for p in self.parameters}

    @property
    def rhs(self) -> dict:
        """The right-hand sides with the parameter values substituted."""
        values = {sympy.Symbol(p): sympy.Float(v) for p, v in self.parameters.items()}
        return {c: sympy.expand(e.xreplace(values)) for c, e in self.equations.items()}

    def jet(self) -> dict:
        """The jet symbols up to order 6 (or the derivative order, if higher): symbol -> (component,
        multi-index); a declared order lower than the equations' is caught by the library check."""
        return _jet_symbols(self.components, self.axes, max(self.derivative_order, _JET_ORDER))

    def with_parameters(self, **values) -> "PDESystem":
        """A copy with some parameter values changed by name."""
        for p, v in values.items():
            if p not in self.parameters:
                known = ", ".join(self.parameters) or "none"
                raise ValueError(f"system '{self.name}': unknown parameter '{p}'; parameters are {known}")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                raise ValueError(f"system '{self.name}': parameter '{p}' = {v!r}: expected a finite number")
        return replace(self, parameters={**self.parameters, **{p: float(v) for p, v in values.items()}})

    def grid(self, nx=None) -> dict:
        """The periodic grid ``{axis: (n,) array}`` with ``nx`` points per axis (an int or one per axis)."""
        shape = self._shape(nx)
        return {
            a: o + length * np.arange(n) / n for a, o, length, n in zip(self.axes, self.origin, self.lengths, shape)
        }

    def _shape(self, nx) -> tuple:
        nx = self.nx if nx is None else nx
        counts = [nx] * self.dimension if np.ndim(nx) == 0 else list(nx)
        if len(counts) != self.dimension:
            raise ValueError(f"nx {nx!r}: expected one count or {self.dimension} (one per axis)")
        for n in counts:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8:
                raise ValueError(f"nx {nx!r}: expected integers >= 8 (grid points per axis)")
        return tuple(int(n) for n in counts)

    # ---- evaluating the right-hand side
    def _coordinate_arrays(self, shape) -> dict:
        g = self.grid(shape)
        mesh = np.meshgrid(*[g[a] for a in self.axes], indexing="ij")
        return {sympy.Symbol(a): m for a, m in zip(self.axes, mesh)}

    def evaluate(self, u) -> np.ndarray:
        """The right-hand side on fields ``u`` (``(..., *grid, ncomp)``) of this system's periodic grid,
        derivatives spectral: ``u_t`` of the same shape."""
        u = np.asarray(u, float)
        d = self.dimension
        if u.ndim < d + 1 or u.shape[-1] != self.n_components:
            raise ValueError(
                f"system '{self.name}': fields of shape {u.shape}; expected (..., "
                + ", ".join(f"n{a}" for a in self.axes)
                + f", {self.n_components})"
            )
        shape = u.shape[-d - 1 : -1]
        self._shape(shape)
        ks, odd = _wavenumbers(shape, self.lengths)
        spatial = tuple(range(u.ndim - d - 1, u.ndim - 1))
        uhat = np.fft.fftn(u, axes=spatial)
        coords = self._coordinate_arrays(shape)
        jet = self.jet()
        rhs = self.rhs
        out = np.empty_like(u)
        values = {}
        for k, c in enumerate(self.components):
            expr = rhs[c]
            args = sorted(expr.free_symbols, key=str)
            arrays = []
            for s in args:
                if s in coords:
                    arrays.append(coords[s])
                    continue
                if s not in jet:
                    raise ValueError(f"system '{self.name}': {c}_t: unknown symbol {s}")
                if s not in values:
                    comp, alpha = jet[s]
                    j = self.components.index(comp)
                    if not any(alpha):
                        values[s] = u[..., j]
                    else:
                        values[s] = np.fft.ifftn(_multiplier(alpha, ks, odd) * uhat[..., j], axes=spatial).real
                arrays.append(values[s])
            f = sympy.lambdify(args, expr, "numpy")
            out[..., k] = np.broadcast_to(f(*arrays), u.shape[:-1])
        return out

    def coefficients(self, terms) -> np.ndarray:
        """The true coefficients ``(ncomp, len(terms))`` over library terms (SymPy monomials such as
        :func:`~symsindy.pde.pde_terms` gives); a term of the PDE missing from ``terms`` is named."""
        terms = [sympy.sympify(t) for t in terms]
        gens = sorted(set().union(*[e.free_symbols for e in self.rhs.values()]), key=str)
        index = {}
        for k, t in enumerate(terms):
            if t == 1:
                index[(0,) * len(gens)] = k
                continue
            if not t.free_symbols <= set(gens):
                continue  # a term the PDE does not involve
            monoms = sympy.Poly(t, *gens).terms()
            if len(monoms) == 1 and monoms[0][1] == 1:
                index[monoms[0][0]] = k
        out = np.zeros((self.n_components, len(terms)))
        for i, c in enumerate(self.components):
            for powers, coef in sympy.Poly(self.rhs[c], *gens).terms():
                if powers not in index:
                    missing = sympy.Mul(*[g**p for g, p in zip(gens, powers)])
                    raise ValueError(f"system '{self.name}': {c}_t: term {missing} is not among the library's terms")
                out[i, index[powers]] = float(coef)
        return out

    # ---- simulation
    def _split(self, shape):
        """The linear part's Fourier symbol ``(*grid, n, n)`` and the rest of each right-hand side."""
        ks, odd = _wavenumbers(shape, self.lengths)
        n = self.n_components
        L = np.zeros(shape + (n, n), complex)
        jet = self.jet()
        rest = {}
        for i, c in enumerate(self.components):
            other = []
            for term in sympy.Add.make_args(self.rhs[c]):
                syms = term.free_symbols
                if len(syms) == 1 and next(iter(syms)) in jet:
                    (s,) = syms
                    coef, factor = term.as_independent(s, as_Add=False)
                    if factor == s and coef.is_number:
                        comp, alpha = jet[s]
                        L[..., i, self.components.index(comp)] += float(coef) * _multiplier(alpha, ks, odd)
                        continue
                other.append(term)
            rest[c] = sympy.Add(*other)
        return L, rest

    def simulate(self, nx=None, nt=None, t_end=None, noise=0.0, n_runs=1, random_state=0) -> FieldData:
        """Simulate from random smooth initial fields; see the module docstring for the solver.

        Parameters
        ----------
        nx : int or tuple of int, optional
            Grid points per axis (default the system's).
        nt : int, optional
            Samples, evenly spaced from 0 to ``t_end`` (default the system's).
        t_end : float, optional
            Final time (default the system's).
        noise : float, default 0.0
            Gaussian noise of ``noise`` times each component's standard deviation (over its
            run), added to the returned samples.
        n_runs : int, default 1
            Runs, each from its own initial field.
        random_state : int, Generator or None, default 0
            Seeds the initial fields, then the noise.

        Returns
        -------
        FieldData
        """
        shape = self._shape(nx)
        nt = self.nt if nt is None else nt
        t_end = self.t_end if t_end is None else t_end
        if isinstance(nt, bool) or not isinstance(nt, (int, np.integer)) or nt < 2:
            raise ValueError(f"nt {nt!r}: expected an integer >= 2 (samples)")
        if isinstance(t_end, bool) or not isinstance(t_end, (int, float, np.integer, np.floating)):
            raise ValueError(f"t_end {t_end!r}: expected a positive number")
        if not (math.isfinite(t_end) and t_end > 0):
            raise ValueError(f"t_end {t_end!r}: expected a positive number")
        if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
            raise ValueError(f"noise {noise!r}: expected a non-negative number")
        if not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise {noise!r}: expected a non-negative number")
        if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
            raise ValueError(f"n_runs {n_runs!r}: expected an integer >= 1")
        size = int(nt) * int(np.prod(shape)) * self.n_components * int(n_runs)
        if size > MAX_VALUES:
            raise ValueError(f"system '{self.name}': {size} values requested; at most {MAX_VALUES}")
        rng = np.random.default_rng(resolve_random_state(random_state, None, f"system '{self.name}'"))
        t = np.linspace(0.0, float(t_end), int(nt))
        coords = self._coordinate_arrays(shape)
        starts = [np.asarray(self.initial(rng, list(coords.values())), float) for _ in range(int(n_runs))]
        runs = [self._integrate(u0, shape, t) for u0 in starts]
        if noise > 0:
            runs = [u + noise * u.std(axis=tuple(range(u.ndim - 1))) * rng.normal(size=u.shape) for u in runs]
        return FieldData(
            list(self.components),
            list(self.axes),
            self.grid(shape),
            [t.copy() for _ in runs],
            runs,
            f"{self.name} (simulated)",
        )

    def _integrate(self, u0, shape, t) -> np.ndarray:
        """ETDRK4 in Fourier space from ``u0`` (``(*grid, ncomp)``), sampled at ``t``."""
        d = self.dimension
        if u0.shape != shape + (self.n_components,):
            raise ValueError(f"system '{self.name}': initial field of shape {u0.shape}, expected {shape}")
        axes = tuple(range(d))
        L, rest = self._split(shape)
        ks, odd = _wavenumbers(shape, self.lengths)
        keep = np.ones(shape, bool)
        for k, n, length in zip(ks, shape, self.lengths):
            keep = keep & (np.abs(k) < (2.0 / 3.0) * np.pi * n / length)
        coords = self._coordinate_arrays(shape)
        jet = self.jet()
        needed = sorted(set().union(*[e.free_symbols for e in rest.values()]) - set(coords), key=str)
        mult = np.stack(
            [np.broadcast_to(_multiplier(jet[s][1], ks, odd), shape) for s in needed] or [np.ones(shape)], axis=0
        )
        which = [self.components.index(jet[s][0]) for s in needed]
        active = [i for i, c in enumerate(self.components) if rest[c] != 0]
        func = sympy.lambdify(needed + list(coords), [rest[self.components[i]] for i in active], "numpy", cse=True)
        coord_values = list(coords.values())
        spatial = tuple(a + 1 for a in axes)

        def nonlinear(vhat):
            out = np.zeros(shape + (self.n_components,), complex)
            if not active:
                return out
            fields = np.fft.ifftn(mult * np.moveaxis(vhat[..., which], -1, 0), axes=spatial).real if needed else []
            values = np.stack([np.broadcast_to(f, shape) for f in func(*fields, *coord_values)])
            out[..., active] = np.moveaxis(np.fft.fftn(values, axes=spatial), 0, -1) * keep[..., None]
            return out

        dt_out = float(t[1] - t[0])
        n_sub = max(1, math.ceil(dt_out / self.max_step - 1e-9))
        E, E2, Q, f1, f2, f3 = _etd_coefficients(L, dt_out / n_sub)

        def mul(M, v):
            return np.einsum("...ij,...j->...i", M, v)

        v = np.fft.fftn(u0, axes=axes)
        out = np.empty((len(t),) + u0.shape)
        out[0] = u0
        for step in range(1, len(t)):
            for _ in range(n_sub):
                Nv = nonlinear(v)
                a = mul(E2, v) + mul(Q, Nv)
                Na = nonlinear(a)
                b = mul(E2, v) + mul(Q, Na)
                Nb = nonlinear(b)
                c = mul(E2, a) + mul(Q, 2 * Nb - Nv)
                Nc = nonlinear(c)
                v = mul(E, v) + mul(f1, Nv) + 2 * mul(f2, Na + Nb) + mul(f3, Nc)
            out[step] = np.fft.ifftn(v, axes=axes).real
            if not np.all(np.isfinite(out[step])):
                raise ValueError(
                    f"system '{self.name}': the solution is not finite at t = {t[step]:.6g}; "
                    "use smaller initial fields, other parameters or a finer grid"
                )
        return out

    # ---- description
    def to_dict(self) -> dict:
        """A JSON-ready description; expressions are SymPy-readable strings."""
        from ..expressions import format_expression

        return {
            "name": self.name,
            "kind": "pde",
            "description": self.description,
            "reference": self.reference,
            "tags": list(self.tags),
            "variables": list(self.components),
            "components": list(self.components),
            "axes": list(self.axes),
            "parameters": dict(self.parameters),
            "equations": {c: format_expression(e) for c, e in self.equations.items()},
            "rhs": {c: format_expression(e) for c, e in self.rhs.items()},
            "symmetries": list(self.symmetries),
            "conserved": {},
            "degree": self.degree,
            "derivative_order": self.derivative_order,
            "coordinates": list(self.coordinates),
            "domain": {a: [o, o + length] for a, o, length in zip(self.axes, self.origin, self.lengths)},
            "simulation": {"nx": self.nx, "nt": self.nt, "t_end": self.t_end},
            "notes": self.notes,
        }


# --------------------------------------------------------------------------- initial fields


def _smooth(rng, coords, modes: int, amplitude: float, zero_mean: bool, n_fields: int):
    """Random fields of Fourier modes ``|m_j| <= modes`` (random amplitudes and phases), std ``amplitude``."""
    shape = coords[0].shape
    ms = np.meshgrid(*[np.fft.fftfreq(n, d=1.0 / n) for n in shape], indexing="ij")
    low = np.ones(shape, bool)
    for m in ms:
        low &= np.abs(m) <= modes
    if zero_mean:
        low &= ~np.all([m == 0 for m in ms], axis=0)
    out = []
    for _ in range(n_fields):
        coef = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * low
        f = np.fft.ifftn(coef).real
        f = f - f.mean() if zero_mean else f
        out.append(amplitude * f / f.std())
    return np.stack(out, axis=-1)


def _blobs(rng, coords, count: int, radius: float, widths, amplitudes):
    """A sum of ``count`` Gaussian blobs, centres within ``radius`` of the origin."""
    c = np.zeros(coords[0].shape)
    for _ in range(count):
        r, phi = radius * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        centre = (r * np.cos(phi), r * np.sin(phi))
        s, a = rng.uniform(*widths), rng.uniform(*amplitudes)
        c += a * np.exp(-sum((x - x0) ** 2 for x, x0 in zip(coords, centre)) / (2 * s**2))
    return c[..., None]


# --------------------------------------------------------------------------- the catalogue


def _s(names: str):
    return sympy.symbols(names)


def _catalogue() -> dict[str, PDESystem]:
    u, v, c = _s("u v c")
    u_x, u_xx, u_xxx, u_xxxx = _s("u_x u_xx u_xxx u_xxxx")
    v_x, v_xx = _s("v_x v_xx")
    u_yy, v_yy, c_x, c_y, c_xx, c_yy = _s("u_yy v_yy c_x c_y c_xx c_yy")
    x, y = _s("x y")
    nu, b, cc, d, beta, omega, D = _s("nu b c d beta omega D")
    r2 = u**2 + v**2
    two_pi = 2 * np.pi
    systems = [
        PDESystem(
            name="burgers",
            description="viscous Burgers equation: nonlinear advection against diffusion, shocks smoothed",
            reference="J. M. Burgers, Adv. Appl. Mech. 1, 171 (1948); PDE-FIND: S. H. Rudy et al., "
            "Sci. Adv. 3, e1602614 (2017)",
            components=("u",),
            axes=("x",),
            parameters={"nu": 0.1},
            equations={"u": -u * u_x + nu * u_xx},
            symmetries=("flip(x)+flip(u)", "translation(x)"),
            degree=2,
            derivative_order=2,
            lengths=(two_pi,),
            origin=(0.0,),
            nx=128,
            nt=101,
            t_end=2.0,
            max_step=0.01,
            initial=partial(_smooth, modes=3, amplitude=0.6, zero_mean=True, n_fields=1),
            tags=("pde", "1d", "polynomial", "dissipative"),
            notes="also Galilean boosts u -> u + a, x -> x + a t, which involve time and no spec expresses",
        ),
        PDESystem(
            name="kdv",
            description="Korteweg-de Vries equation: shallow-water waves, solitons from smooth data",
            reference="D. J. Korteweg and G. de Vries, Phil. Mag. 39, 422 (1895)",
            components=("u",),
            axes=("x",),
            parameters={},
            equations={"u": -6 * u * u_x - u_xxx},
            symmetries=("translation(x)",),
            degree=2,
            derivative_order=3,
            lengths=(20.0,),
            origin=(0.0,),
            nx=128,
            nt=101,
            t_end=2.0,
            max_step=0.005,
            initial=partial(_smooth, modes=3, amplitude=0.5, zero_mean=True, n_fields=1),
            tags=("pde", "1d", "polynomial", "dispersive", "integrable"),
            notes="no reflection of space and field alone: with these signs flip(x) and flip(x)+flip(u) both "
            "fail; the reflection that holds is (x, t) -> (-x, -t) with u unchanged, and Galilean boosts "
            "u -> u + a, x -> x + 6 a t, neither expressible without time",
        ),
        PDESystem(
            name="kuramoto_sivashinsky",
            description="Kuramoto-Sivashinsky equation: spatio-temporal chaos on L = 32 pi",
            reference="Y. Kuramoto, Prog. Theor. Phys. 55, 356 (1976); G. I. Sivashinsky, Acta Astronaut. 4, "
            "1177 (1977); A.-K. Kassam and L. N. Trefethen, SIAM J. Sci. Comput. 26, 1214 (2005)",
            components=("u",),
            axes=("x",),
            parameters={},
            equations={"u": -u * u_x - u_xx - u_xxxx},
            symmetries=("flip(x)+flip(u)", "translation(x)"),
            degree=2,
            derivative_order=4,
            lengths=(32 * np.pi,),
            origin=(0.0,),
            nx=256,
            nt=101,
            t_end=100.0,
            max_step=0.05,
            initial=partial(_smooth, modes=8, amplitude=1.0, zero_mean=True, n_fields=1),
            tags=("pde", "1d", "polynomial", "chaotic"),
            notes="also Galilean boosts u -> u + a, x -> x + a t, which involve time; 256 points on 32 pi "
            "resolve the chaotic state (on 128 the 2/3 rule's truncation leaves residuals of u_t of about half its size)",
        ),
        PDESystem(
            name="ginzburg_landau",
            description="complex Ginzburg-Landau equation in 1-D, A = u + i v: "
            "A_t = A + (1 + i b) A_xx - (1 + i c)|A|^2 A, Benjamin-Feir unstable (1 + b c < 0)",
            reference="I. S. Aranson and L. Kramer, Rev. Mod. Phys. 74, 99 (2002)",
            components=("u", "v"),
            axes=("x",),
            parameters={"b": 2.0, "c": -1.0},
            equations={
                "u": u + u_xx - b * v_xx - r2 * (u - cc * v),
                "v": v + b * u_xx + v_xx - r2 * (cc * u + v),
            },
            symmetries=("rotation(u,v)", "flip(x)", "translation(x)"),
            degree=3,
            derivative_order=2,
            lengths=(50.0,),
            origin=(0.0,),
            nx=128,
            nt=101,
            t_end=50.0,
            max_step=0.05,
            initial=partial(_smooth, modes=6, amplitude=0.5, zero_mean=False, n_fields=2),
            tags=("pde", "1d", "polynomial", "chaotic"),
        ),
        PDESystem(
            name="ginzburg_landau_2d",
            description="complex Ginzburg-Landau equation in 2-D, A = u + i v: "
            "A_t = A + (1 + i b) lap A - (1 + i c)|A|^2 A; spirals and defects",
            reference="I. S. Aranson and L. Kramer, Rev. Mod. Phys. 74, 99 (2002)",
            components=("u", "v"),
            axes=("x", "y"),
            parameters={"b": 0.5, "c": -0.5},
            equations={
                "u": u + u_xx + u_yy - b * (v_xx + v_yy) - r2 * (u - cc * v),
                "v": v + b * (u_xx + u_yy) + v_xx + v_yy - r2 * (cc * u + v),
            },
            symmetries=("rotation(u,v)", "rotation(x,y)", "flip(x)", "swap(x,y)", "translation(x,y)"),
            degree=3,
            derivative_order=2,
            lengths=(16.0, 16.0),
            origin=(0.0, 0.0),
            nx=32,
            nt=51,
            t_end=10.0,
            max_step=0.05,
            initial=partial(_smooth, modes=2, amplitude=0.5, zero_mean=False, n_fields=2),
            tags=("pde", "2d", "polynomial"),
        ),
        PDESystem(
            name="lambda_omega",
            description="lambda-omega reaction-diffusion: u_t = lam(r) u - om(r) v + d lap u, "
            "v_t = om(r) u + lam(r) v + d lap v, lam = 1 - r^2, om = -beta r^2; spiral waves",
            reference="N. Kopell and L. N. Howard, Stud. Appl. Math. 52, 291 (1973); PDE-FIND: S. H. Rudy et "
            "al., Sci. Adv. 3, e1602614 (2017)",
            components=("u", "v"),
            axes=("x", "y"),
            parameters={"d": 0.1, "beta": 1.0},
            equations={
                "u": (1 - r2) * u + beta * r2 * v + d * (u_xx + u_yy),
                "v": -beta * r2 * u + (1 - r2) * v + d * (v_xx + v_yy),
            },
            symmetries=("rotation(u,v)", "rotation(x,y)", "flip(x)", "swap(x,y)", "translation(x,y)"),
            degree=3,
            derivative_order=2,
            lengths=(5.0, 5.0),
            origin=(-2.5, -2.5),
            nx=32,
            nt=51,
            t_end=10.0,
            max_step=0.025,
            initial=partial(_smooth, modes=2, amplitude=0.7, zero_mean=False, n_fields=2),
            tags=("pde", "2d", "polynomial", "reaction_diffusion"),
        ),
        PDESystem(
            name="advection_diffusion_rotating",
            description="a scalar c advected by solid-body rotation and diffused: "
            "c_t = -omega (-y c_x + x c_y) + D lap c (explicit coordinates: the library needs x, y as features)",
            reference="pysindy issue #265 (advection-diffusion in a rotating flow)",
            components=("c",),
            axes=("x", "y"),
            parameters={"omega": 1.0, "D": 0.02},
            equations={"c": -omega * (-y * c_x + x * c_y) + D * (c_xx + c_yy)},
            symmetries=("rotation(x,y)", "flip(c)", "scaling(c)"),
            degree=1,
            derivative_order=2,
            lengths=(16.0, 16.0),
            origin=(-8.0, -8.0),
            nx=64,
            nt=51,
            t_end=2 * np.pi,
            max_step=0.02,
            initial=partial(_blobs, count=3, radius=2.5, widths=(0.5, 0.8), amplitudes=(0.5, 1.5)),
            coordinates=("x", "y"),
            tags=("pde", "2d", "polynomial", "linear"),
            notes="the velocity (-omega y, omega x) grows with the distance from the origin, so the blobs start "
            "within radius 2.5 and the periodic grid is large enough that c is negligible at its edges; "
            "rotation(x,y) acts on the domain and the explicit coordinates together; a reflection alone "
            "reverses the sense of rotation and fails, as does a translation",
        ),
    ]
    return {s.name: s for s in systems}


_SYSTEMS = _catalogue()


def list_pde_systems() -> list[str]:
    """The names of the PDE systems, sorted."""
    return sorted(_SYSTEMS)


def get_pde_system(name: str, **parameters) -> PDESystem:
    """A PDE system by name, optionally with some parameter values changed."""
    if not isinstance(name, str) or name not in _SYSTEMS:
        close = difflib.get_close_matches(str(name), list(_SYSTEMS), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"known PDE systems are {', '.join(sorted(_SYSTEMS))}"
        raise ValueError(f"unknown PDE system {name!r}; {hint}")
    system = _SYSTEMS[name]
    return system.with_parameters(**parameters) if parameters else system


# --------------------------------------------------------------------------- checking the claims


def _rational(x: float) -> sympy.Rational:
    return sympy.Rational(str(float(x))) if float(x) != int(x) else sympy.Integer(int(x))


def _vanishes(expr, theta) -> tuple[bool, sympy.Expr]:
    """Whether ``expr`` (a polynomial in cos(theta), sin(theta) and the rest) is identically zero."""
    expr = sympy.expand(expr)
    if expr == 0:
        return True, expr
    s, co = sympy.Dummy("s"), sympy.Dummy("c")
    expr = sympy.expand(expr.xreplace({sympy.sin(theta): s, sympy.cos(theta): co}))
    if s in expr.free_symbols:
        reduced = 0
        for (k,), coef in sympy.Poly(expr, s).terms():
            reduced += coef * s ** (k % 2) * (1 - co**2) ** (k // 2)
        expr = sympy.expand(reduced)
    expr = expr.xreplace({s: sympy.sin(theta), co: sympy.cos(theta)})
    return expr == 0, expr


def _short(expr, limit: int = 120) -> str:
    text = " ".join(str(expr).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _equivariance_residuals(system: PDESystem, M: sympy.Matrix, theta) -> list[tuple[str, sympy.Expr]]:
    """``N(u~)(x) - C N(u)(xi)`` per component for the affine map ``M`` over (components, axes, 1)."""
    nc, d = system.n_components, system.dimension
    C, K, bc = M[:nc, :nc], M[:nc, nc : nc + d], M[:nc, nc + d]
    Q, P, bx = M[nc : nc + d, :nc], M[nc : nc + d, nc : nc + d], M[nc : nc + d, nc + d]
    if any(e != 0 for e in Q):
        raise ValueError("moves the domain by the field's values; only point maps x -> P x + b are checked")
    xi = sympy.symbols(" ".join(f"xi_{a}" for a in system.axes), seq=True)
    U = [sympy.Function(name)(*xi) for name in system.components]
    Pinv = P.inv()
    # x = P xi + b, so d/dx_i = sum_j (P^-1)_ji d/dxi_j
    transformed = [
        sum((C[i, j] * U[j] for j in range(nc)), sympy.S.Zero) + (K * sympy.Matrix(xi))[i] + bc[i] for i in range(nc)
    ]
    x_of_xi = P * sympy.Matrix(xi) + bx

    def d_x(expr, i):
        return sum((Pinv[j, i] * sympy.diff(expr, xi[j]) for j in range(d)), sympy.S.Zero)

    def derivative(expr, alpha, chain):
        for i, a in enumerate(alpha):
            for _ in range(a):
                expr = d_x(expr, i) if chain else sympy.diff(expr, xi[i])
        return expr

    jet = system.jet()
    axis_symbols = [sympy.Symbol(a) for a in system.axes]
    free = set().union(*[e.free_symbols for e in system.equations.values()])
    used = [s for s in jet if s in free]
    lhs_sub = {s: derivative(transformed[system.components.index(jet[s][0])], jet[s][1], True) for s in used}
    lhs_sub.update({a: x_of_xi[i] for i, a in enumerate(axis_symbols)})
    rhs_sub = {s: derivative(U[system.components.index(jet[s][0])], jet[s][1], False) for s in used}
    rhs_sub.update({a: xi[i] for i, a in enumerate(axis_symbols)})
    N_tilde = [system.equations[c].xreplace(lhs_sub) for c in system.components]
    N_xi = sympy.Matrix([system.equations[c].xreplace(rhs_sub) for c in system.components])
    target = C * N_xi
    return [(c, N_tilde[i] - target[i]) for i, c in enumerate(system.components)]


def _exp_blocks(G: sympy.Matrix) -> sympy.Matrix:
    """``exp(G)``, block by block (the connected index sets of its non-zero entries), in cos and sin."""
    n = G.shape[0]
    block = list(range(n))

    def root(i):
        while block[i] != i:
            i = block[i]
        return i

    for i in range(n):
        for j in range(n):
            if G[i, j] != 0:
                block[root(i)] = root(j)
    M = sympy.eye(n)
    for r in sorted({root(i) for i in range(n)}):
        idx = [i for i in range(n) if root(i) == r]
        sub = G.extract(idx, idx)
        if len(idx) == 1 and sub[0, 0] == 0:
            continue
        E = sub.exp().applyfunc(lambda e: sympy.simplify(sympy.expand_complex(e.rewrite(sympy.cos))))
        for a, i in enumerate(idx):
            for b, j in enumerate(idx):
                M[i, j] = E[a, b]
    return M


def _group_elements(system: PDESystem, spec: str, theta):
    """(label, matrix over (components, axes, 1)) for each element and each generator's exp(theta G)."""
    names = list(system.components) + list(system.axes)
    sym = Symmetry(names, spec)
    n = len(names)
    out = []
    for g in sym.generators:
        G = sympy.zeros(n + 1, n + 1)
        for i in range(n):
            for j in range(n):
                G[i, j] = _rational(g.matrix[i, j])
            G[i, n] = _rational(g.translation[i])
        M = _exp_blocks(theta * G)
        out.append((f"generator {g.label}, element exp(theta G)", M))
    for e in sym.elements:
        M = sympy.eye(n + 1)
        for i in range(n):
            for j in range(n):
                M[i, j] = _rational(e.matrix[i, j])
        out.append((f"element {e.label}", M))
    return out


def _library_holds(system: PDESystem) -> tuple[bool, str]:
    """Whether every term is (a polynomial of degree <= degree) times at most one derivative of order
    <= derivative_order (pysindy's ``PDELibrary``), coordinates aside."""
    jet = system.jet()
    coords = {sympy.Symbol(a) for a in system.coordinates}
    params = set(system.parameter_symbols.values())
    for comp, expr in system.rhs.items():
        for term in sympy.Add.make_args(sympy.expand(expr)):
            syms = term.free_symbols - params
            unknown = syms - set(jet) - coords
            if unknown:
                return False, f"{comp}_t: term {term} has symbols {sorted(map(str, unknown))} outside the jet"
            powers = sympy.Poly(term, *sorted(syms, key=str)).monoms()[0] if syms else ()
            by = dict(zip(sorted(syms, key=str), powers))
            derivs = [(s, p) for s, p in by.items() if s in jet and any(jet[s][1])]
            poly_degree = sum(p for s, p in by.items() if s in jet and not any(jet[s][1]))
            if len(derivs) > 1 or any(p > 1 for _, p in derivs):
                return False, f"{comp}_t: term {term} has a product of derivatives"
            if derivs and sum(jet[derivs[0][0]][1]) > system.derivative_order:
                return False, f"{comp}_t: term {term} needs derivative order {sum(jet[derivs[0][0]][1])}"
            if poly_degree > system.degree:
                return False, f"{comp}_t: term {term} needs degree {poly_degree}"
    return True, ""


def check_pde_claims(system: PDESystem, specs=None) -> list:
    """Check a PDE system's claims symbolically; a list of :class:`~symsindy.catalogue.ClaimCheck`.

    Each symmetry spec (``specs``, default the system's own) is checked for all parameter values:
    for every element, and every generator's ``exp(theta G)`` at a symbolic ``theta``, the field
    ``u~(x) = C u(xi) + K xi + c`` at ``x = P xi + b`` (the components SymPy functions of ``xi``)
    must satisfy ``N(u~)(x) = C N(u)(xi)`` identically.  A translation holds exactly when the
    right-hand side has no explicit coordinate of its axis.  With ``specs=None`` the declared
    library (degree, derivative order), the explicit coordinates and the ``linear`` tag are
    checked too.
    """
    if not isinstance(system, PDESystem):
        raise ValueError(f"system: expected a PDESystem (get_pde_system), got {type(system).__name__}")
    own = specs is None
    specs = list(system.symmetries) if own else ([specs] if isinstance(specs, str) else list(specs))
    name = system.name
    theta = sympy.Symbol("theta", real=True)
    out = []
    for spec in specs:
        label = f"symmetry {spec!r}"
        try:
            elements = _group_elements(system, spec, theta)
            failure = None
            for where, M in elements:
                for comp, residual in _equivariance_residuals(system, M, theta):
                    ok, rest = _vanishes(residual, theta)
                    if not ok:
                        failure = f"{where}, equation for {comp}: N(u~) - C N(u) = {_short(rest)}, not 0"
                        break
                if failure:
                    break
        except SpecError as exc:
            reason = str(exc).removeprefix(f"{label}: ")
            message = f"system '{name}': {label} is not a valid spec: {reason}"
            out.append(ClaimCheck(name, label, False, "symbolic", message))
            continue
        except ValueError as exc:
            failure = str(exc)
        if failure:
            out.append(ClaimCheck(name, label, False, "symbolic", f"system '{name}': {label} does not hold: {failure}"))
        else:
            out.append(ClaimCheck(name, label, True, "symbolic", f"system '{name}': {label} holds"))
    if not own:
        return out
    ok, why = _library_holds(system)
    label = f"library degree {system.degree}, derivative order {system.derivative_order}"
    message = f"system '{name}': {label} " + ("holds every term" if ok else f"does not hold: {why}")
    out.append(ClaimCheck(name, label, ok, "symbolic", message))
    explicit = sorted({str(s) for e in system.rhs.values() for s in e.free_symbols} & set(system.axes))
    declared = ", ".join(system.coordinates) or "none"
    ok = explicit == sorted(system.coordinates)
    label = f"explicit coordinates ({declared})"
    found = ", ".join(explicit) or "none"
    what = f"{found}, as declared" if ok else f"{found}, not {declared} as declared"
    out.append(
        ClaimCheck(name, label, ok, "symbolic", f"system '{name}': explicit coordinates in the equations: {what}")
    )
    jet = system.jet()
    linear = all(
        sympy.Poly(e, *[s for s in jet if s in e.free_symbols]).total_degree() <= 1
        if e.free_symbols & set(jet)
        else True
        for e in system.rhs.values()
    )
    if "linear" in system.tags or linear:
        claim = "tag 'linear'"
        if linear == ("linear" in system.tags):
            message = f"system '{name}': {claim} holds (every equation is linear in the fields)"
        elif linear:
            message = f"system '{name}': {claim} is missing: every equation is linear in the fields"
        else:
            message = f"system '{name}': {claim} does not hold: an equation is nonlinear in the fields"
        out.append(ClaimCheck(name, claim, linear == ("linear" in system.tags), "symbolic", message))
    return out
