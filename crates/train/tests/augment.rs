//! Augmentation in the trainer: it transforms the training batches and nothing else (a
//! certain flip trains exactly as flipped data does, evaluation sees the data as it is), it
//! resumes bit for bit mid-run, and 1 or 2 threads give the same weights.

use knit_data::{
    Augmentation, DataSpec, Extent, FlipAxis, ImageShape, Scaling, Source, Split, Splits,
    Synthetic, Transform,
};
use knit_init::{initialize, HeNormal, Zeros};
use knit_tensor::Graph;
use knit_train::{Checkpoint, ModelNodes, Plan, Silent, Task, TrainOptions, Trainer};
use std::path::Path;

const IMAGE: ImageShape = ImageShape {
    channels: 2,
    height: 5,
    width: 6,
};

/// Random images `[2, 5, 6]` with 3 classes, split 60/20/20.
fn images() -> DataSpec {
    DataSpec {
        name: "images".into(),
        source: Source::Synthetic {
            kind: Synthetic::Uniform {
                features: IMAGE.values(),
                classes: 3,
            },
            samples: 200,
            noise: 0.0,
        },
        validation: None,
        test: None,
        split: Split {
            train: 0.6,
            validation: 0.2,
            test: 0.2,
            stratified: false,
        },
        indices: None,
        limit: None,
        scaling: Scaling::None,
        seed: 3,
    }
}

/// Images through a dense layer of 8, tanh and a dense layer of 3; minibatches of 16.
fn plan(augment: Option<Vec<Transform>>) -> Plan {
    let seed = 7;
    let mut g = Graph::new();
    let x = g
        .input("x", &[IMAGE.channels, IMAGE.height, IMAGE.width])
        .unwrap();
    let y = g.labels("y").unwrap();
    let flat = g.flatten(x).unwrap();
    let w1 = initialize(&HeNormal::default(), &[8, IMAGE.values()], seed, "h.weight").unwrap();
    let b1 = initialize(&Zeros, &[8], seed, "h.bias").unwrap();
    let h = g.dense("h", flat, w1, Some(b1)).unwrap();
    let h = g.tanh(h).unwrap();
    let w2 = initialize(&HeNormal::default(), &[3, 8], seed, "out.weight").unwrap();
    let out = g.dense("out", h, w2, None).unwrap();
    let loss = g.cross_entropy(out, y).unwrap();
    let model = ModelNodes {
        name: "net".into(),
        input: x,
        output: out,
        data_loss: loss,
    };
    let mut plan = Plan::new(g, model, y, images(), Task::Classification { classes: 3 });
    plan.seed = seed;
    plan.epochs = 4;
    plan.batching = knit_train::Batching::Mini(16);
    plan.augment = augment.map(|t| Augmentation::new(IMAGE, t).unwrap());
    plan
}

fn usual() -> Vec<Transform> {
    vec![
        Transform::crop(1),
        Transform::Flip {
            axis: FlipAxis::Horizontal,
            probability: 0.5,
        },
        Transform::translate(Extent::Fraction(0.2)),
    ]
}

fn data(plan: &Plan) -> Splits {
    knit_data::load(&plan.data, Path::new(".")).unwrap()
}

fn trainer_with(plan: Plan, threads: usize) -> Trainer {
    let data = data(&plan);
    let options = TrainOptions {
        threads,
        ..TrainOptions::default()
    };
    Trainer::new(plan, data, options).unwrap()
}

fn params(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    t.executor()
        .graph()
        .params()
        .map(|(id, n)| {
            let values = t.executor().value(id).unwrap().iter().copied().collect();
            (n.name.clone(), values)
        })
        .collect()
}

/// Mirrors every image of `data` left to right.
fn flipped(data: &knit_data::Dataset) -> knit_data::Dataset {
    let mut out = data.clone();
    for mut row in out.features.rows_mut() {
        let image = row.as_slice_mut().unwrap();
        for line in image.chunks_exact_mut(IMAGE.width) {
            line.reverse();
        }
    }
    out
}

#[test]
fn a_certain_flip_trains_as_flipped_data_and_evaluates_the_data_as_it_is() {
    let always = vec![Transform::Flip {
        axis: FlipAxis::Horizontal,
        probability: 1.0,
    }];
    for feed in ["direct", "copied"] {
        let mut augmented_plan = plan(Some(always.clone()));
        let mut reference_plan = plan(None);
        if feed == "copied" {
            // The copied feed is the adversarial and multi-model path;
            // an FGSM mix of 0 takes it without changing any row.
            for p in [&mut augmented_plan, &mut reference_plan] {
                p.adversarial = Some(knit_train::AdversarialSpec {
                    attack: knit_train::Attack::Fgsm { eps: 0.1 },
                    mix: 0.0,
                    warmup_epochs: 0,
                    range: None,
                });
            }
        }
        let mut augmented = trainer_with(augmented_plan.clone(), 1);
        let report = augmented.fit(&mut Silent).unwrap();

        let mut splits = data(&reference_plan);
        splits.train = flipped(&splits.train);
        let mut reference = Trainer::new(reference_plan, splits, TrainOptions::default()).unwrap();
        let expected = reference.fit(&mut Silent).unwrap();

        assert_eq!(params(&augmented), params(&reference), "{feed}");
        // Validation and test saw the unflipped images in both runs.
        let validation = |r: &knit_train::Report| -> Vec<_> {
            r.epochs.iter().map(|e| e.validation.clone()).collect()
        };
        assert_eq!(validation(&report), validation(&expected), "{feed}");
        assert_eq!(report.test, expected.test, "{feed}");
        let train = data(&augmented_plan).train;
        assert_eq!(
            augmented.evaluate(&train).unwrap(),
            reference.evaluate(&train).unwrap()
        );
    }
}

#[test]
fn random_augmentation_changes_training_and_a_null_one_does_not() {
    let fit = |augment| {
        let mut t = trainer_with(plan(augment), 1);
        t.fit(&mut Silent).unwrap();
        params(&t)
    };
    let plain = fit(None);
    assert_ne!(fit(Some(usual())), plain);
    let null = vec![
        Transform::crop(0),
        Transform::Flip {
            axis: FlipAxis::Vertical,
            probability: 0.0,
        },
    ];
    assert_eq!(fit(Some(null)), plain);
}

#[test]
fn one_and_two_threads_give_the_same_weights() {
    let mut one = trainer_with(plan(Some(usual())), 1);
    let mut two = trainer_with(plan(Some(usual())), 2);
    one.fit(&mut Silent).unwrap();
    two.fit(&mut Silent).unwrap();
    assert_eq!(params(&one), params(&two));
}

#[test]
fn a_resumed_augmented_run_ends_bit_identical_to_an_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("knit-augment-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let full_plan = plan(Some(usual()));
    let mut full = trainer_with(full_plan.clone(), 1);
    full.fit(&mut Silent).unwrap();

    let mut first = full_plan.clone();
    first.epochs = 2;
    let mut half = trainer_with(first, 1);
    half.fit(&mut Silent).unwrap();
    half.save(&path).unwrap();

    let mut resumed = trainer_with(full_plan, 1);
    resumed
        .resume(&Checkpoint::read(&path).unwrap(), &path)
        .unwrap();
    assert_eq!(resumed.epochs_done(), 2);
    resumed.fit(&mut Silent).unwrap();
    assert_eq!(params(&resumed), params(&full));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_augmentation_of_another_shape_is_refused() {
    let mut p = plan(None);
    p.augment = Some(
        Augmentation::new(
            ImageShape {
                channels: 1,
                height: 10,
                width: 6,
            },
            usual(),
        )
        .unwrap(),
    );
    let data = data(&p);
    let err = Trainer::new(p, data, TrainOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the data does not fit model 'net': the augmentation transforms images [1, 10, 6], but the model's input is [2, 5, 6]"
    );
}
