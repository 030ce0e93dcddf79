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
# # Noether's theorem and conservation laws
#
# In a Hamiltonian system, $\dot z = J\,\nabla H(z)$ with canonical coordinates $z = (q, p)$,
# every continuous symmetry of $H$ comes with a conserved quantity, its *Noether charge*: the
# function $C$ whose Hamiltonian flow is the symmetry, $J\nabla C = Az$. Rotating the positions
# $(q_1, q_2)$ together with the momenta $(p_1, p_2)$ has the charge
# $L = q_1 p_2 - q_2 p_1$, the angular momentum.
#
# The converse direction needs the Hamiltonian structure. A damped oscillator is just as rotation
# symmetric, but it loses energy: the charge of its rotation is not conserved. symsindy computes
# charges from symmetries, checks them against a fitted model (symbolically) and along
# trajectories (numerically), and finds polynomial conserved quantities with no symmetry assumed,
# from a model or straight from data.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps
import sympy as sp

from symsindy import SymmetricSINDy, get_system
from symsindy.conservation import (
    check_quantity,
    conserved_from_data,
    conserved_quantities,
    noether_charge,
    noether_report,
)
from symsindy.discover import estimate_derivatives
from symsindy.plots import plot_quantities


def rounded(expr, digits=3):
    """An expression with its floating-point coefficients shown to a few significant digits."""
    return expr.xreplace({f: sp.Float(f, digits) for f in expr.atoms(sp.Float)})


# %% [markdown]
# ## The isotropic oscillator
#
# Two uncoupled unit oscillators, $\dot q_i = p_i$, $\dot p_i = -q_i$: a particle in the potential
# $\frac12(q_1^2+q_2^2)$. We simulate 10 trajectories from random starting states (varied starts
# matter below) with 1% noise, and fit a quadratic model with the rotation enforced. The spec
# `rotation(q1,q2)+rotation(p1,p2)` is *one* transformation that rotates both planes at once.

# %%
osc = get_system("harmonic_oscillator_2d")
names = list(osc.variables)
print("variables:", names, "  canonical pairs:", osc.structure.pairs)
print("Hamiltonian:", osc.structure.hamiltonian)

rng = np.random.default_rng(0)
sim = osc.simulate(t_end=5.0, dt=0.02, x0=rng.normal(size=(10, 4)), noise=0.01, random_state=1)
times = [sim.t] * sim.n_trajectories

rotation = "rotation(q1,q2)+rotation(p1,p2)"
model = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), symmetry=rotation, threshold=0.05)
model.fit(sim.x, t=sim.t, feature_names=names)
model.print()
rhs = [model.sympy()[v] for v in names]

# %% [markdown]
# ### The charge of the rotation, and whether it is conserved
#
# `noether_charge` solves $J\nabla C = Az$ for a polynomial $C$, given the canonical pairs.
# `check_quantity` then computes $\dot C = \nabla C\cdot f$ for the fitted $f$ symbolically, and
# the relative drift of $C$ along the data and along the model's own trajectories.

# %%
L = noether_charge(rotation, names, pairs=osc.structure.pairs)
print("charge:", L)
check = check_quantity(L, rhs, names, x_data=sim.x, t=times)
print(f"dC/dt along the model: {rounded(check.derivative)}")
print(
    f"symbolic residual {check.symbolic_residual:.1e}, drift along the model {check.drift_model:.1e}, "
    f"drift along the data {check.drift_data:.1e} -> conserved: {check.conserved}"
)

# %% [markdown]
# The model's $\dot L$ is zero to rounding: the enforced rotation symmetry hands the model its
# conservation law. Along the noisy data $L$ wanders by a few per cent, which is the noise.
#
# ### The Noether report
#
# `noether_report` does this for every generator of a symmetry and raises flags: a symmetry whose
# charge is not conserved, or a conserved quantity (passed in `conserved`) that no charge of
# the given symmetries explains. The energy is such a quantity here: it comes from the symmetry
# under shifts of *time*, which is not among the state transformations we gave.

# %%
energy = osc.conserved["energy"]
entries, flags = noether_report(
    model.symmetry_, rhs, pairs=osc.structure.pairs, x_data=sim.x, t=times, conserved=[energy]
)
for e in entries:
    print(e.symmetry, "->", e.charge, "| conserved:", e.check.conserved)
for f in flags:
    print("flag:", f)

# %% [markdown]
# ### Conserved quantities without assuming a symmetry
#
# `conserved_quantities(rhs, variables, degree)` finds every polynomial $C$ (here up to degree 2)
# with $\nabla C\cdot f = 0$, from the near-nullspace of a linear map measured at points spread
# over the data's bounding box. The isotropic oscillator has four quadratic invariants: the
# energy of each mode, the angular momentum, and $q_1q_2 + p_1p_2$ (the rotations *within* each
# $(q_i, p_i)$ plane are symmetries too, since both frequencies are 1).

# %%
found, singular_values = conserved_quantities(rhs, names, degree=2, x_samples=sim.x)
for q in found:
    print(f"  {rounded(q.expr)}    (residual {q.residual:.1e})")
print("smallest normalised singular values:", np.round(singular_values[:6], 4))

# %% [markdown]
# The same question can be asked of the data with no model at all: replace $f$ by derivatives
# estimated from the noisy states (`conserved_from_data`). The answer is noisier, and it needs
# trajectories that fill the state space: on a single closed orbit *every* function of the phase
# is "conserved" along that curve. Here the four invariants stand out from the rest by a gap of
# about twenty.

# %%
xs_smooth, xdots = estimate_derivatives(sim.x, times)
from_data, sv_data = conserved_from_data(xs_smooth, xdots, names, degree=2)
for q in from_data:
    print(f"  {rounded(q.expr)}    (residual {q.residual:.1e})")
print("smallest normalised singular values:", np.round(sv_data[:6], 4))

# %% [markdown]
# ## The damped oscillator: a symmetry without a conservation law
#
# $\dot x = -0.1x + 2y$, $\dot y = -2x - 0.1y$ is rotation symmetric. Read $(x, y)$ as a
# canonical pair $(q, p)$: rotating that plane is generated by $C = \frac12(x^2+y^2)$, the energy
# of the undamped oscillator. Damping drains it, and the report flags the symmetry as one
# without a conserved charge.

# %%
damped = get_system("damped_oscillator")
sim_d = damped.simulate(t_end=10.0, dt=0.02, n_trajectories=2, noise=0.01, random_state=1)
times_d = [sim_d.t] * sim_d.n_trajectories
model_d = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), symmetry="rotation(x,y)", threshold=0.05)
model_d.fit(sim_d.x, t=sim_d.t, feature_names=["x", "y"])
model_d.print()
rhs_d = [model_d.sympy()[v] for v in ["x", "y"]]

entries_d, flags_d = noether_report(model_d.symmetry_, rhs_d, pairs=[("x", "y")], x_data=sim_d.x, t=times_d)
for e in entries_d:
    print(
        e.symmetry,
        "->",
        e.charge,
        "| conserved:",
        e.check.conserved,
        f"| drift along the model {e.check.drift_model:.2f}",
    )
for f in flags_d:
    print("flag:", f)

found_d, sv_d = conserved_quantities(rhs_d, ["x", "y"], degree=2, x_samples=sim_d.x)
print(
    "polynomial conserved quantities of the fitted model:",
    [str(q) for q in found_d] or "none",
    f"(smallest singular value {sv_d[0]:.3f})",
)

# %% [markdown]
# ## Seeing it
#
# Each quantity along the first trajectory: dots are the noisy data, lines the fitted model
# integrated from the same start. Values are shifted by their mean on the data and divided by a
# typical size, so a conserved quantity is a flat line near 0 and quantities of different size
# share an axis. For the damped oscillator we plot $(x^2+y^2)/2$, minus the rotation's charge.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
plot_quantities(
    [L, energy],
    names,
    sim.t,
    sim.x[0],
    rhs=rhs,
    ax=ax1,
    labels=["angular momentum $q_1p_2 - q_2p_1$", "energy $H$"],
    title="Isotropic oscillator: both conserved",
)
plot_quantities(
    [-entries_d[0].charge],
    ["x", "y"],
    sim_d.t,
    sim_d.x[0],
    rhs=rhs_d,
    ax=ax2,
    labels=["$(x^2+y^2)/2$"],
    title="Damped oscillator: the rotation's charge decays",
)
for ax in (ax1, ax2):
    ax.set_xlabel("time t (dimensionless)")
    ax.set_ylim(-0.7, 0.7)  # the same scale on both sides
fig.tight_layout()

# %% [markdown]
# On the command line, `symsindy conserved` and `symsindy noether` do the same for a data file
# or a catalogue system.
