//! [`fuzz`]: property-based fuzzing with proptest, bounded for `cargo test` and open-ended
//! for long runs (no nightly toolchain is needed, unlike cargo-fuzz).

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::time::{Duration, Instant};

/// How long a fuzz run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// `cases` cases, as in `cargo test`.
    Cases(u32),
    /// A long run (an ignored test): `KNIT_FUZZ_CASES` cases per round (default `cases ×
    /// 20`), and rounds of fresh seeds until `KNIT_FUZZ_SECONDS` have passed, if set.
    Long(u32),
}

/// Runs `test` on cases drawn from `strategy` within `budget`, each round from its own
/// fixed seed (so a failure is reproducible), panicking with the shrunk case on a failure.
/// Returns the number of executions, and prints it with the time taken.
pub fn fuzz<S: Strategy>(
    name: &str,
    budget: Budget,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64 {
    let env = |key: &str| std::env::var(key).ok().and_then(|v| v.parse::<u64>().ok());
    let (cases, seconds) = match budget {
        Budget::Cases(cases) => (cases, None),
        Budget::Long(cases) => (
            env("KNIT_FUZZ_CASES").map_or(cases.saturating_mul(20), |c| c as u32),
            env("KNIT_FUZZ_SECONDS").map(Duration::from_secs),
        ),
    };
    let start = Instant::now();
    let executions = std::cell::Cell::new(0u64);
    for round in 0u64.. {
        let config = Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 2000,
            ..Config::default()
        };
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        let tag = name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        seed[8..16].copy_from_slice(&tag.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let result = runner.run(&strategy, |value| {
            executions.set(executions.get() + 1);
            test(value)
        });
        if let Err(failure) = result {
            panic!("fuzz {name}, round {round}: {failure}");
        }
        if seconds.is_none_or(|b| start.elapsed() >= b) {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {} executions in {:.1} s, no failure",
        executions.get(),
        start.elapsed().as_secs_f64()
    );
    executions.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_run_executes_its_cases() {
        let n = fuzz("count", Budget::Cases(50), 0u8..10, |v| {
            proptest::prop_assert!(v < 10);
            Ok(())
        });
        assert_eq!(n, 50);
    }

    #[test]
    #[should_panic(expected = "fuzz odd, round 0")]
    fn a_failure_names_the_target_and_round() {
        fuzz("odd", Budget::Cases(200), 0u32..1000, |v| {
            proptest::prop_assert!(v % 2 == 0 || v < 3);
            Ok(())
        });
    }
}
