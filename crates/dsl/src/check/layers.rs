//! The built-in layers: dense, batch norm, dropout, flatten, reshape, activations, concat
//! (recurrent and convolutional layers have their own files).

use super::bind::{bind, Bound};
use super::consts::{num_text, Const};
use super::init::initializer;
use super::model::{LayerRow, Lowering, Origin, MAX_PARAM_ELEMENTS, T};
use super::schedule::schedule;
use super::values::Ev;
use crate::ast::{Call, Expr};
use crate::builtins::{Fallback, Sig};
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::seed::derive_seed;
use crate::span::Span;
use knit_init::{FanInUniform, Fans, Initializer};
use knit_tensor::ops::{BatchNorm, Linear, Pointwise};
use knit_train::ScheduleSpec;
use std::rc::Rc;

/// A dense layer's bias.
enum BiasSpec {
    None,
    Init(Box<dyn Initializer>),
    Param(T),
}

impl<'d, 'a> Lowering<'d, 'a> {
    fn bound(
        &mut self,
        sig: &'static Sig,
        call: Option<&'a Call>,
        skip: usize,
        span: Span,
    ) -> Option<Bound<'a>> {
        let file = self.file();
        match call {
            Some(c) => bind(&mut self.sink, file, c, sig, skip),
            None => {
                if let Some(p) = sig.params.iter().find(|p| p.default == Fallback::Required) {
                    return {
                        self.sink.push(
                            Diagnostic::error(
                                Code::Missing,
                                format!("`{}` needs `{}`", sig.name, p.name),
                            )
                            .label(file, span, format!("`{}` is missing", p.name))
                            .help(format!("write `{}({}: ...)`", sig.name, p.name)),
                        );
                        None
                    };
                }
                Some(Bound {
                    sig,
                    span,
                    args: vec![None; sig.params.len()],
                })
            }
        }
    }

    /// Adds the summary row of the layer that made `t`, with the FLOPs of every graph node
    /// added since the previous row (a recurrent stack's layers, a conv's bias).
    pub(crate) fn row(&mut self, node: String, layer: String, t: &T, params: usize) {
        let shape = self.shape(t);
        let flops = self.graph.flops_since(self.built.counted_nodes);
        self.built.counted_nodes = self.graph.len();
        self.built.layers.push(LayerRow {
            node,
            layer,
            shape,
            params,
            flops,
        });
    }

    /// The node `id` a layer made, named after its statement (`h1.relu`) if the graph gave
    /// it a generated name.
    pub(crate) fn made(&mut self, id: knit_tensor::NodeId, span: Span, what: String) -> T {
        let kind = match self.graph.node(id).map(|n| (&n.kind, n.name.contains('#'))) {
            Ok((knit_tensor::NodeKind::Op { op, .. }, true)) => Some(op.kind()),
            _ => None,
        };
        let id = kind.map_or(id, |kind| self.named(id, kind));
        T {
            id,
            origin: Rc::new(Origin {
                file: self.file(),
                span,
                what,
            }),
        }
    }

    /// Applies built-in layer `sig` to `x`.
    pub(crate) fn builtin(
        &mut self,
        sig: &'static Sig,
        call: Option<&'a Call>,
        skip: usize,
        x: T,
        span: Span,
    ) -> Option<T> {
        let b = self.bound(sig, call, skip, span)?;
        let file = self.file();
        let base = self.naming.base().to_string();
        let scope = self.scope();
        let ev = Ev::new(&scope, file);
        let pointwise = |sink: &mut Sink| -> Option<Option<Pointwise>> {
            Some(Some(match sig.name {
                "relu" => Pointwise::Relu,
                "sigmoid" => Pointwise::Sigmoid,
                "tanh" => Pointwise::Tanh,
                "gelu" => Pointwise::Gelu,
                "leaky_relu" => Pointwise::LeakyRelu {
                    slope: ev.num(sink, &b, "slope")?,
                },
                "elu" => Pointwise::Elu {
                    alpha: ev.num(sink, &b, "alpha")?,
                },
                "softplus" => {
                    let beta = ev.num(sink, &b, "beta");
                    let threshold = ev.num(sink, &b, "threshold");
                    let beta = beta?;
                    if beta <= 0.0 {
                        sink.push(
                            Diagnostic::error(
                                Code::BadValue,
                                format!("softplus: beta must be > 0, got {}", num_text(beta)),
                            )
                            .label(file, b.span("beta"), "must be > 0"),
                        );
                        return None;
                    }
                    Pointwise::Softplus {
                        beta,
                        threshold: threshold?,
                    }
                }
                _ => return Some(None),
            }))
        };
        if let Some(f) = pointwise(&mut self.sink)? {
            return match self.graph.pointwise(f, x.id) {
                Ok(id) => {
                    let t = self.made(id, span, format!("{} in `{base}`", sig.name));
                    self.row(base, sig.name.to_string(), &t, 0);
                    Some(t)
                }
                Err(e) => self.tensor_error(e, sig.name, span, &[&x]),
            };
        }
        match sig.name {
            "dense" => self.dense(&b, x, span),
            "rnn" | "lstm" | "gru" => self.recurrent(&b, x, span),
            "conv2d" => self.conv2d(&b, x, span),
            "max_pool" | "avg_pool" | "global_avg_pool" => self.pool(&b, x, span),
            "last_step" | "step_at" | "mean_steps" => self.readout(&b, x, span),
            "batchnorm" => {
                let momentum = ev.num(&mut self.sink, &b, "momentum");
                let eps = ev.num(&mut self.sink, &b, "eps");
                let config = match BatchNorm::new(momentum?, eps?) {
                    Ok(c) => c,
                    Err(e) => {
                        let key = if e.to_string().contains("momentum") {
                            "momentum"
                        } else {
                            "eps"
                        };
                        return self.err(Diagnostic::error(Code::BadValue, e.to_string()).label(
                            file,
                            b.span(key),
                            "out of range",
                        ));
                    }
                };
                let name = self.naming.take("batchnorm", true);
                match self.graph.batch_norm(&name, x.id, config) {
                    Ok(id) => {
                        let t = self.made(id, span, format!("batchnorm `{name}`"));
                        // The channels: the features of [B, C], the first axis of [B, C, H, W].
                        let c = self.shape(&t).dims.first().copied().unwrap_or(0);
                        self.total_elements += 2 * c;
                        self.row(name, "batchnorm".into(), &t, 2 * c);
                        Some(t)
                    }
                    Err(e) => self.tensor_error(e, &format!("batchnorm `{name}`"), span, &[&x]),
                }
            }
            "dropout" => {
                let spec = schedule(&ev, &mut self.sink, b.expr("p")?)?;
                let initial = initial_value(&spec);
                let name = self.naming.take("dropout", false);
                if let Some((t, v)) = out_of_unit(&spec) {
                    return self.err(
                        Diagnostic::error(Code::BadValue, format!("dropout ratio must be in [0, 1), but it is {} at t = {t}", num_text(v)))
                            .label(file, b.span("p"), "ratio out of [0, 1)")
                            .help("a dropout ratio is the probability of zeroing a unit: 0 keeps all, 1 would drop all"),
                    );
                }
                let seed = derive_seed(self.seed, &name);
                match knit_regularize::dropout(&mut self.graph, &name, x.id, initial, seed) {
                    Ok(id) => {
                        if !matches!(spec, ScheduleSpec::Constant(_)) {
                            self.built.value_schedules.push((format!("{name}.p"), spec));
                        }
                        let t = self.made(id, span, format!("dropout `{name}`"));
                        self.row(name, format!("dropout {}", num_text(initial)), &t, 0);
                        Some(t)
                    }
                    Err(e) => self.tensor_error(e, "dropout", span, &[&x]),
                }
            }
            "flatten" => match self.graph.flatten(x.id) {
                Ok(id) => {
                    let t = self.made(id, span, format!("flatten in `{base}`"));
                    self.row(base, "flatten".into(), &t, 0);
                    Some(t)
                }
                Err(e) => self.tensor_error(e, "flatten", span, &[&x]),
            },
            "reshape" => {
                let dims = ev.int_list(&mut self.sink, b.expr("shape")?, 1, MAX_PARAM_ELEMENTS)?;
                match self.graph.reshape(x.id, &dims) {
                    Ok(id) => {
                        let t = self.made(id, span, format!("reshape in `{base}`"));
                        self.row(base, "reshape".into(), &t, 0);
                        Some(t)
                    }
                    Err(e) => self.tensor_error(e, "reshape", span, &[&x]),
                }
            }
            "softmax" | "log_softmax" => {
                let r = if sig.name == "softmax" {
                    self.graph.softmax(x.id)
                } else {
                    self.graph.log_softmax(x.id)
                };
                match r {
                    Ok(id) => {
                        let t = self.made(id, span, format!("{} in `{base}`", sig.name));
                        self.row(base, sig.name.into(), &t, 0);
                        Some(t)
                    }
                    Err(e) => self.tensor_error(e, sig.name, span, &[&x]),
                }
            }
            other => self.err(
                Diagnostic::error(Code::UnknownName, format!("unknown layer `{other}`"))
                    .label(file, span, "here"),
            ),
        }
    }

    fn dense(&mut self, b: &Bound<'a>, x: T, span: Span) -> Option<T> {
        let file = self.file();
        let scope = self.scope();
        let ev = Ev::new(&scope, file);
        let in_shape = self.shape(&x);
        if !(in_shape.batched && in_shape.dims.len() == 1) {
            return self.err(
                Diagnostic::error(
                    Code::ShapeMismatch,
                    format!(
                        "dense needs [B, features] inputs, but {} gives {in_shape}",
                        x.origin.what
                    ),
                )
                .label(file, span, "needs one feature dimension")
                .label(
                    x.origin.file,
                    x.origin.span,
                    format!("{} gives {in_shape}", x.origin.what),
                )
                .help("flatten the input first: `|> flatten |> dense(...)`"),
            );
        }
        let fan_in = in_shape.dims[0];
        let shared = match b.expr("weight") {
            Some(e) => Some(self.param_arg(e)?),
            None => None,
        };
        let units = match (b.expr("units"), &shared) {
            (Some(e), _) => ev.integer(&mut self.sink, e, 1, MAX_PARAM_ELEMENTS)?,
            (None, Some(w)) => self.shape(w).dims.first().copied().unwrap_or(0),
            (None, None) => return self.err(
                Diagnostic::error(Code::Missing, "`dense` needs `units`")
                    .label(file, b.span, "how many outputs?")
                    .help("write `dense(64)`, or `dense(weight: p)` with a declared parameter `p`"),
            ),
        };
        if let (Some(w), Some(init)) = (&shared, b.expr("init")) {
            let _ = w;
            return self.err(
                Diagnostic::error(Code::Conflict, "`init` does not apply to a shared weight")
                    .label(
                        file,
                        init.span(),
                        "the weight is initialized where it is declared",
                    )
                    .label(file, b.span("weight"), "shared weight"),
            );
        }
        let bias = match b.expr("bias") {
            None => Some(BiasSpec::Init(Box::new(FanInUniform))),
            Some(e) => self.bias_arg(&ev, e),
        };
        let init = match (&shared, b.expr("init")) {
            (None, Some(e)) => initializer(&ev, &mut self.sink, e),
            _ => Some(Box::new(FanInUniform) as Box<dyn Initializer>),
        };
        let (bias, init) = (bias?, init?);
        let name = self.naming.take("dense", true);
        let mut created = 0;
        let mut shared_label = String::new();
        let weight = match shared {
            Some(w) => {
                let ws = self.shape(&w);
                if ws.dims != [units, fan_in] {
                    return self.err(
                        Diagnostic::error(
                            Code::ShapeMismatch,
                            format!("dense `{name}` needs a [{units}, {fan_in}] weight, but the shared weight is {ws}"),
                        )
                        .label(file, b.span("weight"), format!("needs [{units}, {fan_in}]"))
                        .label(w.origin.file, w.origin.span, format!("{} is {ws}", w.origin.what))
                        .label(x.origin.file, x.origin.span, format!("{} gives {in_shape}", x.origin.what)),
                    );
                }
                let pname = self
                    .graph
                    .node(w.id)
                    .map(|n| n.name.clone())
                    .unwrap_or_default();
                shared_label = format!(", weight `{pname}`");
                self.uses.push((pname.clone(), name.clone()));
                if !self.built.prunable_weights.contains(&pname) {
                    self.built.prunable_weights.push(pname);
                }
                w.id
            }
            None => {
                let wname = format!("{name}.weight");
                let value =
                    self.initialize(&*init, &[units, fan_in], &wname, file, b.span("init"))?;
                self.built.inits.push(knit_train::ParamInit {
                    name: wname.clone(),
                    init: init.into(),
                    dims: vec![units, fan_in],
                    fans: None,
                });
                created += units * fan_in;
                self.built.prunable_weights.push(wname.clone());
                match self.graph.param(&wname, value) {
                    Ok(id) => id,
                    Err(e) => return self.tensor_error(e, &format!("dense `{name}`"), span, &[&x]),
                }
            }
        };
        let mut inputs = vec![x.id, weight];
        match bias {
            BiasSpec::None => {}
            BiasSpec::Param(p) => {
                let pname = self
                    .graph
                    .node(p.id)
                    .map(|n| n.name.clone())
                    .unwrap_or_default();
                self.uses.push((pname, name.clone()));
                inputs.push(p.id);
            }
            BiasSpec::Init(bi) => {
                let bname = format!("{name}.bias");
                let fans = Fans::new(fan_in, units);
                let elements = units;
                if self.total_elements.saturating_add(elements) > super::model::MAX_TOTAL_ELEMENTS {
                    return None;
                }
                self.total_elements += elements;
                let value = match knit_init::initialize_with_fans(
                    &*bi,
                    &[units],
                    fans,
                    self.seed,
                    &bname,
                ) {
                    Ok(v) => v,
                    Err(e) => {
                        return self.err(
                            Diagnostic::error(
                                Code::BadValue,
                                format!("cannot initialize `{bname}`: {e}"),
                            )
                            .label(file, b.span("bias"), "here"),
                        )
                    }
                };
                created += units;
                self.built.inits.push(knit_train::ParamInit {
                    name: bname.clone(),
                    init: bi.into(),
                    dims: vec![units],
                    fans: Some(fans),
                });
                match self.graph.param(&bname, value) {
                    Ok(id) => inputs.push(id),
                    Err(e) => return self.tensor_error(e, &format!("dense `{name}`"), span, &[&x]),
                }
            }
        }
        match self.graph.op(Some(&name), Linear::default(), &inputs) {
            Ok(id) => {
                let t = self.made(id, span, format!("dense `{name}`"));
                self.row(
                    name,
                    format!("dense {fan_in}→{units}{shared_label}"),
                    &t,
                    created,
                );
                Some(t)
            }
            Err(e) => self.tensor_error(e, &format!("dense `{name}`"), span, &[&x]),
        }
    }

    /// A `weight:` or `bias:` argument naming a declared parameter.
    fn param_arg(&mut self, e: &Expr) -> Option<T> {
        let file = self.file();
        if let Expr::Name(id) = e.unparen() {
            if let Some(t) = self.param_ref(id) {
                return Some(t);
            }
            if self.sink.has_errors() {
                return None;
            }
            let mut names: Vec<&str> = self.defs.params.keys().map(String::as_str).collect();
            names.sort();
            return self.err(
                Diagnostic::error(
                    Code::UnknownName,
                    format!("unknown parameter `{}`", id.name),
                )
                .label(file, id.span, "not a declared parameter")
                .help(crate::suggest::help_for(
                    &id.name,
                    names.iter().copied(),
                    "declared parameters",
                )),
            );
        }
        self.err(
            Diagnostic::error(
                Code::Type,
                "expected the name of a parameter declared with `param`",
            )
            .label(file, e.span(), "not a parameter name"),
        )
    }

    fn bias_arg(&mut self, ev: &Ev<'_>, e: &Expr) -> Option<BiasSpec> {
        if let Expr::Name(id) = e.unparen() {
            if self.defs.params.contains_key(&id.name) || self.frames_have_param(&id.name) {
                return self.param_arg(e).map(BiasSpec::Param);
            }
        }
        if !matches!(e.unparen(), Expr::Call(_)) {
            if let Some(Const::Bool(v)) = ev.value(&mut Sink::default(), e) {
                return Some(if v {
                    BiasSpec::Init(Box::new(FanInUniform))
                } else {
                    BiasSpec::None
                });
            }
        }
        initializer(ev, &mut self.sink, e).map(BiasSpec::Init)
    }

    /// `concat(a, b, ...)` or `a |> concat(b, ...)`: joins along the last dimension.
    pub(crate) fn concat(
        &mut self,
        first: T,
        call: Option<&'a Call>,
        skip: usize,
        span: Span,
    ) -> Option<T> {
        let file = self.file();
        let mut parts = vec![first];
        let mut ok = true;
        for arg in call
            .map(|c| &c.args[skip.min(c.args.len())..])
            .unwrap_or_default()
        {
            if let Some(k) = &arg.key {
                self.sink.push(
                    Diagnostic::error(
                        Code::UnknownKey,
                        format!("`concat` has no argument `{}`", k.name),
                    )
                    .label(file, k.span, "unknown key")
                    .help("concat takes only the nodes to join, along their last dimension"),
                );
                ok = false;
                continue;
            }
            match self.tensor(&arg.value) {
                Some(t) => parts.push(t),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let rank = self.shape(&parts[0]).rank();
        let ids: Vec<_> = parts.iter().map(|t| t.id).collect();
        let base = self.naming.base().to_string();
        match self.graph.concat(&ids, rank.saturating_sub(1)) {
            Ok(id) => {
                let t = self.made(id, span, format!("concat in `{base}`"));
                self.row(base, "concat".into(), &t, 0);
                Some(t)
            }
            Err(e) => {
                let refs: Vec<&T> = parts.iter().collect();
                self.tensor_error(e, "concat", span, &refs)
            }
        }
    }
}

/// The value of a schedule at its start.
pub(crate) fn initial_value(spec: &ScheduleSpec) -> f64 {
    spec.build().map(|s| s.value(0)).unwrap_or(f64::NAN)
}

/// The first time (within 10,000 steps) a schedule leaves [0, 1), and its value then.
fn out_of_unit(spec: &ScheduleSpec) -> Option<(usize, f64)> {
    let s = spec.build().ok()?;
    (0..10_000)
        .map(|t| (t, s.value(t)))
        .find(|(_, v)| !(0.0..1.0).contains(v))
}
