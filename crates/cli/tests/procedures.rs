//! End-to-end runs of the procedures' commands on the bundled examples: `knit attack`,
//! ensemble checkpoints read by `eval` and `predict` (classification and regression), the
//! pruning table with its sparse checkpoint, and an exported model run by an ONNX runtime.

mod common;

use common::compose::{fails, ok};
use common::example;
use knit_train::Checkpoint;
use std::path::PathBuf;

/// The whitespace-separated cells of the first line whose cells start with `prefix`.
fn row(table: &str, prefix: &[&str]) -> Vec<String> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.len() >= prefix.len() && cells[..prefix.len()] == *prefix)
        .unwrap_or_else(|| panic!("no row {prefix:?} in\n{table}"))
}

/// `"97.22"` from the cells `.. "97.22" "%"` before the `%` at or after `from`.
fn percent_at(cells: &[String], from: usize) -> f64 {
    let at = cells[from..].iter().position(|c| c == "%").unwrap() + from;
    cells[at - 1].parse().unwrap()
}

#[test]
fn attack_prints_clean_fgsm_and_pgd_accuracy_at_each_eps() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("adversarial_fgsm.net");
    let trained = ok(
        dir.path(),
        &["train", &file, "--epochs", "3", "--quiet", "--out", "o"],
    );
    let weights = "o/runs/adversarial_fgsm.safetensors";
    let table = ok(dir.path(), &["attack", &file, "--weights", weights]);
    assert!(
        table.starts_with(
            "accuracy under attack on 359 test examples (ε in scaled input units, inputs clipped to [0, 1])"
        ),
        "{table}"
    );
    let clean = percent_at(&row(&table, &["clean"]), 1);
    // The robustness line of training measured FGSM at ε 0.1 on the same split and range.
    let line = trained
        .lines()
        .find(|l| l.starts_with("robustness on"))
        .unwrap();
    assert!(
        line.contains(&format!("clean {clean:.2} %")),
        "{line} vs {table}"
    );
    let fgsm = percent_at(&row(&table, &["fgsm", "0.1"]), 2);
    assert!(
        line.ends_with(&format!("under fgsm(eps: 0.1) {fgsm:.2} %")),
        "{line} vs {table}"
    );
    let mut last = clean;
    for eps in ["0.05", "0.1", "0.2"] {
        let cells = row(&table, &["fgsm", eps]);
        assert_eq!(cells[2], "1");
        let accuracy = percent_at(&cells, 3);
        assert!(accuracy <= last, "{table}");
        last = accuracy;
        let pgd = row(&table, &["pgd", eps]);
        assert_eq!(pgd[2], "10");
        let alpha: f64 = pgd[3].parse().unwrap();
        assert!((alpha - 2.5 * eps.parse::<f64>().unwrap() / 10.0).abs() < 1e-9);
    }
    assert!(last < clean - 10.0, "ε 0.2 should hurt: {table}");

    let json = ok(
        dir.path(),
        &[
            "attack",
            &file,
            "--weights",
            weights,
            "--attack",
            "pgd",
            "--eps",
            "0.1",
            "--steps",
            "4",
            "--alpha",
            "0.03",
            "--json",
        ],
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["split"], "test");
    assert_eq!(value["examples"], 359);
    assert_eq!(value["range"], serde_json::json!([0.0, 1.0]));
    assert!((value["clean"].as_f64().unwrap() * 100.0 - clean).abs() < 0.006);
    let attacks = value["attacks"].as_array().unwrap();
    assert_eq!(attacks.len(), 1);
    assert_eq!(attacks[0]["attack"], "pgd");
    assert_eq!(attacks[0]["steps"], 4);
    assert_eq!(attacks[0]["alpha"], 0.03);
    assert!(attacks[0]["accuracy"].as_f64().unwrap() < value["clean"].as_f64().unwrap());

    // Wrong usage is exit 2; a missing split or a bad checkpoint is exit 1.
    for args in [
        vec!["--eps", "-0.1"],
        vec!["--eps", "x"],
        vec!["--range", "1,0"],
        vec!["--attack", "cw"],
        vec!["--alpha", "0"],
        vec!["--steps", "0"],
    ] {
        let mut full = vec!["attack", file.as_str(), "--weights", weights];
        full.extend(args);
        fails(dir.path(), 2, &full);
    }
    let err = fails(
        dir.path(),
        1,
        &[
            "attack",
            &file,
            "--weights",
            weights,
            "--split",
            "validation",
        ],
    );
    assert!(err.contains("has no validation split to attack"), "{err}");
    std::fs::write(dir.path().join("bad.safetensors"), b"nothing").unwrap();
    let err = fails(
        dir.path(),
        1,
        &["attack", &file, "--weights", "bad.safetensors"],
    );
    assert!(
        err.contains("checkpoint bad.safetensors: not a valid safetensors file"),
        "{err}"
    );
}

#[test]
fn a_bagging_run_writes_one_ensemble_checkpoint_that_eval_and_predict_use() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("bagging.net");
    let trained = ok(
        dir.path(),
        &["train", &file, "--epochs", "3", "--quiet", "--out", "o"],
    );
    assert!(
        trained.contains("bagging (5 members, 3 epochs each; accuracy on test split)"),
        "{trained}"
    );
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("o/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let ckpt = Checkpoint::read(&runs[0]).unwrap();
    assert_eq!(ckpt.metadata["knit.ensemble.members"], "5");
    assert_eq!(ckpt.metadata["knit.ensemble.combine"], "vote");
    for k in 0..5 {
        assert!(ckpt.tensors.contains_key(&format!("members.{k}.h.weight")));
    }
    assert!(ckpt.tensors.contains_key("_knit.scaler.kind"));

    let weights = "o/runs/bagging.safetensors";
    let eval = ok(dir.path(), &["eval", &file, "--weights", weights]);
    assert!(
        eval.starts_with("ensemble of 5 members, combined by majority vote\n"),
        "{eval}"
    );
    // eval measures what training reported, member by member.
    let ensemble = row(&eval, &["test", "ensemble"]);
    assert_eq!(ensemble[2], "200");
    assert_eq!(
        percent_at(&ensemble, 3),
        percent_at(&row(&trained, &["ensemble"]), 1)
    );
    for k in 0..5 {
        let k = k.to_string();
        let member = row(&eval, &["test", "member", &k]);
        assert_eq!(
            percent_at(&member, 4),
            percent_at(&row(&trained, &["member", &k]), 2)
        );
    }

    std::fs::write(
        dir.path().join("in.csv"),
        "x1,x2\n0.5,0.2\n-1,0.3\n1.5,-0.4\n0,0.5\n",
    )
    .unwrap();
    let csv = ok(
        dir.path(),
        &["predict", &file, "--weights", weights, "--input", "in.csv"],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,class,p0,p1");
    assert_eq!(lines.len(), 5);
    for line in &lines[1..] {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        // Combined by vote: each probability is a share of the 5 members' votes.
        for p in &cells[2..] {
            assert!(((p * 5.0) - (p * 5.0).round()).abs() < 1e-9, "{line}");
        }
        assert!((cells[2] + cells[3] - 1.0).abs() < 1e-9, "{line}");
        assert!(cells[2 + cells[1] as usize] >= 0.6, "{line}");
    }

    // The ensemble is attacked through all its members; its clean row is its own accuracy.
    let table = ok(
        dir.path(),
        &["attack", &file, "--weights", weights, "--eps", "0,0.3"],
    );
    assert!(
        table.starts_with(
            "accuracy under attack on 200 test examples, an ensemble of 5 members (ε in scaled input units)"
        ),
        "{table}"
    );
    let ensemble = percent_at(&row(&trained, &["ensemble"]), 1);
    assert_eq!(percent_at(&row(&table, &["clean"]), 1), ensemble);
    let fgsm = |eps: &str| percent_at(&row(&table, &["fgsm", eps]), 2);
    assert_eq!(fgsm("0"), ensemble, "ε 0 changes nothing");
    assert!(fgsm("0.3") < ensemble, "{table}");
}

#[test]
fn a_regression_ensemble_reports_mse_and_predicts_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("bagging_regression.net");
    let trained = ok(
        dir.path(),
        &["train", &file, "--epochs", "20", "--quiet", "--out", "o"],
    );
    assert!(
        trained.contains("bagging (5 members, 20 epochs each; MSE on test split)"),
        "{trained}"
    );
    let trained_mse: f64 = row(&trained, &["ensemble"])[1].parse().unwrap();
    let members: Vec<f64> = (0..5)
        .map(|k| {
            row(&trained, &["member", &k.to_string()])[2]
                .parse()
                .unwrap()
        })
        .collect();
    let mean = members.iter().sum::<f64>() / 5.0;
    // Squared error is convex: the mean's error is at most the members' mean error.
    assert!(trained_mse <= mean + 1e-4, "{trained}");
    // The noise alone has variance 0.01; the targets' variance is about 0.6.
    assert!(trained_mse < 0.1, "{trained}");

    let weights = "o/runs/bagging_regression.safetensors";
    let eval = ok(dir.path(), &["eval", &file, "--weights", weights]);
    assert!(
        eval.starts_with("ensemble of 5 members, combined by the mean\n"),
        "{eval}"
    );
    assert!(eval.lines().nth(1).unwrap().ends_with("MSE"), "{eval}");
    let test = row(&eval, &["test", "ensemble"]);
    assert_eq!(test[2], "120");
    assert_eq!(test[3].parse::<f64>().unwrap(), trained_mse);

    // y = sin(x1) + x2²/2: 0 at the origin, 1.5 at (π/2, 1).
    std::fs::write(dir.path().join("in.csv"), "x1,x2\n0,0\n1.5708,1\n").unwrap();
    let csv = ok(
        dir.path(),
        &["predict", &file, "--weights", weights, "--input", "in.csv"],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,y0");
    let y: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(y[0].abs() < 0.4 && (y[1] - 1.5).abs() < 0.4, "{csv}");

    let err = fails(dir.path(), 1, &["attack", &file, "--weights", weights]);
    assert!(
        err.contains(
            "trains a regression model: attacks are measured by accuracy, which needs class labels"
        ),
        "{err}"
    );
}

#[test]
fn pruning_reports_bytes_and_flops_and_eval_uses_the_stored_masks() {
    let dir = tempfile::tempdir().unwrap();
    // pruning.net with a floor the short run meets and rounds up to 60 %.
    let program = std::fs::read_to_string(example("pruning.net"))
        .unwrap()
        .replace("data/digits.csv.gz", &example("data/digits.csv.gz"))
        .replace("from 0.2 to 0.9 step 0.1", "from 0.2 to 0.6 step 0.2")
        .replace("floor accuracy 0.95", "floor drop 0.5");
    std::fs::write(dir.path().join("p.net"), program).unwrap();
    let trained = ok(
        dir.path(),
        &["train", "p.net", "--epochs", "3", "--quiet", "--out", "o"],
    );
    assert!(trained.contains("pruning (accuracy floor"), "{trained}");
    let header = row(&trained, &["sparsity"]);
    assert_eq!(
        header,
        ["sparsity", "val", "acc", "test", "acc", "non-zero", "bytes", "FLOPs/ex", "kept"]
    );
    // 64-128-128-10 with biases: 26122 parameters, 4 bytes each; FLOPs 2·25856 + 266.
    let dense = row(&trained, &["0.0%"]);
    assert_eq!(&dense[5..9], ["26122", "104488", "51978", "dense"]);
    // 40 % of h1.weight (8192) and h2.weight (16384) pruned: 3277 + 6554 weights.
    let forty = row(&trained, &["40.0%"]);
    let pruned = 3277 + 6554;
    assert_eq!(forty[5], (26122 - pruned).to_string());
    assert_eq!(
        forty[6],
        (104488 - 4 * pruned + 8192 / 8 + 16384 / 8).to_string()
    );
    assert_eq!(forty[7], (51978 - 2 * pruned).to_string());
    let kept = row(&trained, &["60.0%"]);
    assert_eq!(kept.last().unwrap(), "kept");

    let weights = "o/runs/p.safetensors";
    let ckpt = Checkpoint::read(&dir.path().join(weights)).unwrap();
    let mask = &ckpt.tensors["_knit.mask.h2.weight"];
    let zeros = mask.iter().filter(|m| **m == 0.0).count();
    assert_eq!(zeros, (0.6f64 * 16384.0).round() as usize);
    let weight = &ckpt.tensors["h2.weight"];
    assert!(weight.iter().zip(mask).all(|(w, m)| *m != 0.0 || *w == 0.0));

    // eval measures the kept model: its test accuracy is the kept round's.
    let eval = ok(dir.path(), &["eval", "p.net", "--weights", weights]);
    assert_eq!(
        percent_at(&row(&eval, &["test", "mlp"]), 2),
        percent_at(&kept, 4)
    );
}

/// A bagging run's `--log` has every member's epochs, named in the `member` column.
#[test]
fn a_bagging_runs_metrics_log_names_the_members() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("bagging.net");
    ok(
        dir.path(),
        &["train", &file, "--quiet", "--out", "o", "--log", "m.csv"],
    );
    let log = std::fs::read_to_string(dir.path().join("m.csv")).unwrap();
    let mut per_member = [0usize; 5];
    for line in log.lines().skip(1) {
        let member: usize = line.split(',').next().unwrap().parse().unwrap();
        per_member[member] += 1;
    }
    // 5 members of 40 epochs, one row each (no step rows without --log-steps).
    assert_eq!(per_member, [40; 5]);
}

/// The rows of `knit predict`'s CSV as numbers (the row index dropped).
fn predicted(csv: &str) -> Vec<Vec<f64>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|c| c.parse().unwrap()).collect())
        .collect()
}

/// `[class, p0, p1, ...]` per row from the exported graph, run by tract on `rows`.
fn onnx_predictions(file: &std::path::Path, rows: &[Vec<f32>]) -> Vec<Vec<f64>> {
    use tract_onnx::prelude::*;
    let width = rows[0].len();
    let flat: Vec<f32> = rows.concat();
    let input = tract_ndarray::Array2::from_shape_vec((rows.len(), width), flat).unwrap();
    let model = tract_onnx::onnx()
        .model_for_path(file)
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let out = model.run(tvec!(Tensor::from(input).into())).unwrap();
    // Outputs: logits, probabilities, class.
    let p = out[1].to_plain_array_view::<f32>().unwrap();
    let class = out[2].to_plain_array_view::<i64>().unwrap();
    (0..rows.len())
        .map(|i| {
            let mut row = vec![class[i] as f64];
            row.extend((0..p.shape()[1]).map(|c| f64::from(p[[i, c]])));
            row
        })
        .collect()
}

#[test]
fn an_exported_model_runs_in_an_onnx_runtime_as_knit_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("digits.net");
    ok(
        dir.path(),
        &["train", &file, "--epochs", "2", "--quiet", "--out", "o"],
    );
    let weights = "o/runs/digits.safetensors";
    // Raw pixel counts 0..16, as the digits file holds them.
    let rows: Vec<Vec<f32>> = (0..9u32)
        .map(|r| (0..64u32).map(|c| ((r * 7 + c * 13) % 17) as f32).collect())
        .collect();
    let csv: String = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    let expected = predicted(&ok(
        dir.path(),
        &["predict", &file, "--weights", weights, "--input", "in.csv"],
    ));
    let out = common::knit(
        dir.path(),
        &[
            "export",
            &file,
            "--weights",
            weights,
            "--onnx",
            "digits.onnx",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("wrote digits.onnx (model 'mlp', ")
            && said.ends_with("ONNX opset 17): input 'features' [N, 64] of raw features\n"),
        "{said}"
    );
    let got = onnx_predictions(&dir.path().join("digits.onnx"), &rows);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g[0], e[0], "class: {g:?} vs {e:?}");
        for (a, b) in g[1..].iter().zip(&e[1..]) {
            // predict prints 6 decimals.
            assert!((a - b).abs() < 1e-5, "{g:?} vs {e:?}");
        }
    }
}
