//! The convolutional layers are PyTorch's: `knit train` on each program
//! `tests/pytorch/conv*.net` (small networks on [2, 10, 10] images: `conv2d` with padding,
//! stride, groups, dilation, `padding: same`, a rectangular kernel and no bias, 8-channel
//! 3×3 layers on the Winograd path, `max_pool` with and without padding, `avg_pool`,
//! `global_avg_pool`, `flatten`, a `batchnorm` on images, and a 3-class `dense` head, started from PyTorch's initial weights, 12 steps of
//! Adam with the gradients clipped to global norm 0.2) must end where PyTorch's
//! `nn.Conv2d` / `F.max_pool2d` / `F.avg_pool2d` / `nn.BatchNorm2d` / `nn.Linear` ended on
//! the same data and recipe: every parameter and batch-norm buffer (`running_mean`,
//! `running_var`, `num_batches_tracked`) of the checkpoint against
//! `tests/pytorch/fixtures/<case>_trained.safetensors`, same names, same shapes, same values
//! within [`TOLERANCE`] (the Winograd case within [`WINOGRAD_TOLERANCE`]), and the per-epoch
//! training loss against `fixtures/conv_losses.json`.
//!
//! The fixtures were written by `tests/pytorch/conv_parity.py` (torch 2.15, CPU), which
//! documents the recipe and also writes the `.net` files; this test needs no torch.

mod common;

use common::pytorch::{matches_pytorch, Parity};

/// The largest `|knit − torch|` allowed for any element of any trained parameter or buffer.
///
/// Measured with `conv_parity.py`: knit and PyTorch end at most 7.5e-8 apart (≤ 3e-7 relative
/// to each tensor's largest magnitude: a few ulp of f32; the batch norm's running statistics
/// agree to 1.6e-9 and its counter exactly, Adam's moments to 1.1e-6 relative, the losses to
/// 1.2e-7, and the checkpoint loaded into the torch models with `load_state_dict(strict=True)`
/// gives PyTorch's logits within 1.2e-7), so 1e-5 leaves a margin of over 100× for other
/// summation orders (SIMD widths, thread counts, a reordered im2col product). It stays below
/// what a wrong layer would give: 12 steps move every weight by 0.04–0.12 from its start, and
/// re-running PyTorch's recipe with a mistake ends, on the tensor it disturbs most, 0.17–0.18
/// away from the fixtures with a flipped kernel (a true convolution) in any of the three cases,
/// 0.20 with the two groups of `c2` reading each other's channels, 0.20 with `flatten` in
/// `[H, W, C]` order, 0.26 with Keras' batch-norm momentum convention, 3.2e-2 with batch norm's
/// `eps` 1e-3 — and 4.6e-5 on `running_var` when it is updated with the biased variance,
/// the subtlest mistake tried (n/(n − 1) = 1.0006 with n = 16·10·10), still 4.6× over this
/// tolerance.
const TOLERANCE: f64 = 1e-5;

/// The largest `|knit − torch|` allowed for an epoch's mean training loss (measured: ≤ 1.2e-7
/// on losses near 1.1).
const LOSS_TOLERANCE: f64 = 1e-5;

/// The fixtures' losses and the tolerances above.
const PARITY: Parity = Parity {
    losses: "conv_losses.json",
    tolerance: TOLERANCE,
    loss_tolerance: LOSS_TOLERANCE,
};

/// Padded convolution, max pooling, a strided grouped convolution, overlapping average
/// pooling, flatten.
#[test]
fn conv_matches_pytorch() {
    matches_pytorch("conv", &PARITY);
}

/// BatchNorm2d after a convolution without bias, global average pooling; the running
/// statistics and the batch counter too.
#[test]
fn conv_with_batchnorm_matches_pytorch() {
    matches_pytorch("conv_bn", &PARITY);
}

/// Dilation 2 with `padding: same` and no bias, padded max pooling, a 3×2 kernel with
/// stride [2, 1].
#[test]
fn dilated_conv_matches_pytorch() {
    matches_pytorch("conv_dilated", &PARITY);
}

/// The largest `|knit − torch|` allowed on case `conv_winograd`, whose 8-channel 3×3 layers
/// knit computes with Winograd's F(2×2, 3×3): its sums round differently from PyTorch's
/// (oneDNN's direct kernels), and this recipe magnifies any rounding: Adam divides each step
/// by the root of its own second moment, and the gradient is clipped on 11 of the 12 steps.
/// Measured: 6.5e-6 on `c3.weight` (3.1e-5 relative to its largest magnitude), and 2.0e-6 on
/// `c2.weight` with the direct patch-matrix product instead; every loss within 1.2e-7. A
/// wrong layer ends 0.17 or more away (see [`TOLERANCE`]).
const WINOGRAD_TOLERANCE: f64 = 5e-5;

/// 3×3, stride-1 convolutions with 8 channels in and out (knit's Winograd path), padded on a
/// 10 × 10 image and unpadded on 5 × 5 (an odd output side, a tile past the edge).
#[test]
fn winograd_conv_matches_pytorch() {
    matches_pytorch(
        "conv_winograd",
        &Parity {
            tolerance: WINOGRAD_TOLERANCE,
            ..PARITY
        },
    );
}
