"""Group "dynamic_shape": run-time shapes (placeholders with unknown dims,
shape tensors), range, stack/unstack, sequence_mask, and Python slicing
recorded as explicit tf.strided_slice calls with TF's masks."""

import numpy as np

from common import Inp, close, default_expr, graph_case, op_case, op_error_case, problem, session, tf
from ops_math import randn

F = np.float32
I = np.int32

MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def getitem_case(rng, name, src, x):
    """x[...] as TF's __getitem__ builds it, replayed as tf.strided_slice."""
    g = tf.Graph()
    with g.as_default():
        inp = tf.placeholder(tf.float32, x.shape, name="input")
        y = eval(src, {"input": inp, "tf": tf})  # noqa: S307
        op = y.op
        if op.type != "StridedSlice":
            raise RuntimeError("%s did not build a StridedSlice (%s)" % (src, op.type))
        attrs = {}
        for k, idx in (("begin", 1), ("end", 2), ("strides", 3)):
            attrs[k] = [int(v) for v in tf.get_static_value(op.inputs[idx])]
        for m in MASKS:
            attrs[m] = int(op.get_attr(m))
        with session(g) as s:
            want = s.run(y, {inp: x})
    call_src = default_expr("tf.strided_slice", ["input"], attrs)
    case = op_case(rng, name, "tf.strided_slice", [Inp("input", x)], attrs, expr=src,
                   extra={"strided_slice_expr": call_src},
                   notes="expr is the Python slicing; strided_slice_expr the explicit call with the masks "
                         "TF's __getitem__ produced (both give this output)")
    got = np.array(case["output"]["data"], np.float64).reshape(case["output"]["shape"])
    if got.shape != want.shape or not close(got, want, 0, 0):
        problem("%s: tf.strided_slice with masks differs from %s" % (name, src))
    return case


def dynamic_shape(add, rng):
    add(op_case, rng, "shape_unknown_batch_4x3", "tf.shape", [Inp("input", randn(rng, 4, 3), shape=[None, 3])],
        notes="placeholder [None, 3] fed [4, 3]: int32 [4, 3]")
    add(op_case, rng, "shape_unknown_dims_2x3x2_int64", "tf.shape",
        [Inp("input", randn(rng, 2, 3, 2), shape=[None, None, 2])], {"out_type": "int64"})
    add(op_case, rng, "shape_unknown_rank_2x1x3", "tf.shape", [Inp("input", randn(rng, 2, 1, 3), shape="unknown")],
        notes="placeholder of unknown rank (shape=None)")
    add(op_case, rng, "size_unknown_dims_2x3x2", "tf.size",
        [Inp("input", randn(rng, 2, 3, 2), shape=[None, None, 2])], notes="int32 scalar")
    add(op_case, rng, "size_unknown_batch_0x3", "tf.size",
        [Inp("input", np.zeros((0, 3), F), shape=[None, 3])], notes="empty batch: 0")
    add(op_case, rng, "rank_unknown_rank_2x3x4", "tf.rank", [Inp("input", randn(rng, 2, 3, 4), shape="unknown")],
        notes="int32 scalar 3, known only at run time")

    sc = lambda v, dt=I: np.array(v, dt)  # noqa: E731
    add(op_case, rng, "range_i32_2_11_3", "tf.range",
        [Inp("start", sc(2)), Inp("limit", sc(11)), Inp("delta", sc(3))],
        notes="scalar int32 placeholders; output length ceil((limit - start) / delta)")
    add(op_case, rng, "range_i32_neg_delta", "tf.range",
        [Inp("start", sc(10)), Inp("limit", sc(1)), Inp("delta", sc(-3))])
    add(op_case, rng, "range_i32_limit_only", "tf.range", [Inp("start", sc(5))],
        notes="a single argument is the limit: range(0, 5)")
    add(op_case, rng, "range_i32_empty", "tf.range", [Inp("start", sc(3)), Inp("limit", sc(3))],
        notes="start == limit: empty int32 [0]")
    add(op_error_case, "range_i32_start_gt_limit_error", "tf.range", [Inp("start", sc(4)), Inp("limit", sc(2))],
        notes="unlike Python's range (which is empty), TF raises at run time when start > limit with delta > 0")
    add(op_case, rng, "range_f32_0.5_2_0.4", "tf.range",
        [Inp("start", sc(0.5, F), diff=False), Inp("limit", sc(2.0, F), diff=False),
         Inp("delta", sc(0.4, F), diff=False)],
        notes="float32: values start + i * delta, i < ceil((limit - start) / delta); Range has no gradient")

    add(op_case, rng, "stack_3_scalars", "tf.stack",
        [Inp("values_%d" % k, sc(rng.randn(), F)) for k in range(3)], notes="scalars -> [3]")
    add(op_case, rng, "stack_2_scalars_unknown", "tf.stack",
        [Inp("values_%d" % k, sc(rng.randn(), F), shape="unknown") for k in range(2)],
        notes="scalars fed through placeholders of unknown shape")

    add(op_case, rng, "unstack_3x4_ax0", "tf.unstack", [Inp("value", randn(rng, 3, 4))],
        notes="3 outputs of shape [4]")
    add(op_case, rng, "unstack_2x3x2_ax1", "tf.unstack", [Inp("value", randn(rng, 2, 3, 2))], {"axis": 1})
    add(op_case, rng, "unstack_unknown_batch_2x4_ax1", "tf.unstack",
        [Inp("value", randn(rng, 2, 4), shape=[None, 4])], {"axis": 1},
        notes="the number of outputs comes from the static dim 4; the batch dim is unknown")

    sm = "tf.sequence_mask"
    lens = np.array([1, 3, 0, 2], I)
    add(op_case, rng, "sequence_mask_4_maxlen5", sm, [Inp("lengths", lens)], {"maxlen": 5},
        notes="bool [4, 5]: mask[i, j] = j < lengths[i]")
    add(op_case, rng, "sequence_mask_4_no_maxlen", sm, [Inp("lengths", lens)],
        notes="maxlen defaults to max(lengths) = 3")
    add(op_case, rng, "sequence_mask_4_maxlen4_f32", sm, [Inp("lengths", lens)], {"maxlen": 4, "dtype": "float32"})
    add(op_case, rng, "sequence_mask_2x2_maxlen3", sm, [Inp("lengths", np.array([[0, 1], [3, 2]], I))],
        {"maxlen": 3}, notes="2-D lengths: output [2, 2, 3]")
    add(op_case, rng, "sequence_mask_maxlen_tensor", sm,
        [Inp("lengths", np.array([2, 0, 4], I)), Inp("maxlen", sc(6))],
        notes="maxlen as a run-time int32 scalar (second positional input)")

    add(op_case, rng, "zeros_shape_tensor_2x3", "tf.zeros", [Inp("shape", np.array([2, 3], I))],
        notes="shape is a run-time int32 tensor")
    add(op_case, rng, "ones_shape_tensor_3x1x2_int32", "tf.ones", [Inp("shape", np.array([3, 1, 2], I))],
        {"dtype": "int32"})
    add(op_case, rng, "fill_dims_tensor_2x3", "tf.fill", [Inp("dims", np.array([2, 3], I)), Inp("value", sc(0.75, F))],
        notes="the gradient w.r.t. the scalar value is the sum of the upstream gradient")

    add(op_case, rng, "tile_multiples_tensor_2x3_m22", "tf.tile",
        [Inp("input", randn(rng, 2, 3)), Inp("multiples", np.array([2, 2], I))],
        notes="multiples is a run-time int32 tensor")
    add(op_case, rng, "tile_unknown_batch_2x3_m13", "tf.tile",
        [Inp("input", randn(rng, 2, 3), shape=[None, 3]), Inp("multiples", np.array([1, 3], I))])

    add(op_case, rng, "slice_size_m1_3x4", "tf.slice", [Inp("input", randn(rng, 3, 4))],
        {"begin": [1, 0], "size": [-1, 2]}, notes="size -1 = to the end of that dim")
    add(op_case, rng, "slice_size_m1_unknown_batch_4x3", "tf.slice",
        [Inp("input", randn(rng, 4, 3), shape=[None, 3])], {"begin": [1, 1], "size": [-1, -1]})
    add(op_case, rng, "slice_tensors_2x3x4", "tf.slice",
        [Inp("input", randn(rng, 2, 3, 4)), Inp("begin", np.array([0, 1, 1], I)),
         Inp("size", np.array([-1, 2, 2], I))], notes="begin and size as run-time int32 tensors")

    x34 = randn(rng, 3, 4)
    x234 = randn(rng, 2, 3, 4)
    x54 = randn(rng, 5, 4)
    for name, src, x in (
        ("getitem_col0_3x4", "input[:, 0]", x34),
        ("getitem_ellipsis_1on_2x3x4", "input[..., 1:]", x234),
        ("getitem_newaxis_3x4", "input[:, None]", x34),
        ("getitem_step2_rev_5x4", "input[1:-1:2, ::-1]", x54),
        ("getitem_row0_3x4", "input[0]", x34),
        ("getitem_last_neg_2x3x4", "input[-1, :, -2]", x234),
        ("getitem_newaxis_ellipsis_2x3x4", "input[tf.newaxis, ..., 0]", x234),
        ("getitem_rev_all_3x4", "input[::-1, 3:0:-2]", x34),
    ):
        add(getitem_case, rng, name, src, x)

    add(graph_case, "reshape_dynamic_batch_2x3x4", "reshape_dynamic_batch",
        "reshape to [batch, -1] with the batch size read at run time",
        "y = tf.reshape(x, tf.stack([tf.shape(x)[0], -1]))\n"
        "loss = tf.reduce_sum(tf.square(y) * w)\n"
        "dx = tf.gradients(loss, x)[0]\n",
        [Inp("x", randn(rng, 2, 3, 4), shape=[None, 3, 4]), Inp("w", randn(rng, 12), diff=False)],
        ["y", "loss", "dx"], checks=[("loss", None, ["x"], ["dx"])], rtol=1e-5)
    add(graph_case, "shape_tensor_fill_3x2", "shape_tensor_fill",
        "tf.zeros / tf.ones / tf.fill / tf.zeros_like with shapes computed from tf.shape of a "
        "placeholder with an unknown batch dim",
        "s = tf.shape(x)\n"
        "z = tf.zeros(s, dtype=x.dtype)\n"
        "o = tf.ones(tf.stack([s[0], 2]), dtype=x.dtype)\n"
        "f = tf.fill(tf.stack([s[0], 1]), tf.constant(0.5, x.dtype))\n"
        "zl = tf.zeros_like(x)\n"
        "y = tf.concat([x * f + z + zl, o], axis=1)\n"
        "n = tf.cast(s[0], x.dtype)\n"
        "loss = tf.reduce_sum(y * y) / n\n"
        "dx = tf.gradients(loss, x)[0]\n",
        [Inp("x", randn(rng, 3, 2), shape=[None, 2])],
        ["s", "z", "o", "f", "zl", "y", "n", "loss", "dx"], checks=[("loss", None, ["x"], ["dx"])], rtol=1e-5)
