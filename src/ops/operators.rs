//! The operators and method-call shorthands of [`Tensor`]: `a + b`,
//! `2.0 * x`, `-x`, `x.matmul(w)`, `x.reduce_mean(..)`, each building the
//! op that the same-named function of [`crate::ops`] builds.

use crate::dtype::DType;
use crate::graph::Tensor;
use crate::ops;

impl Tensor {
    /// `tf.matmul(self, b)`.
    #[track_caller]
    pub fn matmul(self, b: Tensor) -> Tensor {
        ops::matmul(self, b, false, false)
    }

    /// `tf.reduce_sum(self, axis, keepdims)`; see [`ops::reduce_sum`].
    #[track_caller]
    pub fn reduce_sum(self, axis: impl Into<ops::Axes>, keepdims: bool) -> Tensor {
        ops::reduce_sum(self, axis, keepdims)
    }

    /// `tf.reduce_mean(self, axis, keepdims)`; see [`ops::reduce_mean`].
    #[track_caller]
    pub fn reduce_mean(self, axis: impl Into<ops::Axes>, keepdims: bool) -> Tensor {
        ops::reduce_mean(self, axis, keepdims)
    }

    /// `tf.cast(self, dtype)`.
    #[track_caller]
    pub fn cast(self, dtype: DType) -> Tensor {
        ops::cast(self, dtype)
    }

    /// `tf.reduce_max(self, axis, keepdims)`; see [`ops::reduce_max`].
    #[track_caller]
    pub fn reduce_max(self, axis: impl Into<ops::Axes>, keepdims: bool) -> Tensor {
        ops::reduce_max(self, axis, keepdims)
    }

    /// `tf.argmax(self, axis)` with TF's default int64 output.
    #[track_caller]
    pub fn argmax(self, axis: isize) -> Tensor {
        ops::argmax(self, axis, DType::Int64)
    }

    /// `tf.reshape(self, shape)`; one dimension may be `-1`.
    #[track_caller]
    pub fn reshape(self, shape: impl AsRef<[isize]>) -> Tensor {
        ops::reshape(self, shape)
    }

    /// `tf.square(self)`.
    #[track_caller]
    pub fn square(self) -> Tensor {
        ops::square(self)
    }

    /// `tf.sqrt(self)`.
    #[track_caller]
    pub fn sqrt(self) -> Tensor {
        ops::sqrt(self)
    }

    /// `tf.exp(self)`.
    #[track_caller]
    pub fn exp(self) -> Tensor {
        ops::exp(self)
    }

    /// `tf.log(self)` (natural logarithm).
    #[track_caller]
    pub fn log(self) -> Tensor {
        ops::log(self)
    }

    /// `tf.abs(self)`.
    #[track_caller]
    pub fn abs(self) -> Tensor {
        ops::abs(self)
    }

    /// `tf.pow(self, exponent)`.
    #[track_caller]
    pub fn pow(self, exponent: Tensor) -> Tensor {
        ops::pow(self, exponent)
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $f:path) => {
        impl std::ops::$trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                $f(self, rhs)
            }
        }
        impl std::ops::$trait<f64> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: f64) -> Tensor {
                let c = ops::scalar_like(rhs, self);
                $f(self, c)
            }
        }
        impl std::ops::$trait<Tensor> for f64 {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                let c = ops::scalar_like(self, rhs);
                $f(c, rhs)
            }
        }
    };
}

binary_operator!(Add, add, ops::add);
binary_operator!(Sub, sub, ops::subtract);
binary_operator!(Mul, mul, ops::multiply);
binary_operator!(Div, div, ops::divide);

impl std::ops::Neg for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        ops::negative(self)
    }
}
