//! End-to-end runs of `knit train`, `eval`, `predict`, `gradcheck` and `bench` on the
//! bundled examples, in temporary folders.

#[path = "../crates/cli/tests/common/mod.rs"]
mod common;

use common::compose::bits;
use common::{assert_failure, knit, text};
use knit_train::Checkpoint;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dsl-examples")
        .canonicalize()
        .unwrap()
}

/// Replaces the values of the summary's timing and path lines.
fn redact(summary: &str) -> String {
    summary
        .lines()
        .map(|line| {
            let key = line.trim_start();
            if ["training time", "total time", "samples/s", "checkpoint"]
                .iter()
                .any(|k| key.starts_with(k))
            {
                let cut = line.len() - key.len() + key.find("  ").unwrap_or(key.len());
                format!("{}  [redacted]", &line[..cut])
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn digits() -> String {
    examples().join("digits.net").display().to_string()
}

#[test]
fn train_writes_a_report_and_a_checkpoint_that_eval_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = knit(
        dir.path(),
        &[
            "train",
            &digits(),
            "--epochs",
            "2",
            "--quiet",
            "--report",
            "r.json",
            "--out",
            "tmp",
            "--plot",
            "curves.svg",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("train_digits_quiet", redact(&text(&out.stdout)));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["seed"], 7);
    assert_eq!(report["epochs"].as_array().unwrap().len(), 2);
    assert!(report["program"].as_str().unwrap().contains("model mlp"));
    // `--epochs 2` is part of the program the report and the checkpoint keep; the line's
    // early stopping stays.
    let epochs_line = |program: &str| -> Vec<String> {
        program
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("epochs"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let expected = vec![
        "epochs 2, early_stop(patience: 5, metric: val_loss, min_delta: 0, restore_best: false)"
            .to_string(),
    ];
    assert_eq!(epochs_line(report["program"].as_str().unwrap()), expected);
    assert!(report["command_line"].as_array().unwrap().len() > 3);
    let test = &report["test"][0];
    assert_eq!(test["examples"], 180);
    assert_eq!(test["confusion"].as_array().unwrap().len(), 10);
    assert!(test["accuracy"].as_f64().unwrap() > 0.5);
    assert!(report["samples_per_second"].as_f64().unwrap() > 0.0);
    assert!(report["epochs"][1]["validation"][0]["loss"].is_number());
    assert!(dir.path().join("curves.svg").exists());
    let ckpt = dir.path().join("tmp/runs/digits.safetensors");
    let loaded = Checkpoint::read(&ckpt).unwrap();
    assert!(loaded.tensors.contains_key("h1.weight"));
    assert!(loaded.tensors.contains_key("_knit.scaler.kind"));
    assert_eq!(
        epochs_line(loaded.metadata["knit.program"].as_str()),
        expected
    );
    let eval = knit(
        dir.path(),
        &[
            "eval",
            &digits(),
            "--weights",
            "tmp/runs/digits.safetensors",
        ],
    );
    assert_eq!(eval.status.code(), Some(0), "{}", text(&eval.stderr));
    let table = text(&eval.stdout);
    assert!(
        table.contains("validation") && table.contains("test"),
        "{table}"
    );

    // predict: the first three rows of the data, label column dropped.
    let rows = "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0\n\
0,0,0,12,13,5,0,0,0,0,0,11,16,9,0,0,0,0,3,15,16,6,0,0,0,7,15,16,16,2,0,0,0,0,1,16,16,3,0,0,0,0,1,16,16,6,0,0,0,0,1,16,16,6,0,0,0,0,0,11,16,10,0,0\n";
    std::fs::write(dir.path().join("in.csv"), rows).unwrap();
    let predict_on = |input: &str| {
        knit(
            dir.path(),
            &[
                "predict",
                &digits(),
                "--weights",
                "tmp/runs/digits.safetensors",
                "--input",
                input,
            ],
        )
    };
    let predict = predict_on("in.csv");
    assert_eq!(predict.status.code(), Some(0), "{}", text(&predict.stderr));
    let csv = text(&predict.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,class,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9");
    assert_eq!(lines.len(), 3);
    for line in &lines[1..] {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        assert_eq!(cells.len(), 12);
        let total: f64 = cells[2..].iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "{line}");
    }
    insta::assert_snapshot!("predict_digits", csv);
    // The same rows in the training format, the label last: the label column is left out,
    // with a note, and the predictions are the same.
    let labelled: String = rows
        .lines()
        .zip(["0", "1"])
        .map(|(r, y)| format!("{r},{y}\n"))
        .collect();
    std::fs::write(dir.path().join("labelled.csv"), labelled).unwrap();
    let with_label = predict_on("labelled.csv");
    assert_eq!(
        with_label.status.code(),
        Some(0),
        "{}",
        text(&with_label.stderr)
    );
    assert_eq!(text(&with_label.stdout), csv);
    assert_eq!(
        text(&with_label.stderr),
        "note: labelled.csv has 65 columns, one more than the model's 64 features: the label \
         column (label: last, as the data block names it) is left out\n"
    );
    let to_file = knit(
        dir.path(),
        &[
            "predict",
            &digits(),
            "--weights",
            "tmp/runs/digits.safetensors",
            "--input",
            "in.csv",
            "--output",
            "p.csv",
        ],
    );
    assert_eq!(to_file.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("p.csv")).unwrap(),
        csv
    );
}

/// Trains digits.net quietly for `epochs` into `out`, asserting success.
fn train_digits(dir: &Path, epochs: &str, out: &str, extra: &[&str]) {
    let digits = digits();
    let mut args = vec![
        "train",
        digits.as_str(),
        "--epochs",
        epochs,
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let run = knit(dir, &args);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
}

#[test]
fn a_bagging_run_reports_and_plots_every_member_and_cannot_be_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let bagging = examples().join("bagging.net").display().to_string();
    let args = [
        "train",
        &bagging,
        "--epochs",
        "2",
        "--quiet",
        "--out",
        "tmp",
        "--threads",
        "2",
    ];
    let with = |extra: &[&'static str]| -> Vec<String> {
        args.iter().chain(extra).map(|a| a.to_string()).collect()
    };
    let run = |argv: Vec<String>| {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        knit(dir.path(), &argv)
    };
    let out = run(with(&["--report", "r.json", "--plot", "members.svg"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["seed"], 19);
    assert_eq!(report["threads"], 2);
    assert_eq!(report["bagging"]["score"], "accuracy");
    assert_eq!(report["bagging"]["split"], "test");
    let members = report["members"].as_array().unwrap();
    assert_eq!(members.len(), 5);
    let mut scores = Vec::new();
    for (k, member) in members.iter().enumerate() {
        assert_eq!(member["member"], k);
        assert_eq!(member["seed"], 20 + k as u64);
        assert_eq!(member["epochs"].as_array().unwrap().len(), 2);
        assert!(member["epochs"][1]["train_loss"].as_f64().unwrap() > 0.0);
        scores.push(member["score"].as_f64().unwrap());
    }
    let mean = scores.iter().sum::<f64>() / 5.0;
    assert!((report["bagging"]["member_mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    // Every member's curves, labelled by member.
    let svg = std::fs::read_to_string(dir.path().join("members.svg")).unwrap();
    for k in 0..5 {
        assert!(
            svg.contains(&format!("member {k} train")),
            "member {k} missing"
        );
    }
    // A PNG as well; nothing temporary is left beside it.
    let out = run(with(&["--plot", "members.png"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let png = std::fs::read(dir.path().join("members.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let out = run(with(&["--resume", "tmp/runs/bagging.safetensors"]));
    assert_failure(
        &out,
        2,
        "a bagging program trains all its members in one go",
    );

    // Adversarially trained members: the ensemble is attacked through all of them.
    let out = run(with(&["--set", "adversarial=fgsm(eps: 0.1)"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let ensemble = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("ensemble"))
        .and_then(|rest| rest.split('%').next())
        .map(str::trim)
        .unwrap();
    let robustness =
        format!("robustness on 200 held-out examples: clean {ensemble} %, under fgsm(eps: 0.1) ");
    assert!(
        stdout.contains(&robustness),
        "{robustness:?} not in {stdout}"
    );

    // Without --quiet and off a terminal: a line per member and epoch.
    let out = knit(
        dir.path(),
        &["train", &bagging, "--epochs", "2", "--out", "tmp"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for member in 0..5 {
        for epoch in 1..=2 {
            let line = format!("member {member}  epoch   {epoch}/2  loss ");
            assert!(stdout.contains(&line), "{line:?} not in {stdout}");
        }
    }
}

#[test]
fn a_resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    train_digits(dir.path(), "4", "full", &[]);
    train_digits(dir.path(), "2", "half", &[]);
    train_digits(
        dir.path(),
        "4",
        "half",
        &["--resume", "half/runs/digits.safetensors"],
    );
    let a = bits(&dir.path().join("full/runs/digits.safetensors"));
    let b = bits(&dir.path().join("half/runs/digits.safetensors"));
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

/// A small CNN on the digits as images `[1, 8, 8]`, augmented by a random crop and flip.
fn augmented_digits(dir: &Path) -> String {
    let data = examples().join("data/digits.csv.gz");
    let program = format!(
        "seed 3\n\ndata digits {{\n  source  csv({:?}, label: last)\n  split   train 0.8, test 0.2\n  \
         scale   x / 16\n  augment crop(padding: 1), flip(horizontal)\n}}\n\n\
         model cnn(x: [1, 8, 8]) -> [10] {{\n  out = x |> conv2d(4, 3) |> relu |> flatten |> dense(10)\n}}\n\n\
         train cnn on digits {{\n  loss      cross_entropy\n  optimizer adam(lr: 1e-2)\n  \
         batch     32, shuffle\n  epochs    3\n  save      \"runs/aug.safetensors\"\n}}\n",
        data.display().to_string()
    );
    std::fs::write(dir.join("aug.net"), program).unwrap();
    "aug.net".into()
}

/// `knit train` with augmentation: resumed mid-run, or on 2 threads, it ends with the same
/// bits as the uninterrupted 1-thread run, and the report's program keeps the `augment` line.
#[test]
fn an_augmented_run_resumes_and_threads_to_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let file = augmented_digits(dir.path());
    let train = |epochs: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["train", &file, "--epochs", epochs, "--quiet", "--out", out];
        args.extend_from_slice(extra);
        let run = knit(dir.path(), &args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    };
    train("3", "full", &["--report", "r.json"]);
    train("1", "half", &[]);
    train("3", "half", &["--resume", "half/runs/aug.safetensors"]);
    train("3", "two", &["--threads", "2"]);
    let full = bits(&dir.path().join("full/runs/aug.safetensors"));
    assert!(!full.is_empty());
    assert_eq!(bits(&dir.path().join("half/runs/aug.safetensors")), full);
    assert_eq!(bits(&dir.path().join("two/runs/aug.safetensors")), full);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let program = report["program"].as_str().unwrap();
    assert!(
        program.contains("augment crop(padding: 1), flip(axis: horizontal, p: 0.5)"),
        "{program}"
    );
    assert!(report["test"][0]["accuracy"].as_f64().unwrap() > 0.5);
}

#[test]
fn a_missing_data_file_is_exit_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let program = std::fs::read_to_string(examples().join("digits.net"))
        .unwrap()
        .replace("data/digits.csv.gz", "data/nothing.csv");
    std::fs::write(dir.path().join("m.net"), program).unwrap();
    let out = knit(dir.path(), &["train", "m.net", "--quiet"]);
    assert_failure(&out, 1, "nothing.csv");
}

#[test]
fn a_corrupt_checkpoint_is_exit_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.safetensors"), b"not a checkpoint").unwrap();
    for args in [
        vec![
            "train",
            &digits(),
            "--quiet",
            "--out",
            "o",
            "--resume",
            "bad.safetensors",
        ],
        vec!["eval", &digits(), "--weights", "bad.safetensors"],
    ] {
        let out = knit(dir.path(), &args);
        assert_failure(&out, 1, "bad.safetensors");
    }
}

#[test]
fn wrong_usage_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["train", &digits(), "--set", "nothing=3"],
        vec!["train", &digits(), "--plot", "curves.gif"],
        vec!["train", &digits(), "--epochs", "many"],
    ] {
        let out = knit(dir.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn seed_and_set_overrides_reach_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let out = knit(
        dir.path(),
        &[
            "train",
            &digits(),
            "--epochs",
            "1",
            "--quiet",
            "--seed",
            "11",
            "--set",
            "hidden=32",
            "--out",
            "o",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["seed"], 11);
    let ckpt = Checkpoint::read(&dir.path().join("o/runs/digits.safetensors")).unwrap();
    assert_eq!(ckpt.tensors["h1.weight"].shape(), &[32, 64]);
}

#[test]
fn set_replaces_or_adds_train_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = knit(
        dir.path(),
        &[
            "train",
            &digits(),
            "--quiet",
            "--set",
            "epochs=2",
            "--set",
            "optimizer=sgd(lr: 0.05, momentum: 0.9)",
            "--set",
            "clip=value(0.5)",
            "--set",
            "batch=32",
            "--out",
            "o",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["epochs"].as_array().unwrap().len(), 2);
    let program = report["program"].as_str().unwrap();
    for line in [
        "optimizer sgd(lr: 0.05, momentum: 0.9",
        "clip      value(max: 0.5)",
        // The value replaces the whole line: `shuffle` was not repeated.
        "batch     32, shuffle: false",
    ] {
        assert!(program.contains(line), "{line:?} not in\n{program}");
    }
    // A key that is neither a constant nor a train setting names both lists.
    let out = knit(dir.path(), &["train", &digits(), "--set", "nothing=3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "--set nothing: the program has no top-level `let nothing` (its constants: hidden) \
             and `nothing` is not a train setting (those: loss, optimizer, schedule, batch, \
             epochs, clip, prune, adversarial, bagging, start, save, precision)"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn gradcheck_passes_on_xor() {
    let out = knit(&examples(), &["gradcheck", "xor.net"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("h.weight"));
}

#[test]
fn gradcheck_samples_large_parameters_unless_asked_for_all() {
    let out = knit(
        &examples(),
        &["gradcheck", "digits.net", "--elements", "16"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("up to 16 elements per parameter, sampled with seed 0"),
        "{stdout}"
    );
    // h1.weight is [128, 64]: 16 of its 8192 elements; its 128 biases, 16 of them.
    assert!(stdout.contains("16/8192"), "{stdout}");
    let again = knit(
        &examples(),
        &["gradcheck", "digits.net", "--elements", "16"],
    );
    assert_eq!(
        text(&again.stdout),
        stdout,
        "the same seed checks the same elements"
    );
    let all = knit(&examples(), &["gradcheck", "xor.net", "--all"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
    assert!(text(&all.stdout).contains("every element"));
}

#[test]
fn bench_reports_samples_per_second() {
    let out = knit(&examples(), &["bench", "xor.net", "--runs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("samples/s"));
}

/// The `.net` files under `dsl-examples/` (subfolders included), as paths relative to it
/// without the extension, sorted.
fn example_names() -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "data" {
                walk(&path, &format!("{prefix}{name}/"), out);
            } else if let Some(stem) = name.strip_suffix(".net") {
                out.push(format!("{prefix}{stem}"));
            }
        }
    }
    let mut names = Vec::new();
    walk(&examples(), "", &mut names);
    names.sort();
    names
}

/// Every example with a `train` block trains one epoch, and its summary (timings redacted)
/// matches its snapshot. Skipped: files without a train block (definitions others import),
/// npy (its arrays are not bundled) and the Fashion-MNIST examples when the Debian package
/// is not installed. Pruning prints its table, adversarial training its robustness line,
/// bagging its members.
#[test]
fn every_example_trains_one_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let fashion = Path::new("/usr/share/datasets/fashion-mnist").exists();
    let mut names: Vec<String> = example_names()
        .into_iter()
        .filter(|n| n != "npy" && (fashion || !n.contains("fashion")))
        .filter(|n| {
            let text = std::fs::read_to_string(examples().join(format!("{n}.net"))).unwrap();
            text.lines().any(|line| line.starts_with("train "))
        })
        .collect();
    // transfer.net starts from digits.net's checkpoint and transfer_cnn_frozen.net from
    // transfer_cnn_pretrain.net's: train those first.
    let first = ["digits", "transfer_cnn_pretrain"];
    names.retain(|n| !first.contains(&n.as_str()));
    names.splice(0..0, first.map(String::from));
    for name in names {
        let file = examples().join(format!("{name}.net")).display().to_string();
        let out = knit(
            dir.path(),
            &["train", &file, "--epochs", "1", "--quiet", "--out", "o"],
        );
        if name == "techniques/cliff_unclipped" {
            // The cliff experiment without clipping goes off the cliff in its first epoch.
            assert_eq!(out.status.code(), Some(1), "{name}");
            let err = text(&out.stderr);
            assert!(err.contains("training diverged at epoch 1"), "{err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let expected = match name.as_str() {
            n if n.contains("bagging") => "ensemble",
            "pruning" => "pruning (accuracy floor",
            n if n.starts_with("adversarial") => "robustness on",
            _ => "epochs",
        };
        assert!(stdout.contains(expected), "{name}: {stdout}");
        insta::assert_snapshot!(
            format!("example_{}", name.replace('/', "__")),
            redact(&stdout)
        );
    }
}

/// A run killed with SIGKILL in the middle of training leaves its last checkpoint whole
/// (checkpoints are written atomically); resuming from it ends with the same bits as a run
/// that was never interrupted.
#[cfg(unix)]
#[test]
fn a_killed_run_resumes_to_the_same_bits() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mnist = examples().join("mnist_mlp.net").display().to_string();
    let args = |out: &'static str| {
        vec![
            "train".to_string(),
            mnist.clone(),
            "--epochs".into(),
            "5".into(),
            "--quiet".into(),
            "--out".into(),
            out.into(),
        ]
    };
    let full = knit(
        dir.path(),
        &args("full").iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(full.status.code(), Some(0), "{}", text(&full.stderr));

    let mut child = Command::new(env!("CARGO_BIN_EXE_knit"))
        .args(args("killed"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ckpt = dir.path().join("killed/runs/mnist_mlp.safetensors");
    let epoch_of = |c: &Checkpoint| c.metadata["knit.epoch"].parse::<usize>().unwrap();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        if Checkpoint::read(&ckpt).is_ok_and(|c| epoch_of(&c) >= 2) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = Checkpoint::read(&ckpt).expect("the last checkpoint survives the kill");
    assert!((2..5).contains(&epoch_of(&saved)), "{}", epoch_of(&saved));

    let mut resume = args("killed");
    resume.extend(["--resume".into(), ckpt.display().to_string()]);
    let resumed = knit(
        dir.path(),
        &resume.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    let a = bits(&dir.path().join("full/runs/mnist_mlp.safetensors"));
    let b = bits(&ckpt);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

/// A run that diverges stops with exit 1, says where, and leaves the checkpoint an earlier
/// run saved at the same path untouched.
#[test]
fn a_diverging_run_keeps_the_saved_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    train_digits(dir.path(), "2", "o", &[]);
    let ckpt = dir.path().join("o/runs/digits.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    let out = knit(
        dir.path(),
        &[
            "train",
            &digits(),
            "--quiet",
            "--out",
            "o",
            "--set",
            "clip=value(1e30)",
            "--set",
            "optimizer=sgd(lr: 1e30)",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("training diverged at epoch 1, step "),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);
}

/// Tying two models: every epoch's line and report entry give the tied pairs' distance.
#[test]
fn tying_reports_the_distance_of_the_tied_pairs_each_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let file = examples().join("tying.net").display().to_string();
    let out = knit(
        dir.path(),
        &[
            "train", &file, "--epochs", "2", "--out", "o", "--report", "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let epochs = report["epochs"].as_array().unwrap();
    let distances: Vec<f64> = epochs
        .iter()
        .map(|e| {
            let pairs = e["tie_distances"].as_array().unwrap();
            assert_eq!(pairs.len(), 1, "{pairs:?}");
            assert_eq!(pairs[0][0], "a.h1.weight ~ b.h1.weight");
            pairs[0][1].as_f64().unwrap()
        })
        .collect();
    assert!(
        distances.iter().all(|d| d.is_finite() && *d > 0.0),
        "{distances:?}"
    );
    let lines = text(&out.stdout) + &text(&out.stderr);
    assert!(
        lines.contains(&format!("‖a.h1.weight ~ b.h1.weight‖² {:.4}", distances[1])),
        "{lines}"
    );
}

#[test]
fn norm_clipping_reports_the_steps_it_clipped_and_the_largest_norm() {
    let dir = tempfile::tempdir().unwrap();
    let clipping = |max: &str| {
        let clip = format!("clip=norm({max})");
        let args = [
            "train",
            &digits(),
            "--epochs",
            "1",
            "--quiet",
            "--report",
            "r.json",
            "--out",
            "tmp",
            "--set",
            &clip,
        ];
        let out = knit(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap())
                .unwrap();
        let c = &report["epochs"][0]["clipping"];
        let n = |k: &str| c[k].as_f64().unwrap_or_else(|| panic!("{k} in {c}"));
        (n("steps"), n("clipped_steps"), n("largest_norm"))
    };
    let (steps, clipped, largest) = clipping("1e-6");
    assert!(steps > 10.0, "one entry per step: {steps}");
    assert_eq!(clipped, steps, "every step's norm exceeds 1e-6");
    assert!(largest > 0.0 && largest.is_finite());
    let (steps_free, clipped_free, largest_free) = clipping("1e9");
    assert_eq!(
        (steps_free, clipped_free),
        (steps, 0.0),
        "nothing exceeds 1e9"
    );
    assert!(largest_free > 0.0 && largest_free < 1e9);
}

/// `(name, norm)` of every line of a gradflow table that starts with `prefix`.
fn gradflow_rows(stdout: &str, prefix: &str) -> Vec<(String, f64)> {
    stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(prefix))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let norm = cols.iter().rev().find_map(|c| c.parse::<f64>().ok())?;
            Some((cols[0].to_string(), norm))
        })
        .collect()
}

#[test]
fn gradflow_shows_the_vanishing_gradient_of_deep_sigmoids_and_through_time() {
    let dir = tempfile::tempdir().unwrap();
    let deep = examples().join("techniques/deep_sigmoid.net");
    let out = knit(dir.path(), &["gradflow", &deep.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("gradient flow on 64 training examples at the initial weights"));
    let weights: Vec<(String, f64)> = gradflow_rows(&stdout, "h.")
        .into_iter()
        .filter(|(n, _)| n.ends_with(".weight"))
        .collect();
    assert_eq!(weights.len(), 8, "{stdout}");
    for pair in weights.windows(2) {
        assert!(
            pair[0].1 < pair[1].1 / 2.0,
            "shrinks towards the input: {pair:?}"
        );
    }
    assert!(weights[0].1 < weights[7].1 * 1e-4, "{weights:?}");

    let adding = examples().join("adding.net");
    let out = knit(
        dir.path(),
        &[
            "gradflow",
            &adding.display().to_string(),
            "--examples",
            "32",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("gru `h.l0`: ‖∂L/∂h_t‖ over the batch, t = 1..50"),
        "{stdout}"
    );
    let steps: Vec<f64> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("gru"))
        .skip(2)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps.len(), 50);
    assert!(
        steps[0] < steps[49] * 1e-3,
        "vanishes through time: {} vs {}",
        steps[0],
        steps[49]
    );
}

/// `--log` writes a row per epoch as training goes, the same numbers as the report's, and
/// `--log-steps` a row per optimizer step; bagging fills the `member` column.
#[test]
fn the_metrics_log_has_a_row_per_epoch_and_per_step() {
    let dir = tempfile::tempdir().unwrap();
    train_digits(
        dir.path(),
        "2",
        "o",
        &["--log", "m.csv", "--log-steps", "--report", "r.json"],
    );
    let log = std::fs::read_to_string(dir.path().join("m.csv")).unwrap();
    let mut lines = log.lines();
    assert_eq!(
        lines.next().unwrap(),
        "member,epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,lr,grad_norm,seconds,samples_per_s"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 11), "{log}");
    let (epochs, steps): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r[2].is_empty());
    // 1,437 training digits in batches of 64: 23 steps an epoch, numbered over the run.
    assert_eq!(steps.len(), 46);
    assert_eq!(steps[45][..3], ["", "2", "46"]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    for (row, epoch) in epochs.iter().zip(report["epochs"].as_array().unwrap()) {
        let number = |k: usize| row[k].parse::<f64>().unwrap();
        assert_eq!(number(3), epoch["train_loss"].as_f64().unwrap());
        assert_eq!(number(5), epoch["validation"][0]["loss"].as_f64().unwrap());
        assert_eq!(number(7), epoch["lr"].as_f64().unwrap());
        assert!(number(4) > 0.0 && number(6) > 0.0 && number(10) > 0.0);
    }
    assert_eq!(epochs.len(), 2);
    // The log never replaces the program, and a folder is refused before training.
    let program = digits();
    let out = knit(dir.path(), &["train", &program, "--log", &program]);
    common::assert_failure(
        &out,
        2,
        &format!("error: --log {program}: that is the program {program}; writing there would overwrite it"),
    );
    let out = knit(dir.path(), &["train", &program, "--log", "."]);
    common::assert_failure(
        &out,
        1,
        "error: cannot write the metrics log .: is a folder",
    );
}

/// `knit lr-find`: a table of at most 25 steps with their smoothed loss, the suggestion and
/// its rule, a plot; the checkpoint at the program's save path is not touched.
#[test]
fn lr_find_prints_the_curve_and_a_suggestion_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = examples().join("data/digits.csv.gz");
    let program = std::fs::read_to_string(digits())
        .unwrap()
        .replace("data/digits.csv.gz", &data.display().to_string());
    std::fs::write(dir.path().join("d.net"), program).unwrap();
    std::fs::create_dir_all(dir.path().join("runs")).unwrap();
    let saved = dir.path().join("runs/digits.safetensors");
    std::fs::write(&saved, b"an earlier run's checkpoint").unwrap();
    let out = knit(dir.path(), &["lr-find", "d.net", "--plot", "lr.svg"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("d.net: learning-rate range test, ")
            && lines[0]
                .ends_with(" steps on 1437 training examples, stopped when the loss diverged"),
        "{table}"
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["lr", "loss", "smoothed"]
    );
    let rows: Vec<Vec<f64>> = lines[2..]
        .iter()
        .take_while(|l| !l.starts_with("suggested"))
        .map(|l| l.split_whitespace().map(|c| c.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() > 10 && rows.len() <= 26, "{table}");
    assert_eq!(rows[0][0], 1e-7);
    assert!(
        rows.windows(2).all(|w| w[1][0] > w[0][0]),
        "rates rise: {table}"
    );
    let suggestion = lines[2 + rows.len()];
    assert!(
        suggestion.starts_with("suggested lr ")
            && suggestion.ends_with(": where the smoothed loss falls fastest against log(lr)"),
        "{table}"
    );
    let lr: f64 = suggestion["suggested lr ".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(lr > 1e-4 && lr < 1.0, "{lr}");
    assert!(std::fs::read_to_string(dir.path().join("lr.svg"))
        .unwrap()
        .contains("learning-rate range test"));
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        b"an earlier run's checkpoint"
    );
}
