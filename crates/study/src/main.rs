//! `knit-study`: reruns the experiments of `dsl-examples/techniques` and writes
//! `docs/techniques.md` (or, with `--only`, prints the selected tables).

use clap::Parser;
use knit_study::document::document;
use knit_study::experiments::names;
use knit_study::study::{run, Selection};
use std::path::PathBuf;
use std::process::ExitCode;

/// The workspace root, where the default paths are resolved.
fn root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Arguments of `knit-study`.
#[derive(Parser, Debug)]
#[command(
    name = "knit-study",
    about = "Measure every regularization technique and procedure and write docs/techniques.md"
)]
struct Args {
    /// The seeds every experiment runs with.
    #[arg(long, value_delimiter = ',', default_values_t = [0u64, 1, 2, 3, 4])]
    seeds: Vec<u64>,
    /// Where the markdown goes (default: docs/techniques.md, or standard output with --only).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Run only these experiments (file stems of dsl-examples/techniques, or pruning,
    /// adversarial, bagging, adding, sharing_time, cliffs).
    #[arg(long, num_args = 1.., value_name = "NAME")]
    only: Vec<String>,
    /// The folder of the experiment files.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Threads for matrix products.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let known = names();
    if let Some(unknown) = args.only.iter().find(|o| !known.contains(&o.as_str())) {
        eprintln!(
            "error: --only {unknown}: no such experiment (known: {})",
            known.join(", ")
        );
        return ExitCode::from(2);
    }
    if args.seeds.is_empty() {
        eprintln!("error: --seeds needs at least one seed");
        return ExitCode::from(2);
    }
    let selection = Selection {
        seeds: args.seeds.clone(),
        only: args.only.clone(),
        threads: args.threads as usize,
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| root().join("dsl-examples/techniques"));
    let started = std::time::Instant::now();
    let results = match run(&dir, &selection, &mut |line| {
        eprintln!("[{:>6.1} s] {line}", started.elapsed().as_secs_f64())
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let markdown = document(&results);
    let out = match (&args.out, args.only.is_empty()) {
        (Some(out), _) => out.clone(),
        (None, true) => root().join("docs/techniques.md"),
        (None, false) => {
            print!("{markdown}");
            return ExitCode::SUCCESS;
        }
    };
    if let Err(e) = knit_train::write_atomically(&out, markdown.as_bytes()) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "wrote {} in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
