//! The graph builder: inputs, parameters, constants and ops, shape-checked as they are added.

use crate::error::closest;
use crate::op::{Op, StateSpec};
use crate::{Shape, TensorError};
use ndarray::ArrayD;
use std::collections::HashMap;
use std::sync::Arc;

/// The id of a node in one [`Graph`]; nodes are numbered in the order they were added, which
/// is a topological order (an op's inputs always precede it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) usize);

impl NodeId {
    /// The node's position in the graph.
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a node is.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// Data fed before each run (a batch of examples, labels).
    Input,
    /// A named parameter with its initial value (stored in `f32`, the training type).
    Param {
        /// The value an executor starts from.
        init: ArrayD<f32>,
        /// Whether it receives gradients and updates (false for frozen parameters).
        trainable: bool,
    },
    /// A fixed value.
    Constant {
        /// The value.
        value: ArrayD<f64>,
    },
    /// The result of an op applied to earlier nodes.
    Op {
        /// The computation.
        op: Arc<dyn Op>,
        /// Its inputs, in order.
        inputs: Vec<NodeId>,
        /// Its persistent arrays (running statistics), in the op's order.
        state: Vec<StateSpec>,
    },
}

/// One node: its unique name, what it is, and its static shape.
#[derive(Clone, Debug)]
pub struct Node {
    /// Unique within the graph; parameters use PyTorch's names (`h1.weight`).
    pub name: String,
    /// What the node is.
    pub kind: NodeKind,
    /// Its shape, inferred when it was added.
    pub shape: Shape,
}

/// A static computation graph.
///
/// Nodes are added one by one; each op's output shape is inferred and checked on the spot,
/// so a graph that exists is a graph whose shapes fit. The graph holds no buffers: an
/// [`Executor`](crate::Executor) runs it in `f32` or `f64`.
///
/// ```
/// use knit_tensor::{Graph, Executor, Mode};
/// use ndarray::{array, ArrayD};
///
/// let mut g = Graph::new();
/// let x = g.input("x", &[2])?;
/// let y = g.labels("y")?;
/// let w = array![[0.5f32, -0.5], [1.0, 2.0], [0.0, 1.0]].into_dyn();
/// let logits = g.dense("out", x, w, None)?;
/// let loss = g.cross_entropy(logits, y)?;
///
/// let mut exec = Executor::<f32>::new(&g);
/// exec.set_input(x, array![[1.0f32, 2.0]].view().into_dyn())?;
/// exec.set_input(y, array![1.0f32].view().into_dyn())?;
/// exec.run(loss, Mode::Train)?;
/// exec.backward(loss)?;
/// let grad = exec.grad_by_name("out.weight")?;
/// assert_eq!(grad.shape(), &[3, 2]);
/// # Ok::<(), knit_tensor::TensorError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    names: HashMap<String, NodeId>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// All nodes in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node with this id, or an error naming the id.
    pub fn node(&self, id: NodeId) -> Result<&Node, TensorError> {
        self.nodes.get(id.0).ok_or(TensorError::UnknownNode {
            id: id.0,
            len: self.nodes.len(),
        })
    }

    /// The id of the node with this name, with a did-you-mean suggestion when there is none.
    pub fn id(&self, name: &str) -> Result<NodeId, TensorError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| TensorError::UnknownName {
                kind: "node",
                name: name.to_string(),
                did_you_mean: closest(name, self.nodes.iter().map(|n| n.name.as_str())),
            })
    }

    /// The id and name of every parameter, in the order they were added.
    pub fn params(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, NodeKind::Param { .. }))
            .map(|(i, n)| (NodeId(i), n))
    }

    /// The trainable parameters (frozen ones left out), in graph order: the order of an
    /// optimizer's slots.
    pub fn trainable_params(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.params().filter(|(_, n)| {
            matches!(
                n.kind,
                NodeKind::Param {
                    trainable: true,
                    ..
                }
            )
        })
    }

    /// Total number of parameter elements (trainable or not).
    pub fn param_count(&self) -> usize {
        self.params().map(|(_, n)| n.shape.size()).sum()
    }

    /// Forward FLOPs per example: the sum of every op's [`Op::flops_per_example`]
    /// (multiply-adds ×2 of the products).
    pub fn flops_per_example(&self) -> u64 {
        self.flops_since(0)
    }

    /// Forward FLOPs per example of the nodes from index `first` on (the nodes one layer
    /// added, for a summary row).
    pub fn flops_since(&self, first: usize) -> u64 {
        self.nodes
            .iter()
            .skip(first)
            .filter_map(|n| match &n.kind {
                NodeKind::Op { op, inputs, .. } => {
                    let shapes: Vec<&Shape> =
                        inputs.iter().map(|i| &self.nodes[i.0].shape).collect();
                    Some(op.flops_per_example(&shapes, &n.shape))
                }
                _ => None,
            })
            .sum()
    }

    /// Marks a parameter as trainable or frozen. A frozen parameter gets no gradient and is
    /// skipped by optimizers, so it stays bit-identical through training.
    pub fn set_trainable(&mut self, id: NodeId, trainable: bool) -> Result<(), TensorError> {
        *self.param_mut(id)?.2 = trainable;
        Ok(())
    }

    /// Replaces the initial value of parameter `id` (re-initialization with another seed);
    /// the new value must have the parameter's shape.
    pub fn set_param_init(&mut self, id: NodeId, value: ArrayD<f32>) -> Result<(), TensorError> {
        let (name, init, _) = self.param_mut(id)?;
        if init.shape() != value.shape() {
            return Err(TensorError::Shape {
                op: "set_param_init".into(),
                node: name.to_string(),
                inputs: vec![Shape::fixed(init.shape()), Shape::fixed(value.shape())],
                reason: "the new value must have the parameter's shape".into(),
            });
        }
        *init = value;
        Ok(())
    }

    /// Parameter `id`'s name, initial value and trainable flag, or an error if `id` is not a
    /// parameter.
    fn param_mut(
        &mut self,
        id: NodeId,
    ) -> Result<(&str, &mut ArrayD<f32>, &mut bool), TensorError> {
        let len = self.nodes.len();
        let node = self
            .nodes
            .get_mut(id.0)
            .ok_or(TensorError::UnknownNode { id: id.0, len })?;
        match &mut node.kind {
            NodeKind::Param { init, trainable } => Ok((&node.name, init, trainable)),
            _ => Err(TensorError::UnknownName {
                kind: "parameter",
                name: node.name.clone(),
                did_you_mean: None,
            }),
        }
    }

    /// Adds a batched data input whose examples have shape `dims` (`[784]` for flat images).
    pub fn input(&mut self, name: &str, dims: &[usize]) -> Result<NodeId, TensorError> {
        self.push(name.to_string(), NodeKind::Input, Shape::batched(dims))
    }

    /// Adds a batched input of one integer class label per example (stored as floats).
    pub fn labels(&mut self, name: &str) -> Result<NodeId, TensorError> {
        self.input(name, &[])
    }

    /// Adds a trainable parameter with its initial value.
    pub fn param(&mut self, name: &str, init: ArrayD<f32>) -> Result<NodeId, TensorError> {
        let shape = Shape::fixed(init.shape());
        self.push(
            name.to_string(),
            NodeKind::Param {
                init,
                trainable: true,
            },
            shape,
        )
    }

    /// Adds a constant.
    pub fn constant(&mut self, name: &str, value: ArrayD<f64>) -> Result<NodeId, TensorError> {
        let shape = Shape::fixed(value.shape());
        self.push(name.to_string(), NodeKind::Constant { value }, shape)
    }

    /// Adds an op applied to `inputs`, checking the number and shapes of the inputs.
    ///
    /// `name` may be `None`, in which case the node is called `<kind>#<index>`.
    pub fn op(
        &mut self,
        name: Option<&str>,
        op: impl Op + 'static,
        inputs: &[NodeId],
    ) -> Result<NodeId, TensorError> {
        self.op_arc(name, Arc::new(op), inputs)
    }

    /// Like [`Graph::op`], for an op that is already shared.
    pub fn op_arc(
        &mut self,
        name: Option<&str>,
        op: Arc<dyn Op>,
        inputs: &[NodeId],
    ) -> Result<NodeId, TensorError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => format!("{}#{}", op.kind(), self.nodes.len()),
        };
        for &i in inputs {
            self.node(i)?;
        }
        if !op.arity().accepts(inputs.len()) {
            return Err(TensorError::Arity {
                op: op.kind().to_string(),
                node: name,
                expected: op.arity().describe(),
                got: inputs.len(),
            });
        }
        let shapes: Vec<&Shape> = inputs.iter().map(|i| &self.nodes[i.0].shape).collect();
        let shape = op
            .output_shape(&shapes)
            .map_err(|reason| TensorError::Shape {
                op: op.kind().to_string(),
                node: name.clone(),
                inputs: shapes.iter().map(|s| (*s).clone()).collect(),
                reason,
            })?;
        let state = op.state(&shapes);
        let kind = NodeKind::Op {
            op,
            inputs: inputs.to_vec(),
            state,
        };
        self.push(name, kind, shape)
    }

    /// Gives the node `id` the name `name` (unique, as at creation), for a node created
    /// without one: its generated name (`scale#4`) means nothing to the user who wrote the
    /// model, and it is the name errors at run time show.
    pub fn rename(&mut self, id: NodeId, name: &str) -> Result<(), TensorError> {
        self.node(id)?;
        if self.names.contains_key(name) {
            return Err(TensorError::DuplicateName {
                name: name.to_string(),
            });
        }
        let old = std::mem::replace(&mut self.nodes[id.0].name, name.to_string());
        self.names.remove(&old);
        self.names.insert(name.to_string(), id);
        Ok(())
    }

    /// Renames the nodes from index `from` on that still have generated names (`kind#N`)
    /// to `prefix.kind`, `prefix.kind2`..., skipping a name already taken, so that the
    /// internals of a composite (a penalty's squares and sums) are named after it in
    /// messages.
    pub fn name_generated(&mut self, from: usize, prefix: &str) {
        let mut counts: HashMap<&'static str, usize> = HashMap::new();
        for i in from..self.nodes.len() {
            let kind = match &self.nodes[i].kind {
                NodeKind::Op { op, .. } if self.nodes[i].name.contains('#') => op.kind(),
                _ => continue,
            };
            let count = counts.entry(kind).or_insert(0);
            *count += 1;
            let name = match *count {
                1 => format!("{prefix}.{kind}"),
                n => format!("{prefix}.{kind}{n}"),
            };
            let _ = self.rename(NodeId(i), &name);
        }
    }

    fn push(&mut self, name: String, kind: NodeKind, shape: Shape) -> Result<NodeId, TensorError> {
        if self.names.contains_key(&name) {
            return Err(TensorError::DuplicateName { name });
        }
        let id = NodeId(self.nodes.len());
        self.names.insert(name.clone(), id);
        self.nodes.push(Node { name, kind, shape });
        Ok(id)
    }
}
