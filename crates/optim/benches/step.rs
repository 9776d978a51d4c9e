//! One optimizer step over 10⁶ f32 parameters, in parameters per second, against a plain
//! `a += b` pass over the same memory.
//!
//! Criterion reports each step's throughput (elements = parameters); afterwards the bench
//! prints a table of the best time of each variant and its ratio to `a += b`, with the number
//! of f32 streams each one reads and writes (a memory-bound step should cost about
//! `streams / 3` times the baseline's 3 streams).

use criterion::{criterion_group, Criterion, Throughput};
use knit_optim::{Adam, AdamConfig, Optimizer, ParamSpec, Sgd, SgdConfig, Slot};
use ndarray::{ArrayD, IxDyn};
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 1_000_000;

/// The memory-bound baseline: read two streams, write one.
fn add_assign(a: &mut [f32], b: &[f32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

/// A variant under test: name, f32 streams touched per parameter, optimizer.
type Variant = (&'static str, usize, Box<dyn Optimizer<f32>>);

fn variants() -> Vec<Variant> {
    let specs = [ParamSpec::new("w", &[N])];
    let sgd = SgdConfig {
        lr: 1e-3,
        ..SgdConfig::default()
    };
    vec![
        ("sgd", 3, Box::new(Sgd::new(&specs, &[], sgd).unwrap())),
        (
            "sgd momentum",
            5,
            Box::new(
                Sgd::new(
                    &specs,
                    &[],
                    SgdConfig {
                        momentum: 0.9,
                        ..sgd
                    },
                )
                .unwrap(),
            ),
        ),
        (
            "adam",
            7,
            Box::new(Adam::new(&specs, &[], AdamConfig::default()).unwrap()),
        ),
    ]
}

fn data() -> (ArrayD<f32>, ArrayD<f32>) {
    let p = ArrayD::from_shape_fn(IxDyn(&[N]), |i| (i[0] % 97) as f32 * 0.01);
    let g = ArrayD::from_shape_fn(IxDyn(&[N]), |i| ((i[0] % 13) as f32 - 6.0) * 1e-3);
    (p, g)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("step_1e6_f32");
    group.throughput(Throughput::Elements(N as u64));
    let (mut a, b) = data();
    group.bench_function("a += b", |bench| {
        bench.iter(|| {
            add_assign(
                black_box(a.as_slice_mut().unwrap()),
                black_box(b.as_slice().unwrap()),
            )
        })
    });
    for (name, _, mut opt) in variants() {
        let (mut p, g) = data();
        group.bench_function(name, |bench| {
            bench.iter(|| opt.step(&mut [Slot::new(p.view_mut(), g.view())]).unwrap());
        });
    }
    group.finish();
}

/// The best of `reps` timings of `f`, after a warm-up call.
fn best(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Prints each variant's best time and its ratio to `a += b`, measured in the same run.
fn ratios() {
    const REPS: usize = 200;
    let (mut a, b) = data();
    let base = best(REPS, || {
        add_assign(
            black_box(a.as_slice_mut().unwrap()),
            black_box(b.as_slice().unwrap()),
        )
    });
    let rate = |d: Duration| N as f64 / d.as_secs_f64() / 1e9;
    println!("\n10^6 f32 parameters, best of {REPS}:");
    println!(
        "{:<14} {:>10} {:>14} {:>10} {:>16}",
        "variant", "time", "Gparams/s", "× a+=b", "× per stream"
    );
    println!(
        "{:<14} {:>10.1?} {:>14.2} {:>10.2} {:>16.2}",
        "a += b",
        base,
        rate(base),
        1.0,
        1.0
    );
    for (name, streams, mut opt) in variants() {
        let (mut p, g) = data();
        let t = best(REPS, || {
            opt.step(&mut [Slot::new(p.view_mut(), g.view())]).unwrap()
        });
        let ratio = t.as_secs_f64() / base.as_secs_f64();
        println!(
            "{:<14} {:>10.1?} {:>14.2} {:>10.2} {:>16.2}",
            name,
            t,
            rate(t),
            ratio,
            ratio * 3.0 / streams as f64
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|a| a == "--list" || a == "--test") {
        ratios();
    }
}
