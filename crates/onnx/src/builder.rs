//! Writing an ONNX graph: nodes with fresh output names, constant tensors, attributes.

use crate::proto::{AttributeProto, AttributeType, DataType, NodeProto, TensorProto};
use std::collections::HashSet;

/// An attribute value of a node.
#[derive(Clone, Debug)]
pub enum Attr {
    /// A float (`epsilon`, `alpha`).
    Float(f32),
    /// An integer (`axis`, `transB`).
    Int(i64),
    /// A list of integers (`pads`, `strides`).
    Ints(Vec<i64>),
    /// A list of strings (`activations`).
    Strs(Vec<String>),
}

impl Attr {
    fn to_proto(&self, name: &str) -> AttributeProto {
        let mut a = AttributeProto {
            name: name.to_string(),
            ..Default::default()
        };
        match self {
            Attr::Float(f) => (a.r#type, a.f) = (AttributeType::Float as i32, *f),
            Attr::Int(i) => (a.r#type, a.i) = (AttributeType::Int as i32, *i),
            Attr::Ints(v) => (a.r#type, a.ints) = (AttributeType::Ints as i32, v.clone()),
            Attr::Strs(v) => {
                a.r#type = AttributeType::Strings as i32;
                a.strings = v.iter().map(|s| s.clone().into_bytes()).collect();
            }
        }
        a
    }
}

/// The nodes and initializers of a graph under construction. Every value name handed out
/// is unique: a name already taken gets a `_2`, `_3`... suffix.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    /// The nodes, in the order added (a topological order, since a node can only read
    /// names handed out before it).
    pub nodes: Vec<NodeProto>,
    /// The constant tensors.
    pub initializers: Vec<TensorProto>,
    taken: HashSet<String>,
}

impl GraphBuilder {
    /// A unique value name starting with `base`.
    pub fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Reserves `name` exactly (a graph input or output), or fails if it is taken.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.taken.insert(name.to_string())
    }

    /// Adds `op_type(inputs)` with `attrs`, its one output named from `base`; returns it.
    pub fn node(
        &mut self,
        op_type: &str,
        base: &str,
        inputs: &[&str],
        attrs: &[(&str, Attr)],
    ) -> String {
        let out = self.fresh(base);
        self.node_into(op_type, &out, inputs, attrs);
        out
    }

    /// Adds `op_type(inputs)` writing the already reserved name `out`.
    pub fn node_into(&mut self, op_type: &str, out: &str, inputs: &[&str], attrs: &[(&str, Attr)]) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name: out.to_string(),
            op_type: op_type.to_string(),
            attribute: attrs.iter().map(|(n, a)| a.to_proto(n)).collect(),
        });
    }

    /// A float constant of shape `dims` (row-major `values`); returns its name.
    pub fn floats(
        &mut self,
        base: &str,
        dims: &[usize],
        values: impl IntoIterator<Item = f32>,
    ) -> String {
        let raw = values.into_iter().flat_map(f32::to_le_bytes).collect();
        self.tensor(base, dims, DataType::Float, raw)
    }

    /// A 1-D int64 constant (a shape, axes, indices); returns its name.
    pub fn int64s(&mut self, base: &str, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(base, &[values.len()], DataType::Int64, raw)
    }

    /// An int64 scalar constant; returns its name.
    pub fn int64_scalar(&mut self, base: &str, value: i64) -> String {
        self.tensor(base, &[], DataType::Int64, value.to_le_bytes().to_vec())
    }

    fn tensor(&mut self, base: &str, dims: &[usize], ty: DataType, raw_data: Vec<u8>) -> String {
        let name = self.fresh(base);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: ty as i32,
            name: name.clone(),
            raw_data,
        });
        name
    }
}
