//! The CPU's own instructions, for the kernels outside `gemm`: dispatchers
//! that run a kernel compiled for wider vector instructions where the CPU
//! has them, and a cache prefetch hint. This file owns the invariant that
//! makes them sound: code compiled for an instruction set runs only after
//! a run-time check that the CPU has it (or, for the prefetch, on targets
//! where every CPU has it). Kernels stay safe code.
//!
//! Built for generic x86-64, a loop vectorizes 4 floats wide (SSE2); a
//! kernel handed to a dispatcher is compiled once more for a wider
//! instruction set, and that copy runs where the CPU has it (checked at
//! each call). The copies do the same IEEE operations in the same order
//! (wider registers, more lanes, no fused multiply-add: Rust never
//! contracts `a * b + c`), so every result is bitwise the baseline's.
//!
//! Mark the closure `#[inline(always)]`: its body is compiled for the wide
//! instructions only where it is inlined into the dispatcher's copy.

/// Runs `kernel` compiled for AVX-512F where the CPU has it, else for AVX,
/// else as built: float loops (Adam's sqrt and divide) 16 or 8 lanes wide.
#[inline]
pub(crate) fn avx512_or_avx<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { with_avx512f(kernel) };
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX (checked just above).
            return unsafe { with_avx(kernel) };
        }
    }
    kernel()
}

/// Runs `kernel` compiled for AVX-512 F, DQ and VL where the CPU has them,
/// else as built: 64-bit integer multiplies (the dropout mask's
/// SplitMix64) eight lanes wide.
#[inline]
pub(crate) fn avx512_dq_vl<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
    {
        // SAFETY: the CPU has AVX-512 DQ and VL (checked just above),
        // which imply F.
        return unsafe { with_avx512_dq_vl(kernel) };
    }
    kernel()
}

/// Starts loading the cache line that holds `x` into every cache level,
/// without waiting for it: a hint, so that loads issued together overlap
/// their memory round trips. On targets without the instruction, nothing.
///
/// (Reading a byte of each line instead, in safe code, overlaps less: a
/// load retires only once its data has come, so pending loads fill the
/// CPU's reorder buffer, while a prefetch retires at once. A batch of 128
/// random MNIST rows took 1.3 to 1.7 times as long to gather that way.)
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address, and it needs
    // only SSE, which every x86-64 CPU has (rustc asks for `unsafe` because
    // it does not count the target's baseline features as enabled).
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(x).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn with_avx512f<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn with_avx<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
fn with_avx512_dq_vl<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dispatcher_returns_the_kernels_result() {
        let xs: Vec<f64> = (1..=100).map(|i| f64::from(i).sqrt()).collect();
        let plain: f64 = xs.iter().map(|x| 1.0 / x).sum();
        let sum = |xs: &[f64]| xs.iter().map(|x| 1.0 / x).sum::<f64>();
        assert_eq!(avx512_or_avx(|| sum(&xs)).to_bits(), plain.to_bits());
        assert_eq!(avx512_dq_vl(|| sum(&xs)).to_bits(), plain.to_bits());
    }
}
