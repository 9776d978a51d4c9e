//! Parameter sharing, end to end: the compiled `sharing.net` (one `param` used by two dense
//! layers) trains exactly like a graph written by hand that uses one tensor twice.

use knit_data::{epoch_order, gather};
use knit_optim::Slot;
use knit_study::program::load;
use knit_tensor::{Executor, Graph, Mode};
use knit_train::{Silent, TrainOptions, Trainer};
use ndarray::{s, Array1, Array2};
use std::path::PathBuf;

fn techniques(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../dsl-examples/techniques")
        .join(file)
}

#[test]
fn the_shared_model_equals_a_hand_written_graph_using_one_tensor_twice() {
    let mut experiment = load(&techniques("sharing.net"), 3).unwrap();
    experiment.plan.epochs = 1;
    let init = |name: &str| {
        let (_, node) = experiment
            .plan
            .graph
            .params()
            .find(|(_, n)| n.name == name)
            .unwrap_or_else(|| panic!("no parameter {name}"));
        match &node.kind {
            knit_tensor::NodeKind::Param { init, .. } => init.clone(),
            _ => unreachable!(),
        }
    };

    // The same model by hand: h2 and h3 both multiply by the node `shared`.
    let mut g = Graph::new();
    let x = g.input("x", &[64]).unwrap();
    let y = g.labels("y").unwrap();
    let h1 = g
        .dense("h1", x, init("h1.weight"), Some(init("h1.bias")))
        .unwrap();
    let h1 = g.relu(h1).unwrap();
    let shared = g.param("shared", init("shared")).unwrap();
    let b2 = g.param("h2.bias", init("h2.bias")).unwrap();
    let h2 = g.linear(h1, shared, Some(b2)).unwrap();
    let h2 = g.relu(h2).unwrap();
    let b3 = g.param("h3.bias", init("h3.bias")).unwrap();
    let h3 = g.linear(h2, shared, Some(b3)).unwrap();
    let h3 = g.relu(h3).unwrap();
    let out = g
        .dense("out", h3, init("out.weight"), Some(init("out.bias")))
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();
    assert_eq!(g.param_count(), experiment.plan.graph.param_count());

    let mut exec = Executor::<f32>::new(&g);
    let names: Vec<(String, Vec<usize>)> = exec
        .trainable_params()
        .map(|(_, n, v, _)| (n.to_string(), v.shape().to_vec()))
        .collect();
    let specs: Vec<knit_optim::ParamSpec> = names
        .iter()
        .map(|(n, shape)| knit_optim::ParamSpec::new(n.clone(), shape))
        .collect();
    let mut adam = experiment
        .plan
        .optimizer
        .build(&specs, &experiment.plan.groups)
        .unwrap();
    let train = experiment.splits.train.clone();
    let batch = match experiment.plan.batching {
        knit_train::Batching::Mini(b) => b,
        other => panic!("sharing.net should use minibatches, not {other:?}"),
    };
    // The trainer's batch order of the first epoch.
    let mut order = Vec::new();
    epoch_order(
        train.len(),
        experiment.plan.shuffle,
        experiment.plan.seed,
        0,
        &mut order,
    );
    let (mut xb, mut yb) = (Array2::zeros((batch, 64)), Array1::zeros(batch));
    for rows in order.chunks(batch) {
        gather(&train, rows, &mut xb, &mut yb);
        let k = rows.len();
        exec.set_input(x, xb.slice(s![..k, ..]).into_dyn()).unwrap();
        exec.set_input(y, yb.slice(s![..k]).into_dyn()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        exec.backward(loss).unwrap();
        let mut slots: Vec<Slot<'_, f32>> = exec
            .trainable_params()
            .map(|(_, _, p, g)| Slot::new(p, g))
            .collect();
        adam.step(&mut slots).unwrap();
    }

    let mut trainer = Trainer::new(
        experiment.plan.clone(),
        experiment.splits.clone(),
        TrainOptions::default(),
    )
    .unwrap();
    trainer.fit(&mut Silent).unwrap();
    assert_eq!(
        trainer.executor().param("h1.weight").unwrap().shape(),
        [128, 64]
    );
    for (name, _) in &names {
        let compiled = trainer.executor().param(name).unwrap();
        let by_hand = exec.param(name).unwrap();
        let same = compiled
            .iter()
            .zip(by_hand.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{name} differs after training");
    }
    // Training moved the shared matrix: the comparison is not of two initial states.
    assert_ne!(
        trainer.executor().param("shared").unwrap(),
        init("shared").view()
    );
}
