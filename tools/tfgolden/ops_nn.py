"""Groups "nn_ops" (l2_normalize, top_k, in_top_k, moments keepdims, LRN)
and "convolution" (dilated conv2d, depthwise_conv2d, conv2d_transpose)."""

import numpy as np

from common import Inp, op_case, tf
from ops_math import randn

F = np.float32


def distinct(rng, *shape, gap=0.05):
    """Random values with no ties (pairwise gaps >= gap), shuffled."""
    n = int(np.prod(shape))
    base = np.arange(n) * gap + rng.uniform(0, gap / 2, size=n)
    v = (base - base.mean()) * (3.0 / max(1e-9, base.std()))
    rng.shuffle(v)
    return v.reshape(shape).astype(F)


def dil_add(add):
    def dadd(fn, rng, name, op, inputs, attrs, **kw):
        notes = kw.pop("notes", None)
        kw["notes"] = DIL_NOTE if not notes else notes + "; " + DIL_NOTE
        return add(fn, rng, name, op, inputs, attrs, grad_call=dilated_grad_call, **kw)
    dadd.plain = add
    return dadd


def nn_ops(add, rng):
    add(op_case, rng, "l2_normalize_3x4_ax1", "tf.nn.l2_normalize", [Inp("x", randn(rng, 3, 4))],
        {"axis": 1}, rtol=1e-4, notes="x / sqrt(max(sum(x^2, axis), epsilon)), default epsilon 1e-12")
    add(op_case, rng, "l2_normalize_3x4_ax0", "tf.nn.l2_normalize", [Inp("x", randn(rng, 3, 4))],
        {"axis": 0}, rtol=1e-4)
    add(op_case, rng, "l2_normalize_2x3x2_ax12", "tf.nn.l2_normalize", [Inp("x", randn(rng, 2, 3, 2))],
        {"axis": [1, 2]}, rtol=1e-4)
    xs = np.array([[0.1, -0.2, 0.3, 0.1], [1.0, -2.0, 0.5, 1.5], [0.05, 0.4, -0.3, 0.2]], F)
    add(op_case, rng, "l2_normalize_eps1_3x4_ax1", "tf.nn.l2_normalize", [Inp("x", xs)],
        {"axis": 1, "epsilon": 1.0}, rtol=1e-4,
        notes="rows 0 and 2 have sum(x^2) < epsilon: they are divided by sqrt(epsilon) = 1 and the "
              "sum gets no gradient (tf.maximum)")

    add(op_case, rng, "top_k_3x5_k2", "tf.math.top_k", [Inp("input", distinct(rng, 3, 5))], {"k": 2},
        notes="outputs [values, indices(int32)], sorted descending; grad_ys[1] is null (int output); "
              "the values' gradient is scattered to the selected positions")
    add(op_case, rng, "top_k_2x3x6_k3", "tf.math.top_k", [Inp("input", distinct(rng, 2, 3, 6))], {"k": 3})
    add(op_case, rng, "top_k_7_k4_sorted_attr", "tf.math.top_k", [Inp("input", distinct(rng, 7))],
        {"k": 4, "sorted": True})
    add(op_case, rng, "top_k_ties_2x4_k2", "tf.math.top_k",
        [Inp("input", np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, -1.0]], F))], {"k": 2},
        fd=False, notes="ties: the lower index comes first")

    preds = distinct(rng, 4, 5)
    order = np.argsort(-preds, axis=1)  # column r = index of the (r+1)-th largest
    targets = np.array([order[0, 0], order[1, 1], order[2, 2], order[3, 4]], np.int32)
    add(op_case, rng, "in_top_k_4x5_k2", "tf.nn.in_top_k",
        [Inp("predictions", preds), Inp("targets", targets)], {"k": 2},
        notes="targets ranked 1st, 2nd, 3rd and 5th in their rows: true, true, false, false")
    add(op_case, rng, "in_top_k_4x5_k1", "tf.nn.in_top_k",
        [Inp("predictions", preds), Inp("targets", np.argmax(preds, 1).astype(np.int32))], {"k": 1})
    add(op_case, rng, "in_top_k_ties_3x4_k1", "tf.nn.in_top_k",
        [Inp("predictions", np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.5, 0.1, 0.2, 0.3]], F)),
         Inp("targets", np.array([2, 3, 1], np.int32))], {"k": 1},
        notes="ties: a target whose prediction ties the k-th largest counts as in the top k")
    add(op_case, rng, "in_top_k_out_of_range_3x4_k2", "tf.nn.in_top_k",
        [Inp("predictions", distinct(rng, 3, 4)), Inp("targets", np.array([0, 4, -1], np.int32))], {"k": 2},
        notes="a target outside [0, num_classes) gives false")

    add(op_case, rng, "moments_kd_4x3_ax0", "tf.nn.moments", [Inp("x", randn(rng, 4, 3))],
        {"axes": [0], "keepdims": True}, rtol=1e-4, notes="outputs (mean, variance), shapes [1, 3]")
    add(op_case, rng, "moments_kd_2x3x3x2_ax012", "tf.nn.moments", [Inp("x", randn(rng, 2, 3, 3, 2))],
        {"axes": [0, 1, 2], "keepdims": True}, rtol=1e-4)
    add(op_case, rng, "moments_kd_3x4_ax1", "tf.nn.moments", [Inp("x", randn(rng, 3, 4))],
        {"axes": [1], "keepdims": True}, rtol=1e-4)

    lrn = "tf.nn.local_response_normalization"
    add(op_case, rng, "lrn_default_1x2x2x6", lrn, [Inp("input", randn(rng, 1, 2, 2, 6))], rtol=1e-4,
        fd32=True, notes="defaults depth_radius=5, bias=1, alpha=1, beta=0.5: "
                         "x / (bias + alpha * sum_{|j-c|<=r} x_j^2)^beta (alpha NOT divided by the window)")
    add(op_case, rng, "lrn_r2_2x3x3x5", lrn, [Inp("input", randn(rng, 2, 3, 3, 5))],
        {"depth_radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75}, rtol=1e-4, fd32=True)
    add(op_case, rng, "lrn_r1_1x2x3x4", lrn, [Inp("input", randn(rng, 1, 2, 3, 4))],
        {"depth_radius": 1, "bias": 2.0, "alpha": 0.1, "beta": 1.0}, rtol=1e-4, fd32=True)


DIL_NOTE = ("TF's CPU kernels cannot differentiate a dilated tf.nn.conv2d (tf.gradients builds, but running "
            "it fails: 'Current CPU implementations do not yet support dilation rates larger than 1.'). "
            "output is tf.nn.conv2d's; grads are those of the equivalent tf.nn.convolution(input, filter, "
            "padding, dilation_rate=dilations[1:3]) (SpaceToBatchND + Conv2D + BatchToSpaceND), whose "
            "output was checked equal")


def dilated_grad_call(xs, names, attrs):
    return tf.nn.convolution(xs[0], xs[1], padding=attrs["padding"], dilation_rate=attrs["dilations"][1:3])


def convolution(add, rng):
    c = "tf.nn.conv2d"
    add = dil_add(add)
    add(op_case, rng, "conv2d_dil22_1x7x7x2_f3x3x2x3_VALID", c,
        [Inp("input", randn(rng, 1, 7, 7, 2)), Inp("filter", randn(rng, 3, 3, 2, 3, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "VALID", "dilations": [1, 2, 2, 1]}, rtol=1e-4,
        notes="effective filter size (k-1)*d+1 = 5")
    add(op_case, rng, "conv2d_dil22_2x6x6x2_f3x3x2x2_SAME", c,
        [Inp("input", randn(rng, 2, 6, 6, 2)), Inp("filter", randn(rng, 3, 3, 2, 2, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "SAME", "dilations": [1, 2, 2, 1]}, rtol=1e-4)
    add(op_case, rng, "conv2d_dil21_1x6x5x1_f2x2x1x2_SAME", c,
        [Inp("input", randn(rng, 1, 6, 5, 1)), Inp("filter", randn(rng, 2, 2, 1, 2, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "SAME", "dilations": [1, 2, 1, 1]}, rtol=1e-4,
        notes="dilation 2 in height only; even effective size 3 x 2: SAME pads (1,1) rows, (0,1) cols")
    add(op_case, rng, "conv2d_dil33_1x8x8x1_f2x2x1x1_VALID", c,
        [Inp("input", randn(rng, 1, 8, 8, 1)), Inp("filter", randn(rng, 2, 2, 1, 1, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "VALID", "dilations": [1, 3, 3, 1]}, rtol=1e-4)

    add = add.plain
    d = "tf.nn.depthwise_conv2d"
    add(op_case, rng, "depthwise_conv2d_1x5x5x2_f3x3x2x1_s1_SAME", d,
        [Inp("input", randn(rng, 1, 5, 5, 2)), Inp("filter", randn(rng, 3, 3, 2, 1, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "SAME"}, rtol=1e-4,
        notes="filter [h, w, in_channels, channel_multiplier]; output channel c*multiplier + m")
    add(op_case, rng, "depthwise_conv2d_2x5x5x2_f3x3x2x2_s1_VALID", d,
        [Inp("input", randn(rng, 2, 5, 5, 2)), Inp("filter", randn(rng, 3, 3, 2, 2, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "VALID"}, rtol=1e-4)
    add(op_case, rng, "depthwise_conv2d_1x6x6x3_f3x3x3x2_s2_SAME", d,
        [Inp("input", randn(rng, 1, 6, 6, 3)), Inp("filter", randn(rng, 3, 3, 3, 2, scale=0.5))],
        {"strides": [1, 2, 2, 1], "padding": "SAME"}, rtol=1e-4)
    add(op_case, rng, "depthwise_conv2d_1x7x7x2_f2x2x2x1_s2_VALID", d,
        [Inp("input", randn(rng, 1, 7, 7, 2)), Inp("filter", randn(rng, 2, 2, 2, 1, scale=0.5))],
        {"strides": [1, 2, 2, 1], "padding": "VALID"}, rtol=1e-4)
    add(op_case, rng, "depthwise_conv2d_1x6x6x2_f3x3x2x2_rate2_SAME", d,
        [Inp("input", randn(rng, 1, 6, 6, 2)), Inp("filter", randn(rng, 3, 3, 2, 2, scale=0.5))],
        {"strides": [1, 1, 1, 1], "padding": "SAME", "rate": [2, 2]}, rtol=1e-4,
        notes="rate = dilation")

    t = "tf.nn.conv2d_transpose"
    add(op_case, rng, "conv2d_transpose_1x3x3x2_f3x3x4x2_o5_s2_SAME", t,
        [Inp("value", randn(rng, 1, 3, 3, 2)), Inp("filter", randn(rng, 3, 3, 4, 2, scale=0.5))],
        {"output_shape": [1, 5, 5, 4], "strides": [1, 2, 2, 1], "padding": "SAME"}, rtol=1e-4,
        notes="filter [h, w, out_channels, in_channels]; the gradient of conv2d w.r.t. its input for an "
              "input of output_shape; with SAME/stride 2 both 5 and 6 are valid output sizes for 3")
    add(op_case, rng, "conv2d_transpose_1x3x3x2_f3x3x4x2_o6_s2_SAME", t,
        [Inp("value", randn(rng, 1, 3, 3, 2)), Inp("filter", randn(rng, 3, 3, 4, 2, scale=0.5))],
        {"output_shape": [1, 6, 6, 4], "strides": [1, 2, 2, 1], "padding": "SAME"}, rtol=1e-4)
    add(op_case, rng, "conv2d_transpose_2x4x4x3_f3x3x2x3_s1_SAME", t,
        [Inp("value", randn(rng, 2, 4, 4, 3)), Inp("filter", randn(rng, 3, 3, 2, 3, scale=0.5))],
        {"output_shape": [2, 4, 4, 2], "strides": [1, 1, 1, 1], "padding": "SAME"}, rtol=1e-4)
    add(op_case, rng, "conv2d_transpose_1x3x3x2_f3x3x2x2_s1_VALID", t,
        [Inp("value", randn(rng, 1, 3, 3, 2)), Inp("filter", randn(rng, 3, 3, 2, 2, scale=0.5))],
        {"output_shape": [1, 5, 5, 2], "strides": [1, 1, 1, 1], "padding": "VALID"}, rtol=1e-4)
    add(op_case, rng, "conv2d_transpose_1x3x3x2_f3x3x3x2_s2_VALID", t,
        [Inp("value", randn(rng, 1, 3, 3, 2)), Inp("filter", randn(rng, 3, 3, 3, 2, scale=0.5))],
        {"output_shape": [1, 7, 7, 3], "strides": [1, 2, 2, 1], "padding": "VALID"}, rtol=1e-4)
    add(op_case, rng, "conv2d_transpose_2x2x3x1_f2x2x2x1_s2_VALID", t,
        [Inp("value", randn(rng, 2, 2, 3, 1)), Inp("filter", randn(rng, 2, 2, 2, 1, scale=0.5))],
        {"output_shape": [2, 4, 6, 2], "strides": [1, 2, 2, 1], "padding": "VALID"}, rtol=1e-4,
        notes="non-square; 2x2 filter, stride 2: no overlap")
