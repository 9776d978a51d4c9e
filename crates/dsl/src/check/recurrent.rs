//! The recurrent layers `rnn`, `lstm` and `gru` (stacks of knit-tensor's `Recurrent` op, with
//! PyTorch's parameter names and default initialization) and the ways of reading their
//! `[B, T, H]` output: `last_step`, `step_at(t)` and `mean_steps`.

use super::bind::Bound;
use super::init::initializer;
use super::model::{Lowering, MAX_PARAM_ELEMENTS, T};
use super::values::Ev;
use crate::diagnostic::{Code, Diagnostic};
use crate::seed::derive_seed;
use crate::span::Span;
use knit_init::{ConstantRows, FanInUniform, Fans, Initializer};
use knit_tensor::ops::{Cell, RnnActivation};
use knit_tensor::RecurrentWeights;
use std::sync::Arc;

/// The largest number of stacked layers one call may make.
const MAX_LAYERS: usize = 64;

/// An initializer shared by the layers of a stack.
type Shared = Arc<dyn Initializer>;

/// How one recurrent parameter is drawn: the initializer and the fans it scales with.
struct Draw {
    init: Shared,
    fans: Option<Fans>,
}

impl<'d, 'a> Lowering<'d, 'a> {
    /// `rnn(hidden, ...)`, `lstm(hidden, ...)` or `gru(hidden, ...)` applied to `x`.
    pub(crate) fn recurrent(&mut self, b: &Bound<'a>, x: T, span: Span) -> Option<T> {
        let file = self.file();
        let scope = self.scope();
        let ev = Ev::new(&scope, file);
        let kind = b.sig.name;
        let in_shape = self.shape(&x);
        if !(in_shape.batched && in_shape.dims.len() == 2) {
            let help = match in_shape.dims.as_slice() {
                [n] => format!(
                    "a recurrent layer reads sequences [B, steps, features]; to read {n} values as steps, reshape them first, e.g. `|> reshape([{n}, 1])`"
                ),
                _ => "a recurrent layer reads sequences [B, steps, features]".to_string(),
            };
            return self.err(
                Diagnostic::error(
                    Code::ShapeMismatch,
                    format!(
                        "{kind} needs [B, steps, features] inputs, but {} gives {in_shape}",
                        x.origin.what
                    ),
                )
                .label(file, span, "needs a sequence")
                .label(
                    x.origin.file,
                    x.origin.span,
                    format!("{} gives {in_shape}", x.origin.what),
                )
                .help(help),
            );
        }
        let hidden = ev.int(&mut self.sink, b, "hidden", 1, MAX_PARAM_ELEMENTS);
        let layers = ev.int(&mut self.sink, b, "layers", 1, MAX_LAYERS);
        let dropout = ev.num(&mut self.sink, b, "dropout");
        let bias = ev.boolean(&mut self.sink, b, "bias");
        let cell = match kind {
            "rnn" => match ev.word(&mut self.sink, b, "nonlinearity")?.as_str() {
                "relu" => Cell::Rnn(RnnActivation::Relu),
                _ => Cell::Rnn(RnnActivation::Tanh),
            },
            "lstm" => Cell::Lstm,
            _ => Cell::Gru,
        };
        let init_ih = b
            .expr("init_ih")
            .map(|e| initializer(&ev, &mut self.sink, e));
        let init_hh = b
            .expr("init_hh")
            .map(|e| initializer(&ev, &mut self.sink, e));
        let forget_bias = match b.expr("forget_bias") {
            Some(e) => Some(ev.number(&mut self.sink, e)?),
            None => None,
        };
        let (hidden, layers, dropout, bias) = (hidden?, layers?, dropout?, bias?);
        let (init_ih, init_hh) = (
            init_ih.map_or(Some(None), |i| i.map(Some))?,
            init_hh.map_or(Some(None), |i| i.map(Some))?,
        );
        if !(0.0..1.0).contains(&dropout) {
            return self.err(
                Diagnostic::error(
                    Code::BadValue,
                    format!("{kind}: dropout must be in [0, 1), got {dropout}"),
                )
                .label(
                    file,
                    b.span("dropout"),
                    "the ratio of units zeroed between layers",
                ),
            );
        }
        if dropout > 0.0 && layers == 1 {
            self.sink.push(
                Diagnostic::warning(
                    Code::Conflict,
                    format!("{kind}: dropout acts between stacked layers, and there is only one"),
                )
                .label(file, b.span("dropout"), "no effect with layers: 1")
                .help("PyTorch warns likewise; add `layers: 2` or drop the argument"),
            );
        }
        if let (Some(_), false) = (forget_bias, bias) {
            return self.err(
                Diagnostic::error(Code::Conflict, "`forget_bias` needs the layer's biases")
                    .label(file, b.span("forget_bias"), "sets part of bias_ih")
                    .label(file, b.span("bias"), "the biases are off"),
            );
        }
        let name = self.naming.take(kind, true);
        let rows = cell.gates() * hidden;
        // PyTorch's default: every weight and bias U(±1/√H).
        let default = || Draw {
            init: Arc::new(FanInUniform),
            fans: Some(Fans::new(hidden, rows)),
        };
        let init_ih: Option<Shared> = init_ih.map(Arc::from);
        let init_hh: Option<Shared> = init_hh.map(Arc::from);
        // A given initializer scales with the tensor's own fans, as on any weight.
        let given = |init: &Option<Shared>| {
            init.as_ref().map(|i| Draw {
                init: Arc::clone(i),
                fans: None,
            })
        };
        let mut h = x.clone();
        let mut created = 0;
        let mut features = in_shape.dims[1];
        for layer in 0..layers {
            if layer > 0 && dropout > 0.0 {
                let dname = format!("{name}.dropout_l{}", layer - 1);
                let seed = derive_seed(self.seed, &dname);
                match knit_regularize::dropout(&mut self.graph, &dname, h.id, dropout, seed) {
                    Ok(id) => h = self.made(id, span, format!("{kind} `{name}`")),
                    Err(e) => {
                        return self.tensor_error(e, &format!("{kind} `{name}`"), span, &[&h])
                    }
                }
            }
            let wih = given(&init_ih).unwrap_or_else(default);
            let whh = given(&init_hh).unwrap_or_else(default);
            let mut bih = default();
            if let (Some(v), Cell::Lstm) = (forget_bias, cell) {
                let rows_f = ConstantRows::new(bih.init.clone(), hidden, 2 * hidden, v as f32);
                match rows_f {
                    Ok(r) => bih.init = Arc::new(r),
                    Err(e) => {
                        return self.err(
                            Diagnostic::error(Code::BadValue, format!("{kind}: {e}")).label(
                                file,
                                b.span("forget_bias"),
                                "here",
                            ),
                        )
                    }
                }
            }
            let bhh = match (forget_bias, cell) {
                // The forget gate's bias is the sum b_ih + b_hh: with forget_bias, b_hh's
                // forget block starts at 0 so that the sum is the value given.
                (Some(_), Cell::Lstm) => Draw {
                    init: Arc::new(
                        ConstantRows::new(Arc::new(FanInUniform), hidden, 2 * hidden, 0.0)
                            .expect("0 is finite and the rows are ordered"),
                    ),
                    fans: Some(Fans::new(hidden, rows)),
                },
                _ => default(),
            };
            let mut draw = |this: &mut Self, suffix: &str, d: Draw, dims: &[usize]| {
                let pname = format!("{name}.{suffix}_l{layer}");
                let value =
                    this.initialize_with_fans(&*d.init, dims, d.fans, &pname, file, b.span)?;
                created += dims.iter().product::<usize>();
                this.built.inits.push(knit_train::ParamInit {
                    name: pname,
                    init: d.init,
                    dims: dims.to_vec(),
                    fans: d.fans,
                });
                Some(value)
            };
            let ih = draw(self, "weight_ih", wih, &[rows, features])?;
            let hh = draw(self, "weight_hh", whh, &[rows, hidden])?;
            let biases = if bias {
                Some((
                    draw(self, "bias_ih", bih, &[rows])?,
                    draw(self, "bias_hh", bhh, &[rows])?,
                ))
            } else {
                None
            };
            for suffix in ["weight_ih", "weight_hh"] {
                self.built
                    .prunable_weights
                    .push(format!("{name}.{suffix}_l{layer}"));
            }
            let weights = RecurrentWeights { ih, hh, biases };
            match self.graph.recurrent(&name, layer, h.id, cell, weights) {
                Ok(id) => h = self.made(id, span, format!("{kind} `{name}`")),
                Err(e) => return self.tensor_error(e, &format!("{kind} `{name}`"), span, &[&h]),
            }
            features = hidden;
        }
        let stack = if layers > 1 {
            format!(" ×{layers}")
        } else {
            String::new()
        };
        let label = match cell {
            Cell::Rnn(RnnActivation::Relu) => {
                format!("rnn relu {}→{hidden}{stack}", in_shape.dims[1])
            }
            _ => format!("{kind} {}→{hidden}{stack}", in_shape.dims[1]),
        };
        self.row(name, label, &h, created);
        Some(h)
    }

    /// `last_step`, `step_at(t)` (t < 0 counts from the end) or `mean_steps` on `x`.
    pub(crate) fn readout(&mut self, b: &Bound<'a>, x: T, span: Span) -> Option<T> {
        let file = self.file();
        let scope = self.scope();
        let ev = Ev::new(&scope, file);
        let kind = b.sig.name;
        let shape = self.shape(&x);
        if !(shape.batched && shape.dims.len() >= 2) {
            return self.err(
                Diagnostic::error(
                    Code::ShapeMismatch,
                    format!(
                        "{kind} needs a sequence [B, steps, ...], but {} gives {shape}",
                        x.origin.what
                    ),
                )
                .label(file, span, "needs a sequence")
                .label(
                    x.origin.file,
                    x.origin.span,
                    format!("{} gives {shape}", x.origin.what),
                ),
            );
        }
        let steps = shape.dims[0];
        let made = match kind {
            "last_step" => self.graph.last_step(x.id),
            "mean_steps" => self.graph.mean(x.id, Some(1)),
            _ => {
                let e = b.expr("index")?;
                let t = ev.number(&mut self.sink, e)?;
                let index = if t < 0.0 { steps as f64 + t } else { t };
                if t.fract() != 0.0 || !(0.0..steps as f64).contains(&index) {
                    return self.err(
                        Diagnostic::error(
                            Code::BadValue,
                            format!(
                                "step_at({t}) is out of range: {} gives {steps} steps, so the index must be in 0..{steps} (or -{steps}..-1 from the end)",
                                x.origin.what
                            ),
                        )
                        .label(file, e.span(), "no such step")
                        .label(x.origin.file, x.origin.span, format!("{} gives {shape}", x.origin.what)),
                    );
                }
                self.graph.step(x.id, index as usize)
            }
        };
        let base = self.naming.base().to_string();
        match made {
            Ok(id) => {
                let t = self.made(id, span, format!("{kind} in `{base}`"));
                self.row(base, kind.to_string(), &t, 0);
                Some(t)
            }
            Err(e) => self.tensor_error(e, kind, span, &[&x]),
        }
    }
}
