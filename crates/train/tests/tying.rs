//! Two models trained side by side on the same data with a tying penalty: the distance
//! between the tied parameters shrinks as the strength grows.

mod common;

use knit_init::{initialize, HeNormal};
use knit_regularize::{add_tying, TieNorm};
use knit_tensor::{Graph, NodeId};
use knit_train::{ModelNodes, Plan, Silent, Task, TrainOptions, Trainer};
use std::path::Path;

fn model(g: &mut Graph, name: &str, x: NodeId, y: NodeId, seed: u64) -> ModelNodes {
    let w1 = initialize(&HeNormal::default(), &[8, 2], seed, "h1.weight").unwrap();
    let h = g.dense(&format!("{name}.h1"), x, w1, None).unwrap();
    let h = g.tanh(h).unwrap();
    let w2 = initialize(&HeNormal::default(), &[3, 8], seed, "out.weight").unwrap();
    let out = g.dense(&format!("{name}.out"), h, w2, None).unwrap();
    let loss = g.cross_entropy(out, y).unwrap();
    ModelNodes {
        name: name.into(),
        input: x,
        output: out,
        data_loss: loss,
    }
}

fn final_distance(strength: f64) -> f64 {
    let mut g = Graph::new();
    let xa = g.input("a.x", &[2]).unwrap();
    let xb = g.input("b.x", &[2]).unwrap();
    let y = g.labels("y").unwrap();
    let a = model(&mut g, "a", xa, y, 1);
    let b = model(&mut g, "b", xb, y, 2);
    let pairs = [
        ("a.h1.weight", "b.h1.weight"),
        ("a.out.weight", "b.out.weight"),
    ];
    let ids: Vec<(NodeId, NodeId)> = pairs
        .iter()
        .map(|(p, q)| (g.id(p).unwrap(), g.id(q).unwrap()))
        .collect();
    let tie = add_tying(&mut g, "tie", &ids, strength, TieNorm::L2).unwrap();
    let both = g.add(a.data_loss, b.data_loss).unwrap();
    let loss = g.add(both, tie).unwrap();
    let mut plan = Plan::new(
        g,
        a,
        y,
        common::blobs(300),
        Task::Classification { classes: 3 },
    );
    plan.models.push(b);
    plan.loss = loss;
    plan.penalties = vec![("tie".into(), tie)];
    plan.ties = pairs
        .iter()
        .map(|(p, q)| (p.to_string(), q.to_string()))
        .collect();
    plan.param_groups = plan
        .graph
        .params()
        .map(|(_, n)| (n.name.clone(), 0))
        .collect();
    plan.epochs = 6;
    plan.optimizer = knit_train::OptimizerSpec::Sgd(knit_optim::SgdConfig {
        lr: 0.1,
        ..Default::default()
    });
    plan.lr_schedule = knit_train::ScheduleSpec::Constant(0.1);
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let mut t = Trainer::new(plan, data, TrainOptions::default()).unwrap();
    let report = t.fit(&mut Silent).unwrap();
    let last = report.epochs.last().unwrap();
    assert_eq!(last.tie_distances.len(), 2);
    assert_eq!(last.tie_distances[0].0, "a.h1.weight ~ b.h1.weight");
    assert_eq!(last.validation.len(), 2, "both models are evaluated");
    last.tie_distances.iter().map(|(_, d)| d).sum()
}

#[test]
fn the_tied_distance_shrinks_as_the_strength_grows() {
    let free = final_distance(0.0);
    let weak = final_distance(0.01);
    let strong = final_distance(1.0);
    assert!(free > weak && weak > strong, "{free} > {weak} > {strong}");
    assert!(strong < 0.2 * free, "{strong} vs {free}");
}
