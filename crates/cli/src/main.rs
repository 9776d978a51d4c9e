//! `knit`: check, format and explain `.net` programs.
//!
//! Exit codes: 0 success, 1 the program has errors (or `fmt --check` would change it),
//! 2 wrong usage (clap's own code).

mod commands;
mod report;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Fmt(args) => commands::fmt::run(&args),
        Command::Explain(args) => commands::explain::run(&args),
    }
}
