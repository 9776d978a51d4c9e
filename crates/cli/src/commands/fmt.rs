//! `knit fmt FILE [--check]`: the canonical layout, in place (written atomically).

use crate::report;
use knit_dsl::source::SourceMap;
use knit_dsl::{format_text, Code, Diagnostic, Diagnostics};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `knit fmt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Change nothing; exit with 1 if a file is not formatted.
    #[arg(long)]
    pub check: bool,
}

/// Runs `knit fmt`.
pub fn run(args: &Args) -> ExitCode {
    let mut ok = true;
    for file in &args.files {
        ok &= one(file, args.check);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn one(file: &Path, check: bool) -> bool {
    let name = file.display().to_string();
    let mut sources = SourceMap::new();
    let text = match knit_dsl::read_source(file) {
        Ok(text) => text,
        Err(error) => return fail(&sources, knit_dsl::read_error(&error)),
    };
    sources.add(name.clone(), file.to_path_buf(), text.clone());
    let formatted = match format_text(&text) {
        Ok(f) => f,
        Err(diags) => {
            report::print(&sources, &diags);
            return false;
        }
    };
    if formatted == text {
        return true;
    }
    if check {
        eprintln!("{name} is not formatted (run `knit fmt {name}`)");
        return false;
    }
    // Atomically: a write that fails (a full disk, a file-size limit) leaves the program as
    // it was, and a symlinked program is written through, the link kept.
    match knit_io::write_atomically(file, formatted.as_bytes()) {
        Ok(()) => {
            eprintln!("formatted {name}");
            true
        }
        Err(e) => fail(
            &sources,
            Diagnostic::error(Code::Io, format!("cannot write {name}: {}", e.reason())),
        ),
    }
}

fn fail(sources: &SourceMap, d: Diagnostic) -> bool {
    report::print(sources, &Diagnostics { items: vec![d] });
    false
}
