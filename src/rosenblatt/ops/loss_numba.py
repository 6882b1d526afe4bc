"""Softmax cross-entropy for plain class indices as compiled loops (numba): the formulas of
``ops/loss.py``'s ``CrossEntropy`` fast path (no class weights, no label smoothing, nothing
ignored) in one pass per row instead of about ten NumPy calls. Imported only through ``ops.jit``
(numba is optional; importing this module without it raises ImportError).

For each row i of the logits z (M, C), C-contiguous, with class index y_i:

    forward:   m = max_c z_ic;   s = Σ_c exp(z_ic − m)   (in NumPy's order, ``_sum_exp``)
               log p_ic = (z_ic − m) − ln s;   l_i = −log p_{i, y_i}
    backward:  dz_ic = (exp(log p_ic) − [c = y_i]) · g_i

Everything runs in z's dtype, the row sums in NumPy's order (for rows of up to 128 classes), but
exp and log come from the C library, not NumPy's SIMD routines (which are not correctly rounded),
so results can differ from the NumPy path in the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_serial = njit(cache=True, nogil=True)  # no fastmath: NaN and inf logits must propagate


@_serial
def _sum_exp(row, m, zero):
    """Σ_k exp(row_k − m) in row's dtype, in NumPy's order for a row of up to 128 (its pairwise
    sum: 8 running sums combined as a tree, then the rest one by one; a shorter row than 8 one
    by one); a longer row keeps the 8 running sums throughout."""
    c = row.size
    s = zero
    if c < 8:
        for k in range(c):
            s += np.exp(row[k] - m)
        return s
    r0 = np.exp(row[0] - m)
    r1 = np.exp(row[1] - m)
    r2 = np.exp(row[2] - m)
    r3 = np.exp(row[3] - m)
    r4 = np.exp(row[4] - m)
    r5 = np.exp(row[5] - m)
    r6 = np.exp(row[6] - m)
    r7 = np.exp(row[7] - m)
    full = c - c % 8
    for k in range(8, full, 8):
        r0 += np.exp(row[k] - m)
        r1 += np.exp(row[k + 1] - m)
        r2 += np.exp(row[k + 2] - m)
        r3 += np.exp(row[k + 3] - m)
        r4 += np.exp(row[k + 4] - m)
        r5 += np.exp(row[k + 5] - m)
        r6 += np.exp(row[k + 6] - m)
        r7 += np.exp(row[k + 7] - m)
    s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for k in range(full, c):
        s += np.exp(row[k] - m)
    return s


@_serial
def cross_entropy_forward(z, y, logp, loss):
    """logp (M, C) and the per-row loss (M,) as above; returns False, having stopped, at the
    first y_i outside [0, C) (the caller then takes the NumPy path, which reports it)."""
    m_rows, c = z.shape
    zero = np.zeros(1, z.dtype)[0]  # 0 in z's dtype, so the sums stay in it
    for i in range(m_rows):
        t = y[i]
        if t < 0 or t >= c:
            return False
        row = z[i]
        m = row[0]
        for k in range(1, c):
            m = max(m, row[k])  # a NaN logit makes s NaN, so the whole row NaN, as NumPy's
        s = _sum_exp(row, m, zero)
        lse = np.log(s)
        out = logp[i]
        for k in range(c):
            out[k] = (row[k] - m) - lse
        loss[i] = -out[t]
    return True


@_serial
def cross_entropy_backward(logp, y, g, dz):
    """dz (M, C) as above; g holds one value per row (M,) or one for all (1,)."""
    m_rows, c = logp.shape
    one = g.size == 1
    unit = np.ones(1, logp.dtype)[0]  # 1 in logp's dtype (an integer 1 would promote)
    for i in range(m_rows):
        gi = g[0] if one else g[i]
        t = y[i]
        src, out = logp[i], dz[i]
        for k in range(c):
            p = np.exp(src[k])
            if k == t:
                p = p - unit
            out[k] = p * gi
