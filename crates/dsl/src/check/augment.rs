//! The data block's `augment` line: random transforms of the training images, checked in
//! two steps. The data block checks each transform's own values; the train block, which
//! binds a model to the data, checks them against the model's input `[C, H, W]` and builds
//! knit-data's [`Augmentation`].

use super::values::Ev;
use crate::ast::Expr;
use crate::builtins::AUGMENTS;
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::source::FileId;
use crate::span::Span;
use knit_data::{Augmentation, Extent, FlipAxis, ImageShape, Transform};
use knit_tensor::Shape;

/// A checked `augment` line, waiting for the image shape.
#[derive(Clone, Debug)]
pub(crate) struct AugmentInfo {
    /// The file of the data block.
    pub file: FileId,
    /// The whole line.
    pub span: Span,
    /// The transforms in order, each with the span of the value that bounds its shift.
    pub transforms: Vec<(Transform, Span)>,
}

/// The largest pixel shift written (the image decides the real bound).
const MAX_PIXELS: usize = 1 << 16;

/// Checks the transforms of an `augment` line on their own.
pub(crate) fn check_augment(
    ev: &Ev<'_>,
    sink: &mut Sink,
    transforms: &[Expr],
    span: Span,
) -> Option<AugmentInfo> {
    let mut checked = Vec::new();
    let mut ok = true;
    for e in transforms {
        match transform(ev, sink, e) {
            Some(t) => checked.push(t),
            None => ok = false,
        }
    }
    ok.then_some(AugmentInfo {
        file: ev.file,
        span,
        transforms: checked,
    })
}

/// One transform: `crop(padding: p)`, `flip(axis, p: 0.5)`, `translate(pixels)` or
/// `translate(fraction: f)`.
fn transform(ev: &Ev<'_>, sink: &mut Sink, e: &Expr) -> Option<(Transform, Span)> {
    let b = ev.call(sink, e, AUGMENTS, "transform")?;
    match b.sig.name {
        "crop" => {
            let padding = ev.int(sink, &b, "padding", 0, MAX_PIXELS)?;
            Some((Transform::crop(padding), b.span("padding")))
        }
        "flip" => {
            let axis = ev.word(sink, &b, "axis");
            let p = ev.num(sink, &b, "p")?;
            if !(0.0..=1.0).contains(&p) {
                sink.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!(
                            "a flip probability must be in [0, 1], found {}",
                            super::consts::num_text(p)
                        ),
                    )
                    .label(ev.file, b.span("p"), "out of [0, 1]"),
                );
                return None;
            }
            let axis = match axis?.as_str() {
                "vertical" => FlipAxis::Vertical,
                _ => FlipAxis::Horizontal,
            };
            Some((
                Transform::Flip {
                    axis,
                    probability: p,
                },
                b.span,
            ))
        }
        _ => {
            let extent = match (b.expr("pixels"), b.expr("fraction")) {
                (Some(_), None) => Extent::Pixels(ev.int(sink, &b, "pixels", 0, MAX_PIXELS)?),
                (None, Some(f)) => {
                    let f = ev.number(sink, f)?;
                    if !(0.0..=1.0).contains(&f) {
                        sink.push(
                            Diagnostic::error(
                                Code::BadValue,
                                format!(
                                    "a translation fraction must be in [0, 1], found {}",
                                    super::consts::num_text(f)
                                ),
                            )
                            .label(ev.file, b.span("fraction"), "out of [0, 1]")
                            .help("the fraction is of the image's side: `translate(fraction: 0.1)` shifts a 28-pixel side by up to 3 pixels"),
                        );
                        return None;
                    }
                    Extent::Fraction(f)
                }
                (given, _) => {
                    let (message, label) = if given.is_some() {
                        (
                            "`translate` takes `pixels` or `fraction`, not both",
                            "keep one",
                        )
                    } else {
                        (
                            "`translate` needs how far: `pixels` or `fraction`",
                            "how far?",
                        )
                    };
                    sink.push(
                        Diagnostic::error(Code::Missing, message)
                            .label(ev.file, b.span, label)
                            .help("write `translate(2)` for up to 2 pixels, `translate(fraction: 0.1)` for up to a tenth of the side"),
                    );
                    return None;
                }
            };
            let at = b.span(if b.expr("pixels").is_some() {
                "pixels"
            } else {
                "fraction"
            });
            Some((Transform::translate(extent), at))
        }
    }
}

/// The augmentation of the images that model `model` takes as `input`, declared at
/// `input_at`: an error unless the input is `[C, H, W]` and every pixel shift is below
/// both sides.
pub(crate) fn image_augmentation(
    sink: &mut Sink,
    info: &AugmentInfo,
    model: &str,
    input: &Shape,
    input_at: (FileId, Span),
) -> Option<Augmentation> {
    let dims = format!("{:?}", input.dims);
    let Some(image) = ImageShape::from_dims(&input.dims) else {
        sink.push(
            Diagnostic::error(
                Code::ShapeMismatch,
                format!("`augment` transforms images [C, H, W], but model `{model}` takes {dims}"),
            )
            .label(info.file, info.span, "augments images")
            .label(input_at.0, input_at.1, format!("not [C, H, W]: {dims}"))
            .help("declare the input as an image, e.g. `x: [1, 28, 28]` for 784 grey pixels"),
        );
        return None;
    };
    let side = image.height.min(image.width);
    let mut ok = true;
    for (t, at) in &info.transforms {
        if let Transform::Shift {
            vertical: Extent::Pixels(p),
            ..
        } = t
        {
            if *p >= side {
                sink.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!(
                            "a shift of up to {} does not fit model `{model}`'s images {dims}: it must be below the smaller side, {side}", pixels(*p)
                        ),
                    )
                    .label(info.file, *at, format!("at most {}", side - 1))
                    .label(input_at.0, input_at.1, format!("{} × {} pixels", image.height, image.width)),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    Augmentation::new(image, info.transforms.iter().map(|(t, _)| *t).collect()).ok()
}

/// `crop(padding 2), flip(horizontal, p 0.5)`: the line `knit check` prints.
pub(crate) fn summary_line(augmentation: &Augmentation) -> String {
    let shown: Vec<String> = augmentation
        .transforms
        .iter()
        .map(|t| match *t {
            Transform::Shift {
                vertical: Extent::Pixels(p),
                ..
            } => format!("shift up to {}", pixels(p)),
            Transform::Shift {
                vertical: Extent::Fraction(f),
                ..
            } => format!("shift up to {} of the side", super::consts::num_text(f)),
            Transform::Flip { axis, probability } => format!(
                "{} flip p {}",
                match axis {
                    FlipAxis::Horizontal => "horizontal",
                    FlipAxis::Vertical => "vertical",
                },
                super::consts::num_text(probability)
            ),
        })
        .collect();
    let i = augmentation.image;
    format!(
        "augment [{}, {}, {}] training images: {}",
        i.channels,
        i.height,
        i.width,
        shown.join(", ")
    )
}

/// "1 pixel", "2 pixels".
fn pixels(n: usize) -> String {
    if n == 1 {
        "1 pixel".to_string()
    } else {
        format!("{n} pixels")
    }
}
