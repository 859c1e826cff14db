"""Groups "elementwise" and "reductions": new math ops."""

import numpy as np

from common import Inp, op_case, op_error_case

F = np.float32


def randn(rng, *shape, scale=1.0):
    return (rng.randn(*shape) * scale).astype(F)


def unif(rng, lo, hi, *shape):
    return rng.uniform(lo, hi, size=shape).astype(F)


def away_from_zero(rng, *shape, lo=0.5, hi=2.0):
    """Random magnitudes in [lo, hi) with random signs."""
    return (rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)).astype(F)


TIES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.5, 0.49999997, 1.2, -1.7, 0.0], F)
INTEGRAL = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, -0.0, 1.5, -1.5, 2.7, -2.7, 0.1, -0.1], F)


def elementwise(add, rng):
    add(op_case, rng, "log1p_3x4", "tf.math.log1p", [Inp("x", unif(rng, -0.9, 3.0, 3, 4))])
    add(op_case, rng, "log1p_small_6", "tf.math.log1p",
        [Inp("x", np.array([1e-7, -1e-7, 1e-4, -1e-4, 0.0, 0.5], F))],
        notes="tiny |x|: log1p(x) ~ x without cancellation; log1p'(x) = 1/(1+x)")
    add(op_case, rng, "expm1_3x4", "tf.math.expm1", [Inp("x", randn(rng, 3, 4, scale=1.5))])
    add(op_case, rng, "expm1_small_6", "tf.math.expm1",
        [Inp("x", np.array([1e-7, -1e-7, 1e-4, -1e-4, 0.0, -3.0], F))])

    for op, short in (("tf.floor", "floor"), ("tf.ceil", "ceil"), ("tf.round", "round")):
        add(op_case, rng, "%s_3x4" % short, op, [Inp("x", randn(rng, 3, 4, scale=2.0))], fd=False,
            notes="TF registers no gradient for %s: tf.gradients returns None (null), not zeros" % op)
    add(op_case, rng, "floor_integral_12", "tf.floor", [Inp("x", INTEGRAL)], fd=False,
        notes="integral values, -0.0 and +-0.1; gradient None (null)")
    add(op_case, rng, "ceil_integral_12", "tf.ceil", [Inp("x", INTEGRAL)], fd=False,
        notes="ceil(-0.1) = -0.0; gradient None (null)")
    add(op_case, rng, "round_half_to_even_12", "tf.round", [Inp("x", TIES)], fd=False,
        notes="ties round half to even (banker's rounding): 2.5 -> 2, -0.5 -> -0.0, 3.5 -> 4; "
              "gradient None (null)")

    # floordiv / floormod: float (random signs, away from discontinuities) and int32.
    x = randn(rng, 3, 4, scale=3.0)
    y = away_from_zero(rng, 3, 4)
    add(op_case, rng, "floordiv_f32_3x4", "tf.math.floordiv", [Inp("x", x), Inp("y", y)], fd=False,
        notes="floor(x / y) (rounds toward -inf); TF registers no gradient for FloorDiv: both null")
    add(op_case, rng, "floormod_f32_3x4", "tf.math.floormod", [Inp("x", x), Inp("y", y)],
        notes="result has the sign of y (Python semantics: x - floor(x/y)*y); "
              "grad x = upstream, grad y = -upstream * floor(x / y)")
    add(op_case, rng, "floormod_f32_3x4_4", "tf.math.floormod",
        [Inp("x", randn(rng, 3, 4, scale=3.0)), Inp("y", away_from_zero(rng, 4))],
        notes="broadcast y; its gradient is summed back to shape [4]")
    xi = np.array([7, -7, 7, -7, 0, 5, -3, 9, -9, 1, -1, 6], np.int32).reshape(3, 4)
    yi = np.array([2, 2, -2, -2, 3, -5, 4, 3, 4, -4, 3, -4], np.int32).reshape(3, 4)
    add(op_case, rng, "floordiv_i32_3x4", "tf.math.floordiv", [Inp("x", xi), Inp("y", yi)],
        notes="int32: rounds toward -inf (-7 // 2 = -4), unlike C truncation")
    add(op_case, rng, "floormod_i32_3x4", "tf.math.floormod", [Inp("x", xi), Inp("y", yi)],
        notes="int32: result has the sign of y (-7 mod 2 = 1, 7 mod -2 = -1)")
    add(op_case, rng, "floordiv_i32_3x4_scalar", "tf.math.floordiv",
        [Inp("x", xi), Inp("y", np.array(-3, np.int32))])

    add(op_case, rng, "sign_3x4", "tf.sign", [Inp("x", away_from_zero(rng, 3, 4, lo=0.1, hi=3.0))],
        notes="gradient of sign is zeros (not None)")
    add(op_case, rng, "sign_with_zero_5", "tf.sign", [Inp("x", np.array([-2.0, -0.0, 0.0, 0.5, 3.0], F))],
        fd=False, notes="sign(0) = sign(-0.0) = 0.0 (+0.0); gradient zeros everywhere, incl. at 0")

    add(op_case, rng, "squared_difference_3x4_3x4", "tf.math.squared_difference",
        [Inp("x", randn(rng, 3, 4)), Inp("y", randn(rng, 3, 4))])
    add(op_case, rng, "squared_difference_4x5_5", "tf.math.squared_difference",
        [Inp("x", randn(rng, 4, 5)), Inp("y", randn(rng, 5))],
        notes="broadcast y; gradient summed back")
    add(op_case, rng, "softsign_3x4", "tf.nn.softsign", [Inp("features", randn(rng, 3, 4, scale=2.0))],
        notes="x / (1 + |x|); derivative 1 / (1 + |x|)^2")


def reductions(add, rng):
    it = "input_tensor"
    add(op_case, rng, "reduce_logsumexp_3x4_axall", "tf.reduce_logsumexp", [Inp(it, randn(rng, 3, 4))],
        {"axis": None})
    add(op_case, rng, "reduce_logsumexp_3x4_ax1", "tf.reduce_logsumexp", [Inp(it, randn(rng, 3, 4))],
        {"axis": 1}, rtol=1e-4)
    add(op_case, rng, "reduce_logsumexp_2x3x4_ax02_kd", "tf.reduce_logsumexp",
        [Inp(it, randn(rng, 2, 3, 4))], {"axis": [0, 2], "keepdims": True}, rtol=1e-4)
    add(op_case, rng, "reduce_logsumexp_2x3x4_axm1_kd", "tf.reduce_logsumexp",
        [Inp(it, randn(rng, 2, 3, 4))], {"axis": -1, "keepdims": True}, rtol=1e-4)
    big = np.array([[1000.0, 999.0, 998.5], [-1000.0, -1001.0, -999.5]], F)
    add(op_case, rng, "reduce_logsumexp_large_2x3_ax1", "tf.reduce_logsumexp", [Inp(it, big)],
        {"axis": 1}, rtol=1e-4,
        notes="|x| ~ 1000: a naive log(sum(exp(x))) overflows/underflows; TF subtracts the max")

    b = lambda *s: rng.rand(*s) < 0.5  # noqa: E731
    add(op_case, rng, "reduce_any_3x4_axall", "tf.reduce_any", [Inp(it, b(3, 4))], {"axis": None})
    add(op_case, rng, "reduce_any_3x4_ax1", "tf.reduce_any",
        [Inp(it, np.array([[False] * 4, [True, False, False, False], [True] * 4]))], {"axis": 1})
    add(op_case, rng, "reduce_any_2x3x2_ax12_kd", "tf.reduce_any", [Inp(it, b(2, 3, 2))],
        {"axis": [1, 2], "keepdims": True})
    add(op_case, rng, "reduce_all_3x4_axall", "tf.reduce_all", [Inp(it, b(3, 4))], {"axis": None})
    add(op_case, rng, "reduce_all_3x4_ax1", "tf.reduce_all",
        [Inp(it, np.array([[False] * 4, [True, False, True, True], [True] * 4]))], {"axis": 1})
    add(op_case, rng, "reduce_all_2x3x2_ax0_kd", "tf.reduce_all", [Inp(it, b(2, 3, 2) | b(2, 3, 2))],
        {"axis": 0, "keepdims": True})

    xz = randn(rng, 3, 4)
    xz[rng.rand(3, 4) < 0.4] = 0.0
    xz[0, 1] = -0.0
    add(op_case, rng, "count_nonzero_f32_3x4_axall", "tf.math.count_nonzero", [Inp(it, xz, diff=False)],
        notes="-0.0 counts as zero; default dtype int64")
    add(op_case, rng, "count_nonzero_f32_3x4_ax1", "tf.math.count_nonzero", [Inp(it, xz, diff=False)],
        {"axis": 1})
    xi = rng.randint(-2, 3, size=(2, 3, 4)).astype(np.int32)
    add(op_case, rng, "count_nonzero_i32_2x3x4_ax0_kd", "tf.math.count_nonzero", [Inp(it, xi)],
        {"axis": 0, "keepdims": True})
    add(op_case, rng, "count_nonzero_i32_2x3x4_ax12_dtype_i32", "tf.math.count_nonzero", [Inp(it, xi)],
        {"axis": [1, 2], "dtype": "int32"})
    add(op_case, rng, "count_nonzero_bool_3x4_axm1", "tf.math.count_nonzero", [Inp(it, b(3, 4))],
        {"axis": -1})

    t = "tensor"
    add(op_case, rng, "norm_euclidean_3x4_axall", "tf.norm", [Inp(t, randn(rng, 3, 4))], rtol=1e-4,
        notes="default ord='euclidean', axis=None: the 2-norm of the flattened tensor")
    add(op_case, rng, "norm_euclidean_3x4_ax1_kd", "tf.norm", [Inp(t, randn(rng, 3, 4))],
        {"ord": "euclidean", "axis": 1, "keepdims": True}, rtol=1e-4)
    add(op_case, rng, "norm_ord1_3x4_ax0", "tf.norm", [Inp(t, away_from_zero(rng, 3, 4, lo=0.2))],
        {"ord": 1, "axis": 0}, rtol=1e-4)
    add(op_case, rng, "norm_ordinf_3x4_axm1", "tf.norm", [Inp(t, randn(rng, 3, 4))],
        {"ord": "inf", "axis": -1}, rtol=1e-4,
        notes='"ord": "inf" means ord=np.inf (max |x|); gradient goes to the arg-max entry')
    add(op_case, rng, "norm_ord3_3x4_ax1", "tf.norm", [Inp(t, away_from_zero(rng, 3, 4, lo=0.2))],
        {"ord": 3, "axis": 1}, rtol=1e-4, notes="p-norm with p = 3")
    add(op_case, rng, "norm_fro_2x3x4_ax12", "tf.norm", [Inp(t, randn(rng, 2, 3, 4))],
        {"ord": "fro", "axis": [1, 2]}, rtol=1e-4, notes="matrix Frobenius norm over axes (1, 2)")
    add(op_case, rng, "norm_matrix_ord1_2x3x4_ax12", "tf.norm", [Inp(t, away_from_zero(rng, 2, 3, 4, lo=0.2))],
        {"ord": 1, "axis": [1, 2]}, rtol=1e-4,
        notes="matrix 1-norm: max over columns of the column's sum of |x| (axis pair [-2, -1])")
    add(op_case, rng, "norm_matrix_ordinf_2x3x4_ax12", "tf.norm",
        [Inp(t, away_from_zero(rng, 2, 3, 4, lo=0.2))],
        {"ord": "inf", "axis": [1, 2]}, rtol=1e-4,
        notes="matrix inf-norm: max over rows of the row's sum of |x|")

    add(op_case, rng, "norm_matrix_ord2_3x4_ax01", "tf.norm", [Inp(t, randn(rng, 3, 4))],
        {"ord": 2, "axis": [0, 1]}, rtol=1e-4,
        notes="matrix 2-norm = largest singular value (TF uses an SVD); gradient u1 v1^T * upstream")
    add(op_error_case, "norm_fro_axis_none_error", "tf.norm", [Inp(t, randn(rng, 3, 4))], {"ord": "fro"},
        notes="with axis=None TF treats the tensor as a vector: ord='fro' is rejected when the graph is built")

    x = "x"
    add(op_case, rng, "cumsum_3x4_ax0", "tf.cumsum", [Inp(x, randn(rng, 3, 4))], {"axis": 0})
    add(op_case, rng, "cumsum_3x4_ax1_excl", "tf.cumsum", [Inp(x, randn(rng, 3, 4))],
        {"axis": 1, "exclusive": True})
    add(op_case, rng, "cumsum_3x4_ax1_rev", "tf.cumsum", [Inp(x, randn(rng, 3, 4))],
        {"axis": 1, "reverse": True})
    add(op_case, rng, "cumsum_2x3x4_axm1_excl_rev", "tf.cumsum", [Inp(x, randn(rng, 2, 3, 4))],
        {"axis": -1, "exclusive": True, "reverse": True})
    add(op_case, rng, "cumsum_6_default", "tf.cumsum", [Inp(x, randn(rng, 6))])
