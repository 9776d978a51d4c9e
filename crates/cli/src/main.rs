//! `knit`: check, format, explain, train, evaluate, predict with, export and attack `.net`
//! programs.
//!
//! Exit codes: 0 success, 1 the program has errors (or `fmt --check` would change it), or a
//! data, checkpoint or training error; 2 wrong usage (clap's own code).

mod commands;
mod plot;
mod report;
mod summary;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Describe neural networks in `.net` files; check, format and explain them.
#[derive(Parser, Debug)]
#[command(name = "knit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; each lives in its own file under `commands/`.
#[derive(Subcommand, Debug)]
enum Command {
    /// Check a program: names, shapes, values. Prints models, layers, shapes, parameter
    /// counts and FLOPs, or every error.
    Check(commands::check::Args),
    /// Rewrite a program in the canonical layout.
    Fmt(commands::fmt::Args),
    /// Print the resolved program: imports inlined, constants replaced, every default written.
    Explain(commands::explain::Args),
    /// Train the program's models: progress, a summary, checkpoints, a report, curves.
    Train(commands::train::Args),
    /// Validation and test metrics of a checkpoint.
    Eval(commands::eval::Args),
    /// Predicted classes and probabilities for the rows of a CSV file.
    Predict(commands::predict::Args),
    /// Train every combination of a grid of settings × seeds and tabulate mean ± sd,
    /// best first; resumable.
    Sweep(commands::sweep::Args),
    /// Write the trained model (or ensemble) as an ONNX graph, input scaling included.
    Export(commands::export::Args),
    /// Accuracy on clean examples and under FGSM and PGD attacks at several ε.
    Attack(commands::attack::Args),
    /// Compare the model's gradients with finite differences (f64) on real examples.
    Gradcheck(commands::gradcheck::Args),
    /// How the gradient flows on one training batch: each parameter's gradient norm and,
    /// per recurrent layer, ‖∂L/∂h_t‖ at every step (f64).
    Gradflow(commands::gradflow::Args),
    /// Training samples per second at the file's batch size (median of several epochs).
    Bench(commands::bench::Args),
    /// The learning-rate range test: the loss against an exponentially rising rate, from
    /// the program's initial weights, and a suggested rate. Saves nothing.
    #[command(name = "lr-find")]
    LrFind(commands::lr_find::Args),
}

/// Lets a closed output pipe end the program quietly, as it does for other Unix tools
/// (`knit check f.net | head`), instead of making `println!` panic.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting SIGPIPE to its default disposition at startup, before any thread
    // exists, has no effect on memory; Rust's runtime merely set it to "ignore".
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Fmt(args) => commands::fmt::run(&args),
        Command::Explain(args) => commands::explain::run(&args),
        Command::Train(args) => commands::train::run(&args),
        Command::Eval(args) => commands::eval::run(&args),
        Command::Predict(args) => commands::predict::run(&args),
        Command::Sweep(args) => commands::sweep::run(&args),
        Command::Export(args) => commands::export::run(&args),
        Command::Attack(args) => commands::attack::run(&args),
        Command::LrFind(args) => commands::lr_find::run(&args),
        Command::Gradcheck(args) => commands::gradcheck::run(&args),
        Command::Gradflow(args) => commands::gradflow::run(&args),
        Command::Bench(args) => commands::bench::run(&args),
    }
}
