//! `data` blocks to knit-data's [`DataSpec`].

use super::augment::{check_augment, AugmentInfo};
use super::bind::bind;
use super::defs::TopScope;
use super::values::Ev;
use crate::ast::*;
use crate::builtins::{self, SOURCES, SPLITS, SYNTHETIC_KINDS};
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::seed::derive_seed;
use crate::source::{FileId, SourceMap};
use crate::span::Span;
use crate::suggest::help_for;
use knit_data::{DataSpec, Header, IndexSplit, LabelColumn, Scaling, Source, Split, Synthetic};
use std::path::Path;

/// A checked dataset.
#[derive(Clone, Debug)]
pub(crate) struct DataInfo {
    /// The description.
    pub spec: DataSpec,
    /// Whether there are validation examples (from the split or a separate file).
    pub has_validation: bool,
    /// For synthetic data: the number of features and of classes.
    pub synthetic: Option<(usize, usize)>,
    /// The `augment` line, checked but for the image shape (the train block's model gives it).
    pub augment: Option<AugmentInfo>,
}

/// The most steps a synthetic sequence may have.
const MAX_STEPS: usize = 1 << 16;

/// The largest synthetic dataset.
const MAX_SAMPLES: usize = 100_000_000;

/// Checks a `data` block.
pub(crate) fn check_data(
    sources: &SourceMap,
    top: &TopScope<'_, '_>,
    file: FileId,
    d: &DataDecl,
    program_seed: u64,
    sink: &mut Sink,
) -> Option<DataInfo> {
    let ev = Ev::new(top, file);
    let dir = sources.get(file).dir().to_path_buf();
    let mut main = None;
    let mut validation = None;
    let mut test = None;
    let mut split: Option<(Split, Span, bool, bool)> = None;
    let mut indices: Option<(IndexSplit, Span)> = None;
    let mut scaling = None;
    let mut seed = None;
    let mut limit = None;
    let mut augment = None;
    let mut seen: Vec<(&str, Span)> = Vec::new();
    let mut ok = true;
    for s in &d.settings {
        let key = match s {
            DataSetting::Source { role, .. } => role.keyword(),
            DataSetting::Split { .. } | DataSetting::SplitIndices { .. } => "split",
            DataSetting::Scale { .. } => "scale",
            DataSetting::Seed(_) => "seed",
            DataSetting::Limit { .. } => "limit",
            DataSetting::Augment { .. } => "augment",
        };
        if let Some((_, prev)) = seen.iter().find(|(k, _)| *k == key) {
            sink.push(
                Diagnostic::error(Code::Duplicate, format!("`{key}` is given twice"))
                    .label(file, s.span(), "given again here")
                    .label(file, *prev, "first given here"),
            );
            ok = false;
            continue;
        }
        seen.push((key, s.span()));
        match s {
            DataSetting::Source { role, source, .. } => {
                let checked = source_spec(&ev, sink, source, &dir);
                ok &= checked.is_some();
                match role {
                    SourceRole::Main => main = checked,
                    SourceRole::Validation => validation = checked.map(|c| (c, s.span())),
                    SourceRole::Test => test = checked.map(|c| (c, s.span())),
                }
            }
            DataSetting::Split { parts, span } => {
                split = split_spec(&ev, sink, parts, *span);
                ok &= split.is_some();
            }
            DataSetting::SplitIndices { call, span } => {
                indices = index_split(&ev, sink, call, &dir).map(|i| (i, *span));
                ok &= indices.is_some();
            }
            DataSetting::Scale { scale, .. } => {
                scaling = scale_spec(&ev, sink, scale);
                ok &= scaling.is_some();
            }
            DataSetting::Seed(sd) => {
                seed = ev
                    .integer(sink, &sd.value, 0, crate::seed::MAX_SEED as usize)
                    .map(|v| v as u64);
                ok &= seed.is_some();
            }
            DataSetting::Limit { value, unit, span } => {
                limit = data_limit(&ev, sink, value, unit.as_ref(), *span);
                ok &= limit.is_some();
            }
            DataSetting::Augment { transforms, span } => {
                augment = check_augment(&ev, sink, transforms, *span);
                ok &= augment.is_some();
            }
        }
    }
    if main.is_none() && ok {
        sink.push(
            Diagnostic::error(
                Code::Missing,
                format!("data `{}` has no `source`", d.name.name),
            )
            .label(file, d.name.span, "where do the examples come from?")
            .help("add a line such as `source csv(\"data/train.csv\", label: last)`"),
        );
    }
    let (main, synthetic) = main?;
    let (mut split_value, split_span, gave_validation, gave_test) = match &indices {
        Some((i, span)) => (
            Split::default(),
            *span,
            i.validation.is_some(),
            i.test.is_some(),
        ),
        None => split.unwrap_or((Split::default(), d.name.span, false, false)),
    };
    for (given, separate, part) in [
        (gave_validation, &validation, "validation"),
        (gave_test, &test, "test"),
    ] {
        if let (true, Some((_, sspan))) = (given, separate) {
            sink.push(
                Diagnostic::error(Code::Conflict, format!("the {part} examples come from a separate file, so `split` may not give {part} examples too"))
                    .label(file, split_span, format!("remove `{part}` here"))
                    .label(file, *sspan, format!("{part} examples from here")),
            );
            ok = false;
        }
    }
    if validation.is_some() {
        split_value.validation = 0.0;
    }
    if !ok {
        return None;
    }
    let has_validation = split_value.validation > 0.0
        || validation.is_some()
        || indices.as_ref().is_some_and(|(i, _)| {
            i.validation.is_some() || index_file_has(&dir.join(&i.path), "validation")
        });
    Some(DataInfo {
        spec: DataSpec {
            name: d.name.name.clone(),
            source: main,
            validation: validation.map(|(v, _)| v.0),
            test: test.map(|(t, _)| t.0),
            split: split_value,
            indices: indices.map(|(i, _)| i),
            scaling: scaling.unwrap_or_default(),
            seed: seed
                .unwrap_or_else(|| derive_seed(program_seed, &format!("data.{}", d.name.name))),
            limit,
        },
        has_validation,
        synthetic,
        augment,
    })
}

/// A source call; for synthetic data also its features and classes.
fn source_spec(
    ev: &Ev<'_>,
    sink: &mut Sink,
    e: &Expr,
    dir: &Path,
) -> Option<(Source, Option<(usize, usize)>)> {
    if let Expr::Call(c) = e.unparen() {
        if c.name.name == "synthetic" {
            return synthetic(ev, sink, c);
        }
    }
    let b = ev.call(sink, e, SOURCES, "data source")?;
    let path = |sink: &mut Sink, key: &str| -> Option<std::path::PathBuf> {
        let p = dir.join(ev.string(sink, &b, key)?);
        if let Some(kind) = special_file(&p) {
            sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("data file {} is {kind}, not a regular file", p.display()),
                )
                .label(ev.file, b.span(key), "not a regular file"),
            );
            return None;
        }
        if !p.exists() {
            sink.push(
                Diagnostic::warning(
                    Code::MissingFile,
                    format!("data file {} does not exist (yet)", p.display()),
                )
                .label(ev.file, b.span(key), "not found")
                .help("paths are relative to the folder of the file that names them"),
            );
        }
        Some(p)
    };
    let source = match b.sig.name {
        "csv" => {
            let p = path(sink, "path");
            let label = label(ev, sink, b.expr("label"));
            let header = ev.word(sink, &b, "header");
            Source::Csv {
                path: p?,
                label: label?,
                header: match header?.as_str() {
                    "yes" => Header::Yes,
                    "no" => Header::No,
                    _ => Header::Auto,
                },
            }
        }
        "idx" => {
            let images = path(sink, "images");
            Source::Idx {
                images: images?,
                labels: path(sink, "labels")?,
            }
        }
        "npy" => {
            let features = path(sink, "features");
            Source::Npy {
                features: features?,
                labels: path(sink, "labels")?,
            }
        }
        "npz" => {
            let p = path(sink, "path");
            let features = ev.string(sink, &b, "features");
            Source::Npz {
                path: p?,
                features: features?,
                labels: ev.string(sink, &b, "labels")?,
            }
        }
        _ => return None,
    };
    Some((source, None))
}

/// `synthetic(kind, samples: n, ...)`: the kind decides which other keys exist.
fn synthetic(
    ev: &Ev<'_>,
    sink: &mut Sink,
    call: &Call,
) -> Option<(Source, Option<(usize, usize)>)> {
    let kind_arg = call
        .args
        .iter()
        .find(|a| a.key.as_ref().is_none_or(|k| k.name == "kind"));
    let Some(kind_arg) = kind_arg else {
        sink.push(
            Diagnostic::error(Code::Missing, "`synthetic` needs a kind")
                .label(ev.file, call.span, "which generator?")
                .help(format!(
                    "write `synthetic(spirals, samples: 1000)`; kinds: {}",
                    builtins::SYNTHETIC.join(", ")
                )),
        );
        return None;
    };
    let kind = ev.choice(sink, &kind_arg.value, builtins::SYNTHETIC, "kind")?;
    let sig = builtins::find(SYNTHETIC_KINDS, &kind)?;
    let b = bind(sink, ev.file, call, sig, 0)?;
    let samples = ev.int(sink, &b, "samples", 1, MAX_SAMPLES);
    let noise = ev.num(sink, &b, "noise");
    let (samples, noise) = (samples?, noise?);
    if noise < 0.0 {
        sink.push(
            Diagnostic::error(Code::BadValue, "noise must be ≥ 0").label(
                ev.file,
                b.span("noise"),
                "negative",
            ),
        );
        return None;
    }
    let (generator, info) = match kind.as_str() {
        "xor" => (Synthetic::Xor, (2, 2)),
        "moons" => (Synthetic::Moons, (2, 2)),
        "uniform" => {
            let features = ev.int(sink, &b, "features", 1, 1 << 20);
            let classes = ev.int(sink, &b, "classes", 1, 1 << 16);
            let (features, classes) = (features?, classes?);
            (
                Synthetic::Uniform { features, classes },
                (features, classes),
            )
        }
        "adding" => {
            let steps = ev.int(sink, &b, "steps", 2, MAX_STEPS)?;
            (Synthetic::Adding { steps }, (2 * steps, 0))
        }
        "temporal_order" => {
            let steps = ev.int(sink, &b, "steps", 10, MAX_STEPS)?;
            (Synthetic::TemporalOrder { steps }, (8 * steps, 4))
        }
        "spirals" => {
            let turns = ev.num(sink, &b, "turns")?;
            if turns <= 0.0 {
                sink.push(
                    Diagnostic::error(Code::BadValue, "turns must be > 0").label(
                        ev.file,
                        b.span("turns"),
                        "not positive",
                    ),
                );
                return None;
            }
            (Synthetic::Spirals { turns }, (2, 2))
        }
        _ => {
            let centers = ev.int(sink, &b, "centers", 2, 1000);
            let std = ev.num(sink, &b, "std");
            let (centers, std) = (centers?, std?);
            if std <= 0.0 {
                sink.push(Diagnostic::error(Code::BadValue, "std must be > 0").label(
                    ev.file,
                    b.span("std"),
                    "not positive",
                ));
                return None;
            }
            (Synthetic::Blobs { centers, std }, (2, centers))
        }
    };
    Some((
        Source::Synthetic {
            kind: generator,
            samples,
            noise,
        },
        Some(info),
    ))
}

fn label(ev: &Ev<'_>, sink: &mut Sink, e: Option<&Expr>) -> Option<LabelColumn> {
    let Some(e) = e else {
        return Some(LabelColumn::Last);
    };
    match ev.value(sink, e)? {
        super::consts::Const::Word(w) if w == "last" => Some(LabelColumn::Last),
        super::consts::Const::Word(w) if w == "first" => Some(LabelColumn::First),
        super::consts::Const::Num(n) => {
            super::consts::whole(sink, ev.file, e.span(), n, 0, 1 << 20).map(LabelColumn::Index)
        }
        super::consts::Const::Str(s) => Some(LabelColumn::Name(s)),
        other => {
            sink.push(
                Diagnostic::error(
                    Code::UnknownValue,
                    format!(
                        "a label column is `last`, `first`, a position or a header name, found {}",
                        other.describe()
                    ),
                )
                .label(ev.file, e.span(), "not a label column"),
            );
            None
        }
    }
}

/// `split indices("split.json", train: "small")`: the index file and the keys of its parts.
fn index_split(ev: &Ev<'_>, sink: &mut Sink, call: &Expr, dir: &Path) -> Option<IndexSplit> {
    let b = ev.call(sink, call, SPLITS, "split")?;
    let path = ev.string(sink, &b, "path");
    let train = ev.string(sink, &b, "train");
    let mut key = |name: &str| match b.expr(name) {
        Some(_) => ev.string(sink, &b, name).map(Some),
        None => Some(None),
    };
    let (validation, test) = (key("validation"), key("test"));
    let path = path?;
    if let Some(kind) = special_file(&dir.join(&path)) {
        sink.push(
            Diagnostic::error(
                Code::BadValue,
                format!(
                    "split index file {} is {kind}, not a regular file",
                    dir.join(&path).display()
                ),
            )
            .label(ev.file, b.span("path"), "not a regular file"),
        );
        return None;
    }
    if !dir.join(&path).exists() {
        sink.push(
            Diagnostic::warning(
                Code::MissingFile,
                format!(
                    "split index file {} does not exist (yet)",
                    dir.join(&path).display()
                ),
            )
            .label(ev.file, b.span("path"), "not found")
            .help("paths are relative to the folder of the file that names them"),
        );
    }
    Some(IndexSplit {
        path: dir.join(path),
        train: train?,
        validation: validation?,
        test: test?,
    })
}

/// What `path` is when it exists but is not a regular file (a device, a FIFO, a folder),
/// found without opening it.
fn special_file(path: &Path) -> Option<knit_io::FileKind> {
    let metadata = std::fs::metadata(path).ok()?;
    let kind = knit_io::file_kind(&metadata);
    (kind != knit_io::FileKind::Regular).then_some(kind)
}

/// The largest index file read at check time (Fashion-MNIST's 70,000 row indices take
/// under 500 KB); a larger one is read when the data is loaded, within the data limit.
const MAX_INDEX_FILE: u64 = 64 << 20;

/// Whether the JSON index file at `path` has a list under `key` (false when it cannot be
/// read; loading the data reports that). The file is read only if it is a regular file (a
/// FIFO would block the check forever) and within [`MAX_INDEX_FILE`] bytes.
fn index_file_has(path: &Path, key: &str) -> bool {
    knit_io::read_text_bounded(path, MAX_INDEX_FILE)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|json| json.get(key).is_some_and(|v| v.is_array()))
}

/// The byte multiples a `limit` line may use.
const UNITS: [(&str, u64); 5] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// `limit 8 GiB`: the most bytes decoded from any one data file, in bytes.
fn data_limit(
    ev: &Ev<'_>,
    sink: &mut Sink,
    value: &Expr,
    unit: Option<&Ident>,
    span: Span,
) -> Option<u64> {
    let names = UNITS.map(|(name, _)| name);
    let Some(unit) = unit else {
        sink.push(
            Diagnostic::error(Code::Missing, "`limit` needs a unit")
                .label(ev.file, span, "how many bytes?")
                .help("write the size with its unit: `limit 8 GiB` (B, KiB, MiB, GiB, TiB)"),
        );
        return None;
    };
    let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit.name) else {
        sink.push(
            Diagnostic::error(Code::UnknownValue, format!("unknown unit `{}`", unit.name))
                .label(ev.file, unit.span, "not a unit of bytes")
                .help(help_for(&unit.name, names, "units")),
        );
        return None;
    };
    let amount = ev.number(sink, value)?;
    let bytes = amount * scale as f64;
    if !(amount > 0.0 && bytes >= 1.0 && bytes < u64::MAX as f64) {
        sink.push(
            Diagnostic::error(
                Code::BadValue,
                format!(
                    "a data limit must be at least 1 byte and below 16 EiB, found {} {}",
                    super::consts::num_text(amount),
                    unit.name
                ),
            )
            .label(ev.file, value.span(), "out of range"),
        );
        return None;
    }
    Some(bytes as u64)
}

/// `split train 0.8, validation 0.1, test 0.1, stratified`: the split, and whether a
/// validation and a test fraction were given.
fn split_spec(
    ev: &Ev<'_>,
    sink: &mut Sink,
    parts: &[SplitPart],
    span: Span,
) -> Option<(Split, Span, bool, bool)> {
    const PARTS: [&str; 4] = ["train", "validation", "test", "stratified"];
    let mut split = Split {
        train: 0.0,
        validation: 0.0,
        test: 0.0,
        stratified: false,
    };
    let mut seen: Vec<(&str, Span)> = Vec::new();
    let mut ok = true;
    let (mut gave_validation, mut gave_test) = (false, false);
    for part in parts {
        let Some(&name) = PARTS.iter().find(|p| **p == part.name.name) else {
            sink.push(
                Diagnostic::error(
                    Code::UnknownKey,
                    format!("unknown split part `{}`", part.name.name),
                )
                .label(ev.file, part.name.span, "unknown part")
                .help(help_for(&part.name.name, PARTS, "parts")),
            );
            ok = false;
            continue;
        };
        if let Some((_, prev)) = seen.iter().find(|(k, _)| *k == name) {
            sink.push(
                Diagnostic::error(Code::Duplicate, format!("`{name}` is given twice"))
                    .label(ev.file, part.span, "given again here")
                    .label(ev.file, *prev, "first given here"),
            );
            ok = false;
            continue;
        }
        seen.push((name, part.span));
        match (name, &part.value) {
            ("stratified", None) => split.stratified = true,
            ("stratified", Some(v)) => {
                sink.push(
                    Diagnostic::error(Code::Syntax, "`stratified` takes no value").label(
                        ev.file,
                        v.span(),
                        "remove this",
                    ),
                );
                ok = false;
            }
            (_, None) => {
                sink.push(
                    Diagnostic::error(Code::Missing, format!("`{name}` needs a fraction")).label(
                        ev.file,
                        part.span,
                        format!("write `{name} 0.2`"),
                    ),
                );
                ok = false;
            }
            (_, Some(v)) => {
                let Some(f) = ev.number(sink, v) else {
                    ok = false;
                    continue;
                };
                if !(0.0..=1.0).contains(&f) {
                    sink.push(
                        Diagnostic::error(
                            Code::BadValue,
                            format!(
                                "a split fraction must be in [0, 1], found {}",
                                super::consts::num_text(f)
                            ),
                        )
                        .label(ev.file, v.span(), "out of [0, 1]"),
                    );
                    ok = false;
                }
                match name {
                    "train" => split.train = f,
                    "validation" => {
                        split.validation = f;
                        gave_validation = true;
                    }
                    _ => {
                        split.test = f;
                        gave_test = true;
                    }
                }
            }
        }
    }
    if !ok {
        return None;
    }
    let sum = split.train + split.validation + split.test;
    if (sum - 1.0).abs() > 1e-9 {
        sink.push(
            Diagnostic::error(
                Code::SplitSum,
                format!(
                    "the split fractions sum to {}, not 1",
                    super::consts::num_text((sum * 1e9).round() / 1e9)
                ),
            )
            .label(
                ev.file,
                span,
                format!(
                    "sums to {}",
                    super::consts::num_text((sum * 1e9).round() / 1e9)
                ),
            )
            .help("train, validation and test fractions must add up to 1"),
        );
        return None;
    }
    if split.train == 0.0 {
        sink.push(
            Diagnostic::error(Code::BadValue, "the split leaves no training examples").label(
                ev.file,
                span,
                "train is 0",
            ),
        );
        return None;
    }
    Some((split, span, gave_validation, gave_test))
}

fn scale_spec(ev: &Ev<'_>, sink: &mut Sink, scale: &Scale) -> Option<Scaling> {
    match scale {
        Scale::Divide(e) => {
            let v = ev.number(sink, e)?;
            if v <= 0.0 {
                sink.push(
                    Diagnostic::error(Code::BadValue, "the divisor must be > 0").label(
                        ev.file,
                        e.span(),
                        "not positive",
                    ),
                );
                return None;
            }
            Some(Scaling::Divide(v))
        }
        Scale::Named(id) => match id.name.as_str() {
            "standardize" => Some(Scaling::Standardize),
            "minmax" => Some(Scaling::MinMax),
            "none" => Some(Scaling::None),
            other => {
                sink.push(
                    Diagnostic::error(Code::UnknownValue, format!("unknown scaling `{other}`"))
                        .label(ev.file, id.span, "unknown")
                        .help(help_for(
                            other,
                            ["standardize", "minmax", "none"],
                            "scalings (or `x / <number>`)",
                        )),
                );
                None
            }
        },
    }
}
