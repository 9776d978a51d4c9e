//! Properties beyond gradients: normalizations, numerical stability, batch-norm semantics.

mod common;

use common::*;
use knit_tensor::ops::BatchNorm;
use knit_tensor::{Executor, Graph, Mode};
use ndarray::{array, ArrayD, Axis, IxDyn};
use proptest::prelude::*;

proptest! {
    #[test]
    fn softmax_rows_sum_to_one(x in batch_and_features().prop_flat_map(|(b, n)| values(vec![b, n]))) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let s = g.softmax(xi).unwrap();
        let mut exec = Executor::<f64>::new(&g);
        exec.set_input(xi, (&x * 50.0).view()).unwrap();
        exec.run(s, Mode::Eval).unwrap();
        for row in exec.value(s).unwrap().axis_iter(Axis(0)) {
            prop_assert!((row.sum() - 1.0).abs() < 1e-12);
            prop_assert!(row.iter().all(|&p| (0.0..=1.0).contains(&p)));
        }
    }

    #[test]
    fn cross_entropy_is_finite_for_huge_logits(
        (x, labels) in batch_and_features().prop_flat_map(|(b, n)| (values(vec![b, n + 1]), prop::collection::vec(0..=n, b)))
    ) {
        // Logits of ±1e4 in f32: exp would overflow without the max subtraction.
        let logits = x.mapv(|v| (v.signum() * 1e4) as f32);
        let y = ArrayD::from_shape_vec(IxDyn(&[labels.len()]), labels.iter().map(|&l| l as f32).collect()).unwrap();
        let mut g = Graph::new();
        let xi = g.input("x", &logits.shape()[1..]).unwrap();
        let yi = g.labels("y").unwrap();
        let loss = g.cross_entropy(xi, yi).unwrap();
        let mut exec = Executor::<f32>::new(&g);
        exec.require_grad(xi).unwrap();
        exec.set_input(xi, logits.view()).unwrap();
        exec.set_input(yi, y.view()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        exec.backward(loss).unwrap();
        let l = exec.scalar(loss).unwrap();
        prop_assert!(l.is_finite() && l >= 0.0, "loss {}", l);
        prop_assert!(exec.grad(xi).unwrap().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn batch_norm_training_output_has_zero_mean_and_unit_variance(
        x in (2usize..40, 1usize..6).prop_flat_map(|(b, c)| values(vec![b, c]))
    ) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let y = g.batch_norm("bn", xi, BatchNorm::default()).unwrap();
        let mut exec = Executor::<f64>::new(&g);
        // Spread the data out so that eps = 1e-5 is negligible against the variance.
        let x = x.mapv(|v| 10.0 * v + 3.0);
        exec.set_input(xi, x.view()).unwrap();
        exec.run(y, Mode::Train).unwrap();
        let out = exec.value(y).unwrap();
        for (j, col) in out.axis_iter(Axis(1)).enumerate() {
            let var_in = x.index_axis(Axis(1), j).var(0.0);
            prop_assume!(var_in > 1e-2);
            let mean = col.mean().unwrap();
            let var = col.var(0.0);
            prop_assert!(mean.abs() < 1e-9, "mean {}", mean);
            prop_assert!((var - var_in / (var_in + 1e-5)).abs() < 1e-9, "var {}", var);
        }
    }
}

#[test]
fn batch_norm_running_statistics_follow_pytorch() {
    // PyTorch: running_mean = 0.9·0 + 0.1·mean; running_var = 0.9·1 + 0.1·unbiased var.
    let x = array![[1.0, 10.0], [3.0, 14.0], [8.0, 12.0]];
    let mut g = Graph::new();
    let xi = g.input("x", &[2]).unwrap();
    let y = g.batch_norm("bn", xi, BatchNorm::default()).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(xi, x.view().into_dyn()).unwrap();
    exec.run(y, Mode::Train).unwrap();
    let buffers: Vec<_> = exec
        .buffers()
        .into_iter()
        .map(|(n, v)| (n, v.to_owned()))
        .collect();
    assert_eq!(buffers[0].0, "bn.running_mean");
    assert_eq!(buffers[1].0, "bn.running_var");
    // PyTorch's num_batches_tracked: one per training forward pass, a scalar.
    assert_eq!(buffers[2].0, "bn.num_batches_tracked");
    assert_eq!(buffers[2].1.shape(), &[] as &[usize]);
    assert_eq!(buffers[2].1.sum(), 1.0);
    let mean = x.mean_axis(Axis(0)).unwrap();
    let unbiased = x.var_axis(Axis(0), 1.0);
    for j in 0..2 {
        assert!((buffers[0].1[j] - 0.1 * mean[j]).abs() < 1e-12);
        assert!((buffers[1].1[j] - (0.9 + 0.1 * unbiased[j])).abs() < 1e-12);
    }

    // Evaluation uses the running statistics and leaves them unchanged.
    exec.set_input(xi, array![[2.0, 11.0]].view().into_dyn())
        .unwrap();
    exec.run(y, Mode::Eval).unwrap();
    let out = exec.value(y).unwrap();
    for j in 0..2 {
        let expected = ([2.0, 11.0][j] - buffers[0].1[j]) / (buffers[1].1[j] + 1e-5f64).sqrt();
        assert!((out[[0, j]] - expected).abs() < 1e-12);
    }
    let after: Vec<_> = exec
        .buffers()
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect();
    assert_eq!(after[0], buffers[0].1);
    assert_eq!(after[1], buffers[1].1);
    assert_eq!(after[2], buffers[2].1, "evaluation does not count batches");

    exec.set_input(xi, x.view().into_dyn()).unwrap();
    exec.run(y, Mode::Train).unwrap();
    assert_eq!(exec.buffers()[2].1.sum(), 2.0);
}

/// `BatchNorm2d`: one mean and variance per channel over the batch and the plane
/// (n = B·H·W values), the running variance unbiased with n − 1, as in PyTorch.
#[test]
fn batch_norm_on_images_normalizes_each_channel_over_batch_and_plane() {
    let (b, c, h, w) = (2, 3, 2, 3);
    let x = ndarray::Array4::from_shape_fn((b, c, h, w), |(i, j, k, l)| {
        ((i * 7 + j * 5 + k * 3 + l) % 11) as f64 * (j + 1) as f64 - 4.0
    });
    let mut g = Graph::new();
    let xi = g.input("x", &[c, h, w]).unwrap();
    let y = g.batch_norm("bn", xi, BatchNorm::default()).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(xi, x.view().into_dyn()).unwrap();
    exec.run(y, Mode::Train).unwrap();
    let out = exec.value(y).unwrap().to_owned();
    let buffers: Vec<_> = exec
        .buffers()
        .into_iter()
        .map(|(n, v)| (n, v.to_owned()))
        .collect();
    assert_eq!(buffers[0].1.shape(), &[c]);
    for j in 0..c {
        let channel = x.index_axis(Axis(1), j);
        let n = channel.len() as f64;
        let mean = channel.sum() / n;
        let var = channel.mapv(|v| (v - mean) * (v - mean)).sum() / n;
        assert!((buffers[0].1[j] - 0.1 * mean).abs() < 1e-12);
        assert!((buffers[1].1[j] - (0.9 + 0.1 * var * n / (n - 1.0))).abs() < 1e-12);
        for ((i, k, l), &v) in channel.indexed_iter() {
            let expected = (v - mean) / (var + 1e-5).sqrt();
            assert!((out[[i, j, k, l]] - expected).abs() < 1e-12);
        }
    }
    // One image of one pixel leaves a single value per channel: refused in training.
    let mut g = Graph::new();
    let xi = g.input("x", &[2, 1, 1]).unwrap();
    let y = g.batch_norm("bn", xi, BatchNorm::default()).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(
        xi,
        ndarray::Array4::<f64>::zeros((1, 2, 1, 1))
            .view()
            .into_dyn(),
    )
    .unwrap();
    let err = exec.run(y, Mode::Train).unwrap_err();
    assert!(
        err.to_string().contains("more than 1 value per channel"),
        "{err}"
    );
}

#[test]
fn batch_norm_rejects_a_training_batch_of_one() {
    let mut g = Graph::new();
    let xi = g.input("x", &[3]).unwrap();
    let y = g.batch_norm("bn1", xi, BatchNorm::default()).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(xi, array![[1.0f32, 2.0, 3.0]].view().into_dyn())
        .unwrap();
    let err = exec.run(y, Mode::Train).unwrap_err();
    assert_eq!(
        err.to_string(),
        "batch_norm 'bn1': training needs more than 1 value per channel, got a batch of 1"
    );
    // One example is fine in evaluation.
    exec.run(y, Mode::Eval).unwrap();
}

#[test]
fn cross_entropy_matches_the_textbook_value() {
    // -ln softmax([1, 2, 3])[2] = ln(e¹ + e² + e³) − 3.
    let mut g = Graph::new();
    let xi = g.input("x", &[3]).unwrap();
    let yi = g.labels("y").unwrap();
    let loss = g.cross_entropy(xi, yi).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(xi, array![[1.0, 2.0, 3.0]].view().into_dyn())
        .unwrap();
    exec.set_input(yi, array![2.0].view().into_dyn()).unwrap();
    exec.run(loss, Mode::Train).unwrap();
    let expected = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 3.0;
    assert!((exec.scalar(loss).unwrap() - expected).abs() < 1e-15);
}

#[test]
fn a_label_outside_the_classes_is_an_error() {
    let mut g = Graph::new();
    let xi = g.input("x", &[3]).unwrap();
    let yi = g.labels("y").unwrap();
    let loss = g.cross_entropy(xi, yi).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(xi, ArrayD::zeros(IxDyn(&[2, 3])).view())
        .unwrap();
    exec.set_input(yi, array![0.0f32, 3.0].view().into_dyn())
        .unwrap();
    let err = exec.run(loss, Mode::Train).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cross_entropy '{}': label 3 in row 1 is not a class index in 0..3",
            g.node(loss).unwrap().name
        )
    );
}

/// An input of 3 features and a dense layer of 2 units without bias: (input, layer).
fn input_and_dense(g: &mut Graph) -> (knit_tensor::NodeId, knit_tensor::NodeId) {
    let xi = g.input("x", &[3]).unwrap();
    let w = array![[0.1f32, -0.2, 0.3], [0.4, 0.5, -0.6]].into_dyn();
    (xi, g.dense("h", xi, w, None).unwrap())
}

#[test]
fn f32_and_f64_executors_agree_on_one_graph() {
    let mut g = Graph::new();
    let (xi, h) = input_and_dense(&mut g);
    let h = g.tanh(h).unwrap();
    let s = g.sum(h, None).unwrap();
    let x = array![[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]].into_dyn();
    let mut e32 = Executor::<f32>::new(&g);
    let mut e64 = Executor::<f64>::new(&g);
    e32.set_input(xi, x.mapv(|v| v as f32).view()).unwrap();
    e64.set_input(xi, x.view()).unwrap();
    e32.run(s, Mode::Eval).unwrap();
    e64.run(s, Mode::Eval).unwrap();
    assert!((f64::from(e32.scalar(s).unwrap()) - e64.scalar(s).unwrap()).abs() < 1e-6);
}

#[test]
fn an_input_buffer_filled_in_place_equals_set_input() {
    let mut g = Graph::new();
    let (xi, h) = input_and_dense(&mut g);
    let s = g.sum(h, None).unwrap();
    let x = array![[1.0f32, 2.0, 3.0], [-1.0, 0.5, 0.0]].into_dyn();
    let mut copied = Executor::<f32>::new(&g);
    copied.set_input(xi, x.view()).unwrap();
    copied.run(s, Mode::Eval).unwrap();
    let mut filled = Executor::<f32>::new(&g);
    let buffer = filled.input_buffer(xi, 2).unwrap();
    assert_eq!(buffer.len(), 6);
    buffer.copy_from_slice(x.as_slice().unwrap());
    filled.run(s, Mode::Eval).unwrap();
    assert_eq!(filled.scalar(s).unwrap(), copied.scalar(s).unwrap());
    // Only inputs have one.
    assert!(filled.input_buffer(h, 2).is_err());
}
