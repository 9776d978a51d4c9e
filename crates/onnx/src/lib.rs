//! ONNX export of trained knit models.
//!
//! [`Export`] writes one model, or a bagging ensemble as one graph, in ONNX (opset
//! [`OPSET`]) so that any ONNX runtime gives what `knit predict` gives: the input scaling
//! fitted in training is part of the graph, every layer knit has is written as standard
//! operators (dense as `Gemm`, convolution and pooling, batch norm in evaluation mode,
//! dropout as the identity, recurrent layers as `RNN`/`LSTM`/`GRU` with their gate blocks
//! reordered from PyTorch's order into ONNX's), and the outputs are named. Anything else is
//! an [`ExportError::Unsupported`] naming the layer.
//!
//! ```no_run
//! # fn demo(trainer: &knit_train::Trainer, scaler: &knit_data::Scaler) -> Result<(), knit_onnx::ExportError> {
//! let bytes = knit_onnx::Export::model(trainer, scaler).to_bytes()?;
//! std::fs::write("model.onnx", bytes).expect("writable");
//! # Ok(()) }
//! ```

mod builder;
mod error;
mod export;
mod lower;
pub mod proto;
mod recurrent;

pub use error::ExportError;
pub use export::{Export, INPUT, IR_VERSION, OPSET};
