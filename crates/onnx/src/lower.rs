//! One model's part of the graph: each knit op between the model's input and its output
//! written as ONNX operators (opset 17), with the parameters' current values as
//! initializers.
//!
//! Batched knit values carry the batch as ONNX's leading dimension `N`; the per-example
//! dimensions follow, so a knit shape `[B, C, H, W]` is the ONNX shape `[N, C, H, W]`.

use crate::builder::{Attr, GraphBuilder};
use crate::recurrent;
use crate::ExportError;
use knit_regularize::Dropout;
use knit_tensor::ops::{
    AvgPool2d, BatchNorm, Binary, BinaryKind, Concat, Conv2d, GlobalAvgPool, Linear, MaxPool2d,
    Pointwise, Recurrent, Reduce, ReduceKind, Reshape, SelectStep, Softmax, WeightLayout,
};
use knit_tensor::{Executor, Graph, NodeId, NodeKind, Op, Shape};
use std::any::Any;
use std::collections::HashMap;

/// Writes the nodes computing `output` from `input` (whose ONNX value is `input_value`)
/// into `b`, naming initializers `<prefix><parameter name>`; returns the output's value.
pub(crate) fn lower_model(
    b: &mut GraphBuilder,
    exec: &Executor<f32>,
    input: NodeId,
    output: NodeId,
    input_value: &str,
    prefix: &str,
) -> Result<String, ExportError> {
    let graph = exec.graph();
    let needed = ancestors(graph, output);
    let mut lowering = Lowering {
        b,
        exec,
        prefix,
        values: HashMap::from([(input, input_value.to_string())]),
    };
    for (i, node) in graph.nodes().iter().enumerate() {
        let id = graph.id(&node.name).map_err(ExportError::Graph)?;
        if !needed[i] || id == input {
            continue;
        }
        if let NodeKind::Op { op, inputs, .. } = &node.kind {
            let value = lowering.op(&node.name, op.as_ref(), inputs, &node.shape)?;
            lowering.values.insert(id, value);
        }
    }
    lowering.value(output, &graph.nodes()[output.index()].name)
}

/// Which nodes `output` depends on.
fn ancestors(graph: &Graph, output: NodeId) -> Vec<bool> {
    let mut needed = vec![false; graph.len()];
    let mut stack = vec![output];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut needed[id.index()], true) {
            continue;
        }
        if let NodeKind::Op { inputs, .. } = &graph.nodes()[id.index()].kind {
            stack.extend(inputs);
        }
    }
    needed
}

struct Lowering<'a> {
    b: &'a mut GraphBuilder,
    exec: &'a Executor<f32>,
    prefix: &'a str,
    /// The ONNX value of each node written so far.
    values: HashMap<NodeId, String>,
}

impl Lowering<'_> {
    fn shape(&self, id: NodeId) -> &Shape {
        &self.exec.graph().nodes()[id.index()].shape
    }

    /// The ONNX value of node `id`: a parameter or constant becomes an initializer on first
    /// use; an op has been written already (nodes come in topological order).
    fn value(&mut self, id: NodeId, reader: &str) -> Result<String, ExportError> {
        if let Some(v) = self.values.get(&id) {
            return Ok(v.clone());
        }
        let node = &self.exec.graph().nodes()[id.index()];
        let value = match node.kind {
            NodeKind::Param { .. } | NodeKind::Constant { .. } => {
                let array = self.exec.value(id).map_err(ExportError::Graph)?;
                let name = format!("{}{}", self.prefix, node.name);
                self.b.floats(&name, array.shape(), array.iter().copied())
            }
            NodeKind::Input => {
                return Err(ExportError::Unsupported {
                    layer: reader.to_string(),
                    what: format!(
                        "it reads `{}`, an input other than the model's features",
                        node.name
                    ),
                })
            }
            NodeKind::Op { .. } => unreachable!("ops are written in topological order"),
        };
        self.values.insert(id, value.clone());
        Ok(value)
    }

    /// The values of `ids`, the inputs of layer `reader`.
    fn values_of(&mut self, ids: &[NodeId], reader: &str) -> Result<Vec<String>, ExportError> {
        ids.iter().map(|&id| self.value(id, reader)).collect()
    }

    /// Writes node `name` (op `op` over `inputs`, of shape `shape`); returns its value.
    fn op(
        &mut self,
        name: &str,
        op: &dyn Op,
        inputs: &[NodeId],
        shape: &Shape,
    ) -> Result<String, ExportError> {
        let any: &dyn Any = op;
        let base = format!("{}{}", self.prefix, name);
        // Two layers read only their first input: the others (dropout's rate, the recurrent
        // weights, rewritten in ONNX's layout) must not become unused initializers.
        if any.downcast_ref::<Dropout>().is_some() {
            // Evaluation mode: the identity.
            let x = self.value(inputs[0], name)?;
            return Ok(self.b.node("Identity", &base, &[&x], &[]));
        }
        if let Some(r) = any.downcast_ref::<Recurrent>() {
            let weights = inputs[1..]
                .iter()
                .map(|&id| self.exec.value(id).map(|v| v.to_owned()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ExportError::Graph)?;
            let x = self.value(inputs[0], name)?;
            return Ok(recurrent::lower(self.b, &base, r.cell, &x, &weights));
        }
        let ins = self.values_of(inputs, name)?;
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        let b = &mut *self.b;
        if let Some(l) = any.downcast_ref::<Linear>() {
            return self.linear(&base, *l, inputs, &ins);
        }
        if let Some(p) = any.downcast_ref::<Pointwise>() {
            return Ok(pointwise(b, &base, *p, ins[0]));
        }
        if let Some(s) = any.downcast_ref::<Softmax>() {
            let op = if s.log { "LogSoftmax" } else { "Softmax" };
            return Ok(b.node(op, &base, &ins, &[("axis", Attr::Int(-1))]));
        }
        if let Some(bin) = any.downcast_ref::<Binary>() {
            return self.binary(&base, bin.0, inputs, &ins);
        }
        if let Some(r) = any.downcast_ref::<Reshape>() {
            let mut dims: Vec<i64> = r.dims.iter().map(|&d| d as i64).collect();
            if shape.batched {
                dims.insert(0, 0);
            }
            let dims = b.int64s(&format!("{base}.shape"), &dims);
            return Ok(b.node("Reshape", &base, &[ins[0], &dims], &[]));
        }
        if let Some(c) = any.downcast_ref::<Concat>() {
            return Ok(b.node("Concat", &base, &ins, &[("axis", Attr::Int(c.axis as i64))]));
        }
        if let Some(r) = any.downcast_ref::<Reduce>() {
            return reduce(b, &base, *r, ins[0]);
        }
        if let Some(s) = any.downcast_ref::<SelectStep>() {
            let index = b.int64_scalar(&format!("{base}.index"), s.index as i64);
            return Ok(b.node(
                "Gather",
                &base,
                &[ins[0], &index],
                &[("axis", Attr::Int(1))],
            ));
        }
        if let Some(bn) = any.downcast_ref::<BatchNorm>() {
            return self.batch_norm(&base, name, *bn, &ins);
        }
        if let Some(c) = any.downcast_ref::<Conv2d>() {
            let attrs = [
                ("strides", ints(&c.stride)),
                ("pads", pads(c.padding)),
                ("dilations", ints(&c.dilation)),
                ("group", Attr::Int(c.groups as i64)),
            ];
            return Ok(b.node("Conv", &base, &ins, &attrs));
        }
        if let Some(p) = any.downcast_ref::<MaxPool2d>() {
            let attrs = pool_attrs(p.kernel, p.stride, p.padding);
            return Ok(b.node("MaxPool", &base, &ins, &attrs));
        }
        if let Some(p) = any.downcast_ref::<AvgPool2d>() {
            let mut attrs = pool_attrs(p.kernel, p.stride, p.padding).to_vec();
            attrs.push(("count_include_pad", Attr::Int(1)));
            return Ok(b.node("AveragePool", &base, &ins, &attrs));
        }
        if any.downcast_ref::<GlobalAvgPool>().is_some() {
            let pooled = b.node("GlobalAveragePool", &format!("{base}.pooled"), &ins, &[]);
            return Ok(b.node("Flatten", &base, &[&pooled], &[("axis", Attr::Int(1))]));
        }
        Err(ExportError::Unsupported {
            layer: name.to_string(),
            what: format!("the op `{}`", op.kind()),
        })
    }

    /// `x · Wᵀ + b` (PyTorch layout) or `x · B + b`: `Gemm` for `[N, in]`, `MatMul` and
    /// `Add` for sequences `[N, T, in]`.
    fn linear(
        &mut self,
        base: &str,
        linear: Linear,
        inputs: &[NodeId],
        ins: &[&str],
    ) -> Result<String, ExportError> {
        let trans_b = i64::from(linear.layout == WeightLayout::OutIn);
        let rank = self.shape(inputs[0]).rank();
        let b = &mut *self.b;
        if rank == 2 {
            return Ok(b.node("Gemm", base, ins, &[("transB", Attr::Int(trans_b))]));
        }
        let matrix = if trans_b == 1 {
            b.node("Transpose", &format!("{base}.weight_t"), &ins[1..2], &[])
        } else {
            ins[1].to_string()
        };
        let product = match ins.get(2) {
            Some(_) => b.fresh(&format!("{base}.product")),
            None => return Ok(b.node("MatMul", base, &[ins[0], &matrix], &[])),
        };
        b.node_into("MatMul", &product, &[ins[0], &matrix], &[]);
        Ok(b.node("Add", base, &[&product, ins[2]], &[]))
    }

    /// Broadcasting arithmetic. knit aligns two batched operands after their batch
    /// dimension; ONNX aligns whole shapes from the right, so the operand with fewer
    /// per-example dimensions gets unit axes after its batch axis first.
    fn binary(
        &mut self,
        base: &str,
        kind: BinaryKind,
        inputs: &[NodeId],
        ins: &[&str],
    ) -> Result<String, ExportError> {
        let (sa, sb) = (self.shape(inputs[0]).clone(), self.shape(inputs[1]).clone());
        let mut operands = [ins[0].to_string(), ins[1].to_string()];
        if sa.batched && sb.batched && sa.dims.len() != sb.dims.len() {
            let (short, missing) = if sa.dims.len() < sb.dims.len() {
                (0, sb.dims.len() - sa.dims.len())
            } else {
                (1, sa.dims.len() - sb.dims.len())
            };
            let axes: Vec<i64> = (1..=missing as i64).collect();
            let axes = self.b.int64s(&format!("{base}.axes"), &axes);
            operands[short] = self.b.node(
                "Unsqueeze",
                &format!("{base}.aligned"),
                &[&operands[short], &axes],
                &[],
            );
        }
        let op = match kind {
            BinaryKind::Add => "Add",
            BinaryKind::Sub => "Sub",
            BinaryKind::Mul => "Mul",
            BinaryKind::Div => "Div",
        };
        Ok(self.b.node(op, base, &[&operands[0], &operands[1]], &[]))
    }

    /// Batch norm in evaluation mode, with the running statistics knit keeps as
    /// `<layer>.running_mean` and `<layer>.running_var`.
    fn batch_norm(
        &mut self,
        base: &str,
        layer: &str,
        bn: BatchNorm,
        ins: &[&str],
    ) -> Result<String, ExportError> {
        let buffers = self.exec.buffers();
        let mut stat = |suffix: &str| -> Result<String, ExportError> {
            let key = format!("{layer}.{suffix}");
            let (_, v) = buffers.iter().find(|(n, _)| *n == key).ok_or_else(|| {
                ExportError::Unsupported {
                    layer: layer.to_string(),
                    what: format!("batch norm without its {suffix}"),
                }
            })?;
            let name = format!("{}{key}", self.prefix);
            Ok(self.b.floats(&name, v.shape(), v.iter().copied()))
        };
        let (mean, var) = (stat("running_mean")?, stat("running_var")?);
        Ok(self.b.node(
            "BatchNormalization",
            base,
            &[ins[0], ins[1], ins[2], &mean, &var],
            &[("epsilon", Attr::Float(bn.eps as f32))],
        ))
    }
}

/// An activation or other elementwise function, in PyTorch's definitions.
fn pointwise(b: &mut GraphBuilder, base: &str, f: Pointwise, x: &str) -> String {
    let scalar = |b: &mut GraphBuilder, what: &str, v: f64| {
        b.floats(&format!("{base}.{what}"), &[], [v as f32])
    };
    match f {
        Pointwise::Relu => b.node("Relu", base, &[x], &[]),
        Pointwise::LeakyRelu { slope } => b.node(
            "LeakyRelu",
            base,
            &[x],
            &[("alpha", Attr::Float(slope as f32))],
        ),
        Pointwise::Elu { alpha } => {
            b.node("Elu", base, &[x], &[("alpha", Attr::Float(alpha as f32))])
        }
        Pointwise::Sigmoid => b.node("Sigmoid", base, &[x], &[]),
        Pointwise::Tanh => b.node("Tanh", base, &[x], &[]),
        Pointwise::Abs => b.node("Abs", base, &[x], &[]),
        Pointwise::Neg => b.node("Neg", base, &[x], &[]),
        Pointwise::Scale(c) => {
            let c = scalar(b, "factor", c);
            b.node("Mul", base, &[x, &c], &[])
        }
        // softplus(x) = ln(1 + e^(βx))/β, or x where βx > threshold.
        Pointwise::Softplus { beta, threshold } => {
            let (beta, threshold) = (scalar(b, "beta", beta), scalar(b, "threshold", threshold));
            let bx = b.node("Mul", &format!("{base}.bx"), &[x, &beta], &[]);
            let soft = b.node("Softplus", &format!("{base}.soft"), &[&bx], &[]);
            let soft = b.node("Div", &format!("{base}.scaled"), &[&soft, &beta], &[]);
            let linear = b.node(
                "Greater",
                &format!("{base}.linear"),
                &[&bx, &threshold],
                &[],
            );
            b.node("Where", base, &[&linear, x, &soft], &[])
        }
        // The exact GELU, x/2 · (1 + erf(x/√2)) (opset 17 has no Gelu operator).
        Pointwise::Gelu => {
            let (root2, half, one) = (
                scalar(b, "sqrt2", std::f64::consts::SQRT_2),
                scalar(b, "half", 0.5),
                scalar(b, "one", 1.0),
            );
            let scaled = b.node("Div", &format!("{base}.scaled"), &[x, &root2], &[]);
            let erf = b.node("Erf", &format!("{base}.erf"), &[&scaled], &[]);
            let shifted = b.node("Add", &format!("{base}.shifted"), &[&erf, &one], &[]);
            let halved = b.node("Mul", &format!("{base}.halved"), &[x, &half], &[]);
            b.node("Mul", base, &[&halved, &shifted], &[])
        }
    }
}

/// A sum or mean along one axis (dropped), or over everything.
fn reduce(b: &mut GraphBuilder, base: &str, r: Reduce, x: &str) -> Result<String, ExportError> {
    let keep = ("keepdims", Attr::Int(0));
    let axes: Vec<i64> = r.axis.map(|a| vec![a as i64]).unwrap_or_default();
    Ok(match r.kind {
        // Opset 17: ReduceSum takes its axes as an input, ReduceMean as an attribute.
        ReduceKind::Sum => {
            let axes = b.int64s(&format!("{base}.axes"), &axes);
            b.node("ReduceSum", base, &[x, &axes], &[keep])
        }
        ReduceKind::Mean if axes.is_empty() => b.node("ReduceMean", base, &[x], &[keep]),
        ReduceKind::Mean => b.node(
            "ReduceMean",
            base,
            &[x],
            &[keep, ("axes", Attr::Ints(axes))],
        ),
    })
}

fn ints(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&d| d as i64).collect())
}

/// ONNX's `pads`: every axis's start, then every axis's end.
fn pads(p: [usize; 2]) -> Attr {
    ints(&[p[0], p[1], p[0], p[1]])
}

fn pool_attrs(
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> [(&'static str, Attr); 3] {
    [
        ("kernel_shape", ints(&kernel)),
        ("strides", ints(&stride)),
        ("pads", pads(padding)),
    ]
}
