//! Synchronous data-parallel training in one process: the ranks of a `ThreadGroup` each
//! train the same plan on their share of every batch, and end with the same parameters, as
//! a single process with the same global batch up to float rounding.

mod common;

use knit_dist::{Collective, ThreadGroup};
use knit_init::{initialize, HeNormal, Zeros};
use knit_optim::{AdamConfig, SgdConfig};
use knit_tensor::Graph;
use knit_train::{
    Batching, Clip, ModelNodes, OptimizerSpec, Plan, ScheduleSpec, Silent, Task, TrainError,
    TrainOptions, Trainer,
};
use std::path::Path;

/// An MLP 2-32-32-3 with tanh and dropout 0.2 on the blobs, batch 50 (the last of an
/// epoch's 360 rows is 10), shuffled; clipped to norm 1 and with a step-decayed rate.
fn plan(optimizer: OptimizerSpec) -> Plan {
    let seed = 11;
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let y = g.labels("y").unwrap();
    let mut h = x;
    for (name, fan_in) in [("h1", 2), ("h2", 32)] {
        let w = initialize(
            &HeNormal::default(),
            &[32, fan_in],
            seed,
            &format!("{name}.weight"),
        )
        .unwrap();
        let b = initialize(&Zeros, &[32], seed, &format!("{name}.bias")).unwrap();
        h = g.dense(name, h, w, Some(b)).unwrap();
        h = g.tanh(h).unwrap();
        h = knit_regularize::dropout(&mut g, &format!("{name}.drop"), h, 0.2, seed).unwrap();
    }
    let w = initialize(&HeNormal::default(), &[3, 32], seed, "out.weight").unwrap();
    let out = g.dense("out", h, w, None).unwrap();
    let loss = g.cross_entropy(out, y).unwrap();
    let model = ModelNodes {
        name: "mlp".into(),
        input: x,
        output: out,
        data_loss: loss,
    };
    let mut plan = Plan::new(
        g,
        model,
        y,
        common::blobs(600),
        Task::Classification { classes: 3 },
    );
    plan.seed = seed;
    plan.epochs = 4;
    plan.batching = Batching::Mini(50);
    plan.clip = Some(Clip::Norm(1.0));
    plan.lr_schedule = ScheduleSpec::Step {
        initial: optimizer.lr(),
        every: 2,
        gamma: 0.5,
    };
    plan.optimizer = optimizer;
    plan
}

fn sgd() -> OptimizerSpec {
    OptimizerSpec::Sgd(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    })
}

fn adam() -> OptimizerSpec {
    OptimizerSpec::Adam(AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    })
}

/// Every parameter by name, and the epochs' training losses and accuracies.
type Outcome = (Vec<(String, Vec<f32>)>, Vec<(f64, Option<f64>)>, Vec<f64>);

fn outcome(trainer: &Trainer, report: &knit_train::Report) -> Outcome {
    let params = trainer
        .plan()
        .param_groups
        .iter()
        .map(|(name, _)| {
            let v = trainer.executor().param(name).unwrap();
            (name.clone(), v.iter().copied().collect())
        })
        .collect();
    let epochs = report
        .epochs
        .iter()
        .map(|e| (e.train_loss, e.train_accuracy[0]))
        .collect();
    let validation = report.epochs.iter().map(|e| e.validation[0].loss).collect();
    (params, epochs, validation)
}

fn single(plan: &Plan) -> Outcome {
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let mut trainer = Trainer::new(plan.clone(), data, TrainOptions::default()).unwrap();
    let report = trainer.fit(&mut Silent).unwrap();
    outcome(&trainer, &report)
}

fn ranks(plan: &Plan, size: usize) -> Vec<Result<Outcome, TrainError>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(size)
            .into_iter()
            .map(|member| {
                s.spawn(move || {
                    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
                    let mut trainer =
                        Trainer::new(plan.clone(), data, TrainOptions::default()).unwrap();
                    let report = trainer.fit_in(&member, &mut Silent)?;
                    Ok(outcome(&trainer, &report))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The largest `|a − b| / (1 + |b|)` over all parameters.
fn largest_difference(a: &Outcome, b: &Outcome) -> f32 {
    a.0.iter()
        .zip(&b.0)
        .flat_map(|((_, x), (_, y))| x.iter().zip(y))
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f32::max)
}

#[test]
fn two_and_three_ranks_train_as_one_process_up_to_rounding() {
    for optimizer in [sgd(), adam()] {
        let plan = plan(optimizer);
        let one = single(&plan);
        for size in [2, 3] {
            let runs: Vec<Outcome> = ranks(&plan, size).into_iter().map(Result::unwrap).collect();
            // The ranks agree bit for bit: the same reduced gradients, the same updates.
            for other in &runs[1..] {
                assert_eq!(other, &runs[0], "{size} ranks disagree");
            }
            // 28 steps, each gradient the same sum in another order: the parameters stay
            // within 1e-4 relative of one process's, and the metrics within 1e-5.
            let difference = largest_difference(&runs[0], &one);
            assert!(
                difference < 1e-4,
                "{size} ranks: parameters differ by {difference}"
            );
            for (a, b) in runs[0].1.iter().zip(&one.1) {
                assert!((a.0 - b.0).abs() < 1e-5, "train loss {} vs {}", a.0, b.0);
                assert_eq!(a.1, b.1, "train accuracy");
            }
            for (a, b) in runs[0].2.iter().zip(&one.2) {
                assert!((a - b).abs() < 1e-5, "validation loss {a} vs {b}");
            }
        }
    }
}

#[test]
fn a_rank_that_stops_ends_the_others_with_an_error_naming_it() {
    let plan = plan(adam());
    let out = std::thread::scope(|s| {
        let mut members = ThreadGroup::new(2).into_iter();
        let (first, second) = (members.next().unwrap(), members.next().unwrap());
        let plan = &plan;
        let training = s.spawn(move || {
            let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
            let mut trainer = Trainer::new(plan.clone(), data, TrainOptions::default()).unwrap();
            trainer.fit_in(&first, &mut Silent).map(|_| ())
        });
        // Rank 1 is gone (its thread ended, as after a panic) before the first step.
        let stopping = s.spawn(move || drop(second));
        stopping.join().unwrap();
        training.join().unwrap()
    });
    let message = out.unwrap_err().to_string();
    assert!(
        message.starts_with("data-parallel training: rank 1 of 2 stopped"),
        "{message}"
    );
}

#[test]
fn batch_norm_ranks_agree_and_rank_0s_state_is_broadcast() {
    // Batch norm normalizes each rank's rows by their own statistics; the running
    // statistics are averaged every epoch, so the ranks still end identical.
    let out = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(2)
            .into_iter()
            .map(|member| {
                s.spawn(move || {
                    // Rank 1 starts from other weights: the broadcast replaces them.
                    let mut plan = common::plan(3 + member.rank() as u64);
                    plan.seed = 3;
                    plan.epochs = 2;
                    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
                    let mut trainer = Trainer::new(plan, data, TrainOptions::default()).unwrap();
                    let differed = trainer.broadcast_state(&member).unwrap();
                    let report = trainer.fit_in(&member, &mut Silent).unwrap();
                    let buffers: Vec<Vec<f32>> = trainer
                        .executor()
                        .buffers()
                        .into_iter()
                        .map(|(_, v)| v.iter().copied().collect())
                        .collect();
                    (differed, outcome(&trainer, &report), buffers)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(out[0].0, 0);
    // h1.weight (16·2) and out.weight (3·16) differ; the zero biases and batch norm's
    // initial state do not.
    assert_eq!(out[1].0, 16 * 2 + 3 * 16);
    assert_eq!(out[0].1, out[1].1);
    assert_eq!(out[0].2, out[1].2);
    assert!(out[0].2.iter().flatten().any(|&v| v != 0.0 && v != 1.0));
}

#[test]
fn bagging_over_ranks_gives_the_single_process_ensemble_bit_for_bit() {
    let mut plan = common::plan(5);
    plan.epochs = 2;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let spec = knit_train::BaggingSpec {
        members: 3,
        fraction: 1.0,
        combine: knit_train::Combine::Average,
    };
    let silent = |_| -> Box<dyn knit_train::Observer + Send> { Box::new(Silent) };
    let (single, single_report) =
        knit_train::train_bagging_observed(&plan, &data, spec, TrainOptions::default(), &silent)
            .unwrap();
    let out: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(2)
            .into_iter()
            .map(|member| {
                let (plan, data) = (&plan, &data);
                s.spawn(move || {
                    knit_train::train_bagging_in(
                        &member,
                        plan,
                        data,
                        spec,
                        TrainOptions::default(),
                        &silent,
                    )
                    .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(out[1].is_none(), "only rank 0 holds the ensemble");
    let (ranks, ranks_report) = out.into_iter().next().unwrap().unwrap();
    assert_eq!(ranks.checkpoint().tensors, single.checkpoint().tensors);
    assert_eq!(ranks_report.members, single_report.members);
    assert_eq!(ranks_report.ensemble, single_report.ensemble);
    let losses = |r: &knit_train::BaggingReport| -> Vec<Vec<f64>> {
        r.reports
            .iter()
            .map(|m| m.epochs.iter().map(|e| e.train_loss).collect())
            .collect()
    };
    assert_eq!(losses(&ranks_report), losses(&single_report));
}
