import numpy as np
import pysindy as ps
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp

from symsindy.actions import induced_action
from symsindy.constraints import equivariant_subspace
from symsindy.model import SymmetricSINDy
from symsindy.optimizers import ConstrainedSTLSQ
from symsindy.symmetry import Symmetry


def _one_d_trajectories():
    # x' = 0.32 - 0.6 x, two trajectories of 512 samples, no noise
    xs, ts = [], []
    for x0 in (0.0, 1.2):
        t = np.linspace(0, 5, 512)
        sol = solve_ivp(lambda _t, x: 0.32 - 0.6 * x, (0, 5), [x0], t_eval=t, rtol=1e-12, atol=1e-12)
        xs.append(sol.y.T)
        ts.append(t)
    return xs, ts


@pytest.mark.parametrize("alpha", [0.05, 0.0])
@pytest.mark.parametrize("formulation", ["strong", "weak"])
def test_one_d_model_keeps_no_term_below_its_threshold(alpha, formulation):
    xs, ts = _one_d_trajectories()
    m = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), threshold=0.16, alpha=alpha, formulation=formulation)
    m.fit(xs, t=ts)
    assert m.term_names_[:2] == ["1", "x0"]
    assert np.array_equal(m.coef_ != 0, np.array([[True, True, False, False]]))
    assert np.allclose(m.coef_[0, :2], [0.32, -0.6], atol=1e-3)


def _rotation_problem(seed, m=14, noise=0.01):
    # a rotation-symmetric cubic system in 3-D: x' = -0.1x + 2y - x r^2, y' = -2x - 0.1y - y r^2, z' = -z
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.5, 1.5, size=(m, 3))
    r2 = X[:, 0] ** 2 + X[:, 1] ** 2
    D = np.c_[-0.1 * X[:, 0] + 2 * X[:, 1] - X[:, 0] * r2, -2 * X[:, 0] - 0.1 * X[:, 1] - X[:, 1] * r2, -X[:, 2]]
    D = D + noise * D.std(0) * rng.standard_normal(D.shape)
    lib = ps.PolynomialLibrary(degree=3).fit(X)
    sub = equivariant_subspace(induced_action(lib, Symmetry(["x", "y", "z"], "rotation(x,y)")))
    return np.asarray(lib.transform(X)), D, sub


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    threshold=st.floats(0.01, 0.5),
    alpha=st.sampled_from([0.0, 0.05, 1.0]),
    normalize=st.booleans(),
)
def test_no_returned_coefficient_is_below_the_threshold_and_the_symmetry_stays_exact(seed, threshold, alpha, normalize):
    theta, D, sub = _rotation_problem(seed, m=18)
    opt = ConstrainedSTLSQ(basis=sub.basis, threshold=threshold, alpha=alpha, normalize_columns=normalize).fit(theta, D)
    c = opt.coef_
    scale = np.linalg.norm(theta, axis=0) if normalize else np.ones(theta.shape[1])
    kept = c != 0
    assert np.all(np.abs(c * scale)[kept] >= threshold * (1 - 1e-9))
    # still in the equivariant subspace: the residual of projecting vec(coef) (feature order) onto the basis
    w = c.T.ravel()
    Q, _ = np.linalg.qr(sub.basis)
    assert np.linalg.norm(w - Q @ (Q.T @ w)) <= 1e-9 * max(np.linalg.norm(w), 1.0)


def test_auto_path_holds_distinct_supports_and_its_choice_is_the_best_score():
    theta, D, sub = _rotation_problem(3, m=60)
    opt = ConstrainedSTLSQ(basis=sub.basis, threshold="auto").fit(theta, D)
    supports = [tuple(pt.support.ravel()) for pt in opt.path_]
    assert len(set(supports)) == len(supports) >= 2
    sizes = [pt.n_terms for pt in opt.path_]
    assert sizes == sorted(sizes, reverse=True)
    best = min(opt.path_, key=lambda pt: pt.score)
    assert np.array_equal(opt.coef_ != 0, best.support)
    assert best.threshold <= opt.threshold_ <= best.threshold_max
    kept = opt.coef_ != 0
    assert np.all(np.abs(opt.coef_[kept]) >= opt.threshold_)


def test_auto_recovers_the_true_support_from_scarce_data_where_it_is_known():
    theta, D, sub = _rotation_problem(1, m=40)
    opt = ConstrainedSTLSQ(basis=sub.basis, threshold="auto").fit(theta, D)
    names = ps.PolynomialLibrary(degree=3).fit(np.zeros((2, 3))).get_feature_names(["x", "y", "z"])
    want = {(0, "x"), (0, "y"), (0, "x^3"), (0, "x y^2"), (1, "x"), (1, "y"), (1, "x^2 y"), (1, "y^3"), (2, "z")}
    got = {(i, names[j]) for i, j in zip(*np.nonzero(opt.coef_))}
    assert got == want


@pytest.mark.parametrize("criterion", ["mstls", "cv", "aicc", "bic"])
def test_auto_is_reproducible(criterion):
    theta, D, sub = _rotation_problem(5, m=50, noise=0.05)
    a = ConstrainedSTLSQ(basis=sub.basis, threshold="auto", criterion=criterion).fit(theta, D)
    b = ConstrainedSTLSQ(basis=sub.basis, threshold="auto", criterion=criterion).fit(theta, D)
    assert np.array_equal(a.coef_, b.coef_) and a.threshold_ == b.threshold_


def test_model_auto_threshold_is_reproducible_with_a_seeded_dataset():
    rng = np.random.default_rng(7)
    t = np.arange(0, 20, 0.01)
    x = solve_ivp(
        lambda _t, X: [-0.1 * X[0] + 2 * X[1], -2 * X[0] - 0.1 * X[1]],
        (0, 20),
        [2, 0],
        t_eval=t,
        rtol=1e-10,
        atol=1e-10,
    ).y.T
    x = x + 0.05 * x.std(0) * rng.standard_normal(x.shape)
    fits = [
        SymmetricSINDy(library=ps.PolynomialLibrary(degree=3)).fit(x, t=t, feature_names=["x", "y"]) for _ in range(2)
    ]
    assert np.array_equal(fits[0].coef_, fits[1].coef_)
    assert fits[0].threshold_ == fits[1].threshold_
    assert fits[0].fit_info() == fits[1].fit_info()


@pytest.mark.parametrize("bad", [-1.0, "often", float("nan"), True])
def test_bad_threshold_is_one_line_error(bad):
    with pytest.raises(ValueError, match="threshold .*expected a number >= 0 or 'auto'"):
        ConstrainedSTLSQ(threshold=bad).fit(np.eye(3), np.ones((3, 1)))


def test_bad_criterion_is_one_line_error():
    with pytest.raises(ValueError, match="criterion 'magic': expected one of mstls, cv, aicc, bic"):
        ConstrainedSTLSQ(criterion="magic").fit(np.eye(3), np.ones((3, 1)))


@pytest.mark.parametrize("seed", range(6))
def test_auto_keeps_the_weakest_true_term_on_noise_free_data(seed):
    # noise-free random states of the damped oscillator: the weakest true coefficient (-0.1)
    # must not be lost to where the threshold path starts
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(64, 2))
    D = X @ np.array([[-0.1, 2.0], [-2.0, -0.1]]).T
    lib = ps.PolynomialLibrary(degree=3).fit(X)
    for basis in (None, equivariant_subspace(induced_action(lib, Symmetry(["x", "y"], "rotation(x,y)"))).basis):
        opt = ConstrainedSTLSQ(basis=basis, threshold="auto").fit(np.asarray(lib.transform(X)), D)
        names = lib.get_feature_names(["x", "y"])
        assert {(i, names[j]) for i, j in zip(*np.nonzero(opt.coef_))} == {(0, "x"), (0, "y"), (1, "x"), (1, "y")}


def _brute_loo(theta, Y, coef, basis=None):
    """Leave-one-row-out by refitting without each row (the definition loo_error computes in closed form)."""
    n, p = coef.shape
    active = (coef != 0).T.ravel()
    assert basis is None or active.all()  # the helper handles a support or a subspace, not both
    Q = np.eye(n * p)[:, active] if basis is None else basis
    total = 0.0
    for i in range(len(theta)):
        keep = np.arange(len(theta)) != i
        A = np.einsum("mf,fjk->mjk", theta[keep], Q.reshape(p, n, -1)).reshape(-1, Q.shape[1])
        c = np.linalg.lstsq(A, Y[keep].ravel(), rcond=None)[0]
        pred = theta[i] @ (Q @ c).reshape(p, n)
        total += float(np.sum((Y[i] - pred) ** 2))
    return total / float(np.sum(Y**2))


def test_loo_error_matches_refitting_without_each_row():
    from symsindy.optimizers import loo_error

    rng = np.random.default_rng(1)
    theta = rng.standard_normal((25, 4))
    Y = theta @ rng.standard_normal((4, 2)) + 0.1 * rng.standard_normal((25, 2))
    coef = np.array([[1.0, 0.0, 2.0, 1.0], [0.5, 1.0, 0.0, 1.0]])
    assert loo_error(theta, Y, coef) == pytest.approx(_brute_loo(theta, Y, coef), rel=1e-10)
    # inside a subspace: both targets share their coefficients
    B = np.zeros((8, 4))
    for f in range(4):
        B[2 * f, f] = B[2 * f + 1, f] = 1.0
    full = np.ones((2, 4))
    assert loo_error(theta, Y, full, B) == pytest.approx(_brute_loo(theta, Y, full, B), rel=1e-10)
    # the zero model predicts nothing; a support the rows cannot determine gives inf
    assert loo_error(theta, Y, np.zeros((2, 4))) == 1.0
    assert loo_error(theta[:3], Y[:3], np.ones((2, 4))) == float("inf")
    with pytest.raises(ValueError, match="do not match"):
        loo_error(theta, Y[:, :1], coef)


def test_scale_drops_a_large_coefficient_whose_contribution_is_small():
    # y = a + 3 c with a column c of small norm: 3 is above the threshold, its share of y is not
    rng = np.random.default_rng(0)
    a, c = rng.standard_normal(200), 0.01 * rng.standard_normal(200)
    X = np.column_stack([a, c])
    y = (a + 3.0 * c + 1e-3 * rng.standard_normal(200))[:, None]
    scale = (np.linalg.norm(X, axis=0) / np.linalg.norm(y))[None, :]
    plain = ConstrainedSTLSQ(threshold=0.5).fit(X, y)
    bounded = ConstrainedSTLSQ(threshold=0.5, scale=scale).fit(X, y)
    assert np.array_equal(plain.coef_ != 0, [[True, True]])
    assert np.array_equal(bounded.coef_ != 0, [[True, False]])
    # the bound never keeps what the plain threshold drops, and nothing kept is below either
    kept = bounded.coef_[bounded.coef_ != 0]
    assert np.all(np.abs(kept) >= 0.5) and np.all(np.abs(kept) * scale[bounded.coef_ != 0] >= 0.5)
    with pytest.raises(
        ValueError, match=r"scale: expected finite numbers >= 0 of shape \(n_targets, n_features\) = \(1, 2\)"
    ):
        ConstrainedSTLSQ(threshold=0.5, scale=np.ones(3)).fit(X, y)


def test_stacked_rows_scored_on_the_original_rows_reproduce_the_plain_fit():
    # the one-target stacked form (columns in feature ordering) of the same rows, scored through
    # score_rows on the rows themselves, is the same regression: same path, scores and choice
    rng = np.random.default_rng(1)
    m, p, n = 120, 5, 2
    X = rng.standard_normal((m, p))
    W = np.zeros((p, n))
    W[0, 0], W[2, 0], W[1, 1], W[4, 1] = 1.5, -0.4, 2.0, 0.7
    Y = X @ W + 0.05 * rng.standard_normal((m, n))
    plain = ConstrainedSTLSQ().fit(X, Y)
    stacked_X = np.einsum("kf,ij->kifj", X, np.eye(n)).reshape(m * n, p * n)
    stacked = ConstrainedSTLSQ(score_rows=(X, Y)).fit(stacked_X, Y.ravel()[:, None])
    assert np.allclose(stacked.coef_.reshape(p, n).T, plain.coef_)
    assert np.allclose([pt.score for pt in stacked.path_], [pt.score for pt in plain.path_])
    assert stacked.path_index_ == plain.path_index_
    with pytest.raises(ValueError, match=r"score_rows: expected \(theta, target\)"):
        ConstrainedSTLSQ(score_rows=(X[:, :4], Y)).fit(stacked_X, Y.ravel()[:, None])


def _allowed_entries_problem(seed, m=300, noise=0.3):
    # two targets on 8 columns; the "subspace" allows each target half of the columns (a
    # coordinate-aligned basis, as flip(x,y) gives), and the true model lies in it
    rng = np.random.default_rng(seed)
    p, n = 8, 2
    X = rng.standard_normal((m, p))
    allowed = np.zeros((p, n), bool)
    allowed[::2, 0] = allowed[1::2, 1] = True
    W = np.zeros((p, n))
    W[0, 0], W[2, 0], W[1, 1], W[5, 1] = 1.0, 0.5, -0.8, 0.3
    Y = X @ W + noise * rng.standard_normal((m, n))
    return X, Y, np.eye(p * n)[:, allowed.ravel()]  # feature ordering: index feature * n + target


@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_a_supports_score_does_not_depend_on_the_subspace_that_reached_it(seed, stacked):
    # mstls measures the distance from the library's least-squares fit, so a support allowed by
    # the subspace scores the same on the subspace's path as on the plain one (its refit is the
    # same); measured from the subspace's own fit, the smaller subspace scored it differently
    X, Y, Q = _allowed_entries_problem(seed)
    m, p = X.shape
    n = Y.shape[1]
    if stacked:
        # generalised least squares on weighted stacked rows, scored on the rows themselves
        w = np.random.default_rng(seed + 100).uniform(0.5, 2.0, m * n)[:, None]
        rows = (w * np.einsum("kf,ij->kifj", X, np.eye(n)).reshape(m * n, p * n), w * Y.ravel()[:, None])
        fits = [ConstrainedSTLSQ(basis=b, score_rows=(X, Y)).fit(*rows) for b in (None, Q)]
        support = [[pt.support.reshape(p, n).T for pt in f.path_] for f in fits]
    else:
        fits = [ConstrainedSTLSQ(basis=b).fit(X, Y) for b in (None, Q)]
        support = [[pt.support for pt in f.path_] for f in fits]
    plain = {s.tobytes(): pt.score for s, pt in zip(support[0], fits[0].path_)}
    common = [(plain[s.tobytes()], pt.score) for s, pt in zip(support[1], fits[1].path_) if s.tobytes() in plain]
    assert len(common) >= 3
    assert np.allclose(*zip(*common), rtol=1e-9, atol=0)


def test_mstls_score_is_the_distance_from_the_library_fit_plus_the_terms_kept():
    # rotation(x,y) ties terms across equations (fewer free coefficients than terms): the
    # distance is measured from the least-squares fit on every library term, the cost counts terms
    theta, D, sub = _rotation_problem(2, m=60, noise=0.05)
    opt = ConstrainedSTLSQ(basis=sub.basis, threshold="auto").fit(theta, D)
    ref = theta @ np.linalg.lstsq(theta, D, rcond=None)[0]
    N = D.size // len(D) * theta.shape[1]
    assert any(pt.dof < pt.n_terms for pt in opt.path_)
    for pt in opt.path_:
        want = np.linalg.norm(theta @ pt.coef.T - ref) / np.linalg.norm(ref) + 0.1 * pt.n_terms / N
        assert pt.score == pytest.approx(want, rel=1e-9)


# ----------------------------------------------------------------------------- ill-conditioned solves
def _nearly_dependent(seed=0, m=400):
    # columns 4 and 5 repeat columns 0 and 3 up to 1e-6: condition number about 2e6
    u = np.random.default_rng(seed).standard_normal((m, 6))
    x = np.column_stack([u[:, :4], u[:, 0] + 1e-6 * u[:, 4], u[:, 3] - 2e-6 * u[:, 5]])
    W = np.zeros((6, 2))
    W[0, 0], W[4, 0], W[5, 1], W[2, 1] = 1.5, -0.7, 2.0, 0.3
    return x, W


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_rows_solve_matches_the_normal_equations_when_well_conditioned(alpha):
    from symsindy.optimizers import _rows_solve, _solve, _solve_selected

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 5)), rng.standard_normal((60, 3))
    G, B = x.T @ x, (x.T @ y).ravel()
    Q = np.linalg.qr(rng.standard_normal((15, 7)))[0]
    assert np.allclose(_rows_solve(Q, x, y, alpha, False), _solve(Q, G, B, 5, 3, alpha), atol=1e-10)
    idx = np.array([0, 4, 5, 7, 13])
    I = np.eye(15)[:, idx]
    assert np.allclose(_rows_solve(I, x, y, alpha, True), _solve_selected(idx, G, B, 5, 3, alpha), atol=1e-10)


def test_an_ill_conditioned_problem_is_solved_from_its_rows():
    import symsindy.optimizers as opt

    x, W = _nearly_dependent()
    y = x @ W
    problem = opt._Problem(x, y, None)
    assert problem.use_rows and opt.gram_condition(problem.G) > opt.ROWS_SOLVE_COND
    assert np.abs(problem.full.reshape(6, 2) - W).max() < 1e-8
    # the normal equations of the same rows lose the digits that tell the columns apart
    normal = opt._solve_selected(np.arange(12), problem.G, problem.B, 6, 2, 0.0)
    assert np.abs(normal.reshape(6, 2) - W).max() > 1e-6
    # a well-conditioned problem keeps the normal equations
    assert not opt._Problem(np.random.default_rng(3).standard_normal((50, 4)), np.ones((50, 1)), None).use_rows


@pytest.mark.parametrize("criterion", ["mstls", "cv"])
def test_noise_free_nearly_dependent_columns_give_the_exact_model(criterion):
    x, W = _nearly_dependent()
    y = x @ W
    # inside a subspace that holds the model: a random 9-dimensional one containing vec(W)
    rng = np.random.default_rng(2)
    Q = np.linalg.qr(np.column_stack([W.ravel(), rng.standard_normal((12, 8))]))[0]
    for basis in (None, Q):
        o = ConstrainedSTLSQ(basis=basis, threshold="auto", alpha=0.0, criterion=criterion).fit(x, y)
        assert np.array_equal(o.coef_ != 0, W.T != 0)
        assert np.abs(o.coef_ - W.T).max() < 1e-8
    o = ConstrainedSTLSQ(threshold=0.1, alpha=0.05).fit(x, y)
    assert np.abs(o.coef_ - W.T).max() < 1e-8


def _circle_rows(eps, seed=0):
    """Library 1, a, b, a^2, ab, b^2 on points of the unit circle with ``1e-12`` errors (a conserved
    quantity, as an integrator keeps it: 1, a^2 and b^2 dependent up to them) and the target
    2a - 3b with errors ``eps`` (of the derivatives)."""
    rng = np.random.default_rng(seed)
    s = np.linspace(0, 6 * np.pi, 600)
    a, b = np.cos(s) + 1e-12 * rng.standard_normal(600), np.sin(s) + 1e-12 * rng.standard_normal(600)
    x = np.column_stack([np.ones_like(a), a, b, a * a, a * b, b * b])
    return x, (2 * a - 3 * b + eps * rng.standard_normal(600))[:, None]


def test_a_direction_the_rows_do_not_determine_is_left_out(monkeypatch):
    """Columns dependent up to 1e-12 (an exactly conserved quantity) and a target with errors of
    1e-9: along the dependence the least-squares solution follows those errors (coefficients of
    order 1e3); the truncated rows' solve leaves that direction out and thresholding finds 2a - 3b."""
    import symsindy.optimizers as opt

    x, y = _circle_rows(1e-9)
    problem = opt._Problem(x, y, None)
    assert problem.use_rows
    w = problem.full
    assert np.abs(w - np.array([0, 2, -3, 0, 0, 0])).max() < 1e-6
    o = ConstrainedSTLSQ(threshold=0.1, alpha=0.0).fit(x, y)
    np.testing.assert_allclose(o.coef_[0], [0, 2, -3, 0, 0, 0], atol=1e-6)
    # with no truncation the same solve is off along the dependence, by far more than the threshold
    monkeypatch.setattr(opt, "ROWS_RCOND", 1e-15)
    assert np.abs(opt._Problem(x, y, None).full - np.array([0, 2, -3, 0, 0, 0])).max() > 1.0


def test_rows_solve_on_reduced_rows_equals_the_rows_themselves():
    """The QR-reduced rows give the rows' solution, on all rows and on a subset (a fold)."""
    import symsindy.optimizers as opt

    x, W = _nearly_dependent()
    y = x @ W + 1e-3 * np.random.default_rng(4).standard_normal((x.shape[0], 2))
    problem = opt._Problem(x, y, None)
    assert problem.use_rows and problem.reduced_rows()[0].shape == (6, 6)
    rows = np.arange(100, 400)
    Qa = np.eye(12)[:, [0, 1, 4, 5, 8, 10, 11]]
    for r in (None, rows):
        xs, ys = (x, y) if r is None else (x[r], y[r])
        direct = opt._rows_solve(Qa, xs, ys, 0.0, True)
        np.testing.assert_allclose(problem.solve(Qa, 0.0, rows=r), direct, rtol=1e-7, atol=1e-9)
    assert problem.reduced_rows(rows) is problem.reduced_rows(rows.copy())  # kept per set of rows


@pytest.mark.parametrize("formulation", ["strong", "weak"])
def test_noise_free_rigid_body_is_recovered_despite_its_conserved_quantities(formulation):
    """Euler's rigid body without noise: |m|^2 and the energy are conserved, so 1, m1^2, m2^2 and m3^2
    are dependent on the data up to the integrator's error (scaled condition number about 1e11)."""
    from symsindy.catalogue import get_system

    s = get_system("rigid_body")
    sim = s.simulate(noise=0.0, random_state=0, n_trajectories=1)
    lib = ps.PolynomialLibrary(degree=2)
    m = SymmetricSINDy(library=lib, formulation=formulation, alpha=0.0).fit(
        sim.x, t=sim.t, feature_names=list(s.variables)
    )
    assert m.conditioning_["condition_number"] > 1e9
    eqs = m.sympy()
    for v, rhs in zip(s.variables, s.rhs_list):
        got = sp.Poly(eqs[v], *s.symbols)
        want = sp.Poly(sp.expand(rhs), *s.symbols)
        assert set(got.monoms()) == set(want.monoms()), v


def test_stiff_noise_free_chemical_oscillator_is_recovered_in_the_weak_form():
    # dysts's IsothermalChemical (parameters from its chaotic_attractors.json): sigma = 0.013
    # makes beta' 77 times faster; the cubic library's condition number on the data is about 1e9
    mu, kappa, sigma, delta = 0.29786, 2.5, 0.013, 1.0

    def rhs(_t, s):
        a, b, g = s
        return [mu * (kappa + g) - a * b**2 - a, (a * b**2 + a - b) / sigma, (b - g) / delta]

    t = np.arange(5001) * (0.73028 / 500)
    warm = solve_ivp(
        rhs, (0, 20), [0.5141505602006595, 0.9984288208727641, 1.0061777118724], method="LSODA", rtol=1e-12, atol=1e-12
    )
    sol = solve_ivp(rhs, (0, t[-1]), warm.y[:, -1], t_eval=t, method="LSODA", rtol=1e-12, atol=1e-12)
    lib = ps.PolynomialLibrary(degree=3)
    m = SymmetricSINDy(library=lib, formulation="weak", alpha=0.0).fit(sol.y.T, t=t, feature_names=["a", "b", "g"])
    truth = np.zeros_like(m.coef_)
    names = m.term_names_
    for i, terms in enumerate(
        [
            {"1": mu * kappa, "g": mu, "a": -1, "a b^2": -1},
            {"a b^2": 1 / sigma, "a": 1 / sigma, "b": -1 / sigma},
            {"b": 1 / delta, "g": -1 / delta},
        ]
    ):
        for term, c in terms.items():
            truth[i, names.index(term)] = c
    assert np.array_equal(m.coef_ != 0, truth != 0)
    assert np.allclose(m.coef_, truth, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("constrained", [False, True])
def test_each_elimination_step_drops_the_entry_the_refit_misses_least(constrained, monkeypatch):
    import symsindy.optimizers as opt

    monkeypatch.setattr(opt, "ELIMINATION_GROWTH", np.inf)  # the whole chain, down to one term
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 5))
    y = x @ rng.standard_normal((5, 2)) + 0.3 * rng.standard_normal((80, 2))
    Q = np.linalg.qr(rng.standard_normal((10, 6)))[0] if constrained else None
    prob = opt._Problem(x, y, Q)
    active = np.ones(10, bool)
    points = prob.eliminate(active)
    assert len(points) >= 4 and all(pt.source == "elimination" for pt in points)
    sizes = [pt.n_terms for pt in points]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    for pt in points:
        after = pt.support.T.ravel()
        (dropped,) = np.flatnonzero(active & ~after)[:1]
        # the refit of every one-entry removal from the support before this step
        rss = {}
        for j in np.flatnonzero(active):
            trial = active.copy()
            trial[j] = False
            rss[j] = prob.rss(prob.solve(prob.basis(trial), 0.0))
        assert rss[dropped] <= min(rss.values()) * (1 + 1e-9)
        # the point's coefficients are the unbiased refit on its support, none below its threshold
        w = prob.solve(prob.basis(after), 0.0)
        assert np.allclose(pt.coef.T.ravel(), np.where(after, w, 0.0), atol=1e-10)
        assert np.all(prob.magnitude(pt.coef.T.ravel())[after] >= pt.threshold * (1 - 1e-12))
        active = after


# SEIR (4 trajectories, 1% noise, strong form): S + E + I + R is nearly the same on every trajectory,
# so R' = 0.1 I is nearly a mixture of E, S E, S I and E R; the threshold path drops I (the smallest
# coefficient) and keeps the mixture, elimination drops the mixture.  One SIR trajectory (weak form):
# S + I + R = N on every sample, so R' = 0.1 I equals (0.1 / N) (I S + I^2 + I R) and
# I' = 0.3 I S - 0.1 I has a 3-term twin; the path and elimination stop at the 3-term forms, an
# exchange of one term for I lets elimination go on.
DEPENDENT_CASES = {
    "seir": (
        dict(noise=0.01, random_state=6, n_trajectories=4, spread=0.1),
        "strong",
        "ELIMINATION_MAX_DOF",
        "elimination",
        "backward elimination",
    ),
    "sir": (
        dict(t_end=160.0, dt=0.2, noise=0.0, random_state=1),
        "weak",
        "SWAP_MAX_EXCHANGES",
        "swap",
        "exchanging a term",
    ),
}


@pytest.mark.parametrize("name", sorted(DEPENDENT_CASES))
def test_the_sparse_form_of_nearly_dependent_columns_is_reached_and_not_without_its_step(name, monkeypatch):
    import symsindy.optimizers as opt
    from symsindy.catalogue import get_system

    kwargs, formulation, setting, source, phrase = DEPENDENT_CASES[name]
    system = get_system(name)
    sim = system.simulate(**kwargs)
    exact = {}
    for key, value in (("on", getattr(opt, setting)), ("off", 0)):
        monkeypatch.setattr(opt, setting, value)
        m = SymmetricSINDy(ps.PolynomialLibrary(degree=2), formulation=formulation)
        m.fit(sim.x, t=sim.t, feature_names=list(system.variables))
        true = system.true_coefficients(m.library_)
        exact[key] = bool(np.array_equal(m.coef_ != 0, true != 0))
        if key == "on":
            assert m.fit_info()["sparsity"]["source"] == source
            assert phrase in "\n".join(m.fit_summary())
            assert np.all(np.abs(m.coef_[m.coef_ != 0]) >= m.threshold_ * (1 - 1e-12))
            if kwargs["noise"] == 0:
                assert np.allclose(m.coef_, true, atol=1e-6)
    assert exact == {"on": True, "off": False}


def test_elimination_must_be_a_bool():
    x = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(ValueError, match="elimination 'yes': expected True or False"):
        ConstrainedSTLSQ(elimination="yes").fit(x, x[:, :1])


@pytest.mark.parametrize("constrained", [False, True])
def test_each_swap_support_is_smaller_fits_within_the_tolerance_and_is_its_own_refit(constrained):
    import symsindy.optimizers as opt

    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 5))
    x[:, 4] = x[:, 0] + x[:, 1] + 1e-9 * rng.standard_normal(60)  # column 4 repeats 0 + 1
    y = np.column_stack([x[:, 4], x[:, 2]]) + 1e-6 * rng.standard_normal((60, 2))
    Q = None
    if constrained:  # y1 and y2 share the coefficient of feature 3 (a subspace that ties two entries)
        Q = np.eye(10)
        Q = np.column_stack([Q[:, [i for i in range(10) if i not in (6, 7)]], (Q[:, 6] + Q[:, 7]) / np.sqrt(2)])
    prob = opt._Problem(x, y, Q)
    start = np.zeros(10, bool)
    start[[0, 2, 5]] = True  # y1 on features 0 and 1 (feature ordering f * 2 + t), y2 on feature 2
    base = prob.solve(prob.basis(start), 0.0)
    points = prob.swaps(start)
    assert points, "the exchange of features 0 and 1 for 4 must reach y1 = x4"
    for pt in points:
        assert pt.source == "swap" and pt.n_terms < int(start.sum())
        after = pt.support.T.ravel()
        w = prob.solve(prob.basis(after), 0.0)
        assert np.allclose(pt.coef.T.ravel(), np.where(after, w, 0.0), atol=1e-8)
    best = min(points, key=lambda pt: pt.n_terms)
    assert best.support[0].tolist() == [False, False, False, False, True]
    assert prob.rss(best.coef.T.ravel()) <= 2 * prob.rss(base) + 1e-12
    # no exchange is tried beyond the budget
    old = opt.SWAP_MAX_EXCHANGES
    try:
        opt.SWAP_MAX_EXCHANGES = 0
        assert prob.swaps(start) == []
    finally:
        opt.SWAP_MAX_EXCHANGES = old
