//! Builds a small MLP with batch norm, a residual skip and a shared weight, and prints the
//! finite-difference check of every parameter's gradient and of the input's.
//!
//! `cargo run -p knit-tensor --example gradcheck_mlp`

use knit_tensor::ops::BatchNorm;
use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode, NodeId, TensorError};
use ndarray::{ArrayD, IxDyn};

fn wave(dims: &[usize], phase: f64) -> ArrayD<f64> {
    let mut k = 0.0;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        k += 1.0;
        (k * 0.7 + phase).sin()
    })
}

fn main() -> Result<(), TensorError> {
    let f32s = |a: ArrayD<f64>| a.mapv(|v| v as f32);
    let mut g = Graph::new();
    let x = g.input("x", &[4])?;
    let y = g.labels("y")?;
    let h1 = g.dense(
        "h1",
        x,
        f32s(wave(&[6, 4], 0.1)),
        Some(f32s(wave(&[6], 0.2))),
    )?;
    let h1 = g.batch_norm("bn1", h1, BatchNorm::default())?;
    let h1 = g.tanh(h1)?;
    // One weight used by two layers: its gradient is the sum of both uses.
    let shared = g.param("shared.weight", f32s(wave(&[6, 6], 0.3) * 0.5))?;
    let h2 = g.linear(h1, shared, None)?;
    let h2 = g.sigmoid(h2)?;
    let h3 = g.linear(h2, shared, None)?;
    let h3 = g.add(h3, h1)?; // residual skip
    let logits = g.dense("out", h3, f32s(wave(&[3, 6], 0.4)), None)?;
    let loss = g.cross_entropy(logits, y)?;

    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(x, wave(&[5, 4], 1.0).view())?;
    exec.set_input(
        y,
        ArrayD::from_shape_vec(IxDyn(&[5]), vec![0.0, 1.0, 2.0, 1.0, 0.0])
            .expect("5 labels")
            .view(),
    )?;
    let mut wrt: Vec<NodeId> = g.params().map(|(id, _)| id).collect();
    wrt.push(x);
    let report = gradcheck(
        &mut exec,
        loss,
        &wrt,
        &GradCheckConfig {
            mode: Mode::Train,
            ..Default::default()
        },
    )?;
    print!("{report}");
    println!("all within tolerance: {}", report.passed());
    Ok(())
}
