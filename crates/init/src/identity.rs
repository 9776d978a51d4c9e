//! The identity initializer: the IRNN of Le, Jaitly & Hinton (2015) starts a ReLU RNN's
//! recurrent weights at the identity, so that at first the hidden state is carried from
//! step to step unchanged and gradients neither vanish nor explode through time.

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::error::finite;
use crate::{Fans, InitError, Initializer};

/// `gain · I` on a matrix (PyTorch's `eye_`, times `gain`): element `[i, j]` is `gain` where
/// `i = j` and 0 elsewhere; a non-square matrix gets ones on its leading diagonal only, as
/// `eye_` does. The tensor must have exactly two dimensions; the random stream is not used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Identity {
    gain: f32,
}

impl Identity {
    /// The identity times `gain` (finite).
    ///
    /// ```
    /// use knit_init::{initialize, Identity};
    /// let w = initialize(&Identity::new(0.5)?, &[2, 2], 0, "rnn.weight_hh_l0")?;
    /// assert_eq!(w.as_slice(), Some(&[0.5, 0.0, 0.0, 0.5][..]));
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    pub fn new(gain: f32) -> Result<Self, InitError> {
        Ok(Identity {
            gain: finite("identity", "gain", gain)?,
        })
    }

    /// The gain.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

impl Default for Identity {
    /// Gain 1: the plain identity.
    fn default() -> Self {
        Identity { gain: 1.0 }
    }
}

impl Initializer for Identity {
    fn fill(
        &self,
        mut out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        _rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        if out.ndim() != 2 {
            return Err(InitError::NotAMatrix {
                initializer: "identity",
                shape: out.shape().to_vec(),
            });
        }
        for (index, v) in out.indexed_iter_mut() {
            *v = if index[0] == index[1] { self.gain } else { 0.0 };
        }
        Ok(())
    }
}
