//! Properties: the formatter is idempotent and round-trips (parsing its output gives the
//! same syntax tree) on generated programs; parsing and checking arbitrary bytes or mutated
//! examples never panics.

use knit_dsl::source::FileId;
use knit_dsl::{check_text, format_text, parse};
use proptest::prelude::*;
use std::path::Path;

/// A small deterministic generator (xorshift) driven by a proptest seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// Spaces, or a comment and a line break where the grammar allows one.
    fn gap(&mut self) -> String {
        [" ", "  ", " ", "\t"][self.below(4)].to_string()
    }
    fn comment(&mut self) -> String {
        if self.chance(30) {
            format!("  # note {}", self.below(100))
        } else {
            String::new()
        }
    }
    fn number(&mut self) -> String {
        self.pick(&["1", "2", "0.5", "1e-3", "3.25", "10", "2.5e2", "0.1"])
            .to_string()
    }
    fn arith(&mut self, depth: usize) -> String {
        if depth == 0 || self.chance(50) {
            return if self.chance(30) {
                "w".into()
            } else {
                self.number()
            };
        }
        let op = self.pick(&["+", "-", "*", "/"]);
        let g = self.gap();
        let e = format!(
            "{}{g}{op}{g}{}",
            self.arith(depth - 1),
            self.arith(depth - 1)
        );
        if self.chance(40) {
            format!("({e})")
        } else if self.chance(10) {
            format!("-{e}")
        } else {
            e
        }
    }
    fn layer(&mut self) -> String {
        match self.below(8) {
            0 => format!("dense({})", self.below(30) + 1),
            1 => format!(
                "dense({}, init: {})",
                self.below(30) + 1,
                self.pick(&["he_normal", "glorot_uniform(gain: 2)", "normal(std: 0.1)"])
            ),
            2 => self.pick(&["relu", "tanh", "sigmoid", "gelu"]).to_string(),
            3 => format!(
                "dropout({})",
                self.pick(&["0.1", "0.5", "step(0.5, every: 2)"])
            ),
            4 => "batchnorm(momentum: 0.1)".into(),
            5 => "leaky_relu(slope: 0.2)".into(),
            6 => format!(
                "dense(\n      {},\n      bias: false,\n    )",
                self.below(9) + 1
            ),
            _ => "flatten".into(),
        }
    }
    fn chain(&mut self, names: &[String]) -> String {
        let head = names[self.below(names.len())].clone();
        let mut s = if names.len() > 1 && self.chance(20) {
            let other = names[self.below(names.len())].clone();
            format!("({head} + {other})")
        } else {
            head
        };
        for _ in 0..self.below(4) + 1 {
            let sep = if self.chance(20) { "\n    |> " } else { " |> " };
            s.push_str(sep);
            s.push_str(&self.layer());
        }
        s
    }
    fn program(&mut self) -> String {
        let mut out = String::new();
        if self.chance(50) {
            out.push_str("# generated\n\n");
        }
        out.push_str(&format!("seed {}{}\n", self.below(100), self.comment()));
        out.push_str(&format!("let w = {}\n", self.arith(2)));
        if self.chance(50) {
            out.push_str("\n\n");
        }
        out.push_str("data d {\n  source synthetic(moons, samples: 100)\n");
        if self.chance(50) {
            out.push_str(&format!(
                "  split train 0.8, validation 0.2{}\n",
                if self.chance(30) { ", stratified" } else { "" }
            ));
        }
        out.push_str("}\n\n");
        for m in 0..self.below(2) + 1 {
            out.push_str(&format!("model m{m}(x: [2]) -> [2] {{{}\n", self.comment()));
            let mut names = vec!["x".to_string()];
            for k in 0..self.below(4) + 1 {
                let name = format!("h{k}");
                out.push_str(&format!(
                    "  {name}{}={}{}{}\n",
                    self.gap(),
                    self.gap(),
                    self.chain(&names),
                    self.comment()
                ));
                names.push(name);
                if self.chance(15) {
                    out.push_str("\n  # between\n");
                }
            }
            if self.chance(30) {
                out.push_str("  repeat 2 as i {\n    g = x |> dense(4)\n  }\n");
            }
            out.push_str("  out = x |> dense(2)\n}\n\n");
        }
        out.push_str("train m0 on d {\n  loss cross_entropy\n");
        out.push_str(&format!(
            "  optimizer {}\n",
            self.pick(&[
                "adam(lr: 1e-3)",
                "sgd(lr: 0.1, momentum: 0.9)",
                "sgd(lr: warmup(2, then: 0.1))"
            ])
        ));
        out.push_str(&format!(
            "  batch {}\n  epochs {}\n",
            self.pick(&[
                "32",
                "online, shuffle",
                "full",
                "8, shuffle: true, drop_last"
            ]),
            self.below(9) + 1
        ));
        if self.chance(40) {
            out.push_str("  penalty l2(1e-4) on *.weight, out.*\n");
        }
        if self.chance(30) {
            out.push_str(
                "  prune magnitude from 0.1 to 0.5 step 0.1, retrain 1, floor accuracy 0.9\n",
            );
        }
        if self.chance(30) {
            out.push_str("  start from \"a \\\"b\\\".safetensors\", rename fc -> out\n");
        }
        out.push_str("}\n");
        out
    }
}

/// The tokens of the token-soup target.
const TOKENS: [&str; 57] = [
    "model",
    "m",
    "(",
    ")",
    "x",
    ":",
    "[",
    "]",
    "2",
    "->",
    "{",
    "}",
    "\n",
    "=",
    "|>",
    "dense",
    "relu",
    ",",
    "train",
    "on",
    "d",
    "data",
    "source",
    "synthetic",
    "moons",
    "samples",
    "loss",
    "optimizer",
    "adam",
    "lr",
    "batch",
    "epochs",
    "block",
    "repeat",
    "as",
    "let",
    "param",
    "*",
    "+",
    "-",
    "/",
    "#",
    "\"",
    "0.5",
    "1e309",
    "import",
    "seed",
    "*.weight",
    "~",
    "tie",
    "prune",
    "from",
    "to",
    "step",
    "limit",
    "\u{feff}",
    "\0",
];

/// Checks and formats `text`: the property is that neither panics.
fn check_and_format(path: &Path, text: &str) {
    let _ = check_text(path, text);
    let _ = format_text(text);
}

/// `dsl-examples/*.net`, read once.
fn examples() -> &'static [(std::path::PathBuf, String)] {
    static FILES: std::sync::OnceLock<Vec<(std::path::PathBuf, String)>> =
        std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "net"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .collect()
    })
}

/// Example `which` with `len` bytes at `at` replaced by `insert`, checked and formatted.
fn check_mutated(which: usize, at: usize, len: usize, insert: &str) {
    let (path, text) = &examples()[which % examples().len()];
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = (at + len).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mutated = format!("{}{}{}", &text[..at], insert, &text[end.max(at)..]);
    check_and_format(path, &mutated);
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..400)
}

fn soup() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..120)
}

fn mutation() -> impl Strategy<Value = (usize, usize, usize, String)> {
    (0usize..1000, 0usize..10_000, 0usize..40, "[ -~\n]{0,12}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fmt_is_idempotent_and_round_trips(seed in 1u64..u64::MAX) {
        let text = Gen(seed).program();
        let (original, diags) = parse(FileId(0), &text);
        prop_assert!(diags.items.is_empty(), "generated program does not parse:\n{text}\n{diags:?}");
        let once = format_text(&text).unwrap();
        let (reparsed, diags) = parse(FileId(0), &once);
        prop_assert!(diags.items.is_empty(), "formatted program does not parse:\n{once}");
        prop_assert_eq!(&original, &reparsed, "formatting changed the program:\n{}\n---\n{}", text, once);
        let twice = format_text(&once).unwrap();
        prop_assert_eq!(&once, &twice);
        prop_assert_eq!(text.matches('#').count(), once.matches('#').count(), "a comment was lost");
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in bytes()) {
        check_and_format(Path::new("/nonexistent/fuzz.net"), &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_token_soup_never_panics(tokens in soup()) {
        check_and_format(Path::new("/nonexistent/fuzz.net"), &tokens.join(" "));
    }

    #[test]
    fn mutated_examples_never_panic((which, at, len, insert) in mutation()) {
        check_mutated(which, at, len, &insert);
    }
}

/// The long fuzzing run of the parser and checker, target by target:
/// `KNIT_FUZZ_SECONDS=600 cargo test --release -p knit-dsl --test props -- --ignored --nocapture`.
#[test]
#[ignore = "long: KNIT_FUZZ_SECONDS per target"]
fn long_fuzz_of_the_parser_and_checker() {
    use knit_testkit::{fuzz, Budget};
    let path = Path::new("/nonexistent/fuzz.net");
    fuzz("dsl bytes", Budget::Long(5000), bytes(), |b| {
        check_and_format(path, &String::from_utf8_lossy(&b));
        Ok(())
    });
    fuzz("dsl token soup", Budget::Long(5000), soup(), |t| {
        check_and_format(path, &t.join(" "));
        Ok(())
    });
    fuzz(
        "dsl mutated examples",
        Budget::Long(5000),
        mutation(),
        |(w, a, l, i)| {
            check_mutated(w, a, l, &i);
            Ok(())
        },
    );
}
