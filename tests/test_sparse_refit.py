"""The forward selection behind a sparse quantity from data: the one-decomposition scoring of the
candidates agrees with fitting each candidate support on its own."""

import numpy as np
import pytest

from symsindy.conservation import SPARSE_SLACK, _added_ratios, _sparse_refit, _support_fit


def _problem(rng, K, k, degenerate=False):
    """Gram matrices ``A = G^T G`` (weak residuals) and ``B = D^T D`` (noise floor) of ``K``
    functions with a conserved combination of ``k`` of them, up to noise."""
    m = 6 * K
    D = 0.05 * rng.standard_normal((m, K))
    if degenerate:
        D[:, 1] = D[:, 2]  # two functions that coincide on the data
        D[:, 3] = 0.0  # and one that does not move
    G = rng.standard_normal((m, K)) * 10 ** rng.uniform(-1, 1, K)
    c = np.zeros(K)
    sup = rng.choice(np.arange(4, K), k, replace=False)  # the pivot moves on the data
    c[sup] = rng.standard_normal(k)
    G = G - np.outer(G @ c, c) / (c @ c) + 0.3 * D * rng.standard_normal(K)
    return G.T @ G, D.T @ D, int(sup[0])


def _one_fit_per_candidate(pivot, allowed, A, B, cut):
    """The forward selection as defined: every candidate support fitted on its own."""
    allowed = sorted(set(allowed) | {pivot})
    dense_ratio, dense = _support_fit(A, B, allowed, pivot)
    limit = min(cut, SPARSE_SLACK * dense_ratio)
    support = [pivot]
    ratio, c = _support_fit(A, B, support, pivot)
    rest = [j for j in allowed if j != pivot]
    while not (c is not None and ratio <= limit + 1e-15) and rest:
        (ratio, c), j = min(((_support_fit(A, B, support + [j], pivot), j) for j in rest), key=lambda t: t[0][0])
        support.append(j)
        rest.remove(j)
    if c is None:
        return dense_ratio, dense, allowed
    return ratio, c, sorted(support)


@pytest.mark.parametrize("seed", range(6))
def test_added_ratios_match_separate_fits(seed):
    rng = np.random.default_rng(seed)
    A, B, pivot = _problem(rng, 25, 6)
    others = [j for j in range(25) if j != pivot]
    support, rest = [pivot, *others[:5]], others[5:]
    fast = _added_ratios(A, B, support, rest, pivot)
    exact = np.array([_support_fit(A, B, support + [j], pivot)[0] for j in rest])
    assert np.array_equal(np.isfinite(fast), np.isfinite(exact))
    np.testing.assert_allclose(fast, exact, rtol=1e-8)


def test_added_ratios_flag_a_singular_noise_floor():
    rng = np.random.default_rng(0)
    A, B, _ = _problem(rng, 12, 4, degenerate=True)
    # function 2 coincides with function 1 on the data: with 1 in the support it cannot be scored
    fast = _added_ratios(A, B, [0, 1], [2, 5], 0)
    assert np.isnan(fast[0]) and np.isfinite(fast[1])


@pytest.mark.parametrize("seed", range(8))
def test_sparse_refit_selects_as_separate_fits(seed):
    rng = np.random.default_rng(100 + seed)
    K = int(rng.integers(6, 30))
    A, B, pivot = _problem(rng, K, int(rng.integers(2, 6)), degenerate=seed % 2 == 1)
    ratio, c, support = _sparse_refit(pivot, range(K), A, B, 10.0)
    ratio0, c0, support0 = _one_fit_per_candidate(pivot, list(range(K)), A, B, 10.0)
    assert support == support0
    assert ratio == pytest.approx(ratio0, rel=1e-10)
    np.testing.assert_allclose(c, c0, rtol=1e-8, atol=1e-12)
