"""The matte's band solvers at their edges: a system solved in one step, a direction of zero curvature, an
iteration that overflows, a factorisation that is not finite (see :mod:`colorsplash.runtime.edges.band_solve`)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

scipy_sparse = pytest.importorskip("scipy.sparse")

from colorsplash.runtime.edges.band_solve import conjugate_gradients, factorised_solve  # noqa: E402


def test_a_diagonal_system_is_solved_in_one_step_and_kept() -> None:
    """Jacobi preconditioning solves a diagonal system (badly scaled: 1 to 1000) exactly in one step, and the
    answer stands when later iterations are allowed: an exact solve leaves no direction to go on with, which must
    not read as a breakdown that throws the solution away."""
    d = np.linspace(1.0, 1000.0, 40)
    a = scipy_sparse.diags(d).tocsr()
    rhs = np.random.default_rng(1).normal(size=40)
    calls = 0

    class Counting:
        def __matmul__(self, v: np.ndarray) -> np.ndarray:
            nonlocal calls
            calls += 1
            return np.asarray(a @ v)

    for iterations in (1, 50):
        calls = 0
        x = conjugate_gradients(Counting(), d.copy(), rhs, np.zeros(40), iterations, 1e-10)
        assert np.allclose(x, rhs / d, rtol=1e-12, atol=0), iterations
        assert calls == 2, calls  # the residual, one step; then it stops, converged


def test_zero_curvature_returns_the_start() -> None:
    """A band whose matrix is zero along the search direction (no information there): the start comes back
    unchanged instead of a step of ``rz / 1e-30``."""
    n = 10
    start = np.full(n, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = conjugate_gradients(scipy_sparse.csr_matrix((n, n)), np.zeros(n), np.ones(n), start.copy(), 20, 1e-8)
    assert np.array_equal(x, start)


def test_an_iteration_that_overflows_returns_the_finite_start() -> None:
    """Values so large the products overflow: what comes back is the start, finite, never infinities or NaN."""
    n = 6
    a = scipy_sparse.diags(np.full(n, 1e200)).tocsr()
    start = np.zeros(n)
    with np.errstate(all="ignore"):
        x = conjugate_gradients(a, np.ones(n), np.full(n, 1e200), start.copy(), 1, 1e-8)
    assert np.isfinite(x).all() and np.array_equal(x, start)


def test_factorised_solve_declines_a_system_with_no_finite_answer() -> None:
    """A matrix carrying a NaN (a broken band) gives ``None`` (the caller then iterates), not NaN alphas."""
    m = scipy_sparse.diags(np.full(5, 2.0)).tolil()
    m[2, 2] = np.nan
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert factorised_solve(m.tocsr(), np.ones(5)) is None
