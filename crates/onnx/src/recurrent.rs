//! One recurrent layer as ONNX's `RNN`, `LSTM` or `GRU` operator.
//!
//! knit keeps PyTorch's layouts: `weight_ih` `[G·H, I]`, `weight_hh` `[G·H, H]`, biases
//! `[G·H]`, gate blocks stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n). ONNX
//! stacks them as LSTM i, o, f, c and GRU z, r, h, adds a leading direction axis, joins the
//! two biases into one `[1, 2·G·H]` and runs time-major `[T, N, I]`. So the blocks are
//! reordered, the input transposed to time-major and the output `[T, 1, N, H]` squeezed and
//! transposed back to knit's `[N, T, H]`. PyTorch's GRU applies the reset gate after the
//! recurrent product (`n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`), which is ONNX's
//! `linear_before_reset = 1`.

use crate::builder::{Attr, GraphBuilder};
use knit_tensor::ops::{Cell, RnnActivation};
use ndarray::ArrayD;

/// For each ONNX gate block, the PyTorch block it comes from.
fn onnx_order(cell: Cell) -> &'static [usize] {
    match cell {
        Cell::Rnn(_) => &[0],
        // PyTorch i, f, g, o → ONNX i, o, f, c.
        Cell::Lstm => &[0, 3, 1, 2],
        // PyTorch r, z, n → ONNX z, r, h.
        Cell::Gru => &[1, 0, 2],
    }
}

/// The rows of `w` (`[G·H, ...]`, row-major) with its gate blocks in ONNX's order.
fn reorder(w: &ArrayD<f32>, cell: Cell) -> Vec<f32> {
    let data: Vec<f32> = w.iter().copied().collect();
    let block = data.len() / cell.gates();
    onnx_order(cell)
        .iter()
        .flat_map(|&g| data[g * block..(g + 1) * block].iter().copied())
        .collect()
}

/// Writes the layer over `x` `[N, T, I]` with `weights` = `[weight_ih, weight_hh]` and
/// optionally `bias_ih, bias_hh`; returns the value of every step's hidden state `[N, T, H]`.
pub(crate) fn lower(
    b: &mut GraphBuilder,
    base: &str,
    cell: Cell,
    x: &str,
    weights: &[ArrayD<f32>],
) -> String {
    let (gh, input) = (weights[0].shape()[0], weights[0].shape()[1]);
    let hidden = gh / cell.gates();
    let w = b.floats(
        &format!("{base}.W"),
        &[1, gh, input],
        reorder(&weights[0], cell),
    );
    let r = b.floats(
        &format!("{base}.R"),
        &[1, gh, hidden],
        reorder(&weights[1], cell),
    );
    let mut inputs = vec![String::new(), w, r];
    if let [_, _, b_ih, b_hh] = weights {
        let joined = reorder(b_ih, cell).into_iter().chain(reorder(b_hh, cell));
        inputs.push(b.floats(&format!("{base}.B"), &[1, 2 * gh], joined));
    }
    inputs[0] = b.node(
        "Transpose",
        &format!("{base}.time_major"),
        &[x],
        &[("perm", Attr::Ints(vec![1, 0, 2]))],
    );
    let mut attrs = vec![("hidden_size", Attr::Int(hidden as i64))];
    let op = match cell {
        Cell::Rnn(activation) => {
            let f = match activation {
                RnnActivation::Tanh => "Tanh",
                RnnActivation::Relu => "Relu",
            };
            attrs.push(("activations", Attr::Strs(vec![f.into()])));
            "RNN"
        }
        Cell::Lstm => "LSTM",
        Cell::Gru => {
            attrs.push(("linear_before_reset", Attr::Int(1)));
            "GRU"
        }
    };
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let y = b.node(op, &format!("{base}.Y"), &refs, &attrs);
    let axis = b.int64s(&format!("{base}.direction_axis"), &[1]);
    let squeezed = b.node("Squeeze", &format!("{base}.squeezed"), &[&y, &axis], &[]);
    b.node(
        "Transpose",
        base,
        &[&squeezed],
        &[("perm", Attr::Ints(vec![1, 0, 2]))],
    )
}
