"""Group "control_flow": tf.cond (fed predicate), nested cond, while_loop with
a fed trip count / maximum_iterations / data-dependent condition / a cond in
its body, TensorArray loops, and second order through a while_loop (TF1's
control flow v1 refuses it; the values are recorded with control flow v2)."""

import numpy as np

from common import Inp, graph_case, graph_error_case
from ops_math import randn

F = np.float32
I = np.int32


def u(rng, *shape):
    return rng.uniform(-1, 1, size=shape).astype(F)


def control_flow(add, rng):
    x = randn(rng, 3)
    w = randn(rng, 3)
    up = u(rng, 3)
    code = ("y = tf.cond(pred, lambda: tf.square(x) * w, lambda: tf.sin(x) + w)\n"
            "loss = tf.reduce_sum(y * upstream)\n"
            "dx, dw = tf.gradients(loss, [x, w])\n")
    for p in (True, False):
        add(graph_case, "cond_pred_%s_3" % str(p).lower(), "cond",
            "tf.cond with a fed bool predicate (fed %s); gradients flow through the taken branch only" % p,
            code, [Inp("pred", np.array(p)), Inp("x", x), Inp("w", w), Inp("upstream", up, diff=False)],
            ["y", "loss", "dx", "dw"], checks=[("loss", None, ["x", "w"], ["dx", "dw"])])

    x = randn(rng, 2, 2)
    w = randn(rng, 2, 2)
    up = u(rng, 2, 2)
    code = ("y = tf.cond(p1,\n"
            "            lambda: tf.cond(p2, lambda: x * w, lambda: tf.exp(x)),\n"
            "            lambda: tf.tanh(x * w) + x)\n"
            "loss = tf.reduce_sum(y * upstream)\n"
            "dx, dw = tf.gradients(loss, [x, w])\n")
    for p1, p2 in ((True, True), (True, False), (False, True)):
        add(graph_case, "cond_nested_%s_%s_2x2" % (str(p1).lower(), str(p2).lower()), "cond_nested",
            "nested tf.cond with two fed predicates (p1=%s, p2=%s)" % (p1, p2),
            code, [Inp("p1", np.array(p1)), Inp("p2", np.array(p2)), Inp("x", x), Inp("w", w),
                   Inp("upstream", up, diff=False)],
            ["y", "loss", "dx", "dw"], checks=[("loss", None, ["x", "w"], ["dx", "dw"])],
            notes=("w is not used by the taken branch: its gradient is zeros (not None), since w is "
                   "connected to loss through the other branch") if (p1, p2) == (True, False) else None)

    # while_loop: h <- tanh(h @ W), n times (n fed).
    x0 = randn(rng, 2, 3)
    W = (rng.randn(3, 3) * 0.6).astype(F)
    up = u(rng, 2, 3)
    code = ("i, h = tf.while_loop(lambda i, h: i < n,\n"
            "                     lambda i, h: (i + 1, tf.tanh(tf.matmul(h, W))),\n"
            "                     [tf.constant(0), x0])\n"
            "loss = tf.reduce_sum(h * upstream)\n"
            "dx0, dW = tf.gradients(loss, [x0, W])\n")
    for n in (3, 0, 5):
        add(graph_case, "while_tanh_n%d_2x3" % n, "while_tanh_recurrence",
            "tf.while_loop with a fed int32 trip count n = %d: h_{t+1} = tanh(h_t @ W)" % n,
            code, [Inp("n", np.array(n, I)), Inp("x0", x0), Inp("W", W), Inp("upstream", up, diff=False)],
            ["i", "h", "loss", "dx0", "dW"], checks=[("loss", None, ["x0", "W"], ["dx0", "dW"])],
            notes="n = 0: the loop body never runs, h = x0 and dW is zeros" if n == 0 else None)

    x = randn(rng, 4)
    wv = randn(rng, 4)
    up = u(rng, 4)
    code = ("i, h = tf.while_loop(lambda i, h: i < n,\n"
            "                     lambda i, h: (i + 1, h * 0.5 + tf.sin(h) * w),\n"
            "                     (tf.constant(0), x), maximum_iterations=3)\n"
            "loss = tf.reduce_sum(h * upstream)\n"
            "dx, dw = tf.gradients(loss, [x, w])\n")
    for n in (10, 2):
        add(graph_case, "while_maximum_iterations_n%d_4" % n, "while_maximum_iterations",
            "tf.while_loop(..., maximum_iterations=3) with a fed bound n = %d: runs min(n, 3) times" % n,
            code, [Inp("n", np.array(n, I)), Inp("x", x), Inp("w", wv), Inp("upstream", up, diff=False)],
            ["i", "h", "loss", "dx", "dw"], checks=[("loss", None, ["x", "w"], ["dx", "dw"])])

    x = np.array([0.3, -0.2, 0.25], F)
    b = np.array([0.1, 0.05, -0.1], F)
    code = ("i, h = tf.while_loop(lambda i, h: tf.reduce_sum(h * h) < 4.0,\n"
            "                     lambda i, h: (i + 1, h * 1.5 + b),\n"
            "                     [tf.constant(0), x])\n"
            "loss = tf.reduce_sum(h * upstream)\n"
            "dx, db = tf.gradients(loss, [x, b])\n")
    add(graph_case, "while_data_dependent_3", "while_data_dependent",
        "tf.while_loop whose condition depends on the loop values (trip count found at run time)",
        code, [Inp("x", x), Inp("b", b), Inp("upstream", u(rng, 3), diff=False)],
        ["i", "h", "loss", "dx", "db"], checks=[("loss", None, ["x", "b"], ["dx", "db"])],
        notes="the inputs are away from the threshold: small perturbations keep the trip count")

    x = randn(rng, 3)
    wv = randn(rng, 3)
    code = ("i, h = tf.while_loop(lambda i, h: i < 4,\n"
            "                     lambda i, h: (i + 1, tf.cond(tf.equal(i % 2, 0),\n"
            "                                                  lambda: tf.tanh(h * w),\n"
            "                                                  lambda: h + w)),\n"
            "                     [tf.constant(0), x])\n"
            "loss = tf.reduce_sum(h * upstream)\n"
            "dx, dw = tf.gradients(loss, [x, w])\n")
    add(graph_case, "while_with_cond_3", "while_with_cond",
        "a tf.cond inside a tf.while_loop body (alternating branches over 4 steps)",
        code, [Inp("x", x), Inp("w", wv), Inp("upstream", u(rng, 3), diff=False)],
        ["i", "h", "loss", "dx", "dw"], checks=[("loss", None, ["x", "w"], ["dx", "dw"])])

    # TensorArray write/stack.
    x0 = randn(rng, 2, 3)
    W = (rng.randn(3, 3) * 0.6).astype(F)
    bb = (rng.randn(3) * 0.2).astype(F)
    n = 4
    code = ("ta = tf.TensorArray(x0.dtype, size=n, clear_after_read=False)\n"
            "def body(i, h, ta):\n"
            "    h = tf.tanh(tf.matmul(h, W) + b)\n"
            "    return i + 1, h, ta.write(i, h)\n"
            "_, h, ta = tf.while_loop(lambda i, h, ta: i < n, body, [tf.constant(0), x0, ta])\n"
            "hs = ta.stack()\n"
            "last = ta.read(n - 1)\n"
            "loss = tf.reduce_sum(hs * upstream) + tf.reduce_sum(last)\n"
            "dx0, dW, db = tf.gradients(loss, [x0, W, b])\n")
    add(graph_case, "tensor_array_write_stack_n4_2x3", "tensor_array_write_stack",
        "TensorArray of size n (fed) written in a while_loop, then stack() and read(n - 1)",
        code, [Inp("n", np.array(n, I)), Inp("x0", x0), Inp("W", W), Inp("b", bb),
               Inp("upstream", u(rng, n, 2, 3), diff=False)],
        ["hs", "last", "h", "loss", "dx0", "dW", "db"],
        checks=[("loss", None, ["x0", "W", "b"], ["dx0", "dW", "db"])],
        notes="clear_after_read=False: by default a TensorArray element can be read only once, and "
              "stack() counts as reading every element")

    xs = randn(rng, 3, 2, 4)
    h0 = randn(rng, 2, 3)
    U = (rng.randn(4, 3) * 0.5).astype(F)
    W = (rng.randn(3, 3) * 0.5).astype(F)
    code = ("T = tf.shape(xs)[0]\n"
            "xs_ta = tf.TensorArray(xs.dtype, size=T).unstack(xs)\n"
            "def body(t, h, out):\n"
            "    h = tf.tanh(tf.matmul(xs_ta.read(t), U) + tf.matmul(h, W))\n"
            "    return t + 1, h, out.write(t, h)\n"
            "_, h, out = tf.while_loop(lambda t, h, out: t < T, body,\n"
            "                          [tf.constant(0), h0, tf.TensorArray(xs.dtype, size=T)])\n"
            "ys = out.stack()\n"
            "loss = tf.reduce_sum(ys * upstream)\n"
            "dxs, dh0, dU, dW = tf.gradients(loss, [xs, h0, U, W])\n")
    add(graph_case, "tensor_array_unstack_read_3x2x4", "tensor_array_unstack_read",
        "a hand-written RNN: TensorArray.unstack of a time-major input, read(t) in the loop, write/stack "
        "of the outputs; the time dim of the placeholder is unknown",
        code, [Inp("xs", xs, shape=[None, 2, 4]), Inp("h0", h0), Inp("U", U), Inp("W", W),
               Inp("upstream", u(rng, 3, 2, 3), diff=False)],
        ["ys", "h", "loss", "dxs", "dh0", "dU", "dW"],
        checks=[("loss", None, ["xs", "h0", "U", "W"], ["dxs", "dh0", "dU", "dW"])])

    # Second order through a 3-step while_loop.
    x0 = randn(rng, 2, 3)
    W = (rng.randn(3, 3) * 0.6).astype(F)
    v = u(rng, 3, 3)
    code = ("_, h = tf.while_loop(lambda i, h: i < 3,\n"
            "                     lambda i, h: (i + 1, tf.tanh(tf.matmul(h, W))),\n"
            "                     [tf.constant(0), x0])\n"
            "loss = tf.reduce_sum(h * h)\n"
            "gW = tf.gradients(loss, W)[0]\n"
            "gv = tf.reduce_sum(gW * v)\n"
            "hvW, hvx0 = tf.gradients(gv, [W, x0])\n")
    inputs = [Inp("x0", x0), Inp("W", W), Inp("v", v, diff=False)]
    add(graph_error_case, "hvp_while3_tf1_error", "hvp_while_loop",
        "Hessian-vector product through a 3-step tf.while_loop in TF1 (control flow v1): "
        "the second tf.gradients raises", code, inputs,
        notes="TF1's while_loop (control flow v1) cannot be differentiated twice; see hvp_while3_cfv2_2x3 "
              "for the values")
    add(graph_case, "hvp_while3_cfv2_2x3", "hvp_while_loop",
        "Hessian-vector product through a 3-step tf.while_loop: hvW = d<dloss/dW, v>/dW, "
        "hvx0 = d<dloss/dW, v>/dx0 (computed with control flow v2, which TF1 mode lacks)",
        code, inputs, ["h", "loss", "gW", "gv", "hvW", "hvx0"],
        checks=[("loss", None, ["W"], ["gW"]), ("gv", None, ["W", "x0"], ["hvW", "hvx0"])], cfv2=True,
        notes="built after tf.enable_control_flow_v2() (tf.while_loop -> functional While): TF1's control "
              "flow v1 raises 'Second-order gradient for while loops not supported.' (hvp_while3_tf1_error)")
