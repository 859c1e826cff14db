"""Group "layers": tf.layers.* as graph cases whose weights are recorded
values (constant initializers, and loaded again after the initializer), with
the variable names/collections TF created, outputs, gradients w.r.t. the
input and every trainable variable, and for batch normalization the moving
statistics after running UPDATE_OPS once."""

import numpy as np

from common import Inp, graph_case, problem, tf
from ops_math import randn

F = np.float32


def ident(var_name):
    return "d_" + var_name.replace("/", "_")


def out_shape(layer_src, x, init, extra_inputs=()):
    g = tf.Graph()
    with g.as_default():
        ns = {"tf": tf, "np": np, "init": init, "x": tf.placeholder(tf.float32, x.shape)}
        for inp in extra_inputs:
            ns[inp.name] = inp.placeholder()
        exec("y = " + layer_src, ns)
        return ns["y"].shape.as_list()


def layer_case(rng, name, family, description, layer_src, x, variables, trainable, *,
               notes=None, bn=None, extra_inputs=()):
    """layer_src: the layer call (Python source, may use init[...] and x).
    variables: {name: value} of every variable the layer creates, in TF's
    creation order; trainable: the names whose gradients are taken."""
    ys = out_shape(layer_src, x, variables, extra_inputs)
    up = rng.uniform(-1, 1, size=ys).astype(F)
    grads = ["dx"] + [ident(v) for v in trainable]
    code = "y = %s\nloss = tf.reduce_sum(y * upstream)\n" % layer_src
    if bn is not None:
        code += "update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n"
    if trainable:
        code += "var = {v.op.name: v for v in tf.global_variables()}\n"
        code += "%s = tf.gradients(loss, [x, %s])\n" % (
            ", ".join(grads), ", ".join("var[%r]" % v for v in trainable))
    else:
        code += "dx = tf.gradients(loss, x)[0]\n"
    inputs = [Inp("x", x)] + list(extra_inputs) + [Inp("upstream", up, diff=False)]
    case = graph_case(name, family, description, code, inputs, ["y", "loss"] + grads,
                      checks=[("loss", None, ["x"] + list(trainable), grads)],
                      variables=variables, post_update_ops=bn is not None and bn.get("training", False),
                      notes=notes, rtol=1e-4)
    if bn is not None and bn.get("training"):
        # Which variance feeds the moving average (biased or Bessel-corrected)?
        axes = tuple(a for a in range(x.ndim) if a != bn["axis"] % x.ndim)
        x64 = x.astype(np.float64)
        n = np.prod([x.shape[a] for a in axes])
        mean = x64.mean(axis=axes)
        var = x64.var(axis=axes)
        m = bn["momentum"]
        pre = bn["prefix"]
        after = case["variables_after_update_ops"]
        got_mean = np.array(after[pre + "/moving_mean"]["data"])
        got_var = np.array(after[pre + "/moving_variance"]["data"])
        mm0 = variables[pre + "/moving_mean"].astype(np.float64)
        mv0 = variables[pre + "/moving_variance"].astype(np.float64)
        if not np.allclose(got_mean, m * mm0 + (1 - m) * mean, rtol=1e-4, atol=1e-5):
            problem("%s: moving_mean is not momentum * old + (1 - momentum) * batch mean" % name)
        biased = m * mv0 + (1 - m) * var
        unbiased = m * mv0 + (1 - m) * var * n / (n - 1)
        if np.allclose(got_var, unbiased, rtol=1e-4, atol=1e-5):
            which = ("the Bessel-corrected (unbiased, * N/(N-1), N = %d) batch variance, while the normalization "
                     "itself uses the biased one" % n)
        elif np.allclose(got_var, biased, rtol=1e-4, atol=1e-5):
            which = "the biased (divide by N = %d) batch variance, the same one the normalization uses" % n
        else:
            which = None
            problem("%s: moving_variance matches neither the biased nor the unbiased update" % name)
        if which:
            extra = ("variables_after_update_ops: after one sess.run(update_ops): moving_mean = momentum * "
                     "moving_mean + (1 - momentum) * batch_mean; moving_variance uses " + which)
            case["notes"] = extra if not case.get("notes") else case["notes"] + "; " + extra
    return case


def ci(name):
    return "tf.constant_initializer(init[%r])" % name


def layers(add, rng):
    # ---- dense
    K = (rng.randn(3, 5) * 0.5).astype(F)
    b = (rng.randn(5) * 0.2).astype(F)
    add(layer_case, rng, "layers_dense_relu_4x3_5", "layers_dense", "tf.layers.dense with relu",
        "tf.layers.dense(x, 5, activation=tf.nn.relu, kernel_initializer=%s, bias_initializer=%s)"
        % (ci("dense/kernel"), ci("dense/bias")),
        randn(rng, 4, 3), {"dense/kernel": K, "dense/bias": b}, ["dense/kernel", "dense/bias"],
        notes="kernel [in, units]; y = relu(x @ kernel + bias)")
    add(layer_case, rng, "layers_dense_nobias_3x4_2", "layers_dense", "tf.layers.dense, use_bias=False",
        "tf.layers.dense(x, 2, use_bias=False, kernel_initializer=%s)" % ci("dense/kernel"),
        randn(rng, 3, 4), {"dense/kernel": (rng.randn(4, 2) * 0.5).astype(F)}, ["dense/kernel"],
        notes="no bias variable is created")
    add(layer_case, rng, "layers_dense_tanh_2x3x4_3", "layers_dense", "tf.layers.dense on a rank-3 input",
        "tf.layers.dense(x, 3, activation=tf.nn.tanh, kernel_initializer=%s, bias_initializer=%s)"
        % (ci("dense/kernel"), ci("dense/bias")),
        randn(rng, 2, 3, 4), {"dense/kernel": (rng.randn(4, 3) * 0.5).astype(F),
                              "dense/bias": (rng.randn(3) * 0.2).astype(F)},
        ["dense/kernel", "dense/bias"], notes="rank-3 input: the kernel applies to the last axis (tensordot)")
    add(layer_case, rng, "layers_dense_named_4x3_2", "layers_dense", "tf.layers.dense with name='fc1'",
        "tf.layers.dense(x, 2, name='fc1', kernel_initializer=%s, bias_initializer=%s)"
        % (ci("fc1/kernel"), ci("fc1/bias")),
        randn(rng, 4, 3), {"fc1/kernel": (rng.randn(3, 2) * 0.5).astype(F), "fc1/bias": (rng.randn(2) * 0.2).astype(F)},
        ["fc1/kernel", "fc1/bias"], notes="variables named <name>/kernel, <name>/bias")

    # ---- conv2d
    add(layer_case, rng, "layers_conv2d_2x6x6x2_f3_k3_s2_same_relu", "layers_conv2d",
        "tf.layers.conv2d, strides 2, padding 'same', relu, channels_last",
        "tf.layers.conv2d(x, 3, 3, strides=2, padding='same', activation=tf.nn.relu, data_format='channels_last', "
        "kernel_initializer=%s, bias_initializer=%s)" % (ci("conv2d/kernel"), ci("conv2d/bias")),
        randn(rng, 2, 6, 6, 2), {"conv2d/kernel": (rng.randn(3, 3, 2, 3) * 0.4).astype(F),
                                 "conv2d/bias": (rng.randn(3) * 0.2).astype(F)},
        ["conv2d/kernel", "conv2d/bias"], notes="kernel [kh, kw, in, filters]")
    add(layer_case, rng, "layers_conv2d_1x5x6x3_f2_k2x3_valid_tanh_nobias", "layers_conv2d",
        "tf.layers.conv2d, non-square kernel, 'valid', tanh, use_bias=False",
        "tf.layers.conv2d(x, 2, (2, 3), padding='valid', activation=tf.nn.tanh, use_bias=False, "
        "kernel_initializer=%s)" % ci("conv2d/kernel"),
        randn(rng, 1, 5, 6, 3), {"conv2d/kernel": (rng.randn(2, 3, 3, 2) * 0.4).astype(F)}, ["conv2d/kernel"])
    add(layer_case, rng, "layers_conv2d_1x7x7x1_f2_k3_s2x1_same", "layers_conv2d",
        "tf.layers.conv2d, strides (2, 1), 'same' (odd input: asymmetric padding)",
        "tf.layers.conv2d(x, 2, 3, strides=(2, 1), padding='same', kernel_initializer=%s, bias_initializer=%s)"
        % (ci("conv2d/kernel"), ci("conv2d/bias")),
        randn(rng, 1, 7, 7, 1), {"conv2d/kernel": (rng.randn(3, 3, 1, 2) * 0.4).astype(F),
                                 "conv2d/bias": (rng.randn(2) * 0.2).astype(F)},
        ["conv2d/kernel", "conv2d/bias"])

    # ---- conv2d_transpose
    add(layer_case, rng, "layers_conv2d_transpose_1x3x3x2_f3_k3_s2_same", "layers_conv2d_transpose",
        "tf.layers.conv2d_transpose, strides 2, 'same': output 2x the input size",
        "tf.layers.conv2d_transpose(x, 3, 3, strides=2, padding='same', kernel_initializer=%s, "
        "bias_initializer=%s)" % (ci("conv2d_transpose/kernel"), ci("conv2d_transpose/bias")),
        randn(rng, 1, 3, 3, 2), {"conv2d_transpose/kernel": (rng.randn(3, 3, 3, 2) * 0.4).astype(F),
                                 "conv2d_transpose/bias": (rng.randn(3) * 0.2).astype(F)},
        ["conv2d_transpose/kernel", "conv2d_transpose/bias"],
        notes="kernel [kh, kw, filters(out), in]; 'same' output size = in * stride")
    add(layer_case, rng, "layers_conv2d_transpose_2x3x2x2_f2_k2_s1_valid_relu", "layers_conv2d_transpose",
        "tf.layers.conv2d_transpose, strides 1, 'valid', relu",
        "tf.layers.conv2d_transpose(x, 2, 2, strides=1, padding='valid', activation=tf.nn.relu, "
        "kernel_initializer=%s, bias_initializer=%s)" % (ci("conv2d_transpose/kernel"), ci("conv2d_transpose/bias")),
        randn(rng, 2, 3, 2, 2), {"conv2d_transpose/kernel": (rng.randn(2, 2, 2, 2) * 0.4).astype(F),
                                 "conv2d_transpose/bias": (rng.randn(2) * 0.2).astype(F)},
        ["conv2d_transpose/kernel", "conv2d_transpose/bias"],
        notes="'valid' output size = (in - 1) * stride + kernel")
    add(layer_case, rng, "layers_conv2d_transpose_1x2x2x1_f2_k3_s2_valid", "layers_conv2d_transpose",
        "tf.layers.conv2d_transpose, strides 2, 'valid'",
        "tf.layers.conv2d_transpose(x, 2, 3, strides=2, padding='valid', kernel_initializer=%s, "
        "bias_initializer=%s)" % (ci("conv2d_transpose/kernel"), ci("conv2d_transpose/bias")),
        randn(rng, 1, 2, 2, 1), {"conv2d_transpose/kernel": (rng.randn(3, 3, 2, 1) * 0.4).astype(F),
                                 "conv2d_transpose/bias": (rng.randn(2) * 0.2).astype(F)},
        ["conv2d_transpose/kernel", "conv2d_transpose/bias"])

    # ---- pooling, flatten, dropout (no variables)
    add(layer_case, rng, "layers_max_pooling2d_2x4x4x3_p2_s2", "layers_max_pooling2d",
        "tf.layers.max_pooling2d, pool 2, strides 2, 'valid'",
        "tf.layers.max_pooling2d(x, 2, 2)", randn(rng, 2, 4, 4, 3), {}, [])
    add(layer_case, rng, "layers_max_pooling2d_1x5x5x2_p3_s2_same", "layers_max_pooling2d",
        "tf.layers.max_pooling2d, pool 3, strides 2, 'same'",
        "tf.layers.max_pooling2d(x, 3, 2, padding='same')", randn(rng, 1, 5, 5, 2), {}, [])
    add(layer_case, rng, "layers_average_pooling2d_2x4x4x2_p2_s2", "layers_average_pooling2d",
        "tf.layers.average_pooling2d, pool 2, strides 2",
        "tf.layers.average_pooling2d(x, 2, 2)", randn(rng, 2, 4, 4, 2), {}, [])
    add(layer_case, rng, "layers_average_pooling2d_1x5x5x1_p3_s2_same", "layers_average_pooling2d",
        "tf.layers.average_pooling2d, pool 3, strides 2, 'same' (divides by in-bounds count)",
        "tf.layers.average_pooling2d(x, 3, 2, padding='same')", randn(rng, 1, 5, 5, 1), {}, [])
    add(layer_case, rng, "layers_flatten_2x3x2x2", "layers_flatten", "tf.layers.flatten",
        "tf.layers.flatten(x)", randn(rng, 2, 3, 2, 2), {}, [], notes="[batch, rest] in row-major order")
    add(layer_case, rng, "layers_dropout_eval_3x4", "layers_dropout", "tf.layers.dropout with training=False",
        "tf.layers.dropout(x, rate=0.5, training=False)", randn(rng, 3, 4), {}, [],
        notes="training=False: identity (no scaling)")

    # ---- batch normalization
    def bn_vars(c, center=True, scale=True, prefix="batch_normalization"):
        v = {}
        if scale:
            v[prefix + "/gamma"] = rng.uniform(0.5, 1.5, c).astype(F)
        if center:
            v[prefix + "/beta"] = (rng.randn(c) * 0.3).astype(F)
        v[prefix + "/moving_mean"] = (rng.randn(c) * 0.2).astype(F)
        v[prefix + "/moving_variance"] = rng.uniform(0.5, 1.5, c).astype(F)
        return v

    def bn_src(axis, momentum, eps, training, variables, center=True, scale=True, prefix="batch_normalization",
               extra=""):
        parts = ["x", "axis=%d" % axis, "momentum=%r" % momentum, "epsilon=%r" % eps]
        if not center:
            parts.append("center=False")
        if not scale:
            parts.append("scale=False")
        parts.append("training=%s" % training)
        if extra:
            parts.append(extra)
        for short in ("beta", "gamma", "moving_mean", "moving_variance"):
            n = prefix + "/" + short
            if n in variables:
                parts.append("%s_initializer=%s" % (short, ci(n)))
        return "tf.layers.batch_normalization(%s)" % ", ".join(parts)

    def trainables(v):
        return [n for n in v if n.endswith("/gamma") or n.endswith("/beta")]

    for name, shape, axis, mom, eps, center, scale, desc in (
        ("layers_batch_norm_train_6x3", (6, 3), -1, 0.9, 0.001, True, True,
         "training mode, 2-D input, axis=-1 (not fused)"),
        ("layers_batch_norm_train_2x3x3x4", (2, 3, 3, 4), -1, 0.8, 0.01, True, True,
         "training mode, 4-D NHWC input, axis=-1 (fused kernel in float32)"),
        ("layers_batch_norm_train_nchw_2x3x2x2", (2, 3, 2, 2), 1, 0.95, 0.001, True, True,
         "training mode, 4-D NCHW-like input, axis=1"),
        ("layers_batch_norm_train_nocenter_noscale_5x3", (5, 3), -1, 0.99, 0.001, False, False,
         "training mode, center=False, scale=False: only the moving statistics are variables"),
        ("layers_batch_norm_train_noscale_4x2x2x3", (4, 2, 2, 3), 3, 0.9, 0.0001, True, False,
         "training mode, scale=False, axis=3"),
    ):
        c = shape[axis]
        v = bn_vars(c, center, scale)
        add(layer_case, rng, name, "layers_batch_norm", "tf.layers.batch_normalization, " + desc,
            bn_src(axis, mom, eps, True, v, center, scale), randn(rng, *shape, scale=1.5) + 0.5, v, trainables(v),
            bn={"training": True, "axis": axis, "momentum": mom, "prefix": "batch_normalization"},
            notes="y = gamma * (x - batch_mean) / sqrt(batch_var + epsilon) + beta over all axes but `axis` "
                  "(biased batch variance); gradients flow through the batch statistics")
    for name, shape, axis, eps, desc in (
        ("layers_batch_norm_infer_4x3", (4, 3), -1, 0.001, "inference mode (training=False), 2-D"),
        ("layers_batch_norm_infer_nchw_2x3x2x2", (2, 3, 2, 2), 1, 0.01, "inference mode, axis=1"),
    ):
        c = shape[axis]
        v = bn_vars(c)
        add(layer_case, rng, name, "layers_batch_norm", "tf.layers.batch_normalization, " + desc,
            bn_src(axis, 0.9, eps, False, v), randn(rng, *shape), v, trainables(v),
            bn={"training": False},
            notes="training=False: y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta")
    v = bn_vars(3)
    add(layer_case, rng, "layers_batch_norm_train_fed_flag_4x3", "layers_batch_norm",
        "tf.layers.batch_normalization with training given by a fed bool placeholder (fed True)",
        bn_src(-1, 0.9, 0.001, "is_training", v), randn(rng, 4, 3), v, trainables(v),
        bn={"training": True, "axis": -1, "momentum": 0.9, "prefix": "batch_normalization"},
        extra_inputs=[Inp("is_training", np.array(True))],
        notes="training is a bool scalar placeholder (TF builds both branches with tf.cond)")
