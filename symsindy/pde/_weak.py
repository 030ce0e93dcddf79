"""The weak (integral) form of a PDE ``u_t = Xi Theta(u, u_x, u_xx, ...)`` on field data.

Each equation is multiplied by a test function ``φₖ(t, x[, y])`` supported inside a box of the
space-time grid and integrated; integration by parts in time gives the rows

    ``−∫ ∂ₜφₖ u = Σⱼ ξⱼ ∫ φₖ θⱼ``,

the same coefficients as the strong form, with no time derivative of the data.  The columns
are those of pysindy's ``PDELibrary`` (``pde_terms``), in the same order, so the symmetry's
action on the terms, the equivariant subspace and the printed equations apply unchanged.

Spatial derivatives are moved onto φ by parts wherever the term allows it:

* a polynomial ``∫φ f(u)`` and the constant need no derivative;
* a pure derivative: ``∫φ ∂ᵃu = (−1)^|a| ∫ (∂ᵃφ) u``, exact;
* ``uᵏ ∂ᵢu = ∂ᵢ(uᵏ⁺¹)/(k + 1)``, so ``∫φ uᵏ uₓ = −∫ φₓ uᵏ⁺¹/(k + 1)``, exact (Burgers' ``u uₓ``);
* any other ``f(u) ∂ᵃu_c`` with ``|a| ≥ 2``: one derivative is moved,
  ``∫φ f ∂ᵢw = −∫ (∂ᵢφ) f w − ∫ φ (∂ᵢf) w`` with ``w = ∂^(a−eᵢ) u_c``, and the first integral
  is treated again by these rules (``u uₓₓ = ½ (u²)ₓₓ − uₓ²``: only first derivatives remain);
* what is left (a first derivative of one component times a polynomial in others, ``u vₓ``,
  and the remainders above) is evaluated with pysindy's finite differences inside the integral.
* with explicit coordinates (a :class:`~symsindy.pde.CoordinateLibrary`), a column ``xᵃ θ`` is
  ``θ``'s column with the test function ``φ xᵃ``: each part ``∫ ∂^β φ F`` becomes
  ``∫ ∂^β(φ xᵃ) F = Σ_γ C(β, γ) a!/(a − γ)! ∫ ∂^(β−γ) φ · x^(a−γ) F`` (Leibniz), exact, the
  coordinates multiplying the integrand on the grid.

Test functions are separable bumps ``φ = Πₐ Cₐ (1 − sₐ²)^pₐ``, ``sₐ = (zₐ − cₐ)/rₐ`` on each
axis ``a`` (time and space), normalised to unit integral, so a row of ``b`` is a local average
of ``u_t``.  Radii are whole numbers of grid steps and every box lies inside the grid, so φ
and its first ``pₐ − 1`` derivatives vanish at the box's end samples, and the trapezoid rule
(there just ``h Σ``) is spectrally accurate: on noise-free data the rows hold to quadrature
accuracy.  The derivatives of φ are exact (Leibniz's rule on ``(1 − s)^p (1 + s)^p``).  All
boxes of one system have the same size, so each integral is a separable correlation of the
integrand with one weight vector per axis, evaluated at the centres.

Radius per axis (WSINDy's rule, Messenger & Bortz, "Weak SINDy for partial differential
equations", J. Comput. Phys. 2021): the spectrum of the fields along the axis (``|FFT|``
averaged over the other axes, runs and components, each component scaled to unit standard
deviation) has a corner where the decaying signal meets the noise floor (the breakpoint of
two chords fitted to its cumulative sum, as for time series in :mod:`symsindy.weak`); the
radius ``m`` (in samples) and the exponent ``p`` put that corner ``τ̂ = 2`` standard
deviations out in φ's Fourier transform, with ``φ = τ = 1e-10`` at the samples next to the
box's ends.  The radius is clipped to ``[6, (N − 1) // 4]`` samples on an axis of
``N`` samples (at least half the positions along the axis are possible centres), and ``p``
is at least the highest derivative moved onto φ along that axis plus one.  A number
(or one per axis, by name, ``"t"`` for time) overrides the rule.

Centres are drawn at random without replacement among the grid points where a box fits
(a ``numpy.random.Generator`` from ``random_state``; NumPy's global state is not touched),
spread over the runs in proportion to their positions; ``n_test`` of them in all
(default 600, or every position when there are fewer).

The system is built here rather than with pysindy's ``WeakPDELibrary``, by measurement
(``benchmarks/bench_pde_weak.py``, Burgers and Ginzburg–Landau, 5 seeds): on noise-free fields
its rows hold with the true coefficients to 3e-6 (Burgers) and 2e-8 (Ginzburg–Landau) relative
residual against pysindy's 5e-3 and 1e-6 (pysindy integrates ``u uₓ`` with a finite-difference
``uₓ`` and piecewise-linear quadrature); with the same radii and 600 boxes both recover the true
support equally often under 1–10 % noise (pysindy's coefficient errors are up to 2.5 times
smaller on noisy Burgers, 0.006 against 0.016 at 5 %), pysindy at its defaults (100 boxes of
half-width L/20) finds Burgers' support in 3/5 and 1/5 fits at 5 and 10 % noise; and the rows
take 0.08 s instead of 3.3 s.  It also leaves NumPy's global random state alone.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pysindy as ps
from scipy.ndimage import correlate1d
from scipy.special import beta as _beta

from ..weak import WeakFormUnavailable, _chord_breakpoint, _p_for_width, _width_for_corner
from ._data import FieldData

__all__ = ["FieldWeakSystem", "field_weak_system", "field_widths"]

#: test functions (rows per component) of the weak system unless ``n_test`` says otherwise
DEFAULT_N_TEST = 600
# The corner fit needs a few spectral bins on each side of its breakpoint.
_MIN_CORNER_BINS = 8


# ----------------------------------------------------------------------------- the width rule
def _axis_spectrum(data: FieldData, axis: int) -> np.ndarray:
    """Mean ``|FFT|`` along array axis ``axis`` (0 = time) of every run, bins 1 … N//2."""
    total, count = None, 0
    for u in data.u:
        scale = u.reshape(-1, u.shape[-1]).std(axis=0)
        v = (u - u.mean(axis=axis, keepdims=True)) / np.where(scale > 0, scale, 1.0)
        amp = np.abs(np.fft.rfft(v, axis=axis))
        amp = np.moveaxis(amp, axis, 0)[1 : u.shape[axis] // 2 + 1]
        amp = amp.reshape(amp.shape[0], -1).mean(axis=1)
        total = amp if total is None else total[: len(amp)] + amp[: len(total)]
        count += 1
    return total / count


def _corner(spectrum: np.ndarray) -> float:
    n = len(spectrum)
    freq = np.arange(n, 0, -1, dtype=float)  # Nyquist first
    y = np.cumsum(spectrum[::-1])
    if n < _MIN_CORNER_BINS or not y[-1] > 0:
        return math.nan
    return float(freq[_chord_breakpoint(freq, y)])


def field_widths(data: FieldData, *, tau: float = 1e-10, tau_hat: float = 2.0, min_width: int = 6) -> dict:
    """The width rule's radius (in samples) and corner of every axis of ``data``.

    Parameters
    ----------
    data : FieldData
    tau, tau_hat : float, default 1e-10 and 2
        φ at the samples next to the box's ends; the corner's place in standard deviations of
        φ's Fourier transform (WSINDy's values).
    min_width : int, default 6
        Smallest radius in samples.

    Returns
    -------
    dict
        Keyed by axis name (``"t"`` and the spatial axes), each ``{"corner": k, "width": m,
        "p": p, "asked": m_rule}``: the corner in FFT bins (NaN when the axis is too short for
        the fit, then the radius is ``min_width``), the radius used after clipping, the
        exponent the τ condition gives for it, and the radius the rule asked for.
    """
    out = {}
    for i, name in enumerate(["t"] + list(data.axes)):
        n = min(u.shape[i] for u in data.u)
        k = _corner(_axis_spectrum(data, i))
        asked = min_width if math.isnan(k) else _width_for_corner(k, n, tau, tau_hat)
        top = max((n - 1) // 4, 1)
        m = int(min(max(math.ceil(asked), min_width), top))
        out[name] = {"corner": k, "width": m, "p": _p_for_width(max(m, 2), tau), "asked": float(asked)}
    return out


def _exponent(m: int, corner: float, n: int, need: int, tau: float = 1e-10, tau_hat: float = 2.0) -> int:
    """The exponent of a bump of radius ``m`` samples on an axis of ``n``: the τ condition's, or
    less where the radius is smaller than the corner asks for.

    Where the rule's radius was used, both agree.  Where it was clipped (or given) below what the
    corner asks for, the τ condition's exponent would make the bump narrower still; the exponent
    that keeps the corner ``τ̂`` standard deviations out, ``p = ((2π k* m / (τ̂ N))² − 3) / 2``, is
    smaller and is used instead.  At least ``need + 2`` and 4: the derivatives moved onto φ then
    vanish at the box's ends with a continuous derivative, which the trapezoid rule needs (at
    p = 3 the noise-free residual of Burgers' rows is 1e-2 to 4e-1 for radii of 6 to 10 samples,
    at p = 4 it is 1e-2 to 4e-4).
    """
    p = _p_for_width(max(m, 2), tau)
    if not math.isnan(corner):
        p = min(p, ((2 * math.pi * corner * m / (tau_hat * n)) ** 2 - 3) / 2)
    return int(max(need + 2, 4, math.floor(p)))


# ----------------------------------------------------------------------------- test functions
def _bump_derivative(s: np.ndarray, p: int, d: int) -> np.ndarray:
    """``d``-th derivative of ``(1 − s²)^p`` on ``|s| ≤ 1``: Leibniz on ``(1 − s)^p (1 + s)^p``.

    Every term is a product of non-negative powers, so the values near ``|s| = 1`` carry no
    cancellation (the expanded polynomial's binomial coefficients would).
    """
    a, b = 1.0 - s, 1.0 + s
    out = np.zeros_like(s)
    for j in range(min(d, p) + 1):
        if d - j > p:
            continue
        left = (-1) ** j * math.perm(p, j) * a ** (p - j)
        right = math.perm(p, d - j) * b ** (p - d + j)
        out += math.comb(d, j) * left * right
    return out


def _axis_weights(m: int, h: float, p: int, d: int) -> np.ndarray:
    """Trapezoid weights ``h ∂^d ψ`` at the ``2m + 1`` samples of a box, ψ of unit integral."""
    s = np.arange(-m, m + 1) / m
    r = m * h
    norm = 1.0 / (r * _beta(0.5, p + 1.0))
    return h * norm * _bump_derivative(s, p, d) / r**d


# ----------------------------------------------------------------------------- the columns
def _unit(n: int, i: int) -> tuple:
    return tuple(1 if j == i else 0 for j in range(n))


def _add(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b))


def _sub(a: tuple, b: tuple) -> tuple:
    return tuple(x - y for x, y in zip(a, b))


def _moved(beta, alpha, a, c, sign, ncomp):
    """``sign ∫ ∂^beta φ · u^alpha · ∂^a u_c`` as parts ``(sign, beta, alpha, factors)``.

    ``factors`` are the derivatives (component, multi-index) taken by finite differences; each
    part is ``sign ∫ ∂^beta φ · u^alpha · Π factors``.
    """
    order = sum(a)
    if order == 0:
        return [(sign, beta, _add(alpha, _unit(ncomp, c)), ())]
    if not any(alpha):
        return [(sign * (-1) ** order, _add(beta, a), _unit(ncomp, c), ())]
    k = alpha[c]
    if order == 1 and k == sum(alpha):  # u^k ∂_i u = ∂_i(u^(k+1)) / (k + 1)
        return [(-sign / (k + 1), _add(beta, a), _add(alpha, _unit(ncomp, c)), ())]
    if order == 1:
        return [(sign, beta, alpha, ((c, a),))]
    i = next(j for j, v in enumerate(a) if v)
    ei = _unit(len(a), i)
    rest = _sub(a, ei)
    parts = _moved(_add(beta, ei), alpha, rest, c, -sign, ncomp)
    for d, power in enumerate(alpha):
        if power:
            parts.append((-sign * power, beta, _sub(alpha, _unit(ncomp, d)), ((d, ei), (c, rest))))
    return parts


def _column_parts(library, ncomp: int, ndim: int) -> list:
    """Every library column (``pde_terms`` order) as a list of integral parts
    ``(sign, beta, alpha, factors, gamma)``: ``sign ∫ ∂^beta φ · x^gamma · u^alpha · Π factors``
    (see ``_moved``; ``gamma`` the exponents of the coordinates, zero without them)."""
    from ._library import CoordinateLibrary

    zero_x = (0,) * ndim
    if isinstance(library, CoordinateLibrary):
        # ∫ φ x^a θ = Σ sign ∫ ∂^beta(φ x^a) F, and by Leibniz
        # ∂^beta(φ x^a) = Σ_{g <= beta, a} C(beta, g) a!/(a - g)! ∂^(beta - g) φ x^(a - g)
        base = _column_parts(library.base, ncomp, ndim)
        cols = []
        for a in library.coordinate_powers_:
            a = tuple(int(v) for v in a)
            for col in base:
                parts = []
                for sign, beta, alpha, factors, _ in col:
                    for g in np.ndindex(*[min(bi, ai) + 1 for bi, ai in zip(beta, a)]):
                        c = math.prod(math.comb(bi, gi) * math.perm(ai, gi) for bi, gi, ai in zip(beta, g, a))
                        parts.append((sign * c, _sub(beta, g), alpha, factors, _sub(a, g)))
                cols.append(parts)
        if len(cols) != library.n_output_features_:
            raise ValueError("weak form: the library's columns do not match its structure (an unsupported option)")
        return cols
    zero_c = (0,) * ncomp
    powers = [tuple(int(v) for v in row) for row in np.atleast_2d(library.function_library.powers_)]
    multi = [tuple(int(v) for v in row) for row in np.atleast_2d(np.asarray(library.multiindices))]
    cols = []
    if library.include_bias:
        cols.append([(1.0, zero_x, zero_c, ())])
    cols += [[(1.0, zero_x, alpha, ())] for alpha in powers]
    derivs = [(m, c) for m in multi for c in range(ncomp)]
    cols += [_moved(zero_x, zero_c, m, c, 1.0, ncomp) for m, c in derivs]
    if library.include_interaction and powers and derivs:
        cols += [_moved(zero_x, alpha, m, c, 1.0, ncomp) for m, c in derivs for alpha in powers]
    if len(cols) != library.n_output_features_:
        raise ValueError("weak form: the library's columns do not match its structure (an unsupported option)")
    return [[part + (zero_x,) for part in col] for col in cols]


# ----------------------------------------------------------------------------- the system
@dataclass
class FieldWeakSystem:
    """The weak rows ``b ≈ G Ξᵀ`` of field data (one row per test function).

    Attributes
    ----------
    G : (K, p) array
        ``∫ φₖ θⱼ``, columns in the library's (``pde_terms``) order.
    b : (K, ncomp) array
        ``−∫ ∂ₜφₖ u``.
    centers : (K, 2 + ndim) int array
        Run, time index and grid indices of each test function's centre.
    widths : dict
        Radius in samples per axis (``"t"`` and the spatial axes).
    p : dict
        Exponent per axis.
    rule : dict or None
        :func:`field_widths`'s numbers, when some radius came from the data.
    exact : (p,) bool array
        Columns whose integrals need no finite difference (all derivatives moved onto φ).
    n_positions : int
        How many centres were possible (the boxes that fit, over all runs).
    """

    G: np.ndarray
    b: np.ndarray
    centers: np.ndarray
    widths: dict
    p: dict
    rule: dict | None
    exact: np.ndarray
    n_positions: int

    @property
    def n_test(self) -> int:
        return len(self.G)


def _check_count(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} {value!r}: expected 'auto' or an integer >= {minimum}")
    return int(value)


def _per_axis(name, value, axes, minimum):
    """``value`` ("auto", a number, or a dict by axis name) as a dict of axis → number or None."""
    if isinstance(value, str) and value == "auto" or value is None:
        return dict.fromkeys(axes)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(axes))
        if unknown:
            raise ValueError(f"{name}: unknown axis {unknown[0]!r}; axes are {', '.join(axes)}")
        return {
            a: None if value.get(a, "auto") == "auto" else _check_count(f"{name}[{a!r}]", value[a], minimum)
            for a in axes
        }
    return dict.fromkeys(axes, _check_count(name, value, minimum))


def field_weak_system(
    data: FieldData,
    library,
    *,
    n_test="auto",
    width="auto",
    p="auto",
    random_state=0,
    min_width: int = 6,
) -> FieldWeakSystem:
    """The weak system of ``data`` for a fitted ``PDELibrary`` on its grid (module docstring).

    Parameters
    ----------
    data : FieldData
        Runs on a uniform grid with a common time step.
    library : fitted pysindy ``PDELibrary``
        As ``pde_library`` builds it (polynomial function library).
    n_test : "auto" or int, default "auto"
        Test functions in all; ``"auto"``: ``DEFAULT_N_TEST`` (600), or every possible centre
        when there are fewer.
    width : "auto", int or dict, default "auto"
        Radius in samples: one for every axis, or by axis name (``"t"`` for time; axes left out
        follow the rule).
    p : "auto", int or dict, default "auto"
        Exponent of each axis's bump; ``"auto"``: from the radius (φ = 1e-10 next to the ends),
        at least the order of the derivatives moved onto φ plus one.
    random_state : int, Generator, SeedSequence or None, default 0
        Seeds the choice of centres.
    min_width : int, default 6
        Smallest radius the rule may choose, in samples.

    Raises
    ------
    symsindy.weak.WeakFormUnavailable
        A ``ValueError`` naming the axis, when the grid is too small for the test functions.
    """
    if not isinstance(data, FieldData):
        raise ValueError(f"data: expected FieldData (symsindy.pde.read_fields), got {type(data).__name__}")
    axes = ["t"] + list(data.axes)
    ndim = len(data.axes)
    ncomp = data.n_components
    n_test = None if isinstance(n_test, str) and n_test == "auto" else _check_count("n_test", n_test)
    widths = _per_axis("width", width, axes, 1)
    powers = _per_axis("p", p, axes, 1)
    min_width = _check_count("min_width", min_width)
    steps = {"t": data.time_step(), **{a: data.spacing(a) for a in data.axes}}
    sizes = {a: min(u.shape[i] for u in data.u) for i, a in enumerate(axes)}

    parts = _column_parts(library, ncomp, ndim)
    # the order of derivative moved onto φ along each spatial axis (p must exceed it)
    moved = [max(beta[i] for col in parts for _, beta, _, _, _ in col) for i in range(ndim)]
    need = {"t": 1, **{a: moved[i] for i, a in enumerate(data.axes)}}

    for a in axes:
        top = (sizes[a] - 1) // 2
        if widths[a] is not None and widths[a] > top:
            raise WeakFormUnavailable(
                f"axis {a!r} has {sizes[a]} samples; a test function of radius {widths[a]} needs at least "
                f"{2 * widths[a] + 1}"
            )
        if widths[a] is None and sizes[a] < 4 * min_width + 1:
            raise WeakFormUnavailable(
                f"axis {a!r} has {sizes[a]} samples; the weak form's test functions (radius at least {min_width}, "
                f"at most a quarter of the axis) need at least {4 * min_width + 1}"
            )
    rule = None
    if any(widths[a] is None or powers[a] is None for a in axes):
        rule = field_widths(data, min_width=min_width)
        widths = {a: rule[a]["width"] if widths[a] is None else widths[a] for a in axes}
    for a in axes:
        if powers[a] is None:
            powers[a] = _exponent(widths[a], rule[a]["corner"], sizes[a], need[a])
        elif powers[a] <= need[a]:
            raise ValueError(
                f"p[{a!r}] {powers[a]}: the weak form moves derivatives of order {need[a]} onto the test function "
                f"along {a!r}; expected p >= {need[a] + 1}"
            )

    # possible centres: the grid points where the box fits, in every run
    ranges = []
    for u in data.u:
        ranges.append([(widths[a], u.shape[i] - 1 - widths[a]) for i, a in enumerate(axes)])
    counts = np.array([math.prod(hi - lo + 1 for lo, hi in r) for r in ranges])
    total = int(counts.sum())
    k = min(total, DEFAULT_N_TEST if n_test is None else n_test)
    rng = np.random.default_rng(random_state)
    flat = np.sort(rng.choice(total, size=k, replace=False))
    run = np.searchsorted(np.cumsum(counts), flat, side="right")
    local = flat - np.concatenate([[0], np.cumsum(counts)[:-1]])[run]
    centers = np.zeros((k, 2 + ndim), dtype=int)
    centers[:, 0] = run
    for j in range(k):
        lengths = [hi - lo + 1 for lo, hi in ranges[run[j]]]
        idx = np.unravel_index(local[j], lengths)
        centers[j, 1:] = [lo + i for (lo, _), i in zip(ranges[run[j]], idx)]

    weights = {
        (a, d): _axis_weights(widths[a], steps[a], powers[a], d) for a in axes for d in range(max(1, need[a]) + 1)
    }
    # group the integrands by the derivative of φ they meet
    by_beta: dict = {}
    for j, col in enumerate(parts):
        for sign, beta, alpha, factors, gamma in col:
            by_beta.setdefault(beta, []).append((j, sign, alpha, factors, gamma))

    G = np.zeros((k, len(parts)))
    b = np.zeros((k, ncomp))
    spacings = [data.grid[a] for a in data.axes]
    mesh = np.meshgrid(*spacings, indexing="ij")
    for r, u in enumerate(data.u):
        rows = np.flatnonzero(centers[:, 0] == r)
        if not len(rows):
            continue
        where = tuple(centers[rows, 1 + i] for i in range(1 + ndim))
        b[rows] = -_integrate(u, [weights[("t", 1)]] + [weights[(a, 0)] for a in data.axes], where)
        derivatives: dict = {}
        for beta, items in by_beta.items():
            stack = np.empty(u.shape[:-1] + (len(items),))
            for q, (_, _, alpha, factors, gamma) in enumerate(items):
                f = np.ones(u.shape[:-1])
                for x, power in zip(mesh, gamma):
                    if power:
                        f = f * x**power
                for c, power in enumerate(alpha):
                    if power:
                        f = f * u[..., c] ** power
                for c, mi in factors:
                    if (c, mi) not in derivatives:
                        derivatives[(c, mi)] = _finite_difference(u[..., c], mi, spacings)
                    f = f * derivatives[(c, mi)]
                stack[..., q] = f
            kernels = [weights[("t", 0)]] + [weights[(a, d)] for a, d in zip(data.axes, beta)]
            vals = _integrate(stack, kernels, where)
            for q, (j, sign, _, _, _) in enumerate(items):
                G[rows, j] += sign * vals[:, q]
    exact = np.array([all(not factors for _, _, _, factors, _ in col) for col in parts])
    return FieldWeakSystem(
        G=G,
        b=b,
        centers=centers,
        widths=dict(widths),
        p={a: int(v) for a, v in powers.items()},
        rule=rule,
        exact=exact,
        n_positions=total,
    )


def _integrate(fields: np.ndarray, kernels: list, where: tuple) -> np.ndarray:
    """Σ over each box of the product of the axes' weights times ``fields`` (its last axis
    stacks integrands), at the box centres ``where``: one separable correlation per axis."""
    out = fields
    for i, w in enumerate(kernels):
        out = correlate1d(out, w, axis=i, mode="constant")
    return out[where]


def _finite_difference(f: np.ndarray, multiindex: tuple, grids: list) -> np.ndarray:
    """``∂^multiindex f`` of a (nt, nx[, ny]) field by pysindy's finite differences (as ``PDELibrary``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, order in enumerate(multiindex):
            if order:
                f = np.asarray(ps.FiniteDifference(d=order, axis=1 + i)._differentiate(f, grids[i]))
    return f
