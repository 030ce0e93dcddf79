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
# # Discovering symmetries from data
#
# The quickstart enforced a symmetry we knew. Often we only suspect one, or have no idea. symsindy
# can look for symmetries in data:
#
# 1. fit an ordinary sparse model $\dot x = X\,\Theta(x)$;
# 2. **continuous symmetries**: for each candidate linear generator $A$ (a basis of all $n\times n$
#    matrices, `candidates="gl"`), the Lie derivative $X D_A - A X$ says how much the model changes
#    under $x \mapsto e^{\epsilon A}x$. It is linear in $A$, so the symmetry algebra is the
#    (near-)nullspace of one matrix. Its singular values, normalised, are the evidence: a few near
#    zero and a clear gap above them means a symmetry;
# 3. **discrete symmetries**: every signed permutation of the coordinates (sign flips, swaps,
#    cycles) is tried on the model;
# 4. each candidate is **checked against the data** by refitting with it enforced (a symmetry the
#    data break makes the fit worse), and the whole analysis is repeated on bootstrap resamples to
#    say how stable the answer is.
#
# Two examples: the Lorenz system (a discrete symmetry, no continuous one) and the normal form of
# a Hopf bifurcation (rotation symmetric).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps

from symsindy import equivariance_residual, get_system
from symsindy.discover import discover_symmetries, fit_with_discovered_symmetry
from symsindy.plots import plot_singular_values

# %% [markdown]
# ## Lorenz: $(x, y, z) \mapsto (-x, -y, z)$
#
# $\dot x = \sigma(y - x)$, $\dot y = x(\rho - z) - y$, $\dot z = xy - \beta z$ is unchanged when
# $x$ and $y$ both change sign: the butterfly's two wings are mirror images. Two trajectories of
# 10 time units, sampled every 0.005, with 1% noise on the states; a quadratic library.

# %%
lorenz = get_system("lorenz")
sim = lorenz.simulate(t_end=10.0, dt=0.005, n_trajectories=2, noise=0.01, random_state=0)
names = list(lorenz.variables)

report_lorenz = discover_symmetries(
    sim.x,
    t=sim.t,
    feature_names=names,
    library=ps.PolynomialLibrary(degree=2),
    threshold=0.1,
    n_bootstrap=10,
    random_state=0,
)
print(report_lorenz.summary())

# %% [markdown]
# The summary reads: no continuous symmetry (the smallest normalised singular value is about
# 0.08, far from zero); among the signed permutations one passes, `flip(x,y)`, with a residual at
# rounding level; enforcing it barely changes the fit to the data (small *refit cost*), and every
# bootstrap refit finds it. `report.specs` is the answer in the spec grammar, ready to enforce.

# %%
print("specs:", report_lorenz.specs)
print("unconstrained model that was analysed:")
report_lorenz.model.print()

# %% [markdown]
# ## A rotation-symmetric system: the Hopf normal form
#
# $$\dot x = \mu x - \omega y - x(x^2+y^2), \qquad \dot y = \omega x + \mu y - y(x^2+y^2)$$
#
# Everything here depends on the radius and turns with the angle, so any rotation of the plane is
# a symmetry: a continuous one-parameter group. Three trajectories from different starting
# points (one spirals out from near the origin, two spiral in onto the limit cycle of radius 1),
# 1% noise, a cubic library.

# %%
hopf = get_system("hopf")
starts = np.array([[0.1, 0.0], [2.0, 0.0], [0.0, -1.5]])
sim_h = hopf.simulate(t_end=10.0, dt=0.02, x0=starts, noise=0.01, random_state=0)

fig, ax = plt.subplots(figsize=(6.5, 4.5))
for k, xk in enumerate(sim_h.x):
    ax.plot(xk[:, 0], xk[:, 1], ".", ms=2, label=f"trajectory {k + 1}")
    ax.plot(*xk[0], "k^", ms=6)
ax.plot([], [], "k^", label="start")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_aspect("equal")
ax.set_title("Hopf normal form: training data (1% noise)")
ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
fig.tight_layout()

# %%
report_hopf = discover_symmetries(
    sim_h.x,
    t=sim_h.t,
    feature_names=["x", "y"],
    library=ps.PolynomialLibrary(degree=3),
    threshold=0.05,
    n_bootstrap=10,
    random_state=0,
)
print(report_hopf.summary())

# %% [markdown]
# One continuous direction with a singular value of a few $10^{-3}$ (the noise level) and a gap of
# two orders of magnitude to the next: a one-dimensional symmetry algebra, recognised as
# `rotation(x,y)`. The discrete search also finds the quarter turn $(x, y) \mapsto (y, -x)$,
# written `flip(x)+swap(x,y)`, and the half turn `flip(x,y)`: these are rotations too, so they add
# nothing new, but the search does not know that.
#
# ## The singular-value figure
#
# The spectrum is the main piece of evidence. For Lorenz all nine normalised singular values are
# of order 0.1 to 1; for the Hopf system one sits far below the rest.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
plot_singular_values(report_lorenz, ax=ax1, title="Lorenz: no continuous symmetry")
plot_singular_values(report_hopf, ax=ax2, title="Hopf normal form: one rotation generator")
for ax in (ax1, ax2):
    ax.set_ylim(1e-4, 3)
fig.tight_layout()

# %% [markdown]
# How to read it: the horizontal axis counts the candidate directions (here the $n^2$ matrix
# units of $\mathfrak{gl}(n)$) from the most to the least symmetric; the vertical axis is how far
# the model is from being unchanged along that direction, relative to the size of the model. Blue
# points below the dashed line form the discovered algebra. With noisier or scarcer data the blue
# points rise towards the grey ones and the gap closes; the bootstrap line of the summary
# (*same dimension in 100%*) shows when that starts to happen.
#
# ## Discover, then enforce
#
# `fit_with_discovered_symmetry` runs the discovery, keeps what was found in at least half the
# bootstrap refits, and refits with it enforced. It returns the model, the report and the specs
# it enforced.

# %%
model, report, enforced = fit_with_discovered_symmetry(
    sim_h.x,
    t=sim_h.t,
    feature_names=["x", "y"],
    library=ps.PolynomialLibrary(degree=3),
    threshold=0.05,
    n_bootstrap=10,
    random_state=0,
)
print("enforced:", enforced)
model.print()
print(f"equivariance residual: {model.equivariance_residual_:.1e}")

# %% [markdown]
# Compared with the unconstrained model the discovery started from, and with the truth:

# %%
C_true = hopf.true_coefficients(model.library_)
free = report.model
for name, C in [("unconstrained", free.coef_), ("discovered + enforced", model.coef_)]:
    print(
        f"{name:22s} terms {np.count_nonzero(C):2d} (true {np.count_nonzero(C_true)})   "
        f"largest coefficient error {np.max(np.abs(C - C_true)):.3f}   "
        f"equivariance residual {equivariance_residual(C, model.action_):.1e}"
    )

# %% [markdown]
# The enforced model is exactly rotation symmetric: its coefficients are tied (the two linear
# growth rates are one number, the two rotation rates another, and the four cubic coefficients a
# third), where the unconstrained ones scatter. What the symmetry cannot fix is the bias that
# smoothing noisy data puts on the terms it allows: both models shrink $\mu$ and the cubic
# coefficient by a similar few per cent. Enforcing does not make every coefficient better; it
# makes the model obey the symmetry exactly and spreads the error evenly over the tied terms.

# %%
terms = model.term_names_
rows = [(i, k) for i in range(2) for k in range(len(terms)) if C_true[i, k] != 0]
labels = [f"{'xy'[i]}': {terms[k]}" for i, k in rows]
pos = np.arange(len(rows))
fig, ax = plt.subplots(figsize=(8, 4))
for shift, (name, C, c) in zip(
    [-0.2, 0.2], [("unconstrained", free.coef_, "C3"), ("discovered + enforced", model.coef_, "C0")]
):
    ax.bar(pos + shift, [C[i, k] - C_true[i, k] for i, k in rows], width=0.4, color=c, label=name)
ax.axhline(0, color="black", lw=0.8)
ax.set_xticks(pos, labels, rotation=30, ha="right")
ax.set_ylabel("fitted minus true coefficient")
ax.set_title("Hopf normal form: coefficient errors of the 8 true terms")
ax.legend(fontsize="small")
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()

# %% [markdown]
# ## When to distrust the answer
#
# * `report.warnings` lists reasons: a library that is nearly collinear on the data (all
#   trajectories close to one curve) cannot tell models apart, and then "symmetries" may be
#   artefacts. Data from varied initial states help.
# * `report.rejected` lists candidates that the model has but the data break: enforcing them
#   made the least-squares fit clearly worse.
# * The bootstrap numbers (how often the same dimension and the same specs come back) are the
#   honest error bar. With noisier data the rotation's singular value rises and the gap closes.
#
# The same analysis is on the command line: `symsindy symmetries DATA.csv`, and
# `symsindy fit DATA.csv --symmetry auto` discovers and enforces in one go.

# %%
print("warnings:", report_hopf.warnings or "none")
print("rejected:", report_hopf.rejected or "none")
print("bootstrap spec frequency:", report_hopf.spec_frequency)
