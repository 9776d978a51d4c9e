//! Dropout, defined outside knit-tensor through its open `Op` trait.

use knit_tensor::{
    Arity, BackwardCtx, Float, ForwardCtx, Graph, Kernel, Mode, NodeId, Op, Shape, TensorError,
};
use ndarray::{ArrayD, IxDyn};

/// Inverted dropout (PyTorch's `nn.Dropout`): in training each element is zeroed with
/// probability `p` and the survivors are scaled by `1/(1 − p)`, so the expectation of every
/// output equals its input; in evaluation it is the identity.
///
/// Inputs: `x` and the ratio `p` as an unbatched scalar node (a constant that a trainer may
/// change between steps, which is how a ratio schedule works). The mask of element `i` at
/// training step `t` is drawn from a counter-based generator keyed by `(seed, t, i)`, so a
/// step's mask is the same however often the step is recomputed (gradient checks) and a
/// resumed run draws the masks an uninterrupted one would have. `i` counts from the start
/// of the step's whole batch (the executor's `first_row` examples come before this one), so
/// a data-parallel rank draws for its rows the masks a single process draws for them.
///
/// Backward: `∂x += g · mask`; the ratio gets no gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropout {
    /// Seeds this layer's masks (derive it from the run's seed and the layer's name).
    pub seed: u64,
}

impl Op for Dropout {
    fn kind(&self) -> &'static str {
        "dropout"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        if !inputs[1].is_scalar() {
            return Err(format!(
                "the ratio must be an unbatched scalar, got {}",
                inputs[1]
            ));
        }
        Ok(inputs[0].clone())
    }

    fn differentiable(&self, input: usize) -> bool {
        input == 0
    }

    fn scratch_len(&self, inputs: &[&[usize]], _output: &[usize]) -> usize {
        inputs[0].iter().product()
    }
}

impl<F: Float> Kernel<F> for Dropout {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let x = ctx.inputs.slice(0);
        let p = ctx.inputs.slice(1)[0].as_f64();
        if !(0.0..1.0).contains(&p) {
            return Err(TensorError::InvalidValue {
                op: "dropout".into(),
                node: ctx.node.to_string(),
                message: format!("the ratio must be in [0, 1), got {p}"),
            });
        }
        let mask = &mut ctx.scratch[..x.len()];
        if ctx.mode == Mode::Eval || p == 0.0 {
            mask.fill(F::one());
        } else {
            let keep = F::lit(1.0 / (1.0 - p));
            let stream = mix(self.seed ^ mix(ctx.step));
            let batch = ctx.output.shape().first().copied().unwrap_or(1).max(1);
            let first = ctx.first_row * (x.len() / batch) as u64;
            for (i, m) in mask.iter_mut().enumerate() {
                *m = if unit(stream, first + i as u64) < p {
                    F::zero()
                } else {
                    keep
                };
            }
        }
        let y = ctx.output.as_slice_mut().expect("contiguous");
        for ((o, &v), &m) in y.iter_mut().zip(x).zip(mask.iter()) {
            *o = v * m;
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let mask = &ctx.scratch[..g.len()];
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            for ((d, &gi), &m) in dx.iter_mut().zip(g).zip(mask) {
                *d += gi * m;
            }
        }
        Ok(())
    }
}

/// SplitMix64's finalizer: a bijective scramble of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) for counter `i` of `stream`, with 53 random bits.
fn unit(stream: u64, i: u64) -> f64 {
    (mix(stream ^ mix(i)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Adds a dropout layer after `x`: a constant `<name>.p` holding the ratio and the dropout
/// node `name`. Returns the node; change the ratio between steps with
/// [`Executor::set_constant`](knit_tensor::Executor::set_constant).
pub fn dropout(
    graph: &mut Graph,
    name: &str,
    x: NodeId,
    p: f64,
    seed: u64,
) -> Result<NodeId, TensorError> {
    if !(0.0..1.0).contains(&p) {
        return Err(TensorError::InvalidHyperparameter {
            op: "dropout".into(),
            message: format!("the ratio must be in [0, 1), got {p}"),
        });
    }
    let rate = graph.constant(&format!("{name}.p"), ArrayD::from_elem(IxDyn(&[]), p))?;
    graph.op(Some(name), Dropout { seed }, &[x, rate])
}
