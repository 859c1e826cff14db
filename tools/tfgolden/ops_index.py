"""Group "indexing": one_hot (axis, on/off values), pad modes, boolean_mask,
one-argument where, gather_nd, scatter_nd."""

import numpy as np

from common import Inp, op_case
from ops_math import randn

F = np.float32
I = np.int32


def indexing(add, rng):
    idx = np.array([[0, 3, -1], [2, 4, 1]], I)
    oh = "tf.one_hot"
    add(op_case, rng, "one_hot_2x3_d4_axm1", oh, [Inp("indices", idx)], {"depth": 4, "axis": -1},
        notes="output [2, 3, 4]; -1 and 4 (outside [0, depth)) give all-off rows")
    add(op_case, rng, "one_hot_2x3_d4_ax0", oh, [Inp("indices", idx)], {"depth": 4, "axis": 0},
        notes="axis=0: output [4, 2, 3], out[d, i, j] = (indices[i, j] == d)")
    add(op_case, rng, "one_hot_2x3_d4_ax1", oh, [Inp("indices", idx)], {"depth": 4, "axis": 1},
        notes="axis=1: output [2, 4, 3]")
    add(op_case, rng, "one_hot_2x3_d5_on5_offm1", oh, [Inp("indices", idx)],
        {"depth": 5, "on_value": 5.0, "off_value": -1.0})
    add(op_case, rng, "one_hot_4_d3_ax0_on2_off0_f32", oh, [Inp("indices", np.array([2, 0, 1, 2], I))],
        {"depth": 3, "on_value": 2.0, "off_value": 0.0, "axis": 0})
    add(op_case, rng, "one_hot_5_d3_int32", oh, [Inp("indices", np.array([1, 0, 2, 5, 1], I))],
        {"depth": 3, "on_value": 7, "off_value": -2, "dtype": "int32"},
        notes="int32 output with integer on/off values")

    pad = "tf.pad"
    add(op_case, rng, "pad_reflect_3x4", pad, [Inp("tensor", randn(rng, 3, 4))],
        {"paddings": [[1, 2], [2, 3]], "mode": "REFLECT"},
        notes="REFLECT mirrors without repeating the edge; needs paddings < dim; "
              "the gradient of a padded copy adds into its source")
    add(op_case, rng, "pad_symmetric_3x4", pad, [Inp("tensor", randn(rng, 3, 4))],
        {"paddings": [[2, 3], [1, 4]], "mode": "SYMMETRIC"},
        notes="SYMMETRIC mirrors including the edge; needs paddings <= dim")
    add(op_case, rng, "pad_reflect_2x3x3", pad, [Inp("tensor", randn(rng, 2, 3, 3))],
        {"paddings": [[0, 1], [2, 0], [1, 1]], "mode": "REFLECT"})
    add(op_case, rng, "pad_symmetric_2x2x3", pad, [Inp("tensor", randn(rng, 2, 2, 3))],
        {"paddings": [[1, 0], [2, 2], [0, 3]], "mode": "SYMMETRIC"})
    add(op_case, rng, "pad_constant_cv_3x3", pad, [Inp("tensor", randn(rng, 3, 3))],
        {"paddings": [[1, 0], [0, 2]], "mode": "CONSTANT", "constant_values": -1.5})

    bm = "tf.boolean_mask"
    add(op_case, rng, "boolean_mask_4x3_m4", bm,
        [Inp("tensor", randn(rng, 4, 3)), Inp("mask", np.array([True, False, True, True]))],
        notes="1-D mask selects rows; gradient (IndexedSlices) densified: zeros for dropped rows")
    add(op_case, rng, "boolean_mask_3x4_m3x4", bm,
        [Inp("tensor", randn(rng, 3, 4)), Inp("mask", rng.rand(3, 4) < 0.5)],
        notes="2-D mask over a 2-D tensor: 1-D output of the selected elements in row-major order")
    add(op_case, rng, "boolean_mask_2x3x2_m2x3", bm,
        [Inp("tensor", randn(rng, 2, 3, 2)), Inp("mask", np.array([[True, False, True], [False, True, True]]))],
        notes="2-D mask over the first two dims of a 3-D tensor: output [num_true, 2]")
    add(op_case, rng, "boolean_mask_3x4_m4_ax1", bm,
        [Inp("tensor", randn(rng, 3, 4)), Inp("mask", np.array([False, True, True, False]))], {"axis": 1},
        notes="axis=1: the mask applies to dim 1")
    add(op_case, rng, "boolean_mask_3x2_none", bm,
        [Inp("tensor", randn(rng, 3, 2)), Inp("mask", np.array([False, False, False]))],
        notes="all-false mask: output [0, 2], gradient all zeros")

    w = "tf.where"
    add(op_case, rng, "where_indices_3x4", w, [Inp("condition", rng.rand(3, 4) < 0.5)],
        notes="one argument: int64 [num_true, rank] coordinates of the true entries, row-major order")
    add(op_case, rng, "where_indices_2x2x3", w, [Inp("condition", rng.rand(2, 2, 3) < 0.4)])
    add(op_case, rng, "where_indices_5_f32", w,
        [Inp("condition", np.array([0.0, 1.5, -2.0, 0.0, -0.0], F), diff=False)],
        notes="numeric condition: nonzero entries count as true (-0.0 is zero)")
    add(op_case, rng, "where_indices_none_2x3", w, [Inp("condition", np.zeros((2, 3), bool))],
        notes="no true entry: int64 output of shape [0, 2]")

    gn = "tf.gather_nd"
    add(op_case, rng, "gather_nd_4x3_full_idx3x2", gn,
        [Inp("params", randn(rng, 4, 3)), Inp("indices", np.array([[1, 0], [3, 2], [1, 0]], I))],
        notes="full indices: scalars; repeated indices accumulate in the gradient")
    add(op_case, rng, "gather_nd_4x3_rows_idx3x1", gn,
        [Inp("params", randn(rng, 4, 3)), Inp("indices", np.array([[2], [0], [2]], I))],
        notes="partial indices: slices (rows)")
    add(op_case, rng, "gather_nd_2x3x4_idx2x2x2", gn,
        [Inp("params", randn(rng, 2, 3, 4)), Inp("indices", np.array([[[0, 1], [1, 2]], [[1, 0], [0, 1]]], I))],
        notes="indices [2, 2, 2] -> output [2, 2, 4]")

    sn = "tf.scatter_nd"
    add(op_case, rng, "scatter_nd_rows_idx4x1_5x3", sn,
        [Inp("indices", np.array([[1], [3], [1], [0]], I)), Inp("updates", randn(rng, 4, 3))],
        {"shape": [5, 3]},
        notes="duplicate indices are summed; grad w.r.t. updates is gather_nd(upstream, indices)")
    add(op_case, rng, "scatter_nd_elems_idx3x2_3x4", sn,
        [Inp("indices", np.array([[0, 1], [2, 3], [0, 1]], I)), Inp("updates", randn(rng, 3))],
        {"shape": [3, 4]})
