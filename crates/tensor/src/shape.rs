//! Static shapes with an optional free batch dimension.

use std::fmt;

/// The shape of a node's value, known when the node is added to the graph.
///
/// A *batched* shape has a leading batch dimension whose size is only known at run time
/// (written `B`): data inputs and everything computed from them per example. Parameters,
/// constants and whole-batch reductions such as a loss are unbatched. `dims` are the
/// remaining (per-example, or all) dimensions, so a batch of 784-pixel images is
/// `Shape { batched: true, dims: [784] }` and `h1.weight` is `Shape { batched: false, dims: [256, 784] }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Whether a free leading batch dimension precedes `dims`.
    pub batched: bool,
    /// The static dimensions (after the batch dimension, when batched).
    pub dims: Vec<usize>,
}

impl Shape {
    /// A batched shape: `[B, dims...]`.
    pub fn batched(dims: impl Into<Vec<usize>>) -> Self {
        Shape {
            batched: true,
            dims: dims.into(),
        }
    }

    /// An unbatched (fixed) shape.
    pub fn fixed(dims: impl Into<Vec<usize>>) -> Self {
        Shape {
            batched: false,
            dims: dims.into(),
        }
    }

    /// The unbatched 0-dimensional shape of a scalar (a loss).
    pub fn scalar() -> Self {
        Shape::fixed(Vec::new())
    }

    /// Number of dimensions including the batch dimension.
    pub fn rank(&self) -> usize {
        self.dims.len() + usize::from(self.batched)
    }

    /// Number of elements per example (batched) or in total (unbatched).
    pub fn size(&self) -> usize {
        self.dims.iter().product()
    }

    /// Whether this is an unbatched scalar.
    pub fn is_scalar(&self) -> bool {
        !self.batched && self.dims.is_empty()
    }

    /// The concrete dimensions for a given batch size.
    pub fn concrete(&self, batch: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.rank());
        self.write_concrete(batch, &mut out);
        out
    }

    /// Writes the concrete dimensions into `out` (reusing its allocation).
    pub(crate) fn write_concrete(&self, batch: usize, out: &mut Vec<usize>) {
        out.clear();
        if self.batched {
            out.push(batch);
        }
        out.extend_from_slice(&self.dims);
    }

    /// Size of dimension `axis` counted over the full rank; `None` for the batch axis.
    pub fn full_dim(&self, axis: usize) -> Option<usize> {
        if self.batched {
            axis.checked_sub(1).map(|a| self.dims[a])
        } else {
            Some(self.dims[axis])
        }
    }
}

impl fmt::Display for Shape {
    /// Formats as `[B, 784]` or `[256, 784]` or `[]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        let mut first = true;
        if self.batched {
            f.write_str("B")?;
            first = false;
        }
        for d in &self.dims {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
            first = false;
        }
        f.write_str("]")
    }
}

/// Broadcasts two shapes with NumPy's rules, keeping the batch dimension apart.
///
/// Dimensions are aligned from the right. An unbatched operand broadcasts over the batch
/// (a bias `[10]` against `[B, 10]`), but it may not reach into the batch position:
/// `[4, 10]` against `[B, 10]` is an error, since the batch size is unknown.
pub fn broadcast_shapes(a: &Shape, b: &Shape) -> Result<Shape, String> {
    let batched = a.batched || b.batched;
    for (s, other) in [(a, b), (b, a)] {
        if !s.batched && other.batched && s.dims.len() > other.dims.len() {
            return Err(format!(
                "{s} has more dimensions than the per-example part of {other}; an unbatched operand cannot span the batch dimension"
            ));
        }
    }
    let rank = a.dims.len().max(b.dims.len());
    let mut dims = vec![0; rank];
    for (i, out) in dims.iter_mut().enumerate() {
        let da = dim_from_right(&a.dims, rank - 1 - i);
        let db = dim_from_right(&b.dims, rank - 1 - i);
        *out = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => {
                return Err(format!(
                    "dimension {x} of {a} cannot broadcast against dimension {y} of {b}"
                ))
            }
        };
    }
    Ok(Shape { batched, dims })
}

/// The `k`-th dimension counted from the right (0 = last), or 1 where the shape is shorter.
fn dim_from_right(dims: &[usize], k: usize) -> usize {
    if k < dims.len() {
        dims[dims.len() - 1 - k]
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_batch_symbolically() {
        assert_eq!(Shape::batched([784]).to_string(), "[B, 784]");
        assert_eq!(Shape::fixed([256, 784]).to_string(), "[256, 784]");
        assert_eq!(Shape::scalar().to_string(), "[]");
    }

    #[test]
    fn bias_broadcasts_over_batch() {
        let s = broadcast_shapes(&Shape::batched([3, 10]), &Shape::fixed([10])).unwrap();
        assert_eq!(s, Shape::batched([3, 10]));
    }

    #[test]
    fn unbatched_cannot_span_batch() {
        let e = broadcast_shapes(&Shape::fixed([4, 10]), &Shape::batched([10])).unwrap_err();
        assert!(e.contains("cannot span the batch dimension"), "{e}");
    }

    #[test]
    fn incompatible_dims_are_named() {
        let e = broadcast_shapes(&Shape::batched([3]), &Shape::batched([4])).unwrap_err();
        assert_eq!(
            e,
            "dimension 3 of [B, 3] cannot broadcast against dimension 4 of [B, 4]"
        );
    }
}
