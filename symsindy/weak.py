"""Weak (integral) form of SINDy: test-function rows instead of pointwise derivatives.

For a test function φₖ supported inside a trajectory's time span, integration by parts
gives ∫φₖ ẋ dt = −∫φₖ′ x dt, so with quadrature weights wᵢ (trapezoid rule on the sample
times) ``b = −V′X`` and ``G = V Θ(X)``, ``V[k, i] = wᵢ φₖ(tᵢ)``, ``V′[k, i] = wᵢ φₖ′(tᵢ)``,
satisfy ``b ≈ G Ξ`` with the same coefficients Ξ as the strong form ``Ẋ ≈ Θ(X) Ξ``.
Noise enters only through integrals; Θ is evaluated on the raw samples.  This module is
library-agnostic: it builds V and V′ and multiplies by whatever ``features`` returns
(:class:`~symsindy.model.SymmetricSINDy` passes a polynomial library's columns as
:func:`noise_corrected_monomials`, whose expectations are the clean monomials).

Test functions are bumps ``φ(t) = C (1 − s²)^p``, ``s = (t − c)/r`` on ``[c − r, c + r]``,
normalised to unit integral (``C = 1 / (r B(½, p + 1))``), so a row of ``b`` is a local
weighted average of ẋ and rows are comparable across trajectories and widths.  Centres are
evenly spaced and every support lies inside ``[t₀, t_end]``; on uniform times both ends of
every support are samples, where φ and its first p − 1 derivatives vanish, which makes the
trapezoid rule spectrally accurate.

Width rule (from WSINDy: Messenger & Bortz, "Weak SINDy for partial differential
equations", J. Comput. Phys. 2021; the ODE method is their "Weak SINDy: Galerkin-based
data-driven model selection", Multiscale Model. Simul. 2021):

1. Spectral corner: the cumulative sum of ``|FFT|`` of each variable, from the Nyquist frequency
   down to the lowest nonzero one, is fitted by two chords meeting at a breakpoint (least
   relative squared error); the breakpoint k* (in cycles per record of N samples) separates
   the flat noise floor from the decaying signal.
2. Radius m (in samples) and exponent p solve, together,
   ``(1 − (1 − 1/m)²)^p = τ`` (φ is τ at the samples next to the ends of its support) and
   ``2π k* m = τ̂ N √(2p + 3)`` (the corner lies τ̂ standard deviations out in the Fourier
   transform of φ, approximated by the Gaussian of equal variance r²/(2p + 3)).
   Defaults τ = 1e-10, τ̂ = 2, as in WSINDy.  The radius is the mean over variables, rounded up
   and clipped to the trajectory; p = ⌊log τ / log(1 − (1 − 1/m)²)⌋, at least 3.

More noise lowers the corner and widens the test functions.  Non-uniform times are
linearly interpolated onto a uniform grid of the same size only to compute the spectrum
(there the trapezoid rule is second order; ``WeakForm(quadrature="cubic")`` is fourth).
Every choice can be fixed by a number (``WeakForm(width=, n_test=, p=)``).  A trajectory too
short for a test function is skipped with its reason; if none can host one,
:func:`weak_system` raises :class:`WeakFormUnavailable` (a ``ValueError``).

Covariance of the residual (WENDy: Bortz, Messenger & Dukic, "Direct estimation of parameters in
ODE models using WENDy", Bull. Math. Biol. 2023).  With states ``x + ε`` (independent noise of
standard deviation σⱼ in variable j), the residual of equation i is to first order
``rᵢ = −Σⱼ Lᵢⱼ εⱼ``, ``Lᵢⱼ = δᵢⱼ V′ + V diag(∂ⱼfᵢ(x(tₘ)))``, so ``Cov(rᵢ, rₖ) = Σⱼ σⱼ² Lᵢⱼ Lₖⱼᵀ``.
Overlapping test functions make the rows strongly correlated; :func:`whitened_system` divides the
stacked system by the Cholesky factor of that covariance (generalised least squares), with f the
full least-squares model and σ from :func:`estimate_noise`.  Rows are ordered test function by
test function (all equations of one test function together), so the covariance is banded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
from scipy import sparse
from scipy.optimize import brentq
from scipy.special import beta as _beta

__all__ = [
    "WeakForm",
    "TestFunctions",
    "WeakSystem",
    "WidthChoice",
    "WeakFormUnavailable",
    "spectral_corner",
    "select_width",
    "weak_system",
    "estimate_noise",
    "residual_covariance",
    "whitened_system",
    "WhitenedSystem",
    "noise_corrected_monomials",
    "pooled_noise",
    "resolved_noise",
]

# Sample times count as uniform when every step is within this relative distance of the mean step.
_UNIFORM_RTOL = 1e-6
# The corner fit needs a few spectral bins on each side of the breakpoint.
_MIN_CORNER_BINS = 8


def skipped_text(skipped, limit: int = 3) -> str:
    """``(trajectory, reason)`` pairs as one short line: the first ``limit`` and a count of the rest."""
    head = "; ".join(f"trajectory {j}: {why}" for j, why in skipped[:limit])
    rest = len(skipped) - limit
    return head + (f"; and {rest} more trajectories" if rest > 0 else "")


class WeakFormUnavailable(ValueError):
    """No trajectory (or not this one) is long enough to host a test function."""


# ----------------------------------------------------------------------------- the width rule
def spectral_corner(x) -> np.ndarray:
    """Spectral corner of each column of uniformly sampled data.

    The cumulative sum of ``|FFT|`` from the Nyquist bin down to bin 1 (the mean is left out)
    is approximated by two chords meeting at a breakpoint; the breakpoint with the least
    relative squared error is the corner (WSINDy's rule).

    Parameters
    ----------
    x : (N,) or (N, n) array
        Uniformly sampled signal(s).

    Returns
    -------
    (n,) float array
        Corner frequency of each column in FFT bins (cycles per record of N samples; divide by
        ``N dt`` for cycles per unit time).  NaN for a column with no variation.
    """
    x = _finite_2d(x)
    N = x.shape[0]
    n_bins = N // 2
    if n_bins < _MIN_CORNER_BINS:
        raise ValueError(
            f"x: {N} samples give {n_bins} frequency bins; the corner fit needs at least {_MIN_CORNER_BINS}"
        )
    amplitude = np.abs(np.fft.rfft(x, axis=0))[1 : n_bins + 1]
    freq = np.arange(n_bins, 0, -1, dtype=float)  # Nyquist first
    out = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        y = np.cumsum(amplitude[::-1, j])
        if not y[-1] > 0 or not np.all(np.isfinite(y)):
            continue
        out[j] = freq[_chord_breakpoint(freq, y)]
    return out


def _chord_breakpoint(f: np.ndarray, y: np.ndarray) -> int:
    """Index q minimising the relative squared error of chords (0→q) and (q→end) to y."""
    # Relative errors (y_i ≤ 0 only where the spectrum is exactly zero: give those no weight).
    a = np.where(y > 0, 1.0 / np.maximum(y, np.finfo(float).tiny) ** 2, 0.0)
    a = np.minimum(a, 1.0 / (1e-300 + (1e-12 * y[-1]) ** 2))
    n = len(y)
    # Prefix sums of a·[1, f, f², y, f y, y²] give each chord's error in O(1).
    S = np.zeros((6, n + 1))
    S[:, 1:] = np.cumsum(np.stack([a, a * f, a * f * f, a * y, a * f * y, a * y * y]), axis=1)

    def chord_error(i0, i1):  # chord from point i0 to i1 (arrays), over points i0..i1 inclusive
        slope = (y[i1] - y[i0]) / (f[i1] - f[i0])
        icpt = y[i0] - slope * f[i0]
        s = S[:, i1 + 1] - S[:, i0]
        return icpt**2 * s[0] + 2 * icpt * slope * s[1] + slope**2 * s[2] - 2 * icpt * s[3] - 2 * slope * s[4] + s[5]

    q = np.arange(3, n - 3)
    err = chord_error(np.zeros_like(q), q) + chord_error(q, np.full_like(q, n - 1))
    return int(q[np.argmin(err)])


def _p_for_width(m: float, tau: float) -> float:
    # φ = τ at the samples next to the support ends: (1 − (1 − 1/m)²)^p = τ.
    return math.log(tau) / math.log(1.0 - (1.0 - 1.0 / m) ** 2)


def _width_for_corner(k: float, N: int, tau: float, tau_hat: float, p=None) -> float:
    """Radius m (samples) putting corner bin k at τ̂ standard deviations of φ's transform."""
    if p is not None:
        return tau_hat * N * math.sqrt(2 * p + 3) / (2 * math.pi * k)

    def gap(m):
        return (2 * math.pi * k * m) ** 2 - (tau_hat * N) ** 2 * (2 * _p_for_width(m, tau) + 3)

    lo, hi = 1.0 + 1e-9, 2.0
    while gap(hi) < 0:
        lo, hi = hi, 2 * hi
    return brentq(gap, lo, hi, xtol=1e-6)


@dataclass(frozen=True)
class WidthChoice:
    """The width rule's numbers for one trajectory (see the module docstring).

    Attributes
    ----------
    corner_index : (n,) array
        Corner of each variable in FFT bins of the (interpolated) uniform grid; NaN if constant.
    corner_frequency : (n,) array
        The same in cycles per unit time.
    widths : (n,) array
        Radius in samples each variable asks for.
    width : int
        Radius used, in samples: the mean of ``widths`` rounded up, clipped to the trajectory.
    p : float
        Exponent used.
    dt : float
        Step of the grid the spectrum was computed on.
    clipped : bool
        Whether the rule asked for more than the trajectory can host.
    """

    corner_index: np.ndarray
    corner_frequency: np.ndarray
    widths: np.ndarray
    width: int
    p: float
    dt: float
    clipped: bool

    @property
    def radius(self) -> float:
        """Radius in time units, ``width * dt``."""
        return self.width * self.dt


def select_width(t, x, *, p="auto", tau=1e-10, tau_hat=2.0, min_width=8, max_width=None) -> WidthChoice:
    """WSINDy's spectral-corner rule for the test-function radius and exponent of one trajectory.

    Parameters
    ----------
    t : (N,) array or float
        Sample times or a time step.  Non-uniform times are interpolated onto a uniform grid.
    x : (N, n) array
    p : "auto" or float, default "auto"
        Fixed exponent; then the radius is ``τ̂ N √(2p + 3) / (2π k*)`` samples.
    tau, tau_hat : float, default 1e-10 and 2
        Value of φ at the samples next to its support ends; corner position in standard
        deviations of φ's Fourier transform.
    min_width : int, default 8
        Smallest radius in samples (narrower bumps are under-resolved by the quadrature).
    max_width : int, optional
        Largest radius in samples; default ``(N - 1) // 2``, a single test function.
    """
    t, x = _check_trajectory(t, x)
    tau, tau_hat = _check_positive("tau", tau, upper=1.0), _check_positive("tau_hat", tau_hat)
    if p != "auto":
        p = _check_p(p)
    if not (_is_int(min_width) and min_width >= 1):
        raise ValueError(f"min_width: expected a positive integer, got {min_width!r}")
    if max_width is not None and not (_is_int(max_width) and max_width >= min_width):
        raise ValueError(f"max_width: expected an integer of at least min_width={min_width}, got {max_width!r}")
    N = len(t)
    top = (N - 1) // 2
    if top < min_width:
        raise WeakFormUnavailable(
            f"trajectory has {N} samples; a test function of radius {min_width} samples needs at least {2 * min_width + 1}"
        )
    top = top if max_width is None else min(top, max_width)
    dt = (t[-1] - t[0]) / (N - 1)
    grid_x = x if _is_uniform(t) else _interpolate(t, x, N)
    corners = spectral_corner(grid_x)
    widths = np.array(
        [np.nan if np.isnan(k) else _width_for_corner(k, N, tau, tau_hat, None if p == "auto" else p) for k in corners]
    )
    asked = math.ceil(np.nanmean(widths)) if np.any(np.isfinite(widths)) else min_width
    width = int(min(max(asked, min_width), top))
    p_used = max(3, math.floor(_p_for_width(width, tau))) if p == "auto" else p
    return WidthChoice(
        corner_index=corners,
        corner_frequency=corners / (N * dt),
        widths=widths,
        width=width,
        p=float(p_used),
        dt=float(dt),
        clipped=bool(asked > top),
    )


# ----------------------------------------------------------------------------- test functions
@dataclass(frozen=True)
class TestFunctions:
    """Bumps ``C (1 − s²)^p``, ``s = (t − c)/r``, of one trajectory, with their quadrature.

    Attributes
    ----------
    t : (m,) array
        Sample times.
    centers : (K,) array
    radius : float
        Half-width r in time units.
    p : float
    width : float
        Radius in samples (in mean sampling steps for non-uniform times).
    uniform : bool
        Whether the times are uniform (then support ends are samples).
    rule : WidthChoice or None
        The width rule's numbers, when the width was chosen from the data.
    quadrature : {"trapezoid", "cubic"}
        Weights on non-uniform times (uniform times always use the trapezoid rule).
    """

    __test__ = False  # not a pytest class despite the name

    t: np.ndarray
    centers: np.ndarray
    radius: float
    p: float
    width: float
    uniform: bool
    rule: WidthChoice | None = None
    quadrature: str = "trapezoid"

    @property
    def n_test(self) -> int:
        return len(self.centers)

    @property
    def weights(self) -> np.ndarray:
        """Quadrature weights of the sample times (see :class:`WeakForm`'s ``quadrature``)."""
        return _quadrature_weights(self.t, self.quadrature)

    def _norm(self) -> float:
        return 1.0 / (self.radius * _beta(0.5, self.p + 1.0))

    def evaluate(self, times) -> tuple[np.ndarray, np.ndarray]:
        """Dense ``(φₖ(τ), φₖ′(τ))``, each ``(K, len(times))``, at arbitrary times (no weights)."""
        tq = np.asarray(times, dtype=float).ravel()
        s = (tq[None, :] - self.centers[:, None]) / self.radius
        inside = np.abs(s) < 1
        base = np.where(inside, 1.0 - s * s, 0.0)
        c = self._norm()
        phi = c * base**self.p
        dphi = np.where(inside, -2.0 * c * self.p * s * base ** (self.p - 1) / self.radius, 0.0)
        return phi, dphi

    def matrices(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Sparse ``(V, V′)``, each ``(K, m)``: ``V[k, i] = wᵢ φₖ(tᵢ)``, ``V′[k, i] = wᵢ φₖ′(tᵢ)``."""
        t, c, r = self.t, self.centers, self.radius
        lo = np.searchsorted(t, c - r, side="left")
        hi = np.searchsorted(t, c + r, side="right")
        counts = hi - lo
        rows = np.repeat(np.arange(len(c)), counts)
        starts = np.cumsum(counts) - counts
        cols = np.arange(counts.sum()) - np.repeat(starts, counts) + np.repeat(lo, counts)
        s = np.clip((t[cols] - c[rows]) / r, -1.0, 1.0)
        base = 1.0 - s * s
        norm = self._norm()
        w = self.weights[cols]
        phi = w * norm * base**self.p
        dphi = w * (-2.0 * norm * self.p / r) * s * base ** (self.p - 1)
        shape = (len(c), len(t))
        V = sparse.csr_matrix((phi, (rows, cols)), shape=shape)
        Vd = sparse.csr_matrix((dphi, (rows, cols)), shape=shape)
        return V, Vd


class WeakForm:
    """How to choose test functions for the weak form (scikit-learn style: ``__init__`` only stores).

    Parameters
    ----------
    n_test : "auto" or int, default "auto"
        Test functions per trajectory.  ``"auto"``: centres ``spacing`` radii apart (about
        ``(span - 2r) / (spacing r)`` of them).  On uniform times centres are samples, so at
        most ``m - 2 width`` distinct ones fit; a larger number is reduced to that.
    width : "auto" or float, default "auto"
        Radius of the test functions in samples (in mean sampling steps ``span / (m - 1)`` for
        non-uniform times); on uniform times it is rounded to a whole number of samples.  A
        trajectory of fewer than ``2 width + 1`` samples cannot host it (see ``test_functions``).
        ``"auto"``: :func:`select_width`.
    p : "auto" or float, default "auto"
        Exponent of ``(1 − s²)^p`` (at least 1).  ``"auto"``: from the width by the τ condition.
    spacing : float, default 0.25
        Distance between neighbouring centres in radii, for ``n_test="auto"``.
    tau, tau_hat : float, default 1e-10 and 2.0
        Parameters of the width rule (:func:`select_width`).
    min_width : int, default 8
        Smallest automatic radius in samples; a trajectory of fewer than ``2 min_width + 1``
        samples cannot host a test function under the automatic rule.
    quadrature : {"trapezoid", "cubic"}, default "trapezoid"
        Weights wᵢ on non-uniform times: the trapezoid rule (error O(h²)), or, per interval,
        the exact integral of the cubic through the four nearest samples (O(h⁴); 30 to 100
        times smaller residuals on randomly sampled Lorenz data).  Uniform times always use the
        trapezoid rule, which is spectrally accurate there for these bumps.
    gls : bool, default True
        Regress by generalised least squares with the residual's covariance
        (:func:`whitened_system`; the module docstring gives the model) instead of ordinary
        least squares on the correlated rows.  Used by :class:`~symsindy.model.SymmetricSINDy`.
    noise : "auto" or float or (n,) array, default "auto"
        Noise standard deviation of the states (one number, or one per variable) for ``gls``
        and ``bias_correction``; ``"auto"``: :func:`estimate_noise` of each trajectory, pooled.
    bias_correction : bool, default True
        For a pysindy ``PolynomialLibrary``, integrate the noise-corrected monomials
        (:func:`noise_corrected_monomials`) instead of the monomials of the noisy samples, so that
        ``G`` is an unbiased estimate of ``V Θ(x)`` under independent Gaussian noise of standard
        deviation ``noise`` (``E[x̃²] = x² + σ²`` otherwise biases every even power).  The
        coefficients keep their meaning; other libraries are integrated as they are.
    """

    def __init__(
        self,
        n_test="auto",
        width="auto",
        p="auto",
        spacing=0.25,
        tau=1e-10,
        tau_hat=2.0,
        min_width=8,
        quadrature="trapezoid",
        gls=True,
        noise="auto",
        bias_correction=True,
    ):
        self.n_test = n_test
        self.width = width
        self.p = p
        self.spacing = spacing
        self.tau = tau
        self.tau_hat = tau_hat
        self.min_width = min_width
        self.quadrature = quadrature
        self.gls = gls
        self.noise = noise
        self.bias_correction = bias_correction

    def __repr__(self):
        names = [
            "n_test",
            "width",
            "p",
            "spacing",
            "tau",
            "tau_hat",
            "min_width",
            "quadrature",
            "gls",
            "noise",
            "bias_correction",
        ]
        return f"WeakForm({', '.join(f'{k}={getattr(self, k)!r}' for k in names)})"

    def _check_params(self):
        if not (self.n_test == "auto" or (_is_int(self.n_test) and self.n_test >= 1)):
            raise ValueError(f"n_test: expected 'auto' or a positive integer, got {self.n_test!r}")
        if self.width != "auto":
            _check_positive("width", self.width)
            if self.width < 1:
                raise ValueError(f"width: expected 'auto' or a radius of at least 1 sample, got {self.width!r}")
        if self.p != "auto":
            _check_p(self.p)
        _check_positive("spacing", self.spacing)
        _check_positive("tau", self.tau, upper=1.0)
        _check_positive("tau_hat", self.tau_hat)
        if not (_is_int(self.min_width) and self.min_width >= 1):
            raise ValueError(f"min_width: expected a positive integer, got {self.min_width!r}")
        if self.quadrature not in ("trapezoid", "cubic"):
            raise ValueError(f"quadrature: expected 'trapezoid' or 'cubic', got {self.quadrature!r}")
        if not isinstance(self.gls, (bool, np.bool_)):
            raise ValueError(f"gls: expected True or False, got {self.gls!r}")
        if not isinstance(self.bias_correction, (bool, np.bool_)):
            raise ValueError(f"bias_correction: expected True or False, got {self.bias_correction!r}")
        if not (isinstance(self.noise, str) and self.noise == "auto"):
            sig = np.asarray(self.noise, dtype=float) if not isinstance(self.noise, (str, bool)) else np.array([np.nan])
            if sig.ndim > 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig < 0):
                raise ValueError(f"noise: expected 'auto', a number >= 0 or one per variable, got {self.noise!r}")

    def test_functions(self, t, x) -> TestFunctions:
        """Test functions for one trajectory, chosen from its data.

        Parameters
        ----------
        t : (m,) array or float
            Sample times (strictly increasing) or a time step.
        x : (m, n) array

        Raises
        ------
        WeakFormUnavailable
            If the trajectory is too short for a test function of the requested or minimal radius.
        """
        self._check_params()
        t, x = _check_trajectory(t, x)
        m = len(t)
        uniform = _is_uniform(t)
        step = (t[-1] - t[0]) / (m - 1)
        top = (m - 1) // 2 if uniform else (m - 1) / 2
        rule = None
        if self.width == "auto":
            rule = select_width(t, x, p=self.p, tau=self.tau, tau_hat=self.tau_hat, min_width=self.min_width)
            width = float(rule.width)
        else:
            width = float(round(self.width)) if uniform else float(self.width)
            if width < 1:
                raise ValueError(f"width: {self.width!r} rounds to less than one sample")
            if width > top:
                raise WeakFormUnavailable(
                    f"trajectory has {m} samples; a test function of width {self.width!r} samples needs at least "
                    f"{int(math.ceil(2 * width)) + 1}"
                )
        if self.p == "auto":
            p = rule.p if rule is not None else float(max(3, math.floor(_p_for_width(max(width, 1.5), self.tau))))
        else:
            p = float(self.p)
        radius = width * step
        if uniform:
            first, last = int(width), m - 1 - int(width)
            available = last - first + 1
            k = self._auto_count(width, m - 1) if self.n_test == "auto" else int(self.n_test)
            k = min(k, available)
            idx = (
                np.unique(np.round(np.linspace(first, last, k)).astype(int))
                if k > 1
                else np.array([(first + last) // 2])
            )
            centers = t[idx]
        else:
            k = self._auto_count(width, m - 1) if self.n_test == "auto" else int(self.n_test)
            lo, hi = t[0] + radius, t[-1] - radius
            if hi < lo:  # rounding at width == top
                hi = lo
            centers = np.linspace(lo, hi, k) if k > 1 else np.array([(lo + hi) / 2])
        return TestFunctions(
            t=t,
            centers=centers,
            radius=radius,
            p=p,
            width=width,
            uniform=uniform,
            rule=rule,
            quadrature=self.quadrature,
        )

    def _auto_count(self, width: float, steps: float) -> int:
        # centres from width to steps - width (in samples), `spacing` radii apart
        return max(1, int(math.floor((steps - 2 * width) / (self.spacing * width))) + 1)


# ----------------------------------------------------------------------------- the weak system
@dataclass
class WeakSystem:
    """Stacked weak-form regression ``b ≈ G Ξ`` over trajectories (rows = test functions).

    Attributes
    ----------
    G : (K_total, p) array
        ``V Θ(X)`` per trajectory, stacked.
    b : (K_total, n) array
        ``−V′ X`` per trajectory, stacked.
    trajectory_index : (K_total,) int array
        Trajectory of each row (for cross-validation by trajectory).
    centers : (K_total,) array
        Time centre of each row's test function (for blocks of rows).
    rows_per_trajectory : list of int
        0 for skipped trajectories.
    n_test, widths, radii, p : lists, one entry per trajectory
        Test functions, radius in samples, radius in time, exponent (None when skipped).
    rules : list of WidthChoice or None
        The width rule's numbers per trajectory (None when the width was given or skipped).
    test_functions : list of TestFunctions or None
    skipped : list of (int, str)
        Trajectories too short for a test function, with the reason.
    """

    G: np.ndarray
    b: np.ndarray
    trajectory_index: np.ndarray
    centers: np.ndarray
    rows_per_trajectory: list
    n_test: list
    widths: list
    radii: list
    p: list
    rules: list
    test_functions: list = field(repr=False)
    skipped: list
    #: noise standard deviation per variable the polynomial columns were corrected for
    #: (``WeakForm(bias_correction=True)``), or None
    feature_noise: np.ndarray | None = None
    #: the spacing of test-function centres, in radii (``WeakForm.spacing``, or closer where a
    #: fit needed more equations)
    spacing: float | None = None

    @property
    def corners(self) -> list:
        """Corner frequency (cycles per unit time) per variable and trajectory, or None."""
        return [None if r is None else r.corner_frequency for r in self.rules]


def weak_system(xs, ts, features: Callable[[np.ndarray], np.ndarray], weak: WeakForm | None = None) -> WeakSystem:
    """Build the weak-form regression ``b ≈ G Ξ`` for one or several trajectories.

    Parameters
    ----------
    xs : list of (m_j, n) arrays (or one array)
        States, raw (noisy) samples.
    ts : list of (m_j,) arrays or floats, or one float
        Sample times or time steps per trajectory.
    features : callable
        Maps an ``(m, n)`` array to the ``(m, p)`` library matrix, e.g. a fitted
        ``library.transform``.
    weak : WeakForm, optional
        Default ``WeakForm()``.

    Returns
    -------
    WeakSystem

    Raises
    ------
    WeakFormUnavailable
        If no trajectory can host a test function.
    """
    weak = WeakForm() if weak is None else weak
    if not isinstance(weak, WeakForm):
        raise ValueError(f"weak: expected a WeakForm or None, got {type(weak).__name__}")
    if not callable(features):
        raise ValueError(
            f"features: expected a callable mapping (m, n) states to (m, p) features, got {type(features).__name__}"
        )
    xs = _check_states(xs)
    ts = _check_times_list(ts, xs)
    weak._check_params()

    blocks_G, blocks_b, traj, cents = [], [], [], []
    out = dict(rows=[], n_test=[], widths=[], radii=[], p=[], rules=[], tf=[])
    skipped = []
    n_features = None
    for j, (tj, xj) in enumerate(zip(ts, xs)):
        try:
            tf = weak.test_functions(tj, xj)
        except WeakFormUnavailable as exc:
            skipped.append((j, str(exc)))
            for key in out:
                out[key].append(0 if key == "rows" else None)
            continue
        theta = np.asarray(features(xj), dtype=float)
        if theta.ndim != 2 or theta.shape[0] != len(xj):
            raise ValueError(
                f"features: trajectory {j} of {len(xj)} samples gave shape {theta.shape}; expected ({len(xj)}, p)"
            )
        if n_features is not None and theta.shape[1] != n_features:
            raise ValueError(f"features: trajectory {j} gave {theta.shape[1]} features, earlier ones {n_features}")
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"features: trajectory {j} gave non-finite values")
        n_features = theta.shape[1]
        V, Vd = tf.matrices()
        blocks_G.append(np.asarray(V @ theta))
        blocks_b.append(-np.asarray(Vd @ xj))
        traj.append(np.full(tf.n_test, j))
        cents.append(tf.centers)
        out["rows"].append(tf.n_test)
        out["n_test"].append(tf.n_test)
        out["widths"].append(tf.width)
        out["radii"].append(tf.radius)
        out["p"].append(tf.p)
        out["rules"].append(tf.rule)
        out["tf"].append(tf)
    if not blocks_G:
        raise WeakFormUnavailable(f"weak form: no trajectory can host a test function ({skipped_text(skipped)})")
    return WeakSystem(
        G=np.vstack(blocks_G),
        b=np.vstack(blocks_b),
        trajectory_index=np.concatenate(traj),
        centers=np.concatenate(cents),
        rows_per_trajectory=out["rows"],
        n_test=out["n_test"],
        widths=out["widths"],
        radii=out["radii"],
        p=out["p"],
        rules=out["rules"],
        test_functions=out["tf"],
        skipped=skipped,
        spacing=float(weak.spacing),
    )


# ----------------------------------------------------------------------------- generalised least squares
#: order q of the finite difference behind :func:`estimate_noise`
_NOISE_ORDER = 6


def estimate_noise(x, order: int = _NOISE_ORDER) -> np.ndarray:
    """Noise standard deviation of each column of densely sampled data.

    The order-q difference ``dₘ = Σₖ (−1)ᵏ C(q, k) xₘ₊ₖ`` of a smooth signal is of size
    ``hᑫ x⁽ᑫ⁾`` and nearly vanishes, while independent noise of standard deviation σ passes
    with variance ``σ² C(2q, q)``; so ``σ̂² = mean(d²) / C(2q, q)``.  Where the sampling is
    coarse the signal's own differences add to it, and σ̂ is an upper bound.

    Parameters
    ----------
    x : (m,) or (m, n) array
    order : int, default 6

    Returns
    -------
    (n,) array
    """
    x = _finite_2d(x)
    if not (_is_int(order) and order >= 1):
        raise ValueError(f"order: expected a positive integer, got {order!r}")
    if len(x) <= order:
        raise ValueError(
            f"x: {len(x)} samples; estimating the noise with differences of order {order} needs at least {order + 1}"
        )
    d = np.diff(x, n=order, axis=0)
    return np.sqrt(np.mean(d * d, axis=0) / math.comb(2 * order, order))


def pooled_noise(xs, order: int = _NOISE_ORDER) -> np.ndarray | None:
    """Noise standard deviation per variable pooled over trajectories (:func:`estimate_noise` of
    each one with more than ``order`` samples, weighted by its length), or None if none has.
    """
    used = [np.asarray(xi, float) for xi in xs if len(xi) > order]
    if not used:
        return None
    var = sum(len(xi) * estimate_noise(xi, order) ** 2 for xi in used) / sum(len(xi) for xi in used)
    return np.sqrt(var)


#: order of the second noise estimate that tells noise from the signal's own differences
_CHECK_ORDER = 10
#: the noise counts as resolved where the second estimate is at least this share of the first
_RESOLVED = 0.7


def resolved_noise(xs) -> np.ndarray | None:
    """The pooled noise level of each variable where the data resolve it, else 0 for that variable.

    Differences of independent noise give the same :func:`estimate_noise` at every order, while
    a smooth signal's own differences shrink with the order; so where the order-10 estimate is
    below 0.7 of the order-6 one, the order-6 figure measures the signal (noise-free or coarsely
    sampled data), not the noise, and the variable gets 0.  None if no trajectory has more than 10
    samples.
    """
    first, second = pooled_noise(xs), pooled_noise(xs, _CHECK_ORDER)
    if first is None or second is None:
        return None
    return np.where(second >= _RESOLVED * first, first, 0.0)


def noise_corrected_monomials(x, powers, sigma) -> np.ndarray:
    """Monomials of noisy samples corrected for the noise: an unbiased estimate of the clean ones.

    For ``x̃ = x + ε`` with independent ``ε ~ N(0, σ²)``, ``E[x̃ᵏ] ≠ xᵏ`` for k ≥ 2, while the
    scaled Hermite polynomial ``Hₖ(x̃)`` (``H₀ = 1``, ``H₁ = x̃``,
    ``Hₖ₊₁ = x̃ Hₖ − k σ² Hₖ₋₁``) has ``E[Hₖ(x̃)] = xᵏ``; with independent noise per variable the
    product ``∏ⱼ Hₖⱼ(x̃ⱼ; σⱼ)`` estimates ``∏ⱼ xⱼᵏʲ`` without bias.  Each corrected monomial is the
    monomial plus lower-degree ones, so a library holding every lower degree spans the same
    functions; with σ = 0 this is the plain monomial.

    Parameters
    ----------
    x : (m, n) array
    powers : (p, n) int array
        Exponents of each column (pysindy's ``PolynomialLibrary.powers_``).
    sigma : float or (n,) array
        Noise standard deviation per variable.

    Returns
    -------
    (m, p) array
    """
    x = _finite_2d(x, "x")
    powers = np.asarray(powers)
    m, n = x.shape
    if powers.ndim != 2 or powers.shape[1] != n or np.any(powers < 0):
        raise ValueError(f"powers: expected non-negative exponents of shape (p, {n}), got shape {powers.shape}")
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
        raise ValueError(f"sigma: expected non-negative finite noise levels, got {sigma}")
    out = np.ones((m, len(powers)))
    for j in range(n):
        top = int(powers[:, j].max(initial=0))
        if top == 0:
            continue
        s2 = sigma[j] ** 2
        H = [np.ones(m), x[:, j].copy()]
        for k in range(1, top):
            H.append(x[:, j] * H[k] - k * s2 * H[k - 1])
        for col in np.flatnonzero(powers[:, j] > 0):
            out[:, col] *= H[int(powers[col, j])]
    return out


def residual_covariance(tf: "TestFunctions", jacobian, sigma) -> sparse.csr_matrix:
    """Covariance of the weak residual of one trajectory, to first order in the noise.

    ``Cov(rᵢ, rₖ) = Σⱼ σⱼ² Lᵢⱼ Lₖⱼᵀ`` with ``Lᵢⱼ = δᵢⱼ V′ + V diag(∂ⱼfᵢ)`` (module docstring).

    Parameters
    ----------
    tf : TestFunctions
    jacobian : (m, n, n) array
        ``jacobian[t, i, j] = ∂fᵢ/∂xⱼ`` of the model at the samples.
    sigma : (n,) array
        Noise standard deviation of each variable.

    Returns
    -------
    sparse (K n, K n) matrix
        Rows and columns ordered test function by test function: index ``k n + i`` is
        equation i of test function k (banded).
    """
    V, Vd = tf.matrices()
    J = np.asarray(jacobian, dtype=float)
    K, m = V.shape
    if J.ndim != 3 or J.shape[0] != m or J.shape[1] != J.shape[2]:
        raise ValueError(f"jacobian: expected shape ({m}, n, n), got {J.shape}")
    n = J.shape[1]
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    blocks = [
        [
            V @ sparse.diags(J[:, i, j] * sigma[j]) + (Vd * sigma[j] if i == j else sparse.csr_matrix(V.shape))
            for j in range(n)
        ]
        for i in range(n)
    ]
    L = sparse.bmat(blocks, format="csr")  # rows i K + k, columns j m + sample
    order = (np.arange(n * K) % n) * K + np.arange(n * K) // n
    L = L[order]
    return (L @ L.T).tocsr()


@dataclass
class WhitenedSystem:
    """The weak system for generalised least squares: ``y ≈ X vec(Ξᵀ)``, rows whitened.

    Attributes
    ----------
    X : (K_total n, p n) array
        Columns in pysindy's feature ordering (index ``feature n + target``), as the
        equivariant basis; rows ``L⁻¹`` times the rows of every equation of every test function.
    y : (K_total n,) array
    sigma : (n,) array
        Noise standard deviations used.
    """

    X: np.ndarray
    y: np.ndarray
    sigma: np.ndarray


def whitened_system(ws: WeakSystem, xs, features: Callable[[np.ndarray], np.ndarray], coef, sigma) -> WhitenedSystem:
    """The weak system divided by the Cholesky factor of its residual covariance.

    Parameters
    ----------
    ws : WeakSystem
        From :func:`weak_system` with the same ``xs`` and ``features``.
    xs : list of (m_j, n) arrays
    features : callable
        The library (``(m, n) → (m, p)``); its derivatives are taken by central differences.
    coef : (n, p) array
        The model whose Jacobian enters the covariance (e.g. the full least-squares fit).
    sigma : float or (n,) array
        Noise standard deviation of each variable (:func:`estimate_noise`).

    Raises
    ------
    numpy.linalg.LinAlgError
        If a covariance is not positive definite (e.g. zero noise).
    """
    xs = _check_states(xs)
    coef = np.asarray(coef, dtype=float)
    n = xs[0].shape[1]
    p = ws.G.shape[1]
    if coef.shape != (n, p):
        raise ValueError(f"coef: expected shape ({n}, {p}), got {coef.shape}")
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n,)).copy()
    Xs, ys = [], []
    eye = np.eye(n)
    for j, tf in enumerate(ws.test_functions):
        if tf is None:
            continue
        xj = xs[j]
        rows = ws.trajectory_index == j
        G, b = ws.G[rows], ws.b[rows]
        J = np.zeros((len(xj), n, n))
        for v in range(n):
            h = 1e-6 * max(1.0, float(np.sqrt(np.mean(xj[:, v] ** 2))))
            step = np.zeros(n)
            step[v] = h
            dtheta = (np.asarray(features(xj + step), float) - np.asarray(features(xj - step), float)) / (2 * h)
            J[:, :, v] = dtheta @ coef.T
        C = residual_covariance(tf, J, sigma).tocoo()
        size = C.shape[0]
        lower = C.row >= C.col
        band = int((C.row - C.col)[lower].max(initial=0))
        ab = np.zeros((band + 1, size))
        ab[(C.row - C.col)[lower], C.col[lower]] = C.data[lower]
        top = float(ab[0].max(initial=0.0))
        if not top > 0:
            raise np.linalg.LinAlgError("weak residual covariance is zero (no noise)")
        ab[0] += 1e-12 * top
        chol = sla.cholesky_banded(ab, lower=True, check_finite=False)
        X = np.einsum("kf,ij->kifj", G, eye).reshape(len(G) * n, p * n)
        Xs.append(sla.solve_banded((band, 0), chol, X, check_finite=False))
        ys.append(sla.solve_banded((band, 0), chol, b.ravel(), check_finite=False))
    return WhitenedSystem(X=np.vstack(Xs), y=np.concatenate(ys), sigma=sigma)


# ----------------------------------------------------------------------------- validation helpers
def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_positive(name, value, upper=None) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if upper is not None and value >= upper:
        raise ValueError(f"{name}: expected a number below {upper}, got {value!r}")
    return float(value)


def _check_p(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not np.isfinite(p) or p < 1:
        raise ValueError(f"p: expected 'auto' or an exponent of at least 1, got {p!r}")
    return float(p)


def _quadrature_weights(t: np.ndarray, kind: str) -> np.ndarray:
    d = np.diff(t)
    w = np.zeros_like(t)
    if kind == "trapezoid" or len(t) < 4 or _is_uniform(t):
        w[:-1] += d / 2
        w[1:] += d / 2
        return w
    # Interval [t_i, t_{i+1}]: integrate the cubic through the 4 nearest samples exactly,
    # with 2-point Gauss-Legendre (exact for cubics).
    m = len(t)
    first = np.clip(np.arange(m - 1) - 1, 0, m - 4)
    nodes = first[:, None] + np.arange(4)  # (m-1, 4)
    tn = t[nodes]
    g = np.array([-1.0, 1.0]) / math.sqrt(3.0)
    tq = (t[:-1] + t[1:])[:, None] / 2 + d[:, None] / 2 * g  # (m-1, 2)
    contrib = np.zeros((m - 1, 4))
    for a in range(4):
        basis = np.ones_like(tq)
        for c in range(4):
            if c != a:
                basis *= (tq - tn[:, c : c + 1]) / (tn[:, a : a + 1] - tn[:, c : c + 1])
        contrib[:, a] = basis.sum(axis=1) * d / 2
    np.add.at(w, nodes.ravel(), contrib.ravel())
    return w


def _is_uniform(t: np.ndarray) -> bool:
    d = np.diff(t)
    return bool(np.max(np.abs(d - d.mean())) <= _UNIFORM_RTOL * d.mean())


def _interpolate(t: np.ndarray, x: np.ndarray, N: int) -> np.ndarray:
    grid = np.linspace(t[0], t[-1], N)
    return np.column_stack([np.interp(grid, t, col) for col in x.T])


def _finite_2d(x, where=""):
    """``x`` as a finite (m, n) float array (a 1-D array is one variable); one-line errors otherwise."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"x{where}: expected an (m, n) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        row, col = map(int, np.argwhere(~np.isfinite(x))[0])
        raise ValueError(f"x{where}: non-finite value {x[row, col]} at sample {row}, variable {col}")
    return x


def _check_trajectory(t, x, k=None):
    where = "" if k is None else f" of trajectory {k}"
    x = _finite_2d(x, where)
    m = len(x)
    if m < 2:
        raise WeakFormUnavailable(f"trajectory has {m} sample(s); a test function needs at least 3")
    if np.ndim(t) == 0:
        dt = _check_positive(f"t{where} (time step)", t)
        t = dt * np.arange(m, dtype=float)
    else:
        t = _check_time_array(t, m, f"t{where}")
    return t, x


def _check_time_array(t, m, name):
    """``t`` as ``m`` finite, strictly increasing times; one-line errors naming ``name`` otherwise."""
    from .base import check_increasing

    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or len(t) != m:
        raise ValueError(f"{name}: expected {m} times (one per sample), got shape {t.shape}")
    return check_increasing(t, name, "times")


def _check_states(xs) -> list[np.ndarray]:
    if isinstance(xs, np.ndarray) and xs.ndim == 2:
        xs = [xs]
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError("xs: expected a non-empty list of (m, n) arrays")
    out = []
    for k, xi in enumerate(xs):
        xi = np.asarray(xi, dtype=float)
        if xi.ndim != 2:
            raise ValueError(f"xs[{k}]: expected an (m, n) array, got shape {xi.shape}")
        if not np.all(np.isfinite(xi)):
            row, col = map(int, np.argwhere(~np.isfinite(xi))[0])
            raise ValueError(f"xs[{k}]: non-finite value {xi[row, col]} at sample {row}, variable {col}")
        out.append(xi)
    widths = sorted({xi.shape[1] for xi in out})
    if len(widths) > 1:
        raise ValueError(f"xs: trajectories have different numbers of variables {widths}")
    return out


def _check_times_list(ts, xs) -> list:
    if isinstance(ts, (list, tuple)):
        if len(xs) == 1 and len(ts) == len(xs[0]) != 1 and all(np.ndim(ti) == 0 for ti in ts):
            ts = [np.asarray(ts, dtype=float)]  # the times of the one trajectory
    elif isinstance(ts, np.ndarray) and ts.ndim == 1 and len(xs) == 1:
        ts = [ts]
    elif np.ndim(ts) == 0:
        ts = [ts] * len(xs)
    if not isinstance(ts, (list, tuple)) or len(ts) != len(xs):
        got = len(ts) if isinstance(ts, (list, tuple)) else type(ts).__name__
        raise ValueError(f"ts: expected {len(xs)} time arrays or steps (one per trajectory), got {got}")
    out = []
    for k, (ti, xi) in enumerate(zip(ts, xs)):
        if np.ndim(ti) == 0:
            out.append(_check_positive(f"ts[{k}] (time step)", ti))
        else:
            out.append(_check_time_array(ti, len(xi), f"ts[{k}]"))
    return out
