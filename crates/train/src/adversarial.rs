//! Adversarial training and evaluation: inputs perturbed with FGSM or PGD against the first
//! model (or against all the members of an ensemble), mixed into training batches or used
//! to measure robustness.

use crate::metrics::argmax;
use crate::trainer::{batch_dims, feed_labels};
use crate::{Element, Ensemble, Plan, Task, TrainError, Trainer};
use knit_data::Dataset;
use knit_regularize::{signed_step, Attack};
use knit_tensor::{Executor, Mode};
use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut2};

/// A model under attack: the first model of `plan`, run by `exec`.
pub(crate) struct Target<'a, F: Element> {
    pub(crate) exec: &'a mut Executor<F>,
    pub(crate) plan: &'a Plan,
}

impl<F: Element> Target<'_, F> {
    /// Runs the loss at rows `x` (labels `y`) and its backward pass, leaving ∂loss/∂x in
    /// the executor. Evaluation mode: the attack neither updates batch norm's running
    /// statistics nor draws dropout masks.
    fn input_gradient(
        &mut self,
        x: ArrayView2<'_, F>,
        y: ArrayView1<'_, f32>,
    ) -> Result<(), TrainError> {
        let model = &self.plan.models[0];
        let dims = &self.plan.graph.node(model.input)?.shape.dims;
        let view = x
            .into_shape_with_order(batch_dims(x.nrows(), dims))
            .map_err(|e| TrainError::DataMismatch {
                model: model.name.clone(),
                message: e.to_string(),
            })?;
        self.exec.set_input(model.input, view)?;
        feed_labels(self.exec, self.plan, y)?;
        self.exec.run(model.data_loss, Mode::Eval)?;
        self.exec.backward(model.data_loss)?;
        Ok(())
    }

    /// The gradient left by [`Target::input_gradient`], flat.
    fn gradient(&self) -> Result<&[F], TrainError> {
        let grad = self.exec.grad(self.plan.models[0].input)?;
        Ok(grad.to_slice().expect("executor buffers are contiguous"))
    }
}

/// Perturbs the rows of `x` (labels `y`) in place against `targets`: each FGSM or PGD step
/// follows the sign of ∂loss/∂x for one model, or of the sum of the models' losses for
/// several (an ensemble's members, attacked together). `original` holds the clean rows.
pub(crate) fn perturb_in_place<F: Element>(
    targets: &mut [Target<'_, F>],
    mut x: ArrayViewMut2<'_, F>,
    original: ArrayView2<'_, F>,
    y: ArrayView1<'_, f32>,
    attack: Attack,
    range: Option<(f64, f64)>,
) -> Result<(), TrainError> {
    let (steps, size) = attack.schedule();
    // One model's gradient is used where it lies (training allocates nothing); several
    // are summed into a buffer.
    let mut sum = if targets.len() > 1 {
        vec![F::zero(); x.len()]
    } else {
        Vec::new()
    };
    let original = original.as_slice().expect("batch buffers are contiguous");
    for _ in 0..steps {
        for target in targets.iter_mut() {
            target.input_gradient(x.view(), y)?;
        }
        let grad = match &*targets {
            [one] => one.gradient()?,
            many => {
                sum.fill(F::zero());
                for target in many.iter() {
                    let g = target.gradient()?;
                    sum.iter_mut().zip(g).for_each(|(s, &g)| *s += g);
                }
                &sum
            }
        };
        let x = x.as_slice_mut().expect("batch buffers are contiguous");
        signed_step(x, grad, original, size, attack.eps(), range);
    }
    Ok(())
}

/// Adversarial versions of the rows `x` (labels `y`) against `targets`, as a new array of
/// the targets' type.
fn perturbed<F: Element>(
    targets: &mut [Target<'_, F>],
    x: ArrayView2<'_, f32>,
    y: ArrayView1<'_, f32>,
    attack: Attack,
    range: Option<(f64, f64)>,
) -> Result<Array2<F>, TrainError> {
    let original = x.mapv(F::from_f32);
    let mut adversarial = original.clone();
    perturb_in_place(
        targets,
        adversarial.view_mut(),
        original.view(),
        y,
        attack,
        range,
    )?;
    Ok(adversarial)
}

impl<F: Element> Trainer<F> {
    /// Adversarial versions of the examples `x` with labels `y`, against the first model.
    pub fn perturb(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayView1<'_, f32>,
        attack: Attack,
        range: Option<(f64, f64)>,
    ) -> Result<Array2<F>, TrainError> {
        self.exec.require_grad(self.plan.models[0].input)?;
        let mut target = [Target {
            exec: &mut self.exec,
            plan: &self.plan,
        }];
        perturbed(&mut target, x, y, attack, range)
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
        let batch = self.options.eval_batch;
        accuracy_in_batches(data, batch, |x, y| {
            let adversarial = self.perturb(x, y, attack, range)?;
            let view = adversarial
                .view()
                .into_shape_with_order(batch_dims(x.nrows(), &dims))
                .map_err(|e| TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                })?;
            self.exec.set_input(model.input, view)?;
            self.exec.run(model.output, Mode::Eval)?;
            let out = self.exec.value(model.output)?;
            Ok(out
                .outer_iter()
                .map(|row| argmax(row.iter().copied()))
                .collect())
        })
    }
}

/// The share of `data`'s examples whose label `classify` gives back, called on batches of
/// `batch` rows (features and labels) and returning a class per row.
fn accuracy_in_batches(
    data: &Dataset,
    batch: usize,
    mut classify: impl FnMut(ArrayView2<'_, f32>, ArrayView1<'_, f32>) -> Result<Vec<usize>, TrainError>,
) -> Result<f64, TrainError> {
    let mut correct = 0usize;
    let mut start = 0;
    while start < data.len() {
        let end = (start + batch.max(1)).min(data.len());
        let y = data.labels.slice(s![start..end]);
        let classes = classify(data.features.slice(s![start..end, ..]), y)?;
        correct += classes
            .iter()
            .zip(y)
            .filter(|(&c, &label)| c as f32 == label)
            .count();
        start = end;
    }
    Ok(correct as f64 / data.len().max(1) as f64)
}

impl<F: Element> Ensemble<F> {
    /// The ensemble's accuracy on `data` after every example is perturbed against all its
    /// members at once: each step follows the gradient of the sum of the members' losses,
    /// the usual way to attack an ensemble (a vote has no gradient of its own). The
    /// perturbed examples are then classified by the ensemble's combination rule.
    pub fn accuracy_under_attack(
        &mut self,
        data: &Dataset,
        attack: Attack,
        range: Option<(f64, f64)>,
    ) -> Result<f64, TrainError> {
        let not_classification = || TrainError::Procedure {
            procedure: "adversarial evaluation",
            message: "accuracy under attack needs a classification ensemble".into(),
        };
        match self.members.first() {
            Some(m) if matches!(m.plan.task, Task::Classification { .. }) => {}
            _ => return Err(not_classification()),
        }
        for member in &mut self.members {
            member.exec.require_grad(member.plan.models[0].input)?;
        }
        let batch = self.members[0].options.eval_batch;
        accuracy_in_batches(data, batch, |x, y| {
            let mut targets: Vec<Target<'_, F>> = self
                .members
                .iter_mut()
                .map(|m| Target {
                    exec: &mut m.exec,
                    plan: &m.plan,
                })
                .collect();
            let adversarial = perturbed(&mut targets, x, y, attack, range)?;
            self.predictions::<F>(adversarial.view())?
                .classes
                .ok_or_else(not_classification)
        })
    }
}
