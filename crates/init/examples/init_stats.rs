//! Prints, for every initializer, the theoretical standard deviation of the values of a
//! [256, 784] weight (a 784 → 256 linear layer) next to the measured one, with min and max.
//!
//! Run with `cargo run -p knit-init --example init_stats`.

use knit_init::{
    initialize, Constant, FanInUniform, FanMode, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
    InitError, Initializer, LeCunNormal, LeCunUniform, Nonlinearity, Normal, Orthogonal,
    TruncatedNormal, Uniform, Zeros,
};

const SHAPE: [usize; 2] = [256, 784];
const SEED: u64 = 0;

fn main() -> Result<(), InitError> {
    let (fan_out, fan_in) = (SHAPE[0] as f64, SHAPE[1] as f64);
    let phi2 = (-2.0f64).exp() / (2.0 * std::f64::consts::PI).sqrt(); // φ(2)
    let mass2 = 0.954_499_736_103_642; // Φ(2) − Φ(−2)

    // (name, initializer, formula, theoretical std)
    let rows: Vec<(&str, Box<dyn Initializer>, &str, f64)> = vec![
        ("zeros", Box::new(Zeros), "0", 0.0),
        ("constant(0.1)", Box::new(Constant::new(0.1)?), "0", 0.0),
        (
            "uniform(-0.1, 0.1)",
            Box::new(Uniform::new(-0.1, 0.1)?),
            "(b−a)/√12",
            0.2 / 12f64.sqrt(),
        ),
        (
            "fan_in_uniform",
            Box::new(FanInUniform),
            "1/√(3·fan_in)",
            1.0 / (3.0 * fan_in).sqrt(),
        ),
        (
            "normal(0, 0.02)",
            Box::new(Normal::new(0.0, 0.02)?),
            "std",
            0.02,
        ),
        (
            "truncated_normal(0, 1, -2, 2)",
            Box::new(TruncatedNormal::default()),
            "√(1 − 4φ(2)/Z)",
            (1.0 - 4.0 * phi2 / mass2).sqrt(),
        ),
        (
            "glorot_uniform(1)",
            Box::new(GlorotUniform::default()),
            "√(2/(fan_in+fan_out))",
            (2.0 / (fan_in + fan_out)).sqrt(),
        ),
        (
            "glorot_normal(1)",
            Box::new(GlorotNormal::default()),
            "√(2/(fan_in+fan_out))",
            (2.0 / (fan_in + fan_out)).sqrt(),
        ),
        (
            "he_uniform(fan_in, relu)",
            Box::new(HeUniform::default()),
            "√2/√fan_in",
            (2.0 / fan_in).sqrt(),
        ),
        (
            "he_normal(fan_in, relu)",
            Box::new(HeNormal::default()),
            "√2/√fan_in",
            (2.0 / fan_in).sqrt(),
        ),
        (
            "he_normal(fan_out, tanh)",
            Box::new(HeNormal::new(FanMode::FanOut, Nonlinearity::Tanh)?),
            "(5/3)/√fan_out",
            5.0 / 3.0 / fan_out.sqrt(),
        ),
        (
            "lecun_uniform",
            Box::new(LeCunUniform),
            "1/√fan_in",
            1.0 / fan_in.sqrt(),
        ),
        (
            "lecun_normal",
            Box::new(LeCunNormal),
            "1/√fan_in",
            1.0 / fan_in.sqrt(),
        ),
        (
            "orthogonal(1)",
            Box::new(Orthogonal::default()),
            "1/√max(rows, cols)",
            1.0 / fan_in.max(fan_out).sqrt(),
        ),
    ];

    println!("weight {SHAPE:?}: fan_in = {fan_in}, fan_out = {fan_out}, seed {SEED}\n");
    println!(
        "{:<30} {:<22} {:>10} {:>10} {:>8} {:>10} {:>10}",
        "initializer", "formula", "std", "measured", "rel.err", "min", "max"
    );
    for (name, init, formula, std) in &rows {
        let w = initialize(init.as_ref(), &SHAPE, SEED, name)?;
        let n = w.len() as f64;
        let mean = w.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = w
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        let measured = var.sqrt();
        let min = w.iter().copied().fold(f32::INFINITY, f32::min);
        let max = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let rel_err = if *std > 0.0 {
            format!("{:+.2}%", 100.0 * (measured - std) / std)
        } else {
            "-".to_owned()
        };
        println!(
            "{name:<30} {formula:<22} {std:>10.6} {measured:>10.6} {rel_err:>8} {min:>10.6} {max:>10.6}"
        );
    }
    Ok(())
}
