//! The learning-rate range test on a case whose answer is known: one weight w, from 1,
//! fitted to targets 0 by full-batch SGD on inputs ±1, so the loss is w² and a step of rate
//! η multiplies w by 1 − 2η. The loss falls while η < 1 (fastest near η = ½) and explodes
//! beyond η = 1.

mod common;

use knit_data::{Dataset, Splits};
use knit_init::{initialize, Constant};
use knit_optim::SgdConfig;
use knit_tensor::Graph;
use knit_train::{
    Batching, ModelNodes, OptimizerSpec, Plan, RangeTest, Task, TrainOptions, Trainer,
};
use ndarray::{Array1, Array2};

fn trainer() -> Trainer {
    let mut g = Graph::new();
    let x = g.input("x", &[1]).unwrap();
    let y = g.input("y", &[1]).unwrap();
    let w = initialize(&Constant::new(1.0).unwrap(), &[1, 1], 0, "fit.weight").unwrap();
    let out = g.dense("fit", x, w, None).unwrap();
    let loss = g.mse(out, y).unwrap();
    let model = ModelNodes {
        name: "line".into(),
        input: x,
        output: out,
        data_loss: loss,
    };
    let mut plan = Plan::new(g, model, y, common::blobs(0), Task::Regression);
    plan.batching = Batching::Full;
    plan.optimizer = OptimizerSpec::Sgd(SgdConfig::default());
    let xs: Vec<f32> = (0..8)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let ys = vec![0.0f32; 8];
    let train = Dataset::new(
        Array2::from_shape_vec((8, 1), xs).unwrap(),
        vec![1],
        Array1::from(ys),
    )
    .unwrap();
    let splits = Splits {
        train,
        validation: None,
        test: None,
        scaler: Default::default(),
    };
    Trainer::new(plan, splits, TrainOptions::default()).unwrap()
}

#[test]
fn the_range_test_finds_where_sgd_on_a_quadratic_works_and_where_it_breaks() {
    let test = RangeTest {
        start: 1e-3,
        end: 100.0,
        steps: 100,
        ..RangeTest::default()
    };
    let curve = trainer().lr_range_test(test).unwrap();
    let points = &curve.points;
    assert_eq!(points[0].lr, 1e-3);
    assert_eq!(points[0].loss, 1.0, "w² at w = 1");
    for w in points.windows(2) {
        let ratio = w[1].lr / w[0].lr;
        assert!((ratio - 10f64.powf(5.0 / 99.0)).abs() < 1e-9, "{ratio}");
    }
    // Each step's loss is the previous one times (1 − 2η)², to f32 rounding.
    for w in points.windows(2) {
        let expected = w[0].loss * (1.0 - 2.0 * w[0].lr).powi(2);
        assert!(
            (w[1].loss - expected).abs() <= 1e-5 * expected,
            "{} then {} at lr {}",
            w[0].loss,
            w[1].loss,
            w[0].lr
        );
    }
    // The raw loss is lowest where η crosses 1; the test stopped because it then exploded,
    // well before the end of the range.
    let lowest_raw = (0..points.len())
        .min_by(|&a, &b| points[a].loss.total_cmp(&points[b].loss))
        .unwrap();
    let at = points[lowest_raw].lr;
    assert!((0.85..1.2).contains(&at), "lowest loss at {at}");
    assert!(curve.diverged);
    let last = points.last().unwrap().lr;
    assert!(last > 1.0 && last < 20.0, "stopped at {last}");
    // The steepest descent of the smoothed loss is where learning works (below η = 1).
    let suggested = curve.steepest().unwrap();
    assert!(suggested > 1e-2 && suggested < 1.0, "{suggested}");
    let lowest = curve.lowest().unwrap();
    assert!(points[lowest].lr > 1.0 && points[lowest].lr < last);
    assert_eq!(curve.tenth_of_minimum(), Some(points[lowest].lr / 10.0));
}

#[test]
fn a_range_that_is_not_one_is_refused() {
    let test = RangeTest {
        start: 1.0,
        end: 0.5,
        ..RangeTest::default()
    };
    let err = trainer().lr_range_test(test).unwrap_err();
    assert_eq!(
        err.to_string(),
        "lr-find: needs 0 < start < end and at least 2 steps, got start 1, end 0.5, 100 steps"
    );
}
