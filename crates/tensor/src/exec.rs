//! The executor: buffers allocated once per batch size, forward and backward passes.

use crate::graph::{Node, NodeId, NodeKind};
use crate::op::{element_count, BackwardCtx, ForwardCtx, GradInputs, Inputs, Mode};
use crate::{Float, Graph, TensorError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::sync::Arc;

/// Runs a [`Graph`] in one float type, owning every value, gradient and scratch buffer.
///
/// Buffers grow to the largest batch seen and are then reused: a smaller (last, partial)
/// batch uses a prefix of each buffer, so a steady-state training step allocates nothing.
/// Parameters live here too; optimizers update them in place through
/// [`Executor::trainable_params`].
#[derive(Debug)]
pub struct Executor<F: Float> {
    graph: Arc<Graph>,
    /// Concrete dimensions of every node at the current batch size.
    dims: Vec<Vec<usize>>,
    values: Vec<Vec<F>>,
    grads: Vec<Vec<F>>,
    scratch: Vec<Vec<F>>,
    /// Backward-only working memory, on nodes that compute a gradient.
    workspace: Vec<Vec<F>>,
    state: Vec<Vec<ArrayD<F>>>,
    /// Nodes whose gradient is computed: trainable parameters, inputs asked for, and every
    /// op with such a node among its differentiable inputs.
    requires_grad: Vec<bool>,
    /// Inputs whose gradient was asked for with [`Executor::require_grad`].
    input_grad: Vec<bool>,
    /// Ancestors of the last target run (reused mask).
    active: Vec<bool>,
    /// Which gradient buffers the current backward pass has written (lazy zeroing).
    written: Vec<bool>,
    /// Batch size each input was last fed with (`None`: not fed yet).
    fed: Vec<Option<usize>>,
    batch: usize,
    /// The largest batch the buffers have been sized for.
    capacity: usize,
    last_run: Option<(NodeId, Mode)>,
    last_backward: Option<NodeId>,
    step: u64,
    /// The batch's first example in the step's global batch (see `set_first_row`).
    first_row: u64,
    threads: usize,
}

impl<F: Float> Executor<F> {
    /// An executor for `graph`, with parameters at their initial values and no batch yet.
    pub fn new(graph: &Graph) -> Self {
        Self::from_shared(Arc::new(graph.clone()))
    }

    /// An executor sharing an already reference-counted graph.
    pub fn from_shared(graph: Arc<Graph>) -> Self {
        let n = graph.len();
        let mut exec = Executor {
            dims: graph
                .nodes()
                .iter()
                .map(|node| node.shape.concrete(0))
                .collect(),
            values: vec![Vec::new(); n],
            grads: vec![Vec::new(); n],
            scratch: vec![Vec::new(); n],
            workspace: vec![Vec::new(); n],
            state: Vec::with_capacity(n),
            requires_grad: vec![false; n],
            input_grad: vec![false; n],
            active: vec![false; n],
            written: vec![false; n],
            fed: vec![None; n],
            batch: 0,
            capacity: 0,
            last_run: None,
            last_backward: None,
            step: 0,
            first_row: 0,
            threads: 1,
            graph,
        };
        for (i, node) in exec.graph.nodes().iter().enumerate() {
            match &node.kind {
                NodeKind::Param { init, .. } => {
                    exec.values[i] = init.iter().map(|&v| F::lit(f64::from(v))).collect();
                }
                NodeKind::Constant { value } => {
                    exec.values[i] = value.iter().map(|&v| F::lit(v)).collect();
                }
                NodeKind::Input => {}
                NodeKind::Op { .. } => {}
            }
            let state = match &node.kind {
                NodeKind::Op { state, .. } => state
                    .iter()
                    .map(|s| ArrayD::from_elem(IxDyn(&s.dims), F::lit(s.fill)))
                    .collect(),
                _ => Vec::new(),
            };
            exec.state.push(state);
        }
        exec.update_requires_grad();
        exec.resize(0);
        exec
    }

    /// The graph being run.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Sets how many threads matrix products may use (1 by default).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Sets the training step seen by ops that draw per-step randomness (dropout).
    ///
    /// The executor never advances it by itself, so repeated forward passes at one step (a
    /// gradient check) see the same masks; a trainer sets it before each step.
    pub fn set_step(&mut self, step: u64) {
        self.step = step;
    }

    /// Sets the position of the next batches' first example in the step's whole batch (0
    /// by default): a data-parallel rank feeding rows `a..b` of a global batch sets `a`, so
    /// that dropout draws the masks a single process would for those rows.
    pub fn set_first_row(&mut self, first_row: u64) {
        self.first_row = first_row;
    }

    /// The current batch size (0 before any input is fed).
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Asks for the gradient with respect to an input, e.g. ∂loss/∂x for adversarial examples.
    pub fn require_grad(&mut self, input: NodeId) -> Result<(), TensorError> {
        let node = self.graph.node(input)?;
        if !matches!(node.kind, NodeKind::Input) {
            return Err(TensorError::NoGradient {
                node: node.name.clone(),
                reason: "require_grad applies to inputs; parameters get gradients when trainable"
                    .into(),
            });
        }
        self.input_grad[input.0] = true;
        self.update_requires_grad();
        // Size the new gradient buffers for the largest batch, then return to the current one.
        let (batch, capacity) = (self.batch, self.capacity);
        self.capacity = 0;
        self.resize(capacity);
        self.resize(batch);
        Ok(())
    }

    fn update_requires_grad(&mut self) {
        for (i, node) in self.graph.nodes().iter().enumerate() {
            self.requires_grad[i] = match &node.kind {
                NodeKind::Input => self.input_grad[i],
                NodeKind::Param { trainable, .. } => *trainable,
                NodeKind::Constant { .. } => false,
                NodeKind::Op { op, inputs, .. } => inputs
                    .iter()
                    .enumerate()
                    .any(|(k, inp)| op.differentiable(k) && self.requires_grad[inp.0]),
            };
        }
    }

    /// Feeds a batch to an input; the first dimension is the batch.
    pub fn set_input(&mut self, input: NodeId, data: ArrayViewD<'_, F>) -> Result<(), TensorError> {
        let node = input_node(&self.graph, input)?;
        let shape = data.shape();
        if shape.is_empty() || shape[1..] != node.shape.dims[..] {
            return Err(TensorError::InputShape {
                input: node.name.clone(),
                expected: node.shape.clone(),
                got: shape.to_vec(),
            });
        }
        let buf = self.input_buffer(input, shape[0])?;
        match data.as_slice() {
            Some(src) => buf.copy_from_slice(src),
            None => buf.iter_mut().zip(data.iter()).for_each(|(d, &s)| *d = s),
        }
        Ok(())
    }

    /// The buffer of `input` sized for `batch` examples (row-major, `batch · ∏dims` values),
    /// for the caller to fill in place: what [`Executor::set_input`] does without the copy
    /// from another array. The input counts as fed.
    pub fn input_buffer(&mut self, input: NodeId, batch: usize) -> Result<&mut [F], TensorError> {
        input_node(&self.graph, input)?;
        if batch != self.batch {
            self.resize(batch);
        }
        self.fed[input.0] = Some(batch);
        Ok(&mut self.values[input.0][..element_count(&self.dims[input.0])])
    }

    /// Sets every batched node's dimensions for `batch` examples, growing buffers if needed.
    ///
    /// Buffers only grow, so returning to a batch size seen before allocates nothing; scratch
    /// sizes are assumed not to shrink with the batch.
    fn resize(&mut self, batch: usize) {
        self.batch = batch;
        let grows = batch > self.capacity || self.capacity == 0;
        self.capacity = self.capacity.max(batch);
        let graph = Arc::clone(&self.graph);
        for (i, node) in graph.nodes().iter().enumerate() {
            if node.shape.batched || self.dims[i].len() != node.shape.rank() {
                node.shape.write_concrete(batch, &mut self.dims[i]);
            }
            if !grows {
                continue;
            }
            let len = element_count(&self.dims[i]);
            grow(&mut self.values[i], len);
            if self.requires_grad[i] {
                grow(&mut self.grads[i], len);
            }
            if let NodeKind::Op { op, inputs, .. } = &node.kind {
                let in_dims: Vec<&[usize]> =
                    inputs.iter().map(|j| self.dims[j.0].as_slice()).collect();
                grow(
                    &mut self.scratch[i],
                    op.scratch_len(&in_dims, &self.dims[i]),
                );
                if self.requires_grad[i] {
                    grow(
                        &mut self.workspace[i],
                        op.workspace_len(&in_dims, &self.dims[i]),
                    );
                }
            }
        }
    }

    /// Computes `target` and every node it depends on.
    pub fn run(&mut self, target: NodeId, mode: Mode) -> Result<(), TensorError> {
        let graph = Arc::clone(&self.graph);
        graph.node(target)?;
        self.last_run = None;
        self.last_backward = None;
        mark_ancestors(&graph, target, &mut self.active);
        for (i, node) in graph.nodes().iter().enumerate().take(target.0 + 1) {
            if !self.active[i] {
                continue;
            }
            match &node.kind {
                NodeKind::Input => self.check_fed(NodeId(i))?,
                NodeKind::Param { .. } | NodeKind::Constant { .. } => {}
                NodeKind::Op { op, inputs, .. } => {
                    let (before, rest) = self.values.split_at_mut(i);
                    let len = element_count(&self.dims[i]);
                    let output =
                        ArrayViewMutD::from_shape(IxDyn(&self.dims[i]), &mut rest[0][..len])
                            .expect("buffer sized by resize");
                    let ctx = ForwardCtx {
                        node: &node.name,
                        inputs: Inputs {
                            values: before,
                            dims: &self.dims,
                            ids: inputs,
                        },
                        output,
                        scratch: &mut self.scratch[i],
                        state: &mut self.state[i],
                        mode,
                        step: self.step,
                        first_row: self.first_row,
                        threads: self.threads,
                    };
                    F::kernel(op.as_ref()).forward(ctx)?;
                }
            }
        }
        self.last_run = Some((target, mode));
        Ok(())
    }

    fn check_fed(&self, input: NodeId) -> Result<(), TensorError> {
        let name = |id: NodeId| self.graph.nodes()[id.0].name.clone();
        match self.fed[input.0] {
            None => Err(TensorError::InputNotSet { input: name(input) }),
            Some(b) if b != self.batch => {
                let current = (0..self.fed.len())
                    .find(|&j| self.fed[j] == Some(self.batch))
                    .map(NodeId)
                    .unwrap_or(input);
                Err(TensorError::BatchMismatch {
                    first: name(current),
                    first_batch: self.batch,
                    second: name(input),
                    second_batch: b,
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// Back-propagates from `loss` (seeded with ones, i.e. the gradient of its sum) to every
    /// node that requires a gradient. `loss` must have been computed by the last [`run`](Self::run).
    pub fn backward(&mut self, loss: NodeId) -> Result<(), TensorError> {
        let graph = Arc::clone(&self.graph);
        let loss_node = graph.node(loss)?;
        let (mode, ran) = match self.last_run {
            Some((target, mode)) => (mode, self.active[loss.0] && target >= loss),
            None => (Mode::Train, false),
        };
        if !ran {
            return Err(TensorError::NoGradient {
                node: loss_node.name.clone(),
                reason: "it has not been computed: call run before backward".into(),
            });
        }
        if !self.requires_grad[loss.0] {
            return Err(TensorError::NoGradient {
                node: loss_node.name.clone(),
                reason:
                    "it depends on no trainable parameter and no input that requires a gradient"
                        .into(),
            });
        }
        // Gradients only flow within the loss's ancestors; mark them (a subset of `active`).
        mark_ancestors(&graph, loss, &mut self.active);
        // Gradient buffers are zeroed lazily: the first op to write one either overwrites it
        // (matrix products) or has it zeroed before adding (see `GradInputs`).
        self.written.fill(false);
        let len = element_count(&self.dims[loss.0]);
        self.grads[loss.0][..len].fill(F::one());
        self.written[loss.0] = true;
        for (i, node) in graph.nodes().iter().enumerate().take(loss.0 + 1).rev() {
            let NodeKind::Op { op, inputs, .. } = &node.kind else {
                continue;
            };
            if !self.active[i] || !self.requires_grad[i] {
                continue;
            }
            let (before, rest) = self.grads.split_at_mut(i);
            let written = &mut self.written[..i];
            let ctx = BackwardCtx {
                node: &node.name,
                inputs: Inputs {
                    values: &self.values[..i],
                    dims: &self.dims,
                    ids: inputs,
                },
                output: view(&self.dims[i], &self.values[i]),
                grad_output: view(&self.dims[i], &rest[0]),
                grad_inputs: GradInputs {
                    grads: before,
                    dims: &self.dims,
                    ids: inputs,
                    wanted: &self.requires_grad,
                    written,
                },
                scratch: &self.scratch[i],
                workspace: &mut self.workspace[i],
                state: &self.state[i],
                mode,
                step: self.step,
                threads: self.threads,
            };
            F::kernel(op.as_ref()).backward(ctx)?;
        }
        // Whatever no op reached (a parameter the loss does not use) has a zero gradient.
        for (i, g) in self.grads.iter_mut().enumerate() {
            if self.requires_grad[i] && !self.written[i] {
                let len = element_count(&self.dims[i]);
                g[..len].fill(F::zero());
            }
        }
        self.last_backward = Some(loss);
        Ok(())
    }

    /// The value of a node computed by the last run (or a parameter's current value).
    pub fn value(&self, id: NodeId) -> Result<ArrayViewD<'_, F>, TensorError> {
        self.graph.node(id)?;
        Ok(view(&self.dims[id.0], &self.values[id.0]))
    }

    /// The value of the scalar node `id` (a loss).
    pub fn scalar(&self, id: NodeId) -> Result<F, TensorError> {
        let node = self.graph.node(id)?;
        if !node.shape.is_scalar() {
            return Err(TensorError::NotScalar {
                node: node.name.clone(),
                shape: node.shape.clone(),
            });
        }
        Ok(self.values[id.0][0])
    }

    /// The gradient of the last backward's loss with respect to `id`.
    pub fn grad(&self, id: NodeId) -> Result<ArrayViewD<'_, F>, TensorError> {
        let node = self.graph.node(id)?;
        let no = |reason: &str| TensorError::NoGradient {
            node: node.name.clone(),
            reason: reason.to_string(),
        };
        if !self.requires_grad[id.0] {
            return Err(no(match &node.kind {
                NodeKind::Input => {
                    "it is an input; call require_grad on it before running the graph"
                }
                NodeKind::Param { .. } => "it is a frozen parameter",
                NodeKind::Constant { .. } => "it is a constant",
                NodeKind::Op { .. } => {
                    "it depends on no trainable parameter and no input that requires a gradient"
                }
            }));
        }
        let Some(loss) = self.last_backward else {
            return Err(no("backward has not been run since the last forward pass"));
        };
        if !self.active[id.0] {
            let loss_name = &self.graph.nodes()[loss.0].name;
            return Err(no(&format!("the loss '{loss_name}' does not depend on it")));
        }
        Ok(view(&self.dims[id.0], &self.grads[id.0]))
    }

    /// An op's backward working memory (`Op::workspace_len` elements) as the last backward
    /// pass left it; what it holds is the op's to document (a recurrent layer's per-step
    /// gradients, read with [`Recurrent::hidden_gradients`](crate::ops::Recurrent::hidden_gradients)).
    /// Empty for nodes without a workspace or that compute no gradient.
    pub fn workspace(&self, id: NodeId) -> Result<&[F], TensorError> {
        self.graph.node(id)?;
        Ok(&self.workspace[id.0])
    }

    /// The gradient with respect to the node called `name`.
    pub fn grad_by_name(&self, name: &str) -> Result<ArrayViewD<'_, F>, TensorError> {
        self.grad(self.graph.id(name)?)
    }

    /// The current value of the parameter called `name`.
    pub fn param(&self, name: &str) -> Result<ArrayViewD<'_, F>, TensorError> {
        let id = self.param_id(name)?;
        self.value(id)
    }

    fn param_id(&self, name: &str) -> Result<NodeId, TensorError> {
        let found = self
            .graph
            .params()
            .find(|(_, n)| n.name == name)
            .map(|(id, _)| id);
        found.ok_or_else(|| TensorError::UnknownName {
            kind: "parameter",
            name: name.to_string(),
            did_you_mean: crate::error::closest(
                name,
                self.graph.params().map(|(_, n)| n.name.as_str()),
            ),
        })
    }

    /// Overwrites the parameter called `name`, checking its shape.
    pub fn set_param(&mut self, name: &str, value: ArrayViewD<'_, F>) -> Result<(), TensorError> {
        let id = self.param_id(name)?;
        if value.shape() != self.dims[id.0].as_slice() {
            return Err(TensorError::ParamShape {
                name: name.to_string(),
                expected: self.dims[id.0].clone(),
                got: value.shape().to_vec(),
            });
        }
        self.values[id.0]
            .iter_mut()
            .zip(value.iter())
            .for_each(|(d, &s)| *d = s);
        Ok(())
    }

    /// Overwrites the constant called `name`, checking its shape. Constants are fixed within a
    /// step; a trainer may change one between steps (a dropout ratio following a schedule).
    pub fn set_constant(
        &mut self,
        name: &str,
        value: ArrayViewD<'_, f64>,
    ) -> Result<(), TensorError> {
        let id = self.graph.id(name)?;
        if !matches!(self.graph.nodes()[id.0].kind, NodeKind::Constant { .. }) {
            return Err(TensorError::UnknownName {
                kind: "constant",
                name: name.to_string(),
                did_you_mean: None,
            });
        }
        if value.shape() != self.dims[id.0].as_slice() {
            return Err(TensorError::ParamShape {
                name: name.to_string(),
                expected: self.dims[id.0].clone(),
                got: value.shape().to_vec(),
            });
        }
        self.values[id.0]
            .iter_mut()
            .zip(value.iter())
            .for_each(|(d, &s)| *d = F::lit(s));
        Ok(())
    }

    /// Every trainable parameter as (id, name, value to update, gradient), in graph order.
    ///
    /// This is what an optimizer steps over; it allocates nothing.
    pub fn trainable_params(
        &mut self,
    ) -> impl Iterator<Item = (NodeId, &str, ArrayViewMutD<'_, F>, ArrayViewD<'_, F>)> {
        let (dims, grads) = (&self.dims, &self.grads);
        trainable_views(&self.graph, dims, &self.requires_grad, &mut self.values)
            .map(move |(id, name, value)| (id, name, value, view(&dims[id.0], &grads[id.0])))
    }

    /// The gradient of every trainable parameter, writable (for clipping and pruning masks),
    /// in graph order. Allocates nothing.
    pub fn trainable_grads_mut(
        &mut self,
    ) -> impl Iterator<Item = (NodeId, &str, ArrayViewMutD<'_, F>)> {
        trainable_views(
            &self.graph,
            &self.dims,
            &self.requires_grad,
            &mut self.grads,
        )
    }

    /// The first node computed by the last run whose value holds a NaN or an infinity, in
    /// graph order (parameters first among equals), for divergence reports.
    pub fn first_non_finite(&self) -> Option<&str> {
        self.graph.nodes().iter().enumerate().find_map(|(i, node)| {
            let computed = self.active[i] || matches!(node.kind, NodeKind::Param { .. });
            let len = element_count(&self.dims[i]);
            let bad = computed && self.values[i][..len].iter().any(|v| !v.is_finite());
            bad.then_some(node.name.as_str())
        })
    }

    /// The persistent arrays of op nodes (running statistics), named `<node>.<state>`.
    pub fn buffers(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        let mut out = Vec::new();
        for (i, node) in self.graph.nodes().iter().enumerate() {
            if let NodeKind::Op { state, .. } = &node.kind {
                for (spec, value) in state.iter().zip(&self.state[i]) {
                    out.push((format!("{}.{}", node.name, spec.name), value.view()));
                }
            }
        }
        out
    }

    /// Overwrites the persistent array called `<node>.<state>`, checking its shape.
    pub fn set_buffer(&mut self, name: &str, value: ArrayViewD<'_, F>) -> Result<(), TensorError> {
        for (i, node) in self.graph.nodes().iter().enumerate() {
            if let NodeKind::Op { state, .. } = &node.kind {
                for (k, spec) in state.iter().enumerate() {
                    if format!("{}.{}", node.name, spec.name) == name {
                        let target = &mut self.state[i][k];
                        if target.shape() != value.shape() {
                            return Err(TensorError::ParamShape {
                                name: name.to_string(),
                                expected: target.shape().to_vec(),
                                got: value.shape().to_vec(),
                            });
                        }
                        target.assign(&value);
                        return Ok(());
                    }
                }
            }
        }
        let names: Vec<String> = self.buffers().into_iter().map(|(n, _)| n).collect();
        Err(TensorError::UnknownName {
            kind: "buffer",
            name: name.to_string(),
            did_you_mean: crate::error::closest(name, names.iter().map(String::as_str)),
        })
    }

    /// Copies parameter values and buffers from an executor of another float type (an `f32`
    /// training executor into an `f64` checking one, or back).
    pub fn copy_state_from<G: Float>(&mut self, other: &Executor<G>) {
        for (i, node) in self.graph.nodes().iter().enumerate() {
            if matches!(node.kind, NodeKind::Param { .. }) {
                let len = element_count(&self.dims[i]);
                for (d, s) in self.values[i][..len].iter_mut().zip(&other.values[i]) {
                    *d = F::lit(s.as_f64());
                }
            }
            for (d, s) in self.state[i].iter_mut().zip(&other.state[i]) {
                d.zip_mut_with(s, |d, s| *d = F::lit(s.as_f64()));
            }
        }
    }

    /// Mutable access to a fed input's buffer (used by the gradient checker to perturb it).
    pub(crate) fn value_slice_mut(&mut self, id: NodeId) -> &mut [F] {
        let len = element_count(&self.dims[id.0]);
        &mut self.values[id.0][..len]
    }
}

/// Writable views of `buffers` (values or gradients) for every trainable parameter.
fn trainable_views<'a, F: Float>(
    graph: &'a Graph,
    dims: &'a [Vec<usize>],
    requires_grad: &'a [bool],
    buffers: &'a mut [Vec<F>],
) -> impl Iterator<Item = (NodeId, &'a str, ArrayViewMutD<'a, F>)> {
    graph
        .nodes()
        .iter()
        .zip(buffers.iter_mut())
        .enumerate()
        .filter(move |(i, (n, _))| matches!(n.kind, NodeKind::Param { .. }) && requires_grad[*i])
        .map(move |(i, (n, b))| {
            let len = element_count(&dims[i]);
            let v = ArrayViewMutD::from_shape(IxDyn(&dims[i]), &mut b[..len]).expect("sized");
            (NodeId(i), n.name.as_str(), v)
        })
}

/// The first `dims`-many elements of `buf` as an array view.
fn view<'b, F>(dims: &[usize], buf: &'b [F]) -> ArrayViewD<'b, F> {
    let len = element_count(dims);
    ArrayViewD::from_shape(IxDyn(dims), &buf[..len]).expect("buffers are sized by resize")
}

/// Grows `buf` to at least `len` elements (never shrinks, so buffers are reused).
fn grow<F: Float>(buf: &mut Vec<F>, len: usize) {
    if buf.len() < len {
        buf.resize(len, F::zero());
    }
}

/// Sets `mask[i]` for `target` and every node it depends on, clearing the rest.
fn mark_ancestors(graph: &Graph, target: NodeId, mask: &mut [bool]) {
    mask.fill(false);
    mask[target.0] = true;
    for (i, node) in graph.nodes().iter().enumerate().take(target.0 + 1).rev() {
        if !mask[i] {
            continue;
        }
        if let NodeKind::Op { inputs, .. } = &node.kind {
            for j in inputs {
                mask[j.0] = true;
            }
        }
    }
}

/// The node `input` of `graph`, which must be a data input.
fn input_node(graph: &Graph, input: NodeId) -> Result<&Node, TensorError> {
    let node = graph.node(input)?;
    match node.kind {
        NodeKind::Input => Ok(node),
        _ => Err(TensorError::UnknownName {
            kind: "input",
            name: node.name.clone(),
            did_you_mean: None,
        }),
    }
}
