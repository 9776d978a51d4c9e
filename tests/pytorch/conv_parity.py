#!/usr/bin/env python3
"""Parity of knit's convolutional layers with PyTorch's `nn.Conv2d`, pooling and `nn.BatchNorm2d`.

What it does, for each of four cases, all on images [2, 10, 10] with a 3-class
`nn.Linear` head named `out`:

- `conv`: `c1 = conv2d(4, 3, padding: 1) |> relu |> max_pool(2)` ([4, 5, 5]),
  `c2 = conv2d(6, 3, stride: 2, padding: 1, groups: 2) |> relu |> avg_pool(2, stride: 1)`
  ([6, 2, 2]), `out = flatten |> dense(3)` (24 inputs, PyTorch's `torch.flatten(x, 1)`
  order);
- `conv_bn`: the same with a `batchnorm` (BatchNorm2d(4), momentum 0.1, eps 1e-5) between
  `c1`'s convolution, here without bias, and its relu, named `c1.batchnorm` (knit's name
  for the second layer
  with parameters of statement `c1`; the torch model registers the BatchNorm2d as a child
  `batchnorm` of the Conv2d `c1` so that the state_dict keys are the same), and
  `global_avg_pool` in place of `avg_pool |> flatten` (6 inputs to the head); the
  checkpoint's `running_mean`, `running_var` and `num_batches_tracked` are compared too.
  Why no bias before the batch norm (the usual recipe): the normalization subtracts each
  channel's mean, so the loss does not depend on that bias and its gradient is 0 up to
  rounding (about 5e-9 on the first batch); Adam divides by the square root of its own
  second moment, which turns that rounding noise into steps of up to ~lr, so with a bias
  knit and PyTorch ended 3.0e-2 apart on it (and 1.0e-2 on `running_mean`, which adds it
  in) while every other tensor and loss agreed to 1e-7;
- `conv_dilated`: `c1 = conv2d(4, 3, padding: same, dilation: 2, bias: false) |> relu |>
  max_pool(3, stride: 2, padding: 1)` ([4, 5, 5]; PyTorch: `padding=2`),
  `c2 = conv2d(6, [3, 2], stride: [2, 1], groups: 2) |> relu |> avg_pool(2)` ([6, 1, 2]),
  `out = flatten |> dense(3)`;
- `conv_winograd`: `c1 = conv2d(8, 3, padding: 1) |> relu`, `c2 = conv2d(8, 3, padding: 1)
  |> relu |> max_pool(2)` ([8, 5, 5]), `c3 = conv2d(8, 3) |> relu` ([8, 3, 3]), `out =
  flatten |> dense(3)`: `c2` and `c3` have 8 channels in and out, so knit computes them with
  Winograd's F(2×2, 3×3) (`c3` unpadded, with an odd output side).

1. `torch.manual_seed(k)` (k = 11, 12, 13, 14 in the order above), builds the model and saves
   its initial state_dict to `fixtures/<case>_init.safetensors` (float32;
   `num_batches_tracked` int64 as PyTorch keeps it).
2. Writes, once for all cases, `fixtures/images.csv`: 48 rows without a header, each 200
   values in [-1, 1] with 3 decimals (2 channels x 10 rows x 10 columns, channel-major as
   knit reads `[C, H, W]`: value `c*100 + i*10 + j` is pixel (i, j) of channel c) and an
   integer label 0..2 last (the largest of: the mean of channel 0's top half, of channel 0's
   bottom half, of channel 1). PyTorch trains on the values parsed back from that text, so
   both sides see the same float32 inputs.
3. Trains in PyTorch: the whole set in file order (no shuffling), batches of 16 (3 steps per
   epoch), 4 epochs (12 steps), Adam(lr=0.01) with PyTorch's other defaults, the mean
   cross-entropy of the head's logits, `clip_grad_norm_(params, MAX_NORM)` before each step
   (MAX_NORM = 0.2: the script prints the global gradient norms before clipping, so that one
   can see the clip act on some of the steps). Saves the final state_dict to
   `fixtures/<case>_trained.safetensors` and the per-epoch mean training loss (the mean of
   the epoch's three batch losses, taken before each step, in training mode) to
   `fixtures/conv_losses.json`.
4. Writes the matching knit program `<case>.net` (beside this script): the CSV with
   `label: last, header: no`, no split line, no scaling, `batch 16` without shuffle,
   `epochs 4`, `adam(lr: 0.01)`, `clip norm(0.2)`, `start from
   "fixtures/<case>_init.safetensors"`, `seed 0`, `save "runs/<case>.safetensors"`.
5. Unless `--no-knit`: runs `knit train <case>.net --out <tmpdir> --report <tmpdir>/r.json`,
   loads knit's checkpoint, lists its entries that are not model parameters or buffers
   (knit's resume-only entries start with `_knit.`), loads the others into a fresh model with
   `load_state_dict(strict=True)`, checks that this model gives PyTorch's trained model's
   logits on the data (in evaluation mode, so batch norm uses the loaded running statistics),
   and prints, per tensor, the largest absolute difference between knit's trained tensors and
   PyTorch's, that difference relative to the tensor's largest magnitude, and how far
   PyTorch's training moved the tensor from its initial value. It also compares Adam's state
   and the per-epoch training losses of the two runs.

The Rust test `crates/cli/tests/pytorch_conv.rs` repeats step 5 without torch, against the
committed fixtures; regenerate them with this script only when the recipe changes (the
script is deterministic on one CPU: rerunning it rewrites the same bytes; on another
CPU, oneDNN's kernels may round the trained tensors of the first three cases differently,
in the last place).

Usage (from anywhere; paths are resolved from this file's folder):

    /path/to/venv/bin/python tests/pytorch/conv_parity.py [--knit PATH] [--no-knit]

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

CHANNELS, SIDE, CLASSES = 2, 10, 3
ROWS, BATCH, EPOCHS, LR, MAX_NORM = 48, 16, 4, 0.01, 0.2
DATA_SEED = 20241202


class ConvNet(nn.Module):
    """Case `conv`: two convolutions, max and average pooling, a flatten and a head."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(CHANNELS, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
        self.out = nn.Linear(6 * 2 * 2, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.avg_pool2d(F.relu(self.c2(x)), 2, stride=1)
        return self.out(torch.flatten(x, 1))


class ConvBnNet(nn.Module):
    """Case `conv_bn`: `conv` with BatchNorm2d after the first convolution, global pooling."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(CHANNELS, 4, 3, padding=1, bias=False)
        # A child of the Conv2d, so its keys are `c1.batchnorm.*` as in knit.
        self.c1.add_module("batchnorm", nn.BatchNorm2d(4))
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
        self.out = nn.Linear(6, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1.batchnorm(self.c1(x))), 2)
        x = F.relu(self.c2(x))
        return self.out(x.mean(dim=(2, 3)))


class DilatedNet(nn.Module):
    """Case `conv_dilated`: a dilated convolution without bias, padded max pooling, a
    rectangular kernel and stride."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(CHANNELS, 4, 3, padding=2, dilation=2, bias=False)
        self.c2 = nn.Conv2d(4, 6, (3, 2), stride=(2, 1), groups=2)
        self.out = nn.Linear(6 * 1 * 2, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 3, stride=2, padding=1)
        x = F.avg_pool2d(F.relu(self.c2(x)), 2)
        return self.out(torch.flatten(x, 1))


class WinogradNet(nn.Module):
    """Case `conv_winograd`: 3×3 convolutions of stride 1 with 8 channels in and out, which
    knit computes with Winograd's F(2×2, 3×3), padded (10 × 10, even) and unpadded (5 × 5 in,
    3 × 3 out: a tile past the edge)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(CHANNELS, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 8, 3)
        self.out = nn.Linear(8 * 3 * 3, CLASSES)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.c3(x))
        return self.out(torch.flatten(x, 1))


# name: (torch seed, knit model statements, torch model class)
CASES = {
    "conv": (11, [
        "c1  = x |> conv2d(4, 3, padding: 1) |> relu |> max_pool(2)",
        "c2  = c1 |> conv2d(6, 3, stride: 2, padding: 1, groups: 2) |> relu |> avg_pool(2, stride: 1)",
        f"out = c2 |> flatten |> dense({CLASSES})",
    ], ConvNet),
    "conv_bn": (12, [
        "c1  = x |> conv2d(4, 3, padding: 1, bias: false) |> batchnorm |> relu |> max_pool(2)",
        "c2  = c1 |> conv2d(6, 3, stride: 2, padding: 1, groups: 2) |> relu",
        f"out = c2 |> global_avg_pool |> dense({CLASSES})",
    ], ConvBnNet),
    "conv_dilated": (13, [
        "c1  = x |> conv2d(4, 3, padding: same, dilation: 2, bias: false) |> relu |> max_pool(3, stride: 2, padding: 1)",
        "c2  = c1 |> conv2d(6, [3, 2], stride: [2, 1], groups: 2) |> relu |> avg_pool(2)",
        f"out = c2 |> flatten |> dense({CLASSES})",
    ], DilatedNet),
    "conv_winograd": (14, [
        "c1  = x |> conv2d(8, 3, padding: 1) |> relu",
        "c2  = c1 |> conv2d(8, 3, padding: 1) |> relu |> max_pool(2)",
        "c3  = c2 |> conv2d(8, 3) |> relu",
        f"out = c3 |> flatten |> dense({CLASSES})",
    ], WinogradNet),
}


def state(model):
    """The state_dict as saved: float32, except batch norm's int64 counter."""
    return {k: (v.detach().clone() if v.dtype == torch.int64
                else v.detach().to(torch.float32).contiguous().clone())
            for k, v in model.state_dict().items()}


def write_dataset(path):
    """The CSV text; returns nothing (the inputs are read back from the file)."""
    rng = np.random.RandomState(DATA_SEED)
    x = np.round(rng.uniform(-1.0, 1.0, size=(ROWS, CHANNELS * SIDE * SIDE)), 3)
    x[x == 0] = 0.0  # no "-0.000"
    img = x.reshape(ROWS, CHANNELS, SIDE, SIDE)
    half = SIDE // 2
    scores = np.stack([img[:, 0, :half].mean(axis=(1, 2)), img[:, 0, half:].mean(axis=(1, 2)),
                       img[:, 1].mean(axis=(1, 2))], axis=1)
    y = scores.argmax(axis=1)
    with open(path, "w", newline="\n") as f:
        for row, label in zip(x, y):
            f.write(",".join(f"{v:.3f}" for v in row) + f",{int(label)}\n")


def read_dataset(path):
    """The rows as knit reads them: each value parsed as a decimal, then rounded to f32."""
    xs, ys = [], []
    with open(path) as f:
        for line in f:
            cells = line.strip().split(",")
            xs.append([float(c) for c in cells[:-1]])
            ys.append(int(cells[-1]))
    x = torch.tensor(np.array(xs, dtype=np.float64).astype(np.float32))
    return x.reshape(len(xs), CHANNELS, SIDE, SIDE), torch.tensor(ys, dtype=torch.int64)


def train_torch(case, x, y):
    """PyTorch's run: the model, its initial and trained state, the epoch losses, Adam's
    state and the gradient norms before clipping."""
    seed, _, make = CASES[case]
    torch.manual_seed(seed)
    model = make()
    model.train()
    init = state(model)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    losses, norms = [], []
    for _ in range(EPOCHS):
        batch_losses = []
        for start in range(0, len(x), BATCH):
            xb, yb = x[start:start + BATCH], y[start:start + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            norms.append(nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM).item())
            opt.step()
            batch_losses.append(loss.item())
        losses.append(float(np.mean(batch_losses)))
    adam = {f"{name}.{k}": v.detach().clone().to(torch.float32)
            for name, p in model.named_parameters() for k, v in opt.state[p].items()}
    return model, init, state(model), losses, adam, norms


def net_program(case):
    _, statements, _ = CASES[case]
    body = "\n".join(f"  {s}" for s in statements)
    return f"""# {case}.net: written by tests/pytorch/conv_parity.py; edit that script, not this file.
# PyTorch's recipe there: a small convolutional network on [{CHANNELS}, {SIDE}, {SIDE}] images and a
# {CLASSES}-class head, started from PyTorch's initial weights, {EPOCHS} epochs of Adam on the {ROWS}
# rows in file order, gradients clipped to global norm {MAX_NORM}. The trained weights must
# match fixtures/{case}_trained.safetensors (crates/cli/tests/pytorch_conv.rs).

seed 0

data images {{
  source csv("fixtures/images.csv", label: last, header: no)
}}

model cnn(x: [{CHANNELS}, {SIDE}, {SIDE}]) -> [{CLASSES}] {{
{body}
}}

train cnn on images {{
  loss      cross_entropy
  optimizer adam(lr: {LR})
  clip      norm({MAX_NORM})
  batch     {BATCH}
  epochs    {EPOCHS}
  start     from "fixtures/{case}_init.safetensors"
  save      "runs/{case}.safetensors"
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--knit", default=os.environ.get("KNIT",
                                                     os.path.join(REPO, "target/release/knit")))
    ap.add_argument("--no-knit", action="store_true", help="only write the fixtures")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(FIXTURES, exist_ok=True)
    csv = os.path.join(FIXTURES, "images.csv")
    write_dataset(csv)
    x, y = read_dataset(csv)
    print(f"data: {len(x)} rows, labels {np.bincount(y.numpy(), minlength=CLASSES).tolist()}")

    results, all_losses = {}, {}
    for case in CASES:
        model, init, trained, losses, adam, norms = train_torch(case, x, y)
        meta = {"format": "pt"}  # one entry: safetensors writes a map in random order
        save_file(init, os.path.join(FIXTURES, f"{case}_init.safetensors"), metadata=meta)
        save_file(trained, os.path.join(FIXTURES, f"{case}_trained.safetensors"), metadata=meta)
        with open(os.path.join(HERE, f"{case}.net"), "w", newline="\n") as f:
            f.write(net_program(case))
        all_losses[case] = losses
        results[case] = (model, init, trained, adam)
        clipped = sum(n > MAX_NORM for n in norms)
        print(f"{case}: gradient norms before clipping {min(norms):.3f}..{max(norms):.3f}, "
              f"clipped on {clipped} of {len(norms)} steps")
    with open(os.path.join(FIXTURES, "conv_losses.json"), "w", newline="\n") as f:
        json.dump({"recipe": "per-epoch mean of the batch cross-entropies, before each step",
                   "cases": all_losses}, f, indent=2)
        f.write("\n")
    print(f"fixtures written to {os.path.relpath(FIXTURES, REPO)}")
    if args.no_knit:
        return 0

    failed = False
    with tempfile.TemporaryDirectory(prefix="knit-conv-parity-") as tmp:
        rows = []
        for case in CASES:
            model, init, trained, adam = results[case]
            ckpt, report = run_knit(args.knit, case, tmp)
            knit_state = load_file(ckpt)
            extra = sorted(k for k in knit_state if k not in trained)
            model_entries = {k: v for k, v in knit_state.items() if not k.startswith("_knit.")}
            fresh = CASES[case][2]()
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
            with torch.no_grad():
                fresh.eval()
                model.eval()
                logits = (fresh(x) - model(x)).abs().max().item()
            print(f"  logits of the loaded model (eval mode) vs PyTorch's trained model: "
                  f"max |difference| {logits:.3e}")
            worst = max(((knit_state[f"_knit.optimizer.{k}"].double() - v.double()).abs().max()
                         / max(v.abs().max().item(), 1e-30)).item() for k, v in adam.items())
            print(f"  Adam state ({len(adam)} tensors: exp_avg, exp_avg_sq, step): "
                  f"largest difference relative to the tensor's scale {worst:.3e}")
            kl = knit_losses(report)
            tl = all_losses[case]
            print(f"  train loss torch {['%.7f' % v for v in tl]}")
            print(f"  train loss knit  {['%.7f' % v for v in kl]}")
            print(f"  largest loss difference {max(abs(a - b) for a, b in zip(kl, tl)):.3e}")
            for name, want in trained.items():
                got = knit_state.get(name)
                if got is None or tuple(got.shape) != tuple(want.shape):
                    rows.append((case, name, tuple(want.shape), None, None, None))
                    failed = True
                    continue
                diff = (got.double() - want.double()).abs().max().item()
                scale = max(want.double().abs().max().item(), 1e-30)
                moved = (want.double() - init[name].double()).abs().max().item()
                rows.append((case, name, tuple(want.shape), diff, diff / scale, moved))
                failed |= diff / scale > args.tolerance
        print(f"\n{'case':13} {'tensor':31} {'shape':8} {'max|knit-torch|':>15} "
              f"{'relative':>10} {'moved':>9}")
        for case, name, shape, diff, rel, moved in rows:
            shape = "x".join(map(str, shape)) or "-"
            if diff is None:
                print(f"{case:13} {name:31} {shape:8} {'MISSING/SHAPE':>15}")
            else:
                print(f"{case:13} {name:31} {shape:8} {diff:15.3e} {rel:10.3e} {moved:9.3e}")
    print("\nFAIL" if failed else "\nall cases within tolerance")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
