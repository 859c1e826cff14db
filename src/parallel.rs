//! Persistent worker threads that share one kernel's work with the calling
//! thread (TF's intra-op thread pool).
//!
//! [`for_each`] hands the parts of a job (chunks of an output, per-thread
//! buffers, ...) to the caller and up to `threads - 1` pool workers, which
//! claim them one at a time. The caller
//! always takes part, so when the other cores are busy it simply does more
//! of the tasks itself: splitting never waits on a worker that has not
//! started. Workers spin briefly after a job before they sleep, so the
//! back-to-back products of a training step reach a worker that is already
//! awake. A run allocates nothing (the job lives on the caller's stack);
//! workers are started on first use.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle worker keeps polling for the next job before sleeping.
const SPIN: Duration = Duration::from_micros(200);

/// One call of [`run`], on the caller's stack.
struct Job<'f> {
    f: &'f (dyn Fn(usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
    panicked: AtomicBool,
}

impl Job<'_> {
    /// Claims and runs tasks until none is left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.tasks {
                return;
            }
            if catch_unwind(AssertUnwindSafe(|| (self.f)(i))).is_err() {
                self.panicked.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// The job on offer to the workers, if any.
struct Slot {
    /// Points at the caller's `Job` while the caller is inside [`run`].
    job: *const Job<'static>,
    /// Workers that may still join the job.
    wanted: usize,
    /// Bumped for every new job; workers compare it with the last they saw.
    generation: u64,
    /// Workers blocked on the condition variable.
    sleepers: usize,
}

// SAFETY: `job` is only dereferenced by a worker that registered in
// `Pool::active` while holding the lock and the job was still posted; the
// caller withdraws the job under the same lock and waits for `active` to
// drop to zero before its `Job` goes out of scope.
unsafe impl Send for Slot {}

struct Pool {
    slot: Mutex<Slot>,
    wake: Condvar,
    /// Mirror of `Slot::generation` that spinning workers poll.
    generation: AtomicU64,
    /// Workers currently working on the posted job.
    active: AtomicUsize,
    /// Set while a caller owns the pool (one job at a time).
    busy: AtomicBool,
    /// Worker threads started so far.
    started: Mutex<usize>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        slot: Mutex::new(Slot {
            job: std::ptr::null(),
            wanted: 0,
            generation: 0,
            sleepers: 0,
        }),
        wake: Condvar::new(),
        generation: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        busy: AtomicBool::new(false),
        started: Mutex::new(0),
    })
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A worker never panics while holding the lock; recover anyway.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts workers until there are at least `n`.
    fn ensure_workers(&'static self, n: usize) {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        while *started < n {
            let spawned = std::thread::Builder::new()
                .name(format!("tensorgraph-worker-{}", *started + 1))
                .spawn(move || self.worker());
            if spawned.is_err() {
                // No more threads: the caller does the work itself.
                return;
            }
            *started += 1;
        }
    }

    fn worker(&self) {
        let mut seen = self.generation.load(Ordering::Acquire);
        loop {
            let spin_from = Instant::now();
            let mut polls = 0u32;
            while self.generation.load(Ordering::Acquire) == seen {
                std::hint::spin_loop();
                polls = polls.wrapping_add(1);
                if polls.is_multiple_of(64) && spin_from.elapsed() > SPIN {
                    break;
                }
            }
            let mut slot = self.lock();
            while slot.generation == seen {
                slot.sleepers += 1;
                slot = self.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
                slot.sleepers -= 1;
            }
            seen = slot.generation;
            if slot.job.is_null() || slot.wanted == 0 {
                continue;
            }
            slot.wanted -= 1;
            self.active.fetch_add(1, Ordering::Acquire);
            // SAFETY: see `Slot`; registered in `active` under the lock
            // while the job was posted.
            let job = unsafe { &*slot.job };
            drop(slot);
            job.work();
            self.active.fetch_sub(1, Ordering::Release);
        }
    }
}

/// Runs `f(0)`, ..., `f(tasks - 1)`, each exactly once, on the calling
/// thread and up to `threads - 1` pool workers, and returns when all have
/// finished.
///
/// Tasks are claimed in index order, one at a time, by whichever thread is
/// free; the caller keeps claiming until none is left, so a worker that is
/// slow to start costs nothing. With `threads <= 1`, one task, or while
/// another thread is using the pool (or from inside a task), everything
/// runs on the caller. A panic in a task is re-raised on the caller, once
/// the tasks other threads had claimed have finished.
fn run(threads: usize, tasks: usize, f: impl Fn(usize) + Sync) {
    let helpers = threads.saturating_sub(1).min(tasks.saturating_sub(1));
    let pool = pool();
    if helpers == 0 || pool.busy.swap(true, Ordering::Acquire) {
        (0..tasks).for_each(f);
        return;
    }
    pool.ensure_workers(helpers);
    let job = Job {
        f: &f,
        tasks,
        next: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
    };
    {
        let mut slot = pool.lock();
        // SAFETY: the lifetime is erased only for the time the job is
        // posted; it is withdrawn below before `job` is dropped.
        slot.job = unsafe {
            std::mem::transmute::<*const Job<'_>, *const Job<'static>>(&job as *const Job<'_>)
        };
        slot.wanted = helpers;
        slot.generation += 1;
        pool.generation.store(slot.generation, Ordering::Release);
        if slot.sleepers > 0 {
            pool.wake.notify_all();
        }
    }
    job.work();
    {
        let mut slot = pool.lock();
        slot.job = std::ptr::null();
        slot.wanted = 0;
    }
    let mut polls = 0u32;
    while pool.active.load(Ordering::Acquire) != 0 {
        polls = polls.wrapping_add(1);
        if polls < 1 << 12 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    pool.busy.store(false, Ordering::Release);
    if job.panicked.load(Ordering::Relaxed) {
        panic!("a task of a parallel kernel panicked (see the message above)");
    }
}

/// Calls `f` on each item of `parts`, once, on the calling thread and up
/// to `threads - 1` pool workers, which take the items one at a time in
/// order (so the caller does them all when no worker is free), and returns
/// when all are done. The items are typically disjoint mutable parts of an
/// output, e.g. `out.chunks_mut(n)`. As [`run`] otherwise.
pub(crate) fn for_each<I>(threads: usize, parts: I, f: impl Fn(I::Item) + Sync)
where
    I: ExactSizeIterator + Send,
    I::Item: Send,
{
    let tasks = parts.len();
    let parts = Mutex::new(parts);
    run(threads, tasks, |_| {
        let part = parts.lock().unwrap_or_else(|e| e.into_inner()).next();
        if let Some(part) = part {
            f(part);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{for_each, run};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_task_runs_once() {
        for threads in 1..4 {
            for tasks in 0..40 {
                let hits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
                run(threads, tasks, |i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn for_each_hands_out_disjoint_mutable_parts() {
        for threads in 1..4 {
            let mut data = vec![0usize; 1000];
            for_each(threads, data.chunks_mut(100).enumerate(), |(i, part)| {
                part.iter_mut().for_each(|x| *x = i);
            });
            assert!(data.iter().enumerate().all(|(j, &x)| x == j / 100));
        }
    }

    #[test]
    fn nested_runs_fall_back_to_the_caller() {
        let total = AtomicUsize::new(0);
        run(2, 4, |_| {
            run(2, 5, |_| {
                total.fetch_add(1, Ordering::Relaxed);
            })
        });
        assert_eq!(total.load(Ordering::Relaxed), 20);
    }

    #[test]
    fn a_panicking_task_panics_the_caller() {
        let r = std::panic::catch_unwind(|| {
            run(2, 8, |i| {
                if i == 3 {
                    panic!("task 3 fails");
                }
            })
        });
        assert!(r.is_err());
        // The pool is usable again.
        let n = AtomicUsize::new(0);
        run(2, 3, |_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 3);
    }
}
