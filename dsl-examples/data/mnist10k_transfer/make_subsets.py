"""Builds the transfer-learning subsets of MNIST-10k (shared/bench/REFERENCE.md, "Transfer").

    python3 dsl-examples/data/mnist10k_transfer/make_subsets.py

Reads the bundled ../mnist10k IDX files and the 500 fine-tuning rows of
shared/bench/ref_transfer_subset.json (copied here as target_rows.json) and writes, as
gzip-compressed IDX files next to this script (gzip mtime 0, so the bytes are reproducible):

- digits04-train / digits04-t10k: the images of digits 0-4 of the train (4,106) and test
  (1,025) files, labels unchanged, in file order (pretraining);
- digits59-train: the 500 rows listed in target_rows.json, in that order (fine-tuning);
- digits59-t10k: the 975 test images of digits 5-9, in file order.
The digits 5-9 sets are relabelled digit - 5 (0-4), as the 5-way head predicts.
Pure Python (gzip, struct, json): no third-party package.
"""

import gzip
import json
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
MNIST = HERE.parent / "mnist10k"


def read_idx(path):
    """Returns (dims, payload bytes) of an unsigned-byte IDX file."""
    data = gzip.decompress(path.read_bytes())
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and kind == 0x08, f"{path}: not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def write_idx(path, dims, payload):
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
    path.write_bytes(gzip.compress(header + payload, compresslevel=9, mtime=0))


def load(prefix):
    (n, h, w), images = read_idx(MNIST / f"{prefix}-images-idx3-ubyte.gz")
    (m,), labels = read_idx(MNIST / f"{prefix}-labels-idx1-ubyte.gz")
    assert n == m
    size = h * w
    return [images[i * size : (i + 1) * size] for i in range(n)], list(labels), (h, w)


def save(name, images, labels, shape):
    write_idx(HERE / f"{name}-images-idx3-ubyte.gz", (len(images), *shape), b"".join(images))
    write_idx(HERE / f"{name}-labels-idx1-ubyte.gz", (len(labels),), bytes(labels))
    print(f"{name}: {len(images)} images, labels {sorted(set(labels))}")


def main():
    rows = json.loads((HERE / "target_rows.json").read_text())["rows"]
    for prefix in ["train", "t10k"]:
        images, labels, shape = load(prefix)
        low = [i for i, y in enumerate(labels) if y <= 4]
        save(f"digits04-{prefix}", [images[i] for i in low], [labels[i] for i in low], shape)
        high = rows if prefix == "train" else [i for i, y in enumerate(labels) if y >= 5]
        assert all(labels[i] >= 5 for i in high)
        save(f"digits59-{prefix}", [images[i] for i in high], [labels[i] - 5 for i in high], shape)


if __name__ == "__main__":
    main()
