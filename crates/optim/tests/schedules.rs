//! Every schedule against hand-computed values, and its parameter validation.

use knit_optim::schedule::{
    Constant, CosineAnnealing, CosineWarmRestarts, Exponential, Inv, InverseTime, LinearWarmup,
    MultiStep, PlateauConfig, PlateauMode, Polynomial, ReduceOnPlateau, Schedule, StepDecay,
    ThresholdMode, WarmupMode,
};
use knit_optim::OptimError;

fn values(s: &dyn Schedule, ts: std::ops::Range<usize>) -> Vec<f64> {
    ts.map(|t| s.value(t)).collect()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < 1e-12,
            "t = {t}: got {g}, want {w}\n got {got:?}\nwant {want:?}"
        );
    }
}

fn err(r: Result<impl std::fmt::Debug, OptimError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn constant() {
    let s = Constant::new(0.3).unwrap();
    assert_close(&[s.value(0), s.value(1_000_000)], &[0.3, 0.3]);
    assert_eq!(
        err(Constant::new(f64::NAN)),
        "constant: value must be finite, got NaN"
    );
}

#[test]
fn step_decay() {
    let s = StepDecay::new(1.0, 3, 0.5).unwrap();
    assert_close(
        &values(&s, 0..8),
        &[1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25],
    );
    assert_eq!(
        err(StepDecay::new(1.0, 0, 0.5)),
        "step: every must be >= 1, got 0"
    );
    assert_eq!(
        err(StepDecay::new(1.0, 2, -0.5)),
        "step: gamma must be >= 0 and finite, got -0.5"
    );
}

#[test]
fn multistep() {
    let s = MultiStep::new(1.0, &[5, 2], 0.1).unwrap();
    assert_close(&values(&s, 0..7), &[1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01]);
    // A repeated milestone counts twice, as PyTorch's Counter does.
    let s = MultiStep::new(2.0, &[1, 1], 0.5).unwrap();
    assert_close(&values(&s, 0..3), &[2.0, 0.5, 0.5]);
    assert_close(
        &values(&MultiStep::new(2.0, &[], 0.5).unwrap(), 0..2),
        &[2.0, 2.0],
    );
    assert_eq!(
        err(MultiStep::new(f64::INFINITY, &[1], 0.5)),
        "multistep: initial must be finite, got inf"
    );
}

#[test]
fn exponential() {
    let s = Exponential::new(2.0, 0.5).unwrap();
    assert_close(&values(&s, 0..4), &[2.0, 1.0, 0.5, 0.25]);
    assert_eq!(
        err(Exponential::new(1.0, -1.0)),
        "exponential: gamma must be >= 0 and finite, got -1"
    );
}

#[test]
fn inverse_time_and_caffe_inv() {
    let s = InverseTime::new(1.0, 0.5).unwrap();
    assert_close(
        &values(&s, 0..5),
        &[1.0, 1.0 / 1.5, 0.5, 1.0 / 2.5, 1.0 / 3.0],
    );
    assert_eq!(
        err(InverseTime::new(1.0, -0.1)),
        "inverse_time: k must be >= 0 and finite, got -0.1"
    );
    // Caffe's classic LeNet solver: base_lr 0.01, gamma 1e-4, power 0.75.
    let s = Inv::new(0.01, 1e-4, 0.75).unwrap();
    assert_close(
        &[s.value(0), s.value(10_000)],
        &[0.01, 0.01 * 0.594_603_557_501_360_5],
    );
    assert_eq!(
        err(Inv::new(0.01, 1e-4, -1.0)),
        "inv: power must be >= 0 and finite, got -1"
    );
}

#[test]
fn polynomial() {
    let s = Polynomial::new(1.0, 0.1, 10, 2.0).unwrap();
    assert_close(
        &[s.value(0), s.value(5), s.value(10), s.value(20)],
        &[1.0, 0.9 * 0.25 + 0.1, 0.1, 0.1],
    );
    let linear = Polynomial::new(1.0, 0.0, 4, 1.0).unwrap();
    assert_close(&values(&linear, 0..6), &[1.0, 0.75, 0.5, 0.25, 0.0, 0.0]);
    assert_eq!(
        err(Polynomial::new(1.0, 0.0, 0, 1.0)),
        "polynomial: total must be >= 1, got 0"
    );
    assert_eq!(
        err(Polynomial::new(1.0, 0.0, 5, -2.0)),
        "polynomial: power must be >= 0 and finite, got -2"
    );
}

#[test]
fn cosine_annealing() {
    let s = CosineAnnealing::new(1.0, 10, 0.0).unwrap();
    let quarter = (1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0; // (1 + cos(π/4))/2
    assert_close(
        &[
            s.value(0),
            s.value(5),
            s.value(10),
            s.value(15),
            s.value(20),
        ],
        &[1.0, 0.5, 0.0, 0.5, 1.0], // PyTorch's closed form rises again after T_max
    );
    let s = CosineAnnealing::new(1.0, 8, 0.0).unwrap();
    assert_close(&[s.value(2), s.value(6)], &[quarter, 1.0 - quarter]);
    let s = CosineAnnealing::new(1.0, 10, 0.1).unwrap();
    assert_close(&[s.value(0), s.value(5), s.value(10)], &[1.0, 0.55, 0.1]);
    assert_eq!(
        err(CosineAnnealing::new(1.0, 0, 0.0)),
        "cosine: t_max must be >= 1, got 0"
    );
}

#[test]
fn cosine_warm_restarts() {
    // T_0 = 2, T_mult = 2: periods [0, 2), [2, 6), [6, 14), [14, 30).
    let s = CosineWarmRestarts::new(1.0, 2, 2, 0.0).unwrap();
    let c = |x: f64| (1.0 + (std::f64::consts::PI * x).cos()) / 2.0;
    let want = [
        1.0,          // t = 0: start
        0.5,          // t = 1: T_cur 1 of 2
        1.0,          // t = 2: restart
        c(1.0 / 4.0), // t = 3
        0.5,          // t = 4
        c(3.0 / 4.0), // t = 5
        1.0,          // t = 6: restart
        c(1.0 / 8.0), // t = 7
    ];
    assert_close(&values(&s, 0..8), &want);
    assert_close(
        &[s.value(10), s.value(13), s.value(14), s.value(22)],
        &[0.5, c(7.0 / 8.0), 1.0, 0.5],
    );
    // T_mult = 1: a fixed period.
    let s = CosineWarmRestarts::new(1.0, 3, 1, 0.1).unwrap();
    let e = |x: f64| 0.1 + 0.9 * c(x);
    assert_close(
        &values(&s, 0..7),
        &[
            1.0,
            e(1.0 / 3.0),
            e(2.0 / 3.0),
            1.0,
            e(1.0 / 3.0),
            e(2.0 / 3.0),
            1.0,
        ],
    );
    // Huge t does not loop forever or overflow.
    assert!(s.value(usize::MAX).is_finite());
    assert!(CosineWarmRestarts::new(1.0, 1, 3, 0.0)
        .unwrap()
        .value(usize::MAX)
        .is_finite());
    assert_eq!(
        err(CosineWarmRestarts::new(1.0, 0, 2, 0.0)),
        "warm_restarts: t_0 must be >= 1, got 0"
    );
    assert_eq!(
        err(CosineWarmRestarts::new(1.0, 2, 0, 0.0)),
        "warm_restarts: t_mult must be >= 1, got 0"
    );
}

#[test]
fn linear_warmup_sequential_and_chained() {
    let warm = |inner: Box<dyn Schedule>, mode| LinearWarmup::new(inner, 0.25, 4, mode).unwrap();
    let s = warm(
        Box::new(Constant::new(1.0).unwrap()),
        WarmupMode::Sequential,
    );
    assert_close(&values(&s, 0..6), &[0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0]);
    // Sequential: the inner schedule starts at t = W.
    let s = warm(
        Box::new(StepDecay::new(1.0, 2, 0.5).unwrap()),
        WarmupMode::Sequential,
    );
    assert_close(
        &values(&s, 0..9),
        &[0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0, 0.5, 0.5, 0.25],
    );
    // Chained: the ramp multiplies the inner schedule from t = 0.
    let s = warm(
        Box::new(StepDecay::new(1.0, 2, 0.5).unwrap()),
        WarmupMode::Chained,
    );
    assert_close(
        &values(&s, 0..7),
        &[0.25, 0.4375, 0.625 * 0.5, 0.8125 * 0.5, 0.25, 0.25, 0.125],
    );
    // Warmup from zero.
    let s = LinearWarmup::new(
        Box::new(Constant::new(2.0).unwrap()),
        0.0,
        2,
        WarmupMode::default(),
    )
    .unwrap();
    assert_close(&values(&s, 0..3), &[0.0, 1.0, 2.0]);
    let inner = || Box::new(Constant::new(1.0).unwrap());
    assert_eq!(
        err(LinearWarmup::new(inner(), 1.5, 4, WarmupMode::Sequential)),
        "warmup: start_factor must be in [0, 1], got 1.5"
    );
    assert_eq!(
        err(LinearWarmup::new(inner(), 0.5, 0, WarmupMode::Sequential)),
        "warmup: steps must be >= 1, got 0"
    );
}

fn plateau(config: PlateauConfig) -> ReduceOnPlateau {
    ReduceOnPlateau::new(1.0, config).unwrap()
}

fn trace(s: &mut dyn Schedule, metrics: &[f64]) -> Vec<f64> {
    metrics
        .iter()
        .map(|&m| {
            s.observe(m);
            s.value(0)
        })
        .collect()
}

#[test]
fn plateau_with_patience_and_cooldown() {
    let config = PlateauConfig {
        factor: 0.5,
        patience: 2,
        cooldown: 1,
        threshold: 0.1,
        ..PlateauConfig::default()
    };
    let mut s = plateau(config);
    // 1.0 improves on +inf; 0.95 is not 10 % better than 1.0, so it is bad.
    // bad: 0, 1, 2, 3 > 2 → halve, cooldown 1; next bad one is absorbed by the cooldown;
    // then 1, 2, 3 → halve again. 0.5 is a real improvement and resets the count.
    let metrics = [1.0, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.5, 0.5, 0.5];
    let want = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25];
    assert_close(&trace(&mut s, &metrics), &want);
    assert_eq!(s.best(), 0.5);
    assert_eq!(s.num_bad_epochs(), 2);
}

#[test]
fn plateau_max_mode_abs_threshold_and_floor() {
    let config = PlateauConfig {
        mode: PlateauMode::Max,
        threshold_mode: ThresholdMode::Abs,
        threshold: 0.01,
        factor: 0.5,
        patience: 0,
        min_value: 0.3,
        ..PlateauConfig::default()
    };
    let mut s = plateau(config);
    // Accuracy 0.5 improves; 0.505 is within the absolute threshold (bad → halve at once with
    // patience 0); 0.6 improves; then two bad ones hit the 0.3 floor and stay there.
    let want = [1.0, 0.5, 0.5, 0.3, 0.3];
    assert_close(&trace(&mut s, &[0.5, 0.505, 0.6, 0.6, 0.6]), &want);
}

#[test]
fn plateau_state_round_trips_and_rejects_corruption() {
    let config = PlateauConfig {
        factor: 0.5,
        patience: 1,
        cooldown: 2,
        ..PlateauConfig::default()
    };
    let mut a = plateau(config);
    trace(&mut a, &[3.0, 3.0, 3.0, 2.0, 2.5]);
    let saved = a.state();
    let keys: Vec<&str> = saved.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["value", "best", "num_bad_epochs", "cooldown_counter"]
    );
    let mut b = plateau(config);
    b.load_state(&saved).unwrap();
    let more = [2.5, 2.5, 2.5, 2.5, 1.0, 1.2, 1.2, 1.2, 1.2];
    assert_eq!(trace(&mut a, &more), trace(&mut b, &more));
    assert_eq!(a, b);

    let mut missing = saved.clone();
    missing.pop();
    assert_eq!(
        err(b.load_state(&missing)),
        "plateau: state entry cooldown_counter is missing"
    );
    let mut bad = saved.clone();
    bad[2].1 = -1.0;
    assert_eq!(
        err(b.load_state(&bad)),
        "plateau: state entry num_bad_epochs must be a non-negative integer, got -1"
    );
    let mut extra = saved.clone();
    extra.push(("lr".into(), 0.1));
    assert_eq!(
        err(b.load_state(&extra)),
        "plateau: unexpected state entry lr"
    );
    let mut nan = saved;
    nan[0].1 = f64::NAN;
    assert_eq!(
        err(b.load_state(&nan)),
        "plateau: state entry value must be finite, got NaN"
    );
}

#[test]
fn plateau_validation() {
    let e = |config| err(ReduceOnPlateau::new(1.0, config));
    let d = PlateauConfig::default();
    assert_eq!(
        e(PlateauConfig { factor: 1.0, ..d }),
        "plateau: factor must be in [0, 1), got 1"
    );
    assert_eq!(
        e(PlateauConfig {
            threshold: -0.1,
            ..d
        }),
        "plateau: threshold must be >= 0 and finite, got -0.1"
    );
    assert_eq!(
        e(PlateauConfig { eps: f64::NAN, ..d }),
        "plateau: eps must be >= 0 and finite, got NaN"
    );
    assert_eq!(
        err(ReduceOnPlateau::new(f64::NAN, d)),
        "plateau: initial must be finite, got NaN"
    );
}

#[test]
fn warmup_forwards_observe_and_state_to_the_wrapped_schedule() {
    let config = PlateauConfig {
        factor: 0.5,
        patience: 0,
        ..PlateauConfig::default()
    };
    let mut s =
        LinearWarmup::new(Box::new(plateau(config)), 0.5, 2, WarmupMode::Sequential).unwrap();
    assert_eq!(s.value(0), 0.5);
    s.observe(1.0);
    s.observe(1.0);
    assert_eq!(s.value(5), 0.5);
    assert_eq!(s.state()[0], ("value".to_string(), 0.5));
    let mut fresh =
        LinearWarmup::new(Box::new(plateau(config)), 0.5, 2, WarmupMode::Sequential).unwrap();
    fresh.load_state(&s.state()).unwrap();
    assert_eq!(fresh.value(5), 0.5);
}

#[test]
fn stateless_schedules_have_empty_state_and_reject_entries() {
    let mut s = CosineAnnealing::new(1.0, 10, 0.0).unwrap();
    assert!(s.state().is_empty());
    s.observe(1.0); // no-op
    assert_eq!(s.value(0), 1.0);
    assert!(s.load_state(&[]).is_ok());
    assert_eq!(
        err(s.load_state(&[("value".into(), 1.0)])),
        "schedule: unexpected state entry value"
    );
}

#[test]
fn schedules_are_object_safe() {
    let all: Vec<Box<dyn Schedule>> = vec![
        Box::new(Constant::new(1.0).unwrap()),
        Box::new(StepDecay::new(1.0, 1, 0.5).unwrap()),
        Box::new(MultiStep::new(1.0, &[1], 0.5).unwrap()),
        Box::new(Exponential::new(1.0, 0.5).unwrap()),
        Box::new(InverseTime::new(1.0, 0.5).unwrap()),
        Box::new(Inv::new(1.0, 0.5, 0.5).unwrap()),
        Box::new(Polynomial::new(1.0, 0.0, 2, 1.0).unwrap()),
        Box::new(CosineAnnealing::new(1.0, 2, 0.0).unwrap()),
        Box::new(CosineWarmRestarts::new(1.0, 2, 2, 0.0).unwrap()),
        Box::new(ReduceOnPlateau::new(1.0, PlateauConfig::default()).unwrap()),
    ];
    for s in &all {
        assert_eq!(s.value(0), 1.0, "{s:?}");
    }
}
