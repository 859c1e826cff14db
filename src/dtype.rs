//! Element types and static shapes, as TensorFlow names and prints them.
//!
//! A [`Shape`] is what is known about a tensor's shape when the graph is
//! built: the rank may be unknown, and so may any dimension (`None`, printed
//! `?`), exactly like TF1's `[None, 784]`.

use std::fmt;

/// The element type of a tensor, with TensorFlow's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float (`tf.float32`).
    Float32,
    /// 64-bit float (`tf.float64`).
    Float64,
    /// 32-bit signed integer (`tf.int32`).
    Int32,
    /// 64-bit signed integer (`tf.int64`).
    Int64,
    /// Boolean (`tf.bool`).
    Bool,
}

impl DType {
    /// True for `float32` and `float64`, the types gradients flow through.
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// True for `int32` and `int64`.
    pub fn is_int(self) -> bool {
        matches!(self, DType::Int32 | DType::Int64)
    }

    /// TF's name for the type: `"float32"`, `"int64"`, ...
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Bool => "bool",
        }
    }

    /// Parses TF's name of a type (`"float32"`, `"float"`, `"int64"`, ...).
    ///
    /// ```
    /// use tensorgraph::DType;
    /// assert_eq!(DType::from_name("float32"), Some(DType::Float32));
    /// assert_eq!(DType::from_name("complex64"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "float32" | "float" => DType::Float32,
            "float64" | "double" => DType::Float64,
            "int32" => DType::Int32,
            "int64" => DType::Int64,
            "bool" => DType::Bool,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One dimension of a static shape: `Some(n)` when known, `None` when only
/// known at run time (TF's `None`, printed `?`).
pub type Dim = Option<usize>;

/// The static shape of a tensor: unknown rank, or a list of possibly
/// unknown dimensions.
///
/// ```
/// use tensorgraph::Shape;
/// let s = Shape::from([None, Some(784)]);
/// assert_eq!(s.to_string(), "[?, 784]");
/// assert!(s.is_compatible_with(&[128, 784]));
/// assert!(!s.is_compatible_with(&[128, 783]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape(Option<Vec<Dim>>);

impl Shape {
    /// A shape of unknown rank (TF's `shape=None`).
    pub fn unknown() -> Shape {
        Shape(None)
    }

    /// The shape of a scalar.
    pub fn scalar() -> Shape {
        Shape(Some(Vec::new()))
    }

    /// A shape whose dimensions are all known.
    pub fn known(dims: &[usize]) -> Shape {
        Shape(Some(dims.iter().map(|&d| Some(d)).collect()))
    }

    /// A shape of known rank whose dimensions are all unknown.
    pub fn unknown_dims(rank: usize) -> Shape {
        Shape(Some(vec![None; rank]))
    }

    /// The dimensions, or `None` when the rank is unknown.
    pub fn dims(&self) -> Option<&[Dim]> {
        self.0.as_deref()
    }

    /// The rank, or `None` when unknown.
    pub fn rank(&self) -> Option<usize> {
        self.0.as_ref().map(Vec::len)
    }

    /// One dimension (negative indices count from the end); `None` when the
    /// rank or that dimension is unknown.
    pub fn dim(&self, axis: isize) -> Dim {
        let dims = self.0.as_ref()?;
        let i = if axis < 0 {
            dims.len() as isize + axis
        } else {
            axis
        };
        dims.get(usize::try_from(i).ok()?).copied().flatten()
    }

    /// All dimensions when every one is known.
    pub fn to_vec(&self) -> Option<Vec<usize>> {
        self.0.as_ref()?.iter().copied().collect()
    }

    /// True when every dimension is known.
    pub fn is_fully_defined(&self) -> bool {
        self.to_vec().is_some()
    }

    /// Number of elements, when fully known.
    pub fn num_elements(&self) -> Option<usize> {
        self.to_vec().map(|d| d.iter().product())
    }

    /// Whether a concrete shape could be a value of this static shape.
    pub fn is_compatible_with(&self, concrete: &[usize]) -> bool {
        match &self.0 {
            None => true,
            Some(dims) => {
                dims.len() == concrete.len()
                    && dims
                        .iter()
                        .zip(concrete)
                        .all(|(d, &c)| d.is_none_or(|d| d == c))
            }
        }
    }

    /// The most specific shape that both shapes allow, or `None` when they
    /// contradict each other.
    pub fn merge(&self, other: &Shape) -> Option<Shape> {
        match (&self.0, &other.0) {
            (None, _) => Some(other.clone()),
            (_, None) => Some(self.clone()),
            (Some(a), Some(b)) => {
                if a.len() != b.len() {
                    return None;
                }
                a.iter()
                    .zip(b)
                    .map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if x != y => Err(()),
                        (Some(x), _) => Ok(Some(*x)),
                        (None, y) => Ok(*y),
                    })
                    .collect::<Result<Vec<_>, ()>>()
                    .ok()
                    .map(|d| Shape(Some(d)))
            }
        }
    }

    /// NumPy broadcasting of two static shapes; `None` when they cannot
    /// broadcast. An unknown dim against 1 stays unknown, against n becomes n.
    pub fn broadcast(&self, other: &Shape) -> Option<Shape> {
        let (Some(a), Some(b)) = (&self.0, &other.0) else {
            return Some(Shape::unknown());
        };
        let n = a.len().max(b.len());
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let x = if i + a.len() >= n {
                a[i + a.len() - n]
            } else {
                Some(1)
            };
            let y = if i + b.len() >= n {
                b[i + b.len() - n]
            } else {
                Some(1)
            };
            out.push(match (x, y) {
                (Some(1), y) => y,
                (x, Some(1)) => x,
                (Some(x), Some(y)) if x == y => Some(x),
                (Some(_), Some(_)) => return None,
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            });
        }
        Some(Shape(Some(out)))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("<unknown>"),
            Some(dims) => {
                f.write_str("[")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match d {
                        Some(n) => write!(f, "{n}")?,
                        None => f.write_str("?")?,
                    }
                }
                f.write_str("]")
            }
        }
    }
}

impl From<Vec<Dim>> for Shape {
    fn from(dims: Vec<Dim>) -> Shape {
        Shape(Some(dims))
    }
}

impl<const N: usize> From<[Dim; N]> for Shape {
    fn from(dims: [Dim; N]) -> Shape {
        Shape(Some(dims.to_vec()))
    }
}

impl From<&[Dim]> for Shape {
    fn from(dims: &[Dim]) -> Shape {
        Shape(Some(dims.to_vec()))
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Shape {
        Shape::known(&dims)
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Shape {
        Shape::known(dims)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Shape {
        Shape::known(&dims)
    }
}

/// Formats a concrete shape like a static one: `[128, 784]`.
pub(crate) fn fmt_dims(dims: &[usize]) -> String {
    Shape::known(dims).to_string()
}

/// A concrete shape held inline (no allocation up to rank 6).
pub(crate) type Dims = smallvec::SmallVec<[usize; 6]>;

/// The NumPy broadcast of two concrete shapes.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    broadcast_dims(a, b).map(|d| d.to_vec())
}

/// [`broadcast_shapes`], held inline.
pub(crate) fn broadcast_dims(a: &[usize], b: &[usize]) -> Result<Dims, String> {
    let n = a.len().max(b.len());
    let mut out: Dims = smallvec::smallvec![0; n];
    for (i, o) in out.iter_mut().enumerate() {
        let x = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let y = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        *o = if x == y || y == 1 {
            x
        } else if x == 1 {
            y
        } else {
            return Err(format!(
                "incompatible shapes for broadcasting: {} vs {}",
                fmt_dims(a),
                fmt_dims(b)
            ));
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules() {
        let a = Shape::from([None, Some(3)]);
        let b = Shape::from([3usize]);
        assert_eq!(a.broadcast(&b).unwrap().to_string(), "[?, 3]");
        let c = Shape::from([4usize, 1]);
        assert_eq!(c.broadcast(&b).unwrap().to_string(), "[4, 3]");
        assert!(Shape::from([2usize]).broadcast(&b).is_none());
    }

    #[test]
    fn merge_and_display() {
        let a = Shape::from([None, Some(3)]);
        let b = Shape::from([Some(2), None]);
        assert_eq!(a.merge(&b).unwrap(), Shape::known(&[2, 3]));
        assert_eq!(Shape::unknown().to_string(), "<unknown>");
        assert_eq!(Shape::scalar().to_string(), "[]");
    }
}
