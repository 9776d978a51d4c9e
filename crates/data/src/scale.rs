//! [`Scaler`]: feature scaling fitted on the training split, applied to every split and to
//! new inputs, and stored with checkpoints.
//!
//! Every scaling is the per-feature affine map `x ↦ (x − shift) / scale`:
//!
//! | [`Scaling`] | shift | scale |
//! |---|---|---|
//! | `None` | — (nothing is done) | — |
//! | `Divide(c)` | 0 | c |
//! | `Standardize` | training mean | training standard deviation (population), or 1 for a constant feature |
//! | `MinMax` | training minimum | training range, or 1 for a constant feature |
//!
//! A constant feature (minimum = maximum) thus maps to exactly 0, never to NaN.

use ndarray::{Array1, Array2, ArrayD, ArrayView2, IxDyn};

use crate::{DataError, Scaling};

/// The name of the stored scaling kind (one value: 0 none, 1 divide, 2 standardize, 3 min-max).
pub const KIND_NAME: &str = "knit.scaler.kind";
/// The name of the stored per-feature shifts.
pub const SHIFT_NAME: &str = "knit.scaler.shift";
/// The name of the stored per-feature divisors.
pub const SCALE_NAME: &str = "knit.scaler.scale";

/// A fitted feature scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    /// What was asked for (for `Divide`, with its divisor).
    kind: Scaling,
    /// Subtracted from each feature (empty for `Scaling::None`).
    shift: Vec<f32>,
    /// Each feature is then divided by this (empty for `Scaling::None`).
    scale: Vec<f32>,
}

impl Default for Scaler {
    /// The scaling that changes nothing.
    fn default() -> Self {
        Scaler::identity()
    }
}

impl Scaler {
    /// The scaling that changes nothing, for inputs of any width.
    pub fn identity() -> Scaler {
        Scaler {
            kind: Scaling::None,
            shift: Vec::new(),
            scale: Vec::new(),
        }
    }

    /// Fits `scaling` on `features` (`[n, d]`, the training split).
    ///
    /// Fails for `Divide(c)` with `c` zero or not finite. With no rows, `Standardize` and
    /// `MinMax` fit shift 0 and scale 1.
    pub fn fit(scaling: Scaling, features: ArrayView2<f32>) -> Result<Scaler, DataError> {
        let width = features.ncols();
        let (shift, scale) = match scaling {
            Scaling::None => return Ok(Scaler::identity()),
            Scaling::Divide(c) => {
                if !(c.is_finite() && c != 0.0 && (c as f32).is_normal()) {
                    return Err(DataError::DivideBy { value: c });
                }
                (vec![0.0; width], vec![c as f32; width])
            }
            Scaling::Standardize | Scaling::MinMax => {
                let stats = Stats::of(features);
                let constant = |j: usize| stats.max[j] <= stats.min[j];
                if scaling == Scaling::Standardize {
                    let scale = (0..width).map(|j| if constant(j) { 1.0 } else { stats.std[j] });
                    (
                        stats.mean.iter().map(|&m| m as f32).collect(),
                        scale.map(|s| s as f32).collect(),
                    )
                } else {
                    let scale = (0..width).map(|j| {
                        if constant(j) {
                            1.0
                        } else {
                            stats.max[j] - stats.min[j]
                        }
                    });
                    (
                        stats.min.iter().map(|&m| m as f32).collect(),
                        scale.map(|s| s as f32).collect(),
                    )
                }
            }
        };
        Ok(Scaler {
            kind: scaling,
            shift,
            scale,
        })
    }

    /// What was fitted: the [`Scaling`] asked for.
    pub fn kind(&self) -> Scaling {
        self.kind
    }

    /// The number of features it was fitted on; `None` for the identity, which fits any width.
    pub fn width(&self) -> Option<usize> {
        (self.kind != Scaling::None).then_some(self.shift.len())
    }

    /// The per-feature shifts (empty for the identity).
    pub fn shift(&self) -> &[f32] {
        &self.shift
    }

    /// The per-feature divisors (empty for the identity).
    pub fn scale(&self) -> &[f32] {
        &self.scale
    }

    /// Scales `features` (`[n, d]`) in place.
    ///
    /// # Panics
    /// If `d` differs from the fitted width; use [`Scaler::try_apply`] for inputs from users.
    pub fn apply(&self, features: &mut Array2<f32>) {
        if let Err(err) = self.try_apply(features) {
            panic!("Scaler::apply: {err}");
        }
    }

    /// Scales `features` (`[n, d]`) in place, or fails if `d` differs from the fitted width.
    pub fn try_apply(&self, features: &mut Array2<f32>) -> Result<(), DataError> {
        let Some(width) = self.width() else {
            return Ok(());
        };
        if features.ncols() != width {
            return Err(DataError::ScalerWidth {
                expected: width,
                found: features.ncols(),
            });
        }
        for mut row in features.rows_mut() {
            for ((x, &shift), &scale) in row.iter_mut().zip(&self.shift).zip(&self.scale) {
                *x = (*x - shift) / scale;
            }
        }
        Ok(())
    }

    /// The scaling as named arrays for a checkpoint: [`KIND_NAME`] (`[1]`), [`SHIFT_NAME`] and
    /// [`SCALE_NAME`] (`[d]`, or `[0]` for the identity).
    pub fn to_named_arrays(&self) -> Vec<(String, ArrayD<f32>)> {
        let code = match self.kind {
            Scaling::None => 0.0,
            Scaling::Divide(_) => 1.0,
            Scaling::Standardize => 2.0,
            Scaling::MinMax => 3.0,
        };
        let vector = |values: &[f32]| Array1::from(values.to_vec()).into_dyn();
        vec![
            (KIND_NAME.to_owned(), ArrayD::from_elem(IxDyn(&[1]), code)),
            (SHIFT_NAME.to_owned(), vector(&self.shift)),
            (SCALE_NAME.to_owned(), vector(&self.scale)),
        ]
    }

    /// The scaling stored by [`Scaler::to_named_arrays`], found by name among `arrays` (other
    /// arrays, such as a checkpoint's weights, are ignored).
    pub fn from_named_arrays<S: AsRef<str>>(
        arrays: &[(S, ArrayD<f32>)],
    ) -> Result<Scaler, DataError> {
        let state = |message: String| DataError::ScalerState { message };
        let find = |name: &str| {
            let (_, array) = arrays
                .iter()
                .find(|(n, _)| n.as_ref() == name)
                .ok_or_else(|| state(format!("expected an array named {name:?}, found none")))?;
            match array.shape() {
                [_] => Ok(array.iter().copied().collect::<Vec<f32>>()),
                shape => Err(state(format!(
                    "{name:?} has shape {shape:?}; expected one dimension"
                ))),
            }
        };
        let kind_values = find(KIND_NAME)?;
        let shift = find(SHIFT_NAME)?;
        let scale = find(SCALE_NAME)?;
        if shift.len() != scale.len() {
            return Err(state(format!(
                "{SHIFT_NAME:?} has {} values but {SCALE_NAME:?} has {}; expected one of each per feature",
                shift.len(),
                scale.len()
            )));
        }
        if let Some(bad) = shift.iter().chain(&scale).find(|v| !v.is_finite()) {
            return Err(state(format!(
                "found the value {bad}; expected finite shifts and divisors"
            )));
        }
        if scale.contains(&0.0) {
            return Err(state(format!(
                "{SCALE_NAME:?} holds a zero; expected non-zero divisors"
            )));
        }
        let kind = match kind_values.as_slice() {
            [code] if *code == 0.0 && shift.is_empty() => Scaling::None,
            [code] if *code == 1.0 => {
                Scaling::Divide(f64::from(scale.first().copied().unwrap_or(1.0)))
            }
            [code] if *code == 2.0 => Scaling::Standardize,
            [code] if *code == 3.0 => Scaling::MinMax,
            other => {
                return Err(state(format!(
                    "{KIND_NAME:?} is {other:?}; expected [0] (with no shifts), [1], [2] or [3]"
                )))
            }
        };
        Ok(Scaler { kind, shift, scale })
    }
}

/// Per-feature statistics of a matrix, in `f64`.
struct Stats {
    /// Means.
    mean: Vec<f64>,
    /// Population standard deviations.
    std: Vec<f64>,
    /// Minima (0 with no rows).
    min: Vec<f64>,
    /// Maxima (0 with no rows).
    max: Vec<f64>,
}

impl Stats {
    /// Two passes over the rows: sums and extremes, then squared deviations.
    fn of(features: ArrayView2<f32>) -> Stats {
        let (n, width) = features.dim();
        if n == 0 {
            let zeros = vec![0.0; width];
            return Stats {
                mean: zeros.clone(),
                std: zeros.clone(),
                min: zeros.clone(),
                max: zeros,
            };
        }
        let mut sum = vec![0.0f64; width];
        let mut min = vec![f64::INFINITY; width];
        let mut max = vec![f64::NEG_INFINITY; width];
        for row in features.rows() {
            for (j, &x) in row.iter().enumerate() {
                let x = f64::from(x);
                sum[j] += x;
                min[j] = min[j].min(x);
                max[j] = max[j].max(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        let mut squares = vec![0.0f64; width];
        for row in features.rows() {
            for (j, &x) in row.iter().enumerate() {
                let d = f64::from(x) - mean[j];
                squares[j] += d * d;
            }
        }
        let std = squares.iter().map(|s| (s / n as f64).sqrt()).collect();
        Stats {
            mean,
            std,
            min,
            max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn standardize_gives_zero_mean_unit_std_and_leaves_constants_at_zero() {
        let train = array![[1.0f32, 5.0, 0.1], [3.0, 5.0, 0.1], [5.0, 5.0, 0.1]];
        let scaler = Scaler::fit(Scaling::Standardize, train.view()).unwrap();
        let mut x = train.clone();
        scaler.apply(&mut x);
        let std = (8.0f32 / 3.0).sqrt();
        let expected = array![
            [-2.0 / std, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [2.0 / std, 0.0, 0.0]
        ];
        assert!(
            x.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6),
            "{x}"
        );
        assert_eq!(scaler.shift()[1], 5.0);
        assert_eq!(scaler.scale()[1], 1.0);
    }

    #[test]
    fn min_max_maps_to_unit_interval() {
        let train = array![[0.0f32, 2.0], [10.0, 2.0], [5.0, 2.0]];
        let scaler = Scaler::fit(Scaling::MinMax, train.view()).unwrap();
        let mut x = array![[5.0f32, 2.0], [20.0, 3.0]];
        scaler.apply(&mut x);
        assert_eq!(x, array![[0.5, 0.0], [2.0, 1.0]]);
    }

    #[test]
    fn divide_and_its_errors() {
        let scaler = Scaler::fit(Scaling::Divide(255.0), array![[0.0f32, 0.0]].view()).unwrap();
        let mut x = array![[255.0f32, 51.0]];
        scaler.apply(&mut x);
        assert_eq!(x, array![[1.0, 0.2]]);
        assert_eq!(scaler.kind(), Scaling::Divide(255.0));
        for c in [0.0, f64::NAN, f64::INFINITY, 1e-300] {
            let err = Scaler::fit(Scaling::Divide(c), array![[0.0f32]].view()).unwrap_err();
            assert!(matches!(err, DataError::DivideBy { .. }), "{err}");
        }
        let err = Scaler::fit(Scaling::Divide(0.0), array![[0.0f32]].view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scaling: divide by 0; expected a finite, non-zero divisor"
        );
    }

    #[test]
    fn identity_fits_any_width() {
        let scaler = Scaler::fit(Scaling::None, array![[1.0f32, 2.0]].view()).unwrap();
        assert_eq!(scaler, Scaler::identity());
        assert_eq!(scaler.width(), None);
        let mut x = array![[7.0f32, 8.0, 9.0]];
        scaler.apply(&mut x);
        assert_eq!(x, array![[7.0, 8.0, 9.0]]);
    }

    #[test]
    fn width_mismatch_is_an_error() {
        let scaler = Scaler::fit(Scaling::MinMax, array![[1.0f32, 2.0]].view()).unwrap();
        let err = scaler.try_apply(&mut array![[1.0f32]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scaling: the inputs have 1 features, but the scaling was fitted on 2"
        );
    }

    #[test]
    fn named_arrays_round_trip() {
        let train = array![[1.0f32, 2.0], [3.0, 6.0]];
        for scaling in [
            Scaling::None,
            Scaling::Divide(16.0),
            Scaling::Standardize,
            Scaling::MinMax,
        ] {
            let scaler = Scaler::fit(scaling, train.view()).unwrap();
            let mut stored = scaler.to_named_arrays();
            stored.insert(0, ("h1.weight".to_owned(), ArrayD::zeros(IxDyn(&[2, 2]))));
            assert_eq!(Scaler::from_named_arrays(&stored).unwrap(), scaler);
        }
    }

    #[test]
    fn bad_stored_arrays_are_errors() {
        let good = Scaler::fit(Scaling::MinMax, array![[1.0f32, 2.0], [2.0, 4.0]].view())
            .unwrap()
            .to_named_arrays();
        let message = |arrays: &[(String, ArrayD<f32>)]| {
            Scaler::from_named_arrays(arrays).unwrap_err().to_string()
        };
        assert_eq!(
            message(&good[..2]),
            "stored feature scaling: expected an array named \"knit.scaler.scale\", found none"
        );
        let mut short = good.clone();
        short[2].1 = ArrayD::from_elem(IxDyn(&[1]), 1.0);
        assert!(message(&short).contains("has 2 values but \"knit.scaler.scale\" has 1"));
        let mut zero = good.clone();
        zero[2].1 = ArrayD::zeros(IxDyn(&[2]));
        assert!(message(&zero).contains("holds a zero"));
        let mut kind = good;
        kind[0].1 = ArrayD::from_elem(IxDyn(&[1]), 7.0);
        assert!(message(&kind).contains("is [7.0]; expected [0]"));
    }
}
