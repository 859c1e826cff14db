//! Run-time tensor values: an n-dimensional ndarray of one of the five
//! dtypes. Kernels read and write these; `Session::run` returns them.

use crate::dtype::{fmt_dims, DType};
use ndarray::{ArrayD, CowArray, IxDyn};
use std::fmt;

/// A concrete tensor: what a session computes and what feeds provide.
///
/// Getting a typed array out is one call:
///
/// ```
/// use tensorgraph::Value;
/// let v = Value::from(vec![1.0f32, 2.0]);
/// let a = v.into_array::<f32>().unwrap();
/// assert_eq!(a.as_slice().unwrap(), &[1.0, 2.0]);
/// ```
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `float32` data.
    F32(ArrayD<f32>),
    /// `float64` data.
    F64(ArrayD<f64>),
    /// `int32` data.
    I32(ArrayD<i32>),
    /// `int64` data.
    I64(ArrayD<i64>),
    /// `bool` data.
    Bool(ArrayD<bool>),
}

impl Default for Value {
    /// An empty `float32` vector; allocates nothing.
    fn default() -> Value {
        Value::F32(ArrayD::from_shape_vec(IxDyn(&[0]), Vec::new()).expect("empty shape"))
    }
}

/// Applies `$body` to the array inside a `Value` of any dtype.
#[macro_export]
#[doc(hidden)]
macro_rules! with_array {
    ($value:expr, $a:ident => $body:expr) => {
        match $value {
            $crate::Value::F32($a) => $body,
            $crate::Value::F64($a) => $body,
            $crate::Value::I32($a) => $body,
            $crate::Value::I64($a) => $body,
            $crate::Value::Bool($a) => $body,
        }
    };
}

impl Value {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Value::F32(_) => DType::Float32,
            Value::F64(_) => DType::Float64,
            Value::I32(_) => DType::Int32,
            Value::I64(_) => DType::Int64,
            Value::Bool(_) => DType::Bool,
        }
    }

    /// The concrete shape.
    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Borrows the array when the dtype is `T`'s.
    pub fn as_array<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::from_value(self)
    }

    /// The array, converted to `T` when the dtype differs (like `tf.cast`;
    /// floats convert to ints by truncation toward zero, bools to 0/1).
    pub fn to_array<T: Element>(&self) -> ArrayD<T> {
        match T::from_value(self) {
            Some(a) => a.clone(),
            None => T::cast_from(self),
        }
    }

    /// Takes the array out, failing when the dtype is not `T`'s.
    ///
    /// # Errors
    /// [`crate::Error::FetchType`] (`the value of shape [2, 3] has dtype
    /// float32, not int64`); [`crate::Session::run_array`] also names the
    /// fetch.
    pub fn into_array<T: Element>(self) -> crate::Result<ArrayD<T>> {
        if self.dtype() != T::DTYPE {
            return Err(crate::Error::FetchType {
                what: format!("the value of shape {}", fmt_dims(self.shape())),
                expected: T::DTYPE,
                got: self.dtype(),
            });
        }
        Ok(T::into_array(self).expect("the dtype is T's"))
    }

    /// The single element of a scalar (or one-element) value, as `T`.
    ///
    /// # Errors
    /// [`crate::Error::FetchType`] when the dtype is not `T`'s,
    /// [`crate::Error::FetchShape`] when there is not exactly one element;
    /// [`crate::Session::run_scalar`] also names the fetch.
    pub fn scalar<T: Element>(&self) -> crate::Result<T> {
        let a = T::from_value(self).ok_or_else(|| crate::Error::FetchType {
            what: format!("the value of shape {}", fmt_dims(self.shape())),
            expected: T::DTYPE,
            got: self.dtype(),
        })?;
        if a.len() != 1 {
            return Err(crate::Error::FetchShape {
                what: format!("the {} value", self.dtype()),
                expected: "a scalar".into(),
                got: fmt_dims(a.shape()),
            });
        }
        Ok(a.iter().next().copied().expect("one element"))
    }

    /// A zero-filled value of the given dtype and shape.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Value {
        let s = IxDyn(shape);
        match dtype {
            DType::Float32 => Value::F32(ArrayD::zeros(s)),
            DType::Float64 => Value::F64(ArrayD::zeros(s)),
            DType::Int32 => Value::I32(ArrayD::zeros(s)),
            DType::Int64 => Value::I64(ArrayD::zeros(s)),
            DType::Bool => Value::Bool(ArrayD::from_elem(s, false)),
        }
    }

    /// The value converted to another dtype (TF's `cast` rules).
    pub fn cast(&self, dtype: DType) -> Value {
        match dtype {
            DType::Float32 => Value::F32(self.to_array()),
            DType::Float64 => Value::F64(self.to_array()),
            DType::Int32 => Value::I32(self.to_array()),
            DType::Int64 => Value::I64(self.to_array()),
            DType::Bool => Value::Bool(self.to_array()),
        }
    }

    /// Copies `src` into `self`, reusing `self`'s buffer when dtype and
    /// shape agree (no allocation), replacing it otherwise; large
    /// contiguous copies are split over up to `threads` threads.
    pub(crate) fn copy_from_view(&mut self, src: &FeedValue<'_>, threads: usize) {
        macro_rules! copy {
            ($($v:ident)*) => {
                match (&mut *self, src) {
                    $((Value::$v(dst), FeedValue::$v(s)) if dst.shape() == s.shape() => {
                        match (dst.as_slice_mut(), s.as_slice()) {
                            (Some(d), Some(s)) => copy_split(d, s, threads),
                            _ => dst.assign(s),
                        }
                    })*
                    (dst, s) => *dst = s.to_value(),
                }
            };
        }
        copy!(F32 F64 I32 I64 Bool)
    }
}

/// Bytes from which a copy is split over threads: one core does not
/// saturate the memory system (the MLP evaluation's 31 MB batch).
const SPLIT_COPY_BYTES: usize = 1 << 22;

/// `dst.copy_from_slice(src)`, in parts on up to `threads` threads when
/// large.
fn copy_split<T: Copy + Send + Sync>(dst: &mut [T], src: &[T], threads: usize) {
    let bytes = std::mem::size_of_val(dst);
    if threads < 2 || bytes < SPLIT_COPY_BYTES {
        dst.copy_from_slice(src);
        return;
    }
    let part = dst.len().div_ceil(4 * threads);
    let parts = dst.chunks_mut(part).zip(src.chunks(part));
    crate::parallel::for_each(threads, parts, |(d, s)| d.copy_from_slice(s));
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_array!(self, a => write!(f, "{}{} {:?}", self.dtype(), fmt_dims(a.shape()), a.as_slice_memory_order().unwrap_or(&[])))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_array!(self, a => write!(f, "{a}"))
    }
}

/// A Rust element type that has a TensorFlow dtype.
pub trait Element: Copy + Send + Sync + fmt::Debug + PartialEq + 'static {
    /// The dtype of a tensor of this element.
    const DTYPE: DType;
    /// Borrows the array when `v` has this dtype.
    fn from_value(v: &Value) -> Option<&ArrayD<Self>>;
    /// Takes the array when `v` has this dtype.
    fn into_array(v: Value) -> Option<ArrayD<Self>>;
    /// Wraps an array in a `Value`.
    fn into_value(a: ArrayD<Self>) -> Value;
    /// Converts any value elementwise (TF's `cast`).
    fn cast_from(v: &Value) -> ArrayD<Self>;
    /// Wraps a borrowed or owned array as a feed.
    fn feed_cow(a: CowArray<'_, Self, IxDyn>) -> FeedValue<'_>;
}

/// Lossy numeric conversions used by `cast`.
pub(crate) trait AsF64: Copy {
    fn as_f64(self) -> f64;
}
impl AsF64 for f32 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}
impl AsF64 for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}
impl AsF64 for i32 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}
impl AsF64 for i64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}
impl AsF64 for bool {
    fn as_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
}

macro_rules! element {
    ($t:ty, $dt:ident, $v:ident, |$x:ident| $conv:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            fn from_value(v: &Value) -> Option<&ArrayD<Self>> {
                match v {
                    Value::$v(a) => Some(a),
                    _ => None,
                }
            }
            fn into_array(v: Value) -> Option<ArrayD<Self>> {
                match v {
                    Value::$v(a) => Some(a),
                    _ => None,
                }
            }
            fn into_value(a: ArrayD<Self>) -> Value {
                Value::$v(a)
            }
            fn cast_from(v: &Value) -> ArrayD<Self> {
                match v {
                    Value::F32(a) => a.mapv(|$x| {
                        let $x = $x.as_f64();
                        $conv
                    }),
                    Value::F64(a) => a.mapv(|$x| {
                        let $x = $x.as_f64();
                        $conv
                    }),
                    Value::I32(a) => a.mapv(|$x| {
                        let $x = $x.as_f64();
                        $conv
                    }),
                    Value::I64(a) => a.mapv(|$x| {
                        let $x = $x.as_f64();
                        $conv
                    }),
                    Value::Bool(a) => a.mapv(|$x| {
                        let $x = $x.as_f64();
                        $conv
                    }),
                }
            }
            fn feed_cow(a: CowArray<'_, Self, IxDyn>) -> FeedValue<'_> {
                FeedValue::$v(a)
            }
        }

        impl From<ArrayD<$t>> for Value {
            fn from(a: ArrayD<$t>) -> Value {
                Value::$v(a)
            }
        }
        impl From<$t> for Value {
            fn from(x: $t) -> Value {
                Value::$v(ndarray::arr0(x).into_dyn())
            }
        }
        impl From<Vec<$t>> for Value {
            fn from(x: Vec<$t>) -> Value {
                Value::$v(ndarray::Array1::from(x).into_dyn())
            }
        }
    };
}

element!(f32, Float32, F32, |x| x as f32);
element!(f64, Float64, F64, |x| x);
element!(i32, Int32, I32, |x| x as i32);
element!(i64, Int64, I64, |x| x as i64);
element!(bool, Bool, Bool, |x| x != 0.0);

/// A value given to a feed: borrowed (zero-copy until the session copies it
/// into its own buffer) or owned.
#[derive(Clone, Debug)]
pub enum FeedValue<'a> {
    /// `float32` data.
    F32(CowArray<'a, f32, IxDyn>),
    /// `float64` data.
    F64(CowArray<'a, f64, IxDyn>),
    /// `int32` data.
    I32(CowArray<'a, i32, IxDyn>),
    /// `int64` data.
    I64(CowArray<'a, i64, IxDyn>),
    /// `bool` data.
    Bool(CowArray<'a, bool, IxDyn>),
}

impl FeedValue<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            FeedValue::F32(_) => DType::Float32,
            FeedValue::F64(_) => DType::Float64,
            FeedValue::I32(_) => DType::Int32,
            FeedValue::I64(_) => DType::Int64,
            FeedValue::Bool(_) => DType::Bool,
        }
    }

    /// The concrete shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            FeedValue::F32(a) => a.shape(),
            FeedValue::F64(a) => a.shape(),
            FeedValue::I32(a) => a.shape(),
            FeedValue::I64(a) => a.shape(),
            FeedValue::Bool(a) => a.shape(),
        }
    }

    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match self {
            FeedValue::F32(a) => Value::F32(a.to_owned()),
            FeedValue::F64(a) => Value::F64(a.to_owned()),
            FeedValue::I32(a) => Value::I32(a.to_owned()),
            FeedValue::I64(a) => Value::I64(a.to_owned()),
            FeedValue::Bool(a) => Value::Bool(a.to_owned()),
        }
    }
}

/// Anything that can be fed: scalars, `Vec`s, slices, ndarray arrays and
/// views of any dimensionality, and [`Value`]s.
pub trait IntoFeed<'a> {
    /// The feed value (borrowing where possible).
    fn into_feed(self) -> FeedValue<'a>;
}

impl<'a> IntoFeed<'a> for FeedValue<'a> {
    fn into_feed(self) -> FeedValue<'a> {
        self
    }
}

impl<'a> IntoFeed<'a> for Value {
    fn into_feed(self) -> FeedValue<'a> {
        with_array!(self, a => Element::feed_cow(a.into()))
    }
}

impl<'a> IntoFeed<'a> for &'a Value {
    fn into_feed(self) -> FeedValue<'a> {
        with_array!(self, a => Element::feed_cow(a.view().into()))
    }
}

macro_rules! feed_scalar {
    ($($t:ty)*) => {$(
        impl<'a> IntoFeed<'a> for $t {
            fn into_feed(self) -> FeedValue<'a> {
                owned_feed(ndarray::arr0(self).into_dyn())
            }
        }
        impl<'a> IntoFeed<'a> for Vec<$t> {
            fn into_feed(self) -> FeedValue<'a> {
                owned_feed(ndarray::Array1::from(self).into_dyn())
            }
        }
        impl<'a> IntoFeed<'a> for &'a [$t] {
            fn into_feed(self) -> FeedValue<'a> {
                Element::feed_cow(ndarray::ArrayView1::from(self).into_dyn().into())
            }
        }
        impl<'a> IntoFeed<'a> for &'a Vec<$t> {
            fn into_feed(self) -> FeedValue<'a> {
                self.as_slice().into_feed()
            }
        }
    )*};
}
feed_scalar!(f32 f64 i32 i64 bool);

impl<'a, T: Element, D: ndarray::Dimension> IntoFeed<'a> for ndarray::ArrayView<'a, T, D> {
    fn into_feed(self) -> FeedValue<'a> {
        T::feed_cow(self.into_dyn().into())
    }
}

impl<'a, T: Element, D: ndarray::Dimension> IntoFeed<'a> for &'a ndarray::Array<T, D> {
    fn into_feed(self) -> FeedValue<'a> {
        T::feed_cow(self.view().into_dyn().into())
    }
}

impl<'a, T: Element, D: ndarray::Dimension> IntoFeed<'a> for ndarray::Array<T, D> {
    fn into_feed(self) -> FeedValue<'a> {
        owned_feed(self.into_dyn())
    }
}

fn owned_feed<'a, T: Element>(a: ArrayD<T>) -> FeedValue<'a> {
    T::feed_cow(CowArray::from(a))
}

/// `v`'s array when its dtype is `T`'s, mutably.
pub(crate) fn array_mut<T: Element>(v: &mut Value) -> Option<&mut ArrayD<T>> {
    with_array!(v, a => (a as &mut dyn std::any::Any).downcast_mut::<ArrayD<T>>())
}
