//! Shared by the failure-mode examples (and, through them, by their tests): building one of
//! the compared optimizers over a single vector parameter, running it, printing a table.
#![allow(dead_code)]

use knit_optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, OptimError, Optimizer, ParamSpec, Rmsprop,
    RmspropConfig, Sgd, SgdConfig, Slot,
};
use ndarray::Array1;

/// One optimizer configuration of a comparison.
#[derive(Debug, Clone, Copy)]
pub enum Config {
    Sgd(SgdConfig),
    Adagrad(AdagradConfig),
    Rmsprop(RmspropConfig),
    Adam(AdamConfig),
}

impl Config {
    /// The optimizer for one parameter `x` of `n` elements.
    pub fn build(self, n: usize) -> Result<Box<dyn Optimizer<f64>>, OptimError> {
        let specs = [ParamSpec::new("x", &[n])];
        Ok(match self {
            Config::Sgd(c) => Box::new(Sgd::new(&specs, &[], c)?),
            Config::Adagrad(c) => Box::new(Adagrad::new(&specs, &[], c)?),
            Config::Rmsprop(c) => Box::new(Rmsprop::new(&specs, &[], c)?),
            Config::Adam(c) => Box::new(Adam::new(&specs, &[], c)?),
        })
    }
}

/// One step of `opt` on `x` with gradient `g`.
pub fn step(
    opt: &mut dyn Optimizer<f64>,
    x: &mut Array1<f64>,
    g: &Array1<f64>,
) -> Result<(), OptimError> {
    opt.step(&mut [Slot::new(x.view_mut().into_dyn(), g.view().into_dyn())])
}

/// Runs `config` from `x0`, with `grad(x, g)` writing the gradient, calling
/// `observe(t, x_t)` on every iterate `t = 0, 1, …` until it returns `false` or `t = max_steps`.
pub fn run(
    config: Config,
    x0: &Array1<f64>,
    grad: impl Fn(&Array1<f64>, &mut Array1<f64>),
    max_steps: usize,
    mut observe: impl FnMut(usize, &Array1<f64>) -> bool,
) -> Result<(), OptimError> {
    let mut opt = config.build(x0.len())?;
    let mut x = x0.clone();
    let mut g = Array1::zeros(x.raw_dim());
    if !observe(0, &x) {
        return Ok(());
    }
    for t in 1..=max_steps {
        grad(&x, &mut g);
        step(opt.as_mut(), &mut x, &g)?;
        if !observe(t, &x) {
            break;
        }
    }
    Ok(())
}

/// The first step `t <= max_steps` at which `done(x_t)` holds.
pub fn first_step(
    config: Config,
    x0: &Array1<f64>,
    grad: impl Fn(&Array1<f64>, &mut Array1<f64>),
    done: impl Fn(&Array1<f64>) -> bool,
    max_steps: usize,
) -> Result<Option<usize>, OptimError> {
    let mut first = None;
    run(config, x0, grad, max_steps, |t, x| {
        if done(x) {
            first = Some(t);
        }
        first.is_none()
    })?;
    Ok(first)
}

/// The first step `t <= max_steps` from which `ok(x_s)` holds for every `s` in
/// `t ..= t + hold`: unlike [`first_step`], passing through the target while oscillating
/// does not count.
pub fn held_step(
    config: Config,
    x0: &Array1<f64>,
    grad: impl Fn(&Array1<f64>, &mut Array1<f64>),
    ok: impl Fn(&Array1<f64>) -> bool,
    hold: usize,
    max_steps: usize,
) -> Result<Option<usize>, OptimError> {
    let (mut since, mut held) = (None, None);
    run(config, x0, grad, max_steps + hold, |t, x| {
        since = if ok(x) { since.or(Some(t)) } else { None };
        held = since.filter(|&s| t - s >= hold && s <= max_steps);
        held.is_none()
    })?;
    Ok(held)
}

/// `Some(n)` as `n`, `None` as `> max`.
pub fn count(steps: Option<usize>, max: usize) -> String {
    steps.map_or(format!("> {max}"), |n| n.to_string())
}

/// Prints a Markdown table with a first column of row names.
pub fn print_table(corner: &str, header: &[String], rows: &[(String, Vec<String>)]) {
    let len = |s: &str| s.chars().count();
    let first = rows
        .iter()
        .map(|(n, _)| len(n))
        .chain([len(corner)])
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .filter_map(|(_, r)| r.get(c))
                .map(|s| len(s))
                .chain([len(&header[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |name: &str, cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:>w$}"))
            .collect();
        println!("| {name:<first$} | {} |", cells.join(" | "));
    };
    line(corner, header);
    let rules: Vec<String> = widths
        .iter()
        .map(|&w| format!("{}:", "-".repeat(w + 1)))
        .collect();
    println!("|{}|{}|", "-".repeat(first + 2), rules.join("|"));
    for (name, cells) in rows {
        line(name, cells);
    }
}
