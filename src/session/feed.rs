//! Feeds (`feed_dict`) and fetches: what a run is given and what it
//! returns, in the caller's own structure.

use crate::graph::{Operation, Tensor};
use crate::value::{FeedValue, IntoFeed, Value};
use smallvec::SmallVec;

/// A feed dictionary: values for placeholders (or any tensor, which then
/// stands in for the node that would compute it). Usually written with
/// [`feed!`](crate::feed).
#[derive(Clone, Debug, Default)]
pub struct Feeds<'a> {
    pub(crate) items: Vec<(Tensor, FeedValue<'a>)>,
}

impl<'a> Feeds<'a> {
    /// An empty feed dictionary.
    pub fn new() -> Feeds<'a> {
        Feeds { items: Vec::new() }
    }

    /// Feeds `value` to `tensor`.
    pub fn insert(&mut self, tensor: Tensor, value: impl IntoFeed<'a>) {
        self.items.push((tensor, value.into_feed()));
    }

    /// Builder form of [`Feeds::insert`].
    pub fn with(mut self, tensor: Tensor, value: impl IntoFeed<'a>) -> Feeds<'a> {
        self.insert(tensor, value);
        self
    }

    /// Number of fed tensors.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is fed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Builds a [`Feeds`]: `feed!{x => batch_x, keep_prob => 0.5f32}`. Values
/// may be scalars, `Vec`s, slices, ndarray arrays (borrowed or owned) and
/// views, or [`Value`]s.
///
/// ```
/// use tensorgraph::{feed, Graph, DType};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(2)], "x");
/// let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
/// let batch = ndarray::Array2::<f32>::zeros((4, 2));
/// let f = feed! { x => &batch, keep_prob => 0.5f32 };
/// assert_eq!(f.len(), 2);
/// ```
#[macro_export]
macro_rules! feed {
    () => { $crate::Feeds::new() };
    ($($t:expr => $v:expr),+ $(,)?) => {{
        let mut f = $crate::Feeds::new();
        $( f.insert($t, $v); )+
        f
    }};
}

/// One thing a run is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fetch {
    /// A tensor, whose value is returned.
    Tensor(Tensor),
    /// An op, run for its effect.
    Op(Operation),
}

/// What [`Session::run`](crate::Session::run) accepts as fetches: a
/// tensor (returns a [`Value`]), an operation (returns `()`), tuples of
/// these (return tuples), arrays, slices and `Vec`s (return `Vec`s or
/// arrays).
pub trait Fetches {
    /// The values returned, mirroring the fetches' structure.
    type Output;
    /// Appends the fetch targets in order.
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>);
    /// Builds the output from the run's values, consumed in order.
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> Self::Output;
}

impl Fetches for Tensor {
    type Output = Value;
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        out.push(Fetch::Tensor(*self));
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> Value {
        values.next().flatten().expect("a value per fetched tensor")
    }
}

impl Fetches for Operation {
    type Output = ();
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        out.push(Fetch::Op(*self));
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) {
        values.next();
    }
}

impl Fetches for Fetch {
    type Output = Option<Value>;
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        out.push(*self);
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> Option<Value> {
        values.next().flatten()
    }
}

impl<T: Fetches> Fetches for [T] {
    type Output = Vec<T::Output>;
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        self.iter().for_each(|f| f.targets(out));
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> Vec<T::Output> {
        self.iter().map(|f| f.extract(values)).collect()
    }
}

impl<T: Fetches> Fetches for Vec<T> {
    type Output = Vec<T::Output>;
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        self.as_slice().targets(out)
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> Vec<T::Output> {
        self.as_slice().extract(values)
    }
}

impl<T: Fetches + ?Sized> Fetches for &T {
    type Output = T::Output;
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        (**self).targets(out)
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> T::Output {
        (**self).extract(values)
    }
}

impl<T: Fetches, const N: usize> Fetches for [T; N] {
    type Output = [T::Output; N];
    fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
        self.iter().for_each(|f| f.targets(out));
    }
    fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> [T::Output; N] {
        std::array::from_fn(|i| self[i].extract(values))
    }
}

macro_rules! tuple_fetches {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Fetches),+> Fetches for ($($name,)+) {
            type Output = ($($name::Output,)+);
            fn targets(&self, out: &mut SmallVec<[Fetch; 8]>) {
                $( self.$idx.targets(out); )+
            }
            fn extract(&self, values: &mut dyn Iterator<Item = Option<Value>>) -> Self::Output {
                ($( self.$idx.extract(values), )+)
            }
        }
    };
}

tuple_fetches!(A.0);
tuple_fetches!(A.0, B.1);
tuple_fetches!(A.0, B.1, C.2);
tuple_fetches!(A.0, B.1, C.2, D.3);
tuple_fetches!(A.0, B.1, C.2, D.3, E.4);
tuple_fetches!(A.0, B.1, C.2, D.3, E.4, F.5);
tuple_fetches!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
tuple_fetches!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);
