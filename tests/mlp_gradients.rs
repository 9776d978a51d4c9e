//! An MLP built through the facade, initialized by knit-init, with its gradients checked
//! against finite differences and one training step taken in f32.

use knit::init::{initialize, GlorotUniform, HeNormal, Zeros};
use knit::tensor::ops::BatchNorm;
use knit::tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode, NodeId};
use ndarray::{ArrayD, IxDyn};

const SEED: u64 = 7;

fn mlp() -> (Graph, NodeId, NodeId, NodeId) {
    let he = HeNormal::default();
    let glorot = GlorotUniform::default();
    let mut g = Graph::new();
    let x = g.input("x", &[6]).unwrap();
    let y = g.labels("y").unwrap();
    let w1 = initialize(&he, &[8, 6], SEED, "h1.weight").unwrap();
    let b1 = initialize(&Zeros, &[8], SEED, "h1.bias").unwrap();
    let h1 = g.dense("h1", x, w1, Some(b1)).unwrap();
    let h1 = g.batch_norm("bn1", h1, BatchNorm::default()).unwrap();
    let h1 = g.tanh(h1).unwrap();
    let w2 = initialize(&he, &[8, 8], SEED, "h2.weight").unwrap();
    let h2 = g.dense("h2", h1, w2, None).unwrap();
    let h2 = g.sigmoid(h2).unwrap();
    let skip = g.add(h2, h1).unwrap();
    let w3 = initialize(&glorot, &[3, 8], SEED, "out.weight").unwrap();
    let logits = g.dense("out", skip, w3, None).unwrap();
    let loss = g.cross_entropy(logits, y).unwrap();
    (g, x, y, loss)
}

fn data() -> (ArrayD<f64>, ArrayD<f64>) {
    let x = ArrayD::from_shape_fn(IxDyn(&[5, 6]), |i| {
        ((i[0] * 6 + i[1]) as f64 * 0.37).sin() * 2.0
    });
    let y = ArrayD::from_shape_fn(IxDyn(&[5]), |i| (i[0] % 3) as f64);
    (x, y)
}

#[test]
fn every_parameter_and_the_input_have_correct_gradients() {
    let (g, x, y, loss) = mlp();
    let (xs, ys) = data();
    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(x, xs.view()).unwrap();
    exec.set_input(y, ys.view()).unwrap();
    let mut wrt: Vec<NodeId> = g.params().map(|(id, _)| id).collect();
    wrt.push(x);
    for mode in [Mode::Train, Mode::Eval] {
        let config = GradCheckConfig {
            mode,
            ..Default::default()
        };
        let report = gradcheck(&mut exec, loss, &wrt, &config).unwrap();
        assert!(report.passed(), "{mode:?}\n{report}");
        assert_eq!(report.entries.len(), 7);
    }
}

#[test]
fn gradient_descent_in_f32_lowers_the_loss() {
    let (g, x, y, loss) = mlp();
    let (xs, ys) = data();
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(x, xs.mapv(|v| v as f32).view()).unwrap();
    exec.set_input(y, ys.mapv(|v| v as f32).view()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..50 {
        exec.run(loss, Mode::Train).unwrap();
        losses.push(exec.scalar(loss).unwrap());
        exec.backward(loss).unwrap();
        for (_, _, mut value, grad) in exec.trainable_params() {
            value.scaled_add(-0.5, &grad);
        }
    }
    assert!(
        losses[49] < 0.5 * losses[0],
        "loss went from {} to {}",
        losses[0],
        losses[49]
    );
}
