"""Conservation laws and Noether charges of models learned from catalogue data at 1% noise."""

import pysindy as ps
import pytest
import sympy as sp

from symsindy.catalogue import get_system
from symsindy.conservation import check_quantity, conserved_quantities, noether_charge
from symsindy.model import SymmetricSINDy

from symsindy.conservation import span_residual

CASES = ["harmonic_oscillator", "harmonic_oscillator_2d", "duffing", "henon_heiles", "rigid_body", "charged_particle"]


def _degree(expr, xs):
    return sp.Poly(expr, *xs).total_degree()


def _fit(system, noise=0.01, seed=0):
    sim = system.simulate(noise=noise, random_state=seed, n_trajectories=4)
    xs = system.symbols
    degree = max(1, max(_degree(e, xs) for e in system.rhs_list))
    model = SymmetricSINDy(ps.PolynomialLibrary(degree=degree), system.symmetry, threshold=0.05)
    model.fit(sim.x, t=sim.t, feature_names=list(system.variables))
    rhs = [model.sympy().get(v, sp.Integer(0)) for v in system.variables]
    return sim, model, rhs


@pytest.mark.parametrize("name", CASES)
def test_declared_quantities_in_span_of_found(name):
    system = get_system(name)
    xs = system.symbols
    sim, model, rhs = _fit(system)
    polys = {}
    for label, q in system.conserved.items():
        q = sp.expand(q)
        try:
            p = sp.Poly(q, *xs)
        except sp.PolynomialError:
            continue
        polys[label] = sp.expand(q - p.coeff_monomial(1))  # constants are trivially conserved
    assert polys, name
    degree = max(_degree(q, xs) for q in polys.values())
    found, _ = conserved_quantities(rhs, list(system.variables), degree, x_samples=sim.x)
    assert found, f"{name}: nothing found"
    for label, q in polys.items():
        assert span_residual(q, [f.expr for f in found], xs) < 1e-2, f"{name}: {label}"


@pytest.mark.parametrize("name", ["harmonic_oscillator", "harmonic_oscillator_2d", "charged_particle"])
def test_noether_charges_of_declared_symmetries_are_conserved(name):
    system = get_system(name)
    sim, model, rhs = _fit(system)
    st = system.structure
    kw = {"pairs": [tuple(p) for p in st.pairs]} if st.kind == "canonical" else {"matrix": st.matrix}
    checked = 0
    for g in system.symmetry.generators:
        charge = noether_charge(g, list(system.variables), degree=2, **kw)
        if charge is None:
            continue  # not a Hamiltonian symmetry of this structure (e.g. a scaling)
        chk = check_quantity(charge, rhs, list(system.variables), x_data=sim.x, t=sim.t)
        assert chk.conserved, f"{name}: {g.label} charge {charge}: {chk}"
        checked += 1
    assert checked >= 1
