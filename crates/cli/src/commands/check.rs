//! `knit check FILE`: every error at once, or a summary of the models and the training.

use crate::report;
use clap::ValueEnum;
use knit_dsl::check_file;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// How `check` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics drawn with their source lines; a summary on success.
    Text,
    /// One JSON object on stdout: `ok`, `diagnostics`, and the models on success.
    Json,
}

/// Arguments of `knit check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `knit check`.
pub fn run(args: &Args) -> ExitCode {
    let outcome = check_file(&args.file);
    let checked = &outcome.checked;
    let ok = !checked.diagnostics.has_errors();
    match args.format {
        Format::Json => {
            let models: Vec<_> = checked
                .summary
                .models
                .iter()
                .map(|m| {
                    let layers: Vec<_> = m
                        .layers
                        .iter()
                        .map(|l| json!({"node": l.node, "layer": l.layer, "output": l.shape.to_string(), "params": l.params, "flops": l.flops}))
                        .collect();
                    json!({
                        "name": m.name, "input": m.input.to_string(), "output": m.output.to_string(),
                        "params": m.params, "flops_per_example": m.flops, "layers": layers,
                    })
                })
                .collect();
            let value = json!({
                "file": args.file.display().to_string(),
                "ok": ok,
                "errors": checked.diagnostics.error_count(),
                "warnings": checked.diagnostics.warning_count(),
                "diagnostics": report::json(&outcome.loaded.sources, &checked.diagnostics),
                "models": models,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        Format::Text => {
            report::print(&outcome.loaded.sources, &checked.diagnostics);
            if ok {
                println!("{}: ok\n", args.file.display());
                print!("{}", checked.summary);
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
