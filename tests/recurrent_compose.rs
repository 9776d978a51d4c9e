//! Recurrent layers composed with the rest of knit, end to end through the `knit` binary:
//! dropout between stacked layers, penalties, tying, pruning, FGSM (attack and adversarial
//! training), bagging, resuming and transfer learning, each on small temporal-order
//! programs written into temporary folders.

#[path = "../crates/cli/tests/common/mod.rs"]
mod common;

use common::compose::{
    bits, fails, ok, percent_at, report, resumed_halves, row, total, train, write,
};
use knit_train::Checkpoint;

/// A temporal-order program (10 steps of 8 symbols, 4 classes): `samples` training and
/// validation sequences split 80/20 and 200 test sequences, then `models` and `train`.
fn program(samples: usize, models: &str, train: &str) -> String {
    format!(
        "seed 3

data symbols {{
  source      synthetic(temporal_order, samples: {samples}, steps: 10)
  test_source synthetic(temporal_order, samples: 200, steps: 10)
  split       train 0.8, validation 0.2
}}

{models}
{train}"
    )
}

/// A model `name` whose encoder `h` is `encoder`, read at its last step by a dense head.
fn model(name: &str, encoder: &str) -> String {
    format!(
        "model {name}(x: [10, 8]) -> [4] {{
  h   = x |> {encoder}
  out = h |> last_step |> dense(4)
}}
"
    )
}

/// A train block for `models` on the data `symbols` (see [`common::compose::train_block`]).
fn train_block(models: &str, epochs: usize, extra: &[&str]) -> String {
    common::compose::train_block(models, "symbols", epochs, extra)
}

/// Dropout between two stacked LSTM layers acts in training only: the checkpoint holds
/// both layers' PyTorch-named parameters; the same seed trains the same bits, another seed
/// or no dropout other bits; evaluation is deterministic and equals the evaluation of the
/// same weights by the program without dropout.
#[test]
fn dropout_between_stacked_lstm_layers_acts_in_training_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with = write(
        d,
        "drop.net",
        &program(
            400,
            &model("order", "lstm(16, layers: 2, dropout: 0.3)"),
            &train_block("order", 2, &[]),
        ),
    );
    let without = write(
        d,
        "nodrop.net",
        &program(
            400,
            &model("order", "lstm(16, layers: 2, dropout: 0.0)"),
            &train_block("order", 2, &[]),
        ),
    );
    train(d, with, "s1", &["--seed", "1"]);
    train(d, with, "s1again", &["--seed", "1"]);
    train(d, with, "s2", &["--seed", "2"]);
    train(d, without, "s1", &["--seed", "1"]);

    let path = d.join("s1/runs/drop.safetensors");
    let ckpt = Checkpoint::read(&path).unwrap();
    let mut shapes: Vec<(String, Vec<usize>)> = ckpt
        .tensors
        .iter()
        .filter(|(k, _)| !k.starts_with("_knit."))
        .map(|(k, v)| (k.clone(), v.shape().to_vec()))
        .collect();
    shapes.sort();
    let expected: Vec<(String, Vec<usize>)> = [
        ("h.bias_hh_l0", vec![64]),
        ("h.bias_hh_l1", vec![64]),
        ("h.bias_ih_l0", vec![64]),
        ("h.bias_ih_l1", vec![64]),
        ("h.weight_hh_l0", vec![64, 16]),
        ("h.weight_hh_l1", vec![64, 16]),
        ("h.weight_ih_l0", vec![64, 8]),
        ("h.weight_ih_l1", vec![64, 16]),
        ("out.bias", vec![4]),
        ("out.weight", vec![4, 16]),
    ]
    .into_iter()
    .map(|(k, s)| (k.to_string(), s))
    .collect();
    assert_eq!(shapes, expected);

    let s1 = bits(&path);
    assert_eq!(
        s1,
        bits(&d.join("s1again/runs/drop.safetensors")),
        "the same seed draws the same dropout masks"
    );
    let s2 = bits(&d.join("s2/runs/drop.safetensors"));
    let nodrop = bits(&d.join("s1/runs/nodrop.safetensors"));
    for name in ["h.weight_ih_l0", "h.weight_hh_l1", "out.weight"] {
        assert_ne!(s1[name], s2[name], "{name}: another seed");
        // Same seed, same initial weights: only the dropout masks differ.
        assert_ne!(s1[name], nodrop[name], "{name}: dropout acts in training");
    }

    let weights = "s1/runs/drop.safetensors";
    let eval = |file: &str| ok(d, &["eval", file, "--weights", weights, "--seed", "1"]);
    let first = eval(with);
    assert_eq!(first, eval(with), "evaluation is deterministic");
    assert_eq!(
        first,
        eval(without),
        "evaluation applies no dropout: the weights score the same without it"
    );
    let test = row(&first, &["test", "order"]);
    assert_eq!(test[2], "200");
    assert!(test[3].parse::<f64>().unwrap() > 0.0, "{first}");
}

/// L1 and L2 penalties on a stacked GRU's weights (`h.weight_hh_*`, `h.weight_ih_*`): each
/// epoch reports each penalty's positive value, falling from epoch to epoch and above λ·Σw²
/// (λ·Σ|w|) of the final weights, and the penalized weights end up smaller than those
/// trained from the same seed without the penalties.
#[test]
fn penalties_on_recurrent_weights_shrink_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gru = model("order", "gru(12, layers: 2)");
    let plain = write(
        d,
        "plain.net",
        &program(400, &gru, &train_block("order", 2, &[])),
    );
    let penalized = write(
        d,
        "pen.net",
        &program(
            400,
            &gru,
            &train_block(
                "order",
                2,
                &[
                    "penalty   l2(1e-2) on h.weight_hh_*",
                    "penalty   l1(1e-3) on h.weight_ih_*",
                ],
            ),
        ),
    );
    train(d, plain, "o", &[]);
    train(d, penalized, "o", &["--report", "r.json"]);

    let r = report(&d.join("r.json"));
    let a = Checkpoint::read(&d.join("o/runs/plain.safetensors")).unwrap();
    let b = Checkpoint::read(&d.join("o/runs/pen.safetensors")).unwrap();
    let hh = ["h.weight_hh_l0", "h.weight_hh_l1"];
    let ih = ["h.weight_ih_l0", "h.weight_ih_l1"];
    let squares = |c: &Checkpoint| hh.iter().map(|n| total(c, n, |w| w * w)).sum::<f64>();
    let absolutes = |c: &Checkpoint| ih.iter().map(|n| total(c, n, f64::abs)).sum::<f64>();
    for epoch in r["epochs"].as_array().unwrap() {
        let penalties = epoch["penalties"].as_array().unwrap();
        assert_eq!(penalties.len(), 2, "{penalties:?}");
        for p in penalties {
            assert!(p[1].as_f64().unwrap() > 0.0, "{p}");
        }
    }
    // Each penalty is named by its kind, in the program's order; shrinking the weights,
    // its epoch means fall, and stay above its value at the final weights.
    let value = |epoch: usize, k: usize| {
        let p = &r["epochs"][epoch]["penalties"][k];
        (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap())
    };
    let ((l2_name, l2_first), (_, l2_last)) = (value(0, 0), value(1, 0));
    let ((l1_name, l1_first), (_, l1_last)) = (value(0, 1), value(1, 1));
    assert_eq!((l2_name.as_str(), l1_name.as_str()), ("l2", "l1"));
    let l2_final = 1e-2 * squares(&b);
    let l1_final = 1e-3 * absolutes(&b);
    assert!(
        l2_first > l2_last && l2_last > l2_final,
        "l2: epochs {l2_first}, {l2_last}; final weights {l2_final}"
    );
    assert!(
        l1_first > l1_last && l1_last > l1_final,
        "l1: epochs {l1_first}, {l1_last}; final weights {l1_final}"
    );

    assert!(
        squares(&b) < squares(&a),
        "Σw² of weight_hh: {} with the penalty, {} without",
        squares(&b),
        squares(&a)
    );
    assert!(
        absolutes(&b) < absolutes(&a),
        "Σ|w| of weight_ih: {} with the penalty, {} without",
        absolutes(&b),
        absolutes(&a)
    );
}

/// Σ over the tied pairs of an epoch's reported distances.
fn tie_sum(epoch: &serde_json::Value) -> f64 {
    epoch["tie_distances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum()
}

/// Tying two RNNs parameter by parameter (`a.h.* ~ b.h.*`): every pair is reported, the
/// tied distance shrinks epoch after epoch and stays below that of (practically) untied
/// training from the same start, and the last reported distance is the checkpoint's.
#[test]
fn tying_two_rnns_pulls_their_recurrent_weights_together() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let models = model("a", "rnn(12)") + "\n" + &model("b", "rnn(12)");
    let tied = |lambda: &str| {
        program(
            640,
            &models,
            &train_block(
                "a, b",
                3,
                &[&format!("tie       a.h.* ~ b.h.* l2({lambda})")],
            ),
        )
    };
    let strong = write(d, "tied.net", &tied("0.5"));
    let loose = write(d, "loose.net", &tied("1e-9"));
    train(d, strong, "o", &["--report", "tied.json"]);
    train(d, loose, "o", &["--report", "loose.json"]);

    let tied_report = report(&d.join("tied.json"));
    let loose_report = report(&d.join("loose.json"));
    let pairs: Vec<String> = tied_report["epochs"][0]["tie_distances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    let mut pairs_sorted = pairs.clone();
    pairs_sorted.sort();
    assert_eq!(
        pairs_sorted,
        [
            "a.h.bias_hh_l0 ~ b.h.bias_hh_l0",
            "a.h.bias_ih_l0 ~ b.h.bias_ih_l0",
            "a.h.weight_hh_l0 ~ b.h.weight_hh_l0",
            "a.h.weight_ih_l0 ~ b.h.weight_ih_l0",
        ]
    );
    let distances = |r: &serde_json::Value| -> Vec<f64> {
        r["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(tie_sum)
            .collect()
    };
    let (t, l) = (distances(&tied_report), distances(&loose_report));
    assert_eq!(t.len(), 3);
    assert!(t.windows(2).all(|w| w[1] < w[0]), "tied: {t:?}");
    for (tk, lk) in t.iter().zip(&l) {
        assert!(tk < lk, "tied {t:?} vs untied {l:?}");
    }
    assert!(t[2] / t[0] < l[2] / l[0], "tied {t:?} vs untied {l:?}");
    assert!(t[2] < 0.5 * l[2], "tied {t:?} vs untied {l:?}");

    // The report's distance is the checkpoint's ‖a − b‖².
    let ckpt = Checkpoint::read(&d.join("o/runs/tied.safetensors")).unwrap();
    let from_ckpt: f64 = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        .iter()
        .map(|p| {
            let a = &ckpt.tensors[&format!("a.h.{p}")];
            let b = &ckpt.tensors[&format!("b.h.{p}")];
            a.iter()
                .zip(b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                .sum::<f64>()
        })
        .sum();
    assert!(
        (from_ckpt - t[2]).abs() <= 1e-4 * t[2],
        "{from_ckpt} vs {}",
        t[2]
    );
}

/// An LSTM on temporal order pruned by magnitude in its input and recurrent weights, 25 %
/// then 50 %, each round retrained one epoch; the floor (a drop of 0.99) keeps the sparsest.
fn prune_program() -> String {
    program(
        400,
        &model("order", "lstm(12)"),
        &train_block(
            "order",
            2,
            &["prune     magnitude from 0.25 to 0.5 step 0.25, retrain 1, floor drop 0.99, scope layer, on h.weight_ih_l0, h.weight_hh_l0"],
        ),
    )
}

/// Magnitude pruning of an LSTM's input and recurrent weights: the kept round's sparsity is
/// exactly the requested fraction of zeros in each pruned tensor, after its retraining; the
/// masks are stored, the unpruned tensors keep every entry, and eval scores the pruned model.
#[test]
fn pruning_recurrent_weights_keeps_the_pruned_entries_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(d, "prune.net", &prune_program());
    let trained = train(d, file, "o", &[]);
    assert!(trained.contains("pruning (accuracy floor"), "{trained}");
    let kept = row(&trained, &["50.0%"]);
    assert_eq!(kept.last().unwrap(), "kept", "{trained}");
    // 1108 parameters (LSTM 4·12·(8 + 12 + 2), head 52); half of the 384 + 576 pruned
    // weights removed, those two stored as bit masks and their kept f32 values.
    assert_eq!(row(&trained, &["0.0%"])[5..7], ["1108", "4432"]);
    assert_eq!(
        kept[5..7],
        ["628", (628 * 4 + 960 / 8).to_string().as_str()]
    );

    let ckpt = Checkpoint::read(&d.join("o/runs/prune.safetensors")).unwrap();
    let zeros = |name: &str| ckpt.tensors[name].iter().filter(|w| **w == 0.0).count();
    // weight_ih_l0 is [48, 8], weight_hh_l0 [48, 12]: half of each is pruned.
    for (name, entries) in [("h.weight_ih_l0", 48 * 8), ("h.weight_hh_l0", 48 * 12)] {
        assert_eq!(ckpt.tensors[name].len(), entries);
        assert_eq!(zeros(name), entries / 2, "{name}");
        let mask = &ckpt.tensors[&format!("_knit.mask.{name}")];
        assert_eq!(mask.iter().filter(|m| **m == 0.0).count(), entries / 2);
        assert!(
            ckpt.tensors[name]
                .iter()
                .zip(mask)
                .all(|(w, m)| (*m == 0.0) == (*w == 0.0)),
            "{name}: the zeros are the mask's"
        );
    }
    for name in ["h.bias_ih_l0", "h.bias_hh_l0", "out.weight"] {
        assert_eq!(zeros(name), 0, "{name} is not pruned");
    }

    let eval = ok(d, &["eval", file, "--weights", "o/runs/prune.safetensors"]);
    assert_eq!(
        percent_at(&row(&eval, &["test", "order"]), 2),
        percent_at(&kept, 4)
    );
}

/// The pruning table's FLOPs per example should count an LSTM's products with its input
/// and recurrent weights, 2 per non-zero weight at each of the 10 steps, as `knit check`
/// counts them in the dense total: pruning half of them saves 2·10·(192 + 288).
#[test]
fn pruning_recurrent_weights_lowers_the_reported_flops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(d, "prune.net", &prune_program());
    let trained = train(d, file, "o", &[]);
    let flops = |sparsity: &str| -> u64 { row(&trained, &[sparsity])[7].parse().unwrap() };
    let (dense, half) = (flops("0.0%"), flops("50.0%"));
    assert!(dense >= 2 * 10 * (384 + 576), "{trained}");
    assert_eq!(dense - half, 2 * 10 * (192 + 288), "{trained}");
}

/// FGSM on sequences: `knit attack` on a trained LSTM (ε 0 changes nothing; ε 0.5 costs
/// accuracy), and adversarial training of the LSTM, whose robustness line `knit attack`
/// reproduces.
#[test]
fn fgsm_attacks_and_adversarially_trains_an_lstm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "adv.net",
        &program(
            2000,
            &model("order", "lstm(16)"),
            &train_block("order", 4, &["clip      norm(1.0)"]),
        ),
    );
    train(d, file, "clean", &[]);
    let weights = "clean/runs/adv.safetensors";
    let json = ok(
        d,
        &[
            "attack",
            file,
            "--weights",
            weights,
            "--attack",
            "fgsm",
            "--eps",
            "0,0.5",
            "--json",
        ],
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["examples"], 200);
    let clean = value["clean"].as_f64().unwrap();
    let attacks = value["attacks"].as_array().unwrap();
    assert_eq!(attacks.len(), 2);
    let at = |k: usize| attacks[k]["accuracy"].as_f64().unwrap();
    assert!(clean > 0.6, "the LSTM learns the task: {json}");
    assert_eq!(at(0), clean, "ε 0 changes nothing");
    assert!(at(1) < clean - 0.2, "ε 0.5 should hurt: {json}");

    let set = "adversarial=fgsm(eps: 0.3, mix: 0.5, range: [0, 1])";
    let trained = train(d, file, "robust", &["--set", set]);
    let line = trained
        .lines()
        .find(|l| l.starts_with("robustness on"))
        .unwrap_or_else(|| panic!("no robustness line in {trained}"));
    let test_accuracy = percent_at(&row(&trained, &["test", "accuracy"]), 2);
    assert!(
        line.starts_with(&format!(
            "robustness on 200 held-out examples: clean {test_accuracy:.2} %, under fgsm(eps: 0.3) "
        )),
        "{line}"
    );
    let table = ok(
        d,
        &[
            "attack",
            file,
            "--weights",
            "robust/runs/adv.safetensors",
            "--set",
            set,
            "--attack",
            "fgsm",
            "--eps",
            "0.3",
        ],
    );
    assert!(
        table.contains("inputs clipped to [0, 1]"),
        "the range of the adversarial line: {table}"
    );
    let fgsm = percent_at(&row(&table, &["fgsm", "0.3"]), 2);
    assert!(line.ends_with(&format!("{fgsm:.2} %")), "{line} vs {table}");
    assert_eq!(percent_at(&row(&table, &["clean"]), 1), test_accuracy);
}

/// Bagging three LSTMs: one checkpoint with every member's parameters (`members.K.`), each
/// member its own; `knit eval` scores the ensemble and each member as training reported.
#[test]
fn bagging_lstms_writes_every_member_and_eval_scores_the_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "bag.net",
        &program(
            400,
            &model("order", "lstm(8)"),
            &train_block("order", 2, &["bagging   3, bootstrap 1.0, combine vote"]),
        ),
    );
    let trained = train(d, file, "o", &["--threads", "2"]);
    assert!(
        trained.contains("bagging (3 members, 2 epochs each; accuracy on test split)"),
        "{trained}"
    );
    let path = d.join("o/runs/bag.safetensors");
    let ckpt = Checkpoint::read(&path).unwrap();
    assert_eq!(ckpt.metadata["knit.ensemble.members"], "3");
    let names = [
        "h.weight_ih_l0",
        "h.weight_hh_l0",
        "h.bias_ih_l0",
        "h.bias_hh_l0",
        "out.weight",
        "out.bias",
    ];
    let mut expected: Vec<String> = (0..3)
        .flat_map(|k| names.iter().map(move |n| format!("members.{k}.{n}")))
        .collect();
    expected.sort();
    let params: Vec<String> = bits(&path).into_keys().collect();
    assert_eq!(params, expected);
    assert_eq!(ckpt.tensors["members.2.h.weight_hh_l0"].shape(), &[32, 8]);
    let all = bits(&path);
    for (j, k) in [(0, 1), (0, 2), (1, 2)] {
        let name = |m: usize| format!("members.{m}.h.weight_hh_l0");
        assert_ne!(all[&name(j)], all[&name(k)], "members {j} and {k}");
    }

    let eval = ok(d, &["eval", file, "--weights", "o/runs/bag.safetensors"]);
    assert!(
        eval.starts_with("ensemble of 3 members, combined by majority vote\n"),
        "{eval}"
    );
    let ensemble = row(&eval, &["test", "ensemble"]);
    assert_eq!(ensemble[2], "200");
    assert_eq!(
        percent_at(&ensemble, 3),
        percent_at(&row(&trained, &["ensemble"]), 1)
    );
    for k in ["0", "1", "2"] {
        assert_eq!(
            percent_at(&row(&eval, &["test", "member", k]), 4),
            percent_at(&row(&trained, &["member", k]), 2),
            "member {k}"
        );
    }
}

/// A stacked LSTM with dropout and norm clipping, trained 4 epochs, ends with the same bits
/// as 2 epochs resumed for 2 more (the shuffling and the dropout masks continue where they
/// stopped).
#[test]
fn a_resumed_recurrent_run_ends_bit_identical_to_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = write(
        d,
        "resume.net",
        &program(
            400,
            &model("order", "lstm(12, layers: 2, dropout: 0.2)"),
            &train_block("order", 4, &["clip      norm(1.0)"]),
        ),
    );
    let [full, after_two, resumed] = resumed_halves(d, file);
    assert_eq!(full.len(), 10);
    assert_ne!(after_two, resumed, "the resumed run trained");
    assert_eq!(full, resumed);
}

/// Transfer learning from an LSTM: `start from` its checkpoint with the encoder frozen
/// retrains only the head, leaving every encoder tensor bit-identical. A head the
/// checkpoint does not have (a new layer, or another width) is refused: `start from` loads
/// every parameter of the program, by name and shape.
#[test]
fn transfer_from_an_lstm_keeps_the_frozen_encoder_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = write(
        d,
        "base.net",
        &program(
            400,
            &model("order", "lstm(12)"),
            &train_block("order", 2, &[]),
        ),
    );
    train(d, base, "o", &[]);
    let transfer = ["start     from \"runs/base.safetensors\"", "freeze    h.*"];
    let tuned = write(
        d,
        "tuned.net",
        &program(
            400,
            &model("order", "lstm(12)"),
            &train_block("order", 2, &transfer),
        ),
    );
    // With `--out o`, the checkpoint base.net wrote under o/ is the one started from. (The
    // file is named `./tuned.net`: see the ignored test below for `tuned.net`.)
    assert_eq!(tuned, "tuned.net");
    train(d, "./tuned.net", "o", &[]);
    let before = bits(&d.join("o/runs/base.safetensors"));
    let after = bits(&d.join("o/runs/tuned.safetensors"));
    assert_eq!(before.len(), 6);
    for name in [
        "h.weight_ih_l0",
        "h.weight_hh_l0",
        "h.bias_ih_l0",
        "h.bias_hh_l0",
    ] {
        assert_eq!(before[name], after[name], "{name} is frozen");
    }
    for name in ["out.weight", "out.bias"] {
        assert_ne!(before[name], after[name], "{name} is retrained");
    }

    // A new, wider head: its parameters are not in the checkpoint.
    let wide = "model order(x: [10, 8]) -> [4] {
  h    = x |> lstm(12)
  head = h |> last_step |> dense(24) |> relu
  out  = head |> dense(4)
}
";
    let wide = write(
        d,
        "wide.net",
        &program(400, wide, &train_block("order", 1, &transfer)),
    );
    assert_eq!(wide, "wide.net");
    let err = fails(d, 1, &["train", "./wide.net", "--quiet", "--out", "o"]);
    assert!(
        err.contains(
            "error: checkpoint o/runs/base.safetensors: entry 'head.weight': is missing: the \
             model's parameter 'head.weight' needs it (did you mean 'out.weight'?)"
        ),
        "{err}"
    );
    // Renaming the old head to the new one meets its other width.
    let renamed = std::fs::read_to_string(d.join("wide.net"))
        .unwrap()
        .replace(
            "from \"runs/base.safetensors\"",
            "from \"runs/base.safetensors\", rename out -> head",
        );
    write(d, "wide.net", &renamed);
    let err = fails(d, 1, &["train", "./wide.net", "--quiet", "--out", "o"]);
    assert!(
        err.contains(
            "error: checkpoint o/runs/base.safetensors: entry 'out.weight': has shape [4, 12], \
             but the model's parameter 'head.weight' has shape [24, 12]"
        ),
        "{err}"
    );
    // `only h.*` loads the encoder and leaves the new head (and the new `out`) freshly
    // initialized, as a user fine-tuning a new head on a pretrained encoder does.
    let only = renamed.replace(", rename out -> head", ", only h.*");
    write(d, "wide.net", &only);
    train(d, "./wide.net", "o", &[]);
    let wide = bits(&d.join("o/runs/wide.safetensors"));
    for name in [
        "h.weight_ih_l0",
        "h.weight_hh_l0",
        "h.bias_ih_l0",
        "h.bias_hh_l0",
    ] {
        assert_eq!(before[name], wide[name], "{name} is loaded and frozen");
    }
    assert_eq!(
        wide.len(),
        8,
        "the encoder, the new head and the new output"
    );
    // `except` names what is not loaded; a selector that matches nothing is an error.
    write(
        d,
        "wide.net",
        &only.replace(", only h.*", ", except head.*, out.*"),
    );
    train(d, "./wide.net", "o", &[]);
    assert_eq!(
        bits(&d.join("o/runs/wide.safetensors"))["h.weight_hh_l0"],
        before["h.weight_hh_l0"]
    );
    write(d, "wide.net", &only.replace(", only h.*", ", only enc.*"));
    let err = fails(d, 1, &["train", "./wide.net", "--quiet", "--out", "o"]);
    assert!(err.contains("enc.*"), "{err}");
}

/// `start from "runs/base.safetensors"` with `--out o` starts from the checkpoint an earlier
/// run wrote under o/, whether the program is named `./tuned.net` or `tuned.net`.
#[test]
fn start_from_finds_the_checkpoint_under_out_for_a_program_named_without_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = write(
        d,
        "base.net",
        &program(
            400,
            &model("order", "lstm(12)"),
            &train_block("order", 1, &[]),
        ),
    );
    train(d, base, "o", &[]);
    let tuned = write(
        d,
        "tuned.net",
        &program(
            400,
            &model("order", "lstm(12)"),
            &train_block("order", 1, &["start     from \"runs/base.safetensors\""]),
        ),
    );
    train(d, tuned, "o", &[]);
    assert!(d.join("o/runs/tuned.safetensors").exists());
}
