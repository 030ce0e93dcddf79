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
# # Promoting symmetry: let the data decide how much
#
# Enforcing a symmetry (quickstart) is all or nothing, and it is wrong if the system only
# *nearly* has the symmetry. Discovering it first (notebook 02) needs a good unconstrained fit to
# start from. *Promotion* sits in between: one convex fit that rewards symmetry without
# demanding it,
#
# $$\min_\Xi\ \frac{1}{2m}\,\|\dot X - \Theta(X)\,\Xi^\top\|_F^2 \;+\; \lambda\,
#   \big\|\,[\,\mathrm{vec}\,L_{A_1}(\Xi)\ \cdots\ \mathrm{vec}\,L_{A_q}(\Xi)\,]\,\big\|_* ,$$
#
# where $L_A(\Xi) = \Xi D_A - A\Xi$ is the model's Lie derivative along candidate generator
# $A_k$ (a basis of all linear maps, `candidates="gl"`). The nuclear norm $\|\cdot\|_*$ is small
# when few directions are broken, so the fit leans towards models with a large symmetry algebra
# without being told which one. `symsindy.promote.PromotedSINDy` then reads off the symmetry the
# promoted model has, enforces it exactly, and refits without the penalty (which would otherwise
# shrink the coefficients).
#
# The weight is in units where 0 is plain SINDy and 1 is "as symmetric as the candidates allow".
# `weight="auto"` (the default) solves the promotion along a grid of weights and collects every
# symmetry the path reveals: the exact symmetry of each promoted model, and the directions it
# breaks least, rounded to simple generators (with few data the penalty seldom makes a direction
# exactly symmetric, but it points to it). Each candidate is enforced in a refit and scored by
# its leave-one-out error; a candidate the data reject (discovery's refit check) is not eligible,
# and more symmetry is added while the F test of that check says it costs no more fit than
# chance.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps
from scipy.integrate import solve_ivp

from symsindy import SymmetricSINDy, get_system
from symsindy.model import default_differentiation
from symsindy.plots import plot_singular_values
from symsindy.promote import PromotedSINDy

# %% [markdown]
# ## A symmetric system, from few samples
#
# The quickstart's data: the damped oscillator $\dot x = -0.1x + 2y$, $\dot y = -2x - 0.1y$,
# 51 samples up to $t = 5$, 1% noise. Nothing is said about rotations.

# %%
system = get_system("damped_oscillator")
sim = system.simulate(t_end=5.0, dt=0.1, noise=0.01, random_state=5)
t, x = sim.t, sim.x[0]

promoted = PromotedSINDy(library=ps.PolynomialLibrary(degree=3), candidates="gl")
promoted.fit(x, t=t, feature_names=["x", "y"])
print("\n".join(promoted.equations()))
print(f"weight: {promoted.weight_:.3g} ({promoted.weight_selection()}, {len(promoted.candidates_)} candidates)")
print("symmetry of the promoted model:", promoted.symmetry_summary())
print(
    "enforced in the refit:", promoted.symmetry_.specs, f"  equivariance residual {promoted.equivariance_residual_:.1e}"
)

# %% [markdown]
# The rotation is found, and with it, usually, `scaling(x=1,y=1)`, the uniform scaling
# $x \mapsto e^s x$, which every model whose terms all have the same degree (here: a linear
# model) has. What was found is enforced in the refit. Plain pysindy on the same data, with a
# threshold of 0.05 and the same derivatives:

# %%
plain = ps.SINDy(
    optimizer=ps.STLSQ(threshold=0.05, alpha=0.05),
    feature_library=ps.PolynomialLibrary(degree=3),
    differentiation_method=default_differentiation(len(t)),
)
plain.fit(x, t=t, feature_names=["x", "y"])
plain.print()

# %% [markdown]
# The singular values of the promoted model's Lie-derivative operator over $\mathfrak{gl}(2)$, at
# the chosen weight: the directions it breaks least are the ones the candidates were read from.

# %%
fig = plot_singular_values(promoted.discovered_, title="Lie-derivative spectrum of the promoted model")
fig.set_size_inches(6, 3.8)
fig.tight_layout()

# %% [markdown]
# ### Over twenty noise draws
#
# As in the quickstart, count how often each method finds exactly the four true terms. Enforcing
# the known rotation is the benchmark; promotion is not told the symmetry.

# %%
C_true = system.true_coefficients(promoted.library_)
counts = {"plain pysindy": 0, "promoted (symmetry unknown)": 0, "enforced rotation (known)": 0}
for seed in range(20):
    xs = system.simulate(t_end=5.0, dt=0.1, noise=0.01, random_state=seed).x[0]
    fits = {
        "plain pysindy": ps.SINDy(
            optimizer=ps.STLSQ(threshold=0.05, alpha=0.05),
            feature_library=ps.PolynomialLibrary(degree=3),
            differentiation_method=default_differentiation(len(t)),
        )
        .fit(xs, t=t)
        .coefficients(),
        "promoted (symmetry unknown)": PromotedSINDy(library=ps.PolynomialLibrary(degree=3)).fit(xs, t=t).coef_,
        "enforced rotation (known)": SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)")
        .fit(xs, t=t, feature_names=["x", "y"])
        .coef_,
    }
    for name, C in fits.items():
        counts[name] += np.array_equal(C != 0, C_true != 0)
print(counts)

fig, ax = plt.subplots(figsize=(6.5, 3.2))
bars = ax.barh(list(counts), list(counts.values()), color=["C3", "C2", "C0"])
ax.bar_label(bars, padding=3)
ax.set_xlim(0, 22)
ax.invert_yaxis()
ax.set_xlabel("noise draws (of 20) with exactly the true terms")
ax.set_title("Damped oscillator, 51 samples, 1% noise")
fig.tight_layout()

# %% [markdown]
# ## A system whose symmetry is broken
#
# Now add a small term that no rotation-symmetric model has:
#
# $$\dot x = -0.1x + 2y, \qquad \dot y = -2x - 0.1y + \varepsilon x^2, \qquad \varepsilon = 0.3 .$$
#
# Enforcing the rotation anyway cannot represent $\varepsilon x^2$ and distorts the other terms
# to compensate. Promotion should notice that the data do not support the symmetry.


# %%
def broken_oscillator(_t, s, eps=0.3):
    x, y = s
    return [-0.1 * x + 2 * y, -2 * x - 0.1 * y + eps * x**2]


rng = np.random.default_rng(0)
t_b = np.arange(0.0, 10.0, 0.05)
x_b = []
for x0 in [(2.0, 0.0), (0.0, -1.5), (1.0, 1.0)]:
    sol = solve_ivp(broken_oscillator, (0.0, t_b[-1]), x0, t_eval=t_b, rtol=1e-10, atol=1e-10)
    clean = sol.y.T
    x_b.append(clean + 0.01 * np.sqrt(np.mean(clean**2, axis=0)) * rng.standard_normal(clean.shape))

promoted_b = PromotedSINDy(library=ps.PolynomialLibrary(degree=3), candidates="gl")
promoted_b.fit(x_b, t=t_b, feature_names=["x", "y"])
print("promoted:  ", "\n            ".join(promoted_b.equations()))
print(f"weight {promoted_b.weight_:.3g}; symmetry found: {promoted_b.symmetry_summary()}")

enforced_b = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)")
enforced_b.fit(x_b, t=t_b, feature_names=["x", "y"])
print("enforcing rotation(x,y) regardless:")
enforced_b.print()

# %% [markdown]
# Promotion keeps $0.3\,x^2$ and reports no symmetry; the enforced model has no way to express
# that term and invents cubic ones instead.
#
# ## How the symmetry was chosen
#
# `candidates_` lists every candidate symmetry with its leave-one-out error, the refit check
# and, when it was not eligible, why. For the symmetric oscillator the rotation predicts left-out
# samples as well as anything; for the broken system every candidate with a rotation is rejected
# by the refit check (the residual grows far more than chance allows once $x^2$ is forbidden).


# %%
def plot_candidates(est, ax, title, k=8):
    """Leave-one-out error of the candidates (best first); hatched: not eligible."""
    cands = [c for c in est.candidates_ if np.isfinite(c["loo_error"])][:k]
    labels = [c["description"] if len(c["description"]) < 45 else c["description"][:42] + "..." for c in cands]
    err = [c["loo_error"] for c in cands]
    colors = ["C2" if c["chosen"] else ("C0" if c["eligible"] else "0.75") for c in cands]
    bars = ax.barh(range(len(cands)), err, color=colors)
    for bar, c in zip(bars, cands):
        if not c["eligible"]:
            bar.set_hatch("//")
    ax.set_yticks(range(len(cands)), labels, fontsize="x-small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("leave-one-out relative error of the refit")
    ax.set_title(title, fontsize="small")


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
plot_candidates(promoted, ax1, "Damped oscillator (green: chosen; grey: not eligible)")
plot_candidates(promoted_b, ax2, "With $0.3\\,x^2$ added to $\\dot y$")
fig.tight_layout()
for c in promoted_b.candidates_[:4]:
    print(f"{c['description']:45s} eligible={c['eligible']}  {c['reason'] or ''}")

# %% [markdown]
# Notes:
#
# * `candidates` can be `"so"` (rotations only: fewer, cheaper candidates), `"gl"` (all linear
#   maps: rotations, scalings, shears) or `"affine"` (with translations), or your own list of
#   generators.
# * A fixed `weight=` skips the selection (the refit check still vetoes a symmetry the data
#   reject); `selection="cv"` uses k-fold cross-validation instead of leave-one-out;
#   `refit=False` with a numeric `threshold` returns the thresholded promoted coefficients
#   without the debiasing refit (`promoted_coef_` always holds them).
# * The default solver is a fast ADMM; `solver="cvxpy"` solves the same convex problem with a
#   conic solver as a reference. `solver_info_` says what ran and whether it converged.
