//! The whole exported graph: the raw features in, the input scaling, each member's model,
//! and the head that turns outputs into what `knit predict` prints.

use crate::builder::{Attr, GraphBuilder};
use crate::lower::lower_model;
use crate::proto::{
    DataType, Dimension, GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};
use crate::ExportError;
use knit_data::Scaler;
use knit_train::{Combine, Ensemble, Task, Trainer};
use prost::Message;

/// The ONNX operator set the graph is written in.
pub const OPSET: i64 = 17;
/// The ONNX IR version of the file (the one that goes with opset 17).
pub const IR_VERSION: i64 = 8;
/// The graph's input: raw, unscaled features `[N, F]`, as `knit predict --input` reads them.
pub const INPUT: &str = "features";

/// A trained model or ensemble, ready to be written as ONNX.
///
/// The graph's input is [`INPUT`], `[N, F]` float, `N` a symbolic batch. Its outputs, by task:
/// - classification, one model: `logits` `[N, C]`, `probabilities` (their softmax) and
///   `class` (int64 `[N]`, the most probable, the first on ties);
/// - classification, an ensemble: `probabilities` (the mean of the members' softmax, or for
///   `combine vote` each class's share of the votes) and `class` (by average, or by majority
///   with the summed probabilities breaking ties), as `knit predict` combines them;
/// - regression: `prediction` `[N, W]` (the members' mean for an ensemble).
///
/// The input scaling fitted in training is written as nodes at the start, `(x − shift) / scale`
/// per feature, so callers feed raw features.
#[derive(Clone, Copy)]
pub struct Export<'a> {
    members: &'a [Trainer],
    combine: Option<Combine>,
    scaler: &'a Scaler,
}

impl<'a> Export<'a> {
    /// One trained model, with the scaling its checkpoint stores.
    pub fn model(trainer: &'a Trainer, scaler: &'a Scaler) -> Self {
        Export {
            members: std::slice::from_ref(trainer),
            combine: None,
            scaler,
        }
    }

    /// An ensemble: every member in one graph, combined as [`Ensemble::predictions`] does.
    pub fn ensemble(ensemble: &'a Ensemble, scaler: &'a Scaler) -> Self {
        Export {
            members: &ensemble.members,
            combine: Some(ensemble.combine),
            scaler,
        }
    }

    /// The ONNX model.
    pub fn to_model(&self) -> Result<ModelProto, ExportError> {
        let first = self.members.first().ok_or(ExportError::Empty)?;
        let plan = first.plan();
        let model = &plan.models[0];
        let input_shape = &plan.graph.node(model.input)?.shape;
        let width = input_shape.size();
        let mut b = GraphBuilder::default();
        // The graph's own names first, so that no layer of the same name takes them.
        for name in [INPUT, "logits", "probabilities", "class", "prediction"] {
            b.reserve(name);
        }
        let mut x = INPUT.to_string();
        if self.scaler.width().is_some() {
            let shift = b.floats(
                "knit.scaler.shift",
                &[width],
                self.scaler.shift().iter().copied(),
            );
            let scale = b.floats(
                "knit.scaler.scale",
                &[width],
                self.scaler.scale().iter().copied(),
            );
            let centred = b.node("Sub", "features_centred", &[&x, &shift], &[]);
            x = b.node("Div", "features_scaled", &[&centred, &scale], &[]);
        }
        if input_shape.dims.len() != 1 {
            let dims: Vec<i64> = std::iter::once(0)
                .chain(input_shape.dims.iter().map(|&d| d as i64))
                .collect();
            let dims = b.int64s("input_shape", &dims);
            x = b.node("Reshape", "input", &[&x, &dims], &[]);
        }
        let several = self.combine.is_some();
        let outputs = self
            .members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let prefix = if several {
                    format!("members.{k}.")
                } else {
                    String::new()
                };
                let nodes = &m.plan().models[0];
                lower_model(&mut b, m.executor(), nodes.input, nodes.output, &x, &prefix)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out_width = plan.graph.node(model.output)?.shape.size();
        let heads = match plan.task {
            Task::Regression => vec![regression_head(&mut b, &outputs)],
            Task::Classification { .. } => {
                classification_head(&mut b, &outputs, out_width, self.combine)
            }
        };
        let graph = GraphProto {
            node: b.nodes,
            name: model.name.clone(),
            initializer: b.initializers,
            doc_string: format!("knit model `{}`", model.name),
            input: vec![value_info(INPUT, DataType::Float, Some(width))],
            output: heads
                .iter()
                .map(|(name, ty)| {
                    let w = (*ty == DataType::Float).then_some(out_width);
                    value_info(name, *ty, w)
                })
                .collect(),
        };
        Ok(ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "knit".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc_string: String::new(),
            graph: Some(graph),
            metadata_props: vec![StringStringEntryProto {
                key: "knit.program".into(),
                value: plan.program.clone(),
            }],
        })
    }

    /// The ONNX file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ExportError> {
        Ok(self.to_model()?.encode_to_vec())
    }
}

/// `[N, W]` floats (`W` given) or `[N]` (none): a graph input or output.
fn value_info(name: &str, ty: DataType, width: Option<usize>) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        dim_value: None,
        dim_param: Some("N".into()),
    }];
    dim.extend(width.map(|w| Dimension {
        dim_value: Some(w as i64),
        dim_param: None,
    }));
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: ty as i32,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: String::new(),
    }
}

/// `prediction`: the one output, or the members' mean.
fn regression_head(b: &mut GraphBuilder, outputs: &[String]) -> (String, DataType) {
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    if let [only] = refs.as_slice() {
        b.node_into("Identity", "prediction", &[only], &[]);
    } else {
        b.node_into("Mean", "prediction", &refs, &[]);
    }
    ("prediction".into(), DataType::Float)
}

/// `logits` (one model), `probabilities` and `class`.
fn classification_head(
    b: &mut GraphBuilder,
    outputs: &[String],
    classes: usize,
    combine: Option<Combine>,
) -> Vec<(String, DataType)> {
    let argmax = [("axis", Attr::Int(1)), ("keepdims", Attr::Int(0))];
    let softmax = |b: &mut GraphBuilder, logits: &str| {
        b.node(
            "Softmax",
            &format!("{logits}.softmax"),
            &[logits],
            &[("axis", Attr::Int(-1))],
        )
    };
    let mut heads = vec![];
    let Some(combine) = combine else {
        b.node_into("Identity", "logits", &[&outputs[0]], &[]);
        b.node_into(
            "Softmax",
            "probabilities",
            &["logits"],
            &[("axis", Attr::Int(-1))],
        );
        heads.push(("logits".into(), DataType::Float));
        b.node_into("ArgMax", "class", &["logits"], &argmax);
        heads.push(("probabilities".into(), DataType::Float));
        heads.push(("class".into(), DataType::Int64));
        return heads;
    };
    let k = outputs.len() as f32;
    let probabilities: Vec<String> = outputs.iter().map(|o| softmax(b, o)).collect();
    let refs: Vec<&str> = probabilities.iter().map(String::as_str).collect();
    let summed = b.node("Sum", "summed_probabilities", &refs, &[]);
    let members = b.floats("members", &[], [k]);
    match combine {
        Combine::Average => {
            b.node_into("Div", "probabilities", &[&summed, &members], &[]);
            b.node_into("ArgMax", "class", &[&summed], &argmax);
        }
        Combine::Vote => {
            // A vote per member for its most probable class, as a one-hot row.
            let depth = b.int64s("class_count", &[classes as i64]);
            let off_on = b.floats("off_on", &[2], [0.0, 1.0]);
            let votes: Vec<String> = outputs
                .iter()
                .map(|o| {
                    let top = b.node("ArgMax", &format!("{o}.class"), &[o], &argmax);
                    b.node(
                        "OneHot",
                        &format!("{o}.vote"),
                        &[&top, &depth, &off_on],
                        &[],
                    )
                })
                .collect();
            let refs: Vec<&str> = votes.iter().map(String::as_str).collect();
            let votes = b.node("Sum", "votes", &refs, &[]);
            // Votes dominate; the summed probability (below k + 1) breaks ties.
            let weight = b.floats("vote_weight", &[], [k + 1.0]);
            let weighted = b.node("Mul", "weighted_votes", &[&votes, &weight], &[]);
            let score = b.node("Add", "vote_score", &[&weighted, &summed], &[]);
            b.node_into("Div", "probabilities", &[&votes, &members], &[]);
            b.node_into("ArgMax", "class", &[&score], &argmax);
        }
    }
    heads.push(("probabilities".into(), DataType::Float));
    heads.push(("class".into(), DataType::Int64));
    heads
}
