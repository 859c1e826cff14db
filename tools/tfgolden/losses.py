"""Group "losses": tf.losses.* with weights (scalar / per-example /
per-element, with zeros), every reduction, label smoothing; and the
regularization / total loss collections as a graph case."""

import numpy as np

from common import Inp, graph_case, op_case
from ops_math import randn

F = np.float32
I = np.int32

RED = {
    "NONE": "none",
    "SUM": "weighted_sum",
    "MEAN": "weighted_mean",
    "SUM_OVER_BATCH_SIZE": "weighted_sum_over_batch_size",
    "SUM_BY_NONZERO_WEIGHTS": "weighted_sum_by_nonzero_weights",
}
RED_SHORT = {"NONE": "none", "SUM": "sum", "MEAN": "mean", "SUM_OVER_BATCH_SIZE": "sobs",
             "SUM_BY_NONZERO_WEIGHTS": "sbnzw"}

RED_NOTES = {
    "NONE": "reduction NONE: the weighted per-element losses, unreduced",
    "SUM": "reduction SUM: sum(weights * losses)",
    "MEAN": "reduction MEAN: sum(weights * losses) / sum(weights broadcast to the losses' shape) (0 if that is 0)",
    "SUM_OVER_BATCH_SIZE": "reduction SUM_OVER_BATCH_SIZE: sum(weights * losses) / number of loss elements",
    "SUM_BY_NONZERO_WEIGHTS": "reduction SUM_BY_NONZERO_WEIGHTS (the default): sum(weights * losses) / "
                              "number of nonzero weights broadcast to the losses' shape (0 if none)",
}


def onehot(rng, b, n):
    y = np.zeros((b, n), F)
    y[np.arange(b), rng.randint(0, n, size=b)] = 1.0
    return y


def loss_cases(add, rng, short, op, label_name, pred_name, make, per_example_shape, per_element_ok,
               smoothing=False, extra_attrs=None, extra_name=""):
    """The standard set of cases for one loss.  make() -> (labels, preds)."""
    extra_attrs = dict(extra_attrs or {})

    def case(suffix, weights=None, red=None, ls=None, notes=None):
        labels, preds = make()
        inputs = [Inp(label_name, labels, diff=False), Inp(pred_name, preds)]
        if weights is not None:
            inputs.append(Inp("weights", np.asarray(weights, F), diff=False))
        attrs = dict(extra_attrs)
        if ls is not None:
            attrs["label_smoothing"] = ls
        if red is not None:
            attrs["reduction"] = RED[red]
        n = []
        if red is not None:
            n.append(RED_NOTES[red])
        if notes:
            n.append(notes)
        shape = "x".join(str(d) for d in preds.shape)
        add(op_case, rng, "losses_%s%s_%s_%s" % (short, extra_name, shape, suffix), op, inputs, attrs, rtol=1e-4,
            notes="; ".join(n) if n else None)

    case("default", notes="weights 1.0 (default), reduction SUM_BY_NONZERO_WEIGHTS (default)")
    b = per_example_shape[0]
    for red in ("NONE", "SUM", "MEAN", "SUM_OVER_BATCH_SIZE", "SUM_BY_NONZERO_WEIGHTS"):
        w = rng.uniform(0.5, 2.0, size=per_example_shape).astype(F)
        w.reshape(-1)[1] = 0.0
        case("wex_%s" % RED_SHORT[red], w, red,
             notes="per-example weights of shape %s, one of them 0" % list(per_example_shape))
    case("wscalar_sbnzw", np.array(0.5, F), "SUM_BY_NONZERO_WEIGHTS", notes="scalar weight 0.5 (a tensor input)")
    case("wscalar_mean", np.array(2.5, F), "MEAN", notes="scalar weight 2.5: MEAN divides by 2.5 * count")
    if per_element_ok is not None:
        for red in ("NONE", "MEAN", "SUM_BY_NONZERO_WEIGHTS"):
            w = rng.uniform(0.5, 2.0, size=per_element_ok).astype(F)
            w[rng.rand(*per_element_ok) < 0.3] = 0.0
            case("wel_%s" % RED_SHORT[red], w, red, notes="per-element weights with zeros")
    case("wzero_sbnzw", np.zeros(per_example_shape, F), "SUM_BY_NONZERO_WEIGHTS",
         notes="all weights 0: the loss is 0 (no division by zero) and so is its gradient")
    case("wzero_mean", np.zeros(per_example_shape, F), "MEAN", notes="all weights 0: the loss is 0")
    if smoothing:
        case("ls0.1", ls=0.1, notes="label_smoothing 0.1")
        w = rng.uniform(0.5, 2.0, size=per_example_shape).astype(F)
        case("ls0.2_wex_none", w, "NONE", ls=0.2, notes="label_smoothing 0.2, per-example weights")


def losses(add, rng):
    B, N = 4, 3

    def softmax_data():
        return onehot(rng, B, N), randn(rng, B, N, scale=1.5)

    loss_cases(add, rng, "softmax_ce", "tf.losses.softmax_cross_entropy", "onehot_labels", "logits",
               softmax_data, (B,), None, smoothing=True)

    def sparse_data():
        return rng.randint(0, N, size=B).astype(I), randn(rng, B, N, scale=1.5)

    loss_cases(add, rng, "sparse_softmax_ce", "tf.losses.sparse_softmax_cross_entropy", "labels", "logits",
               sparse_data, (B,), None)

    def sigmoid_data():
        return (rng.rand(B, N) < 0.5).astype(F), randn(rng, B, N, scale=1.5)

    loss_cases(add, rng, "sigmoid_ce", "tf.losses.sigmoid_cross_entropy", "multi_class_labels", "logits",
               sigmoid_data, (B, 1), (B, N), smoothing=True)

    def regression_data():
        return randn(rng, B, N), randn(rng, B, N)

    loss_cases(add, rng, "mse", "tf.losses.mean_squared_error", "labels", "predictions",
               regression_data, (B, 1), (B, N))
    loss_cases(add, rng, "absdiff", "tf.losses.absolute_difference", "labels", "predictions",
               regression_data, (B, 1), (B, N))

    def huber_data():
        # |error| kept away from delta = 1 (where the second derivative jumps):
        # errors in +-[0.05, 0.8] U [1.2, 3].
        labels = randn(rng, B, N)
        mag = np.where(rng.rand(B, N) < 0.5, rng.uniform(0.05, 0.8, (B, N)), rng.uniform(1.2, 3.0, (B, N)))
        return labels, (labels + mag * rng.choice([-1.0, 1.0], (B, N))).astype(F)

    loss_cases(add, rng, "huber", "tf.losses.huber_loss", "labels", "predictions", huber_data, (B, 1), (B, N),
               extra_attrs={"delta": 1.0}, extra_name="_d1")
    labels = randn(rng, B, N)
    preds = (labels + rng.uniform(-1.5, 1.5, (B, N))).astype(F)
    err = np.abs(preds - labels)
    preds = np.where(np.abs(err - 0.5) < 0.05, preds + 0.1, preds).astype(F)
    add(op_case, rng, "losses_huber_d0.5_4x3_sum", "tf.losses.huber_loss",
        [Inp("labels", labels, diff=False), Inp("predictions", preds)],
        {"delta": 0.5, "reduction": RED["SUM"]}, rtol=1e-4,
        notes="huber: 0.5*e^2 if |e| <= delta else delta*|e| - 0.5*delta^2")

    def log_data():
        return (rng.rand(B, N) < 0.5).astype(F), rng.uniform(0.05, 0.95, (B, N)).astype(F)

    loss_cases(add, rng, "log_loss", "tf.losses.log_loss", "labels", "predictions", log_data, (B, 1), (B, N))
    labels, preds = log_data()
    add(op_case, rng, "losses_log_loss_eps0.1_4x3_none", "tf.losses.log_loss",
        [Inp("labels", labels, diff=False), Inp("predictions", preds)],
        {"epsilon": 0.1, "reduction": RED["NONE"]}, rtol=1e-4,
        notes="-y*log(p + epsilon) - (1 - y)*log(1 - p + epsilon)")

    # Regularization losses and the total loss (collections).
    X = randn(rng, 5, 3)
    Y = randn(rng, 5, 2)
    K = (rng.randn(3, 4) * 0.5).astype(F)
    bK = (rng.randn(4) * 0.1).astype(F)
    W = (rng.randn(4, 2) * 0.5).astype(F)
    code = (
        "h = tf.layers.dense(x, 4, activation=tf.nn.tanh,\n"
        "                    kernel_initializer=tf.constant_initializer(init['dense/kernel']),\n"
        "                    bias_initializer=tf.constant_initializer(init['dense/bias']),\n"
        "                    kernel_regularizer=tf.keras.regularizers.l2(0.01))\n"
        "w = tf.get_variable('w', shape=[4, 2], dtype=x.dtype,\n"
        "                    initializer=tf.constant_initializer(init['w']),\n"
        "                    regularizer=lambda t: 0.05 * tf.nn.l2_loss(t))\n"
        "pred = tf.matmul(h, w)\n"
        "data_loss = tf.losses.mean_squared_error(y, pred)\n"
        "reg_losses = tf.losses.get_regularization_losses()\n"
        "reg_loss = tf.losses.get_regularization_loss()\n"
        "total_loss = tf.losses.get_total_loss()\n"
        "var = {v.op.name: v for v in tf.global_variables()}\n"
        "d_kernel, d_bias, d_w = tf.gradients(total_loss, [var['dense/kernel'], var['dense/bias'], var['w']])\n"
        "reg_0, reg_1 = reg_losses\n"
    )
    add(graph_case, "losses_regularization_total_5x3", "regularization_total_loss",
        "l2 regularizers (keras l2(0.01) = 0.01*sum(k^2) on a dense kernel; 0.05*tf.nn.l2_loss(w) = "
        "0.05*sum(w^2)/2 on a get_variable) land in the REGULARIZATION_LOSSES collection; "
        "get_regularization_loss() is their sum, get_total_loss() = LOSSES (the mse) + regularization",
        code, [Inp("x", X, diff=False), Inp("y", Y, diff=False)],
        ["pred", "data_loss", "reg_0", "reg_1", "reg_loss", "total_loss", "d_kernel", "d_bias", "d_w"],
        checks=[("total_loss", None, ["dense/kernel", "dense/bias", "w"], ["d_kernel", "d_bias", "d_w"])],
        variables={"dense/kernel": K, "dense/bias": bK, "w": W}, record_collections=True, fd32=True)
