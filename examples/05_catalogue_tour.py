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
# # A tour of the catalogue
#
# symsindy ships a catalogue of dynamical systems as data: one TOML file per system in
# `systems/`, with the equations, parameter values, a reference, and *claims*: symmetries,
# conserved quantities and Hamiltonian structure, each of which is checked symbolically when the
# file is loaded and by the test suite. The catalogue is there to test methods on systems whose
# answer is known: simulate, fit, compare with the true coefficients.
#
# All catalogue systems are dimensionless: times and states carry no units.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pysindy as ps

from symsindy import SymmetricSINDy, get_system, list_systems
from symsindy.catalogue import verify_system

# %% [markdown]
# ## What is in it

# %%
names = list_systems()
print(f"{len(names)} systems\n")
print(f"{'name':24s} {'n':>2s}  {'symmetries':48s} conserved")
for name in names:
    s = get_system(name)
    specs = "; ".join(s.symmetry_specs) or "-"
    if len(specs) > 46:
        specs = specs[:43] + "..."
    print(f"{name:24s} {s.n_variables:2d}  {specs:48s} {', '.join(s.conserved) or '-'}")

# %% [markdown]
# ## One system in detail
#
# `get_system(name)` returns a `System`. The equations are SymPy expressions, kept both in
# parameter symbols (`equations`) and with the values substituted exactly (`rhs`).

# %%
lorenz = get_system("lorenz")
print(lorenz.description)
print("reference: ", lorenz.reference)
print("tags:      ", ", ".join(lorenz.tags))
print("parameters:", lorenz.parameters)
for v in lorenz.variables:
    print(f"  {v}' = {lorenz.equations[v]}    =   {lorenz.rhs[v]}")
print("symmetries:", lorenz.symmetry_specs)
print("default initial state", lorenz.x0, f"dt = {lorenz.dt}, t_end = {lorenz.t_end}")

# %% [markdown]
# ### Symmetries are objects, and claims are checked
#
# `system.symmetry` is a `Symmetry`: generators (matrices of the Lie algebra) and discrete
# elements. `verify_system` re-checks every claim of the file; a claim that does not hold is an
# error when the catalogue loads, so what you read here has been proved for these equations.

# %%
for e in lorenz.symmetry.elements:
    print(e.label, "\n", e.matrix)
for c in verify_system(lorenz):
    print(f"{'ok' if c.ok else 'FAILS':5s} {c.claim:28s} ({c.method})")

# %% [markdown]
# ### A Hamiltonian system: the free rigid body
#
# Euler's equations for the angular momentum $m$ of a free rigid body are Hamiltonian with a
# *Poisson* (not canonical) structure. Besides the energy they conserve a Casimir, $|m|^2$, which
# Poisson-commutes with everything: it is conserved by every Hamiltonian on this structure, not
# because of a particular symmetry.

# %%
body = get_system("rigid_body")
for v in body.variables:
    print(f"  {v}' = {body.rhs[v]}")
print("symmetries:", body.symmetry_specs)
print("conserved: ", body.conserved)
print("structure: ", body.structure.kind, "\n", body.structure.matrix)

# %% [markdown]
# ### Claims that hold only for some parameter values
#
# The 2-D harmonic oscillator with frequency $\omega$ also has the symmetry
# `rotation(q1,p1)+rotation(q2,p2)` when $\omega = 1$ (then rotating each phase plane is the flow
# of the energy itself). The catalogue states such a claim with a condition; change the parameter
# and the claim drops out.

# %%
osc = get_system("harmonic_oscillator_2d")
print("omega = 1:", osc.symmetry_specs)
print("omega = 2:", get_system("harmonic_oscillator_2d", omega=2.0).symmetry_specs)

# %% [markdown]
# ## Simulating
#
# `system.simulate(t_end, dt, x0=None, n_trajectories=1, noise=0.0, random_state=None)` integrates
# accurately (DOP853, tolerances $10^{-10}$) and returns the times, the (optionally noisy)
# states, the clean states and the exact derivatives. Extra trajectories start from the default
# state perturbed by 10%, reproducibly from `random_state`.

# %%
sim = lorenz.simulate(t_end=20.0, dt=0.01, n_trajectories=2, noise=0.01, random_state=0)
print(sim.t.shape, [x.shape for x in sim.x], "noise:", sim.noise)

fig = plt.figure(figsize=(11, 4.2))
ax = fig.add_subplot(1, 2, 1, projection="3d")
for k, (xk, c) in enumerate(zip(sim.x_clean, ["C0", "C1"])):
    ax.plot(*xk.T, color=c, lw=0.6, label=f"trajectory {k + 1}")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_zlabel("z")
ax.set_title("Lorenz attractor (clean states)")
ax.legend(fontsize="small")
ax2 = fig.add_subplot(1, 2, 2)
early = sim.t <= 3.0
ax2.plot(sim.t[early], sim.x_clean[0][early, 0], color="C0", lw=1, label="x, clean")
ax2.plot(sim.t[early], sim.x[0][early, 0], ".", ms=2.5, color="black", label="x, with 1% noise")
ax2.set_xlabel("time t (dimensionless)")
ax2.set_ylabel("x")
ax2.set_title("First trajectory, first 3 time units")
ax2.legend(fontsize="small", loc="lower right")
fig.tight_layout()

# %% [markdown]
# A few more, in their phase planes:

# %%
gallery = ["hopf", "van_der_pol", "lotka_volterra", "duffing", "rigid_body", "pendulum"]
fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
for ax, name in zip(axes.ravel(), gallery):
    s = get_system(name)
    run = s.simulate(n_trajectories=3, random_state=1, spread=0.2)
    for k, xk in enumerate(run.x):
        ax.plot(xk[:, 0], xk[:, 1], lw=0.8, label=f"start {k + 1}")
        ax.plot(*xk[0, :2], "k.", ms=5)
    ax.set_xlabel(s.variables[0])
    ax.set_ylabel(s.variables[1])
    ax.set_title(f"{name}  ({'; '.join(s.symmetry_specs[:2]) or 'no symmetry'})", fontsize="small")
    ax.grid(alpha=0.3)
axes[0, 0].legend(fontsize="x-small", loc="lower left")
fig.suptitle("Catalogue systems: first two variables, three starts each (dots: initial states)")
fig.tight_layout()

# %% [markdown]
# ## True coefficients: scoring a fitted model
#
# For a polynomial system, `true_coefficients(library)` returns the exact coefficient matrix in
# a fitted pysindy `PolynomialLibrary` (rows: variables, columns: the library's terms), so any
# fit can be scored. Here we fit six systems from four trajectories with 1% noise, each with its
# own symmetries enforced, and compare. The threshold is in the units of the coefficients, so
# Lorenz, whose coefficients run up to 28, gets a larger one.

# %%
print(f"{'system':20s} {'symmetries':36s} {'right terms':>11s} {'max coef. error':>16s} {'largest true':>13s}")
for name, degree, threshold in [
    ("damped_oscillator", 3, 0.05),
    ("hopf", 3, 0.05),
    ("duffing", 3, 0.05),
    ("lorenz", 2, 0.5),
    ("halvorsen", 2, 0.05),
    ("rigid_body", 2, 0.05),
]:
    s = get_system(name)
    data = s.simulate(n_trajectories=4, noise=0.01, random_state=0)
    model = SymmetricSINDy(library=ps.PolynomialLibrary(degree=degree), symmetry=s.symmetry_specs, threshold=threshold)
    model.fit(data.x, t=data.t, feature_names=list(s.variables))
    C_true = s.true_coefficients(model.library_)
    same = np.array_equal(model.coef_ != 0, C_true != 0)
    err = np.max(np.abs(model.coef_ - C_true))
    print(f"{name:20s} {'; '.join(s.symmetry_specs):36s} {str(same):>11s} {err:16.3f} {np.max(np.abs(C_true)):13.2f}")

# %% [markdown]
# Not every system is this easy. Data near an attractor that lies in a low-dimensional set (the
# May–Leonard heteroclinic cycle, for instance) leave the library nearly collinear, and then no
# symmetry saves the fit: more varied initial states do.
#
# `Simulation.to_csv(path)` writes a simulation in the CSV format that `symsindy fit` reads (see
# `06_your_own_csv`), and `symsindy systems list | show NAME | simulate NAME` does the same on the
# command line. To add a system, write a TOML file like those in `systems/`: its claims will be
# checked when it loads.
