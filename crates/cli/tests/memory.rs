//! A run that cannot fit in memory is refused before anything is allocated, naming the
//! largest tensors; `knit check` prints the estimate.

mod common;

use common::{assert_failure, knit, text};

/// A 4-million-unit layer on 900,000 training examples, `batch full`: its activations
/// alone are 13 TiB. Without the estimate, the first allocation fails and the process
/// aborts (or, on a smaller case, the kernel kills it).
const HUGE: &str = "\
data d {
  source synthetic(moons, samples: 1000000)
  split  train 0.9, validation 0.1
}

model m(x: [2]) -> [2] {
  h   = x |> dense(4000000) |> relu
  out = h |> dense(2)
}

train m on d {
  loss      cross_entropy
  optimizer adam(lr: 0.01)
  batch     full
  epochs    1
}
";

#[test]
fn a_run_past_the_machine_s_memory_is_refused_naming_the_largest_tensors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.net"), HUGE).unwrap();
    let check = knit(dir.path(), &["check", "huge.net"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("per 1,000 training examples (batch full)"),
        "{}",
        text(&check.stdout)
    );
    let out = knit(dir.path(), &["train", "huge.net"]);
    assert_failure(
        &out,
        1,
        "error: the run needs about 52.4 TiB at batch 900000, but ",
    );
    assert_failure(
        &out,
        1,
        " of memory is available; the largest tensors: h values 13.1 TiB, h gradients 13.1 TiB, \
         h.relu values 13.1 TiB. Use a smaller batch or smaller layers",
    );
}
