//! Recurrent layers over sequences `[B, T, F]` (batch first, PyTorch's `batch_first=True`):
//! one layer of `nn.RNN`, `nn.LSTM` or `nn.GRU`, trained by full backpropagation through time.
//!
//! Inputs: `x` `[B, T, I]`, `weight_ih` `[G·H, I]`, `weight_hh` `[G·H, H]` and optionally both
//! `bias_ih` and `bias_hh` `[G·H]`, with G = 1 (RNN), 4 (LSTM) or 3 (GRU) gate blocks stacked
//! in PyTorch's row order. Output: every step's hidden state `[B, T, H]`; the initial states
//! are zero. Stacked layers are several of these ops, one per layer.
//!
//! How it runs (each cell's formulas are in its own file: `rnn.rs`, `lstm.rs`, `gru.rs`):
//! - the input projection `x·W_ihᵀ` of every step is one matrix product over the `B·T`
//!   rows;
//! - each step then adds `h_{t−1}·W_hhᵀ` with one product over the batch, adds the biases
//!   (`b_ih + b_hh` for RNN and LSTM, `b_ih` for the GRU, whose `b_hh` stays with its
//!   recurrent product) and applies the cell's nonlinearities row by row, in place;
//! - backward walks the steps in reverse with one product per step (`dh_{t−1} = dâ_t·W_hh`),
//!   keeping every step's pre-activation gradient, and ends with one product each for
//!   `∂W_ih = dâᵀ·x`, `∂W_hh = dâᵀ·h_{prev}` and `∂x = dâ·W_ih` over all `B·T` rows, and
//!   one sum over those rows for the biases (shared by both biases of RNN and LSTM).
//!
//! Nothing is allocated per step or per batch: the activated gates, the previous hidden
//! states (and the LSTM's cell states) live in the node's scratch, the backward gradients in
//! its workspace.

mod gru;
mod lstm;
mod rnn;

pub use rnn::RnnActivation;

use crate::linalg::matmul_into;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};
use knit_simd::vectorized;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

/// Which recurrent cell a [`Recurrent`] layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `nn.RNN`: one gate block.
    Rnn(RnnActivation),
    /// `nn.LSTM`: four gate blocks, i, f, g, o.
    Lstm,
    /// `nn.GRU`: three gate blocks, r, z, n.
    Gru,
}

impl Cell {
    /// The number of gate blocks G: the weights have `G·H` rows.
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn(_) => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// The layer's name in messages and summaries: `rnn`, `lstm`, `gru`.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Rnn(_) => "rnn",
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
        }
    }
}

/// One recurrent layer: `[B, T, I]` → `[B, T, H]` (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recurrent {
    /// The cell.
    pub cell: Cell,
}

impl Recurrent {
    /// `∂L/∂h_t` for every example and step, `[B, T, H]`, from the layer's workspace
    /// ([`Executor::workspace`](crate::Executor::workspace)) after a backward pass: the total
    /// derivative, through the layer's output at step t and through every later step. Its
    /// norm over t shows gradients vanishing or exploding through time.
    pub fn hidden_gradients<F>(workspace: &[F], batch: usize, steps: usize, hidden: usize) -> &[F] {
        &workspace[..batch * steps * hidden]
    }
}

/// The sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    batch: usize,
    steps: usize,
    input: usize,
    hidden: usize,
    /// `G·H`, the width of the gate pre-activations.
    width: usize,
}

impl Sizes {
    fn of(cell: Cell, x: &[usize], out: &[usize]) -> Sizes {
        let hidden = out[2];
        Sizes {
            batch: x[0],
            steps: x[1],
            input: x[2],
            hidden,
            width: cell.gates() * hidden,
        }
    }

    /// Elements of a `[B, T, n]` buffer.
    fn seq(self, n: usize) -> usize {
        self.batch * self.steps * n
    }
}

/// The forward scratch: activated gates `[B, T, G·H]`, the hidden state each step starts
/// from `[B, T, H]` (zero at t = 0), and per cell the LSTM's `c` and `tanh c`, or the GRU's
/// recurrent `u_n` `[B, T, H]` and its recurrent product for one step `[B, G·H]`; after
/// these, outside [`Saved`] since every example shares it, the bias each step's gates
/// receive `[G·H]` ([`input_bias`]).
/// Its parts are `&mut [F]` while the forward pass writes them and `&[F]` when backward reads them.
struct Saved<S> {
    gates: S,
    h_prev: S,
    first: S,
    second: S,
    step: S,
}

fn saved_lens(cell: Cell, s: Sizes) -> [usize; 6] {
    let (first, second, step) = match cell {
        Cell::Rnn(_) => (0, 0, 0),
        Cell::Lstm => (s.seq(s.hidden), s.seq(s.hidden), 0),
        Cell::Gru => (s.seq(s.hidden), 0, s.batch * s.width),
    };
    [
        s.seq(s.width),
        s.seq(s.hidden),
        first,
        second,
        step,
        s.width,
    ]
}

/// Writes the bias added to the gates of every step: `b_ih + b_hh` for RNN and LSTM, `b_ih`
/// for the GRU (its `b_hh` belongs to the recurrent side), zeros without biases.
fn input_bias<F: Float>(cell: Cell, biases: Option<(&[F], &[F])>, bias: &mut [F]) {
    match (biases, cell) {
        (None, _) => bias.fill(F::zero()),
        (Some((b_ih, _)), Cell::Gru) => bias.copy_from_slice(b_ih),
        (Some((b_ih, b_hh)), _) => {
            for ((r, &a), &b) in bias.iter_mut().zip(b_ih).zip(b_hh) {
                *r = a + b;
            }
        }
    }
}

/// The backward workspace: the total gradient reaching every `h_t` `[B, T, H]` (first, so that
/// [`Recurrent::hidden_gradients`] finds it), the input-side pre-activation gradients
/// `[B, T, G·H]`, the GRU's recurrent-side ones (the same for RNN and LSTM, so not kept
/// twice), the recurrent gradient reaching `h_{t−1}` and the LSTM's reaching `c_{t−1}` `[B, H]`;
/// after these, outside [`Grads`], one bias gradient `[G·H]` ([`add_row_sums`]).
struct Grads<S> {
    dh_total: S,
    dx_side: S,
    dh_side: S,
    dh_rec: S,
    dc: S,
}

fn grad_lens(cell: Cell, s: Sizes) -> [usize; 6] {
    let dh_side = if cell == Cell::Gru { s.seq(s.width) } else { 0 };
    let dc = if cell == Cell::Lstm {
        s.batch * s.hidden
    } else {
        0
    };
    [
        s.seq(s.hidden),
        s.seq(s.width),
        dh_side,
        s.batch * s.hidden,
        dc,
        s.width,
    ]
}

/// Cuts `buf` into consecutive pieces of the given lengths.
fn carve<F, const N: usize>(mut buf: &mut [F], lens: [usize; N]) -> [&mut [F]; N] {
    lens.map(|len| {
        let (head, tail) = std::mem::take(&mut buf).split_at_mut(len);
        buf = tail;
        head
    })
}

/// Step `t` of a `[B, T, n]` buffer as a `[B, n]` matrix (rows `T·n` apart).
fn step_of<F>(buf: &[F], s: Sizes, n: usize, t: usize) -> ArrayView2<'_, F> {
    let shape = (s.batch, n).strides((s.steps * n, 1));
    ArrayView2::from_shape(shape, &buf[t * n..]).expect("the buffer holds B·T·n elements")
}

/// Step `t` of a `[B, T, n]` buffer as a writable `[B, n]` matrix.
fn step_of_mut<F>(buf: &mut [F], s: Sizes, n: usize, t: usize) -> ArrayViewMut2<'_, F> {
    let shape = (s.batch, n).strides((s.steps * n, 1));
    ArrayViewMut2::from_shape(shape, &mut buf[t * n..]).expect("the buffer holds B·T·n elements")
}

/// A contiguous `rows × cols` matrix over `buf`.
fn matrix<F>(buf: &[F], rows: usize, cols: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols), &buf[..rows * cols]).expect("sized by the op")
}

/// A writable contiguous `rows × cols` matrix over `buf`.
fn matrix_mut<F>(buf: &mut [F], rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols), &mut buf[..rows * cols]).expect("sized by the op")
}

/// The `G` gate blocks of one row, each exactly `n` long, so that loops over them need no
/// bounds checks and vectorize.
#[inline(always)]
fn blocks<F, const G: usize>(row: &[F], n: usize) -> [&[F]; G] {
    let mut parts = row[..G * n].chunks_exact(n);
    std::array::from_fn(|_| parts.next().expect("G blocks of n"))
}

/// [`blocks`], writable.
#[inline(always)]
fn blocks_mut<F, const G: usize>(row: &mut [F], n: usize) -> [&mut [F]; G] {
    let mut parts = row[..G * n].chunks_exact_mut(n);
    std::array::from_fn(|_| parts.next().expect("G blocks of n"))
}

/// Example `b`, step `t` of a `[B, T, n]` buffer.
#[inline(always)]
fn row<F>(buf: &[F], s: Sizes, n: usize, b: usize, t: usize) -> &[F] {
    let at = (b * s.steps + t) * n;
    &buf[at..at + n]
}

/// Example `b`, step `t` of a `[B, T, n]` buffer, writable.
#[inline(always)]
fn row_mut<F>(buf: &mut [F], s: Sizes, n: usize, b: usize, t: usize) -> &mut [F] {
    let at = (b * s.steps + t) * n;
    &mut buf[at..at + n]
}

impl Op for Recurrent {
    fn kind(&self) -> &'static str {
        self.cell.name()
    }

    fn arity(&self) -> Arity {
        Arity::Between(3, 5)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let (x, w_ih, w_hh) = (inputs[0], inputs[1], inputs[2]);
        if !x.batched || x.dims.len() != 2 {
            return Err(format!(
                "the input must be a batch of sequences [B, steps, features], got {x}"
            ));
        }
        let g = self.cell.gates();
        if w_hh.batched || w_hh.dims.len() != 2 || w_hh.dims[0] != g * w_hh.dims[1] {
            return Err(format!(
                "weight_hh must be [{g}·hidden, hidden], got {w_hh}"
            ));
        }
        let (hidden, features) = (w_hh.dims[1], x.dims[1]);
        if w_ih.batched || w_ih.dims != [g * hidden, features] {
            return Err(format!(
                "weight_ih must be [{}, {features}] for {features} input features, got {w_ih}",
                g * hidden
            ));
        }
        match inputs.len() {
            3 => {}
            5 => {
                for (name, b) in [("bias_ih", inputs[3]), ("bias_hh", inputs[4])] {
                    if b.batched || b.dims != [g * hidden] {
                        return Err(format!("{name} must be [{}], got {b}", g * hidden));
                    }
                }
            }
            _ => return Err("give both biases (bias_ih and bias_hh) or neither".into()),
        }
        Ok(Shape::batched([x.dims[0], hidden]))
    }

    fn scratch_len(&self, inputs: &[&[usize]], output: &[usize]) -> usize {
        saved_lens(self.cell, Sizes::of(self.cell, inputs[0], output))
            .iter()
            .sum()
    }

    fn workspace_len(&self, inputs: &[&[usize]], output: &[usize]) -> usize {
        grad_lens(self.cell, Sizes::of(self.cell, inputs[0], output))
            .iter()
            .sum()
    }

    /// The multiply-adds of both products (×2), as PEERS.md counts them; gate arithmetic is
    /// not counted.
    fn flops_per_example(&self, inputs: &[&Shape], _output: &Shape) -> u64 {
        let steps = inputs[0].dims[0] as u64;
        2 * steps * (inputs[1].size() + inputs[2].size()) as u64
    }
}

impl<F: Float> Kernel<F> for Recurrent {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let cell = self.cell;
        let s = Sizes::of(cell, ctx.inputs.dims(0), ctx.output.shape());
        let (h, gh) = (s.hidden, s.width);
        let lens = saved_lens(cell, s);
        let [gates, h_prev, first, second, step, bias] = carve(ctx.scratch, lens);
        let saved = Saved {
            gates,
            h_prev,
            first,
            second,
            step,
        };
        let x = matrix(ctx.inputs.slice(0), s.batch * s.steps, s.input);
        let w_ih = matrix(ctx.inputs.slice(1), gh, s.input);
        let w_hh = matrix(ctx.inputs.slice(2), gh, h);
        let biases = (ctx.inputs.len() == 5).then(|| (ctx.inputs.slice(3), ctx.inputs.slice(4)));
        input_bias(cell, biases, bias);
        // Every sequence starts from h_0 = 0 (scratch is reused across batch sizes, so this
        // row may hold anything).
        for b in 0..s.batch {
            row_mut(saved.h_prev, s, h, b, 0).fill(F::zero());
        }
        // The input projection of every step.
        let mut proj = matrix_mut(saved.gates, s.batch * s.steps, gh);
        matmul_into(&mut proj, &x, &w_ih.t(), false, ctx.threads);
        let out = ctx.output.as_slice_mut().expect("contiguous");
        let b_hh = biases.map(|b| b.1);
        let pass = Pass {
            cell,
            w_hh: &w_hh,
            bias,
            b_hh,
        };
        forward_steps(&pass, saved, out, s, ctx.threads);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let cell = self.cell;
        let s = Sizes::of(cell, ctx.inputs.dims(0), ctx.output.shape());
        let (h, gh) = (s.hidden, s.width);
        let [gates, h_prev, first, second, step, _] = carve_ref(ctx.scratch, saved_lens(cell, s));
        let d_saved = Saved {
            gates,
            h_prev,
            first,
            second,
            step,
        };
        let [dh_total, dx_side, dh_side, dh_rec, dc, d_bias] =
            carve(ctx.workspace, grad_lens(cell, s));
        let mut d = Grads {
            dh_total,
            dx_side,
            dh_side,
            dh_rec,
            dc,
        };
        d.dh_rec.fill(F::zero());
        d.dc.fill(F::zero());
        let w_hh = matrix(ctx.inputs.slice(2), gh, h);
        let g_out = ctx.grad_output.as_slice().expect("contiguous");
        backward_steps(cell, d_saved, &mut d, g_out, s, &w_hh, ctx.threads);
        let rows = s.batch * s.steps;
        let dgx = matrix(d.dx_side, rows, gh);
        let dgh = if cell == Cell::Gru {
            matrix(d.dh_side, rows, gh)
        } else {
            dgx
        };
        if let Some((dx, fresh)) = ctx.grad_inputs.slice_or_fresh(0) {
            let w_ih = matrix(ctx.inputs.slice(1), gh, s.input);
            matmul_into(
                &mut matrix_mut(dx, rows, s.input),
                &dgx,
                &w_ih,
                !fresh,
                ctx.threads,
            );
        }
        if let Some((dw, fresh)) = ctx.grad_inputs.slice_or_fresh(1) {
            let x = matrix(ctx.inputs.slice(0), rows, s.input);
            matmul_into(
                &mut matrix_mut(dw, gh, s.input),
                &dgx.t(),
                &x,
                !fresh,
                ctx.threads,
            );
        }
        if let Some((dw, fresh)) = ctx.grad_inputs.slice_or_fresh(2) {
            let hp = matrix(h_prev, rows, h);
            matmul_into(
                &mut matrix_mut(dw, gh, h),
                &dgh.t(),
                &hp,
                !fresh,
                ctx.threads,
            );
        }
        if ctx.inputs.len() == 5 {
            // RNN and LSTM: both biases receive the same sum, computed once.
            let mut summed = None;
            let sides = [
                (3, &*d.dx_side),
                (
                    4,
                    if cell == Cell::Gru {
                        &*d.dh_side
                    } else {
                        &*d.dx_side
                    },
                ),
            ];
            for (k, side) in sides {
                if let Some(db) = ctx.grad_inputs.slice(k) {
                    if summed != Some(side.as_ptr()) {
                        d_bias.fill(F::zero());
                        add_row_sums(d_bias, side, ctx.threads);
                        summed = Some(side.as_ptr());
                    }
                    db.iter_mut().zip(&*d_bias).for_each(|(d, &v)| *d += v);
                }
            }
        }
        Ok(())
    }
}

/// What every step of a forward pass shares: the cell, the recurrent weights, the bias its
/// gates receive ([`input_bias`]) and, for the GRU, the recurrent-side `b_hh`.
struct Pass<'a, F> {
    cell: Cell,
    w_hh: &'a ArrayView2<'a, F>,
    bias: &'a [F],
    b_hh: Option<&'a [F]>,
}

/// The fewest elements worth splitting [`add_row_sums`] over threads.
const MIN_SUM_PER_THREAD: usize = 1 << 16;

/// `sums += Σ_r rows[r]` over the rows of `rows` (each `sums.len()` long), in row order. With
/// several threads the columns are split between them, so every sum is the same sequence of
/// additions whatever the thread count.
fn add_row_sums<F: Float>(sums: &mut [F], rows: &[F], threads: usize) {
    add_row_sums_of(sums, rows, sums.len(), 0, threads);
}

/// [`add_row_sums`] for the columns `from..from + sums.len()` of rows `width` long.
fn add_row_sums_of<F: Float>(
    sums: &mut [F],
    rows: &[F],
    width: usize,
    from: usize,
    threads: usize,
) {
    let elements = rows.len() / width.max(1) * sums.len();
    if threads > 1 && sums.len() >= 32 && elements >= 2 * MIN_SUM_PER_THREAD {
        let at = (sums.len() / 2).next_multiple_of(16).min(sums.len());
        let (left, right) = sums.split_at_mut(at);
        let half = threads / 2;
        rayon::join(
            || add_row_sums_of(left, rows, width, from, half),
            || add_row_sums_of(right, rows, width, from + at, threads - half),
        );
        return;
    }
    let n = sums.len();
    vectorized(
        #[inline(always)]
        || {
            for row in rows.chunks_exact(width) {
                let row = &row[from..from + n];
                sums.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
            }
        },
    );
}

/// Adds `h_{t−1}·W_hhᵀ` for step `t`: into the gates for RNN and LSTM (skipped at t = 0,
/// where `h_{t−1}` is zero), into the GRU's per-step recurrent buffer (with `b_hh`) otherwise.
fn recurrent_product<F: Float>(
    pass: &Pass<'_, F>,
    saved: &mut Saved<&mut [F]>,
    s: Sizes,
    t: usize,
    threads: usize,
) {
    let (w_hh, b_hh) = (pass.w_hh, pass.b_hh);
    let hp = step_of(saved.h_prev, s, s.hidden, t);
    match pass.cell {
        Cell::Gru => {
            for row in saved.step.chunks_exact_mut(s.width) {
                match b_hh {
                    Some(b) => row.copy_from_slice(b),
                    None => row.fill(F::zero()),
                }
            }
            if t > 0 {
                let mut u = matrix_mut(saved.step, s.batch, s.width);
                matmul_into(&mut u, &hp, &w_hh.t(), true, threads);
            }
        }
        _ if t > 0 => {
            let mut g = step_of_mut(saved.gates, s, s.width, t);
            matmul_into(&mut g, &hp, &w_hh.t(), true, threads);
        }
        _ => {}
    }
}

/// Cuts a read-only `buf` into consecutive pieces of the given lengths.
fn carve_ref<F, const N: usize>(mut buf: &[F], lens: [usize; N]) -> [&[F]; N] {
    lens.map(|len| {
        let (head, tail) = buf.split_at(len);
        buf = tail;
        head
    })
}

/// The biases and the cell's nonlinearities for step `t` of every example, in place, after
/// the products; writes `h_t` to the output and to the next step's `h_prev`.
#[inline(always)]
fn forward_rows<F: Float>(
    pass: &Pass<'_, F>,
    saved: &mut Saved<&mut [F]>,
    out: &mut [F],
    s: Sizes,
    t: usize,
) {
    let (h, gh) = (s.hidden, s.width);
    let bias = &pass.bias[..gh];
    for b in 0..s.batch {
        let hp = row(saved.h_prev, s, h, b, t);
        let ht = row_mut(out, s, h, b, t);
        let g = &mut row_mut(saved.gates, s, gh, b, t)[..gh];
        for (g, &b) in g.iter_mut().zip(bias) {
            *g += b;
        }
        match pass.cell {
            Cell::Rnn(act) => rnn::forward_row(act, g, ht),
            Cell::Lstm => {
                // c_{t−1}: the previous step's c, or zeros (h_prev's first row) at t = 0.
                let (before, now) = saved.first.split_at_mut((b * s.steps + t) * h);
                let c_prev = if t == 0 {
                    hp
                } else {
                    &before[before.len() - h..]
                };
                let c = &mut now[..h];
                let tanh_c = row_mut(saved.second, s, h, b, t);
                lstm::forward_row(g, c_prev, c, tanh_c, ht);
            }
            Cell::Gru => {
                let u = &saved.step[b * gh..(b + 1) * gh];
                let un = row_mut(saved.first, s, h, b, t);
                gru::forward_row(g, u, hp, un, ht);
            }
        }
        if t + 1 < s.steps {
            let ht = row(out, s, h, b, t);
            let at = (b * s.steps + t + 1) * h;
            saved.h_prev[at..at + h].copy_from_slice(ht);
        }
    }
}

/// The cell's backward for step `t` of every example: the pre-activation gradients, and
/// what passes on to step `t − 1` besides the recurrent product.
#[inline(always)]
fn backward_rows<F: Float>(
    cell: Cell,
    saved: &Saved<&[F]>,
    d: &mut Grads<&mut [F]>,
    g_out: &[F],
    s: Sizes,
    t: usize,
) {
    let (h, gh) = (s.hidden, s.width);
    let Saved {
        gates,
        h_prev,
        first,
        second,
        ..
    } = *saved;
    for b in 0..s.batch {
        // dh: the output's gradient plus the recurrent one from step t + 1.
        let dh = row_mut(d.dh_total, s, h, b, t);
        let go = row(g_out, s, h, b, t);
        let rec = &mut d.dh_rec[b * h..(b + 1) * h];
        for ((d, &g), &r) in dh.iter_mut().zip(go).zip(rec.iter()) {
            *d = g + r;
        }
        let dh = row(d.dh_total, s, h, b, t);
        let gt = row(gates, s, gh, b, t);
        let dgx = row_mut(d.dx_side, s, gh, b, t);
        match cell {
            Cell::Rnn(act) => rnn::backward_row(act, gt, dh, dgx),
            Cell::Lstm => {
                let c_prev = if t == 0 {
                    row(h_prev, s, h, b, 0)
                } else {
                    row(first, s, h, b, t - 1)
                };
                let tanh_c = row(second, s, h, b, t);
                let dc = &mut d.dc[b * h..(b + 1) * h];
                lstm::backward_row(gt, c_prev, tanh_c, dh, dc, dgx);
            }
            Cell::Gru => {
                let un = row(first, s, h, b, t);
                let hp = row(h_prev, s, h, b, t);
                let dgh = row_mut(d.dh_side, s, gh, b, t);
                gru::backward_row(gt, un, hp, dh, rec, dgx, dgh);
            }
        }
    }
}

/// The fewest examples worth a thread of their own in the time loop.
const MIN_ROWS_PER_THREAD: usize = 8;

/// Buffers laid out batch-major (`[B, ...]`, every example's rows together), split at
/// example `at` of `batch`; empty buffers (a cell's unused parts) split into two empties.
trait Rows: Sized {
    fn split_rows(self, batch: usize, at: usize) -> (Self, Self);
}

impl<F> Rows for &mut [F] {
    fn split_rows(self, batch: usize, at: usize) -> (Self, Self) {
        let per_example = self.len() / batch.max(1);
        self.split_at_mut(at * per_example)
    }
}

impl<F> Rows for &[F] {
    fn split_rows(self, batch: usize, at: usize) -> (Self, Self) {
        let per_example = self.len() / batch.max(1);
        self.split_at(at * per_example)
    }
}

impl<S: Rows> Saved<S> {
    /// The saved buffers of examples `..at` and `at..`.
    fn split(self, batch: usize, at: usize) -> (Self, Self) {
        let (g0, g1) = self.gates.split_rows(batch, at);
        let (p0, p1) = self.h_prev.split_rows(batch, at);
        let (f0, f1) = self.first.split_rows(batch, at);
        let (s0, s1) = self.second.split_rows(batch, at);
        let (t0, t1) = self.step.split_rows(batch, at);
        let part = |gates, h_prev, first, second, step| Saved {
            gates,
            h_prev,
            first,
            second,
            step,
        };
        (part(g0, p0, f0, s0, t0), part(g1, p1, f1, s1, t1))
    }
}

impl<S: Rows> Grads<S> {
    /// The gradient buffers of examples `..at` and `at..`.
    fn split(self, batch: usize, at: usize) -> (Self, Self) {
        let (h0, h1) = self.dh_total.split_rows(batch, at);
        let (x0, x1) = self.dx_side.split_rows(batch, at);
        let (r0, r1) = self.dh_side.split_rows(batch, at);
        let (e0, e1) = self.dh_rec.split_rows(batch, at);
        let (c0, c1) = self.dc.split_rows(batch, at);
        let part = |dh_total, dx_side, dh_side, dh_rec, dc| Grads {
            dh_total,
            dx_side,
            dh_side,
            dh_rec,
            dc,
        };
        (part(h0, x0, r0, e0, c0), part(h1, x1, r1, e1, c1))
    }
}

/// Whether the time loop over `batch` examples is split over `threads`, and where.
fn split_point(batch: usize, threads: usize) -> Option<usize> {
    (threads > 1 && batch >= 2 * MIN_ROWS_PER_THREAD).then_some(batch / 2)
}

/// The forward time loop, after the input projection: each step's recurrent product and
/// nonlinearities. Examples are independent through time, so with several threads the
/// batch is split and every part runs all its steps on its own thread (one hand-over per
/// pass instead of one per product); each example's values are the same bits either way.
fn forward_steps<F: Float>(
    pass: &Pass<'_, F>,
    saved: Saved<&mut [F]>,
    out: &mut [F],
    s: Sizes,
    threads: usize,
) {
    if let Some(at) = split_point(s.batch, threads) {
        let (saved0, saved1) = saved.split(s.batch, at);
        let (out0, out1) = out.split_rows(s.batch, at);
        let (s0, s1) = (
            Sizes { batch: at, ..s },
            Sizes {
                batch: s.batch - at,
                ..s
            },
        );
        let half = threads / 2;
        rayon::join(
            || forward_steps(pass, saved0, out0, s0, half),
            || forward_steps(pass, saved1, out1, s1, threads - half),
        );
        return;
    }
    let mut saved = saved;
    for t in 0..s.steps {
        recurrent_product(pass, &mut saved, s, t, threads);
        vectorized(
            #[inline(always)]
            || forward_rows(pass, &mut saved, out, s, t),
        );
    }
}

/// The backward time loop, in reverse: each step's cell backward and the product that
/// carries the gradient to the step before; split over threads like [`forward_steps`].
fn backward_steps<F: Float>(
    cell: Cell,
    saved: Saved<&[F]>,
    d: &mut Grads<&mut [F]>,
    g_out: &[F],
    s: Sizes,
    w_hh: &ArrayView2<'_, F>,
    threads: usize,
) {
    if let Some(at) = split_point(s.batch, threads) {
        let (saved0, saved1) = saved.split(s.batch, at);
        let whole = Grads {
            dh_total: &mut *d.dh_total,
            dx_side: &mut *d.dx_side,
            dh_side: &mut *d.dh_side,
            dh_rec: &mut *d.dh_rec,
            dc: &mut *d.dc,
        };
        let (mut d0, mut d1) = whole.split(s.batch, at);
        let (g0, g1) = g_out.split_rows(s.batch, at);
        let (s0, s1) = (
            Sizes { batch: at, ..s },
            Sizes {
                batch: s.batch - at,
                ..s
            },
        );
        let half = threads / 2;
        rayon::join(
            || backward_steps(cell, saved0, &mut d0, g0, s0, w_hh, half),
            || backward_steps(cell, saved1, &mut d1, g1, s1, w_hh, threads - half),
        );
        return;
    }
    let (h, gh) = (s.hidden, s.width);
    for t in (0..s.steps).rev() {
        vectorized(
            #[inline(always)]
            || backward_rows(cell, &saved, d, g_out, s, t),
        );
        if t > 0 {
            // dh_{t−1} = dâ_t·W_hh (+ the GRU's direct part already in dh_rec).
            let side = if cell == Cell::Gru {
                &*d.dh_side
            } else {
                &*d.dx_side
            };
            let da = step_of(side, s, gh, t);
            let mut rec = matrix_mut(d.dh_rec, s.batch, h);
            matmul_into(&mut rec, &da, w_hh, cell == Cell::Gru, threads);
        }
    }
}
