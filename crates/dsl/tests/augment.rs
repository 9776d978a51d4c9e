//! The data block's `augment` line: compiled into the plan's [`Augmentation`] with the
//! model's input as the image shape, formatted and explained, and its errors.

mod common;

use knit_data::{Augmentation, Extent, FlipAxis, ImageShape, Transform};
use knit_dsl::{check_text, format_text};
use std::path::Path;

/// A program on 48 random images `[3, 4, 4]` (2 classes) whose data block ends with
/// `augment` and whose model input is `input`.
fn program(augment: &str, input: &str) -> String {
    format!(
        "data d {{\n  source  synthetic(uniform, samples: 48, features: 48, classes: 2)\n  \
         augment {augment}\n}}\n\nmodel m(x: {input}) -> [2] {{\n  out = x |> flatten |> dense(2)\n}}\n\n\
         train m on d {{\n  loss      cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch     8\n  \
         epochs    1\n}}\n"
    )
}

/// The error messages of checking `text` as `p.net`.
fn errors(text: &str) -> Vec<String> {
    common::error_messages(Path::new("p.net"), text)
}

#[test]
fn the_line_compiles_into_the_plan_with_the_model_input_as_image() {
    let text = program(
        "crop(padding: 1), flip, flip(vertical, p: 0.25), translate(2),\n          translate(fraction: 0.5)",
        "[3, 4, 4]",
    );
    let checked = check_text(Path::new("p.net"), &text);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let expected = Augmentation::new(
        ImageShape {
            channels: 3,
            height: 4,
            width: 4,
        },
        vec![
            Transform::crop(1),
            Transform::Flip {
                axis: FlipAxis::Horizontal,
                probability: 0.5,
            },
            Transform::Flip {
                axis: FlipAxis::Vertical,
                probability: 0.25,
            },
            Transform::translate(Extent::Pixels(2)),
            Transform::translate(Extent::Fraction(0.5)),
        ],
    )
    .unwrap();
    assert_eq!(plan.augment, Some(expected));
    // The resolved program names every argument.
    assert!(
        plan.program.contains(
            "  augment crop(padding: 1), flip(axis: horizontal, p: 0.5), flip(axis: vertical, p: 0.25), translate(pixels: 2), translate(fraction: 0.5)\n"
        ),
        "{}",
        plan.program
    );
    let summary = checked.summary.to_string();
    assert!(
        summary.contains("augment [3, 4, 4] training images: shift up to 1 pixel, horizontal flip p 0.5, vertical flip p 0.25, shift up to 2 pixels, shift up to 0.5 of the side"),
        "{summary}"
    );
    let plain = program("flip", "[3, 4, 4]").replace("  augment", "# augment");
    let without = check_text(Path::new("p.net"), &plain);
    assert_eq!(without.plan.map(|p| p.augment), Some(None));
}

#[test]
fn the_formatter_joins_the_line_and_its_continuation() {
    let text = program("crop(padding: 2),\n          flip(horizontal)", "[3, 4, 4]");
    let formatted = format_text(&text).expect("formats");
    assert!(
        formatted.contains("  augment crop(padding: 2), flip(horizontal)\n"),
        "{formatted}"
    );
    assert_eq!(format_text(&formatted).unwrap(), formatted);
    let one_line = format_text(&program("crop( 2 ) ,flip", "[3, 4, 4]")).unwrap();
    assert!(one_line.contains("  augment crop(2), flip\n"), "{one_line}");
}

#[test]
fn augmentation_needs_an_image_input_and_shifts_below_its_sides() {
    assert_eq!(
        errors(&program("flip", "[48]")),
        ["`augment` transforms images [C, H, W], but model `m` takes [48]"]
    );
    assert_eq!(
        errors(&program("crop(padding: 1)", "[3, 16]")),
        ["`augment` transforms images [C, H, W], but model `m` takes [3, 16]"]
    );
    assert_eq!(
        errors(&program("translate(1), crop(padding: 2)", "[1, 2, 24]")),
        ["a shift of up to 2 pixels does not fit model `m`'s images [1, 2, 24]: it must be below the smaller side, 2"]
    );
    // A fraction of 1 is allowed, as in torchvision.
    assert!(errors(&program("translate(fraction: 1)", "[1, 2, 24]")).is_empty());
}

#[test]
fn wrong_transforms_and_values_are_named() {
    assert_eq!(
        errors(&program("flop", "[3, 4, 4]")),
        ["unknown transform `flop`"]
    );
    assert_eq!(
        errors(&program(
            "crop(padding: -1), crop(padding: 1.5), crop",
            "[3, 4, 4]"
        )),
        [
            "expected a whole number from 0 to 65536, found -1",
            "expected a whole number from 0 to 65536, found 1.5",
            "`crop` needs `padding`"
        ]
    );
    assert_eq!(
        errors(&program(
            "flip(sideways), flip(p: -0.1), flip(q: 1)",
            "[3, 4, 4]"
        )),
        [
            "unknown value `sideways` for `axis`",
            "a flip probability must be in [0, 1], found -0.1",
            "`flip` has no argument `q`"
        ]
    );
    assert_eq!(
        errors(&program(
            "translate, translate(2, fraction: 0.1), translate(fraction: 1.5)",
            "[3, 4, 4]"
        )),
        [
            "`translate` needs how far: `pixels` or `fraction`",
            "`translate` takes `pixels` or `fraction`, not both",
            "a translation fraction must be in [0, 1], found 1.5"
        ]
    );
    let twice =
        program("flip", "[3, 4, 4]").replace("  augment flip", "  augment flip\n  augment crop(1)");
    assert_eq!(errors(&twice), ["`augment` is given twice"]);
}

#[test]
fn a_misspelt_keyword_suggests_augment() {
    let text = program("flip", "[3, 4, 4]").replace("augment", "augmnt");
    let checked = check_text(Path::new("p.net"), &text);
    let d = &checked.diagnostics.items[0];
    assert_eq!(d.message, "unknown setting in a `data` block: `augmnt`");
    assert_eq!(d.help.as_deref(), Some("did you mean `augment`?"));
}
