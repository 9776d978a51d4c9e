//! Adversarial training and evaluation: inputs perturbed against the first model with FGSM
//! or PGD, mixed into training batches or used to measure robustness.

use crate::metrics::argmax;
use crate::trainer::{batch_dims, label_batch};
use crate::{Plan, TrainError, Trainer};
use knit_data::Dataset;
use knit_regularize::{signed_step, Attack};
use knit_tensor::{Executor, Mode};
use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut2};

/// Perturbs the rows of `x` (labels `y`) against the first model of `plan`, in place.
///
/// The gradient ∂loss/∂x is taken in evaluation mode, so the attack neither updates batch
/// norm's running statistics nor draws dropout masks. `original` holds the clean rows.
pub(crate) fn perturb_in_place(
    exec: &mut Executor<f32>,
    plan: &Plan,
    mut x: ArrayViewMut2<'_, f32>,
    original: ArrayView2<'_, f32>,
    y: ArrayView1<'_, f32>,
    attack: Attack,
    range: Option<(f64, f64)>,
) -> Result<(), TrainError> {
    let model = &plan.models[0];
    let dims = &plan.graph.node(model.input)?.shape.dims;
    let rows = x.nrows();
    let (steps, size) = attack.schedule();
    for _ in 0..steps {
        let view = x
            .view()
            .into_shape_with_order(batch_dims(rows, dims))
            .map_err(|e| TrainError::DataMismatch {
                model: model.name.clone(),
                message: e.to_string(),
            })?;
        exec.set_input(model.input, view)?;
        exec.set_input(plan.labels, label_batch(plan, y)?)?;
        exec.run(model.data_loss, Mode::Eval)?;
        exec.backward(model.data_loss)?;
        let grad = exec.grad(model.input)?;
        let grad = grad.as_slice().expect("executor buffers are contiguous");
        let x = x.as_slice_mut().expect("batch buffers are contiguous");
        let original = original.as_slice().expect("batch buffers are contiguous");
        signed_step(x, grad, original, size, attack.eps(), range);
    }
    Ok(())
}

impl Trainer {
    /// Adversarial versions of the examples `x` with labels `y`, against the first model.
    pub fn perturb(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayView1<'_, f32>,
        attack: Attack,
        range: Option<(f64, f64)>,
    ) -> Result<Array2<f32>, TrainError> {
        self.exec.require_grad(self.plan.models[0].input)?;
        let original = x.as_standard_layout().into_owned();
        let mut adversarial = original.clone();
        perturb_in_place(
            &mut self.exec,
            &self.plan,
            adversarial.view_mut(),
            original.view(),
            y,
            attack,
            range,
        )?;
        Ok(adversarial)
    }

    /// The first model's accuracy on `data` after every example is perturbed by `attack`.
    pub fn accuracy_under_attack(
        &mut self,
        data: &Dataset,
        attack: Attack,
        range: Option<(f64, f64)>,
    ) -> Result<f64, TrainError> {
        let model = self.plan.models[0].clone();
        let dims = self.plan.graph.node(model.input)?.shape.dims.clone();
        let batch = self.options.eval_batch.max(1);
        let mut correct = 0usize;
        let mut start = 0;
        while start < data.len() {
            let end = (start + batch).min(data.len());
            let y = data.labels.slice(s![start..end]);
            let adversarial =
                self.perturb(data.features.slice(s![start..end, ..]), y, attack, range)?;
            let view = adversarial
                .view()
                .into_shape_with_order(batch_dims(end - start, &dims))
                .map_err(|e| TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                })?;
            self.exec.set_input(model.input, view)?;
            self.exec.run(model.output, Mode::Eval)?;
            let out = self.exec.value(model.output)?;
            correct += out
                .outer_iter()
                .zip(y)
                .filter(|(row, &label)| argmax(row.iter().copied()) as f32 == label)
                .count();
            start = end;
        }
        Ok(correct as f64 / data.len().max(1) as f64)
    }
}
