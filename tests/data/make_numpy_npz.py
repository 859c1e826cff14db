"""Writes the numpy-made checkpoints tests/saver.rs restores (CI has no
numpy, so the outputs are committed). Run from the crate root:

    python3 tests/data/make_numpy_npz.py

The variables are those of tests/saver.rs's model(): `layer1/W` (float32
[2, 3]), `b` (float64 [3]) and `step` (int64 scalar). `W` is stored in
Fortran order and `b` big-endian, so the reader's handling of both is
checked against numpy's own bytes.
"""
import numpy as np

w = np.asfortranarray(np.array([[1.5, -2.0, 3.25], [4.0, 0.1, -6.0]], dtype=np.float32))
b = np.array([0.125, -1.0, 1e300], dtype=">f8")
step = np.int64(123456789012)
arrays = {"layer1/W": w, "b": b, "step": step}

np.savez_compressed("tests/data/numpy_savez_compressed.npz", **arrays)
np.savez("tests/data/numpy_savez.npz", **arrays)
print("numpy", np.__version__)
