//! Hostile programs and overrides through the `knit` binary: every command that reads a
//! program names the file and the place, and command-line overrides obey the language's
//! own rules.

mod common;

use common::{assert_failure, knit, text};
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples")
}

#[test]
fn a_program_that_is_not_utf8_gets_the_byte_offset_from_every_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.net"), b"seed 1\nlet x = \"\xff\"\n").unwrap();
    for command in ["check", "fmt", "explain", "train", "gradcheck", "bench"] {
        let out = knit(dir.path(), &[command, "bad.net"]);
        assert_failure(
            &out,
            1,
            "cannot read bad.net: the file is not UTF-8 text (byte 16)",
        );
    }
}

#[test]
fn a_device_or_a_folder_as_the_program_is_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["check", "fmt", "explain", "train"] {
        let out = knit(dir.path(), &[command, "/dev/zero"]);
        assert_failure(
            &out,
            1,
            "cannot read /dev/zero: is a character device, not a regular file",
        );
        let out = knit(dir.path(), &[command, "."]);
        assert_failure(&out, 1, "cannot read .: is a folder, not a regular file");
    }
}

#[test]
fn epochs_on_the_command_line_obey_the_language_s_range() {
    for bad in ["0", "1000001"] {
        let out = knit(&examples(), &["train", "xor.net", "--epochs", bad]);
        assert_failure(
            &out,
            2,
            &format!("invalid value '{bad}' for '--epochs <EPOCHS>': {bad} is not in 1..=1000000"),
        );
    }
}

#[test]
fn a_set_value_that_does_not_parse_is_reported_against_the_override() {
    let out = knit(
        &examples(),
        &["train", "digits.net", "--set", "hidden=abc("],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --set hidden=abc(: the value is not valid here:"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("digits.net:"),
        "no line of the file is blamed: {stderr}"
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let program = std::fs::read_to_string(examples().join("xor.net")).unwrap();
    std::fs::write(dir.path().join("bom.net"), format!("\u{feff}{program}")).unwrap();
    let out = knit(dir.path(), &["check", "bom.net"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
}

#[test]
fn resuming_a_finished_run_trains_nothing_and_reports_zero_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let program = std::fs::read_to_string(examples().join("xor.net")).unwrap();
    std::fs::write(dir.path().join("xor.net"), program).unwrap();
    let first = knit(dir.path(), &["train", "xor.net", "--quiet"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let save = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let again = knit(
        dir.path(),
        &[
            "train",
            "xor.net",
            "--quiet",
            "--resume",
            save.to_str().unwrap(),
        ],
    );
    let stdout = text(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    // `Sum` for floats starts at -0.0: an empty history printed "-0.00 s".
    assert!(stdout.contains("training time  0.00 s"), "{stdout}");
}

#[test]
fn an_output_path_that_cannot_be_written_fails_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let program = std::fs::read_to_string(examples().join("xor.net")).unwrap();
    std::fs::write(dir.path().join("xor.net"), program).unwrap();
    std::fs::create_dir(dir.path().join("a_folder")).unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--report", "a_folder"],
            "error: cannot write the report a_folder: is a folder, not a regular file",
        ),
        (
            &["--out", "/dev/null"],
            "error: cannot write the checkpoint /dev/null/runs/xor.safetensors: /dev/null is a character device, not a folder",
        ),
        (
            &["--plot", "xor.net/curves.png"],
            "error: cannot write the plot xor.net/curves.png: xor.net is a regular file, not a folder",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["train", "xor.net"];
        args.extend_from_slice(extra);
        let out = knit(dir.path(), &args);
        assert_failure(&out, 1, message);
        assert!(
            !text(&out.stdout).contains("epoch"),
            "trained first: {}",
            text(&out.stdout)
        );
    }
}
