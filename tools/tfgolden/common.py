"""Shared machinery of the golden-case generator.

One helper each for: encoding a tensor (`enc`), building/running a graph in
TF1 mode (`session`), the float64 finite-difference check (`fd_check`), the
tolerances (`tolerance`), and the case records (`op_case`, `graph_case`,
`names_case`).  Every group module only describes its cases and calls these.
"""

import os

# Must be set before TensorFlow is imported (generate.py imports us first).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# tf.compat.v1.layers and tf.nn.rnn_cell need the Keras 2 package (tf-keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")
import tensorflow.compat.v1 as tf  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
tf.disable_v2_behavior()

TF_VERSION = tf.version.VERSION

CONFIG = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)

FLOATS = ("float32", "float64")

# Problems found while generating (printed at the end, and make the run fail).
PROBLEMS = []
# Warnings that do not invalidate a case (float32 vs float64 spread, ...).
WARNINGS = []
STATS = {"fd_checked": 0, "fd_skipped": 0, "no_grad": 0}


def problem(msg):
    PROBLEMS.append(msg)
    print("PROBLEM:", msg, file=sys.stderr)


def warn(msg):
    WARNINGS.append(msg)


def session(graph):
    return tf.Session(graph=graph, config=CONFIG)


# ---------------------------------------------------------------- tensors

def dtype_name(a):
    a = np.asarray(a)
    n = a.dtype.name
    if n not in ("float32", "float64", "int32", "int64", "bool"):
        raise ValueError("unsupported dtype %s" % n)
    return n


def enc(a):
    """A numpy array (or scalar) as a FORMAT.md tensor."""
    a = np.asarray(a)
    dt = dtype_name(a)
    flat = a.reshape(-1)
    if dt in FLOATS:
        data = [float(v) for v in flat.astype(np.float64)]
        for v in data:
            if not math.isfinite(v):
                raise ValueError("non-finite value in tensor")
    elif dt == "bool":
        data = [bool(v) for v in flat]
    else:
        data = [int(v) for v in flat]
    return {"dtype": dt, "shape": [int(d) for d in a.shape], "data": data}


def to64(a):
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype == np.float32 else a


def is_float(a):
    return np.asarray(a).dtype.name in FLOATS


def max_abs(arrays):
    m = 0.0
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a)
        if a.dtype.name in FLOATS and a.size:
            m = max(m, float(np.max(np.abs(a.astype(np.float64)))))
    return m


def round_up3(x):
    """x rounded up to 3 significant digits (a short, exact-enough decimal)."""
    if x <= 0:
        return x
    e = math.floor(math.log10(x))
    unit = 10.0 ** (e - 2)
    m = math.ceil(x / unit - 1e-9)
    return float("%.2e" % (m * unit))


def tolerance(rtol, golden_arrays):
    """(rtol, atol) with atol = rtol/10 * max(1, largest |golden value|)."""
    return rtol, round_up3(rtol / 10.0 * max(1.0, max_abs(golden_arrays)))


def close(got, want, rtol, atol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    return bool(np.all(np.abs(got - want) <= atol + rtol * np.abs(want)))


def densify(t):
    if t is None:
        return None
    if isinstance(t, tf.IndexedSlices):
        return tf.convert_to_tensor(t)
    return t


def tf_dtype(name):
    return tf.as_dtype(name)


# ---------------------------------------------------------------- python spelling

DTYPE_KEYS = ("dtype", "output_type", "out_type")


def py_attr(key, v):
    """JSON attr value -> the Python value passed to TF."""
    if key in DTYPE_KEYS and isinstance(v, str):
        return tf_dtype(v)
    if key == "ord" and v == "inf":
        return np.inf
    return v


REDUCTION_NAMES = {
    "none": "tf.losses.Reduction.NONE",
    "weighted_sum": "tf.losses.Reduction.SUM",
    "weighted_mean": "tf.losses.Reduction.MEAN",
    "weighted_sum_over_batch_size": "tf.losses.Reduction.SUM_OVER_BATCH_SIZE",
    "weighted_sum_by_nonzero_weights": "tf.losses.Reduction.SUM_BY_NONZERO_WEIGHTS",
}


def py_src(key, v):
    """JSON attr value -> its Python source spelling in `expr`."""
    if key in DTYPE_KEYS and isinstance(v, str):
        return "tf." + v
    if key == "ord" and v == "inf":
        return "np.inf"
    if key == "reduction":
        return REDUCTION_NAMES[v]
    return repr(v)


def default_expr(op, input_names, attrs):
    parts = []
    vals = [n for n in input_names if n.startswith("values_")]
    if vals:
        parts.append("[" + ", ".join(vals) + "]")
    parts += [n for n in input_names if not n.startswith("values_")]
    parts += ["%s=%s" % (k, py_src(k, v)) for k, v in attrs.items()]
    return "%s(%s)" % (op, ", ".join(parts))


def resolve(op):
    obj = tf
    for part in op.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def default_call(op):
    fn = resolve(op)

    def call(xs, names, attrs):
        kw = {k: py_attr(k, v) for k, v in attrs.items()}
        vals = [x for x, n in zip(xs, names) if n.startswith("values_")]
        rest = [x for x, n in zip(xs, names) if not n.startswith("values_")]
        if vals:
            return fn(vals, *rest, **kw)
        return fn(*rest, **kw)

    return call


# ---------------------------------------------------------------- inputs

class Inp:
    """One case input: name, value, differentiable, and optionally the static
    shape of its placeholder (None entries = unknown dims; "unknown" = shape=None)."""

    def __init__(self, name, value, diff=None, shape="value"):
        self.name = name
        self.value = np.asarray(value)
        self.diff = is_float(self.value) if diff is None else diff
        self.shape = shape

    def placeholder(self, as64=False):
        v = to64(self.value) if as64 else self.value
        if self.shape == "value":
            shape = list(v.shape)
        elif self.shape == "unknown":
            shape = None
        else:
            shape = self.shape
        return tf.placeholder(tf_dtype(v.dtype.name), shape, name=self.name)

    def record(self):
        r = {"name": self.name, "value": enc(self.value), "differentiable": bool(self.diff)}
        if self.shape != "value":
            r["placeholder_shape"] = None if self.shape == "unknown" else list(self.shape)
        return r


def flatten_outputs(out):
    """(list of tensors, was_multi)."""
    if isinstance(out, (list, tuple)):
        return [tf.convert_to_tensor(o) for o in out], True
    return [out], False


# ---------------------------------------------------------------- finite differences

FD_EPS64 = 1e-5
FD_EPS32 = 1e-2


def numeric_gradient(eval_f, value, eps, set_value, richardson=False):
    """Central differences of eval_f() w.r.t. each element of `value`;
    set_value(arr) installs a perturbed array.  The step actually taken is
    measured after rounding to value's dtype.  richardson: combine steps h and
    h/2 (error O(h^4)), for float32 evaluations where h must stay large."""
    base = np.array(value, dtype=value.dtype, copy=True)
    grad = np.zeros(base.shape, dtype=np.float64)
    flat = base.reshape(-1)
    gflat = grad.reshape(-1)

    def central(j, h):
        orig = flat[j]
        flat[j] = orig + h
        up = float(flat[j])
        set_value(base)
        fp = eval_f()
        flat[j] = orig - h
        down = float(flat[j])
        set_value(base)
        fm = eval_f()
        flat[j] = orig
        return (fp - fm) / (up - down)

    for j in range(flat.size):
        if richardson:
            gflat[j] = (4.0 * central(j, eps / 2) - central(j, eps)) / 3.0
        else:
            gflat[j] = central(j, eps)
    set_value(base)
    return grad


def fd_compare(what, analytic, numeric, f_scale, tol_factor):
    """|analytic - numeric| <= tol * max(1, |f|, max|numeric|, max|analytic|)."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    scale = max(1.0, abs(f_scale), max_abs([a, n]))
    err = float(np.max(np.abs(a - n))) if a.size else 0.0
    if err > tol_factor * scale:
        return "%s: max |analytic - numeric| = %.3g > %.3g" % (what, err, tol_factor * scale)
    return None


# ---------------------------------------------------------------- kind "op"

def _run_op(op_call, inputs, attrs, as64, gys=None, want_grads=True):
    """Builds and runs one op.  Returns dict with outputs, grads, and (if gys
    is given) the session/placeholders/loss for finite differences."""
    g = tf.Graph()
    with g.as_default():
        phs = [i.placeholder(as64) for i in inputs]
        names = [i.name for i in inputs]
        out = op_call(phs, names, attrs)
        outs, multi = flatten_outputs(out)
        feeds = {p: (to64(i.value) if as64 else i.value) for p, i in zip(phs, inputs)}
        diff = [k for k, i in enumerate(inputs) if i.diff]
        float_outs = [k for k, o in enumerate(outs) if o.dtype.is_floating]
        res = {"multi": multi}
        gy_phs = None
        if want_grads and diff and float_outs:
            gy_phs = {}
            for k in float_outs:
                gy_phs[k] = tf.placeholder(outs[k].dtype, outs[k].shape, name="grad_ys_%d" % k)
            grads = tf.gradients([outs[k] for k in float_outs], [phs[k] for k in diff],
                                 grad_ys=[gy_phs[k] for k in float_outs])
            grads = [densify(t) for t in grads]
            loss = tf.add_n([tf.reduce_sum(tf.cast(outs[k], tf.float64) * tf.cast(gy_phs[k], tf.float64))
                             for k in float_outs])
        sess = session(g)
        out_vals = sess.run(outs, feeds)
        res["outputs"] = out_vals
        if gy_phs is not None:
            if gys is None:
                raise RuntimeError("grad_ys must be given")
            for k in float_outs:
                feeds[gy_phs[k]] = gys[k].astype(out_vals[k].dtype)
            fetch = [t for t in grads if t is not None]
            vals = sess.run(fetch, feeds) if fetch else []
            it = iter(vals)
            res["grads"] = {inputs[k].name: (None if t is None else next(it)) for k, t in zip(diff, grads)}
            res["fd"] = (sess, feeds, phs, loss, diff)
        else:
            sess.close()
        return res


def make_grad_ys(rng, out_vals):
    gys = []
    for o in out_vals:
        o = np.asarray(o)
        if o.dtype.name in FLOATS:
            gys.append(rng.uniform(-1.0, 1.0, size=o.shape).astype(o.dtype))
        else:
            gys.append(None)
    return gys


def op_case(rng, name, op, inputs, attrs=None, *, call=None, expr=None, rtol=1e-5,
            fd=True, notes=None, extra=None, fd32=False, grad_call=None):
    """One kind-"op" case.  `inputs` is a list of Inp; `attrs` JSON-able.

    fd: True -> float64 finite-difference check; False -> deliberately on a
    kink (record TF's convention, fd_checked false); fd32 -> the op has no
    float64 kernel: finite differences in float32 with a looser tolerance.
    grad_call: an equivalent formulation used for the gradients (and the fd
    check) when TF cannot differentiate `op` itself; its forward output is
    checked against op's."""
    attrs = dict(attrs or {})
    fwd_call = call or default_call(op)
    op_call = grad_call or fwd_call
    names = [i.name for i in inputs]
    r32 = _run_op(fwd_call, inputs, attrs, as64=False, want_grads=False)
    out_vals = [np.asarray(o) for o in r32["outputs"]]
    has_diff = any(i.diff for i in inputs) and any(o.dtype.name in FLOATS for o in out_vals)
    if not any(o.dtype.name in FLOATS for o in out_vals):
        for i in inputs:  # nothing to differentiate (bool/int outputs)
            i.diff = False
    case = {"name": name, "kind": "op", "op": op,
            "expr": expr or default_expr(op, names, attrs), "attrs": attrs,
            "inputs": [i.record() for i in inputs]}
    golden = list(out_vals)
    if r32["multi"]:
        case["outputs"] = [enc(o) for o in out_vals]
    else:
        case["output"] = enc(out_vals[0])
    if has_diff:
        gys = make_grad_ys(rng, out_vals)
        r32 = _run_op(op_call, inputs, attrs, as64=False, gys=gys)
        r32["fd"][0].close()
        if grad_call is not None:
            for a, b in zip(out_vals, r32["outputs"]):
                if not close(b, a, *tolerance(rtol, out_vals)):
                    problem("%s: grad_call's output differs from the op's" % name)
        grads = r32["grads"]
        golden += [v for v in grads.values() if v is not None]
        if r32["multi"]:
            case["grad_ys"] = [None if gy is None else enc(gy) for gy in gys]
        else:
            case["grad_ys"] = enc(gys[0])
        case["grads"] = {k: (None if v is None else enc(v)) for k, v in grads.items()}
    rtol, atol = tolerance(rtol, golden)
    case["rtol"] = rtol
    case["atol"] = atol
    if has_diff:
        if fd and all(v is not None for v in grads.values()):
            if not fd32 and _computes_in_f32(op_call, inputs, attrs):
                fd32 = True
                notes = (notes + "; " if notes else "") + \
                    "TF computes this op in float32 even for float64 inputs (tf.losses casts to float32)"
            err = _op_fd(op_call, inputs, attrs, gys, grads, out_vals, rtol, atol, name, fd32)
            if err:
                problem("%s: finite-difference check failed: %s" % (name, err))
            case["fd_checked"] = True
            STATS["fd_checked"] += 1
        else:
            case["fd_checked"] = False
            STATS["fd_skipped"] += 1
    elif any(i.diff for i in inputs):
        STATS["no_grad"] += 1
    if fd32 and has_diff and fd:
        notes = (notes + "; " if notes else "") + \
            "finite differences checked in float32 (Richardson, h 1e-2, tol 1e-3): no float64 computation in TF"
    if notes:
        case["notes"] = notes
    if extra:
        case.update(extra)
    return case


def _computes_in_f32(op_call, inputs, attrs):
    """True if the float64 rebuild casts float64 values down to float32 inside."""
    g = tf.Graph()
    with g.as_default():
        phs = [i.placeholder(True) for i in inputs]
        op_call(phs, [i.name for i in inputs], attrs)
    return any(op.type == "Cast" and op.inputs[0].dtype == tf.float64 and op.outputs[0].dtype == tf.float32
               for op in g.get_operations())


def _op_fd(op_call, inputs, attrs, gys, grads32, out32, rtol, atol, name, fd32):
    as64 = not fd32
    gys_fd = [None if gy is None else (to64(gy) if as64 else gy) for gy in gys]
    r = _run_op(op_call, inputs, attrs, as64=as64, gys=gys_fd)
    sess, feeds, phs, loss, diff = r["fd"]
    errs = []
    try:
        # float32 golden vs the float64 rebuild, at the case's tolerance.
        if as64:
            for k, (a, b) in enumerate(zip(out32, r["outputs"])):
                if is_float(a) and not close(a, b, rtol, atol):
                    warn("%s: float32 output %d differs from float64 beyond tolerance" % (name, k))
            for n, v in grads32.items():
                if v is not None and not close(v, r["grads"][n], rtol, atol):
                    warn("%s: float32 grad %s differs from float64 beyond tolerance" % (name, n))
        f0 = float(sess.run(loss, feeds))
        for k in diff:
            ph = phs[k]
            inp = inputs[k]

            def set_value(arr, ph=ph):
                feeds[ph] = arr

            def eval_f():
                return float(sess.run(loss, feeds))

            base = feeds[ph]
            num = numeric_gradient(eval_f, np.array(base), FD_EPS32 if fd32 else FD_EPS64, set_value, fd32)
            feeds[ph] = base
            e = fd_compare(inp.name, r["grads"][inp.name], num, f0, 1e-3 if fd32 else 1e-6)
            if e:
                errs.append(e)
    finally:
        sess.close()
    return "; ".join(errs)


def op_error_message(e):
    """The kernel's own message of a TF run-time error (the line before the
    '[[{{node ...}}]]' marker), else the first line."""
    lines = str(getattr(e, "message", e)).splitlines()
    for k, line in enumerate(lines):
        if line.strip().startswith("[[") and k > 0 and lines[k - 1].strip():
            return lines[k - 1].strip()
    return lines[0].strip() if lines else ""


def op_error_case(name, op, inputs, attrs=None, *, notes=None, expr=None):
    """A kind-"op" case that TF rejects (building the op, or running it):
    records `raises` (exception class name and the message's first line, for
    a kernel error the kernel's own message) instead of outputs."""
    attrs = dict(attrs or {})
    for i in inputs:
        i.diff = False
    try:
        _run_op(default_call(op), inputs, attrs, as64=False, want_grads=False)
    except (tf.errors.OpError, ValueError, TypeError) as e:
        case = {"name": name, "kind": "op", "op": op,
                "expr": expr or default_expr(op, [i.name for i in inputs], attrs), "attrs": attrs,
                "inputs": [i.record() for i in inputs],
                "raises": {"type": type(e).__name__, "first_line": op_error_message(e)}}
        if notes:
            case["notes"] = notes
        return case
    problem("%s: expected a run-time error, none raised" % name)
    return None


# ---------------------------------------------------------------- kind "graph"

def var_map():
    return {v.op.name: v for v in tf.global_variables()}


def collections_of(graph, keys=None):
    """{collection key: [names]} for the graph's collections holding variables or ops."""
    out = {}
    for key in sorted(graph.get_all_collection_keys()):
        if keys is not None and key not in keys:
            continue
        items = graph.get_collection(key)
        names = []
        for it in items:
            if isinstance(it, tf.Variable):
                names.append(it.op.name)
            elif isinstance(it, tf.Operation):
                names.append(it.name)
            elif isinstance(it, tf.Tensor):
                names.append(it.name)
            else:
                names = None
                break
        if names is not None and names:
            out[key] = names
    return out


def _build_graph(code, inputs, variables, as64, cfv2):
    g = tf.Graph()
    if cfv2:
        tf.enable_control_flow_v2()
    try:
        with g.as_default():
            phs = {i.name: i.placeholder(as64) for i in inputs}
            init = {k: (to64(v) if as64 else np.asarray(v)) for k, v in (variables or {}).items()}
            ns = {"tf": tf, "np": np, "init": init}
            ns.update(phs)
            exec(compile(code, "<case>", "exec"), ns)
    finally:
        if cfv2:
            tf.disable_control_flow_v2()
    return g, phs, ns, init


def _start(g, phs, inputs, init, as64):
    with g.as_default():
        vm = var_map()
        init_op = tf.global_variables_initializer() if vm else None
    sess = session(g)
    if init_op is not None:
        sess.run(init_op)
    missing = sorted(set(vm) - set(init))
    if missing:
        raise RuntimeError("variables without recorded values: %s" % missing)
    for n, v in init.items():
        vm[n].load(v, sess)
    feeds = {phs[i.name]: (to64(i.value) if as64 else i.value) for i in inputs}
    return sess, feeds, vm


def graph_case(name, family, description, code, inputs, outputs, *, checks=(),
               variables=None, rtol=1e-4, fd=True, notes=None, post_update_ops=False,
               record_collections=False, cfv2=False, extra=None, fd32=False):
    """One kind-"graph" case.  `outputs`: names (Python variables of `code`) to
    record.  `checks`: (f, weight_input_or_None, [wrt names], [grad output names]);
    wrt names are input names or variable names.  `variables`: {variable name:
    initial value}, loaded after tf.global_variables_initializer()."""
    g, phs, ns, init = _build_graph(code, inputs, variables, False, cfv2)
    sess, feeds, vm = _start(g, phs, inputs, init, False)
    try:
        fetch = [ns[o] for o in outputs]
        vals = sess.run(fetch, feeds)
        vals = [np.asarray(v) for v in vals]
        after = None
        if post_update_ops:
            with g.as_default():
                ups = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            sess.run(ups, feeds)
            after = {n: np.asarray(sess.run(vm[n])) for n in sorted(vm)}
        with g.as_default():
            cols = collections_of(g) if (record_collections or variables) else None
    finally:
        sess.close()
    golden = list(vals) + (list(after.values()) if after else [])
    rtol, atol = tolerance(rtol, golden)
    case = {"name": name, "kind": "graph", "family": family, "description": description,
            "code": code, "inputs": [i.record() for i in inputs]}
    if variables is not None:
        case["variables"] = {n: enc(np.asarray(v)) for n, v in variables.items()}
    if cfv2:
        case["control_flow_v2"] = True
    case["outputs"] = {o: enc(v) for o, v in zip(outputs, vals)}
    if after is not None:
        case["variables_after_update_ops"] = {n: enc(v) for n, v in after.items()}
    if cols:
        case["collections"] = cols
    case["checks"] = [{"f": f, "weight": w, "wrt": list(wrt), "grad": list(gr)}
                      for f, w, wrt, gr in checks]
    case["rtol"] = rtol
    case["atol"] = atol
    if checks:
        if fd:
            err = _graph_fd(name, code, inputs, variables, outputs, vals, checks, rtol, atol, cfv2, fd32)
            if err:
                problem("%s: finite-difference check failed: %s" % (name, err))
            case["fd_checked"] = True
            STATS["fd_checked"] += 1
            if fd32:
                notes = (notes + "; " if notes else "") + \
                    "finite differences checked in float32 (Richardson, h 1e-2, tol 1e-3): TF computes it in float32"
        else:
            case["fd_checked"] = False
            STATS["fd_skipped"] += 1
    if notes:
        case["notes"] = notes
    if extra:
        case.update(extra)
    return case


def _graph_fd(name, code, inputs, variables, outputs, vals32, checks, rtol, atol, cfv2, fd32):
    as64 = not fd32
    g, phs, ns, init = _build_graph(code, inputs, variables, as64, cfv2)
    with g.as_default():
        losses = []
        for f, w, wrt, gr in checks:
            t = tf.cast(ns[f], tf.float64)
            if w is not None:
                t = t * tf.cast(phs[w], tf.float64)
            losses.append(tf.reduce_sum(t))
    sess, feeds, vm = _start(g, phs, inputs, init, as64)
    errs = []
    try:
        vals64 = sess.run([ns[o] for o in outputs], feeds)
        for o, a, b in zip(outputs, vals32, vals64):
            if as64 and is_float(a) and not close(a, b, rtol, atol):
                warn("%s: float32 output %s differs from float64 beyond tolerance" % (name, o))
        out64 = dict(zip(outputs, vals64))
        for (f, w, wrt, gr), loss in zip(checks, losses):
            f0 = float(sess.run(loss, feeds))
            for x, gname in zip(wrt, gr):
                if x in phs:
                    ph = phs[x]
                    base = np.array(feeds[ph])

                    def set_value(arr, ph=ph):
                        feeds[ph] = arr
                else:
                    var = vm[x]
                    base = np.array(sess.run(var))

                    def set_value(arr, var=var):
                        var.load(arr, sess)

                num = numeric_gradient(lambda: float(sess.run(loss, feeds)), base,
                                       FD_EPS64 if as64 else FD_EPS32, set_value, not as64)
                e = fd_compare("d sum(%s%s)/d %s" % (f, "" if w is None else "*" + w, x),
                               out64[gname], num, f0, 1e-6 if as64 else 1e-3)
                if e:
                    errs.append(e)
    finally:
        sess.close()
    return "; ".join(errs)


def graph_error_case(name, family, description, code, inputs, *, notes=None, cfv2=False):
    """A graph case whose `code` raises while the graph is built."""
    try:
        _build_graph(code, inputs, None, False, cfv2)
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        case = {"name": name, "kind": "graph", "family": family, "description": description,
                "code": code, "inputs": [i.record() for i in inputs], "outputs": {},
                "checks": [], "raises": {"type": type(e).__name__, "first_line": first}}
        if notes:
            case["notes"] = notes
        return case
    problem("%s: expected an exception, none raised" % name)
    return None


# ---------------------------------------------------------------- kind "names"

def names_case(name, description, code, values=(), collections=("variables", "trainable_variables"),
               evaluate=()):
    """Runs a TF1 snippet in a fresh graph; records the variables, the
    requested collections, the Python expressions in `values` (evaluated after
    the snippet) and the exception the snippet raised, if any."""
    g = tf.Graph()
    ns = {"tf": tf, "np": np}
    raised = None
    with g.as_default():
        try:
            exec(compile(code, "<case>", "exec"), ns)
        except Exception as e:  # noqa: BLE001
            msg = str(e).strip()
            raised = {"type": type(e).__name__, "first_line": msg.splitlines()[0] if msg else ""}
        gv = tf.global_variables()
        trainable = {v.op.name for v in tf.trainable_variables()}
        variables = [{"name": v.op.name, "shape": v.shape.as_list(), "dtype": v.dtype.base_dtype.name,
                      "trainable": v.op.name in trainable} for v in gv]
        cols = {}
        for key in collections:
            items = g.get_collection(key)
            cols[key] = [it.op.name if isinstance(it, tf.Variable) else it.name for it in items]
        vals = {}
        for expr in values:
            v = eval(expr, ns)  # noqa: S307
            if isinstance(v, (np.bool_,)):
                v = bool(v)
            if isinstance(v, (list, tuple)):
                v = list(v)
            vals[expr] = v
        evaluated = {}
        if evaluate:
            init = tf.global_variables_initializer()
            with session(g) as s:
                s.run(init)
                for expr in evaluate:
                    evaluated[expr] = enc(s.run(eval(expr, ns)))  # noqa: S307
    case = {"name": name, "kind": "names", "description": description, "code": code,
            "variables": variables, "collections": cols, "values": vals, "raises": raised}
    if evaluated:
        case["evaluated"] = evaluated
    return case


# ---------------------------------------------------------------- files

def write_group(path, group, cases):
    lines = [json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases]
    with open(path, "w") as f:
        f.write('{"tf_version": "%s", "group": "%s", "cases": [\n' % (TF_VERSION, group))
        f.write(",\n".join(lines))
        f.write("\n]}\n")


def safe(fn, *a, **k):
    """Runs one case builder; a crash is a PROBLEM (reported) rather than fatal."""
    try:
        return fn(*a, **k)
    except Exception:  # noqa: BLE001
        problem("case builder crashed:\n" + traceback.format_exc())
        return None
