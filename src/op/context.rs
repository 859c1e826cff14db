//! What a kernel sees at run time: its inputs, its output buffers (kept
//! from the previous run, so a steady-state run allocates nothing), the
//! variables it updates, its random stream and its thread budget.

use crate::dtype::broadcast_dims;
use crate::value::{array_mut, Element, Value};
use ndarray::{ArrayD, IxDyn, Zip};
use rand_chacha::ChaCha8Rng;

/// Why a kernel failed; the session adds the node's name, kind, input
/// shapes and creation site.
#[derive(Debug)]
pub enum KernelError {
    /// A message about the inputs (typically shapes known only now).
    Message(String),
    /// A variable this op updates (index into `Op::updates`) has no value.
    Uninitialized(usize),
    /// `check_numerics` found non-finite values.
    NonFinite {
        /// The user's message.
        message: String,
        /// `NaN`, `Inf` or `NaN and Inf`.
        what: &'static str,
    },
}

impl From<String> for KernelError {
    fn from(s: String) -> KernelError {
        KernelError::Message(s)
    }
}

impl From<&str> for KernelError {
    fn from(s: &str) -> KernelError {
        KernelError::Message(s.to_string())
    }
}

/// Inputs, output buffers, updated variables and random stream of one
/// kernel invocation.
///
/// Output buffers hold the previous run's values (or an empty default):
/// a kernel may overwrite them whole with [`ComputeCtx::set`], or reuse their
/// storage when shape and dtype still match.
pub struct ComputeCtx<'a> {
    pub(crate) inputs: &'a [&'a Value],
    pub(crate) outputs: &'a mut [Value],
    pub(crate) state: &'a mut [Option<Value>],
    pub(crate) rng: Option<&'a mut ChaCha8Rng>,
    pub(crate) threads: usize,
    /// Per output: whether anything reads it this run (empty: all).
    pub(crate) needed: &'a [bool],
}

impl<'a> ComputeCtx<'a> {
    /// A kernel context for calling an op directly (tests, tools).
    pub fn new(
        inputs: &'a [&'a Value],
        outputs: &'a mut [Value],
        state: &'a mut [Option<Value>],
        rng: Option<&'a mut ChaCha8Rng>,
    ) -> ComputeCtx<'a> {
        ComputeCtx {
            inputs,
            outputs,
            state,
            rng,
            threads: 1,
            needed: &[],
        }
    }

    /// The same context told which outputs this run reads.
    pub(crate) fn with_needed(mut self, needed: &'a [bool]) -> ComputeCtx<'a> {
        self.needed = needed;
        self
    }

    /// Whether anything reads output `i` in this run (a fetch or a later
    /// kernel). A kernel may leave an unread output's buffer as it is.
    pub fn output_needed(&self, i: usize) -> bool {
        self.needed.get(i).copied().unwrap_or(true)
    }

    /// The same context allowed to use up to `threads` threads.
    pub fn with_threads(mut self, threads: usize) -> ComputeCtx<'a> {
        self.threads = threads.max(1);
        self
    }

    /// How many threads the kernel may use (the session's
    /// `intra_op_threads`).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Input `i`.
    pub fn input(&self, i: usize) -> &'a Value {
        self.inputs[i]
    }

    /// All inputs.
    pub fn inputs(&self) -> &'a [&'a Value] {
        self.inputs
    }

    /// Sets output `i`.
    pub fn set(&mut self, i: usize, v: impl Into<Value>) {
        self.outputs[i] = v.into();
    }

    /// The buffer of output `i`, holding the previous value.
    pub fn output_mut(&mut self, i: usize) -> &mut Value {
        &mut self.outputs[i]
    }

    /// Every output buffer (holding the previous run's values).
    pub fn outputs_mut(&mut self) -> &mut [Value] {
        self.outputs
    }

    /// Output `i` as a standard-layout array of `T` of the given shape:
    /// the previous run's buffer when its dtype and shape match (its
    /// contents are stale: the kernel must overwrite every element),
    /// otherwise a new zero-filled array. After the first run of a plan
    /// this allocates nothing.
    pub fn stale_output<T: Element + num_traits::Zero>(
        &mut self,
        i: usize,
        shape: &[usize],
    ) -> &mut ArrayD<T> {
        let fits = array_mut::<T>(&mut self.outputs[i])
            .is_some_and(|a| a.shape() == shape && a.is_standard_layout());
        if !fits {
            self.outputs[i] = T::into_value(ArrayD::zeros(IxDyn(shape)));
        }
        array_mut::<T>(&mut self.outputs[i]).expect("output buffer of dtype T")
    }

    /// Sets output `i` to `f` applied to every element of `x` (of any
    /// layout), reusing the output buffer. Large contiguous inputs are
    /// split over the kernel's threads.
    pub fn map_into<A: Copy + Sync, T: Element + num_traits::Zero>(
        &mut self,
        i: usize,
        x: &ArrayD<A>,
        f: impl Fn(A) -> T + Sync,
    ) {
        let threads = self.threads;
        let out = self.stale_output::<T>(i, x.shape());
        match (x.as_slice(), out.as_slice_mut()) {
            (Some(xs), Some(os)) => split_rows(threads, os, 1, |start, os| {
                for (o, &v) in os.iter_mut().zip(&xs[start..]) {
                    *o = f(v);
                }
            }),
            _ => Zip::from(out).and(x).for_each(|o, &v| *o = f(v)),
        }
    }

    /// Sets output `i` to `f(a, b)` elementwise with NumPy broadcasting,
    /// reusing the output buffer.
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn zip_into<A: Copy + Sync, B: Copy + Sync, T: Element + num_traits::Zero>(
        &mut self,
        i: usize,
        a: &ArrayD<A>,
        b: &ArrayD<B>,
        f: impl Fn(A, B) -> T + Sync,
    ) -> Result<(), String> {
        let threads = self.threads;
        if a.shape() == b.shape() {
            let out = self.stale_output::<T>(i, a.shape());
            match (a.as_slice(), b.as_slice(), out.as_slice_mut()) {
                (Some(xs), Some(ys), Some(os)) => split_rows(threads, os, 1, |start, os| {
                    let (xs, ys) = (&xs[start..], &ys[start..]);
                    for ((o, &x), &y) in os.iter_mut().zip(xs).zip(ys) {
                        *o = f(x, y);
                    }
                }),
                _ => Zip::from(out)
                    .and(a)
                    .and(b)
                    .for_each(|o, &x, &y| *o = f(x, y)),
            }
            return Ok(());
        }
        if let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice()) {
            // A row added to every row of a matrix (a bias): slices.
            let n = ys.len();
            if b.ndim() <= a.ndim() && n > 0 && a.shape().ends_with(b.shape()) {
                let out = self.stale_output::<T>(i, a.shape());
                let os = out.as_slice_mut().expect("standard layout");
                split_rows(threads, os, n, |start, os| {
                    let rows = os.chunks_exact_mut(n).zip(xs[start..].chunks_exact(n));
                    for (orow, xrow) in rows {
                        for ((o, &x), &y) in orow.iter_mut().zip(xrow).zip(ys) {
                            *o = f(x, y);
                        }
                    }
                });
                return Ok(());
            }
        }
        let shape = broadcast_dims(a.shape(), b.shape())?;
        let av = a.broadcast(IxDyn(&shape)).expect("broadcastable");
        let bv = b.broadcast(IxDyn(&shape)).expect("broadcastable");
        let out = self.stale_output::<T>(i, &shape);
        Zip::from(out)
            .and(&av)
            .and(&bv)
            .for_each(|o, &x, &y| *o = f(x, y));
        Ok(())
    }

    /// The variables the op updates (in `Op::updates` order).
    pub fn state(&mut self) -> &mut [Option<Value>] {
        self.state
    }

    /// The op's random stream.
    ///
    /// # Panics
    /// When the op did not declare randomness (a bug in the op).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng.as_deref_mut().expect("op declared Randomness")
    }

    /// Input `i` as an array of element type `T`, or an error naming its
    /// dtype.
    pub fn input_as<T: Element>(&self, i: usize) -> Result<&'a ArrayD<T>, KernelError> {
        T::from_value(self.inputs[i]).ok_or_else(|| {
            KernelError::Message(format!(
                "input {i} has dtype {}, expected {}",
                self.inputs[i].dtype(),
                T::DTYPE
            ))
        })
    }
}

/// Elements from which an elementwise kernel splits over threads (below,
/// handing work to another thread costs more than it saves).
const PARALLEL_ELEMENTS: usize = 1 << 18;

/// Runs `f(start, part)` over consecutive parts of `out` that together
/// cover it, each a whole number of `row`s starting at element `start`:
/// one part on one thread, or (for large `out` and `threads > 1`) several
/// parts taken by the session's worker threads one at a time.
fn split_rows<T: Send>(
    threads: usize,
    out: &mut [T],
    row: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let row = row.max(1);
    if threads < 2 || out.len() < PARALLEL_ELEMENTS {
        f(0, out);
        return;
    }
    // A few parts per thread, so a thread on a busy core takes fewer.
    let rows_per_part = (out.len() / row).div_ceil(4 * threads).max(1);
    let part = rows_per_part * row;
    crate::parallel::for_each(threads, out.chunks_mut(part).enumerate(), |(i, o)| {
        f(i * part, o)
    });
}
