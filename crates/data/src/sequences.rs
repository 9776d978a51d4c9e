//! Synthetic sequence tasks for recurrent networks, generated from a seed. Each example is
//! `steps` time steps of a few features, laid out time-major in one row (step 0's features
//! first), so a model reads it as `[steps, features]`.
//!
//! - **The adding problem** (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015), a
//!   regression: feature 0 of every step is uniform in [0, 1); feature 1 is 0 except at two
//!   marked steps, `i` uniform in `0..T/2` and `j` uniform in `T/2..T`; the target is the sum
//!   of the two marked values (mean 1, variance 1/6, so always predicting 1 scores an MSE of
//!   about 0.167). The marks are as far apart as T/2 steps on average: the network must carry
//!   a value across that many steps.
//! - **The temporal-order problem** (Hochreiter & Schmidhuber 1997, experiment 6a), 4 classes:
//!   each step is one of 8 symbols, one-hot (a, b, c, d, B, E, X, Y); the first step is B and
//!   the last E, two steps hold X or Y (one in the first tenth-to-fifth of the sequence,
//!   after the B, one around the middle), and the rest are distractors a-d. The class is the
//!   order of the two: XX 0, XY 1, YX 2, YY 3.

use ndarray::{Array1, Array2};
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::rng::{below, unit};

/// The features per step of the adding problem: the value and the marker.
pub(crate) const ADDING_FEATURES: usize = 2;
/// The symbols of the temporal-order problem, one-hot.
pub(crate) const ORDER_SYMBOLS: usize = 8;
/// The fewest steps the temporal-order problem can be laid out in (B, X/Y, X/Y, E and room
/// for the windows).
pub(crate) const ORDER_MIN_STEPS: usize = 10;

/// `samples` sequences of the adding problem with `steps ≥ 2` steps.
pub(crate) fn adding(samples: usize, steps: usize, rng: &mut ChaCha8Rng) -> Dataset {
    let width = steps * ADDING_FEATURES;
    let mut x = Array2::<f32>::zeros((samples, width));
    let mut y = Array1::<f32>::zeros(samples);
    let half = steps / 2;
    for (mut row, target) in x.outer_iter_mut().zip(y.iter_mut()) {
        for t in 0..steps {
            row[t * ADDING_FEATURES] = unit(rng) as f32;
        }
        let i = below(rng, half);
        let j = half + below(rng, steps - half);
        row[i * ADDING_FEATURES + 1] = 1.0;
        row[j * ADDING_FEATURES + 1] = 1.0;
        *target = row[i * ADDING_FEATURES] + row[j * ADDING_FEATURES];
    }
    Dataset {
        features: x,
        feature_dims: vec![steps, ADDING_FEATURES],
        labels: y,
        classes: None,
    }
}

/// `samples` sequences of the temporal-order problem with `steps ≥ ORDER_MIN_STEPS` steps.
pub(crate) fn temporal_order(samples: usize, steps: usize, rng: &mut ChaCha8Rng) -> Dataset {
    const B: usize = 4;
    const E: usize = 5;
    const X: usize = 6;
    let width = steps * ORDER_SYMBOLS;
    let mut x = Array2::<f32>::zeros((samples, width));
    let mut y = Array1::<f32>::zeros(samples);
    // The windows of the two relevant symbols: [T/10, 2T/10) and [5T/10, 6T/10), kept after
    // the B and before the E.
    let window = |from: usize, to: usize| (from.max(1), to.max(from.max(1) + 1).min(steps - 1));
    let first = window(steps / 10, 2 * steps / 10);
    let second = window(5 * steps / 10, 6 * steps / 10);
    for (mut row, label) in x.outer_iter_mut().zip(y.iter_mut()) {
        let mut symbols: Vec<usize> = (0..steps).map(|_| below(rng, 4)).collect();
        symbols[0] = B;
        symbols[steps - 1] = E;
        let t1 = first.0 + below(rng, first.1 - first.0);
        let t2 = second.0 + below(rng, second.1 - second.0);
        let (s1, s2) = (below(rng, 2), below(rng, 2));
        symbols[t1] = X + s1;
        symbols[t2] = X + s2;
        for (t, &s) in symbols.iter().enumerate() {
            row[t * ORDER_SYMBOLS + s] = 1.0;
        }
        *label = (2 * s1 + s2) as f32;
    }
    Dataset {
        features: x,
        feature_dims: vec![steps, ORDER_SYMBOLS],
        labels: y,
        classes: Some(4),
    }
}
