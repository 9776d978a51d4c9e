//! Long-term dependencies: the adding problem at several lengths for four recurrent cells,
//! with the protocol of `shared/bench/REFERENCE.md` (every batch fresh, test MSE every 250
//! steps on 2,000 fixed sequences, ‖∂L/∂h_t‖ at initialization), and sharing across time (the
//! parameters of a recurrent layer against the unrolled network without sharing).

use crate::program;
use crate::StudyError;
use knit_data::{generate, Synthetic};
use knit_train::{gradient_flow, Silent, TrainOptions, Trainer};
use std::path::Path;

/// The cells compared: file and label.
pub const CELLS: [(&str, &str); 4] = [
    ("adding_rnn.net", "tanh RNN"),
    ("adding_irnn.net", "ReLU RNN, W_hh = I (IRNN)"),
    ("adding_lstm.net", "LSTM"),
    ("adding_gru.net", "GRU"),
];

/// The sequence lengths.
pub const LENGTHS: [usize; 3] = [10, 50, 100];

/// Training sequences per epoch of 250 steps of 64; 8 such epochs make the 2,000 steps.
const EPOCH_SEQUENCES: usize = 16_000;

/// The seed of the test sequences, the same for every cell and seed (as the reference's 99).
const TEST_SEED: u64 = 99;

/// The test MSE below which the problem counts as being solved.
pub const SOLVED_BELOW: f64 = 0.1;

/// One cell at one length with one seed.
#[derive(Clone, Debug, PartialEq)]
pub struct AddingRun {
    /// Test MSE after every epoch of 250 steps.
    pub curve: Vec<f64>,
    /// ‖∂L/∂h_t‖ at initialization, t = 1, T/2 and T, on the first 64 test sequences.
    pub init_norms: [f64; 3],
    /// The test MSE of always predicting 1.
    pub trivial: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl AddingRun {
    /// The step after which the test MSE was first below [`SOLVED_BELOW`] (a multiple of 250).
    pub fn solved_at(&self) -> Option<usize> {
        self.curve
            .iter()
            .position(|&m| m < SOLVED_BELOW)
            .map(|e| (e + 1) * 250)
    }
}

/// Trains `file` (in `dir`) at length `steps` with `seed`.
pub fn adding_run(
    dir: &Path,
    file: &str,
    steps: usize,
    seed: u64,
    threads: usize,
) -> Result<AddingRun, StudyError> {
    let started = std::time::Instant::now();
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|source| StudyError::Read {
        path: path.clone(),
        source,
    })?;
    let text = text.replace("let steps = 50", &format!("let steps = {steps}"));
    let experiment = program::load_text(&path, &text, seed)?;
    let wrap = |source| StudyError::train(&path, source);
    let kind = Synthetic::Adding { steps };
    let data = |n: usize, seed: u64, stream: u64| {
        generate(&kind, n, 0.0, seed, stream).map_err(|source| StudyError::Data {
            path: path.clone(),
            source: Box::new(source),
        })
    };
    let test = data(2000, TEST_SEED, 0)?;
    let options = TrainOptions {
        threads,
        eval_batch: 500,
    };
    let mut trainer = Trainer::new(experiment.plan, experiment.splits, options).map_err(wrap)?;
    let flow = gradient_flow(&trainer, &test, 64).map_err(wrap)?;
    let norms = flow
        .layers
        .first()
        .map(|l| l.norms.clone())
        .unwrap_or_default();
    let at = |t: usize| norms.get(t.saturating_sub(1)).copied().unwrap_or(f64::NAN);
    let init_norms = [at(1), at(steps / 2), at(steps)];
    let mut curve = Vec::new();
    for epoch in 0..8u64 {
        // Fresh sequences every epoch, on a stream of their own per (seed, epoch).
        trainer
            .replace_train(data(EPOCH_SEQUENCES, 100 + seed, 10 + epoch)?)
            .map_err(wrap)?;
        trainer.train_epoch(&mut Silent).map_err(wrap)?;
        let metrics = trainer.evaluate(&test).map_err(wrap)?;
        curve.push(metrics[0].loss);
    }
    let trivial = test
        .labels
        .iter()
        .map(|&y| (f64::from(y) - 1.0).powi(2))
        .sum::<f64>()
        / test.len() as f64;
    Ok(AddingRun {
        curve,
        init_norms,
        trivial,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The parameters of the recurrent layer of `file` at length `steps`, and of the same
/// network unrolled over the steps without sharing (one copy of the layer per step).
pub fn sharing_across_time(dir: &Path, steps: usize) -> Result<(usize, usize), StudyError> {
    let path = dir.join(CELLS[0].0);
    let text = std::fs::read_to_string(&path).map_err(|source| StudyError::Read {
        path: path.clone(),
        source,
    })?;
    let text = text.replace("let steps = 50", &format!("let steps = {steps}"));
    let plan = program::compile_text(&path, &text, 0)?;
    let recurrent: usize = plan
        .graph
        .trainable_params()
        .filter(|(_, n)| n.name.starts_with("h."))
        .map(|(_, n)| n.shape.size())
        .sum();
    Ok((recurrent, recurrent * steps))
}

/// One cell at one length over the seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct AddingResult {
    /// The cell's index in [`CELLS`].
    pub cell: usize,
    /// The sequence length.
    pub steps: usize,
    /// One run per seed.
    pub runs: Vec<AddingRun>,
}

/// The most seeds the adding problem runs with (each run is 2,000 steps).
pub const MAX_SEEDS: usize = 3;

/// The markdown section: the table, the sharing figures and what they show.
pub fn section(
    results: &[AddingResult],
    seeds: &[u64],
    sharing: &[(usize, usize, usize)],
) -> String {
    let seeds: Vec<String> = seeds.iter().take(MAX_SEEDS).map(u64::to_string).collect();
    let mut out = String::from("## Long-term dependencies: the adding problem\n\n");
    out += &format!(
        "Each sequence has T steps of (a value uniform in [0, 1), a marker); one step in each \
         half is marked and the target is the sum of the two marked values, so predicting 1 \
         always scores an MSE of about 0.167. Four cells with hidden size 128 ({}), the last \
         hidden state into dense(1), Adam 1e-3, batch 64, gradients clipped to norm 1, 2,000 \
         steps on fresh sequences (16,000 new ones every 250 steps), the protocol of \
         PyTorch's reference (`shared/bench/REFERENCE.md`), seeds {}. Test MSE on 2,000 fixed \
         sequences; \"solved at\" is the first multiple of 250 steps after which the test MSE \
         is below {SOLVED_BELOW}. ‖∂L/∂h_t‖ is the norm of the gradient of the batch's mean \
         loss with respect to the hidden state at step t (through every later step), on 64 \
         test sequences at initialization, in f64.\n\n",
        CELLS
            .iter()
            .map(|(f, l)| format!("{l}: {}", crate::table::file_link(f)))
            .collect::<Vec<_>>()
            .join(", "),
        seeds.join(", ")
    );
    out += "| T | cell | test MSE (mean ± sd) | per seed | MSE at step 500 / 1000 / 1500 / 2000 (seed mean) | solved at (per seed) | ‖∂L/∂h_t‖ at init, t = 1 / T/2 / T (seed mean) | predict 1 |\n";
    out += "|---|---|---|---|---|---|---|---|\n";
    for r in results {
        let finals: Vec<f64> = r
            .runs
            .iter()
            .map(|x| *x.curve.last().unwrap_or(&f64::NAN))
            .collect();
        let spread = crate::stats::Spread::of(&finals);
        let per_seed: Vec<String> = finals.iter().map(|m| format!("{m:.4}")).collect();
        let mean_at = |e: usize| {
            r.runs
                .iter()
                .map(|x| x.curve.get(e).copied().unwrap_or(f64::NAN))
                .sum::<f64>()
                / r.runs.len() as f64
        };
        let solved: Vec<String> = r
            .runs
            .iter()
            .map(|x| x.solved_at().map_or("never".to_string(), |s| s.to_string()))
            .collect();
        let norm = |k: usize| {
            let logs: f64 = r.runs.iter().map(|x| x.init_norms[k].ln()).sum::<f64>();
            (logs / r.runs.len() as f64).exp()
        };
        out += &format!(
            "| {} | {} | {} | {} | {:.4} / {:.4} / {:.4} / {:.4} | {} | {:.1e} / {:.1e} / {:.1e} | {:.4} |\n",
            r.steps,
            CELLS[r.cell].1,
            spread.show(4),
            per_seed.join(" "),
            mean_at(1),
            mean_at(3),
            mean_at(5),
            mean_at(7),
            solved.join(" "),
            norm(0),
            norm(1),
            norm(2),
            r.runs[0].trivial,
        );
    }
    out += "\nThe norms are geometric means over the seeds.\n\n";
    out += &findings(results);
    if !sharing.is_empty() {
        out += "\n## Parameter sharing across time\n\n";
        out += "A recurrent layer applies the same weights at every step. The tanh RNN above (2 → 128) against the network it unrolls into, with its own weights at every step:\n\n";
        out += "| T | recurrent layer's parameters | unrolled without sharing | ratio |\n|---|---|---|---|\n";
        for &(t, shared, unrolled) in sharing {
            out += &format!("| {t} | {shared} | {unrolled} | {t}× |\n");
        }
        out += "\nSharing makes the parameter count independent of the length, and lets one model read sequences of any length; the unrolled network would also need T times the data to fit as many weights.\n";
    }
    out
}

/// Sentences read off the results: which cells solve which lengths, and how small the
/// gradient reaching the first step is.
fn findings(results: &[AddingResult]) -> String {
    let mut out = String::from("What the numbers show:\n\n");
    for &t in &LENGTHS {
        let mut solved = Vec::new();
        let mut failed = Vec::new();
        for r in results.iter().filter(|r| r.steps == t) {
            let all = r.runs.iter().all(|x| x.solved_at().is_some());
            let none = r.runs.iter().all(|x| x.solved_at().is_none());
            let label = CELLS[r.cell].1;
            if all {
                solved.push(label.to_string());
            } else if none {
                failed.push(label.to_string());
            } else {
                let n = r.runs.iter().filter(|x| x.solved_at().is_some()).count();
                solved.push(format!("{label} ({n} of {} seeds)", r.runs.len()));
            }
        }
        if solved.is_empty() && failed.is_empty() {
            continue;
        }
        out += &format!(
            "- T = {t}: below {SOLVED_BELOW} within 2,000 steps: {}; never: {}.\n",
            if solved.is_empty() {
                "none".into()
            } else {
                solved.join(", ")
            },
            if failed.is_empty() {
                "none".into()
            } else {
                failed.join(", ")
            },
        );
    }
    // The ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ at the longest length, per cell (geometric mean).
    let longest = *LENGTHS.last().unwrap();
    let ratios: Vec<(&str, f64)> = results
        .iter()
        .filter(|r| r.steps == longest)
        .map(|r| {
            let log = r
                .runs
                .iter()
                .map(|x| (x.init_norms[0] / x.init_norms[2]).ln())
                .sum::<f64>()
                / r.runs.len() as f64;
            (CELLS[r.cell].1, log.exp())
        })
        .collect();
    let show = |keep: &dyn Fn(f64) -> bool| {
        ratios
            .iter()
            .filter(|(_, v)| keep(*v))
            .map(|(l, v)| format!("{l} {v:.0e}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let vanished = show(&|v| v < 1e-6);
    let kept = show(&|v| v >= 1e-6);
    if !vanished.is_empty() {
        out += &format!(
            "- At initialization, the gradient reaching the first of {longest} steps, relative to the one at the last, has vanished for {vanished}: the gated cells start almost as vanished as the tanh RNN, and they learn because training changes their gates, not because the gradient is large at the start.\n"
        );
    }
    if !kept.is_empty() {
        out += &format!(
            "- It has not for {kept}: the identity recurrence carries the gradient back unchanged at first, which is why the IRNN is the fastest to learn here.\n"
        );
    }
    out
}

/// The two cliff experiments: file and label.
pub const CLIFFS: [(&str, &str); 2] = [
    ("cliff_unclipped.net", "no clipping"),
    ("cliff_clipped.net", "norm clipped to 1"),
];

/// A step whose batch loss exceeds this many times the median of the previous
/// [`SPIKE_WINDOW`] steps counts as a spike.
pub const SPIKE_FACTOR: f64 = 10.0;

/// The steps a spike is measured against.
pub const SPIKE_WINDOW: usize = 50;

/// One cliff run.
#[derive(Clone, Debug, PartialEq)]
pub struct CliffRun {
    /// Steps taken.
    pub steps: usize,
    /// Steps whose gradient was scaled down.
    pub clipped: usize,
    /// The largest gradient norm seen (before clipping), up to the last step that finished.
    pub largest_norm: f64,
    /// Steps whose loss jumped above [`SPIKE_FACTOR`] × the recent median.
    pub spikes: usize,
    /// The largest batch loss seen.
    pub largest_loss: f64,
    /// The last epoch's mean training loss.
    pub final_loss: f64,
    /// The test MSE after training (NaN when the run diverged).
    pub test_mse: f64,
    /// The step at which the loss became infinite or NaN, when it did (training stops there).
    pub diverged_at: Option<u64>,
}

/// Records every batch's loss and gradient norm.
#[derive(Default)]
struct Steps {
    losses: Vec<f64>,
    norms: Vec<f64>,
}

impl knit_train::Observer for Steps {
    fn batch_finished(&mut self, _batch: usize, _examples: usize, loss: f64) {
        self.losses.push(loss);
    }

    fn gradient_norm(&mut self, norm: f64) {
        self.norms.push(norm);
    }
}

/// Trains a cliff experiment with `seed` and measures its spikes and norms.
pub fn cliff_run(
    dir: &Path,
    file: &str,
    seed: u64,
    threads: usize,
) -> Result<CliffRun, StudyError> {
    let path = dir.join(file);
    let experiment = program::load(&path, seed)?;
    let wrap = |source| StudyError::train(&path, source);
    let options = TrainOptions {
        threads,
        eval_batch: 500,
    };
    let mut trainer = Trainer::new(experiment.plan, experiment.splits, options).map_err(wrap)?;
    let mut observed = Steps::default();
    // A run that goes off the cliff to an infinite loss is a result, not a failure.
    let (report, diverged_at) = match trainer.fit(&mut observed) {
        Ok(report) => (Some(report), None),
        Err(knit_train::TrainError::Diverged { step, .. }) => (None, Some(step)),
        Err(e) => return Err(wrap(e)),
    };
    let last_epoch = report.as_ref().and_then(|r| r.epochs.last());
    let (losses, norms) = (observed.losses, observed.norms);
    // Against the median of up to SPIKE_WINDOW steps before, once there are 10.
    let spikes = (10..losses.len())
        .filter(|&i| {
            let mut window = losses[i.saturating_sub(SPIKE_WINDOW)..i].to_vec();
            window.sort_by(f64::total_cmp);
            losses[i] > SPIKE_FACTOR * window[window.len() / 2]
        })
        .count();
    let max = match trainer.plan().clip {
        Some(knit_train::Clip::Norm(max)) => max,
        _ => f64::INFINITY,
    };
    let steps = norms.len();
    let clipped = norms.iter().filter(|&&n| n > max).count();
    let largest_norm = norms.iter().copied().fold(0.0, f64::max);
    Ok(CliffRun {
        steps,
        clipped,
        largest_norm,
        spikes,
        largest_loss: losses.iter().copied().fold(0.0, f64::max),
        final_loss: match diverged_at {
            Some(_) => f64::INFINITY,
            None => last_epoch.map_or(f64::NAN, |e| e.train_loss),
        },
        test_mse: report
            .as_ref()
            .and_then(|r| r.test.first())
            .map_or(f64::NAN, |t| t.loss),
        diverged_at,
    })
}

/// The cliff section: per cell and seed, the measurements.
pub fn cliff_section(seeds: &[u64], runs: &[Vec<CliffRun>; 2]) -> String {
    let mut out = String::from("## Cliffs and gradient clipping\n\n");
    out += &format!(
        "A tanh RNN(2 → 64) whose recurrent weights start orthogonal with gain 1.5 learns the \
         adding problem at T = 50 with plain SGD (lr 0.05, batch 64, 4 epochs of 250 steps), \
         without clipping ({}) and with the global gradient norm clipped to 1 ({}). A spike \
         is a step whose batch loss is more than {SPIKE_FACTOR} times the median of the \
         (up to) {SPIKE_WINDOW} steps before it. Seeds {}.\n\n",
        crate::table::file_link(CLIFFS[0].0),
        crate::table::file_link(CLIFFS[1].0),
        seeds
            .iter()
            .take(MAX_SEEDS)
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    out += "| training | seed | largest gradient norm | steps clipped | spikes | largest batch loss | last epoch's loss | test MSE |\n|---|---|---|---|---|---|---|---|\n";
    for ((_, label), seed_runs) in CLIFFS.iter().zip(runs) {
        for (seed, r) in seeds.iter().zip(seed_runs) {
            let (last, test) = match r.diverged_at {
                Some(step) => (format!("diverged at step {step}"), "-".to_string()),
                None => (format!("{:.4}", r.final_loss), format!("{:.4}", r.test_mse)),
            };
            out += &format!(
                "| {label} | {seed} | {:.3e} | {} of {} | {} | {:.3e} | {last} | {test} |\n",
                r.largest_norm, r.clipped, r.steps, r.spikes, r.largest_loss
            );
        }
    }
    let exploded = runs[0].iter().filter(|r| r.final_loss > 1.0).count();
    let calm = runs[1].iter().filter(|r| r.final_loss < 0.5).count();
    let diverged = runs[0].iter().filter(|r| r.diverged_at.is_some()).count();
    out += &format!(
        "\nWithout clipping, {exploded} of {} seeds end with a training loss above 1 (the trivial \
         predictor scores 0.167), {diverged} of them diverging to an infinite loss: one step \
         off the cliff throws the weights so far that the loss never returns. With clipping, {calm} of {} stay below 0.5; \
         the same gradients, rescaled to norm 1, make steps too short to jump.\n",
        runs[0].len(),
        runs[1].len()
    );
    if runs[1].iter().all(|r| r.test_mse > 0.15) {
        out += "Clipping only keeps the run alive: at this learning rate the clipped runs do not get below the trivial predictor's test MSE within these 1,000 steps either (the adding problem at T = 50 needs a gated cell or the IRNN, above).\n";
    }
    out
}
