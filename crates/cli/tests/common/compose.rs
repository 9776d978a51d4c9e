//! Running knit end to end in a temporary folder and reading what it wrote: the helpers of
//! the composition tests (`tests/recurrent_compose.rs`, `tests/cnn_compose.rs`).

use super::{knit, text};
use knit_train::Checkpoint;
use std::collections::BTreeMap;
use std::path::Path;

/// Runs knit in `dir`, asserting exit 0; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = knit(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs knit in `dir`, asserting exit `code`; returns stderr.
pub fn fails(dir: &Path, code: i32, args: &[&str]) -> String {
    let out = knit(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

/// `knit train FILE --quiet --out OUT` plus `extra`; returns stdout.
pub fn train(dir: &Path, file: &str, out: &str, extra: &[&str]) -> String {
    let mut args = vec!["train", file, "--quiet", "--out", out];
    args.extend_from_slice(extra);
    ok(dir, &args)
}

/// Writes `text` to `dir/name`; returns `name`.
pub fn write<'a>(dir: &Path, name: &'a str, text: &str) -> &'a str {
    std::fs::write(dir.join(name), text).unwrap();
    name
}

/// The checkpoint's parameters (knit's own `_knit.` entries left out) as bit patterns.
pub fn bits(path: &Path) -> BTreeMap<String, Vec<u32>> {
    Checkpoint::read(path)
        .unwrap()
        .tensors
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_knit."))
        .map(|(k, v)| (k, v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// Trains `file` (whose `save` is `runs/resume.safetensors` and whose epoch count is 4)
/// under `full/` uninterrupted, and under `half/` for 2 epochs then resumed to the end;
/// returns the [`bits`] of the uninterrupted run, of the half run after 2 epochs, and of
/// the resumed run.
pub fn resumed_halves(dir: &Path, file: &str) -> [BTreeMap<String, Vec<u32>>; 3] {
    train(dir, file, "full", &[]);
    train(dir, file, "half", &["--epochs", "2"]);
    let half = dir.join("half/runs/resume.safetensors");
    let after_two = bits(&half);
    train(
        dir,
        file,
        "half",
        &["--resume", "half/runs/resume.safetensors"],
    );
    [
        bits(&dir.join("full/runs/resume.safetensors")),
        after_two,
        bits(&half),
    ]
}

/// Σ f(w) over the tensor `name` of the checkpoint at `path`.
pub fn total(ckpt: &Checkpoint, name: &str, f: impl Fn(f64) -> f64) -> f64 {
    ckpt.tensors[name].iter().map(|w| f(f64::from(*w))).sum()
}

/// The report written by `--report`.
pub fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The whitespace-separated cells of the first line whose cells start with `prefix`.
pub fn row(table: &str, prefix: &[&str]) -> Vec<String> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.len() >= prefix.len() && cells[..prefix.len()] == *prefix)
        .unwrap_or_else(|| panic!("no row {prefix:?} in\n{table}"))
}

/// `97.22` from the cells `.. "97.22" "%"`: the number before the first `%` at or after
/// `from`.
pub fn percent_at(cells: &[String], from: usize) -> f64 {
    let at = cells[from..].iter().position(|c| c == "%").unwrap() + from;
    cells[at - 1].parse().unwrap()
}

/// A train block for `models` on `data`: softmax cross-entropy, Adam (lr 1e-2), batches of
/// 32 shuffled, `epochs`, and the settings `extra` (one per line).
pub fn train_block(models: &str, data: &str, epochs: usize, extra: &[&str]) -> String {
    let mut s = format!(
        "train {models} on {data} {{
  loss      cross_entropy
  optimizer adam(lr: 1e-2)
  batch     32, shuffle
  epochs    {epochs}
"
    );
    for line in extra {
        s += &format!("  {line}\n");
    }
    s + "}\n"
}
