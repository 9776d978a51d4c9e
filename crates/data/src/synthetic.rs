//! Synthetic sets generated from a seed: in the plane, XOR, two spirals, moons and Gaussian
//! blobs; in any dimension, uniform noise with random labels (a benchmark workload); and
//! sequence tasks for recurrent networks (`sequences.rs`: the adding and temporal-order
//! problems).
//!
//! Each generator lays its points out class by class, adds Gaussian noise of standard
//! deviation `noise` to every coordinate, then shuffles the examples, all from one seeded
//! stream, so the same `(kind, samples, noise, seed, stream)` always gives the same set.

use std::f64::consts::PI;

use ndarray::{Array1, Array2};

use crate::huge_pages;

use crate::dataset::Dataset;
use crate::rng::{normal, shuffle, stream as rng_stream, unit, Purpose};
use crate::sequences;
use crate::{DataError, Synthetic};

/// Half-width of the box blob centres are drawn from (like scikit-learn's `center_box`).
const CENTER_BOX: f64 = 10.0;

/// Generates `samples` examples of `kind` with 2 features and class labels.
///
/// `stream` picks an independent stream under `seed`: the loader uses 0 for the main source,
/// 1 for a validation source and 2 for a test source, so those never repeat each other.
pub fn generate(
    kind: &Synthetic,
    samples: usize,
    noise: f64,
    seed: u64,
    stream: u64,
) -> Result<Dataset, DataError> {
    let name = kind_name(kind);
    let bad = |param: &'static str, value: String, expected: &'static str| {
        Err(DataError::SyntheticParam {
            kind: name,
            name: param,
            value,
            expected,
        })
    };
    if samples == 0 {
        return bad("samples", "0".into(), "at least 1");
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return bad("noise", noise.to_string(), "a finite number ≥ 0");
    }
    match *kind {
        Synthetic::Uniform { features: 0, .. } => return bad("features", "0".into(), "at least 1"),
        Synthetic::Uniform { classes: 0, .. } => return bad("classes", "0".into(), "at least 1"),
        Synthetic::Uniform { features, classes } => {
            let mut rng = rng_stream(seed, Purpose::Synthetic, stream);
            // Drawn in row-major order into an allocation on huge pages: the training set
            // keeps it (see `huge_pages.rs`).
            let mut values = huge_pages::zeroed(samples * features);
            values.iter_mut().for_each(|v| *v = unit(&mut rng) as f32);
            let x = Array2::from_shape_vec((samples, features), values)
                .expect("samples × features values");
            let y = Array1::from_shape_simple_fn(samples, || {
                ((unit(&mut rng) * classes as f64) as usize).min(classes - 1) as f32
            });
            return Ok(Dataset {
                features: x,
                feature_dims: vec![features],
                labels: y,
                classes: Some(classes),
            });
        }
        Synthetic::Adding { steps } if steps < 2 => {
            return bad("steps", steps.to_string(), "at least 2");
        }
        Synthetic::TemporalOrder { steps } if steps < sequences::ORDER_MIN_STEPS => {
            return bad("steps", steps.to_string(), "at least 10");
        }
        Synthetic::Adding { steps } => {
            let mut rng = rng_stream(seed, Purpose::Synthetic, stream);
            return Ok(sequences::adding(samples, steps, &mut rng));
        }
        Synthetic::TemporalOrder { steps } => {
            let mut rng = rng_stream(seed, Purpose::Synthetic, stream);
            return Ok(sequences::temporal_order(samples, steps, &mut rng));
        }
        Synthetic::Spirals { turns } if !(turns.is_finite() && turns > 0.0) => {
            return bad("turns", turns.to_string(), "a finite number > 0");
        }
        Synthetic::Blobs { centers: 0, .. } => return bad("centers", "0".into(), "at least 1"),
        Synthetic::Blobs { std, .. } if !(std.is_finite() && std >= 0.0) => {
            return bad("std", std.to_string(), "a finite number ≥ 0");
        }
        _ => {}
    }

    let mut rng = rng_stream(seed, Purpose::Synthetic, stream);
    let mut points: Vec<([f64; 2], usize)> = Vec::with_capacity(samples);
    let classes = match *kind {
        Synthetic::Xor => {
            for i in 0..samples {
                let (a, b) = (i & 1, (i >> 1) & 1);
                points.push(([a as f64, b as f64], a ^ b));
            }
            2
        }
        Synthetic::Spirals { turns } => {
            for (class, count) in [(0, samples - samples / 2), (1, samples / 2)] {
                for j in 0..count {
                    let t = (j as f64 + 0.5) / count as f64;
                    let angle = turns * PI * t + class as f64 * PI;
                    points.push(([t * angle.cos(), t * angle.sin()], class));
                }
            }
            2
        }
        Synthetic::Moons => {
            let (outer, inner) = (samples / 2, samples - samples / 2);
            for k in 0..outer {
                let theta = linspace_pi(k, outer);
                points.push(([theta.cos(), theta.sin()], 0));
            }
            for k in 0..inner {
                let theta = linspace_pi(k, inner);
                points.push(([1.0 - theta.cos(), 0.5 - theta.sin()], 1));
            }
            2
        }
        Synthetic::Blobs { centers, std } => {
            let middles: Vec<[f64; 2]> = (0..centers)
                .map(|_| [0, 1].map(|_| CENTER_BOX * (2.0 * unit(&mut rng) - 1.0)))
                .collect();
            for (class, middle) in middles.iter().enumerate() {
                let count = samples / centers + usize::from(class < samples % centers);
                for _ in 0..count {
                    let point = [0, 1].map(|axis| middle[axis] + std * normal(&mut rng));
                    points.push((point, class));
                }
            }
            centers
        }
        Synthetic::Uniform { .. } | Synthetic::Adding { .. } | Synthetic::TemporalOrder { .. } => {
            unreachable!("generated above")
        }
    };
    if noise > 0.0 {
        for (point, _) in &mut points {
            for coordinate in point.iter_mut() {
                *coordinate += noise * normal(&mut rng);
            }
        }
    }
    shuffle(&mut rng, &mut points);

    let features = Array2::from_shape_fn((samples, 2), |(i, j)| points[i].0[j] as f32);
    let labels = Array1::from_iter(points.iter().map(|&(_, class)| class as f32));
    Ok(Dataset {
        features,
        feature_dims: vec![2],
        labels,
        classes: Some(classes),
    })
}

/// The generator's name in messages.
pub(crate) fn kind_name(kind: &Synthetic) -> &'static str {
    match kind {
        Synthetic::Xor => "xor",
        Synthetic::Spirals { .. } => "spirals",
        Synthetic::Moons => "moons",
        Synthetic::Blobs { .. } => "blobs",
        Synthetic::Uniform { .. } => "uniform",
        Synthetic::Adding { .. } => "adding",
        Synthetic::TemporalOrder { .. } => "temporal_order",
    }
}

/// The `k`-th of `count` evenly spaced angles from 0 to π inclusive (NumPy's `linspace`).
fn linspace_pi(k: usize, count: usize) -> f64 {
    if count < 2 {
        0.0
    } else {
        PI * k as f64 / (count - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_counts(data: &Dataset) -> Vec<usize> {
        let mut counts = vec![0; data.classes.unwrap()];
        for &label in &data.labels {
            counts[label as usize] += 1;
        }
        counts
    }

    #[test]
    fn xor_without_noise_is_the_four_corners() {
        let data = generate(&Synthetic::Xor, 8, 0.0, 1, 0).unwrap();
        assert_eq!(data.features.shape(), &[8, 2]);
        for (row, &label) in data.features.outer_iter().zip(&data.labels) {
            let (a, b) = (row[0], row[1]);
            assert!(a == 0.0 || a == 1.0);
            assert_eq!(label, f32::from(u8::from((a == 1.0) != (b == 1.0))));
        }
        assert_eq!(class_counts(&data), [4, 4]);
    }

    #[test]
    fn moons_without_noise_lie_on_their_half_circles() {
        let data = generate(&Synthetic::Moons, 101, 0.0, 2, 0).unwrap();
        assert_eq!(class_counts(&data), [50, 51]);
        for (row, &label) in data.features.outer_iter().zip(&data.labels) {
            let (x, y) = (f64::from(row[0]), f64::from(row[1]));
            let radius = if label == 0.0 {
                x.hypot(y)
            } else {
                (x - 1.0).hypot(y - 0.5)
            };
            assert!((radius - 1.0).abs() < 1e-5, "{x} {y} {label}");
        }
    }

    #[test]
    fn spirals_are_point_symmetric() {
        let data = generate(&Synthetic::Spirals { turns: 3.0 }, 200, 0.0, 3, 0).unwrap();
        assert_eq!(class_counts(&data), [100, 100]);
        let radius_max = data
            .features
            .outer_iter()
            .map(|r| r[0].hypot(r[1]))
            .fold(0.0, f32::max);
        assert!(radius_max <= 1.0 && radius_max > 0.99);
    }

    #[test]
    fn blobs_cluster_around_their_centres() {
        let kind = Synthetic::Blobs {
            centers: 3,
            std: 0.1,
        };
        let data = generate(&kind, 301, 0.0, 4, 0).unwrap();
        assert_eq!(data.classes, Some(3));
        assert_eq!(class_counts(&data), [101, 100, 100]);
        for class in 0..3 {
            let rows: Vec<_> = (0..301)
                .filter(|&i| data.labels[i] == class as f32)
                .collect();
            let sub = data.subset(&rows);
            let mean = sub.features.mean_axis(ndarray::Axis(0)).unwrap();
            let spread = sub.features.std_axis(ndarray::Axis(0), 0.0);
            assert!(mean.iter().all(|m| m.abs() <= 10.5), "{mean}");
            assert!(spread.iter().all(|s| (s - 0.1).abs() < 0.03), "{spread}");
        }
    }

    #[test]
    fn same_seed_same_set_other_stream_other_set() {
        let kind = Synthetic::Moons;
        let a = generate(&kind, 50, 0.1, 9, 0).unwrap();
        assert_eq!(a, generate(&kind, 50, 0.1, 9, 0).unwrap());
        assert_ne!(a.features, generate(&kind, 50, 0.1, 9, 1).unwrap().features);
        assert_ne!(
            a.features,
            generate(&kind, 50, 0.1, 10, 0).unwrap().features
        );
    }

    #[test]
    fn noise_has_the_requested_spread() {
        let data = generate(&Synthetic::Xor, 4000, 0.2, 5, 0).unwrap();
        let offsets: Vec<f64> = data
            .features
            .iter()
            .map(|&v| f64::from(v) - f64::from(v).round())
            .collect();
        let var = offsets.iter().map(|o| o * o).sum::<f64>() / offsets.len() as f64;
        assert!((var.sqrt() - 0.2).abs() < 0.01, "{}", var.sqrt());
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        let message = |kind, samples, noise| {
            generate(&kind, samples, noise, 0, 0)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            message(Synthetic::Xor, 0, 0.0),
            "synthetic xor: samples = 0; expected at least 1"
        );
        assert_eq!(
            message(Synthetic::Moons, 10, -1.0),
            "synthetic moons: noise = -1; expected a finite number ≥ 0"
        );
        assert_eq!(
            message(Synthetic::Spirals { turns: f64::NAN }, 10, 0.0),
            "synthetic spirals: turns = NaN; expected a finite number > 0"
        );
        assert_eq!(
            message(
                Synthetic::Blobs {
                    centers: 0,
                    std: 1.0
                },
                10,
                0.0
            ),
            "synthetic blobs: centers = 0; expected at least 1"
        );
        assert_eq!(
            message(
                Synthetic::Blobs {
                    centers: 2,
                    std: -0.5
                },
                10,
                0.0
            ),
            "synthetic blobs: std = -0.5; expected a finite number ≥ 0"
        );
    }

    #[test]
    fn uniform_has_the_asked_shape_range_and_classes() {
        let kind = Synthetic::Uniform {
            features: 784,
            classes: 10,
        };
        let data = generate(&kind, 2000, 0.0, 0, 0).unwrap();
        assert_eq!(data.features.dim(), (2000, 784));
        assert_eq!(data.feature_dims, vec![784]);
        assert_eq!(data.classes, Some(10));
        assert!(data.features.iter().all(|&v| (0.0..1.0).contains(&v)));
        let mean = data.features.mean().unwrap();
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let counts = class_counts(&data);
        assert!(
            counts.iter().all(|&c| (150..250).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(data, generate(&kind, 2000, 0.0, 0, 0).unwrap());
        let zero = Synthetic::Uniform {
            features: 0,
            classes: 10,
        };
        assert!(generate(&zero, 10, 0.0, 0, 0).is_err());
    }
}
