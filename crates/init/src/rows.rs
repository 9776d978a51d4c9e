//! Overriding a block of rows after another initializer: the forget-gate bias of an LSTM
//! (Gers et al. 2000; Jozefowicz et al. 2015 recommend 1), which lives in rows `H..2H` of
//! PyTorch's stacked `bias_ih` (gates i, f, g, o).

use std::sync::Arc;

use ndarray::{ArrayViewMutD, Axis};
use rand::RngCore;

use crate::error::finite;
use crate::{Fans, InitError, Initializer};

/// Fills like `base`, then sets rows `start..end` (of the first dimension) to `value`.
///
/// The base draws from the stream first, so the other rows are exactly `base`'s values.
#[derive(Debug, Clone)]
pub struct ConstantRows {
    base: Arc<dyn Initializer>,
    start: usize,
    end: usize,
    value: f32,
}

impl ConstantRows {
    /// `base` everywhere except rows `start..end`, which are `value` (finite).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use knit_init::{initialize, ConstantRows, Zeros};
    /// // An LSTM with 2 hidden units: the forget block of bias_ih is rows 2..4.
    /// let b = initialize(&ConstantRows::new(Arc::new(Zeros), 2, 4, 1.0)?, &[8], 0, "b")?;
    /// assert_eq!(b.as_slice(), Some(&[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0][..]));
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    pub fn new(
        base: Arc<dyn Initializer>,
        start: usize,
        end: usize,
        value: f32,
    ) -> Result<Self, InitError> {
        if start > end {
            return Err(InitError::InvalidBounds {
                initializer: "constant rows",
                a: start as f32,
                b: end as f32,
                requirement: "a <= b",
            });
        }
        Ok(ConstantRows {
            base,
            start,
            end,
            value: finite("constant rows", "value", value)?,
        })
    }
}

impl Initializer for ConstantRows {
    fn fill(
        &self,
        mut out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        self.base.fill(out.view_mut(), fans, rng)?;
        let rows = out.len_of(Axis(0));
        let end = self.end.min(rows);
        let start = self.start.min(end);
        out.slice_axis_mut(Axis(0), (start..end).into())
            .fill(self.value);
        Ok(())
    }

    fn needs_fans(&self) -> bool {
        self.base.needs_fans()
    }
}
