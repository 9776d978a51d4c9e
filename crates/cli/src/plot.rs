//! Learning curves (`knit train --plot`): loss and accuracy for train and validation, drawn
//! with plotters. Text is drawn with a bundled font (DejaVu Sans) so PNGs render the same
//! on machines without system fonts.

use knit_train::{RangeCurve, Report};
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
    curves_of(&[(String::new(), report)], path)
}

/// Draws the curves of several runs into one picture (an ensemble's members): each run in
/// its own colour, its training curve thin and its validation curve thick, labelled with
/// the run's name. With a single unnamed run the curves are simply "train" and
/// "validation".
///
/// The picture is drawn in memory (SVG text, or RGB pixels encoded as PNG) and written with
/// `knit_io::write_atomically`, so an earlier picture stays intact if drawing or writing
/// fails, a symlink is written through and `/dev/null` stays a device.
pub fn curves_of(runs: &[(String, &Report)], path: &Path) -> Result<(), String> {
    write_picture(&Curves(runs), (1000, 420), path)
}

/// The learning-rate range test (`knit lr-find --plot`): the loss of every step and its
/// smoothed curve against the learning rate on a log axis, the suggested rate marked.
pub fn range_test(curve: &RangeCurve, suggested: Option<f64>, path: &Path) -> Result<(), String> {
    write_picture(&Range { curve, suggested }, (800, 480), path)
}

/// Something drawn into a picture of any backend.
trait Picture {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
}

/// Draws `picture` in memory (SVG text, or RGB pixels encoded as PNG, by `path`'s
/// extension) and writes it with `knit_io::write_atomically`, so an earlier picture stays
/// intact if drawing or writing fails, a symlink is written through and `/dev/null` stays a
/// device.
fn write_picture(picture: &impl Picture, size: (u32, u32), path: &Path) -> Result<(), String> {
    register_font();
    let format = Format::of(path).ok_or("expected a .png or .svg file name")?;
    let bytes = if format == Format::Svg {
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
            picture.draw(&root)?;
            root.present().map_err(|e| e.to_string())?;
        }
        text.into_bytes()
    } else {
        let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
            picture.draw(&root)?;
            root.present().map_err(|e| e.to_string())?;
        }
        encode_png(&pixels, size)?
    };
    knit_io::write_atomically(path, &bytes).map_err(|e| e.reason())
}

/// The learning curves of runs.
struct Curves<'a>(&'a [(String, &'a Report)]);

impl Picture for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        draw(self.0, root)
    }
}

/// A range test's curve.
struct Range<'a> {
    curve: &'a RangeCurve,
    suggested: Option<f64>,
}

impl Picture for Range<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let points: Vec<_> = self
            .curve
            .points
            .iter()
            .filter(|p| p.loss.is_finite() && p.smoothed.is_finite())
            .collect();
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(());
        };
        // Up to 1.5 times the starting loss: the divergence at the end would otherwise
        // flatten the part of the curve worth reading.
        let lo = points
            .iter()
            .map(|p| p.loss.min(p.smoothed))
            .fold(f64::INFINITY, f64::min);
        let hi = points
            .iter()
            .map(|p| p.loss.max(p.smoothed))
            .fold(f64::NEG_INFINITY, f64::max)
            .min(first.smoothed * 1.5)
            .max(lo + 1e-6);
        let pad = ((hi - lo) * 0.05).max(1e-6);
        let mut chart = ChartBuilder::on(root)
            .caption("learning-rate range test", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (first.lr..last.lr.max(first.lr * 1.0001)).log_scale(),
                (lo - pad)..(hi + pad),
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("learning rate")
            .y_desc("loss")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let raw = PALETTE[7].stroke_width(1);
        chart
            .draw_series(LineSeries::new(points.iter().map(|p| (p.lr, p.loss)), raw))
            .map_err(err)?
            .label("loss of the step")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], raw));
        let smooth = PALETTE[0].stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.lr, p.smoothed)),
                smooth,
            ))
            .map_err(err)?
            .label("smoothed")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], smooth));
        if let Some(lr) = self.suggested {
            let mark = PALETTE[3].stroke_width(2);
            chart
                .draw_series(LineSeries::new([(lr, lo - pad), (lr, hi + pad)], mark))
                .map_err(err)?
                .label(format!("suggested {lr:.1e}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], mark));
        }
        draw_legend(&mut chart)
    }
}

/// RGB pixels, `size.0` wide, as a PNG file's bytes.
fn encode_png(pixels: &[u8], size: (u32, u32)) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

type Series = Vec<(f64, f64)>;

/// One line of a panel: its label, points, colour and whether it is a validation curve.
struct Line {
    label: String,
    points: Series,
    color: RGBColor,
    validation: bool,
}

/// Colours of the runs (matplotlib's tab10), the first two being the single run's train
/// and validation colours.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Whether `runs` is one unnamed run, drawn with the plain "train" and "validation" labels.
fn is_single(runs: &[(String, &Report)]) -> bool {
    runs.len() == 1 && runs[0].0.is_empty()
}

/// The loss and accuracy lines of every run.
fn lines(runs: &[(String, &Report)]) -> (Vec<Line>, Vec<Line>) {
    let (mut loss, mut accuracy) = (Vec::new(), Vec::new());
    let single = is_single(runs);
    for (k, (name, report)) in runs.iter().enumerate() {
        let epochs = &report.epochs;
        let x = |e: &knit_train::EpochMetrics| e.epoch as f64;
        let (train_color, val_color) = if single {
            (PALETTE[0], PALETTE[1])
        } else {
            (PALETTE[k % 10], PALETTE[k % 10])
        };
        let label = |what: &str| {
            if single {
                what.to_string()
            } else {
                format!("{name} {what}")
            }
        };
        let push = |to: &mut Vec<Line>, what: &str, validation: bool, points: Series| {
            if !points.is_empty() {
                to.push(Line {
                    label: label(what),
                    points,
                    color: if validation { val_color } else { train_color },
                    validation,
                });
            }
        };
        push(
            &mut loss,
            "train",
            false,
            epochs.iter().map(|e| (x(e), e.train_loss)).collect(),
        );
        push(
            &mut loss,
            "validation",
            true,
            epochs
                .iter()
                .filter_map(|e| e.validation.first().map(|v| (x(e), v.loss)))
                .collect(),
        );
        push(
            &mut accuracy,
            "train",
            false,
            epochs
                .iter()
                .filter_map(|e| {
                    e.train_accuracy
                        .first()
                        .copied()
                        .flatten()
                        .map(|a| (x(e), a * 100.0))
                })
                .collect(),
        );
        push(
            &mut accuracy,
            "validation",
            true,
            epochs
                .iter()
                .filter_map(|e| {
                    e.validation
                        .first()
                        .and_then(|v| v.accuracy)
                        .map(|a| (x(e), a * 100.0))
                })
                .collect(),
        );
    }
    (loss, accuracy)
}

fn draw<DB: DrawingBackend>(
    runs: &[(String, &Report)],
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 2));
    let (loss, accuracy) = lines(runs);
    let single = is_single(runs);
    panel(&panels[0], "loss", "loss", &loss, single)?;
    panel(&panels[1], "accuracy", "accuracy (%)", &accuracy, single)?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    lines: &[Line],
    single: bool,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let all = lines.iter().flat_map(|l| l.points.iter());
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
    for line in lines {
        // A lone run's two curves differ by colour; an ensemble's member curves share their
        // member's colour, the validation curve drawn thicker.
        let width = if single || line.validation { 2 } else { 1 };
        let style = line.color.stroke_width(width);
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))
            .map_err(err)?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    draw_legend(&mut chart)
}

/// The legend of a chart's labelled series, in a white box.
fn draw_legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())
}
