"""Group "scopes" (kind "names"): how TF1 names variables and ops under
variable_scope / name_scope, what reuse does, the collections' contents, and
the exact errors of the reuse mistakes."""

from common import names_case

COLS = ("variables", "trainable_variables")


def scopes(add, rng):
    def case(name, description, code, values=(), collections=COLS, evaluate=()):
        add(names_case, name, description, code, values, collections, evaluate)

    case("scope_nested_get_variable", "nested variable_scope; get_variable names",
         "with tf.variable_scope('outer'):\n"
         "    with tf.variable_scope('inner'):\n"
         "        v = tf.get_variable('v', [2, 3])\n"
         "    w = tf.get_variable('w', [3], initializer=tf.zeros_initializer())\n"
         "    y = tf.matmul(tf.ones([1, 2]), v) + w\n",
         ["v.name", "v.op.name", "w.name", "y.op.name", "y.name", "tf.get_variable_scope().name"])

    case("scope_reuse_true", "variable_scope(reuse=True) returns the existing variable; the second "
         "variable_scope('layer1') opens name scope 'layer1_1' for ops",
         "with tf.variable_scope('layer1'):\n"
         "    k = tf.get_variable('kernel', [2])\n"
         "with tf.variable_scope('layer1', reuse=True):\n"
         "    k2 = tf.get_variable('kernel', [2])\n"
         "    s = tf.add(k2, 1.0)\n",
         ["k.name", "k2.name", "k2 is k", "s.op.name"])

    case("scope_reuse_variables_call", "scope.reuse_variables() inside the same scope",
         "with tf.variable_scope('shared') as scope:\n"
         "    a = tf.get_variable('a', [1])\n"
         "    scope.reuse_variables()\n"
         "    a2 = tf.get_variable('a', [1])\n",
         ["a.name", "a2 is a"])

    case("scope_auto_reuse", "reuse=tf.AUTO_REUSE: create on first call, reuse afterwards",
         "def layer(x):\n"
         "    with tf.variable_scope('auto', reuse=tf.AUTO_REUSE):\n"
         "        w = tf.get_variable('w', [3, 2])\n"
         "        return tf.matmul(x, w)\n"
         "x = tf.ones([1, 3])\n"
         "y1 = layer(x)\n"
         "y2 = layer(x)\n",
         ["y1.op.name", "y2.op.name"])

    case("scope_error_already_exists", "get_variable twice without reuse raises ValueError",
         "with tf.variable_scope('layer1'):\n"
         "    k = tf.get_variable('kernel', [2])\n"
         "with tf.variable_scope('layer1'):\n"
         "    k2 = tf.get_variable('kernel', [2])\n",
         ["k.name"])

    case("scope_error_does_not_exist", "reuse=True for a variable never created raises ValueError",
         "with tf.variable_scope('layer2', reuse=True):\n"
         "    k = tf.get_variable('kernel', [2])\n")

    case("scope_error_shape_mismatch", "reusing with a different shape raises ValueError",
         "with tf.variable_scope('layer1'):\n"
         "    k = tf.get_variable('kernel', [2])\n"
         "with tf.variable_scope('layer1', reuse=True):\n"
         "    k2 = tf.get_variable('kernel', [3])\n",
         ["k.name"])

    case("scope_name_scope_in_variable_scope",
         "name_scope inside variable_scope: get_variable ignores the name_scope, tf.Variable and ops use it",
         "with tf.variable_scope('vs'):\n"
         "    with tf.name_scope('ns'):\n"
         "        a = tf.get_variable('a', [1])\n"
         "        b = tf.Variable(1.0, name='b')\n"
         "        c = a + b\n"
         "        d = tf.multiply(c, 2.0, name='d')\n",
         ["a.name", "b.name", "c.op.name", "d.op.name"])

    case("scope_variable_scope_twice_op_names",
         "the same variable_scope entered twice: variables share the prefix, ops get 'scope_1'",
         "with tf.variable_scope('s'):\n"
         "    v1 = tf.Variable(0.0, name='v')\n"
         "    g1 = tf.get_variable('g', [1])\n"
         "    o1 = tf.identity(v1)\n"
         "with tf.variable_scope('s'):\n"
         "    v2 = tf.Variable(0.0, name='v')\n"
         "    g2 = tf.get_variable('h', [1])\n"
         "    o2 = tf.identity(v2)\n",
         ["v1.name", "v2.name", "g1.name", "g2.name", "o1.op.name", "o2.op.name"])

    case("scope_tf_variable_uniquified", "tf.Variable with a taken name is uniquified (v, v_1, v_2)",
         "with tf.variable_scope('s'):\n"
         "    a = tf.Variable(0.0, name='v')\n"
         "    b = tf.Variable(0.0, name='v')\n"
         "c = tf.Variable(0.0, name='v')\n"
         "d = tf.Variable(0.0, name='v')\n"
         "e = tf.Variable(0.0)\n",
         ["a.name", "b.name", "c.name", "d.name", "e.name"])

    case("scope_op_names_uniquified", "ops with the same name in one scope: add, add_1, ...; name_scope twice",
         "x = tf.constant(1.0)\n"
         "a = x + 1.0\n"
         "b = x + 2.0\n"
         "with tf.name_scope('blk'):\n"
         "    c = tf.add(x, 3.0)\n"
         "with tf.name_scope('blk'):\n"
         "    d = tf.add(x, 4.0)\n"
         "with tf.name_scope('blk/'):\n"
         "    e = tf.add(x, 5.0)\n"
         "f = tf.identity(x, name='out')\n"
         "g = tf.identity(x, name='out')\n",
         ["a.op.name", "b.op.name", "c.op.name", "d.op.name", "e.op.name", "f.op.name", "g.op.name"])

    case("scope_dense_twice_unnamed", "tf.layers.dense twice without a name: dense, dense_1",
         "x = tf.ones([2, 3])\n"
         "h = tf.layers.dense(x, 4)\n"
         "y = tf.layers.dense(h, 2)\n",
         ["h.op.name", "y.op.name"])

    case("scope_dense_twice_same_name_error", "tf.layers.dense twice with the same name (no reuse) raises",
         "x = tf.ones([2, 3])\n"
         "h = tf.layers.dense(x, 3, name='fc')\n"
         "y = tf.layers.dense(h, 3, name='fc')\n",
         ["h.op.name"])

    case("scope_dense_same_name_reuse", "tf.layers.dense twice with name='fc', reuse=True: shared weights",
         "x = tf.ones([2, 3])\n"
         "h = tf.layers.dense(x, 3, name='fc')\n"
         "y = tf.layers.dense(h, 3, name='fc', reuse=True)\n",
         ["h.op.name", "y.op.name"])

    case("scope_dense_in_variable_scope", "tf.layers.dense inside nested variable scopes",
         "x = tf.ones([2, 3])\n"
         "with tf.variable_scope('block1'):\n"
         "    h = tf.layers.dense(x, 4)\n"
         "    with tf.variable_scope('inner'):\n"
         "        y = tf.layers.dense(h, 2, name='out')\n"
         "with tf.variable_scope('block1', reuse=True):\n"
         "    h2 = tf.layers.dense(x, 4)\n",
         ["h.op.name", "y.op.name", "h2.op.name"])

    case("scope_default_name", "variable_scope(None, default_name=...) is uniquified",
         "a = []\n"
         "for i in range(3):\n"
         "    with tf.variable_scope(None, default_name='layer'):\n"
         "        a.append(tf.get_variable('w', [1]))\n",
         ["[v.name for v in a]"])

    case("scope_trainable_false", "trainable=False variables are global but not trainable; "
         "tf.Variable(trainable=False) too",
         "with tf.variable_scope('m'):\n"
         "    t = tf.get_variable('t', [2])\n"
         "    n = tf.get_variable('n', [2], trainable=False)\n"
         "    step = tf.Variable(0, name='step', trainable=False)\n"
         "gs = tf.train.get_or_create_global_step()\n",
         ["n.name", "step.name", "gs.name"], collections=COLS + ("global_step",))

    case("scope_batch_norm_update_ops", "tf.layers.batch_normalization: variable names, UPDATE_OPS, two layers",
         "x = tf.ones([4, 3])\n"
         "y = tf.layers.batch_normalization(x, training=True)\n"
         "z = tf.layers.batch_normalization(y, training=True, name='bn2')\n",
         ["y.op.name", "z.op.name"], collections=COLS + ("update_ops",))

    case("scope_batch_norm_infer_no_update_ops", "batch_normalization(training=False) adds no UPDATE_OPS",
         "x = tf.ones([4, 3])\n"
         "y = tf.layers.batch_normalization(x, training=False)\n",
         ["y.op.name"], collections=COLS + ("update_ops",))

    case("scope_get_variable_initializer_scope", "variable_scope(initializer=...) is the default for get_variable",
         "with tf.variable_scope('init', initializer=tf.constant_initializer(0.5)):\n"
         "    v = tf.get_variable('v', [2])\n"
         "    w = tf.get_variable('w', [2], initializer=tf.zeros_initializer())\n",
         ["v.name", "w.name"], evaluate=["v", "w"])

    case("scope_variable_scope_object", "re-entering a scope by its object keeps its name (no _1), ops get a new one",
         "with tf.variable_scope('enc') as enc_scope:\n"
         "    a = tf.get_variable('a', [1])\n"
         "    o1 = tf.identity(a)\n"
         "with tf.variable_scope(enc_scope, reuse=True):\n"
         "    a2 = tf.get_variable('a', [1])\n"
         "    o2 = tf.identity(a2)\n"
         "with tf.variable_scope(enc_scope):\n"
         "    b = tf.get_variable('b', [1])\n",
         ["enc_scope.name", "a2 is a", "o1.op.name", "o2.op.name", "b.name"])

    case("scope_absolute_name_scope", "name_scope with a trailing slash re-enters an existing name scope",
         "with tf.name_scope('top') as top:\n"
         "    a = tf.constant(1.0, name='a')\n"
         "with tf.name_scope(top):\n"
         "    b = tf.constant(2.0, name='b')\n"
         "with tf.name_scope('top'):\n"
         "    c = tf.constant(3.0, name='c')\n",
         ["top", "a.op.name", "b.op.name", "c.op.name"])
