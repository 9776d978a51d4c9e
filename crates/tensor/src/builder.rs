//! One method per built-in op on [`Graph`], so models read like the maths.

use crate::ops::{
    AvgPool2d, BatchNorm, BceWithLogits, Binary, BinaryKind, Cell, Concat, Conv2d, CrossEntropy,
    GlobalAvgPool, Linear, MaxPool2d, Mse, Pointwise, Recurrent, Reduce, ReduceKind, Reshape,
    SelectStep, Softmax, WeightLayout,
};
use crate::{Graph, NodeId, TensorError};
use ndarray::{ArrayD, IxDyn};

type Result<T> = std::result::Result<T, TensorError>;

impl Graph {
    /// A dense layer named `name`: parameters `name.weight` (`[out, in]`) and optionally
    /// `name.bias` (`[out]`), and the node `name = x · Wᵀ + b`.
    pub fn dense(
        &mut self,
        name: &str,
        x: NodeId,
        weight: ArrayD<f32>,
        bias: Option<ArrayD<f32>>,
    ) -> Result<NodeId> {
        let w = self.param(&format!("{name}.weight"), weight)?;
        let mut inputs = vec![x, w];
        if let Some(b) = bias {
            inputs.push(self.param(&format!("{name}.bias"), b)?);
        }
        self.op(Some(name), Linear::default(), &inputs)
    }

    /// `x · Wᵀ + b` with existing parameter nodes (a shared weight uses the same node twice).
    pub fn linear(&mut self, x: NodeId, weight: NodeId, bias: Option<NodeId>) -> Result<NodeId> {
        let mut inputs = vec![x, weight];
        inputs.extend(bias);
        self.op(None, Linear::default(), &inputs)
    }

    /// A 2-D convolution layer named `name` over images `x` `[B, C, H, W]` (PyTorch's
    /// `nn.Conv2d`): parameters `name.weight` `[out, C/groups, kh, kw]` and optionally
    /// `name.bias` `[out]`, and the node `name` `[B, out, OH, OW]` with
    /// `OH = ⌊(H + 2·padding − dilation·(kh − 1) − 1)/stride⌋ + 1` (likewise `OW`); see
    /// [`Conv2d`]. The number of output channels and the kernel size are those of `weight`.
    pub fn conv2d(
        &mut self,
        name: &str,
        x: NodeId,
        weight: ArrayD<f32>,
        bias: Option<ArrayD<f32>>,
        config: Conv2d,
    ) -> Result<NodeId> {
        let w = self.param(&format!("{name}.weight"), weight)?;
        let mut inputs = vec![x, w];
        if let Some(b) = bias {
            inputs.push(self.param(&format!("{name}.bias"), b)?);
        }
        self.op(Some(name), config, &inputs)
    }

    /// The convolution [`Conv2d`] of `x` `[B, C, H, W]` with existing parameter nodes
    /// `weight` `[out, C/groups, kh, kw]` and `bias` `[out]`: `[B, out, OH, OW]`.
    pub fn conv(
        &mut self,
        x: NodeId,
        weight: NodeId,
        bias: Option<NodeId>,
        config: Conv2d,
    ) -> Result<NodeId> {
        let mut inputs = vec![x, weight];
        inputs.extend(bias);
        self.op(None, config, &inputs)
    }

    /// Max pooling [`MaxPool2d`] of `x` `[B, C, H, W]`: `[B, C, OH, OW]` with
    /// `OH = ⌊(H + 2·padding − kernel)/stride⌋ + 1`, the padding counting as −∞.
    pub fn max_pool(&mut self, x: NodeId, config: MaxPool2d) -> Result<NodeId> {
        self.op(None, config, &[x])
    }

    /// Average pooling [`AvgPool2d`] of `x` `[B, C, H, W]`: `[B, C, OH, OW]` with
    /// `OH = ⌊(H + 2·padding − kernel)/stride⌋ + 1`, zero padding counted in the divisor.
    pub fn avg_pool(&mut self, x: NodeId, config: AvgPool2d) -> Result<NodeId> {
        self.op(None, config, &[x])
    }

    /// Global average pooling [`GlobalAvgPool`]: `[B, C, H, W]` → `[B, C]`, the mean of each
    /// channel's `H·W` pixels.
    pub fn global_avg_pool(&mut self, x: NodeId) -> Result<NodeId> {
        self.op(None, GlobalAvgPool, &[x])
    }

    /// The matrix product `a · b`.
    pub fn matmul(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.op(
            None,
            Linear {
                layout: WeightLayout::InOut,
            },
            &[a, b],
        )
    }

    /// Broadcasting `a + b`.
    pub fn add(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.op(None, Binary(BinaryKind::Add), &[a, b])
    }

    /// Broadcasting `a − b`.
    pub fn sub(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.op(None, Binary(BinaryKind::Sub), &[a, b])
    }

    /// Broadcasting `a · b` (elementwise).
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.op(None, Binary(BinaryKind::Mul), &[a, b])
    }

    /// Broadcasting `a / b` (elementwise).
    pub fn div(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.op(None, Binary(BinaryKind::Div), &[a, b])
    }

    /// An elementwise function of `x` (an activation, a scaling).
    pub fn pointwise(&mut self, f: Pointwise, x: NodeId) -> Result<NodeId> {
        self.op(None, f, &[x])
    }

    /// `c · x`.
    pub fn scale(&mut self, x: NodeId, c: f64) -> Result<NodeId> {
        self.pointwise(Pointwise::Scale(c), x)
    }

    /// `−x`.
    pub fn neg(&mut self, x: NodeId) -> Result<NodeId> {
        self.pointwise(Pointwise::Neg, x)
    }

    /// `max(x, 0)`.
    pub fn relu(&mut self, x: NodeId) -> Result<NodeId> {
        self.pointwise(Pointwise::Relu, x)
    }

    /// `tanh x`.
    pub fn tanh(&mut self, x: NodeId) -> Result<NodeId> {
        self.pointwise(Pointwise::Tanh, x)
    }

    /// `1 / (1 + e⁻ˣ)`.
    pub fn sigmoid(&mut self, x: NodeId) -> Result<NodeId> {
        self.pointwise(Pointwise::Sigmoid, x)
    }

    /// Softmax over the last dimension.
    pub fn softmax(&mut self, x: NodeId) -> Result<NodeId> {
        self.op(None, Softmax { log: false }, &[x])
    }

    /// Log-softmax over the last dimension.
    pub fn log_softmax(&mut self, x: NodeId) -> Result<NodeId> {
        self.op(None, Softmax { log: true }, &[x])
    }

    /// Mean softmax cross-entropy of `logits` against integer `labels`.
    pub fn cross_entropy(&mut self, logits: NodeId, labels: NodeId) -> Result<NodeId> {
        self.op(None, CrossEntropy, &[logits, labels])
    }

    /// Mean squared error.
    pub fn mse(&mut self, prediction: NodeId, target: NodeId) -> Result<NodeId> {
        self.op(None, Mse, &[prediction, target])
    }

    /// Mean binary cross-entropy on logits.
    pub fn bce_with_logits(&mut self, logits: NodeId, target: NodeId) -> Result<NodeId> {
        self.op(None, BceWithLogits, &[logits, target])
    }

    /// Sum over everything (`None`) or along one axis.
    pub fn sum(&mut self, x: NodeId, axis: Option<usize>) -> Result<NodeId> {
        self.op(
            None,
            Reduce {
                kind: ReduceKind::Sum,
                axis,
            },
            &[x],
        )
    }

    /// Mean over everything (`None`) or along one axis.
    pub fn mean(&mut self, x: NodeId, axis: Option<usize>) -> Result<NodeId> {
        self.op(
            None,
            Reduce {
                kind: ReduceKind::Mean,
                axis,
            },
            &[x],
        )
    }

    /// New per-example dimensions with the same number of elements.
    pub fn reshape(&mut self, x: NodeId, dims: &[usize]) -> Result<NodeId> {
        self.op(
            None,
            Reshape {
                dims: dims.to_vec(),
            },
            &[x],
        )
    }

    /// Flattens each example to one dimension.
    pub fn flatten(&mut self, x: NodeId) -> Result<NodeId> {
        let size = self.node(x)?.shape.size();
        self.reshape(x, &[size])
    }

    /// Joins nodes along `axis`.
    pub fn concat(&mut self, inputs: &[NodeId], axis: usize) -> Result<NodeId> {
        self.op(None, Concat { axis }, inputs)
    }

    /// Layer `layer` of the recurrent stack `name` over `x` `[B, T, I]`, with PyTorch's
    /// parameter names `name.weight_ih_l{layer}` `[G·H, I]`, `name.weight_hh_l{layer}`
    /// `[G·H, H]` and, when given, `name.bias_ih_l{layer}` and `name.bias_hh_l{layer}` `[G·H]`;
    /// the node, `name.l{layer}`, is every step's hidden state `[B, T, H]`.
    pub fn recurrent(
        &mut self,
        name: &str,
        layer: usize,
        x: NodeId,
        cell: Cell,
        weights: RecurrentWeights,
    ) -> Result<NodeId> {
        let w_ih = self.param(&format!("{name}.weight_ih_l{layer}"), weights.ih)?;
        let w_hh = self.param(&format!("{name}.weight_hh_l{layer}"), weights.hh)?;
        let mut inputs = vec![x, w_ih, w_hh];
        if let Some((b_ih, b_hh)) = weights.biases {
            inputs.push(self.param(&format!("{name}.bias_ih_l{layer}"), b_ih)?);
            inputs.push(self.param(&format!("{name}.bias_hh_l{layer}"), b_hh)?);
        }
        self.op(
            Some(&format!("{name}.l{layer}")),
            Recurrent { cell },
            &inputs,
        )
    }

    /// Step `index` of every sequence in `x` `[B, T, ...]`: `[B, ...]`.
    pub fn step(&mut self, x: NodeId, index: usize) -> Result<NodeId> {
        self.op(None, SelectStep { index }, &[x])
    }

    /// The last step of every sequence in `x` `[B, T, ...]`.
    pub fn last_step(&mut self, x: NodeId) -> Result<NodeId> {
        let steps = self.node(x)?.shape.dims.first().copied().unwrap_or(0);
        self.step(x, steps.saturating_sub(1))
    }

    /// A batch-norm layer named `name` over `[B, C]` activations or `[B, C, H, W]` images
    /// (statistics per channel): parameters `name.weight` (ones) and `name.bias` (zeros),
    /// state `name.running_mean`, `name.running_var` and `name.num_batches_tracked`.
    pub fn batch_norm(&mut self, name: &str, x: NodeId, config: BatchNorm) -> Result<NodeId> {
        // The channels: the features of [B, C], the first axis of [B, C, H, W].
        let c = self.node(x)?.shape.dims.first().copied().unwrap_or(0);
        let w = self.param(&format!("{name}.weight"), ArrayD::ones(IxDyn(&[c])))?;
        let b = self.param(&format!("{name}.bias"), ArrayD::zeros(IxDyn(&[c])))?;
        self.op(Some(name), config, &[x, w, b])
    }
}

/// The initial values of one recurrent layer's parameters, in PyTorch's layouts.
#[derive(Clone, Debug)]
pub struct RecurrentWeights {
    /// `weight_ih` `[G·H, I]`.
    pub ih: ArrayD<f32>,
    /// `weight_hh` `[G·H, H]`.
    pub hh: ArrayD<f32>,
    /// `bias_ih` and `bias_hh` `[G·H]`, or none for `bias=False`.
    pub biases: Option<(ArrayD<f32>, ArrayD<f32>)>,
}
