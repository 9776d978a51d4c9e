//! Hostile programs: special files, sizes past the limits, depth, long lines, bytes that
//! are not text. Each must give a diagnostic that names the file and the place, never a
//! hang, a panic or a read until memory runs out.

mod common;

use knit_dsl::{apply_overrides, check_file, check_text, Overrides};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh folder for one test.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("knit-hostile-{name}-"))
        .tempdir()
        .unwrap()
}

/// Runs `f` on another thread and fails the test if it does not finish in `limit` (a hang
/// is the defect being tested, not a slow machine: the limits are generous).
fn without_hanging<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).expect("the call hung")
}

fn messages(path: &Path) -> Vec<String> {
    let outcome = check_file(path);
    outcome
        .checked
        .diagnostics
        .items
        .iter()
        .map(|d| d.message.clone())
        .collect()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_imported_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = scratch("fifo");
    mkfifo(&dir.path().join("lib.net"));
    let main = dir.path().join("main.net");
    std::fs::write(&main, "import \"lib.net\"\n").unwrap();
    let found = without_hanging(Duration::from_secs(60), move || messages(&main));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with("lib.net: is a named pipe (FIFO), not a regular file"),
        "{found:?}"
    );
}

#[test]
fn a_device_as_the_program_or_an_import_is_refused_before_reading() {
    let found = messages(Path::new("/dev/zero"));
    assert_eq!(
        found,
        ["cannot read /dev/zero: is a character device, not a regular file"]
    );
    let dir = scratch("device");
    let main = dir.path().join("main.net");
    std::fs::write(&main, "import \"/dev/zero\"\n").unwrap();
    let found = messages(&main);
    assert!(
        found[0].ends_with("is a character device, not a regular file"),
        "{found:?}"
    );
}

#[test]
fn a_file_over_the_limit_is_refused_while_reading() {
    let dir = scratch("large");
    let main = dir.path().join("main.net");
    std::fs::write(&main, format!("# {}\n", "x".repeat(1 << 20))).unwrap();
    let found = messages(&main);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].ends_with("the file is larger than 1048576 bytes, the most knit reads here"),
        "{found:?}"
    );
}

#[test]
fn imports_together_are_capped() {
    let dir = scratch("imports");
    let mut main = String::new();
    for k in 0..5 {
        let name = format!("lib{k}.net");
        let body = format!("let c{k} = 1\n# {}\n", "y".repeat(1_000_000));
        std::fs::write(dir.path().join(&name), body).unwrap();
        main.push_str(&format!("import \"{name}\"\n"));
    }
    let path = dir.path().join("main.net");
    std::fs::write(&path, main).unwrap();
    let outcome = check_file(&path);
    let d = &outcome.checked.diagnostics.items;
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].message
            .starts_with("the program's files hold more than 4194304 bytes together;"),
        "{}",
        d[0].message
    );
    assert_eq!(d[0].labels[0].text, "imported here");
    let rendered = common::rendered(&outcome);
    assert!(rendered.contains("main.net:5:8"), "{rendered}");
}

#[test]
fn invalid_utf8_names_the_byte_and_a_bom_is_accepted() {
    let dir = scratch("utf8");
    let bad = dir.path().join("bad.net");
    std::fs::write(&bad, b"seed 1\nlet x = \"\xff\"\n").unwrap();
    let found = messages(&bad);
    assert!(
        found[0].ends_with("bad.net: the file is not UTF-8 text (byte 16)"),
        "{found:?}"
    );
    let bom = dir.path().join("bom.net");
    std::fs::write(&bom, "\u{feff}seed 1\nlet x = 2\n").unwrap();
    assert_eq!(messages(&bom), Vec::<String>::new());
    assert_eq!(knit_dsl::read_source(&bom).unwrap(), "seed 1\nlet x = 2\n");
}

#[test]
fn a_diagnostic_on_a_huge_line_with_nul_bytes_stays_short_and_printable() {
    let text = format!("let x = \"{}\0\" + 1\n", "a".repeat(200_000));
    let path = PathBuf::from("/nonexistent/long.net");
    let line_bytes = text.len() - 1;
    let outcome = knit_dsl::check_source(&path, &text);
    assert!(outcome.checked.diagnostics.has_errors());
    let rendered = common::rendered(&outcome);
    assert!(rendered.len() < 3000, "{} bytes rendered", rendered.len());
    assert!(!rendered.contains('\0'));
    let note = format!("line 1 has {line_bytes} bytes, shown in part");
    assert!(rendered.contains(&note), "{rendered}");
    assert!(
        rendered.contains("this string has 200001 bytes; knit's strings have at most 4096"),
        "{rendered}"
    );
}

#[test]
fn a_long_chain_of_statements_checks() {
    // Checking was quadratic in the statements of a model (every statement copied the
    // names defined before it): 20,000 statements took minutes.
    let mut text = String::from("model m(x: [4]) -> [4] {\n  h0 = x |> relu\n");
    for i in 1..20_000 {
        text.push_str(&format!("  h{i} = h{} |> relu\n", i - 1));
    }
    text.push_str("  out = h19999 |> dense(4)\n}\n");
    let checked = without_hanging(Duration::from_secs(300), move || {
        check_text(Path::new("/nonexistent/chain.net"), &text)
    });
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    assert_eq!(checked.summary.models[0].layers.len(), 20_001);
}

#[test]
fn doubling_strings_stop_at_the_limit() {
    let mut text = String::from("let s0 = \"abcdefgh\"\n");
    for i in 1..40 {
        text.push_str(&format!("let s{i} = s{} + s{}\n", i - 1, i - 1));
    }
    let checked = check_text(Path::new("/nonexistent/strings.net"), &text);
    let d = &checked.diagnostics.items;
    assert_eq!(d.len(), 1, "one error, no cascade: {d:?}");
    assert_eq!(
        d[0].message,
        "the joined string would have 8192 bytes; knit's strings have at most 4096"
    );
}

#[test]
fn a_set_value_that_does_not_parse_names_the_override() {
    let text = "let hidden = 8\nmodel m(x: [4]) -> [4] {\n  out = x |> dense(hidden)\n}\n";
    let overrides = Overrides {
        seed: None,
        set: vec!["hidden=abc(".into()],
        epochs: None,
    };
    let err = apply_overrides(text, &overrides).unwrap_err().to_string();
    assert!(
        err.starts_with("--set hidden=abc(: the value is not valid here:"),
        "{err}"
    );
}
