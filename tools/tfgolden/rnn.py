"""Group "rnn": TF1 RNN cells (tf.nn.rnn_cell.*) driven by static_rnn,
dynamic_rnn (batch/time major, sequence_length, initial_state) and the
bidirectional drivers.  The cells' variables get recorded values (loaded by
the runner after the initializer); outputs, flattened final states, and
gradients of a weighted sum of outputs and states w.r.t. the inputs and every
cell variable.  A numpy re-implementation of each cell checks the documented
variable layouts against TF's forward values."""

import numpy as np

from common import Inp, graph_case, problem, tf

F = np.float32
I = np.int32


def ident(var_name):
    return "d_" + var_name.replace("/", "_")


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- numpy cells (float64)

def np_cell(kind, params, prefix, opts):
    """Returns (step(x, state) -> (out, state), initial zero state fn)."""
    p = lambda n: params[prefix + n].astype(np.float64)  # noqa: E731
    if kind == "basic_rnn":
        K, b = p("/kernel"), p("/bias")

        def step(x, s):
            h = np.tanh(np.concatenate([x, s[0]], 1) @ K + b)
            return h, (h,)
        return step
    if kind == "basic_lstm":
        K, b = p("/kernel"), p("/bias")
        fb = opts.get("forget_bias", 1.0)

        def step(x, s):
            c, h = s
            z = np.concatenate([x, h], 1) @ K + b
            i, j, f, o = np.split(z, 4, axis=1)
            c2 = c * sig(f + fb) + sig(i) * np.tanh(j)
            h2 = np.tanh(c2) * sig(o)
            return h2, (c2, h2)
        return step
    if kind == "lstm":
        K, b = p("/kernel"), p("/bias")
        fb = opts.get("forget_bias", 1.0)
        peep = opts.get("use_peepholes", False)
        clip = opts.get("cell_clip")
        proj = opts.get("num_proj")
        if peep:
            wf, wi, wo = p("/w_f_diag"), p("/w_i_diag"), p("/w_o_diag")
        P = p("/projection/kernel") if proj else None

        def step(x, s):
            c, h = s
            z = np.concatenate([x, h], 1) @ K + b
            i, j, f, o = np.split(z, 4, axis=1)
            if peep:
                c2 = sig(f + fb + wf * c) * c + sig(i + wi * c) * np.tanh(j)
            else:
                c2 = sig(f + fb) * c + sig(i) * np.tanh(j)
            if clip is not None:
                c2 = np.clip(c2, -clip, clip)
            h2 = sig(o + wo * c2) * np.tanh(c2) if peep else sig(o) * np.tanh(c2)
            if proj:
                h2 = h2 @ P
            return h2, (c2, h2)
        return step
    if kind == "gru":
        Kg, bg, Kc, bc = p("/gates/kernel"), p("/gates/bias"), p("/candidate/kernel"), p("/candidate/bias")

        def step(x, s):
            h = s[0]
            rz = sig(np.concatenate([x, h], 1) @ Kg + bg)
            r, u = np.split(rz, 2, axis=1)
            cand = np.tanh(np.concatenate([x, r * h], 1) @ Kc + bc)
            h2 = u * h + (1 - u) * cand
            return h2, (h2,)
        return step
    raise ValueError(kind)


def np_run(step, xs_tm, state, seq_len):
    """xs_tm [T, B, I] float64; returns (outputs [T, B, O], final state)."""
    outs = []
    for t in range(xs_tm.shape[0]):
        o, s2 = step(xs_tm[t], state)
        if seq_len is not None:
            m = (t < seq_len)[:, None]
            o = np.where(m, o, 0.0)
            s2 = tuple(np.where(m, a, b) for a, b in zip(s2, state))
        outs.append(o)
        state = s2
    return np.stack(outs), state


# ---------------------------------------------------------------- cells

CELLS = {
    "basic_rnn": ("tf.nn.rnn_cell.BasicRNNCell(%(units)d)", "basic_rnn_cell"),
    "basic_lstm": ("tf.nn.rnn_cell.BasicLSTMCell(%(units)d, forget_bias=1.0)", "basic_lstm_cell"),
    "lstm": ("tf.nn.rnn_cell.LSTMCell(%(units)d%(lstm_opts)s)", "lstm_cell"),
    "gru": ("tf.nn.rnn_cell.GRUCell(%(units)d)", "gru_cell"),
}


def cell_src(kind, units, opts):
    lstm_opts = ""
    if kind == "lstm":
        for k in ("use_peepholes", "cell_clip", "num_proj", "forget_bias"):
            if k in opts:
                lstm_opts += ", %s=%r" % (k, opts[k])
    return CELLS[kind][0] % {"units": units, "lstm_opts": lstm_opts}


def state_sizes(kind, units, opts):
    if kind in ("basic_lstm", "lstm"):
        return [units, opts.get("num_proj") or units]  # (c, h)
    return [units]


def rnn_case(rng, name, description, *, driver, cells, B, T, In, seq_len=None, initial_state=False,
             notes=None):
    """cells: list of (kind, units, opts); >1 entries with driver dynamic/static = MultiRNNCell;
    for bidi drivers: [fw, bw]."""
    bidi = driver.startswith("bidi")
    time_major = driver == "dynamic_time_major"
    lines = []
    if bidi:
        (kf, uf, of), (kb, ub, ob) = cells
        lines.append("cell_fw = %s" % cell_src(kf, uf, of))
        lines.append("cell_bw = %s" % cell_src(kb, ub, ob))
    elif len(cells) > 1:
        lines.append("cell = tf.nn.rnn_cell.MultiRNNCell([%s])" % ", ".join(cell_src(k, u, o) for k, u, o in cells))
    else:
        k, un, o = cells[0]
        lines.append("cell = %s" % cell_src(k, un, o))
    sl = ", sequence_length=seq_len" if seq_len is not None else ""
    extra_inputs = []
    init_src = ", dtype=x.dtype"
    if initial_state:
        k, un, o = cells[0]
        if k in ("basic_lstm", "lstm"):
            init_src = ", initial_state=tf.nn.rnn_cell.LSTMStateTuple(c0, h0)"
            extra_inputs = [Inp("c0", (rng.randn(B, un) * 0.5).astype(F)),
                            Inp("h0", (rng.randn(B, state_sizes(k, un, o)[1]) * 0.5).astype(F))]
        else:
            init_src = ", initial_state=h0"
            extra_inputs = [Inp("h0", (rng.randn(B, un) * 0.5).astype(F))]
    if driver == "dynamic":
        lines.append("outputs, state = tf.nn.dynamic_rnn(cell, x%s%s)" % (sl, init_src))
    elif driver == "dynamic_time_major":
        lines.append("outputs, state = tf.nn.dynamic_rnn(cell, x%s%s, time_major=True)" % (sl, init_src))
    elif driver == "static":
        lines.append("xs = tf.unstack(x, axis=1)")
        lines.append("output_list, state = tf.nn.static_rnn(cell, xs%s%s)" % (sl, init_src))
        lines.append("outputs = tf.stack(output_list, axis=1)")
    elif driver == "bidi_dynamic":
        lines.append("(out_fw, out_bw), state = tf.nn.bidirectional_dynamic_rnn(cell_fw, cell_bw, x%s, "
                     "dtype=x.dtype)" % sl)
        lines.append("outputs = tf.concat([out_fw, out_bw], axis=-1)")
    elif driver == "bidi_static":
        lines.append("xs = tf.unstack(x, axis=1)")
        lines.append("output_list, state_fw, state_bw = tf.nn.static_bidirectional_rnn(cell_fw, cell_bw, xs%s, "
                     "dtype=x.dtype)" % sl)
        lines.append("outputs = tf.stack(output_list, axis=1)")
        lines.append("state = (state_fw, state_bw)")
    else:
        raise ValueError(driver)
    lines.append("states = tf.nest.flatten(state)")
    head = "\n".join(lines) + "\n"

    xshape = (T, B, In) if time_major else (B, T, In)
    x = rng.randn(*xshape).astype(F)
    inputs = [Inp("x", x)]
    if seq_len is not None:
        inputs.append(Inp("seq_len", np.array(seq_len, I)))
    inputs += extra_inputs

    # Dry build: variable names/shapes, output and state shapes.
    g = tf.Graph()
    with g.as_default():
        ns = {"tf": tf, "np": np}
        for i in inputs:
            ns[i.name] = i.placeholder()
        exec(head, ns)
        var_specs = [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]
        out_shape = ns["outputs"].shape.as_list()
        st_shapes = [s.shape.as_list() for s in ns["states"]]
    variables = {n: rng.uniform(-0.5, 0.5, size=s).astype(F) for n, s in var_specs}
    ws = ["ws%d" % k for k in range(len(st_shapes))]
    inputs.append(Inp("wy", rng.uniform(-1, 1, out_shape).astype(F), diff=False))
    inputs += [Inp(w, rng.uniform(-1, 1, s).astype(F), diff=False) for w, s in zip(ws, st_shapes)]
    wrt = ["x"] + [i.name for i in extra_inputs] + [n for n, _ in var_specs]
    grads = ["dx"] + ["d" + i.name for i in extra_inputs] + [ident(n) for n, _ in var_specs]
    st_names = ["state_%d" % k for k in range(len(st_shapes))]
    code = head + (
        "loss = tf.reduce_sum(outputs * wy) + tf.add_n([tf.reduce_sum(s * w) for s, w in zip(states, [%s])])\n"
        "var = {v.op.name: v for v in tf.global_variables()}\n"
        "%s = tf.gradients(loss, [%s])\n"
        "%s = states\n"
    ) % (", ".join(ws), ", ".join(grads),
         ", ".join(["x"] + [i.name for i in extra_inputs] + ["var[%r]" % n for n, _ in var_specs]),
         ", ".join(st_names) + ("," if len(st_names) == 1 else ""))
    layout = "; ".join("%s %s" % (n, s) for n, s in var_specs)
    all_notes = "variables (creation order): " + layout
    all_notes += "; states = tf.nest.flatten(final state)"
    if notes:
        all_notes = notes + "; " + all_notes
    case = graph_case(name, "rnn_" + driver, description, code, inputs,
                      ["outputs"] + st_names + ["loss"] + grads,
                      checks=[("loss", None, wrt, grads)], variables=variables, rtol=1e-4, notes=all_notes)
    _numpy_check(case, name, driver, cells, variables, x, seq_len, extra_inputs, B, time_major)
    return case


def _numpy_check(case, name, driver, cells, variables, x, seq_len, extra_inputs, B, time_major):
    """Forward values against the numpy cells (documents the layouts)."""
    x64 = x.astype(np.float64)
    xs_tm = x64 if time_major else x64.transpose(1, 0, 2)
    sl = None if seq_len is None else np.array(seq_len)

    def zero_state(kind, units, opts):
        return tuple(np.zeros((B, s)) for s in state_sizes(kind, units, opts))

    def scope_of(prefix, kind):
        return prefix + CELLS[kind][1]

    if driver.startswith("bidi"):
        (kf, uf, of), (kb, ub, ob) = cells
        step_f = np_cell(kf, variables, scope_of("bidirectional_rnn/fw/", kf), of)
        step_b = np_cell(kb, variables, scope_of("bidirectional_rnn/bw/", kb), ob)
        of_, sf = np_run(step_f, xs_tm, zero_state(kf, uf, of), sl)
        # backward: reverse each sequence within its length
        T = xs_tm.shape[0]
        lens = sl if sl is not None else np.full(B, T)
        rev = np.zeros_like(xs_tm)
        for bi in range(B):
            L = lens[bi]
            rev[:L, bi] = xs_tm[:L, bi][::-1]
        ob_r, sb = np_run(step_b, rev, zero_state(kb, ub, ob), sl)
        ob_ = np.zeros_like(ob_r)
        for bi in range(B):
            L = lens[bi]
            ob_[:L, bi] = ob_r[:L, bi][::-1]
        outs = np.concatenate([of_, ob_], axis=2)
        states = list(sf) + list(sb)
    else:
        prefix = "rnn/"
        if len(cells) > 1:
            steps, init = [], []
            for k, (kind, units, opts) in enumerate(cells):
                steps.append(np_cell(kind, variables, scope_of("rnn/multi_rnn_cell/cell_%d/" % k, kind), opts))
                init.append(zero_state(kind, units, opts))

            def step(xt, s):
                new = []
                inp = xt
                for st, sub in zip(steps, s):
                    inp, ns_ = st(inp, sub)
                    new.append(ns_)
                return inp, tuple(new)

            flat_init = tuple(init)
            # np_run expects a flat tuple of arrays; wrap/unwrap
            outs_l, state = [], flat_init
            for t in range(xs_tm.shape[0]):
                o, s2 = step(xs_tm[t], state)
                if sl is not None:
                    m = (t < sl)[:, None]
                    o = np.where(m, o, 0.0)
                    s2 = tuple(tuple(np.where(m, a, b) for a, b in zip(n2, n1)) for n2, n1 in zip(s2, state))
                outs_l.append(o)
                state = s2
            outs = np.stack(outs_l)
            states = [a for sub in state for a in sub]
        else:
            kind, units, opts = cells[0]
            step = np_cell(kind, variables, scope_of(prefix, kind), opts)
            if extra_inputs:
                init = tuple(i.value.astype(np.float64) for i in extra_inputs)
                if kind not in ("basic_lstm", "lstm"):
                    init = (init[0],)
            else:
                init = zero_state(kind, units, opts)
            outs, st = np_run(step, xs_tm, init, sl)
            states = list(st)
    if not time_major:
        outs = outs.transpose(1, 0, 2)
    want = [outs] + states
    got = [case["outputs"]["outputs"]] + [case["outputs"]["state_%d" % k] for k in range(len(states))]
    for k, (w, g) in enumerate(zip(want, got)):
        ga = np.array(g["data"], np.float64).reshape(g["shape"])
        if ga.shape != w.shape or not np.allclose(ga, w, rtol=1e-4, atol=1e-5):
            problem("%s: numpy re-implementation disagrees with TF on %s" %
                    (name, "outputs" if k == 0 else "state_%d" % (k - 1)))


def rnn(add, rng):
    B, T, In = 2, 3, 3
    add(rnn_case, rng, "rnn_dynamic_basic_rnn_b2_t3_i3_u4", "BasicRNNCell(4) with tf.nn.dynamic_rnn",
        driver="dynamic", cells=[("basic_rnn", 4, {})], B=B, T=T, In=In,
        notes="BasicRNNCell: h' = tanh([x, h] @ kernel + bias), kernel [input + units, units]")
    add(rnn_case, rng, "rnn_dynamic_basic_lstm_seqlen_b3_t4_i3_u4",
        "BasicLSTMCell(4, forget_bias=1.0) with dynamic_rnn and sequence_length",
        driver="dynamic", cells=[("basic_lstm", 4, {})], B=3, T=4, In=3, seq_len=[4, 2, 3],
        notes="BasicLSTMCell: [i, j, f, o] = split([x, h] @ kernel + bias, 4, axis=1); "
              "c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j); h' = tanh(c') * sigmoid(o); "
              "kernel [input + units, 4 * units]; state LSTMStateTuple(c, h); past sequence_length the "
              "outputs are 0 and the state is copied through")
    add(rnn_case, rng, "rnn_dynamic_time_major_basic_lstm_t3_b2_i4_u4",
        "BasicLSTMCell with dynamic_rnn(time_major=True): x is [time, batch, input]",
        driver="dynamic_time_major", cells=[("basic_lstm", 4, {})], B=2, T=3, In=4)
    add(rnn_case, rng, "rnn_dynamic_time_major_gru_seqlen_t4_b3_i3_u4",
        "GRUCell with dynamic_rnn(time_major=True) and sequence_length",
        driver="dynamic_time_major", cells=[("gru", 4, {})], B=3, T=4, In=3, seq_len=[1, 4, 3])
    add(rnn_case, rng, "rnn_dynamic_basic_lstm_init_state_b2_t3_i3_u5",
        "BasicLSTMCell with dynamic_rnn and a fed initial_state LSTMStateTuple(c0, h0)",
        driver="dynamic", cells=[("basic_lstm", 5, {})], B=2, T=3, In=3, initial_state=True,
        notes="gradients also w.r.t. c0 and h0")
    add(rnn_case, rng, "rnn_dynamic_lstm_peep_clip_proj_b2_t4_i3_u5_p3",
        "LSTMCell(5, use_peepholes=True, cell_clip=0.6, num_proj=3) with dynamic_rnn",
        driver="dynamic", cells=[("lstm", 5, {"use_peepholes": True, "cell_clip": 0.6, "num_proj": 3})],
        B=2, T=4, In=3,
        notes="LSTMCell: [i, j, f, o] = split([x, h] @ kernel + bias); c' = sigmoid(f + forget_bias + "
              "w_f_diag * c) * c + sigmoid(i + w_i_diag * c) * tanh(j); c' = clip(c', -cell_clip, cell_clip); "
              "h' = (sigmoid(o + w_o_diag * c') * tanh(c')) @ projection/kernel; kernel [input + num_proj, "
              "4 * units]; state (c [units], h [num_proj]); clipped cells pass no gradient")
    add(rnn_case, rng, "rnn_dynamic_lstm_peep_init_state_b2_t3_i4_u4",
        "LSTMCell(4, use_peepholes=True) with dynamic_rnn, sequence_length and initial_state",
        driver="dynamic", cells=[("lstm", 4, {"use_peepholes": True})], B=2, T=3, In=4, seq_len=[3, 2],
        initial_state=True)
    add(rnn_case, rng, "rnn_dynamic_gru_seqlen_b3_t3_i3_u4", "GRUCell(4) with dynamic_rnn and sequence_length",
        driver="dynamic", cells=[("gru", 4, {})], B=3, T=3, In=3, seq_len=[3, 1, 2],
        notes="GRUCell: [r, u] = split(sigmoid([x, h] @ gates/kernel + gates/bias), 2); "
              "c = tanh([x, r * h] @ candidate/kernel + candidate/bias); h' = u * h + (1 - u) * c; "
              "gates/kernel [input + units, 2 * units], candidate/kernel [input + units, units]")
    add(rnn_case, rng, "rnn_dynamic_gru_init_state_b2_t3_i3_u4", "GRUCell with dynamic_rnn and initial_state h0",
        driver="dynamic", cells=[("gru", 4, {})], B=2, T=3, In=3, initial_state=True)
    add(rnn_case, rng, "rnn_dynamic_multi_lstm_b2_t3_i3_u4_u3",
        "MultiRNNCell([BasicLSTMCell(4), BasicLSTMCell(3)]) with dynamic_rnn",
        driver="dynamic", cells=[("basic_lstm", 4, {}), ("basic_lstm", 3, {})], B=2, T=3, In=3,
        notes="variables under rnn/multi_rnn_cell/cell_<k>/; state ((c0, h0), (c1, h1)) flattened to 4")
    add(rnn_case, rng, "rnn_dynamic_multi_lstm_seqlen_b3_t4_i3_u4_u4",
        "MultiRNNCell of 2 BasicLSTMCell(4) with dynamic_rnn and sequence_length",
        driver="dynamic", cells=[("basic_lstm", 4, {}), ("basic_lstm", 4, {})], B=3, T=4, In=3,
        seq_len=[2, 4, 1])
    add(rnn_case, rng, "rnn_static_basic_lstm_b2_t3_i3_u4",
        "BasicLSTMCell with tf.nn.static_rnn over tf.unstack(x, axis=1)",
        driver="static", cells=[("basic_lstm", 4, {})], B=2, T=3, In=3)
    add(rnn_case, rng, "rnn_static_basic_lstm_seqlen_b3_t4_i3_u4",
        "BasicLSTMCell with static_rnn and sequence_length",
        driver="static", cells=[("basic_lstm", 4, {})], B=3, T=4, In=3, seq_len=[4, 1, 3])
    add(rnn_case, rng, "rnn_static_gru_seqlen_b2_t3_i4_u3", "GRUCell with static_rnn and sequence_length",
        driver="static", cells=[("gru", 3, {})], B=2, T=3, In=4, seq_len=[2, 3])
    add(rnn_case, rng, "rnn_static_basic_rnn_b2_t4_i3_u4", "BasicRNNCell with static_rnn",
        driver="static", cells=[("basic_rnn", 4, {})], B=2, T=4, In=3)
    add(rnn_case, rng, "rnn_bidi_dynamic_lstm_seqlen_b3_t4_i3_u4",
        "tf.nn.bidirectional_dynamic_rnn with BasicLSTMCell(4) both ways and sequence_length",
        driver="bidi_dynamic", cells=[("basic_lstm", 4, {}), ("basic_lstm", 4, {})], B=3, T=4, In=3,
        seq_len=[4, 2, 3],
        notes="outputs = concat([out_fw, out_bw], -1); the backward cell reads each sequence reversed "
              "within its length (tf.reverse_sequence) and its outputs are reversed back; "
              "state = (state_fw, state_bw)")
    add(rnn_case, rng, "rnn_bidi_dynamic_gru_lstm_b2_t3_i3_u4_u3",
        "bidirectional_dynamic_rnn with GRUCell(4) forward and BasicLSTMCell(3) backward",
        driver="bidi_dynamic", cells=[("gru", 4, {}), ("basic_lstm", 3, {})], B=2, T=3, In=3)
    add(rnn_case, rng, "rnn_bidi_static_basic_rnn_seqlen_b2_t3_i3_u4",
        "tf.nn.static_bidirectional_rnn with BasicRNNCell(4) both ways and sequence_length",
        driver="bidi_static", cells=[("basic_rnn", 4, {}), ("basic_rnn", 4, {})], B=2, T=3, In=3,
        seq_len=[3, 2], notes="outputs: a list of concat(fw, bw) per step (stacked on axis 1 here)")
    add(rnn_case, rng, "rnn_bidi_static_lstm_b2_t3_i3_u3",
        "static_bidirectional_rnn with BasicLSTMCell(3) both ways",
        driver="bidi_static", cells=[("basic_lstm", 3, {}), ("basic_lstm", 3, {})], B=2, T=3, In=3)
