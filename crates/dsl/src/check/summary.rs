//! What `knit check` prints for a valid program.

use super::model::LayerRow;
use super::train::TrainSummary;
use knit_tensor::Shape;
use std::fmt::{self, Write as _};

/// One model: its layers with output shapes and parameter counts.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSummary {
    /// The model's name.
    pub name: String,
    /// Its input shape.
    pub input: Shape,
    /// Its output shape.
    pub output: Shape,
    /// Its layers in order.
    pub layers: Vec<LayerRow>,
    /// Parameter elements.
    pub params: usize,
    /// Forward FLOPs per example.
    pub flops: u64,
}

/// The summary of a checked program.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Every model that checked.
    pub models: Vec<ModelSummary>,
    /// The train block, if the program has one and it checked.
    pub train: Option<TrainSummary>,
}

/// `1234567` as `1,234,567`: how knit prints counts of parameters and FLOPs.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with three significant digits and a unit, for the FLOPs column: `2,560` as
/// `2.56 k`, `451584` as `452 k`, `7225344` as `7.23 M`; counts under 1,000 as they are.
pub fn readable(n: u64) -> String {
    const UNITS: [&str; 4] = ["k", "M", "G", "T"];
    if n < 1000 {
        return n.to_string();
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    // 999,999 rounds to 1000 k at three digits: it is 1.00 M.
    while v >= 999.5 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    let digits = match v {
        v if v >= 99.95 => 0,
        v if v >= 9.995 => 1,
        _ => 2,
    };
    format!("{v:.digits$} {}", UNITS[unit])
}

/// The FLOPs column of a row: empty for element-wise layers.
fn flops_cell(flops: u64) -> String {
    if flops > 0 {
        readable(flops)
    } else {
        String::new()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.models.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "model {}: {} -> {}", m.name, m.input, m.output)?;
            let node_w = m
                .layers
                .iter()
                .map(|l| l.node.len())
                .max()
                .unwrap_or(0)
                .max("total".len());
            let layer_w = m
                .layers
                .iter()
                .map(|l| l.layer.chars().count())
                .max()
                .unwrap_or(0)
                .max(5);
            let shape_w = m
                .layers
                .iter()
                .map(|l| l.shape.to_string().len())
                .max()
                .unwrap_or(0)
                .max(6);
            writeln!(
                f,
                "  {:node_w$}  {:layer_w$}  {:shape_w$}  {:>10}  {:>8}",
                "node", "layer", "output", "parameters", "FLOPs"
            )?;
            for l in &m.layers {
                let params = if l.params > 0 {
                    thousands(l.params as u64)
                } else {
                    String::new()
                };
                let layer = format!(
                    "{}{}",
                    l.layer,
                    " ".repeat(layer_w.saturating_sub(l.layer.chars().count()))
                );
                let mut line = String::new();
                write!(
                    line,
                    "  {:node_w$}  {layer}  {:shape_w$}  {params:>10}  {:>8}",
                    l.node,
                    l.shape.to_string(),
                    flops_cell(l.flops)
                )?;
                writeln!(f, "{}", line.trim_end())?;
            }
            writeln!(
                f,
                "  {:node_w$}  {:layer_w$}  {:shape_w$}  {:>10}  {:>8}",
                "total",
                "",
                "",
                thousands(m.params as u64),
                flops_cell(m.flops)
            )?;
            writeln!(
                f,
                "  {} parameters, {} FLOPs per example (forward, multiply-adds ×2)",
                thousands(m.params as u64),
                thousands(m.flops)
            )?;
        }
        if let Some(t) = &self.train {
            if !self.models.is_empty() {
                writeln!(f)?;
            }
            writeln!(f, "train {} on {}", t.models.join(", "), t.data)?;
            for line in &t.lines {
                writeln!(f, "  {line}")?;
            }
            write!(
                f,
                "  {} trainable parameters",
                thousands(t.trainable as u64)
            )?;
            if t.frozen > 0 {
                write!(f, ", {} frozen", thousands(t.frozen as u64))?;
            }
            writeln!(f)?;
            writeln!(f, "  {}", t.memory)?;
        }
        Ok(())
    }
}
