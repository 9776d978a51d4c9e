//! The convolutional layers on images `[C, H, W]` (PyTorch's NCHW): `conv2d` (knit-tensor's
//! `Conv2d`, with PyTorch's parameter names and default initialization), `max_pool`,
//! `avg_pool` and `global_avg_pool`.

use super::bind::Bound;
use super::consts::{whole, Const};
use super::init::initializer;
use super::model::{Lowering, MAX_PARAM_ELEMENTS, T};
use super::values::Ev;
use crate::ast::Expr;
use crate::builtins::Fallback;
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::span::Span;
use knit_init::{FanInUniform, Fans, Initializer};
use knit_tensor::ops::{AvgPool2d, Conv2d, MaxPool2d};
use knit_tensor::{Shape, TensorError};
use ndarray::ArrayD;

/// The largest kernel side, stride, dilation or padding a layer may ask for.
const MAX_SIDE: usize = 1 << 12;

/// A `padding:` value: zeros on each side, or `same`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Padding {
    /// `[vertical, horizontal]` zeros on each side.
    Sides([usize; 2]),
    /// The padding that keeps `H×W` (stride 1 only).
    Same,
}

/// `a×b`, or `a` when both are equal, as in the tensor ops' messages.
fn side_text(v: [usize; 2]) -> String {
    if v[0] == v[1] {
        v[0].to_string()
    } else {
        format!("{}×{}", v[0], v[1])
    }
}

/// The value of argument `name`: a whole number ≥ `min` (both sides), a list `[h, w]`, or,
/// when `same` is allowed, the name `same`.
fn sides(
    ev: &Ev<'_>,
    sink: &mut Sink,
    e: &Expr,
    name: &str,
    min: usize,
    same: bool,
) -> Option<Padding> {
    let expected = if same {
        "a whole number, [height, width] or `same`"
    } else {
        "a whole number or [height, width]"
    };
    let type_error = |sink: &mut Sink, found: String| {
        sink.push(
            Diagnostic::error(
                Code::Type,
                format!("`{name}` must be {expected}, found {found}"),
            )
            .label(ev.file, e.span(), format!("expected {expected}")),
        );
        None
    };
    let pair = |sink: &mut Sink, items: Vec<f64>| -> Option<Padding> {
        let [h, w] = items.as_slice() else {
            return type_error(sink, format!("a list of {} numbers", items.len()));
        };
        let h = whole(sink, ev.file, e.span(), *h, min, MAX_SIDE);
        let w = whole(sink, ev.file, e.span(), *w, min, MAX_SIDE);
        Some(Padding::Sides([h?, w?]))
    };
    match ev.value(sink, e)? {
        Const::Num(n) => {
            let n = whole(sink, ev.file, e.span(), n, min, MAX_SIDE)?;
            Some(Padding::Sides([n, n]))
        }
        Const::Word(w) if same && w == "same" => Some(Padding::Same),
        Const::List(items) => {
            let mut numbers = Vec::new();
            for item in items {
                match item {
                    Const::Num(n) => numbers.push(n),
                    other => {
                        return type_error(sink, format!("a list holding {}", other.describe()))
                    }
                }
            }
            pair(sink, numbers)
        }
        other => type_error(sink, other.describe()),
    }
}

/// Argument `name` of `b` as `[vertical, horizontal]` (its default if not given).
fn pair_arg(
    ev: &Ev<'_>,
    sink: &mut Sink,
    b: &Bound<'_>,
    name: &str,
    min: usize,
) -> Option<[usize; 2]> {
    match (b.expr(name), b.default(name)) {
        (Some(e), _) => match sides(ev, sink, e, name, min, false)? {
            Padding::Sides(v) => Some(v),
            Padding::Same => None,
        },
        (None, Fallback::Num(v)) => Some([v as usize; 2]),
        _ => None,
    }
}

/// Why an input is not an image, and how to make it one.
fn image_help(kind: &str, dims: &[usize]) -> String {
    let reads = format!("{kind} reads images [channels, height, width]");
    match dims {
        [n] => {
            let s = (*n as f64).sqrt().round() as usize;
            if s * s == *n {
                format!("{reads}; to read {n} values as one {s}×{s} channel, reshape them first (`|> reshape([1, {s}, {s}])`) or declare the input as `[1, {s}, {s}]`")
            } else {
                format!("{reads}; reshape the {n} values first, e.g. `|> reshape([C, H, W])` with C·H·W = {n}")
            }
        }
        [h, w] => format!("{reads}; to read [{h}, {w}] as one channel, reshape it first: `|> reshape([1, {h}, {w}])`"),
        _ => reads,
    }
}

impl<'d, 'a> Lowering<'d, 'a> {
    /// The `[C, H, W]` dims of `x`, or an error that `kind` needs an image.
    fn image(&mut self, kind: &str, x: &T, span: Span) -> Option<[usize; 3]> {
        let shape = self.shape(x);
        if let (true, &[c, h, w]) = (shape.batched, shape.dims.as_slice()) {
            return Some([c, h, w]);
        }
        let file = self.file();
        self.err(
            Diagnostic::error(
                Code::ShapeMismatch,
                format!(
                    "{kind} needs images [B, C, H, W], but {} gives {shape}",
                    x.origin.what
                ),
            )
            .label(file, span, "needs an image")
            .label(
                x.origin.file,
                x.origin.span,
                format!("{} gives {shape}", x.origin.what),
            )
            .help(image_help(kind, &shape.dims)),
        );
        None
    }

    /// `padding: same` as zeros on each side: stride 1 and an even total
    /// `dilation·(k − 1)` per axis (PyTorch pads an odd total unevenly; knit pads symmetrically).
    fn same_padding(
        &mut self,
        b: &Bound<'a>,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
    ) -> Option<[usize; 2]> {
        let file = self.file();
        if stride != [1, 1] {
            self.sink.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!(
                        "conv2d: `padding: same` needs stride 1, got stride {}",
                        side_text(stride)
                    ),
                )
                .label(file, b.span("padding"), "keeps H×W only at stride 1")
                .label(file, b.span("stride"), "strided")
                .help("PyTorch has the same rule; give the padding as a number instead"),
            );
            return None;
        }
        let total = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
        if total.iter().any(|t| t % 2 == 1) {
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!(
                        "conv2d: `padding: same` with a {}×{} kernel needs {} rows and {} columns of zeros, which cannot be split evenly between the two sides",
                        kernel[0], kernel[1], total[0], total[1]
                    ),
                )
                .label(file, b.span("padding"), "knit pads both sides alike")
                .label(file, b.span("kernel"), "an even kernel side")
                .help("use an odd kernel (3, 5, ...), or give the padding as a number"),
            );
            return None;
        }
        Some([total[0] / 2, total[1] / 2])
    }

    /// `conv2d(out, kernel, ...)` applied to `x` `[B, C, H, W]`.
    pub(crate) fn conv2d(&mut self, b: &Bound<'a>, x: T, span: Span) -> Option<T> {
        let file = self.file();
        let scope = self.scope();
        let ev = Ev::new(&scope, file);
        let image = self.image("conv2d", &x, span);
        let out = ev.int(&mut self.sink, b, "out", 1, MAX_PARAM_ELEMENTS);
        let kernel = pair_arg(&ev, &mut self.sink, b, "kernel", 1);
        let stride = pair_arg(&ev, &mut self.sink, b, "stride", 1);
        let dilation = pair_arg(&ev, &mut self.sink, b, "dilation", 1);
        let padding = match b.expr("padding") {
            Some(e) => sides(&ev, &mut self.sink, e, "padding", 0, true),
            None => Some(Padding::Sides([0, 0])),
        };
        let groups = ev.int(&mut self.sink, b, "groups", 1, MAX_PARAM_ELEMENTS);
        let bias = ev.boolean(&mut self.sink, b, "bias");
        let init = b.expr("init").map(|e| initializer(&ev, &mut self.sink, e));
        let bias_init = b
            .expr("bias_init")
            .map(|e| initializer(&ev, &mut self.sink, e));
        let ([c, _, _], out, kernel, stride, dilation) =
            (image?, out?, kernel?, stride?, dilation?);
        let (padding, groups, bias) = (padding?, groups?, bias?);
        let default = || Some(Box::new(FanInUniform) as Box<dyn Initializer>);
        let (init, bias_init) = (
            init.unwrap_or_else(default)?,
            bias_init.unwrap_or_else(default)?,
        );
        if let (Some(e), false) = (b.expr("bias_init"), bias) {
            return self.err(
                Diagnostic::error(Code::Conflict, "`bias_init` needs the layer's bias")
                    .label(file, e.span(), "initializes the bias")
                    .label(file, b.span("bias"), "the bias is off"),
            );
        }
        let padding = match padding {
            Padding::Sides(p) => p,
            Padding::Same => self.same_padding(b, kernel, stride, dilation)?,
        };
        if c % groups != 0 || out % groups != 0 {
            let shape = self.shape(&x);
            return self.err(
                Diagnostic::error(
                    Code::ShapeMismatch,
                    format!("conv2d: groups {groups} must divide both the {c} input channels and the {out} output channels"),
                )
                .label(file, b.span("groups"), format!("{groups} groups"))
                .label(x.origin.file, x.origin.span, format!("{} gives {shape}", x.origin.what)),
            );
        }
        let config = match Conv2d::new(stride, padding, dilation, groups) {
            Ok(c) => c,
            Err(e) => return self.tensor_error(e, "conv2d", span, &[&x]),
        };
        let name = self.naming.take("conv2d", true);
        let what = format!("conv2d `{name}`");
        let dims = [out, c / groups, kernel[0], kernel[1]];
        // Fail on the spatial arithmetic before drawing any weight.
        let probe = Shape::fixed(dims.to_vec());
        let made = knit_tensor::Op::output_shape(&config, &[&self.shape(&x), &probe]);
        if let Err(reason) = &made {
            let e = TensorError::Shape {
                op: "conv2d".into(),
                node: name.clone(),
                inputs: Vec::new(),
                reason: reason.clone(),
            };
            self.tensor_error(e, &what, span, &[&x]);
            if let Some(d) = self.sink.items.last_mut() {
                d.help = Some("pad the input (`padding: 1`, `padding: same`), use a smaller kernel or stride, or pool less before this layer".into());
            }
            return None;
        }
        let elements = made
            .ok()
            .and_then(|s| s.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)));
        if elements.is_none_or(|n| n > MAX_PARAM_ELEMENTS) {
            return self.err(
                Diagnostic::error(
                    Code::TooComplex,
                    format!("{what} makes more than {MAX_PARAM_ELEMENTS} values per example"),
                )
                .label(file, span, "too large an output")
                .help("use fewer output channels, less padding or a larger stride"),
            );
        }
        let (weight, bias_value, created) =
            self.conv_params(b, &name, dims, init, bias.then_some(bias_init))?;
        match self.graph.conv2d(&name, x.id, weight, bias_value, config) {
            Ok(id) => {
                let t = self.made(id, span, what);
                let label = conv_label(c, out, kernel, &config);
                self.row(name, label, &t, created);
                Some(t)
            }
            Err(e) => self.tensor_error(e, &what, span, &[&x]),
        }
    }

    /// Draws the weight `[out, C/groups, kh, kw]` and, when `bias_init` is given, the bias
    /// `[out]` of conv2d `name` (PyTorch's bias: U(±1/√fan_in) with the weight's
    /// fan_in = C/groups·kh·kw); returns them and the number of elements made.
    fn conv_params(
        &mut self,
        b: &Bound<'a>,
        name: &str,
        dims: [usize; 4],
        init: Box<dyn Initializer>,
        bias_init: Option<Box<dyn Initializer>>,
    ) -> Option<(ArrayD<f32>, Option<ArrayD<f32>>, usize)> {
        let file = self.file();
        let wname = format!("{name}.weight");
        let weight = self.initialize(&*init, &dims, &wname, file, b.span("init"))?;
        self.built.inits.push(knit_train::ParamInit {
            name: wname.clone(),
            init: init.into(),
            dims: dims.to_vec(),
            fans: None,
        });
        // The kernel is pruned by default, as dense and recurrent weights are; its bias is not.
        self.built.prunable_weights.push(wname);
        let mut created = dims.iter().product::<usize>();
        let Some(bias_init) = bias_init else {
            return Some((weight, None, created));
        };
        let [out, cg, kh, kw] = dims;
        let fans = Fans::new(cg * kh * kw, out * kh * kw);
        let bname = format!("{name}.bias");
        let span = b.span("bias_init");
        let value =
            self.initialize_with_fans(&*bias_init, &[out], Some(fans), &bname, file, span)?;
        self.built.inits.push(knit_train::ParamInit {
            name: bname,
            init: bias_init.into(),
            dims: vec![out],
            fans: Some(fans),
        });
        created += out;
        Some((weight, Some(value), created))
    }

    /// `max_pool(kernel, ...)`, `avg_pool(kernel, ...)` or `global_avg_pool` applied to `x`.
    pub(crate) fn pool(&mut self, b: &Bound<'a>, x: T, span: Span) -> Option<T> {
        let file = self.file();
        let scope = self.scope();
        let ev = Ev::new(&scope, file);
        let kind = b.sig.name;
        self.image(kind, &x, span)?;
        let base = self.naming.base().to_string();
        let (made, label) = if kind == "global_avg_pool" {
            (self.graph.global_avg_pool(x.id), kind.to_string())
        } else {
            let kernel = pair_arg(&ev, &mut self.sink, b, "kernel", 1);
            let stride = match b.expr("stride") {
                Some(_) => pair_arg(&ev, &mut self.sink, b, "stride", 1),
                None => kernel,
            };
            let padding = pair_arg(&ev, &mut self.sink, b, "padding", 0);
            let (kernel, stride, padding) = (kernel?, stride?, padding?);
            let valid = if kind == "max_pool" {
                MaxPool2d::new(kernel, stride, padding).map(|_| ())
            } else {
                AvgPool2d::new(kernel, stride, padding).map(|_| ())
            };
            match valid {
                Ok(()) => {}
                Err(TensorError::InvalidHyperparameter { message, .. }) => {
                    return self.err(
                        Diagnostic::error(Code::BadValue, format!("{kind}: {message}"))
                            .label(file, b.span("padding"), "too much padding")
                            .help("PyTorch's rule: a window's padding is at most half its side"),
                    )
                }
                Err(e) => return self.tensor_error(e, kind, span, &[&x]),
            }
            let made = if kind == "max_pool" {
                let config = MaxPool2d {
                    kernel,
                    stride,
                    padding,
                };
                self.graph.max_pool(x.id, config)
            } else {
                let config = AvgPool2d {
                    kernel,
                    stride,
                    padding,
                };
                self.graph.avg_pool(x.id, config)
            };
            (made, pool_label(kind, kernel, stride, padding))
        };
        match made {
            Ok(id) => {
                let t = self.made(id, span, format!("{kind} in `{base}`"));
                self.row(base, label, &t, 0);
                Some(t)
            }
            Err(e) => self.tensor_error(e, kind, span, &[&x]),
        }
    }
}

/// The summary's name for a convolution: `conv2d 1→32 3×3`, then any setting that is not
/// PyTorch's default.
fn conv_label(c: usize, out: usize, kernel: [usize; 2], config: &Conv2d) -> String {
    let mut label = format!("conv2d {c}→{out} {}×{}", kernel[0], kernel[1]);
    if config.stride != [1, 1] {
        label += &format!(", stride {}", side_text(config.stride));
    }
    if config.padding != [0, 0] {
        label += &format!(", padding {}", side_text(config.padding));
    }
    if config.dilation != [1, 1] {
        label += &format!(", dilation {}", side_text(config.dilation));
    }
    if config.groups != 1 {
        label += &format!(", groups {}", config.groups);
    }
    label
}

/// The summary's name for a pooling window: `max_pool 2×2`, then a stride other than the
/// kernel and any padding.
fn pool_label(kind: &str, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> String {
    let mut label = format!("{kind} {}×{}", kernel[0], kernel[1]);
    if stride != kernel {
        label += &format!(", stride {}", side_text(stride));
    }
    if padding != [0, 0] {
        label += &format!(", padding {}", side_text(padding));
    }
    label
}
