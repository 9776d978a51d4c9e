"""Helpers shared by the PyTorch parity scripts of this folder (`recurrent_parity.py`,
`conv_parity.py`): running `knit train` on a case and reading its report."""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def knit_losses(report):
    """Per-epoch training losses from knit's JSON report (`--report`)."""
    return [float(e["train_loss"]) for e in report["epochs"]]


def group_names(names):
    """`_knit.optimizer.h.weight_ih_l0.exp_avg` (or `c1.weight`...) summarized as `_knit.optimizer.<param>.exp_avg`."""
    groups = {}
    for n in names:
        key = re.sub(r"^(_knit\.optimizer\.).*\.([a-z_]+)$", r"\1<param>.\2", n)
        groups[key] = groups.get(key, 0) + 1
    return ", ".join(f"{k} x{c}" if c > 1 else k for k, c in sorted(groups.items()))


def run_knit(knit, case, tmp):
    """Trains `<case>.net` into `tmp/<case>`; returns knit's checkpoint path and its report."""
    out_dir = os.path.join(tmp, case)
    report = os.path.join(tmp, f"{case}.report.json")
    # Absolute: with a bare file name (`knit train lstm.net --out D`) knit 0.1 writes the
    # checkpoint at D/lstm.safetensors, dropping the save path's `runs/` folder.
    net = os.path.join(HERE, f"{case}.net")
    proc = subprocess.run(
        [knit, "train", net, "--out", out_dir, "--report", report, "--quiet"],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    if proc.returncode != 0:
        sys.exit(f"knit train {case}.net failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    with open(report) as f:
        rep = json.load(f)
    return rep["checkpoint"], rep
