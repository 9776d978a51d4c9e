//! Mean and spread of a measurement over seeds.

/// The mean of values over seeds and their spread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The arithmetic mean.
    pub mean: f64,
    /// The sample standard deviation `√(Σ(x − mean)² / (n − 1))` (0 for a single value).
    pub spread: f64,
    /// The number of values (seeds).
    pub count: usize,
}

impl Spread {
    /// The mean and sample standard deviation of `values` (NaN mean when empty).
    pub fn of(values: &[f64]) -> Spread {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let spread = if values.len() < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        };
        Spread {
            mean,
            spread,
            count: values.len(),
        }
    }

    /// `mean ± spread` with `decimals` digits after the point.
    pub fn show(&self, decimals: usize) -> String {
        format!("{:.*} ± {:.*}", decimals, self.mean, decimals, self.spread)
    }

    /// Whether `self` and `other` differ by more than the larger of their spreads: the
    /// study's bar for calling a difference an effect rather than seed-to-seed noise. Never
    /// with fewer than two values on either side, where there is no spread to judge by.
    pub fn clearly_differs(&self, other: &Spread) -> bool {
        self.count >= 2
            && other.count >= 2
            && (self.mean - other.mean).abs() > self.spread.max(other.spread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_standard_deviation() {
        let s = Spread::of(&[1.0, 2.0, 3.0]);
        assert_eq!(s.mean, 2.0);
        assert_eq!(s.spread, 1.0);
        assert_eq!(s.show(2), "2.00 ± 1.00");
        assert_eq!(Spread::of(&[4.0]).spread, 0.0);
    }

    #[test]
    fn an_effect_must_exceed_both_spreads() {
        let a = Spread::of(&[1.0, 2.0, 3.0]);
        assert!(!a.clearly_differs(&Spread::of(&[2.5, 2.5])));
        assert!(a.clearly_differs(&Spread::of(&[3.5, 3.5])));
        assert!(!Spread::of(&[1.0]).clearly_differs(&Spread::of(&[9.0])));
    }
}
