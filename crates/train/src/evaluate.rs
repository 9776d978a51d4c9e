//! Evaluation: each model's loss and accuracy on a dataset, in evaluation mode.

use crate::distributed::share;
use crate::element::Element;
use crate::metrics::{argmax, Confusion, EvalMetrics};
use crate::trainer::{batch_dims, feed, feed_labels};
use crate::{Plan, Task, TrainError};
use knit_data::Dataset;
use knit_dist::{Collective, Single};
use knit_tensor::{Executor, Mode};
use ndarray::s;

/// Runs every model of `plan` over `data` in batches of `batch` examples.
pub(crate) fn evaluate<F: Element>(
    exec: &mut Executor<F>,
    plan: &Plan,
    data: &Dataset,
    batch: usize,
) -> Result<Vec<EvalMetrics>, TrainError> {
    evaluate_in(&Single, exec, plan, data, batch)
}

/// [`evaluate`] as one rank of `group`: each rank runs its contiguous share of the rows
/// (the shares of the training batches), and one all-reduce adds the loss sums and the
/// confusion counts, so that every rank gets the same metrics of the whole set.
pub(crate) fn evaluate_in<F: Element>(
    group: &dyn Collective,
    exec: &mut Executor<F>,
    plan: &Plan,
    data: &Dataset,
    batch: usize,
) -> Result<Vec<EvalMetrics>, TrainError> {
    let n = data.len();
    let classes = match plan.task {
        Task::Classification { classes } => Some(classes),
        Task::Regression => None,
    };
    let rows = share(n, group.rank(), group.size());
    let mut results = Vec::with_capacity(plan.models.len());
    for model in &plan.models {
        let dims = plan.graph.node(model.input)?.shape.dims.clone();
        let mut loss = 0.0f64;
        let mut confusion = classes.map(Confusion::new);
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + batch.max(1)).min(rows.end);
            let x = data.features.slice(s![start..end, ..]);
            let x = x
                .into_shape_with_order(batch_dims(end - start, &dims))
                .map_err(|e| TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                })?;
            let y = data.labels.slice(s![start..end]);
            feed(exec, model.input, x)?;
            feed_labels(exec, plan, y)?;
            exec.run(model.data_loss, Mode::Eval)?;
            loss += exec.scalar(model.data_loss)?.as_f64() * (end - start) as f64;
            if let Some(confusion) = &mut confusion {
                let out = exec.value(model.output)?;
                for (row, &label) in out.outer_iter().zip(y) {
                    confusion.add(label as usize, argmax(row.iter().copied()));
                }
            }
            start = end;
        }
        if group.size() > 1 {
            let mut sums = vec![loss];
            if let Some(c) = &confusion {
                sums.extend(c.counts().map(|k| k as f64));
            }
            group.all_reduce_sum_f64(&mut sums)?;
            loss = sums[0];
            if let Some(c) = &mut confusion {
                c.set_counts(sums[1..].iter().map(|&k| k as u64));
            }
        }
        let (accuracy, per_class_accuracy, confusion) = match confusion {
            Some(c) => {
                let (a, p, m) = c.finish();
                (Some(a), p, m)
            }
            None => (None, Vec::new(), Vec::new()),
        };
        results.push(EvalMetrics {
            loss: loss / n.max(1) as f64,
            accuracy,
            per_class_accuracy,
            confusion,
            examples: n,
        });
    }
    Ok(results)
}
