//! The `knit` binary: exit codes (0 success, 1 diagnostics, 2 usage) and outputs.

mod common;

use common::{assert_failure, knit, text};
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples")
}

fn errors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/errors")
}

/// A fresh temporary folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("knit-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_prints_the_summary_and_exits_0() {
    let out = knit(&examples(), &["check", "digits.net"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("check_digits", text(&out.stdout));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn check_reports_every_error_on_stderr_and_exits_1() {
    let out = knit(&errors(), &["check", "several_errors.net"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    insta::assert_snapshot!("check_several_errors", text(&out.stderr));
}

#[test]
fn check_json_gives_codes_lines_and_columns() {
    let out = knit(
        &errors(),
        &["check", "--format", "json", "shape_mismatch_add.net"],
    );
    assert_eq!(out.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["ok"], false);
    assert_eq!(value["errors"], 1);
    let d = &value["diagnostics"][0];
    assert_eq!(d["code"], "knit::shape_mismatch");
    assert_eq!(d["severity"], "error");
    let labels = d["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 3);
    assert_eq!(
        (labels[0]["line"].as_u64(), labels[0]["column"].as_u64()),
        (Some(9), Some(10))
    );
    assert_eq!(labels[0]["file"], "shape_mismatch_add.net");
    assert_eq!(labels[1]["text"], "dense `h1` gives [B, 8]");

    let ok = knit(&examples(), &["check", "--format", "json", "xor.net"]);
    assert_eq!(ok.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(value["ok"], true);
    assert_eq!(value["models"][0]["params"], 2 * 4 + 4 + 4 * 2 + 2);
    assert_eq!(value["models"][0]["layers"][0]["output"], "[B, 4]");
    // Forward FLOPs per example of each row (2·in·out; tanh counts nothing) and in all.
    let flops: Vec<u64> = value["models"][0]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["flops"].as_u64().unwrap())
        .collect();
    assert_eq!(flops, [2 * 2 * 4, 0, 2 * 4 * 2]);
    assert_eq!(
        value["models"][0]["flops_per_example"],
        2 * 2 * 4 + 2 * 4 * 2
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["check"][..],
        &["frobnicate"][..],
        &["check", "--format", "xml", "a.net"][..],
    ] {
        let out = knit(&examples(), args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_missing_file_is_a_diagnostic() {
    let out = knit(&examples(), &["check", "nope.net"]);
    assert_failure(&out, 1, "cannot read nope.net");
}

#[test]
fn fmt_rewrites_in_place_and_check_mode_reports() {
    let dir = scratch("fmt");
    let file = dir.join("m.net");
    let messy = "model m(x:[2])->[2]{\n    out=x|>dense( 2 )   # the output\n}\n";
    std::fs::write(&file, messy).unwrap();
    let check = knit(&dir, &["fmt", "--check", "m.net"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check.stderr).contains("m.net is not formatted"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        messy,
        "--check must not write"
    );
    let fmt = knit(&dir, &["fmt", "m.net"]);
    assert_eq!(fmt.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "model m(x: [2]) -> [2] {\n  out = x |> dense(2)  # the output\n}\n"
    );
    assert_eq!(
        knit(&dir, &["fmt", "--check", "m.net"]).status.code(),
        Some(0)
    );
    std::fs::write(&file, "model m(x: [2]) -> [2] {\n  out = x |>\n}\n").unwrap();
    let broken = knit(&dir, &["fmt", "m.net"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken.stderr).contains("knit::syntax"));
}

#[test]
fn every_example_checks_and_is_formatted() {
    let mut count = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "net") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let check = knit(&examples(), &["check", &name]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{name}: {}",
            text(&check.stderr)
        );
        let fmt = knit(&examples(), &["fmt", "--check", &name]);
        assert_eq!(fmt.status.code(), Some(0), "{name}: {}", text(&fmt.stderr));
        count += 1;
    }
    assert!(count >= 25);
}

#[test]
fn explain_prints_the_resolved_program() {
    let out = knit(&examples(), &["explain", "blocks.net"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let resolved = text(&out.stdout);
    assert!(resolved.starts_with("seed 23\n"));
    assert!(!resolved.contains("import"), "imports are inlined");
    assert!(
        resolved.contains("block residual(x, width, p: 0.0)"),
        "{resolved}"
    );
    assert!(
        resolved.contains("unit(64, act: tanh)"),
        "constants are folded: {resolved}"
    );
    assert!(resolved.contains("optimizer adam(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false)"));
    let dir = scratch("explain");
    std::fs::write(dir.join("resolved.net"), &resolved).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let again = knit(&dir, &["explain", "resolved.net"]);
    assert_eq!(text(&again.stdout), resolved, "explain is a fixed point");
    let broken = knit(&errors(), &["explain", "unknown_layer.net"]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(text(&broken.stdout), "");
}

#[test]
fn arbitrary_bytes_never_crash_the_binary() {
    let dir = scratch("bytes");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..40 {
        let mut bytes = Vec::new();
        for _ in 0..(round * 37 % 600) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(if round % 2 == 0 {
                (state >> 24) as u8
            } else {
                b"model m(x:[2])->{}|>dense(,)\n#\"=train on 0.5"[(state % 44) as usize]
            });
        }
        let file = dir.join(format!("r{round}.net"));
        std::fs::write(&file, &bytes).unwrap();
        for cmd in ["check", "fmt", "explain"] {
            let out = knit(&dir, &[cmd, file.file_name().unwrap().to_str().unwrap()]);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0) | Some(1)),
                "{cmd} on {bytes:?} exited with {code:?}: {}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn a_closed_output_pipe_does_not_make_knit_panic() {
    // `knit check f.net | head -1`: the reader goes away before knit has written everything.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_knit"))
        .args([
            "check",
            &examples().join("digits.net").display().to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_ne!(output.status.code(), Some(101), "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_checkpoints_the_main_command_writes_are_ignored_by_git() {
    // The README's main command writes dsl-examples/runs/digits.safetensors.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = std::process::Command::new("git")
        .args(["check-ignore", "-q", "dsl-examples/runs/digits.safetensors"])
        .current_dir(&repo)
        .status()
        .expect("git runs");
    assert!(status.success(), "dsl-examples/runs/ is not ignored");
}
