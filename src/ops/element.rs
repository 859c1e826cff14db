//! The element types kernels are generic over: [`Float`] (f32, f64),
//! `Numeric` (the arithmetic of the four numeric dtypes, wrapping for
//! integers so that no data can make a kernel panic), and the dispatch
//! macros that run one generic body for a value's dtype.

use crate::dtype::broadcast_shapes;
use crate::value::Element;
use ndarray::{ArrayD, IxDyn, LinalgScalar, ScalarOperand, Zip};

/// A float element type (`f32` or `f64`) that kernels are generic over.
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + Element
    + ScalarOperand
    + LinalgScalar
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::fmt::Display
    + Default
{
    /// Converts from f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// Converts to f64.
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// Element arithmetic of the numeric dtypes that never panics on data:
/// integers wrap on overflow (as TF's kernels do), floats follow IEEE.
pub(crate) trait Numeric: Element + PartialOrd {
    fn plus(self, o: Self) -> Self;
    fn minus(self, o: Self) -> Self;
    fn times(self, o: Self) -> Self;
    /// `None` for an integer division by zero (or `MIN / -1`).
    fn divided(self, o: Self) -> Option<Self>;
    fn negated(self) -> Self;
    fn absolute(self) -> Self;
    /// -1, 0 or 1 (0 for a float zero).
    fn sign(self) -> Self;
    /// `None` for an integer raised to a negative power (an error in TF).
    fn power(self, e: Self) -> Option<Self>;
}

macro_rules! numeric_float {
    ($t:ty) => {
        impl Numeric for $t {
            fn plus(self, o: Self) -> Self {
                self + o
            }
            fn minus(self, o: Self) -> Self {
                self - o
            }
            fn times(self, o: Self) -> Self {
                self * o
            }
            fn divided(self, o: Self) -> Option<Self> {
                Some(self / o)
            }
            fn negated(self) -> Self {
                -self
            }
            fn absolute(self) -> Self {
                self.abs()
            }
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    self
                }
            }
            fn power(self, e: Self) -> Option<Self> {
                Some(self.powf(e))
            }
        }
    };
}

macro_rules! numeric_int {
    ($t:ty) => {
        impl Numeric for $t {
            fn plus(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn minus(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn times(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn divided(self, o: Self) -> Option<Self> {
                self.checked_div(o)
            }
            fn negated(self) -> Self {
                self.wrapping_neg()
            }
            fn absolute(self) -> Self {
                self.wrapping_abs()
            }
            fn sign(self) -> Self {
                self.signum()
            }
            fn power(self, e: Self) -> Option<Self> {
                // Square-and-multiply, wrapping like TF's integer pow.
                let mut e = u64::try_from(e).ok()?;
                let (mut base, mut acc): (Self, Self) = (self, 1);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                Some(acc)
            }
        }
    };
}

numeric_float!(f32);
numeric_float!(f64);
numeric_int!(i32);
numeric_int!(i64);

/// Runs `$body` with `$T` bound to the element type of `$v` (an `&Value`)
/// when its dtype is one of those listed; any other dtype is an error
/// saying which kind of tensor (`$what`) was expected.
macro_rules! dispatch {
    ($v:expr, $T:ident => $body:expr; $what:literal; $($dtype:ident => $t:ty),+) => {
        match $v.dtype() {
            $($crate::DType::$dtype => {
                type $T = $t;
                #[allow(unused_imports)]
                use $crate::Element as _;
                $body
            })+
            #[allow(unreachable_patterns)]
            other => Err($crate::op::KernelError::Message(format!(
                concat!("expected ", $what, " tensor, got {}"),
                other
            ))),
        }
    };
}

/// Runs a generic float body for the dtype of `$v` (an `&Value`), binding
/// `$T` to `f32` or `f64`; other dtypes are an error.
macro_rules! float_dispatch {
    ($v:expr, $T:ident => $body:expr) => {
        $crate::ops::element::dispatch!($v, $T => $body; "a float";
            Float32 => f32, Float64 => f64)
    };
}

/// Runs a generic numeric body for the dtype of `$v`, binding `$T` to
/// `f32`, `f64`, `i32` or `i64`; bool is an error.
macro_rules! numeric_dispatch {
    ($v:expr, $T:ident => $body:expr) => {
        $crate::ops::element::dispatch!($v, $T => $body; "a numeric";
            Float32 => f32, Float64 => f64, Int32 => i32, Int64 => i64)
    };
}

/// Runs a generic body for the dtype of `$v`, binding `$T` to any of the
/// five element types: for ops that only move elements.
macro_rules! any_dispatch {
    ($v:expr, $T:ident => $body:expr) => {
        $crate::ops::element::dispatch!($v, $T => $body; "any";
            Float32 => f32, Float64 => f64, Int32 => i32, Int64 => i64, Bool => bool)
    };
}
pub(crate) use {any_dispatch, dispatch, float_dispatch, numeric_dispatch};

/// Applies `f` elementwise with NumPy broadcasting.
pub(crate) fn zip_broadcast<A: Copy, B: Copy, C>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    f: impl Fn(A, B) -> C,
) -> Result<ArrayD<C>, String> {
    if a.shape() == b.shape() {
        return Ok(Zip::from(a).and(b).map_collect(|&x, &y| f(x, y)));
    }
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let av = a.broadcast(IxDyn(&shape)).expect("broadcastable");
    let bv = b.broadcast(IxDyn(&shape)).expect("broadcastable");
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
}
