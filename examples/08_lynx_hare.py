# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Real data: the Hudson Bay lynx and hare
#
# The pelts of Canadian lynx and snowshoe hare traded by the Hudson's Bay Company are the classic
# test of predator–prey models. The Lotka–Volterra (LV) equations, for hares $H$ and lynx $L$,
#
# $$H' = \alpha H - \beta H L, \qquad L' = -\gamma L + \delta H L,$$
#
# have a conserved quantity, $V = \delta H - \gamma \log H + \beta L - \alpha \log L$, so every
# orbit is closed. This notebook asks what 21 yearly counts can say about that model: which
# terms a sparse fit keeps and how sure it is (a bootstrap ensemble), how the coefficients compare
# with the published LV fit, and whether the fitted model, or the data, conserve $V$.
#
# **The data.** `data/hudson-bay-lynx-hare.csv`: yearly pelt counts in thousands, 1900–1920,
# 21 rows, columns `Year, Lynx, Hare` after two comment lines. Copied from the public
# repository stan-dev/example-models (`knitr/lotka-volterra/hudson-bay-lynx-hare.csv`), whose
# header names its source: P. Howard, lecture notes "Modeling basics" (Texas A&M), after Odum
# (1953). The reference LV parameters fitted to these data are α = 0.55, β = 0.028, γ = 0.84,
# δ = 0.026 (Howard 2009; the Stan case study "Predator-Prey Population Dynamics" by
# B. Carpenter, 2018, has posterior means 0.55, 0.028, 0.80, 0.024). `data/README.md` says the
# same. There is no known exact model for these data.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps
import sympy as sp
from scipy.integrate import solve_ivp

from symsindy import SymmetricSINDy
from symsindy.conservation import UndeterminedSearch, check_quantity, conserved_from_data, conserved_quantities
from symsindy.discover import estimate_derivatives
from symsindy.ensemble import SymmetricEnsemble

DATA = "data/hudson-bay-lynx-hare.csv"  # relative to examples/
table = np.genfromtxt(DATA, delimiter=",", skip_header=2, names=True, autostrip=True)
print("columns:", table.dtype.names, " rows:", len(table))
year = table["Year"]
t = year - year[0]  # years since 1900
x = np.column_stack([table["Hare"], table["Lynx"]])  # state (H, L), thousands of pelts
names = ["H", "L"]
for half in (slice(0, 11), slice(11, 21)):
    print(
        "peak years in {}-{}: hare {}, lynx {}".format(
            int(year[half][0]), int(year[half][-1]), *(int(year[half][np.argmax(x[half, i])]) for i in range(2))
        )
    )
H, L = sp.symbols(names)  # the symbols of model.sympy() and check_quantity


def rounded(expr, digits=3):
    """An expression with its floating-point coefficients shown to a few significant digits."""
    return expr.xreplace({f: sp.Float(f, digits) for f in expr.atoms(sp.Float)})


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1.6, 1]})
ax1.plot(year, x[:, 0], "o-", label="hare $H$")
ax1.plot(year, x[:, 1], "s-", label="lynx $L$")
ax1.set_xlabel("year")
ax1.set_ylabel("pelts (thousands)")
ax1.set_title("Hudson's Bay Company pelt records")
ax1.legend()
ax2.plot(x[:, 0], x[:, 1], ".-", color="k")
for k in (0, 10, 20):
    ax2.annotate(str(int(year[k])), x[k], textcoords="offset points", xytext=(4, 4))
ax2.set_xlabel("hare $H$")
ax2.set_ylabel("lynx $L$")
ax2.set_title("Phase plane: about two cycles")
fig.tight_layout()

# %% [markdown]
# ## The reference model
#
# The published parameters give the LV model we compare against. Its centre is
# $(\gamma/\delta, \alpha/\beta)$ and its small-oscillation period $2\pi/\sqrt{\alpha\gamma}$.

# %%
alpha, beta, gamma, delta = 0.55, 0.028, 0.84, 0.026
lv_rhs = [alpha * H - beta * H * L, -gamma * L + delta * H * L]
V = delta * H - gamma * sp.log(H) + beta * L - alpha * sp.log(L)
print("reference LV:  H' =", lv_rhs[0], "  L' =", lv_rhs[1])
print(
    f"centre (H, L) = ({gamma / delta:.1f}, {alpha / beta:.1f}), "
    f"small-oscillation period {2 * np.pi / np.sqrt(alpha * gamma):.1f} years"
)

lv_f = sp.lambdify((H, L), lv_rhs)
t_fine = np.linspace(t[0], t[-1], 401)
lv_sim = solve_ivp(lambda _, z: lv_f(*z), (t[0], t[-1]), x[0], t_eval=t_fine, rtol=1e-10, atol=1e-10).y.T

# %% [markdown]
# ## A sparse fit
#
# A quadratic library without a constant: $H, L, H^2, HL, L^2$ in each equation, 10
# coefficients, the LV model among them (a constant would mean immigration at zero population;
# see below). No symmetry is assumed, so `SymmetricSINDy` fits plain SINDy with its automatic
# threshold. `fit_summary()` says how it fitted.

# %%
library = ps.PolynomialLibrary(degree=2, include_bias=False)
model = SymmetricSINDy(library=library)
model.fit(x, t=t, feature_names=names)
model.print()
print("\n".join(model.fit_summary()))
print("formulation_:", model.formulation_)

from symsindy.weak import WeakForm

test_functions = WeakForm().test_functions(t, x)
print(
    f"the weak form's rule: {test_functions.n_test} test functions of radius {test_functions.radius:g} samples "
    f"on {len(t)} samples"
)

# %% [markdown]
# The default for time series is the weak form, but 21 samples host only 3 test functions of the
# width its rule picks (radius 8 years), and 3 test functions × 2 variables are 6 equations for
# the 10 coefficients, so the fit falls back to the strong form: derivatives estimated by smoothed
# finite differences on yearly samples. Forcing the weak form is refused for the same reason:

# %%
try:
    SymmetricSINDy(library=library, formulation="weak").fit(x, t=t, feature_names=names)
except ValueError as exc:
    print("ValueError:", exc)

# %% [markdown]
# With a constant in the library, the automatic threshold keeps all 12 terms, with constants of
# about 19 and −11 thousand pelts a year. Nothing in 21 rows rules such terms out; they are left
# out here on physical grounds.

# %%
with_constant = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2)).fit(x, t=t, feature_names=names)
with_constant.print()
print("terms kept:", int(np.count_nonzero(with_constant.coef_)), "of", with_constant.coef_.size)

# %% [markdown]
# ## Honest uncertainty: a bootstrap ensemble
#
# `SymmetricEnsemble` estimates the derivatives once on the whole record and refits the model on
# 200 bootstrap resamples of the 21 rows (states, derivatives). A term's *inclusion probability*
# is the fraction of refits that keep it; the intervals are the 2.5 and 97.5 percentiles of each
# coefficient over the refits.

# %%
ensemble = SymmetricEnsemble(base=SymmetricSINDy(library=library), n_models=200, random_state=0)
ensemble.fit(x, t=t, feature_names=names)
print(ensemble.summary())
print("aggregated (median) model:")
for line in ensemble.equations():
    print(" ", line)

# %% [markdown]
# The same numbers term by term, with the reference LV coefficients (signed as they enter the
# equations: $+\alpha$, $-\beta$, $-\gamma$, $+\delta$; 0 for a term LV does not have).

# %%
terms = ensemble.term_names_
reference = np.zeros((2, len(terms)))
reference[0, terms.index("H")] = alpha
reference[0, terms.index("H L")] = -beta
reference[1, terms.index("L")] = -gamma
reference[1, terms.index("H L")] = delta
lo, hi = ensemble.coef_interval_
P = ensemble.inclusion_probability_

print(
    f"{'':4}{'term':6}{'LV':>8}{'fit':>9}{'median':>9}   {'95% interval':<20}{'P(incl.)':>8}  excludes 0  holds LV value"
)
for i, v in enumerate(names):
    for j, term in enumerate(terms):
        print(
            f"{v + chr(39):4}{term:6}{reference[i, j]:8.3f}{model.coef_[i, j]:9.3f}{ensemble.coef_[i, j]:9.3f}   "
            f"[{lo[i, j]:7.3f}, {hi[i, j]:7.3f}]  {P[i, j]:8.2f}  {str(lo[i, j] > 0 or hi[i, j] < 0):>10}"
            f"  {str(lo[i, j] <= reference[i, j] <= hi[i, j]):>13}"
        )
lv_mask = reference != 0
print(f"smallest inclusion probability: LV terms {P[lv_mask].min():.2f}, other terms {P[~lv_mask].min():.2f}")

# %% [markdown]
# ## Beside it: pysindy, and the LV model fitted on its own terms
#
# For reference, pysindy's STLSQ on the same library with pysindy's own differentiation (plain
# finite differences) and a threshold of 0.013, half the smallest reference coefficient: a
# threshold that uses the answer. Then the sensitivity to the derivative estimate: the symsindy
# fit again with pysindy's finite differences in place of its smoothed ones. Last, least squares
# on the four LV terms only, with symsindy's derivative estimate: the LV parameters the data
# give when the LV structure is imposed.

# %%
stlsq = ps.SINDy(feature_library=library, optimizer=ps.STLSQ(threshold=0.013))
stlsq.fit(x, t=t, feature_names=names)
print("pysindy STLSQ (threshold 0.013):")
stlsq.print()

model_fd = SymmetricSINDy(library=library, differentiation=ps.FiniteDifference()).fit(x, t=t, feature_names=names)
print("symsindy with pysindy's FiniteDifference:")
model_fd.print()
outside = (model_fd.coef_ < lo) | (model_fd.coef_ > hi)
print(
    "its coefficients outside the ensemble's 95% intervals:",
    ", ".join(f"{v}': {terms[j]}" for i, v in enumerate(names) for j in range(len(terms)) if outside[i, j]) or "none",
)

(x_smooth,), (x_dot,) = estimate_derivatives([x], [t])
hs, ls = x_smooth.T
(a_ls, mb_ls), *_ = np.linalg.lstsq(np.column_stack([hs, hs * ls]), x_dot[:, 0], rcond=None)
(mg_ls, d_ls), *_ = np.linalg.lstsq(np.column_stack([ls, hs * ls]), x_dot[:, 1], rcond=None)
lv_fit = {"alpha": a_ls, "beta": -mb_ls, "gamma": -mg_ls, "delta": d_ls}
lvfit_rhs = [a_ls * H + mb_ls * H * L, mg_ls * L + d_ls * H * L]
print(f"hare peak: {x[:, 0].max():.1f} counted, {x_smooth[:, 0].max():.1f} after smoothing")
print(
    "LV terms only, least squares:  " + ", ".join(f"{k} = {v:.3f}" for k, v in lv_fit.items()),
    "  (reference 0.55, 0.028, 0.84, 0.026)",
)

# %% [markdown]
# The four LV coefficients from each fit, divided by the reference value (1 is the published fit),
# with the ensemble's 95% intervals; and every term's inclusion probability.

# %%
lv_entries = [("alpha", 0, "H", 1), ("beta", 0, "H L", -1), ("gamma", 1, "L", -1), ("delta", 1, "H L", 1)]
ref_values = {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
stlsq_terms = stlsq.get_feature_names()
fits = {
    "symsindy fit": (model.coef_, terms),
    "ensemble median": (ensemble.coef_, terms),
    "pysindy STLSQ": (stlsq.coefficients(), stlsq_terms),
    "symsindy, finite differences": (model_fd.coef_, terms),
}

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
pos = np.arange(len(lv_entries))
for k, (label, (coef, tn)) in enumerate(fits.items()):
    ratios = [sign * coef[i, tn.index(term)] / ref_values[name] for name, i, term, sign in lv_entries]
    ax1.plot(pos + 0.1 * (k - 1.5), ratios, "o", label=label)
ratios_ls = [lv_fit[name] / ref_values[name] for name, *_ in lv_entries]
ax1.plot(pos + 0.25, ratios_ls, "k*", ms=10, label="LV terms only")
for p, (name, i, term, sign) in zip(pos, lv_entries):
    j = terms.index(term)
    bounds = sorted(sign * np.array([lo[i, j], hi[i, j]]) / ref_values[name])
    ax1.plot([p - 0.2, p - 0.2], bounds, color="C1", lw=3, alpha=0.4)
ax1.axhline(1.0, color="gray", lw=0.8)
ax1.axhline(0.0, color="gray", lw=0.8, ls=":")
ax1.set_xticks(pos, [r"$\alpha$", r"$\beta$", r"$\gamma$", r"$\delta$"])
ax1.set_ylabel("coefficient / reference")
ax1.set_title("LV coefficients (bar: ensemble 95% interval)")
ax1.legend(fontsize="small")

labels = [f"{v}': {term}" for v in names for term in terms]
colours = ["C3" if m else "C0" for m in lv_mask.ravel()]
ax2.barh(labels, P.ravel(), color=colours)
ax2.invert_yaxis()
ax2.set_xlim(0, 1.05)
ax2.set_xlabel("inclusion probability (200 bootstrap refits)")
ax2.set_title("Red: LV terms; blue: terms LV does not have")
fig.tight_layout()

# %% [markdown]
# ## A model that cycles is not yet a model that is LV
#
# Integrated from the 1900 counts, how do the models follow the record? And what kind of
# oscillation has the sparse fit? LV has a centre: closed orbits around its fixed point. A fitted
# model has its own fixed point, and the eigenvalues of its Jacobian there say whether orbits
# close, spiral in or spiral out.

# %%
rhs = [model.sympy()[v] for v in names]  # the fitted right-hand side, as SymPy expressions
sims = {
    "reference LV": lv_sim,
    "symsindy fit": model.simulate(x[0], t_fine),
    "pysindy STLSQ": stlsq.simulate(x[0], t_fine),
}
on_data = np.searchsorted(t_fine, t)
for label, s in sims.items():
    rms = np.sqrt(np.mean((s[on_data] - x) ** 2, axis=0))
    print(f"{label:14} RMS error on the record: hare {rms[0]:5.1f}, lynx {rms[1]:5.1f} (thousands)")

jac = sp.Matrix(rhs).jacobian([H, L])
for point in sp.solve(rhs, [H, L], dict=True):
    h0, l0 = float(point[H]), float(point[L])
    if h0 > 0 and l0 > 0:
        ev = np.linalg.eigvals(np.array(jac.subs(point), dtype=float))
        print(
            f"fitted model: fixed point (H, L) = ({h0:.1f}, {l0:.1f}); eigenvalues "
            + ", ".join(f"{e.real:.3f}{e.imag:+.3f}i" for e in ev)
        )
        print(
            f"  period {2 * np.pi / abs(ev[0].imag):.1f} years; amplitude changes by e every "
            f"{1 / abs(ev[0].real):.0f} years ({'decays' if ev[0].real < 0 else 'grows'})"
        )

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1.6, 1]})
ax1.plot(year, x[:, 0], "o", color="C0", label="hare, data")
ax1.plot(year, x[:, 1], "s", color="C1", label="lynx, data")
for (label, s), ls_ in zip(sims.items(), ["-", "--", ":"]):
    ax1.plot(year[0] + t_fine, s[:, 0], ls_, color="C0", label=f"hare, {label}")
    ax1.plot(year[0] + t_fine, s[:, 1], ls_, color="C1", label=f"lynx, {label}")
    ax2.plot(s[:, 0], s[:, 1], ls_, color="k", label=label)
ax2.plot(x[:, 0], x[:, 1], "o-", color="C2", ms=4, lw=0.6, label="data")
ax1.set_xlabel("year")
ax1.set_ylabel("pelts (thousands)")
ax1.set_title("Models integrated from the 1900 counts")
ax1.legend(fontsize="x-small", ncol=2)
ax2.set_xlabel("hare $H$")
ax2.set_ylabel("lynx $L$")
ax2.legend(fontsize="small")
fig.tight_layout()

# %% [markdown]
# ## The log-invariant
#
# First the reference $V$ itself. `check_quantity` computes $\dot V = \nabla V\cdot f$
# symbolically for a right-hand side $f$, and the relative drift of $V$ along the data and
# along the model integrated from the data's first state; its verdict `conserved` is the
# symbolic residual and the model drift within tolerance (the data drift is reported, not judged).

# %%
for label, f in [("reference LV", lv_rhs), ("symsindy fit", rhs)]:
    c = check_quantity(V, f, names, x_data=x, t=t)
    print(
        f"V along {label:12}: symbolic residual {c.symbolic_residual:.2e}, drift along the model "
        f"{c.drift_model:.2e}, along the data {c.drift_data:.2f} -> conserved: {c.conserved}"
    )

V_f = sp.lambdify((H, L), V)
V_data = V_f(x[:, 0], x[:, 1])
print(
    f"V on the record: {V_data.min():.3f} to {V_data.max():.3f} (range {np.ptp(V_data):.3f}); "
    f"V along a LV orbit is constant"
)

# %% [markdown]
# Then the search, with no invariant given: `conserved_quantities` looks for first integrals of
# the fitted right-hand side among combinations of $H, L, \log H, \log L$ (`basis="log"`, degree 1,
# the family $V$ belongs to), and with `basis="auto"` over every family that applies (polynomials,
# logs, trig) up to degree 2. A direction counts as conserved when its relative residual
# $\mathrm{RMS}(\nabla C\cdot f)/\mathrm{RMS}(|\nabla C||f|)$, measured over the data's bounding
# box, is below 0.02 and separated from the rest by a gap.

# %%
for basis, degree in [("log", 1), ("auto", 2)]:
    search = conserved_quantities(rhs, names, degree, x_samples=x, basis=basis)
    print(f"basis={basis}, degree {degree}: family used {search.basis}; found {len(search.quantities)}")
    for family, c in search.candidates.items():
        print(f"  {family:5}: {c['found']} found, smallest relative residual {c['smallest_residual']:.3f}")

# %% [markdown]
# The same search on the model with LV's structure (least squares on the four LV terms, above)
# finds its invariant, and the check passes along the model; divided by $\gamma$, the reference
# $V$ reads as shown for comparison.

# %%
search_lv = conserved_quantities(lvfit_rhs, names, 1, x_samples=x, basis="log")
print("family used:", search_lv.basis)
for q in search_lv.quantities:
    c = check_quantity(q.expr, lvfit_rhs, names, x_data=x, t=t)
    print(
        f"  {rounded(q.expr)}   residual {q.residual:.1e}; drift along the model {c.drift_model:.1e}, "
        f"along the data {c.drift_data:.2f} -> conserved: {c.conserved}"
    )
print("  reference V / gamma:", rounded(sp.expand(V / gamma)))

# %% [markdown]
# Straight from the data, with no model (`conserved_from_data`, weak form for a time series). Its
# weak system has one equation per test function: 3 here, for the 4 candidate functions
# $H, L, \log H, \log L$, so at least one direction would fit exactly whatever the data are.
# The search refuses such a system rather than report that direction as an invariant.

# %%
try:
    direct = conserved_from_data([x], None, names, 1, t=[t], formulation="auto", basis="log")
    print(
        f"{direct.formulation} form, family {direct.basis}: {len(direct.quantities)} found, "
        f"{direct.independent} independent"
    )
except UndeterminedSearch as exc:
    print("straight from the data:", exc)

# %% [markdown]
# $V$ over the years: along the record, along the reference LV model from the 1900 counts (flat
# by construction), and along the symsindy fit from the same start.

# %%
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(year, V_data, "o-", label="along the record")
ax.plot(year[0] + t_fine, V_f(*sims["reference LV"].T), "--", label="along the reference LV model")
ax.plot(year[0] + t_fine, V_f(*sims["symsindy fit"].T), ":", label="along the symsindy fit")
ax.set_xlabel("year")
ax.set_ylabel(r"$V = \delta H - \gamma\log H + \beta L - \alpha\log L$")
ax.set_title("The LV invariant on the lynx–hare record")
ax.legend(fontsize="small")
fig.tight_layout()

# %% [markdown]
# ## What 21 samples can and cannot show
#
# * **One trajectory, about two cycles, yearly.** The record holds two oscillations of about ten
#   years, sampled about ten times each. The weak form's test functions need room: only 3 fit, too
#   few equations for 10 coefficients, so the fit falls back to the strong form and rests on
#   derivatives estimated from yearly samples. The estimate matters: with plain finite differences
#   the fit changes ($H'$: $L$ from −0.58 to −0.24; $L'$: $L$ from −0.52 to −1.08, outside the
#   ensemble's interval).
# * **The bootstrap is conditional.** The ensemble resamples rows of one derivative estimate; rows
#   of a time series are not independent, and the derivative error is shared by every refit. Its
#   intervals understate the uncertainty; they are not a posterior.
# * **Inclusion probabilities do not separate the terms.** Every term is kept in at least 86% of
#   the refits, LV's and the others alike: the automatic threshold finds no sparser support that
#   explains these few, noisy rows as well. The intervals say more. Only two of the ten exclude
#   zero, hare growth ($H'$: $H$) and the interaction in the lynx equation ($L'$: $HL$), so the
#   data cannot say which of the other terms are needed, LV's lynx death rate γ included. The
#   intervals for α and γ hold the published values; those for β and δ lie below them (medians
#   0.009 and 0.012 against 0.028 and 0.026).
# * **Identifiability.** On one orbit the library's columns are nearly collinear ($H^2$ with $H$,
#   $HL$ with $L$ ...): different models trace similar loops. Imposing the LV structure gives
#   α = 0.47, β = 0.021, γ = 0.68, δ = 0.018, 70–86% of the published values. The smoothing
#   behind the derivatives flattens the peaks (the hare peak of 77 thousand becomes 69), while the
#   Stan case study fits solutions of the ODE to the counts themselves. The reference model
#   follows the record with an RMS error of about 4–5 thousand pelts; the sparse fit,
#   integrated from 1900, is off by 12–15. pysindy's STLSQ, with the threshold that uses the
#   answer, keeps LV's four terms and a linear cross term in each equation (−0.113 $L$ in $H'$,
#   0.043 $H$ in $L'$).
# * **A model that cycles is not a model that is LV.** The sparse fit oscillates with a period of
#   9.5 years (LV's small-oscillation period is 9.2), but its extra terms make it a spiral that
#   decays by a factor e in about 52 years, not LV's family of closed orbits. Over the record's 20
#   years that shrinks the oscillation by a third; the counted hare peaks do not shrink (77.4,
#   76.6 thousand) and the lynx peaks shrink by 14% (59.4, 51.1). Two cycles are too few to
#   measure a damping that slow, or to exclude it.
# * **The invariant.** The reference $V$ is exactly conserved by the reference LV model, and the
#   log search finds it in the model with LV's structure (with that model's parameters). The
#   package's checks reject $V$ for the sparse fit (symbolic residual 0.20, drift along the model
#   0.10 against a tolerance of 0.05), and its search finds no conserved quantity there in any
#   family tried. Along the record $V$ wanders by 0.48 (relative drift 0.17): pelt counts are
#   noisy proxies of populations (trapping effort, fur prices), and 21 points cannot tell a
#   drifting $V$ from noise on a conserved one. Straight from the data, with no
#   model, the question is undetermined: the weak form's 3 equations cannot decide among 4
#   candidate functions, and the search says so instead of returning a direction that fits
#   whatever the data.
# * **What they do show.** The oscillation, its period of about ten years, the lynx peak lagging
#   the hare peak by a year or two, hare growth and a positive hare–lynx interaction in $L'$. That
#   the dynamics are LV is an assumption these data allow, not one they demonstrate.
