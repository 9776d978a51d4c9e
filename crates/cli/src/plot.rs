//! Learning curves (`knit train --plot`): loss and accuracy for train and validation, drawn
//! with plotters. Text is drawn with a bundled font (DejaVu Sans) so PNGs render the same
//! on machines without system fonts.

use knit_train::Report;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// The picture format, from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A bitmap.
    Png,
    /// A vector drawing.
    Svg,
}

impl Format {
    /// The format for `path`'s extension, if it is `.png` or `.svg`.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            _ => None,
        }
    }
}

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Registration fails only for an invalid font, and this one is bundled.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Draws the curves of `report` into `path`.
pub fn curves(report: &Report, path: &Path) -> Result<(), String> {
    register_font();
    let size = (1000, 420);
    match Format::of(path) {
        Some(Format::Png) => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(report, &root)?;
            root.present().map_err(|e| e.to_string())
        }
        Some(Format::Svg) => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(report, &root)?;
            root.present().map_err(|e| e.to_string())
        }
        None => Err("expected a .png or .svg file name".into()),
    }
}

type Series = Vec<(f64, f64)>;

fn draw<DB: DrawingBackend>(report: &Report, root: &DrawingArea<DB, Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 2));
    let epochs = &report.epochs;
    let x = |e: &knit_train::EpochMetrics| e.epoch as f64;
    let train_loss: Series = epochs.iter().map(|e| (x(e), e.train_loss)).collect();
    let val_loss: Series = epochs
        .iter()
        .filter_map(|e| e.validation.first().map(|v| (x(e), v.loss)))
        .collect();
    let train_acc: Series = epochs
        .iter()
        .filter_map(|e| {
            e.train_accuracy
                .first()
                .copied()
                .flatten()
                .map(|a| (x(e), a * 100.0))
        })
        .collect();
    let val_acc: Series = epochs
        .iter()
        .filter_map(|e| {
            e.validation
                .first()
                .and_then(|v| v.accuracy)
                .map(|a| (x(e), a * 100.0))
        })
        .collect();
    panel(&panels[0], "loss", "loss", &train_loss, &val_loss)?;
    panel(&panels[1], "accuracy", "accuracy (%)", &train_acc, &val_acc)?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    train: &Series,
    validation: &Series,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let all = train.iter().chain(validation);
    let x_max = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let (mut y_min, mut y_max) = all
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..x_max.max(2.0), (y_min - pad)..(y_max + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    if !train.is_empty() {
        chart
            .draw_series(LineSeries::new(train.iter().copied(), blue.stroke_width(2)))
            .map_err(err)?
            .label("train")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2))
            });
    }
    if !validation.is_empty() {
        chart
            .draw_series(LineSeries::new(
                validation.iter().copied(),
                orange.stroke_width(2),
            ))
            .map_err(err)?
            .label("validation")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}
