//! A per-thread scratch buffer for kernels that work through their data in
//! blocks (convolution patches, a product's rows before an update): it is
//! kept across runs, so a steady-state run allocates nothing.

use super::Float;
use std::any::Any;
use std::cell::RefCell;

thread_local! {
    /// This thread's buffer, kept across runs (one per element type in
    /// use: the last one).
    static SCRATCH: RefCell<Box<dyn Any>> = RefCell::new(Box::new(()));
}

/// Calls `f` with a zero-initialized-once buffer of `len` elements kept
/// across calls on this thread (contents stale). A nested call on the same
/// thread gets a fresh allocation.
pub(crate) fn with_scratch<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut held) => {
            if !held.is::<Vec<T>>() {
                *held = Box::new(Vec::<T>::new());
            }
            let v = held.downcast_mut::<Vec<T>>().expect("just set");
            if v.len() < len {
                v.resize(len, T::zero());
            }
            f(&mut v[..len])
        }
        Err(_) => f(&mut vec![T::zero(); len]),
    })
}
