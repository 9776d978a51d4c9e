//! A training step allocates nothing: every optimizer's `step`, together with gradient
//! clipping and a schedule, is run under a counting global allocator.

mod common;

use common::{cases, grads, init_params, specs};
use knit_optim::schedule::{CosineAnnealing, LinearWarmup, Schedule, WarmupMode};
use knit_optim::{clip_grad_norm, clip_grad_value, Optimizer, Slot};
use knit_testkit::{allocations_during, CountingAllocator};
use ndarray::ArrayViewMutD;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The number of allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    allocations_during(f)
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))) >= 1);
}

#[test]
fn step_allocates_nothing_for_every_optimizer_in_f32_and_f64() {
    for (name, case) in cases() {
        let mut opt = case.make::<f32>();
        let mut params = init_params::<f32>();
        let g = grads(0, &params);
        let n = allocations(|| {
            let [w, b] = &mut params[..] else {
                unreachable!()
            };
            let mut slots = [
                Slot::new(w.view_mut(), g[0].view()),
                Slot::new(b.view_mut(), g[1].view()),
            ];
            for _ in 0..20 {
                opt.step(&mut slots).unwrap();
            }
        });
        assert_eq!(n, 0, "{name} (f32) allocated {n} times in 20 steps");

        let mut opt = case.make::<f64>();
        let mut params = init_params::<f64>();
        let g = grads(0, &params);
        let n = allocations(|| {
            let [w, b] = &mut params[..] else {
                unreachable!()
            };
            for _ in 0..20 {
                opt.step(&mut [
                    Slot::new(w.view_mut(), g[0].view()),
                    Slot::new(b.view_mut(), g[1].view()),
                ])
                .unwrap();
            }
        });
        assert_eq!(n, 0, "{name} (f64) allocated {n} times in 20 steps");
    }
}

#[test]
fn a_whole_training_step_with_schedule_and_clipping_allocates_nothing() {
    let mut opt: Box<dyn Optimizer<f32>> = cases()[13].1.make::<f32>();
    let schedule = LinearWarmup::new(
        Box::new(CosineAnnealing::new(0.01, 100, 0.0).unwrap()),
        0.1,
        5,
        WarmupMode::Sequential,
    )
    .unwrap();
    let mut params = init_params::<f32>();
    let mut g = grads(0, &params);
    let n = allocations(|| {
        for t in 0..50 {
            {
                let [g0, g1] = &mut g[..] else { unreachable!() };
                let mut views: [ArrayViewMutD<'_, f32>; 2] = [g0.view_mut(), g1.view_mut()];
                clip_grad_norm(&mut views, 1.0).unwrap();
                clip_grad_value(&mut views, 0.5).unwrap();
            }
            opt.set_lr(schedule.value(t));
            let [w, b] = &mut params[..] else {
                unreachable!()
            };
            opt.step(&mut [
                Slot::new(w.view_mut(), g[0].view()),
                Slot::new(b.view_mut(), g[1].view()),
            ])
            .unwrap();
        }
    });
    assert_eq!(n, 0, "a training step allocated {n} times in 50 steps");
    assert_eq!(specs().len(), 2);
}

#[test]
fn a_non_contiguous_slot_allocates_its_scratch_once() {
    let mut opt = cases()[13].1.make::<f64>();
    let mut params = init_params::<f64>();
    let g = grads(0, &params);
    let [w, b] = &mut params[..] else {
        unreachable!()
    };
    // A 3×4 parameter seen through a column-major view of a 4×3 transposed copy.
    let mut wt = w.t().as_standard_layout().into_owned();
    let gt = g[0].t().as_standard_layout().into_owned();
    let mut step = || {
        let mut wv = wt.view_mut();
        wv.swap_axes(0, 1);
        let mut gv = gt.view();
        gv.swap_axes(0, 1);
        assert!(!wv.is_standard_layout() && !gv.is_standard_layout());
        opt.step(&mut [Slot::new(wv, gv), Slot::new(b.view_mut(), g[1].view())])
            .unwrap();
    };
    assert!(
        allocations(&mut step) >= 1,
        "the first strided step grows the scratch buffer"
    );
    assert_eq!(allocations(|| (0..10).for_each(|_| step())), 0);
}
