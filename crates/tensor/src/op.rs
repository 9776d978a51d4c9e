//! The open `Op` trait: what every node computation provides, inside or outside this crate.

use crate::{Float, NodeId, Shape, TensorError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::any::Any;
use std::fmt::Debug;

/// Whether a forward pass is part of training or of evaluation.
///
/// Ops such as batch norm (batch statistics vs running statistics) and dropout (random
/// mask vs identity) behave differently in the two modes, as in PyTorch's `train()`/`eval()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Training: batch statistics, random masks, running statistics updated.
    #[default]
    Train,
    /// Evaluation: deterministic, running statistics used and left unchanged.
    Eval,
}

/// How many inputs an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// This many or more (concat).
    AtLeast(usize),
    /// Between the two bounds, inclusive (linear with or without bias).
    Between(usize, usize),
}

impl Arity {
    /// Whether `n` inputs are acceptable.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::AtLeast(k) => n >= k,
            Arity::Between(lo, hi) => (lo..=hi).contains(&n),
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            Arity::Exact(k) => k.to_string(),
            Arity::AtLeast(k) => format!("at least {k}"),
            Arity::Between(lo, hi) => format!("{lo} to {hi}"),
        }
    }
}

/// A persistent, non-trainable array owned by an op node (PyTorch calls these buffers),
/// such as batch norm's running mean. It survives batch-size changes and is saved in
/// checkpoints as `<node name>.<name>`.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSpec {
    /// The suffix of its name, e.g. `running_mean`.
    pub name: &'static str,
    /// Its fixed dimensions.
    pub dims: Vec<usize>,
    /// The value every element starts at.
    pub fill: f64,
}

/// A node computation: shape inference and bookkeeping, independent of the float type.
///
/// Implement this and [`Kernel`] for `f32` and `f64` (usually one generic
/// `impl<F: Float> Kernel<F>`) to add an op from another crate; the graph and the executor
/// need nothing else (`Any` lets a reader of the graph, such as the ONNX exporter, see
/// which op a node holds). Backward passes *add* into the input gradients (through [`GradInputs`],
/// which zeroes a buffer before its first use in a pass), so that a node used
/// several times receives the sum of its gradients.
pub trait Op: Any + Debug + Send + Sync + Kernel<f32> + Kernel<f64> {
    /// The op's name in messages, e.g. `linear`.
    fn kind(&self) -> &'static str;

    /// How many inputs it takes.
    fn arity(&self) -> Arity;

    /// The output shape for the given input shapes, or why they do not fit.
    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String>;

    /// Whether a gradient flows to input `k` (false for integer labels).
    fn differentiable(&self, _input: usize) -> bool {
        true
    }

    /// Elements of scratch memory the kernel needs for the given concrete shapes
    /// (saved statistics, masks, probabilities); allocated once and reused.
    fn scratch_len(&self, _inputs: &[&[usize]], _output: &[usize]) -> usize {
        0
    }

    /// Elements of working memory the backward pass needs beyond the forward's scratch
    /// (the per-step gate gradients of a recurrent layer); allocated once, only where a
    /// gradient flows, and reused.
    fn workspace_len(&self, _inputs: &[&[usize]], _output: &[usize]) -> usize {
        0
    }

    /// The persistent arrays this op keeps across steps.
    fn state(&self, _inputs: &[&Shape]) -> Vec<StateSpec> {
        Vec::new()
    }

    /// Floating-point operations of one forward pass per example, as PEERS.md counts them:
    /// the multiply-adds of the op's products (dense, convolution, recurrent), ×2. Element-wise
    /// work (bias, activations, pooling, normalization, softmax, losses) is not counted, so
    /// the default is 0.
    fn flops_per_example(&self, _inputs: &[&Shape], _output: &Shape) -> u64 {
        0
    }
}

/// The numerical part of an op, for one float type.
pub trait Kernel<F: Float> {
    /// Computes the output from the inputs (overwriting `ctx.output`).
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError>;
    /// Adds the gradient of the loss with respect to each input that wants one.
    fn backward(&self, ctx: BackwardCtx<'_, F>) -> Result<(), TensorError>;
}

/// What a kernel sees in a forward pass.
pub struct ForwardCtx<'a, F> {
    /// The node's name, for error messages.
    pub node: &'a str,
    /// The input values.
    pub inputs: Inputs<'a, F>,
    /// The output buffer to overwrite.
    pub output: ArrayViewMutD<'a, F>,
    /// Scratch memory of the length the op asked for, kept for the backward pass.
    pub scratch: &'a mut [F],
    /// The op's persistent arrays, in the order of [`Op::state`].
    pub state: &'a mut [ArrayD<F>],
    /// Training or evaluation.
    pub mode: Mode,
    /// The training step, for ops that draw random numbers per step (dropout).
    pub step: u64,
    /// The position of this batch's first example in the whole step's batch: 0 in one
    /// process; a data-parallel rank's offset in the global batch, so that per-example
    /// random draws (dropout masks) do not depend on how the batch is split.
    pub first_row: u64,
    /// How many threads matrix products may use.
    pub threads: usize,
}

/// What a kernel sees in a backward pass.
pub struct BackwardCtx<'a, F> {
    /// The node's name, for error messages.
    pub node: &'a str,
    /// The input values of the forward pass.
    pub inputs: Inputs<'a, F>,
    /// The output value of the forward pass.
    pub output: ArrayViewD<'a, F>,
    /// The gradient of the loss with respect to the output.
    pub grad_output: ArrayViewD<'a, F>,
    /// Where to add the input gradients.
    pub grad_inputs: GradInputs<'a, F>,
    /// The scratch memory as the forward pass left it.
    pub scratch: &'a [F],
    /// Working memory of the length [`Op::workspace_len`] asked for, contents unspecified.
    pub workspace: &'a mut [F],
    /// The op's persistent arrays.
    pub state: &'a [ArrayD<F>],
    /// The mode of the forward pass.
    pub mode: Mode,
    /// The training step of the forward pass.
    pub step: u64,
    /// How many threads matrix products may use.
    pub threads: usize,
}

/// Read access to an op's input values, without allocating.
pub struct Inputs<'a, F> {
    pub(crate) values: &'a [Vec<F>],
    pub(crate) dims: &'a [Vec<usize>],
    pub(crate) ids: &'a [NodeId],
}

impl<'a, F: Float> Inputs<'a, F> {
    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the op has no inputs.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The concrete dimensions of input `k`.
    pub fn dims(&self, k: usize) -> &'a [usize] {
        &self.dims[self.ids[k].index()]
    }

    /// Input `k` as a contiguous slice in row-major order.
    pub fn slice(&self, k: usize) -> &'a [F] {
        let id = self.ids[k].index();
        &self.values[id][..element_count(&self.dims[id])]
    }

    /// Input `k` as an array view.
    pub fn get(&self, k: usize) -> ArrayViewD<'a, F> {
        let view = ArrayViewD::from_shape(IxDyn(self.dims(k)), self.slice(k));
        view.expect("the executor sizes every buffer to its node's shape")
    }
}

/// Write access to the gradients of an op's inputs.
///
/// Gradients accumulate: a node used by several ops receives the sum of their
/// contributions. Buffers are zeroed lazily: [`slice`](Self::slice) and [`get`](Self::get)
/// hand out a buffer to add into (zeroed first if nothing wrote it yet in this pass), while
/// [`slice_or_fresh`](Self::slice_or_fresh) and [`get_or_fresh`](Self::get_or_fresh) also say
/// whether the buffer is fresh, so that an op which can overwrite (a matrix product) skips
/// both the zeroing and the read of the old value.
pub struct GradInputs<'a, F> {
    pub(crate) grads: &'a mut [Vec<F>],
    pub(crate) dims: &'a [Vec<usize>],
    pub(crate) ids: &'a [NodeId],
    pub(crate) wanted: &'a [bool],
    pub(crate) written: &'a mut [bool],
}

impl<F: Float> GradInputs<'_, F> {
    /// Whether input `k` wants a gradient.
    pub fn wants(&self, k: usize) -> bool {
        self.wanted[self.ids[k].index()]
    }

    /// The gradient buffer of input `k`, if it wants one, and whether it is fresh (holds
    /// garbage that must be overwritten rather than added to).
    pub fn slice_or_fresh(&mut self, k: usize) -> Option<(&mut [F], bool)> {
        let id = self.ids[k].index();
        if !self.wanted[id] {
            return None;
        }
        let fresh = !self.written[id];
        self.written[id] = true;
        let len = element_count(&self.dims[id]);
        Some((&mut self.grads[id][..len], fresh))
    }

    /// The gradient buffer of input `k` as a slice to add into, if it wants one.
    pub fn slice(&mut self, k: usize) -> Option<&mut [F]> {
        let (buf, fresh) = self.slice_or_fresh(k)?;
        if fresh {
            buf.fill(F::zero());
        }
        Some(buf)
    }

    /// Like [`slice_or_fresh`](Self::slice_or_fresh), as an array view.
    pub fn get_or_fresh(&mut self, k: usize) -> Option<(ArrayViewMutD<'_, F>, bool)> {
        let dims: &[Vec<usize>] = self.dims;
        let id = self.ids[k].index();
        let (slice, fresh) = self.slice_or_fresh(k)?;
        let view = ArrayViewMutD::from_shape(IxDyn(&dims[id]), slice);
        Some((
            view.expect("the executor sizes every buffer to its node's shape"),
            fresh,
        ))
    }

    /// The gradient of input `k` as an array view to add into, if it wants one.
    pub fn get(&mut self, k: usize) -> Option<ArrayViewMutD<'_, F>> {
        let dims: &[Vec<usize>] = self.dims;
        let id = self.ids[k].index();
        let slice = self.slice(k)?;
        let view = ArrayViewMutD::from_shape(IxDyn(&dims[id]), slice);
        Some(view.expect("the executor sizes every buffer to its node's shape"))
    }
}

/// Number of elements of an array with these dimensions.
pub(crate) fn element_count(dims: &[usize]) -> usize {
    dims.iter().product()
}
