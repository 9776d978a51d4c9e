//! `knit train --log metrics.csv`: the run's metrics as CSV, a row per epoch (and with
//! `--log-steps` a row per step), written and flushed as training goes, so that `tail -f`
//! or a spreadsheet can follow a long run.

use knit_train::{Element, EpochMetrics, Observer};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The columns, the same for every kind of run. `member` is the bagging member (empty for
/// one model); `step` is set on step rows (the optimizer step, counted from 1 over the run)
/// and empty on epoch rows. Accuracies are fractions of the first model (classification);
/// `grad_norm` is the global gradient norm before clipping, known when the run clips by
/// norm (the step's, or the epoch's mean).
pub const HEADER: &str =
    "member,epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,lr,grad_norm,seconds,samples_per_s";

/// An open metrics log, shared by the observers that write to it (a bagging run's
/// members, training at the same time, each through its own [`LogCursor`]).
#[derive(Clone, Debug)]
pub struct MetricsLog {
    sink: Arc<Mutex<Sink>>,
    steps: bool,
}

/// The file and the first write error (a full disk must not stop training; it is reported
/// at the end).
#[derive(Debug)]
struct Sink {
    path: PathBuf,
    out: BufWriter<File>,
    failed: Option<String>,
}

impl Sink {
    /// Writes one line and flushes it, keeping the first error.
    fn line(&mut self, text: &str) {
        if self.failed.is_none() {
            if let Err(e) = writeln!(self.out, "{text}").and_then(|()| self.out.flush()) {
                self.failed = Some(e.to_string());
            }
        }
    }
}

/// A value, or an empty cell.
fn cell(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl MetricsLog {
    /// Creates (or truncates) `path` and writes the header; with `steps`, step rows too.
    pub fn create(path: &Path, steps: bool) -> Result<MetricsLog, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut sink = Sink {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            failed: None,
        };
        sink.line(HEADER);
        Ok(MetricsLog {
            sink: Arc::new(Mutex::new(sink)),
            steps,
        })
    }

    /// A writer of one model's rows (`member` of a bagging run, or `None`).
    pub fn cursor(&self, member: Option<usize>) -> LogCursor {
        LogCursor {
            log: self.clone(),
            member: member.map(|m| m.to_string()).unwrap_or_default(),
            epoch: 0,
            step: 0,
            norms: (0.0, 0),
            last_norm: None,
        }
    }

    /// Writes `text` as a line.
    fn line(&self, text: &str) {
        self.sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .line(text);
    }

    /// The first write error, if any, as a message naming the file.
    pub fn failure(&self) -> Option<String> {
        let sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sink.failed
            .as_ref()
            .map(|e| format!("the metrics log {} is incomplete: {e}", sink.path.display()))
    }
}

/// Writes the rows of one model's training into a [`MetricsLog`].
#[derive(Debug)]
pub struct LogCursor {
    log: MetricsLog,
    /// The `member` cell.
    member: String,
    /// The epoch under way.
    epoch: usize,
    /// The steps finished so far (the next step row's number minus one).
    step: u64,
    /// The norms of the epoch so far: their sum and count.
    norms: (f64, usize),
    /// The current step's norm, when the trainer reported one.
    last_norm: Option<f64>,
}

/// The cursor follows a run as an observer (beside the progress display, through
/// [`knit_train::Both`]).
impl<F: Element> Observer<F> for LogCursor {
    fn epoch_started(&mut self, epoch: usize, _batches: usize) {
        self.epoch = epoch;
    }

    /// Records the gradient norm of the step under way.
    fn gradient_norm(&mut self, norm: f64) {
        self.last_norm = Some(norm);
        self.norms.0 += norm;
        self.norms.1 += 1;
    }

    /// A step finished with batch loss `loss` (a row when step rows were asked).
    fn batch_finished(&mut self, _batch: usize, _examples: usize, loss: f64) {
        self.step += 1;
        let norm = self.last_norm.take();
        if self.log.steps {
            self.log.line(&format!(
                "{},{},{},{},,,,,{},,",
                self.member,
                self.epoch,
                self.step,
                loss,
                cell(norm)
            ));
        }
    }

    /// An epoch finished: its row.
    fn epoch_finished(&mut self, m: &EpochMetrics) {
        let validation = m.validation.first();
        let (sum, count) = std::mem::take(&mut self.norms);
        self.log.line(&format!(
            "{},{},,{},{},{},{},{},{},{},{}",
            self.member,
            m.epoch,
            m.train_loss,
            cell(m.train_accuracy.first().copied().flatten()),
            cell(validation.map(|v| v.loss)),
            cell(validation.and_then(|v| v.accuracy)),
            m.lr,
            cell((count > 0).then(|| sum / count as f64)),
            m.seconds,
            m.samples_per_second
        ));
    }
}
