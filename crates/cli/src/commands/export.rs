//! `knit export FILE --weights CKPT --onnx model.onnx`: the trained model, or the whole
//! ensemble of a bagging checkpoint, as one ONNX graph (opset 17) that takes raw features
//! and applies the checkpoint's input scaling itself (see `knit_onnx::Export`).

use super::common::{self, Trained, TrainedArgs};
use knit_onnx::Export;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program and its checkpoint.
    #[command(flatten)]
    pub trained: TrainedArgs,
    /// Where to write the ONNX model (atomically; an existing file is replaced).
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
}

/// Runs `knit export`.
pub fn run(args: &Args) -> ExitCode {
    let inputs = [
        ("the checkpoint", args.trained.weights.as_path()),
        ("the program", args.trained.file.as_path()),
    ];
    if let Err(code) = common::refuse_overwrite("--onnx", &args.onnx, &inputs) {
        return code;
    }
    let (loaded, scaler) = match args.trained.load_with_scaler() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let (export, members) = match &loaded.trained {
        Trained::Single(trainer) => (Export::model(trainer, &scaler), 1),
        Trained::Ensemble(ensemble) => {
            (Export::ensemble(ensemble, &scaler), ensemble.members.len())
        }
    };
    let bytes = match export.to_bytes() {
        Ok(b) => b,
        Err(e) => return common::failure(format!("{}: {e}", args.trained.file.display())),
    };
    if let Err(e) = knit_io::write_atomically(&args.onnx, &bytes) {
        return common::failure(format!(
            "cannot write {}: {}",
            args.onnx.display(),
            e.reason()
        ));
    }
    let what = match members {
        1 => format!("model '{}'", loaded.names[0]),
        k => format!("an ensemble of {k} '{}' models", loaded.names[0]),
    };
    eprintln!(
        "wrote {} ({what}, {} bytes, ONNX opset {}): input '{}' [N, {}] of raw features",
        args.onnx.display(),
        bytes.len(),
        knit_onnx::OPSET,
        knit_onnx::INPUT,
        loaded.features,
    );
    ExitCode::SUCCESS
}
