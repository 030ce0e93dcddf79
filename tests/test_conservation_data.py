"""Conserved quantities straight from noisy data (weak form, noise-floor criterion) and the
pendulum families of the invariant search."""

import json

import numpy as np
import pytest
import sympy as sp

from symsindy.catalogue import get_system
from symsindy.cli import main
from symsindy.conservation import conserved_from_data, conserved_quantities, noise_nullity, span_residual
from symsindy.invariants import make_basis

from conftest import catalogue_csv


def _from_data(name, degree, basis, seed=0, **kw):
    system = get_system(name)
    sim = system.simulate(noise=0.01, random_state=seed, n_trajectories=4)
    res = conserved_from_data(
        sim.x, None, list(system.variables), degree, t=sim.t, formulation="weak", basis=basis, **kw
    )
    return system, res


def test_noise_nullity_needs_a_gap_and_a_direction_seen_to_change():
    assert noise_nullity([0.97, 6.2, 7.0]) == 1
    assert noise_nullity([0.94, 0.99, 4.6, 5.3]) == 2
    # no gap of 1.5 below the noise tolerance: the data cannot tell
    assert noise_nullity([0.81, 0.92, 1.05, 1.25, 1.37, 2.02]) == 0
    # the small-angle energy of a pendulum, twice the noise floor: not conserved
    assert noise_nullity([2.3, 97.5]) == 0
    # every candidate within the noise: nothing can be called conserved
    assert noise_nullity([0.9, 1.0]) == 0


def test_from_data_finds_the_duffing_energy_the_relative_rule_missed():
    """At 1% noise the energy's weak residual is 0.8% of |grad C| |x'|, and the next direction's
    only 4 times more: the relative gap rule (10) reports nothing. In units of the noise floor
    the energy sits at 1 and the next at 6."""
    system, res = _from_data("duffing", 4, "poly")
    assert res.criterion == "noise" and len(res.quantities) == 1
    q = res.quantities[0]
    assert span_residual(system.conserved["energy"], [q.expr], system.variables) < 1e-2
    assert 0.8 < q.noise_ratio < 1.2 and q.spread < 0.01
    # the sparse refit keeps the energy's three terms only
    assert len(sp.Add.make_args(q.expr)) == 3
    _, old = _from_data("duffing", 4, "poly", criterion="relative")
    assert old.criterion == "relative" and old.quantities == []


def test_from_data_finds_both_rigid_body_quantities():
    """The rigid body spends most of its time near the intermediate axis, where its quantities'
    weak residuals are set by the noise (5% of |grad C| |x'|): only a noise-relative rule finds them."""
    system, res = _from_data("rigid_body", 2, "poly")
    exprs = [q.expr for q in res.quantities]
    assert res.independent == 2
    for declared in system.conserved.values():
        assert span_residual(declared, exprs, system.variables) < 1e-2


@pytest.mark.parametrize("name", ["damped_oscillator", "van_der_pol"])
def test_from_data_reports_nothing_on_a_dissipative_system(name):
    _, res = _from_data(name, 2, "poly")
    assert res.quantities == []


def test_from_data_rejects_what_the_data_do_not_determine():
    """The pendulum's energy in the trig family at degree 2 is found; with a spread tolerance
    below what the data give, it goes to the rejected list with its figure."""
    system, res = _from_data("pendulum", 2, "trig")
    assert len(res.quantities) == 1
    assert span_residual(system.conserved["energy"], [res.quantities[0].expr], system.variables) < 1e-2
    _, strict = _from_data("pendulum", 2, "trig", spread_tol=1e-9)
    assert strict.quantities == [] and "not determined by the data" in strict.rejected[0][1]


def test_windows_where_the_state_rests_are_left_out():
    """A test function over which the state does not move says nothing about what is conserved."""
    from symsindy import conservation
    from symsindy.weak import WeakForm

    t = np.linspace(0.0, 20.0, 2001)
    rng = np.random.default_rng(0)
    x = np.column_stack([np.where(t < 8, np.cos(t), np.cos(8.0)), np.where(t < 8, np.sin(t), np.sin(8.0))])
    x += 1e-3 * rng.standard_normal(x.shape)
    tf = WeakForm().test_functions(t, x)
    from scipy import sparse

    Vd = sparse.csr_matrix(tf.matrices()[1])
    moving = conservation._moving(Vd, x)
    centres = t[[int(np.mean(Vd[k].indices)) for k in range(Vd.shape[0])]]
    # a few resting windows pass by chance (a 3-sigma rule, two variables)
    assert moving[centres < 7].all() and moving[centres > 9].mean() < 0.05


def test_a_locked_phase_is_not_reported_as_conserved(monkeypatch):
    """Three Kuramoto oscillators lock and then rest: on the resting windows any phase looks
    conserved, and with them left in, theta2 passed every check though the flow changes it."""
    from symsindy import conservation

    system = get_system("kuramoto")
    names = list(system.variables)
    sim = system.simulate(noise=0.01, random_state=4, n_trajectories=4)

    def search():
        return conserved_from_data(sim.x, None, names, 1, t=sim.t, formulation="weak", basis="auto")

    assert [str(q.expr) for q in search().quantities] == []
    monkeypatch.setattr(conservation, "_moving", lambda Vd, x: np.ones(Vd.shape[0], bool))
    assert "theta2" in [str(q.expr) for q in search().quantities]


def test_from_data_criterion_options_are_checked():
    system = get_system("harmonic_oscillator")
    sim = system.simulate(noise=0.01, random_state=0, n_trajectories=2)
    names = list(system.variables)
    with pytest.raises(ValueError, match="criterion 'bessel'"):
        conserved_from_data(sim.x, None, names, 2, t=sim.t, formulation="weak", criterion="bessel")
    with pytest.raises(ValueError, match="only in the weak form"):
        conserved_from_data(sim.x, sim.x_dot, names, 2, criterion="noise")
    with pytest.raises(ValueError, match="noise_tol 0"):
        conserved_from_data(sim.x, None, names, 2, t=sim.t, formulation="weak", noise_tol=0)


# ----------------------------------------------------------------------------- pendulum families


def _vanishes(expr, angles) -> bool:
    """Whether a trigonometric-rational expression in ``angles`` is identically zero: sines and
    cosines as symbols, the numerator reduced modulo sin**2 + cos**2 = 1."""
    e = sp.expand_trig(expr)
    S = sp.symbols(f"s0:{len(angles)}")
    C = sp.symbols(f"c0:{len(angles)}")
    e = e.subs({sp.sin(a): s for a, s in zip(angles, S)}).subs({sp.cos(a): c for a, c in zip(angles, C)})
    num = sp.expand(sp.numer(sp.together(e)))
    _, r = sp.reduced(num, [s**2 + c**2 - 1 for s, c in zip(S, C)], *S, *C)
    return sp.expand(r) == 0


@pytest.mark.parametrize(
    "name, family, degree, n_angles",
    [("double_pendulum", "chain", 4, 2), ("spherical_pendulum", "spherical", 3, 1)],
)
def test_pendulum_families_hold_the_declared_energies(name, family, degree, n_angles):
    system = get_system(name)
    xs = system.symbols
    sim = system.simulate(noise=0.0, random_state=0, n_trajectories=1)
    basis = make_basis(family, list(system.variables), degree, x_samples=sim.x)
    for q in system.conserved.values():
        assert basis.coefficients(q) is not None
        assert _vanishes(sum(sp.diff(q, x) * f for x, f in zip(xs, system.rhs_list)), xs[:n_angles])
    # the check is not vacuous: a momentum of the double pendulum, or theta's, changes
    assert not _vanishes(system.rhs_list[-2], xs[:n_angles])


def test_spherical_family_divides_only_by_sines_the_data_keep_away_from_zero():
    system = get_system("spherical_pendulum")
    sim = system.simulate(noise=0.0, random_state=0, n_trajectories=1)
    basis = make_basis("spherical", list(system.variables), 3, x_samples=sim.x)
    theta, phi = system.symbols[:2]
    assert basis.denominators == (sp.sin(theta),)
    assert all(sp.sin(phi) ** 2 not in f.atoms(sp.Pow) for f in basis.functions)
    assert not basis.valid(np.array([[0.0, 0.0, 1.0, 1.0]]))[0]


def test_true_rhs_recovers_the_spherical_pendulum_quantities():
    system = get_system("spherical_pendulum")
    sim = system.simulate(noise=0.01, random_state=0, n_trajectories=4)
    res = conserved_quantities(system.rhs_list, list(system.variables), 3, x_samples=sim.x, basis="spherical")
    assert res.independent == 2
    for q in system.conserved.values():
        assert span_residual(q, [r.expr for r in res.quantities], system.variables) < 1e-8


def test_cli_conserved_takes_the_pendulum_families(tmp_path, capsys):
    """The new names are accepted by --basis and recorded; a name that is not one is refused."""
    path = catalogue_csv(tmp_path, "harmonic_oscillator_2d", trajectories=2)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--basis", "chain", "--degree", "1", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["basis"] == "chain" and list(d["basis_candidates"]) == ["chain"]
    assert "basis: chain" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["conserved", str(path), "--basis", "pendulum"])
    assert "chain, spherical" in capsys.readouterr().err
