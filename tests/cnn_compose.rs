//! Convolutional networks composed with the rest of knit, end to end through the `knit`
//! binary: transfer learning (a kernel of another shape is refused), magnitude pruning of
//! kernels (selected by default), FGSM through `knit attack`, bagging, L1/L2 penalties on
//! kernels, tying two CNNs, resuming, and `knit predict` on image rows. Each runs a tiny
//! CNN (conv2d(4, 3) on 8×8 bar images, [`knit_testkit::bar_images_csv`]) for a few epochs.

#[path = "../crates/cli/tests/common/mod.rs"]
mod common;

use common::compose::{
    bits, fails, ok, percent_at, report, resumed_halves, row, total, train, write,
};
use knit_train::Checkpoint;
use std::path::Path;

/// Writes `images.csv` (600 bar images) and returns a program on it with `models` and
/// `train`: split 70/15/15.
fn program(dir: &Path, models: &str, train: &str) -> String {
    std::fs::write(dir.join("images.csv"), knit_testkit::bar_images_csv(600, 7)).unwrap();
    format!(
        "seed 3

data bars {{
  source csv(\"images.csv\", label: last)
  split  train 0.7, validation 0.15, test 0.15
}}

{models}
{train}"
    )
}

/// A CNN `name` on `[1, 8, 8]`: `c1` = conv2d(4, `kernel`) `extra` |> relu, then a dense
/// head `out` of 3 classes.
fn cnn(name: &str, kernel: usize, extra: &str) -> String {
    format!(
        "model {name}(x: [1, 8, 8]) -> [3] {{
  c1  = x |> conv2d(4, {kernel}){extra} |> relu
  out = c1 |> flatten |> dense(3)
}}
"
    )
}

/// A train block for `models` on the data `bars` (see [`common::compose::train_block`]).
fn train_block(models: &str, epochs: usize, extra: &[&str]) -> String {
    common::compose::train_block(models, "bars", epochs, extra)
}

/// Trains the CNN of 3×3 kernels one epoch in `d`: its checkpoint is
/// `o/runs/base.safetensors`.
fn train_base(d: &Path) {
    let base = write(
        d,
        "base.net",
        &program(d, &cnn("cnn", 3, ""), &train_block("cnn", 1, &[])),
    );
    train(d, base, "o", &[]);
}

/// `start from` a checkpoint of 3×3 kernels into a CNN of 5×5 kernels: refused, exit 1,
/// naming the file, the parameter and both shapes, whether everything or only the
/// convolution (`only c1.*`) is loaded.
#[test]
fn transfer_of_a_kernel_of_another_shape_names_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_base(d);
    for only in ["", ", only c1.*"] {
        let start = format!("start     from \"runs/base.safetensors\"{only}");
        let wide = write(
            d,
            "./wide.net",
            &program(d, &cnn("cnn", 5, ""), &train_block("cnn", 1, &[&start])),
        );
        let err = fails(d, 1, &["train", wide, "--quiet", "--out", "o"]);
        assert!(
            err.contains(
                "error: checkpoint o/runs/base.safetensors: entry 'c1.weight': has shape \
                 [4, 1, 3, 3], but the model's parameter 'c1.weight' has shape [4, 1, 5, 5]"
            ),
            "{only}: {err}"
        );
        assert!(!d.join("o/runs/wide.safetensors").exists());
    }
}

/// `start from` a checkpoint with tensors the new model has no place for (its head is
/// called `head`, the checkpoint's `out`): a warning naming them, or with `strict` an error
/// before training.
#[test]
fn unused_checkpoint_tensors_are_named_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_base(d);
    let renamed_head = cnn("cnn", 3, "").replace("out =", "head =");
    for strict in [true, false] {
        let start = format!(
            "start     from \"runs/base.safetensors\", only c1.*{}",
            if strict { ", strict" } else { "" }
        );
        let tuned = write(
            d,
            "tuned.net",
            &program(d, &renamed_head, &train_block("cnn", 1, &[&start])),
        );
        let args = ["train", tuned, "--quiet", "--out", "o"];
        if strict {
            let err = fails(d, 1, &args);
            assert!(
                err.contains(
                    "error: start from o/runs/base.safetensors (strict): 2 checkpoint tensors \
                     (out.bias, out.weight) match no parameter or buffer of the model"
                ),
                "{err}"
            );
            assert!(!d.join("o/runs/tuned.safetensors").exists());
        } else {
            let out = common::knit(d, &args);
            assert_eq!(out.status.code(), Some(0));
            // (The checker also warns that runs/base.safetensors is not beside the program:
            // it is under --out.)
            let stderr = common::text(&out.stderr);
            assert!(
                stderr.contains(
                    "\nwarning: start from o/runs/base.safetensors: 2 checkpoint tensors \
                     (out.bias, out.weight) match no parameter or buffer of the model and are \
                     not used (`strict` makes this an error)\n"
                ),
                "{stderr}"
            );
        }
    }
}

/// Magnitude pruning without `on`: the kernel is pruned with the dense weight (biases are
/// not); after each round's retraining the kept round's pruned entries are exactly zero, at
/// the requested sparsity, and the table's FLOPs fall by 2·OH·OW per pruned kernel entry.
#[test]
fn pruning_selects_kernels_by_default_and_keeps_them_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prune =
        "prune     magnitude from 0.25 to 0.5 step 0.25, retrain 1, floor drop 0.99, scope layer";
    let file = write(
        d,
        "prune.net",
        &program(d, &cnn("cnn", 3, ""), &train_block("cnn", 2, &[prune])),
    );
    let trained = train(d, file, "o", &[]);
    let kept = row(&trained, &["50.0%"]);
    assert_eq!(kept.last().unwrap(), "kept", "{trained}");
    // c1: [4, 1, 3, 3] + 4, output [4, 6, 6]; out: [3, 144] + 3. 475 parameters.
    let dense = row(&trained, &["0.0%"]);
    assert_eq!(dense[5], "475", "{trained}");
    assert_eq!(kept[5], (475 - 18 - 216).to_string(), "{trained}");
    let flops = |cells: &[String]| -> u64 { cells[7].parse().unwrap() };
    assert_eq!(
        flops(&dense),
        2 * 36 * 36 + 4 * 36 + 2 * 432 + 3,
        "{trained}"
    );
    assert_eq!(flops(&dense) - flops(&kept), 2 * 36 * 18 + 2 * 216);

    let ckpt = Checkpoint::read(&d.join("o/runs/prune.safetensors")).unwrap();
    let zeros = |name: &str| ckpt.tensors[name].iter().filter(|w| **w == 0.0).count();
    for (name, entries) in [("c1.weight", 36), ("out.weight", 432)] {
        assert_eq!(zeros(name), entries / 2, "{name}");
        let mask = &ckpt.tensors[&format!("_knit.mask.{name}")];
        assert!(
            ckpt.tensors[name]
                .iter()
                .zip(mask)
                .all(|(w, m)| (*m == 0.0) == (*w == 0.0)),
            "{name}: the zeros are the mask's"
        );
    }
    for name in ["c1.bias", "out.bias"] {
        assert_eq!(zeros(name), 0, "{name} is not pruned");
        assert!(!ckpt.tensors.contains_key(&format!("_knit.mask.{name}")));
    }
}

/// `knit attack` with FGSM on a trained CNN: ε 0 changes nothing, ε 0.25 (pixels clipped to
/// [0, 1]) costs accuracy. (That the perturbation's L∞ is ε is asserted on the library's
/// perturbed images, `crates/train/tests/cnn.rs`.)
#[test]
fn fgsm_through_knit_attack_lowers_a_cnns_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "adv.net",
        &program(d, &cnn("cnn", 3, ""), &train_block("cnn", 6, &[])),
    );
    train(d, file, "o", &[]);
    let json = ok(
        d,
        &[
            "attack",
            file,
            "--weights",
            "o/runs/adv.safetensors",
            "--attack",
            "fgsm",
            "--eps",
            "0,0.25",
            "--range",
            "0,1",
            "--json",
        ],
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["examples"], 90);
    let clean = value["clean"].as_f64().unwrap();
    let at = |k: usize| value["attacks"][k]["accuracy"].as_f64().unwrap();
    assert!(clean > 0.9, "the CNN learns the bars: {json}");
    assert_eq!(at(0), clean, "ε 0 changes nothing");
    assert!(at(1) < clean - 0.2, "ε 0.25 should hurt: {json}");
}

/// Bagging three CNNs: the table reports every member and the ensemble; the checkpoint
/// holds each member's kernels, different from the others'; `knit eval` scores the
/// ensemble as training did.
#[test]
fn bagging_cnns_reports_members_and_the_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "bag.net",
        &program(
            d,
            &cnn("cnn", 3, ""),
            &train_block("cnn", 2, &["bagging   3, bootstrap 1.0, combine vote"]),
        ),
    );
    let trained = train(d, file, "o", &[]);
    assert!(
        trained.contains("bagging (3 members, 2 epochs each; accuracy on test split)"),
        "{trained}"
    );
    let ensemble = percent_at(&row(&trained, &["ensemble"]), 1);
    assert!(ensemble > 80.0, "{trained}");
    let all = bits(&d.join("o/runs/bag.safetensors"));
    for k in 0..3 {
        assert_eq!(all[&format!("members.{k}.c1.weight")].len(), 36);
        row(&trained, &["member", &k.to_string()]);
    }
    assert_ne!(all["members.0.c1.weight"], all["members.1.c1.weight"]);
    let eval = ok(d, &["eval", file, "--weights", "o/runs/bag.safetensors"]);
    assert_eq!(percent_at(&row(&eval, &["test", "ensemble"]), 3), ensemble);
}

/// The mean over an epoch's batches of the penalty `name` in a report.
fn penalty(epoch: &serde_json::Value, name: &str) -> f64 {
    epoch["penalties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == name)
        .unwrap_or_else(|| panic!("no penalty {name} in {epoch}"))[1]
        .as_f64()
        .unwrap()
}

/// The training loss of an epoch less its data losses: what the penalties added.
fn added(epoch: &serde_json::Value) -> f64 {
    let data: f64 = epoch["train_data_loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_f64().unwrap())
        .sum();
    epoch["train_loss"].as_f64().unwrap() - data
}

/// L1 and L2 on a frozen kernel (so that it is the same at every step): the loss grows by
/// exactly λ₁·Σ|w| + λ₂·Σw² of the checkpoint's kernel (Keras's convention, no ½), each
/// penalty reported on its own.
#[test]
fn penalties_on_kernels_add_exactly_lambda_times_their_norms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "pen.net",
        &program(
            d,
            &cnn("cnn", 3, ""),
            &train_block(
                "cnn",
                1,
                &[
                    "penalty   l1(1e-2) on c1.weight",
                    "penalty   l2(1e-1) on c1.weight",
                    "freeze    c1.*",
                ],
            ),
        ),
    );
    train(d, file, "o", &["--report", "r.json"]);
    let ckpt = Checkpoint::read(&d.join("o/runs/pen.safetensors")).unwrap();
    let l1 = 1e-2 * total(&ckpt, "c1.weight", f64::abs);
    let l2 = 1e-1 * total(&ckpt, "c1.weight", |w| w * w);
    let epoch = &report(&d.join("r.json"))["epochs"][0];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs();
    assert!(
        close(penalty(epoch, "l1"), l1),
        "{} vs {l1}",
        penalty(epoch, "l1")
    );
    assert!(
        close(penalty(epoch, "l2"), l2),
        "{} vs {l2}",
        penalty(epoch, "l2")
    );
    assert!(
        close(added(epoch), l1 + l2),
        "{} vs {}",
        added(epoch),
        l1 + l2
    );
}

/// Tying two CNNs' kernels (`a.c1.* ~ b.c1.* l2(λ)`), frozen so that they are the same at
/// every step: the loss grows by exactly λ·Σ(a − b)² of the checkpoint's kernels and biases,
/// reported as the `tie` penalty.
#[test]
fn tying_two_cnns_adds_lambda_times_their_squared_distance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let models = cnn("a", 3, "") + "\n" + &cnn("b", 3, "");
    let file = write(
        d,
        "tie.net",
        &program(
            d,
            &models,
            &train_block(
                "a, b",
                1,
                &[
                    "tie       a.c1.* ~ b.c1.* l2(0.5)",
                    "freeze    a.c1.*, b.c1.*",
                ],
            ),
        ),
    );
    train(d, file, "o", &["--report", "r.json"]);
    let ckpt = Checkpoint::read(&d.join("o/runs/tie.safetensors")).unwrap();
    let distance: f64 = ["weight", "bias"]
        .iter()
        .map(|p| {
            let (a, b) = (
                &ckpt.tensors[&format!("a.c1.{p}")],
                &ckpt.tensors[&format!("b.c1.{p}")],
            );
            a.iter()
                .zip(b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                .sum::<f64>()
        })
        .sum();
    assert!(distance > 0.0, "the two CNNs start apart");
    let epoch = &report(&d.join("r.json"))["epochs"][0];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs();
    let tie = penalty(epoch, "tie");
    assert!(close(tie, 0.5 * distance), "{tie} vs {}", 0.5 * distance);
    assert!(close(added(epoch), 0.5 * distance), "{}", added(epoch));
}

/// A CNN with batch norm and dropout trained 4 epochs ends with the same bits as 2 epochs
/// resumed for 2 more.
#[test]
fn a_resumed_cnn_run_ends_bit_identical_to_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "resume.net",
        &program(
            d,
            &cnn("cnn", 3, " |> batchnorm |> dropout(0.2)"),
            &train_block("cnn", 4, &[]),
        ),
    );
    let [full, after_two, resumed] = resumed_halves(d, file);
    assert!(
        full.contains_key("c1.batchnorm.running_var"),
        "{:?}",
        full.keys()
    );
    assert_ne!(after_two, resumed, "the resumed run trained");
    assert_eq!(full, resumed);
}

/// The forward pass of the CNN of [`cnn`] (kernel 3) on one 8×8 image, computed here from
/// the checkpoint's tensors: class probabilities.
fn forward(ckpt: &Checkpoint, image: &[f64]) -> Vec<f64> {
    let t = |n: &str| -> Vec<f64> { ckpt.tensors[n].iter().map(|v| f64::from(*v)).collect() };
    let (w, b, fw, fb) = (t("c1.weight"), t("c1.bias"), t("out.weight"), t("out.bias"));
    let mut hidden = Vec::with_capacity(144);
    for o in 0..4 {
        for i in 0..6 {
            for j in 0..6 {
                let mut s = b[o];
                for di in 0..3 {
                    for dj in 0..3 {
                        s += w[o * 9 + di * 3 + dj] * image[(i + di) * 8 + j + dj];
                    }
                }
                hidden.push(s.max(0.0));
            }
        }
    }
    let logits: Vec<f64> = (0..3)
        .map(|k| fb[k] + (0..144).map(|h| fw[k * 144 + h] * hidden[h]).sum::<f64>())
        .collect();
    let top = logits.iter().copied().fold(f64::MIN, f64::max);
    let sum: f64 = logits.iter().map(|l| (l - top).exp()).sum();
    logits.iter().map(|l| (l - top).exp() / sum).collect()
}

/// `knit predict` on image rows (64 pixels each): the class probabilities of a hand-written
/// forward pass of the checkpoint's CNN, to the 6 decimals printed, and their argmax.
#[test]
fn predict_on_image_rows_gives_the_forward_pass_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "pred.net",
        &program(d, &cnn("cnn", 3, ""), &train_block("cnn", 2, &[])),
    );
    train(d, file, "o", &[]);
    let rows: Vec<Vec<f64>> = knit_testkit::bar_images_csv(5, 11)
        .lines()
        .map(|l| l.split(',').take(64).map(|c| c.parse().unwrap()).collect())
        .collect();
    let csv: String = rows
        .iter()
        .map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    std::fs::write(d.join("in.csv"), csv).unwrap();
    let out = ok(
        d,
        &[
            "predict",
            file,
            "--weights",
            "o/runs/pred.safetensors",
            "--input",
            "in.csv",
        ],
    );
    let ckpt = Checkpoint::read(&d.join("o/runs/pred.safetensors")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "row,class,p0,p1,p2");
    assert_eq!(lines.len(), 6, "{out}");
    for (i, (line, image)) in lines[1..].iter().zip(&rows).enumerate() {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        let p = forward(&ckpt, image);
        assert_eq!(cells[0], i as f64);
        for (k, (got, want)) in cells[2..].iter().zip(&p).enumerate() {
            assert!(
                (got - want).abs() <= 1.5e-6,
                "row {i} p{k}: {got} vs {want}"
            );
        }
        let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(cells[1], best as f64, "row {i}");
    }
}
