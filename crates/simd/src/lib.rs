//! Wide vector instructions for knit's element loops, chosen at run time.
//!
//! knit is built for the baseline x86-64 (SSE2) so that one binary runs everywhere; loops
//! that are worth 16 floats a vector run inside [`vectorized`], which compiles them again for
//! AVX-512 or AVX2 + FMA and picks the widest path the CPU has. The elementary functions in
//! [`math`] are written so that such loops vectorize: no branches, no calls into the C
//! library where the CPU has FMA, every operation a correctly rounded IEEE operation (fused
//! multiply-adds included), so they give the same bits on every path.
//!
//! ```
//! use knit_simd::{math, vectorized};
//! let mut xs = [-3.0f32, -0.5, 0.0, 0.5, 3.0];
//! vectorized(|| xs.iter_mut().for_each(|x| *x = math::logistic(*x)));
//! assert!((xs[2] - 0.5).abs() < 1e-7 && (xs[4] - 0.952_574_1).abs() < 1e-6);
//! ```

#![warn(missing_docs)]

pub mod math;
mod vectorize;

pub use vectorize::{fma_is_native, vectorized};
