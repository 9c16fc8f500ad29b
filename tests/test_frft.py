"""The discrete fractional Fourier transform (numpy, no TensorFlow): a true
fractional-order transform, checked to 1e-5 for sizes covering N mod 4 = 0..3."""

import numpy as np
import pytest

from landslide_susceptibility.models.frft import (
    dfrft,
    dfrft2,
    dfrft_matrix,
    hermite_gauss_basis,
)

SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 31, 64, 81, 82, 121, 128]
TOL = 1e-5


def test_sizes_cover_every_residue_mod_4():
    assert {n % 4 for n in SIZES} == {0, 1, 2, 3}


@pytest.mark.parametrize("n", SIZES)
def test_order_zero_is_identity(n):
    np.testing.assert_allclose(dfrft_matrix(n, 0.0), np.eye(n), atol=TOL)


@pytest.mark.parametrize("n", SIZES)
def test_order_one_is_the_unitary_dft(n):
    dft = np.fft.fft(np.eye(n), norm="ortho", axis=0)
    np.testing.assert_allclose(dfrft_matrix(n, 1.0), dft, atol=TOL)
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    np.testing.assert_allclose(dfrft(x, 1.0), np.fft.fft(x, norm="ortho"), atol=TOL)


@pytest.mark.parametrize("n", SIZES)
def test_orders_add(n):
    for a, b in [(0.3, 0.5), (0.5, 0.5), (1.0, 1.0), (0.7, -0.2), (1.37, 2.9), (-0.45, 0.45)]:
        np.testing.assert_allclose(dfrft_matrix(n, a) @ dfrft_matrix(n, b),
                                   dfrft_matrix(n, a + b), atol=TOL)


@pytest.mark.parametrize("n", SIZES)
def test_unitary_and_periodic(n):
    for a in (0.25, 0.5, 1.3, -0.8):
        matrix = dfrft_matrix(n, a)
        np.testing.assert_allclose(matrix.conj().T @ matrix, np.eye(n), atol=TOL)
        np.testing.assert_allclose(matrix, matrix.T, atol=TOL)  # symmetric, like the DFT
        np.testing.assert_allclose(dfrft_matrix(n, a + 4.0), matrix, atol=TOL)
    # Order 2 is the parity operator x[k] -> x[-k mod n]; order -1 the inverse DFT.
    np.testing.assert_allclose(dfrft_matrix(n, 2.0), np.eye(n)[(-np.arange(n)) % n], atol=TOL)
    np.testing.assert_allclose(dfrft_matrix(n, -1.0),
                               np.fft.ifft(np.eye(n), norm="ortho", axis=0), atol=TOL)


@pytest.mark.parametrize("n", SIZES)
def test_basis_is_hermite_gauss_like(n):
    vecs, orders = hermite_gauss_basis(n)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(n), atol=TOL)
    expected = list(range(n)) if n % 2 or n < 2 else list(range(n - 1)) + [n]
    assert orders.tolist() == expected
    dft = np.fft.fft(np.eye(n), norm="ortho", axis=0)
    for k in range(n):
        v = vecs[:, k]
        # each column is a DFT eigenvector with eigenvalue exp(-i pi/2 k) ...
        np.testing.assert_allclose(dft @ v, np.exp(-0.5j * np.pi * orders[k]) * v, atol=TOL)
        # ... and even (odd) for even (odd) orders, like the Hermite-Gauss functions.
        parity = 1 if orders[k] % 2 == 0 else -1
        np.testing.assert_allclose(v[(-np.arange(n)) % n], parity * v, atol=TOL)


def test_fractional_order_is_between_identity_and_dft():
    # A fractional order is neither the identity nor the DFT, and the
    # transform of a centred Gaussian-like vector stays real-valued in magnitude.
    n = 32
    half = dfrft_matrix(n, 0.5)
    assert np.abs(half - np.eye(n)).max() > 0.1
    assert np.abs(half - dfrft_matrix(n, 1.0)).max() > 0.1
    np.testing.assert_allclose(half @ half, dfrft_matrix(n, 1.0), atol=TOL)


def test_2d_transform_matches_separable_application():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 12))
    expected = dfrft_matrix(7, 0.3) @ x @ dfrft_matrix(12, 0.8).T
    np.testing.assert_allclose(dfrft2(x, 0.3, 0.8), expected, atol=TOL)
    np.testing.assert_allclose(dfrft2(x, 1.0), np.fft.fft2(x, norm="ortho"), atol=TOL)


def test_rejects_empty_size():
    with pytest.raises(ValueError):
        dfrft_matrix(0, 0.5)
