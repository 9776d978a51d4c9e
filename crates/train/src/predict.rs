//! Predictions of a trained model: its raw outputs and class probabilities for any rows of
//! (scaled) features, computed in evaluation mode.

use crate::metrics::argmax;
use crate::trainer::{batch_dims, feed};
use crate::{Element, Task, TrainError, Trainer};
use knit_tensor::Mode;
use ndarray::{s, Array2, ArrayView2};

/// Predictions for some rows, of one model or of an ensemble
/// ([`crate::Ensemble::predictions`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// One row per example: class probabilities (classification) or predicted values
    /// (regression).
    pub values: Array2<f64>,
    /// The predicted class of each example (classification only).
    pub classes: Option<Vec<usize>>,
}

impl<F: Element> Trainer<F> {
    /// The first model's outputs (logits for classification, predictions for regression) for
    /// every row of `x`, in evaluation mode and in batches of the evaluation batch size.
    pub fn outputs<X: Copy>(&mut self, x: ArrayView2<'_, X>) -> Result<Array2<F>, TrainError>
    where
        F: From<X>,
    {
        let model = self.plan.models[0].clone();
        let dims = self.plan.graph.node(model.input)?.shape.dims.clone();
        let width = self.plan.graph.node(model.output)?.shape.size();
        let n = x.nrows();
        let mut out = Array2::zeros((n, width));
        let batch = self.options.eval_batch.max(1);
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            let rows = x
                .slice(s![start..end, ..])
                .into_shape_with_order(batch_dims(end - start, &dims))
                .map_err(|e| TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                })?;
            feed(&mut self.exec, model.input, rows)?;
            self.exec.run(model.output, Mode::Eval)?;
            let value = self.exec.value(model.output)?;
            let value = value
                .into_shape_with_order((end - start, width))
                .map_err(|e| TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                })?;
            out.slice_mut(s![start..end, ..]).assign(&value);
            start = end;
        }
        Ok(out)
    }

    /// Class probabilities of the first model for every row of `x`: the softmax of its
    /// outputs ([`softmax_rows`]).
    pub fn predict_proba<X: Copy>(
        &mut self,
        x: ArrayView2<'_, X>,
    ) -> Result<Array2<f64>, TrainError>
    where
        F: From<X>,
    {
        Ok(softmax_rows(self.outputs(x)?.view()))
    }

    /// The first model's predictions for every row of `x`: softmax probabilities and the
    /// most probable class (the first on ties) for classification, the outputs for
    /// regression.
    pub fn predictions<X: Copy>(&mut self, x: ArrayView2<'_, X>) -> Result<Predictions, TrainError>
    where
        F: From<X>,
    {
        Ok(match self.plan.task {
            Task::Classification { .. } => {
                let values = self.predict_proba(x)?;
                let classes = values
                    .outer_iter()
                    .map(|r| argmax(r.iter().copied()))
                    .collect();
                Predictions {
                    values,
                    classes: Some(classes),
                }
            }
            Task::Regression => Predictions {
                values: self.outputs(x)?.mapv(|v| v.as_f64()),
                classes: None,
            },
        })
    }
}

/// The softmax of every row, `pᵢ = exp(zᵢ − max z) / Σⱼ exp(zⱼ − max z)`, with the
/// differences taken in the logits' type (`f32` or `f64`) and the exponentials and sum in
/// `f64`.
pub fn softmax_rows<F: Element>(logits: ArrayView2<'_, F>) -> Array2<f64> {
    let mut out = Array2::zeros(logits.raw_dim());
    for (mut p, z) in out.outer_iter_mut().zip(logits.outer_iter()) {
        let max = z.iter().copied().fold(F::neg_infinity(), F::max);
        for (p, &v) in p.iter_mut().zip(z.iter()) {
            *p = (v - max).as_f64().exp();
        }
        let total: f64 = p.sum();
        p /= total;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_rows_sum_to_one_and_match_the_formula() {
        let p = softmax_rows(array![[0.0f32, 0.0], [1.0, 3.0], [1000.0, 0.0]].view());
        assert_eq!(p.row(0).to_vec(), vec![0.5, 0.5]);
        let e2 = 2f64.exp();
        assert!((p[[1, 1]] - e2 / (1.0 + e2)).abs() < 1e-15);
        assert!((p[[1, 0]] + p[[1, 1]] - 1.0).abs() < 1e-15);
        assert_eq!(p.row(2).to_vec(), vec![1.0, 0.0]);
    }
}
