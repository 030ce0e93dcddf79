"""Candidate families for conserved quantities, and the readable, independent basis found in them."""

import numpy as np
import pytest
import sympy as sp

from symsindy.catalogue import get_system
from symsindy.conservation import (
    held_out_drift,
    InvariantSearch,
    conserved_from_data,
    conserved_quantities,
    span_residual,
    trajectory_separation,
)
from symsindy.invariants import custom_basis, make_basis, read_basis_file

Q = ["q1", "q2", "p1", "p2"]
q1, q2, p1, p2 = sp.symbols(Q)
# the isotropic anharmonic oscillator: energy and angular momentum
ANHARMONIC = [p1, p2, -q1 * (1 + q1**2 + q2**2), -q2 * (1 + q1**2 + q2**2)]
H = (p1**2 + p2**2) / 2 + (q1**2 + q2**2) / 2 + (q1**2 + q2**2) ** 2 / 4
L = q1 * p2 - q2 * p1


# ----------------------------------------------------------------------------- families


def test_families_and_levels():
    b = make_basis("poly", ["x", "y"], 2)
    assert len(b) == 5 and sorted(b.levels) == [1, 1, 2, 2, 2]
    x, y = sp.symbols("x y")
    data = np.array([[1.0, -1.0], [2.0, 0.5]])  # y is not positive: no log y
    lg = make_basis("log", ["x", "y"], 2, x_samples=data)
    assert lg.positive == (0,)
    assert sp.log(x) in lg.functions and x * sp.log(x) in lg.functions
    assert not any(f.has(sp.log(y)) for f in lg.functions)
    tr = make_basis("trig", ["x", "y"], 1)
    assert set(tr.functions) == {x, y, sp.sin(x), sp.cos(x), sp.sin(y), sp.cos(y)}
    kp = make_basis("kepler", ["x", "y", "px", "py"], 2)
    r = sp.sqrt(x**2 + y**2)
    assert kp.positions == (0, 1) and sp.expand(1 / r) in kp.functions
    assert dict(zip(kp.functions, kp.levels))[sp.expand(x / r)] == 2


def test_exp_family_finds_the_toda_lattice_s_three_integrals():
    """exp(q_i - q_j) times monomials: the energy, the momentum and the cubic integral of the
    periodic Toda lattice, three independent quantities, written with exp(a - b) kept whole."""
    system = get_system("toda_lattice")
    b = make_basis("exp", list(system.variables), 3)
    q1, q2 = sp.symbols("q1 q2")
    assert sp.exp(q1 - q2) in b.functions and b.name == "exp"
    sim = system.simulate(random_state=0, n_trajectories=4)
    res = conserved_quantities(system.rhs_list, list(system.variables), 3, basis="auto", x_samples=sim.x)
    assert res.basis == "exp" and res.independent == 3
    for expr in system.conserved.values():
        assert span_residual(expr, [q.expr for q in res.quantities], system.variables) < 1e-8
    assert "exp(q1 - q2)" in str(res.quantities[1].expr)
    with pytest.raises(ValueError, match="basis 'exp': give the position variables"):
        make_basis("exp", ["x", "y", "z"], 2)


def test_family_errors_name_the_problem():
    with pytest.raises(ValueError, match="basis 'bessel'"):
        make_basis("bessel", ["x"], 2)
    with pytest.raises(ValueError, match="give the position variables"):
        make_basis("kepler", ["x", "y", "z"], 2)
    with pytest.raises(ValueError, match="positions"):
        make_basis("kepler", ["x", "y", "px", "py"], 2, positions=["x", "w"])
    with pytest.raises(ValueError, match="positive integer"):
        make_basis("poly", ["x"], 0)
    with pytest.raises(ValueError, match=r"basis expression 'cos\(z\)': name 'z' is not allowed"):
        custom_basis(["cos(z)"], ["x", "y"], 1)


def test_coefficients_round_trip_and_refuse_what_is_outside():
    x, y = sp.symbols("x y")
    b = make_basis("trig", ["x", "y"], 2)
    expr = 3 * x**2 - sp.cos(x) / 2 + 7
    c = b.coefficients(expr)
    assert c is not None and sp.simplify(b.expression(c) - (expr - 7)) == 0
    assert b.coefficients(sp.log(x)) is None
    assert b.coefficients(x**3) is None


def test_basis_file(tmp_path):
    f = tmp_path / "basis.txt"
    f.write_text("# the pendulum's potential\ncos(theta)\n\nsin(theta)  # and its partner\n")
    b = read_basis_file(f, ["theta", "omega"], 2)
    theta = sp.Symbol("theta")
    assert b.name == "custom" and sp.cos(theta) in b.functions and sp.sin(theta) in b.functions
    assert len(b) == 5 + 2
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="holds no expression"):
        read_basis_file(tmp_path / "empty.txt", ["theta", "omega"], 2)
    with pytest.raises(ValueError, match="does not exist"):
        read_basis_file(tmp_path / "missing.txt", ["theta", "omega"], 2)


# ----------------------------------------------------------------------------- independent basis


def test_products_of_lower_invariants_are_not_new():
    """Degree 4 on the anharmonic oscillator: the null space holds L, H and L**2; the basis
    reports L and H, both independent (it listed three mixtures before)."""
    res = conserved_quantities(ANHARMONIC, Q, 4, x_samples=np.random.default_rng(0).uniform(-1, 1, (50, 4)))
    assert isinstance(res, InvariantSearch)
    found = [q.expr for q in res.quantities]
    assert len(found) == 2 and res.independent == 2, found
    assert span_residual(L, found[:1], Q) < 1e-8  # degree 2 first: L
    assert span_residual(H, found, Q) < 1e-8
    assert span_residual(L**2, found, Q) < 1e-8  # a product of what is reported
    # readable: L exactly, and H without any L**2 admixture
    assert sp.expand(found[0] - L) == 0 or sp.expand(found[0] + L) == 0
    assert sp.Poly(found[1], *sp.symbols(Q)).coeff_monomial(q1 * q2 * p1 * p2) == 0


def test_a_function_of_the_others_is_marked_dependent():
    """Kepler at degree 3 in its family: energy, angular momentum and both Laplace-Runge-Lenz
    components are conserved; only three of them are independent in four dimensions."""
    system = get_system("kepler")
    sim = system.simulate(n_trajectories=2, random_state=0)
    res = conserved_quantities(system.rhs_list, list(system.variables), 3, x_samples=sim.x, basis="kepler")
    assert len(res.quantities) == 4 and res.independent == 3
    assert [q.independent for q in res.quantities].count(False) == 1
    assert res.quantities[0].independent is not False
    for label, q in system.conserved.items():
        assert span_residual(q, [f.expr for f in res.quantities], system.variables) < 1e-8, label


def test_charged_particle_reports_three_independent_and_its_angular_momentum_in_their_algebra():
    system = get_system("charged_particle")
    sim = system.simulate(n_trajectories=2, random_state=0)
    res = conserved_quantities(system.rhs_list, list(system.variables), 2, x_samples=sim.x)
    assert res.independent == 3 and len(res.quantities) == 3
    found = [q.expr for q in res.quantities]
    for label, q in system.conserved.items():
        assert span_residual(q, found, system.variables) < 1e-8, label
    # the angular momentum is not in the plain span: only with products of the guiding centre
    L = system.conserved["angular_momentum"]
    xs = sp.symbols(list(system.variables))
    monos = sorted({m for e in [L, *found] for m in sp.Poly(e, *xs).monoms()})
    vec = lambda e: [float(sp.Poly(e, *xs).coeff_monomial(m)) for m in monos]  # noqa: E731
    B, y = np.array([vec(e) for e in found]).T, np.array(vec(L))
    c, *_ = np.linalg.lstsq(B, y, rcond=None)
    assert np.linalg.norm(B @ c - y) > 0.1 * np.linalg.norm(y)


@pytest.mark.parametrize(
    "name, family", [("lotka_volterra", "log"), ("pendulum", "trig"), ("kepler", "kepler"), ("sir", "log")]
)
def test_auto_finds_the_non_polynomial_invariants(name, family):
    system = get_system(name)
    sim = system.simulate(n_trajectories=2, random_state=0)
    degree = 3 if name == "kepler" else 2
    res = conserved_quantities(system.rhs_list, list(system.variables), degree, x_samples=sim.x, basis="auto")
    assert res.basis == family and set(res.candidates) >= {"poly", family}
    assert res.candidates[family]["independent"] > res.candidates["poly"]["independent"]
    for label, q in system.conserved.items():
        assert span_residual(q, [f.expr for f in res.quantities], system.variables) < 1e-8, label
    # nothing reported fails the true flow
    xs = sp.symbols(list(system.variables))
    pts = sim.x[0][::50]
    for q in res.quantities:
        dq = sum(sp.diff(q.expr, x) * f for x, f in zip(xs, system.rhs_list))
        vals = sp.lambdify(xs, [dq, *[sp.diff(q.expr, x) for x in xs]], "numpy")(*pts.T)
        grad = np.linalg.norm(np.array([np.broadcast_to(v, len(pts)) for v in vals[1:]]), axis=0)
        assert np.max(np.abs(vals[0])) <= 1e-8 * max(np.max(grad), 1.0), q.expr


@pytest.mark.parametrize("name", ["lorenz", "van_der_pol", "damped_oscillator", "rossler"])
@pytest.mark.parametrize("degree", [2, 3])
def test_dissipative_systems_conserve_nothing_in_any_family(name, degree):
    system = get_system(name)
    sim = system.simulate(n_trajectories=2, random_state=0)
    res = conserved_quantities(system.rhs_list, list(system.variables), degree, x_samples=sim.x, basis="auto")
    assert res.quantities == [], [str(q) for q in res.quantities]
    assert all(c["found"] == 0 for c in res.candidates.values())


def test_a_richer_family_is_kept_only_when_it_finds_more():
    """The harmonic oscillator's energy is a polynomial: trig finds it too, and poly is kept."""
    system = get_system("harmonic_oscillator")
    sim = system.simulate(n_trajectories=2, random_state=0)
    res = conserved_quantities(system.rhs_list, list(system.variables), 2, x_samples=sim.x, basis="auto")
    assert res.basis == "poly" and res.candidates["trig"]["independent"] == res.candidates["poly"]["independent"] == 1


def test_accept_decides_the_automatic_family():
    system = get_system("lotka_volterra")
    sim = system.simulate(n_trajectories=2, random_state=0)
    res = conserved_quantities(
        system.rhs_list,
        list(system.variables),
        2,
        x_samples=sim.x,
        basis="auto",
        accept=lambda q: not q.expr.has(sp.log),
    )
    assert res.basis == "poly" and res.quantities == []


def test_custom_expressions_extend_the_polynomials():
    system = get_system("pendulum")
    sim = system.simulate(n_trajectories=2, random_state=0)
    res = conserved_quantities(system.rhs_list, list(system.variables), 2, x_samples=sim.x, basis=["cos(theta)"])
    assert res.basis == "custom" and len(res.quantities) == 1
    assert span_residual(system.conserved["energy"], [res.quantities[0].expr], system.variables) < 1e-8


def test_search_unpacks_as_quantities_and_singular_values():
    system = get_system("harmonic_oscillator")
    found, sv = conserved_quantities(system.rhs_list, list(system.variables), 2)
    assert len(found) == 1 and sv[0] < 1e-10 and np.all(np.diff(sv) >= 0)


# ----------------------------------------------------------------------------- from data


def test_weak_form_from_data_needs_no_derivatives():
    """Straight from noisy time series, no derivatives: the weak rows -int phi' C(x(t)) dt."""
    system = get_system("harmonic_oscillator")
    sim = system.simulate(noise=0.01, random_state=0, n_trajectories=4)
    res = conserved_from_data(sim.x, None, list(system.variables), 2, t=sim.t, formulation="auto")
    assert res.formulation == "weak" and len(res.quantities) == 1
    assert span_residual(system.conserved["energy"], [res.quantities[0].expr], system.variables) < 1e-2
    with pytest.raises(ValueError, match="give the sample times"):
        conserved_from_data(sim.x, None, list(system.variables), 2, formulation="weak")
    with pytest.raises(ValueError, match="give the derivatives"):
        conserved_from_data(sim.x, None, list(system.variables), 2, formulation="strong")


def test_held_out_drift_tells_a_conserved_quantity_from_a_changing_one():
    """Along noisy data (1%), smoothed as the strong form smooths it: the oscillator's energy
    drifts by about 1%, x**2 by most of its size."""
    osc = get_system("harmonic_oscillator")
    sim = osc.simulate(noise=0.01, random_state=0, n_trajectories=4)
    q, p = sp.symbols(list(osc.variables))
    assert held_out_drift(osc.conserved["energy"], osc.variables, sim.x, [sim.t] * 4) < 0.02
    assert held_out_drift(q**2, osc.variables, sim.x, [sim.t] * 4) > 0.5


def test_held_out_samples_reject_what_the_search_let_through():
    """A relative search loosened to max_null 0.1 takes the damped oscillator's slowly decaying energy;
    its drift along the last samples of each trajectory, held out of the search, rejects it."""
    system = get_system("damped_oscillator")
    sim = system.simulate(noise=0.01, random_state=0, n_trajectories=4)
    names = list(system.variables)
    loose = dict(formulation="weak", criterion="relative", max_null=0.1)
    loose_search = conserved_from_data(sim.x, None, names, 2, t=sim.t, holdout=0, **loose)
    assert len(loose_search.quantities) == 1 and not loose_search.rejected
    checked = conserved_from_data(sim.x, None, names, 2, t=sim.t, **loose)
    assert checked.quantities == [] and len(checked.rejected) == 1
    q, why = checked.rejected[0]
    assert q.held_out_drift > 0.05 and "held-out" in why
    # a conserved one passes, with its figure recorded
    osc = get_system("harmonic_oscillator")
    sim = osc.simulate(noise=0.01, random_state=0, n_trajectories=4)
    res = conserved_from_data(sim.x, None, list(osc.variables), 2, t=sim.t, formulation="weak")
    assert len(res.quantities) == 1 and 0 < res.quantities[0].held_out_drift < 0.05
    with pytest.raises(ValueError, match="holdout 1.5"):
        conserved_from_data(sim.x, None, list(osc.variables), 2, t=sim.t, formulation="weak", holdout=1.5)


def test_strong_form_from_exact_derivatives_finds_the_log_invariant():
    system = get_system("lotka_volterra")
    sim = system.simulate(random_state=0, n_trajectories=4)
    res = conserved_from_data(sim.x, sim.x_dot, list(system.variables), 1, basis="log")
    assert len(res.quantities) == 1
    assert span_residual(system.conserved["integral"], [res.quantities[0].expr], system.variables) < 1e-6


def test_separation_tells_an_energy_from_an_attracting_set():
    """Van der Pol's trajectories share a limit cycle: a function constant on it takes the same
    value on every trajectory; the oscillator's energy differs from one to the next."""
    osc = get_system("harmonic_oscillator")
    sim = osc.simulate(n_trajectories=4, random_state=0)
    assert trajectory_separation(osc.conserved["energy"], osc.variables, sim.x) > 1.0
    vdp = get_system("van_der_pol")
    sim = vdp.simulate(n_trajectories=4, random_state=0)
    x, y = sp.symbols(list(vdp.variables))
    # amplitude on the cycle, measured on the data: nearly the same value on every trajectory
    late = [tr[len(tr) // 2 :] for tr in sim.x]
    assert trajectory_separation(x**2 + y**2, vdp.variables, late) < trajectory_separation(
        osc.conserved["energy"], osc.variables, osc.simulate(n_trajectories=4, random_state=0).x
    )
    assert trajectory_separation(x, vdp.variables, sim.x[:1]) is None


def test_auto_leaves_out_a_family_too_large_to_search():
    """Eight variables at degree 3: trig would hold 884 functions; it is named, not searched."""
    names = [f"q{i}" for i in range(1, 5)] + [f"p{i}" for i in range(1, 5)]
    q, p = sp.symbols(names[:4]), sp.symbols(names[4:])
    rhs = [*p, *[-qi for qi in q]]  # four uncoupled oscillators
    res = conserved_quantities(rhs, names, 3, basis="auto")
    assert (
        "not_searched" in res.candidates["trig"] and "884 candidate functions" in res.candidates["trig"]["not_searched"]
    )
    assert res.basis == "poly" and res.independent == 7
    with pytest.raises(ValueError, match="basis 'trig': 884 candidate functions"):
        conserved_quantities(rhs, names, 3, basis="trig")


def test_fewer_equations_than_functions_is_undetermined():
    from symsindy.conservation import UndeterminedSearch

    system = get_system("harmonic_oscillator")
    sim = system.simulate(n_trajectories=1, random_state=0)
    x, v = sim.x[0][:6], sim.x_dot[0][:6]
    with pytest.raises(UndeterminedSearch, match="6 equations for 9 candidate functions"):
        conserved_from_data(x, v, list(system.variables), 3)
    # auto leaves the undetermined families out and says why
    res = conserved_from_data(sim.x[0][:12], sim.x_dot[0][:12], list(system.variables), 2, basis="auto")
    assert res.basis == "poly" and "12 equations for 17" in res.candidates["trig"]["not_searched"]
