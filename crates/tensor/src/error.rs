//! The typed errors of graph building and execution.

use crate::Shape;
use thiserror::Error;

/// Everything that can go wrong when building or running a graph.
///
/// Messages are written for the person who built the model: they name the op, the node and
/// the shapes involved, so that no shape mismatch has to be chased by hand.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TensorError {
    /// An op was given inputs whose shapes it cannot combine.
    #[error("shape mismatch in {op} '{node}' with inputs {}: {reason}", join_shapes(.inputs))]
    Shape {
        /// The op's name, e.g. `linear`.
        op: String,
        /// The node being added.
        node: String,
        /// The shapes of all its inputs, in order.
        inputs: Vec<Shape>,
        /// What is wrong, in words.
        reason: String,
    },
    /// An op was given the wrong number of inputs.
    #[error("{op} '{node}' takes {expected} inputs, got {got}")]
    Arity {
        /// The op's name.
        op: String,
        /// The node being added.
        node: String,
        /// How many inputs the op takes.
        expected: String,
        /// How many it was given.
        got: usize,
    },
    /// A node id that does not belong to this graph.
    #[error("node #{id} is not in this graph, which has {len} nodes")]
    UnknownNode {
        /// The id asked for.
        id: usize,
        /// The number of nodes in the graph.
        len: usize,
    },
    /// A name that no node or parameter has.
    #[error("no {kind} named '{name}'{}", suggestion(.did_you_mean))]
    UnknownName {
        /// What was looked for: `node`, `parameter`, `input`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The closest existing name, if any is close.
        did_you_mean: Option<String>,
    },
    /// Two nodes with the same name.
    #[error("the name '{name}' is already used by another node")]
    DuplicateName {
        /// The name used twice.
        name: String,
    },
    /// A gradient was asked of a node that has none.
    #[error("no gradient for '{node}': {reason}")]
    NoGradient {
        /// The node asked for.
        node: String,
        /// Why it has none.
        reason: String,
    },
    /// Data fed to an input does not have the input's per-example shape.
    #[error("input '{input}' expects {expected}, got an array of shape {got:?}")]
    InputShape {
        /// The input's name.
        input: String,
        /// The input's declared shape.
        expected: Shape,
        /// The shape of the data given.
        got: Vec<usize>,
    },
    /// Two inputs were fed batches of different sizes.
    #[error("input '{first}' holds a batch of {first_batch} but input '{second}' holds {second_batch}; every input of one step must have the same batch size")]
    BatchMismatch {
        /// The first input.
        first: String,
        /// Its batch size.
        first_batch: usize,
        /// The disagreeing input.
        second: String,
        /// Its batch size.
        second_batch: usize,
    },
    /// A node was computed before the input it depends on was given data.
    #[error("input '{input}' has no data: call set_input before running the graph")]
    InputNotSet {
        /// The input's name.
        input: String,
    },
    /// A parameter was given a value of the wrong shape.
    #[error("parameter '{name}' has shape {expected:?}, got a value of shape {got:?}")]
    ParamShape {
        /// The parameter's name.
        name: String,
        /// Its declared shape.
        expected: Vec<usize>,
        /// The shape of the value given.
        got: Vec<usize>,
    },
    /// A value an op cannot work with (a label out of range, a batch too small for batch norm).
    #[error("{op} '{node}': {message}")]
    InvalidValue {
        /// The op's name.
        op: String,
        /// The node computing it.
        node: String,
        /// What is wrong.
        message: String,
    },
    /// An operation that needs a scalar was given something else.
    #[error("'{node}' must be a scalar (shape []), but has shape {shape}")]
    NotScalar {
        /// The node.
        node: String,
        /// Its shape.
        shape: Shape,
    },
    /// A hyperparameter of an op is out of its range.
    #[error("{op}: {message}")]
    InvalidHyperparameter {
        /// The op's name.
        op: String,
        /// What is wrong.
        message: String,
    },
}

fn join_shapes(shapes: &[Shape]) -> String {
    shapes
        .iter()
        .map(Shape::to_string)
        .collect::<Vec<_>>()
        .join(" and ")
}

fn suggestion(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Edit distance between two strings (insertions, deletions, substitutions).
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
