#!/usr/bin/env python3
"""Parity of knit's recurrent layers with PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU`.

What it does, for each of five cases -- `rnn_tanh`, `rnn_relu`, `lstm`, `gru`, and
`lstm_f64` (the LSTM's recipe in float64: PyTorch's model `.double()` against knit's
`precision f64`, fixtures in float64, `--tolerance-f64`, default 1e-12) -- all with 2
stacked layers, biases, hidden size 6, 3 input features, 5 steps and a 3-class `nn.Linear`
head on the last step:

1. `torch.manual_seed(k)` (k = 1, 2, 3, 4 in the order above), builds the model with the
   recurrent module registered as `h` and the head as `out` (state_dict keys
   `h.weight_ih_l0`, `h.weight_hh_l0`, `h.bias_ih_l0`, `h.bias_hh_l0`, `h.*_l1`,
   `out.weight`, `out.bias`: knit's names for the statements `h = x |> lstm(6, layers: 2)`
   and `out = h |> last_step |> dense(3)`) and saves its initial state_dict to
   `fixtures/<case>_init.safetensors` (float32).
2. Writes, once for all cases, `fixtures/sequences.csv`: 48 rows without a header, each 15
   values in [-1, 1] with 4 decimals (5 steps x 3 features, time-major: value `t*3 + f` is
   feature f at step t) and an integer label 0..2 last (the feature whose sum over the steps
   is largest). PyTorch trains on the values parsed back from that text, so both sides see
   the same float32 inputs.
3. Trains in PyTorch: the whole set in file order (no shuffling), batches of 16 (3 steps per
   epoch), 4 epochs (12 steps), Adam(lr=0.01) with PyTorch's other defaults, the mean
   cross-entropy of the head's logits on the last step, `clip_grad_norm_(params, 1.0)`
   before each step (with this data the global gradient norm stays between 0.07 and 0.48,
   so the clip never acts; MAX_NORM = 0.1, which acts on most steps, was checked to match
   too). Saves the final state_dict to `fixtures/<case>_trained.safetensors` and
   the per-epoch mean training loss (the mean of the epoch's three batch losses, taken before
   each step) to `fixtures/losses.json`.
4. Writes the matching knit program `<case>.net` (beside this script): the CSV with
   `label: last, header: no`, no split line (all rows train), no scaling, `batch 16` without
   shuffle, `epochs 4`, `adam(lr: 0.01)`, `clip norm(1.0)`,
   `start from "fixtures/<case>_init.safetensors"`, `seed 0`, `save "runs/<case>.safetensors"`.
5. Unless `--no-knit`: runs `knit train <case>.net --out <tmpdir> --report <tmpdir>/r.json`,
   loads knit's checkpoint, lists its entries that are not model parameters (knit's
   resume-only entries start with `_knit.`), loads the others into a fresh model with
   `load_state_dict(strict=True)`, and prints, per tensor, the largest absolute difference
   between knit's trained weights and PyTorch's, that difference relative to the tensor's
   largest magnitude, and how far PyTorch's training moved the tensor from its initial
   value (the scale a wrong gate order or formula would be measured against). It also
   compares the per-epoch training losses of the two runs.

The Rust test `crates/cli/tests/pytorch_recurrent.rs` repeats step 5 without torch,
against the committed fixtures; regenerate them with this script only when the recipe
changes (the script is deterministic: rerunning it rewrites the same bytes).

Usage (from anywhere; paths are resolved from this file's folder):

    /path/to/venv/bin/python tests/pytorch/recurrent_parity.py [--knit PATH] [--no-knit]

Needs torch, numpy and safetensors. `--knit` defaults to `$KNIT`, then
`target/release/knit` of this repository. Exits 1 if a strict load fails or a tensor differs
by more than `--tolerance` (default 1e-5) relative to its scale.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from parity_common import group_names, knit_losses, run_knit

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
REPO = os.path.dirname(os.path.dirname(HERE))

FEATURES, HIDDEN, LAYERS, STEPS, CLASSES = 3, 6, 2, 5, 3
ROWS, BATCH, EPOCHS, LR, MAX_NORM = 48, 16, 4, 0.01, 1.0
DATA_SEED = 20240601

# name: (torch seed, knit layer expression, torch module factory)
CASES = {
    "rnn_tanh": (1, f"rnn({HIDDEN}, layers: {LAYERS}, nonlinearity: tanh)",
                 lambda: nn.RNN(FEATURES, HIDDEN, num_layers=LAYERS, batch_first=True,
                                nonlinearity="tanh")),
    "rnn_relu": (2, f"rnn({HIDDEN}, layers: {LAYERS}, nonlinearity: relu)",
                 lambda: nn.RNN(FEATURES, HIDDEN, num_layers=LAYERS, batch_first=True,
                                nonlinearity="relu")),
    "lstm": (3, f"lstm({HIDDEN}, layers: {LAYERS})",
             lambda: nn.LSTM(FEATURES, HIDDEN, num_layers=LAYERS, batch_first=True)),
    "gru": (4, f"gru({HIDDEN}, layers: {LAYERS})",
            lambda: nn.GRU(FEATURES, HIDDEN, num_layers=LAYERS, batch_first=True)),
}
# The LSTM's recipe again in float64: PyTorch's model `.double()` (its float32 initial
# weights widened exactly) on the same inputs widened, against knit's `precision f64`; the
# fixtures are float64 and the two runs agree at float64 rounding level.
CASES["lstm_f64"] = CASES["lstm"]
FLOAT64 = {"lstm_f64"}


class Net(nn.Module):
    """A recurrent stack `h` and a linear head `out` on its last step."""

    def __init__(self, make_recurrent):
        super().__init__()
        self.h = make_recurrent()
        self.out = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        y, _ = self.h(x)
        return self.out(y[:, -1])


def state(model, dtype=torch.float32):
    return {k: v.detach().to(dtype if v.is_floating_point() else v.dtype).contiguous().clone()
            for k, v in model.state_dict().items()}


def write_dataset(path):
    """The CSV text; returns nothing (the inputs are read back from the file)."""
    rng = np.random.RandomState(DATA_SEED)
    x = np.round(rng.uniform(-1.0, 1.0, size=(ROWS, STEPS * FEATURES)), 4)
    x[x == 0] = 0.0  # no "-0.0000"
    y = x.reshape(ROWS, STEPS, FEATURES).sum(axis=1).argmax(axis=1)
    with open(path, "w", newline="\n") as f:
        for row, label in zip(x, y):
            f.write(",".join(f"{v:.4f}" for v in row) + f",{int(label)}\n")


def read_dataset(path):
    """The rows as knit reads them: each value parsed as a decimal, then rounded to f32."""
    xs, ys = [], []
    with open(path) as f:
        for line in f:
            cells = line.strip().split(",")
            xs.append([float(c) for c in cells[:-1]])
            ys.append(int(cells[-1]))
    x = torch.tensor(np.array(xs, dtype=np.float64).astype(np.float32))
    return x.reshape(len(xs), STEPS, FEATURES), torch.tensor(ys, dtype=torch.int64)


def train_torch(case, x, y):
    """PyTorch's run: the model, its initial and trained state, the epoch losses, Adam's state."""
    seed, _, make = CASES[case]
    torch.manual_seed(seed)
    model = Net(make)
    dtype = torch.float64 if case in FLOAT64 else torch.float32
    if case in FLOAT64:
        model = model.double()
        x = x.double()
    init = state(model, dtype)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    losses = []
    for _ in range(EPOCHS):
        batch_losses = []
        for start in range(0, len(x), BATCH):
            xb, yb = x[start:start + BATCH], y[start:start + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
            opt.step()
            batch_losses.append(loss.item())
        losses.append(float(np.mean(batch_losses)))
    adam = {f"{name}.{k}": v.detach().clone().to(dtype)
            for name, p in model.named_parameters() for k, v in opt.state[p].items()}
    return model, init, state(model, dtype), losses, adam


def net_program(case):
    _, layer, _ = CASES[case]
    precision = "\n  precision f64" if case in FLOAT64 else ""
    return f"""# {case}.net: written by tests/pytorch/recurrent_parity.py; edit that script, not this file.
# PyTorch's recipe there: a {case} of {LAYERS} layers x {HIDDEN} over [{STEPS}, {FEATURES}] and a {CLASSES}-class head
# on the last step, started from PyTorch's initial weights, {EPOCHS} epochs of Adam on the {ROWS}
# rows in file order, gradients clipped to global norm {MAX_NORM}. The trained weights must
# match fixtures/{case}_trained.safetensors (crates/cli/tests/pytorch_recurrent.rs).

seed 0

data sequences {{
  source csv("fixtures/sequences.csv", label: last, header: no)
}}

model seq(x: [{STEPS}, {FEATURES}]) -> [{CLASSES}] {{
  h   = x |> {layer}
  out = h |> last_step |> dense({CLASSES})
}}

train seq on sequences {{
  loss      cross_entropy
  optimizer adam(lr: {LR})
  clip      norm({MAX_NORM})
  batch     {BATCH}
  epochs    {EPOCHS}
  start     from "fixtures/{case}_init.safetensors"
  save      "runs/{case}.safetensors"{precision}
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--knit", default=os.environ.get("KNIT",
                                                     os.path.join(REPO, "target/release/knit")))
    ap.add_argument("--no-knit", action="store_true", help="only write the fixtures")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--tolerance-f64", type=float, default=1e-12,
                    help="the same for the float64 case")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(FIXTURES, exist_ok=True)
    csv = os.path.join(FIXTURES, "sequences.csv")
    write_dataset(csv)
    x, y = read_dataset(csv)
    print(f"data: {len(x)} rows, labels {np.bincount(y.numpy(), minlength=CLASSES).tolist()}")

    results, all_losses = {}, {}
    for case in CASES:
        model, init, trained, losses, adam = train_torch(case, x, y)
        meta = {"format": "pt"}  # one entry: safetensors writes a map in random order
        save_file(init, os.path.join(FIXTURES, f"{case}_init.safetensors"), metadata=meta)
        save_file(trained, os.path.join(FIXTURES, f"{case}_trained.safetensors"), metadata=meta)
        with open(os.path.join(HERE, f"{case}.net"), "w", newline="\n") as f:
            f.write(net_program(case))
        all_losses[case] = losses
        results[case] = (init, trained, adam)
    with open(os.path.join(FIXTURES, "losses.json"), "w", newline="\n") as f:
        json.dump({"recipe": "per-epoch mean of the batch cross-entropies, before each step",
                   "cases": all_losses}, f, indent=2)
        f.write("\n")
    print(f"fixtures written to {os.path.relpath(FIXTURES, REPO)}")
    if args.no_knit:
        return 0

    failed = False
    with tempfile.TemporaryDirectory(prefix="knit-parity-") as tmp:
        rows = []
        for case in CASES:
            init, trained, adam = results[case]
            ckpt, report = run_knit(args.knit, case, tmp)
            knit_state = load_file(ckpt)
            extra = sorted(k for k in knit_state if k not in trained)
            model_entries = {k: v for k, v in knit_state.items() if not k.startswith("_knit.")}
            fresh = Net(CASES[case][2])
            if case in FLOAT64:
                fresh = fresh.double()
            try:
                fresh.load_state_dict(model_entries, strict=True)
                strict = "ok"
            except RuntimeError as e:
                strict = f"FAILED: {e}"
                failed = True
            dtypes = sorted({str(v.dtype) for v in model_entries.values()})
            print(f"\n{case}: checkpoint {os.path.relpath(ckpt, tmp)}; strict load of the "
                  f"{len(model_entries)} non-`_knit.` entries: {strict}; dtypes {dtypes}")
            print(f"  {len(extra)} extra entries: {group_names(extra)}")
            # Adam's moments and step counts, PyTorch's `opt.state[p]` against knit's
            # `_knit.optimizer.<param>.<key>`.
            worst = max(((knit_state[f"_knit.optimizer.{k}"].double() - v.double()).abs().max()
                         / max(v.abs().max().item(), 1e-30)).item() for k, v in adam.items())
            print(f"  Adam state ({len(adam)} tensors: exp_avg, exp_avg_sq, step): "
                  f"largest difference relative to the tensor's scale {worst:.3e}")
            kl = knit_losses(report)
            tl = all_losses[case]
            print(f"  train loss torch {['%.7f' % v for v in tl]}")
            print(f"  train loss knit  {['%.7f' % v for v in kl]}")
            for name, want in trained.items():
                got = knit_state.get(name)
                if got is None or tuple(got.shape) != tuple(want.shape):
                    rows.append((case, name, tuple(want.shape), None, None, None))
                    failed = True
                    continue
                diff = (got.double() - want.double()).abs().max().item()
                scale = want.abs().max().item()
                moved = (want.double() - init[name].double()).abs().max().item()
                rows.append((case, name, tuple(want.shape), diff, diff / scale, moved))
                bound = args.tolerance_f64 if case in FLOAT64 else args.tolerance
                failed |= diff / scale > bound
        print(f"\n{'case':9} {'tensor':16} {'shape':8} {'max|knit-torch|':>15} "
              f"{'relative':>10} {'moved':>9}")
        for case, name, shape, diff, rel, moved in rows:
            shape = "x".join(map(str, shape))
            if diff is None:
                print(f"{case:9} {name:16} {shape:8} {'MISSING/SHAPE':>15}")
            else:
                print(f"{case:9} {name:16} {shape:8} {diff:15.3e} {rel:10.3e} {moved:9.3e}")
    print("\nFAIL" if failed else "\nall cases within tolerance")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
