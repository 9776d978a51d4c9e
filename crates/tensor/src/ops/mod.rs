//! The built-in ops. Each file holds one family, with its forward and backward formulas.

mod batch_norm;
mod concat;
mod conv;
mod elementwise;
mod linear;
mod loss;
mod max_pool2;
mod max_taps;
mod parallel;
mod pointwise;
mod pool;
mod recurrent;
mod reduce;
mod reshape;
mod sequence;
mod softmax;

pub use batch_norm::BatchNorm;
pub use concat::Concat;
pub use conv::Conv2d;
pub use elementwise::{Binary, BinaryKind};
pub use linear::{Linear, WeightLayout};
pub use loss::{BceWithLogits, CrossEntropy, Mse};
pub(crate) use pointwise::sigmoid;
pub use pointwise::Pointwise;
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d};
pub use recurrent::{Cell, Recurrent, RnnActivation};
pub use reduce::{Reduce, ReduceKind};
pub use reshape::Reshape;
pub use sequence::SelectStep;
pub use softmax::Softmax;
