//! `knit explain FILE`: the resolved program with every default filled in.

use crate::report;
use knit_dsl::{check_file, explain_text};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
}

/// Runs `knit explain`.
pub fn run(args: &Args) -> ExitCode {
    let outcome = check_file(&args.file);
    report::print(&outcome.loaded.sources, &outcome.checked.diagnostics);
    match explain_text(&outcome) {
        Some(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}
