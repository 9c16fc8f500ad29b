"""The discrete fractional Fourier transform (DFrFT), in pure numpy.

This is the eigenvector-based DFrFT of Candan, Kutay and Ozaktas ("The
discrete fractional Fourier transform", IEEE Trans. Signal Processing 48(5),
2000), as in Candan's reference implementation ``dFRT.m``:

* ``S`` is Candan's nearly tridiagonal matrix that commutes with the unitary
  DFT matrix ``F`` (``S[n, n] = 2 cos(2 pi n / N)``, ``S[n, n +- 1 mod N] = 1``).
  Its eigenvectors are discrete analogues of the Hermite-Gauss functions and are
  therefore also eigenvectors of ``F``.
* ``S`` is split with the even/odd change of basis ``P`` into an even block
  (``floor(N/2) + 1`` eigenvectors) and an odd block (``ceil(N/2) - 1``). Within
  each block the eigenvalues are distinct for every ``N`` (``S`` itself has a
  repeated eigenvalue when ``N`` is a multiple of 4, which is why the split is
  needed), so the eigenvectors are well defined up to sign.
* Sorted by decreasing eigenvalue, the even eigenvectors get the Hermite-Gauss
  orders 0, 2, 4, ... and the odd ones 1, 3, 5, ...; for even ``N`` the last
  order is ``N`` instead of ``N - 1`` (the "N mod 4" multiplicity rule of the
  DFT eigenvalues).
* ``F^a = V diag(exp(-i pi/2 a k)) V^T``. Because ``V`` is real orthogonal,
  ``F^0 = I``, ``F^1`` is the unitary DFT (``numpy.fft.fft(x, norm="ortho")``),
  ``F^a F^b = F^(a+b)``, ``F^a`` is unitary and symmetric for every real ``a``.

No TensorFlow here: :mod:`.layers` builds the Keras mixing layer on top of
:func:`hermite_gauss_basis`.
"""

import functools

import numpy as np


@functools.lru_cache(maxsize=64)
def _basis(n):
    if n < 1:
        raise ValueError(f"DFrFT size must be at least 1, got {n}")
    if n == 1:
        return np.ones((1, 1)), np.zeros(1)
    # Candan's commuting matrix S (second-order approximation of the
    # Hermite-Gauss generating differential equation).
    s = np.zeros(n)
    s[1] = 1.0
    s[-1] += 1.0  # n == 2: both neighbours are the same element
    idx = np.arange(n)
    circ = s[(idx[None, :] - idx[:, None]) % n]
    big_s = circ + np.diag(2.0 * np.cos(2.0 * np.pi * idx / n))

    # Even/odd change of basis P (orthogonal, symmetric rows as in dFRT.m).
    r = n // 2
    even = n % 2 == 0
    p = np.zeros((n, n))
    p[0, 0] = 1.0
    h = 1.0 / np.sqrt(2.0)
    for i in range(1, r - int(even) + 1):
        p[i, i] = h
        p[i, n - i] = h
    if even:
        p[r, r] = 1.0
    for i in range(r + 1, n):
        p[i, i] = -h
        p[i, n - i] = h
    cs = p @ big_s @ p.T
    n_even = n // 2 + 1
    c2 = cs[:n_even, :n_even]
    s2 = cs[n_even:, n_even:]

    ec, vc = np.linalg.eigh(c2)
    order_c = np.argsort(-ec, kind="stable")
    even_vecs = p.T[:, :n_even] @ vc[:, order_c]
    if n - n_even:
        es, vs = np.linalg.eigh(s2)
        order_s = np.argsort(-es, kind="stable")
        odd_vecs = p.T[:, n_even:] @ vs[:, order_s]
    else:
        odd_vecs = np.zeros((n, 0))

    # Interleave: even -> Hermite-Gauss orders 0, 2, 4, ...; odd -> 1, 3, 5, ...
    # For even N there are N/2 + 1 even vectors and N/2 - 1 odd ones: the last
    # even vector takes order N (a DFT eigenvector of order N - 1 does not exist).
    vecs = np.zeros((n, n))
    orders = np.arange(n, dtype=float)
    n_even_slots = len(range(0, n, 2))
    vecs[:, 0::2] = even_vecs[:, :n_even_slots]
    vecs[:, 1:2 * odd_vecs.shape[1]:2] = odd_vecs
    if even:
        vecs[:, n - 1] = even_vecs[:, -1]
        orders[n - 1] = n
    vecs.setflags(write=False)
    orders.setflags(write=False)
    return vecs, orders


def hermite_gauss_basis(n):
    """Return ``(V, k)``: the ``n x n`` real orthogonal eigenvector matrix of the
    DFrFT (columns are discrete Hermite-Gauss vectors) and their orders ``k``.

    ``F^a = V @ diag(exp(-1j * pi / 2 * a * k)) @ V.T``. Results are cached and
    read-only; copy them before modifying.
    """
    return _basis(int(n))


def dfrft_matrix(n, a):
    """The ``n x n`` complex DFrFT matrix of (real) fractional order ``a``."""
    vecs, orders = hermite_gauss_basis(n)
    phase = np.exp(-0.5j * np.pi * float(a) * orders)
    return (vecs * phase[None, :]) @ vecs.T


def dfrft(x, a, axis=-1):
    """The DFrFT of order ``a`` of ``x`` along ``axis`` (complex result)."""
    x = np.asarray(x)
    x = np.moveaxis(x, axis, -1)
    matrix = dfrft_matrix(x.shape[-1], a)
    return np.moveaxis(x @ matrix.T, -1, axis)


def dfrft2(x, a_rows, a_cols=None):
    """2-D DFrFT over the last two axes, orders ``a_rows`` and ``a_cols``."""
    a_cols = a_rows if a_cols is None else a_cols
    return dfrft(dfrft(x, a_rows, axis=-2), a_cols, axis=-1)
