//! The trainer on a hand-built plan: it learns, it is deterministic, it resumes bit for bit,
//! frozen parameters stay put, divergence is caught, and checkpoints round-trip.

mod common;

use knit_train::{
    Checkpoint, Clip, EarlyStop, Metric, OptimizerSpec, Silent, TrainError, TrainOptions, Trainer,
};
use std::path::Path;

fn trainer(plan: knit_train::Plan) -> Trainer {
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    Trainer::new(plan, data, TrainOptions::default()).unwrap()
}

fn params(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    t.executor()
        .graph()
        .params()
        .map(|(id, n)| {
            (
                n.name.clone(),
                t.executor().value(id).unwrap().iter().copied().collect(),
            )
        })
        .collect()
}

#[test]
fn it_learns_separable_blobs_and_reports_every_epoch() {
    let mut t = trainer(common::plan(1));
    let report = t.fit(&mut Silent).unwrap();
    assert_eq!(report.epochs.len(), 8);
    let last = report.epochs.last().unwrap();
    assert!(last.train_loss < report.epochs[0].train_loss);
    assert!(
        last.validation[0].accuracy.unwrap() > 0.9,
        "{:?}",
        last.validation[0]
    );
    let test = &report.test[0];
    assert!(test.accuracy.unwrap() > 0.9);
    assert_eq!(test.confusion.len(), 3);
    assert_eq!(
        test.confusion.iter().flatten().sum::<u64>() as usize,
        test.examples
    );
}

#[test]
fn the_same_seed_gives_bit_identical_weights() {
    let mut a = trainer(common::plan(3));
    let mut b = trainer(common::plan(3));
    a.fit(&mut Silent).unwrap();
    b.fit(&mut Silent).unwrap();
    assert_eq!(params(&a), params(&b));
}

#[test]
fn a_resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("knit-resume-{}", std::process::id()));
    let path = dir.join("half.safetensors");
    for optimizer in [
        OptimizerSpec::Adam(Default::default()),
        OptimizerSpec::Sgd(knit_optim::SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        }),
    ] {
        let mut plan = common::plan(4);
        plan.optimizer = optimizer;
        plan.lr_schedule = knit_train::ScheduleSpec::Step {
            initial: optimizer.lr(),
            every: 2,
            gamma: 0.5,
        };
        let mut full = trainer(plan.clone());
        full.fit(&mut Silent).unwrap();

        let mut first = plan.clone();
        first.epochs = 3;
        let mut half = trainer(first);
        half.fit(&mut Silent).unwrap();
        half.save(&path).unwrap();

        let mut resumed = trainer(plan);
        resumed
            .resume(&Checkpoint::read(&path).unwrap(), &path)
            .unwrap();
        assert_eq!(resumed.epochs_done(), 3);
        resumed.fit(&mut Silent).unwrap();
        assert_eq!(params(&resumed), params(&full));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_same_run_writes_the_same_checkpoint_bytes() {
    let dir = std::env::temp_dir().join(format!("knit-same-bytes-{}", std::process::id()));
    let files: Vec<Vec<u8>> = (0..4)
        .map(|k| {
            let mut run = trainer(common::plan(2));
            run.fit(&mut Silent).unwrap();
            let path = dir.join(format!("run{k}.safetensors"));
            run.save(&path).unwrap();
            std::fs::read(&path).unwrap()
        })
        .collect();
    // Metadata comes to safetensors as a HashMap, whose order differs from map to map.
    for other in &files[1..] {
        assert!(
            other == &files[0],
            "checkpoint files of the same run differ"
        );
    }
    let header_length = u64::from_le_bytes(files[0][..8].try_into().unwrap()) as usize;
    assert_eq!(header_length % 8, 0);
    let header = std::str::from_utf8(&files[0][8..8 + header_length]).unwrap();
    let keys: Vec<usize> = [
        "knit.epoch",
        "knit.format",
        "knit.program",
        "knit.seed",
        "knit.step",
    ]
    .iter()
    .map(|key| header.find(&format!("\"{key}\"")).expect(key))
    .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "metadata keys not sorted: {header}"
    );
    let read = Checkpoint::read(&dir.join("run0.safetensors")).unwrap();
    let epochs = common::plan(2).epochs;
    assert_eq!(read.metadata["knit.epoch"], epochs.to_string());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn frozen_parameters_are_bit_identical_after_training() {
    let mut plan = common::plan(2);
    let id = plan.graph.id("h1.weight").unwrap();
    plan.graph.set_trainable(id, false).unwrap();
    plan.param_groups.retain(|(n, _)| n != "h1.weight");
    let before: Vec<f32> = knit_tensor::Executor::<f32>::new(&plan.graph)
        .param("h1.weight")
        .unwrap()
        .iter()
        .copied()
        .collect();
    let mut t = trainer(plan);
    t.fit(&mut Silent).unwrap();
    let after: Vec<f32> = t
        .executor()
        .param("h1.weight")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(before, after);
    let out_before: Vec<f32> = knit_tensor::Executor::<f32>::new(&common::plan(2).graph)
        .param("out.weight")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_ne!(
        out_before,
        t.executor()
            .param("out.weight")
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_diverging_run_stops_with_the_epoch_step_and_culprit() {
    let mut plan = common::plan(1);
    plan.optimizer = OptimizerSpec::Sgd(knit_optim::SgdConfig {
        lr: 1e30,
        ..Default::default()
    });
    plan.lr_schedule = knit_train::ScheduleSpec::Constant(1e30);
    let mut t = trainer(plan);
    let err = t.fit(&mut Silent).unwrap_err();
    let TrainError::Diverged {
        epoch,
        step,
        culprit,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*epoch, 1);
    assert!(*step >= 1);
    // Huge weights overflow the first layer; batch norm then computes inf − inf.
    assert_eq!(culprit, "bn1");
    assert!(
        err.to_string()
            .starts_with("training diverged at epoch 1, step "),
        "{err}"
    );
}

#[test]
fn transfer_loads_weights_by_name_and_reports_missing_ones() {
    let dir = std::env::temp_dir().join(format!("knit-transfer-{}", std::process::id()));
    let path = dir.join("base.safetensors");
    let mut base = trainer(common::plan(6));
    base.fit(&mut Silent).unwrap();
    base.save(&path).unwrap();
    let ckpt = Checkpoint::read(&path).unwrap();

    // Batch norm's counter is PyTorch's: an i64 scalar, one per training batch.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let counter = file.tensor("bn1.num_batches_tracked").unwrap();
    assert_eq!(counter.dtype(), safetensors::Dtype::I64);
    assert_eq!(counter.shape(), &[] as &[usize]);
    let batches = base.plan().epochs * base.splits().train.len().div_ceil(32);
    assert_eq!(
        i64::from_le_bytes(counter.data().try_into().unwrap()),
        batches as i64
    );
    assert_eq!(
        file.tensor("h1.weight").unwrap().dtype(),
        safetensors::Dtype::F32
    );

    let mut fresh = trainer(common::plan(9));
    assert_eq!(fresh.load_weights(&ckpt, &path, &[]).unwrap(), 8);
    assert_eq!(params(&fresh), params(&base));
    let counter_of = |t: &Trainer| {
        let buffers = t.executor().buffers();
        let (_, counter) = buffers
            .iter()
            .find(|(name, _)| name == "bn1.num_batches_tracked")
            .unwrap();
        counter.sum()
    };
    assert_eq!(counter_of(&fresh), batches as f32);

    // A file without the counter (older knit, or PyTorch before 0.4.1) still loads.
    let mut older = ckpt.clone();
    older.tensors.remove("bn1.num_batches_tracked");
    let mut fresh = trainer(common::plan(9));
    assert_eq!(fresh.load_weights(&older, &path, &[]).unwrap(), 7);
    assert_eq!(params(&fresh), params(&base));
    assert_eq!(counter_of(&fresh), 0.0);

    let mut broken = ckpt.clone();
    broken.tensors.remove("h1.weight");
    let err = fresh.load_weights(&broken, &path, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint {}: entry 'h1.weight': is missing: the model's parameter 'h1.weight' needs it (did you mean 'bn1.weight'?)",
            path.display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_checkpoint_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("knit-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.safetensors");
    std::fs::write(&path, b"definitely not a checkpoint").unwrap();
    let err = Checkpoint::read(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "checkpoint {}: not a valid safetensors file",
            path.display()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    let mut plan = common::plan(1);
    plan.epochs = 200;
    plan.clip = Some(Clip::Norm(1.0));
    plan.early_stop = Some(EarlyStop {
        metric: Metric::ValLoss,
        patience: 3,
        min_delta: 5e-3,
        restore_best: true,
    });
    let mut t = trainer(plan);
    let report = t.fit(&mut Silent).unwrap();
    assert!(
        report.stopped_early,
        "ran all {} epochs",
        report.epochs.len()
    );
    let best = report.best_epoch.unwrap();
    assert_eq!(report.epochs.len(), best + 4);
    let best_loss = report.epochs[best - 1].validation[0].loss;
    let now = t
        .evaluate(
            &knit_data::load(&t.plan().data, Path::new("."))
                .unwrap()
                .validation
                .unwrap(),
        )
        .unwrap();
    assert!(
        (now[0].loss - best_loss).abs() < 1e-9,
        "{} vs {best_loss}",
        now[0].loss
    );
}
