//! Adversarial perturbations: the fast gradient sign method and projected gradient descent,
//! in the L∞ ball of radius ε (changes a person could not tell apart, for small ε).

use knit_tensor::Float;

/// How adversarial examples are made from the gradient of the loss with respect to the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Attack {
    /// Fast gradient sign (Goodfellow et al.): `x' = x + ε·sign(∇ₓL)`.
    Fgsm {
        /// ε, in the units of the (scaled) inputs.
        eps: f64,
    },
    /// Projected gradient descent (Madry et al.): `steps` steps
    /// `x' ← Π_{‖x'−x‖∞ ≤ ε}(x' + α·sign(∇ₓL))`, starting at `x`.
    Pgd {
        /// ε, the radius of the ball.
        eps: f64,
        /// α, the step size.
        alpha: f64,
        /// Number of steps.
        steps: usize,
    },
}

impl Attack {
    /// ε of the attack.
    pub fn eps(self) -> f64 {
        match self {
            Attack::Fgsm { eps } | Attack::Pgd { eps, .. } => eps,
        }
    }

    /// The number of gradient steps and the size of each.
    pub fn schedule(self) -> (usize, f64) {
        match self {
            Attack::Fgsm { eps } => (1, eps),
            Attack::Pgd { alpha, steps, .. } => (steps, alpha),
        }
    }
}

impl std::fmt::Display for Attack {
    /// As written in a `.net` file: `fgsm(eps: 0.1)`, `pgd(eps: 0.1, alpha: 0.02, steps: 10)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attack::Fgsm { eps } => write!(f, "fgsm(eps: {eps})"),
            Attack::Pgd { eps, alpha, steps } => {
                write!(f, "pgd(eps: {eps}, alpha: {alpha}, steps: {steps})")
            }
        }
    }
}

/// One signed-gradient step: `x ← x + step·sign(g)`, then projected back into the ε-ball
/// around `original` and into `range` (the valid input range, if any). `sign(0) = 0`.
pub fn signed_step<T: Float>(
    x: &mut [T],
    grad: &[T],
    original: &[T],
    step: f64,
    eps: f64,
    range: Option<(f64, f64)>,
) {
    let (step, eps) = (T::lit(step), T::lit(eps));
    let (lo, hi) = range.map_or((T::neg_infinity(), T::infinity()), |(a, b)| {
        (T::lit(a), T::lit(b))
    });
    for ((xi, &gi), &oi) in x.iter_mut().zip(grad).zip(original) {
        let sign = if gi > T::zero() {
            T::one()
        } else if gi < T::zero() {
            -T::one()
        } else {
            T::zero()
        };
        let moved = (*xi + step * sign).max(oi - eps).min(oi + eps);
        *xi = moved.max(lo).min(hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fgsm_moves_every_coordinate_by_eps_exactly() {
        let original = [0.5f32, 0.5, 0.5, 0.25];
        let mut x = original;
        signed_step(
            &mut x,
            &[2.0, -0.1, 0.0, 1e-30],
            &original,
            0.125,
            0.125,
            None,
        );
        assert_eq!(x, [0.625, 0.375, 0.5, 0.375]);
    }

    #[test]
    fn steps_stay_in_the_ball_and_the_range() {
        let original = [0.9f32, 0.1];
        let mut x = original;
        for _ in 0..10 {
            signed_step(&mut x, &[1.0, -1.0], &original, 0.05, 0.2, Some((0.0, 1.0)));
        }
        assert_eq!(x, [1.0, 0.0]);
        let mut y = [0.5f32];
        for _ in 0..10 {
            signed_step(&mut y, &[1.0], &[0.5], 0.05, 0.2, None);
        }
        assert!((y[0] - 0.7).abs() < 1e-6);
    }
}
