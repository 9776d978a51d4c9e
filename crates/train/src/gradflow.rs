//! How the gradient flows through a model on one batch: the norm of every parameter's
//! gradient (the vanishing gradient of a deep sigmoid network shows as norms shrinking
//! towards the input) and, for every recurrent layer, the norm of `∂L/∂h_t` at every step t
//! (vanishing or exploding through time).
//!
//! Everything is computed in `f64`: at 100 steps these norms reach 1e-19 and below, and
//! squaring such values in `f32` underflows to 0.

use crate::{Element, Plan, TrainError, Trainer};
use knit_data::Dataset;
use knit_tensor::ops::Recurrent;
use knit_tensor::{Executor, Mode, NodeKind};
use ndarray::s;

/// The gradient flow of one batch.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientFlow {
    /// Examples in the batch.
    pub examples: usize,
    /// The batch's loss.
    pub loss: f64,
    /// Every trainable parameter, in graph order: its name, shape and ‖∂L/∂W‖₂ (Frobenius).
    pub params: Vec<(String, Vec<usize>, f64)>,
    /// Every recurrent layer, in graph order.
    pub layers: Vec<StepNorms>,
}

/// `‖∂L/∂h_t‖` for every step of one recurrent layer.
#[derive(Clone, Debug, PartialEq)]
pub struct StepNorms {
    /// The layer's node (`h.l0`).
    pub node: String,
    /// Its cell (`lstm`).
    pub kind: &'static str,
    /// For t = 1..T: the Frobenius norm of the `[B, H]` gradient of the batch's loss with
    /// respect to `h_t`, through the output and every later step.
    pub norms: Vec<f64>,
}

/// The gradient flow of the trainer's current weights on the first `examples` rows of
/// `data`, in training mode at the trainer's current step (dropout masks as training draws
/// them), without changing the trainer.
pub fn gradient_flow<F: Element>(
    trainer: &Trainer<F>,
    data: &Dataset,
    examples: usize,
) -> Result<GradientFlow, TrainError> {
    let plan: &Plan = trainer.plan();
    let k = examples.min(data.len());
    let x = data.features.slice(s![..k, ..]).mapv(f64::from);
    let y = data.labels.slice(s![..k]);
    let mut exec = Executor::<f64>::new(&plan.graph);
    exec.copy_state_from(trainer.executor());
    exec.set_step(trainer.steps_done());
    let dims_of = |id| plan.graph.node(id).map(|n| n.shape.dims.clone());
    for m in &plan.models {
        let mut shape = vec![k];
        shape.extend(dims_of(m.input)?);
        let view = x
            .view()
            .into_shape_with_order(shape)
            .map_err(|_| TrainError::DataMismatch {
                model: m.name.clone(),
                message: "the data's rows do not fit the model's input".into(),
            })?;
        exec.set_input(m.input, view)?;
    }
    crate::trainer::feed_labels(&mut exec, plan, y)?;
    exec.run(plan.loss, Mode::Train)?;
    let loss = exec.scalar(plan.loss)?;
    exec.backward(plan.loss)?;
    let mut params = Vec::new();
    for (id, node) in plan.graph.trainable_params() {
        let g = exec.grad(id)?;
        params.push((
            node.name.clone(),
            node.shape.dims.clone(),
            g.iter().map(|v| v * v).sum::<f64>().sqrt(),
        ));
    }
    let mut layers = Vec::new();
    for node in plan.graph.nodes() {
        let NodeKind::Op { op, .. } = &node.kind else {
            continue;
        };
        if !matches!(op.kind(), "rnn" | "lstm" | "gru") {
            continue;
        }
        let id = plan.graph.id(&node.name)?;
        let (steps, hidden) = (node.shape.dims[0], node.shape.dims[1]);
        let grads = exec.workspace(id)?;
        if grads.len() < k * steps * hidden {
            continue; // no gradient reached the layer
        }
        let g = Recurrent::hidden_gradients(grads, k, steps, hidden);
        let norms = (0..steps)
            .map(|t| {
                (0..k)
                    .flat_map(|b| &g[(b * steps + t) * hidden..(b * steps + t + 1) * hidden])
                    .map(|v| v * v)
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        layers.push(StepNorms {
            node: node.name.clone(),
            kind: op.kind(),
            norms,
        });
    }
    Ok(GradientFlow {
        examples: k,
        loss,
        params,
        layers,
    })
}
