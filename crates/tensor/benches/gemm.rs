//! knit's `matmul_into` against the `gemm` crate (0.19, AVX-512 enabled) on the products of
//! a 784-256-128-10 MLP (batch 64: forward `x · Wᵀ`, backward `g · W` and `gᵀ · x`, with
//! the transposed operands passed as views exactly as the ops do), a batch-256 forward,
//! the four products of the benchmark LSTM (28 → 128, batch 64, 28 steps: a step forward and
//! backward, and the two weight gradients over all 1,792 rows), the products of the
//! benchmark CNN (a chunk of 10 images of its second convolution: forward `W · cols`,
//! `∂W = G · colsᵀ`, `∂cols = Wᵀ · G`; 2 images of the first; its first dense layer) and a
//! square 1024³, on 1 and 2 threads, `f32`. Throughput is reported in elements/s
//! with 2·m·n·k elements per product, i.e. FLOP/s.
//!
//! `cargo bench -p knit-tensor --bench gemm` runs criterion.
//! `KNIT_GEMM_TABLE=1 cargo bench -p knit-tensor --bench gemm` instead prints one compact
//! markdown table of GFLOP/s for every shape, both libraries and 1 and 2 threads (the
//! median of ~10 ms batches, the two libraries alternating batch by batch so that noise
//! from other processes hits both alike). Further variables for the table:
//! `KNIT_GEMM_MS` (time per row, default 2000), `KNIT_GEMM_ONLY` (a substring of the shape
//! names), `KNIT_GEMM_LIB` (`knit` or `gemm`), `KNIT_GEMM_THREADS` (one count),
//! `KNIT_GEMM_STAT=max` (the best batch instead of the median), `KNIT_GEMM_IN_POOL=1` (call
//! from a worker of a rayon pool, as an executor inside `ThreadPool::install` would).

use criterion::{BenchmarkId, Criterion, Throughput};
use gemm::Parallelism;
use knit_tensor::linalg::matmul_into;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A product `c (+)= a · b` with `a`: m×k, `b`: k×n; `a_t`/`b_t` say that the operand is
/// the transposed view of a C-order array (`g.t()`, `w.t()`).
struct Shape {
    name: &'static str,
    m: usize,
    k: usize,
    n: usize,
    a_t: bool,
    b_t: bool,
}

const SHAPES: [Shape; 23] = [
    Shape {
        name: "64x784x256 x*W1t",
        m: 64,
        k: 784,
        n: 256,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "256x784x256 x*W1t",
        m: 256,
        k: 784,
        n: 256,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "64x256x128 h1*W2t",
        m: 64,
        k: 256,
        n: 128,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "128x64x784 gt*x",
        m: 128,
        k: 64,
        n: 784,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "64x256x784 g*W1",
        m: 64,
        k: 256,
        n: 784,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "256x64x784 gt*x",
        m: 256,
        k: 64,
        n: 784,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "64x128x512 h*Whht (lstm step)",
        m: 64,
        k: 128,
        n: 512,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "64x512x128 da*Whh (lstm step back)",
        m: 64,
        k: 512,
        n: 128,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "32x128x512 h*Whht (lstm step, half batch)",
        m: 32,
        k: 128,
        n: 512,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "32x512x128 da*Whh (lstm step back, half batch)",
        m: 32,
        k: 512,
        n: 128,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "512x1792x128 dat*h (lstm dWhh)",
        m: 512,
        k: 1792,
        n: 128,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "512x1792x28 dat*x (lstm dWih)",
        m: 512,
        k: 1792,
        n: 28,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "64x288x1960 W*cols (cnn conv2 forward)",
        m: 64,
        k: 288,
        n: 1960,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "64x1960x288 G*colst (cnn conv2 dW)",
        m: 64,
        k: 1960,
        n: 288,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "288x64x1960 Wt*G (cnn conv2 dcols)",
        m: 288,
        k: 64,
        n: 1960,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "32x9x1568 W*cols (cnn conv1 forward)",
        m: 32,
        k: 9,
        n: 1568,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "32x1568x9 G*colst (cnn conv1 dW)",
        m: 32,
        k: 1568,
        n: 9,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "64x3136x128 x*W1t (cnn fc1)",
        m: 64,
        k: 3136,
        n: 128,
        a_t: false,
        b_t: true,
    },
    Shape {
        name: "64x288x392 W*cols (cnn conv2 forward)",
        m: 64,
        k: 288,
        n: 392,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "288x64x392 Wt*G (cnn conv2 dcols)",
        m: 288,
        k: 64,
        n: 392,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "64x288x980 W*cols (cnn conv2 forward)",
        m: 64,
        k: 288,
        n: 980,
        a_t: false,
        b_t: false,
    },
    Shape {
        name: "288x64x980 Wt*G (cnn conv2 dcols)",
        m: 288,
        k: 64,
        n: 980,
        a_t: true,
        b_t: false,
    },
    Shape {
        name: "1024x1024x1024",
        m: 1024,
        k: 1024,
        n: 1024,
        a_t: false,
        b_t: false,
    },
];

/// Deterministic values in [-1, 1).
fn filled(rows: usize, cols: usize, seed: u32) -> Array2<f32> {
    let mut s = seed;
    Array2::from_shape_simple_fn((rows, cols), || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    })
}

struct Operands {
    a: Array2<f32>,
    b: Array2<f32>,
    c: Array2<f32>,
    a_t: bool,
    b_t: bool,
}

impl Operands {
    fn new(s: &Shape) -> Self {
        let a = if s.a_t {
            filled(s.k, s.m, 1)
        } else {
            filled(s.m, s.k, 1)
        };
        let b = if s.b_t {
            filled(s.n, s.k, 2)
        } else {
            filled(s.k, s.n, 2)
        };
        Operands {
            a,
            b,
            c: Array2::zeros((s.m, s.n)),
            a_t: s.a_t,
            b_t: s.b_t,
        }
    }

    fn views(
        &mut self,
    ) -> (
        ArrayViewMut2<'_, f32>,
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
    ) {
        let a = if self.a_t { self.a.t() } else { self.a.view() };
        let b = if self.b_t { self.b.t() } else { self.b.view() };
        (self.c.view_mut(), a, b)
    }
}

#[derive(Clone, Copy)]
enum Lib {
    Knit,
    Gemm,
}

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::Knit => "knit",
            Lib::Gemm => "gemm",
        }
    }
}

/// One accumulating product `c += a · b`.
fn product(lib: Lib, ops: &mut Operands, threads: usize) {
    let (mut c, a, b) = ops.views();
    match lib {
        Lib::Knit => matmul_into(&mut c, &a, &b, true, threads),
        Lib::Gemm => {
            let ((m, k), n) = (a.dim(), b.ncols());
            let (cs, as_, bs) = (c.strides().to_vec(), a.strides(), b.strides());
            // SAFETY: the views are valid for their shapes and strides and `c` is a distinct
            // array; gemm reads/writes only within them.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    cs[1],
                    cs[0],
                    true,
                    a.as_ptr(),
                    as_[1],
                    as_[0],
                    b.as_ptr(),
                    bs[1],
                    bs[0],
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    if threads > 1 {
                        Parallelism::Rayon(threads)
                    } else {
                        Parallelism::None
                    },
                )
            }
        }
    }
    // Keep the accumulated values bounded across millions of iterations.
    if ops.c[(0, 0)].abs() > 1e6 {
        ops.c.fill(0.0);
    }
}

fn criterion_benches(c: &mut Criterion) {
    for s in &SHAPES {
        let flops = 2 * s.m * s.n * s.k;
        let mut group = c.benchmark_group(s.name);
        group.throughput(Throughput::Elements(flops as u64));
        if flops > 100_000_000 {
            group.sample_size(20);
        }
        let mut ops = Operands::new(s);
        for threads in [1, 2] {
            for lib in [Lib::Knit, Lib::Gemm] {
                group.bench_function(
                    BenchmarkId::new(lib.name(), format!("{threads}t")),
                    |bench| bench.iter(|| product(lib, black_box(&mut ops), threads)),
                );
            }
        }
        group.finish();
    }
}

/// Median GFLOP/s of each library over timed batches of about 10 ms, the libraries taking
/// turns batch by batch (so that load from other processes hits both alike), for about
/// `budget` in all.
fn gflops(libs: &[Lib], s: &Shape, threads: usize, budget: Duration, in_pool: bool) -> Vec<f64> {
    let mut ops = Operands::new(s);
    let flops = (2 * s.m * s.n * s.k) as f64;
    let pool = in_pool.then(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
    });
    // Times `reps` products, on a worker of `pool` if there is one.
    let mut batch = |lib: Lib, reps: usize| {
        let mut go = || {
            let t = Instant::now();
            for _ in 0..reps {
                product(lib, black_box(&mut ops), threads);
            }
            t.elapsed()
        };
        match &pool {
            Some(pool) => pool.install(go),
            None => go(),
        }
    };
    // Warm up (buffers, thread pool) and size the batches.
    let mut reps = vec![1usize; libs.len()];
    for (&lib, reps) in libs.iter().zip(&mut reps) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(100) {
            if batch(lib, *reps) < Duration::from_millis(10) {
                *reps *= 2;
            }
        }
    }
    let mut rates = vec![Vec::new(); libs.len()];
    let start = Instant::now();
    while start.elapsed() < budget || rates[0].len() < 5 {
        for ((&lib, &reps), rates) in libs.iter().zip(&reps).zip(&mut rates) {
            rates.push(flops * reps as f64 / batch(lib, reps).as_secs_f64() / 1e9);
        }
    }
    let best = std::env::var("KNIT_GEMM_STAT").is_ok_and(|s| s == "max");
    rates
        .into_iter()
        .map(|mut r| {
            r.sort_by(f64::total_cmp);
            if best {
                r[r.len() - 1]
            } else {
                r[r.len() / 2]
            }
        })
        .collect()
}

/// The compact table (see the module docs for the environment variables).
fn table() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let budget = Duration::from_millis(var("KNIT_GEMM_MS").parse().unwrap_or(2000));
    let libs = match var("KNIT_GEMM_LIB").as_str() {
        "knit" => vec![Lib::Knit],
        "gemm" => vec![Lib::Gemm],
        _ => vec![Lib::Knit, Lib::Gemm],
    };
    let threads = match var("KNIT_GEMM_THREADS").parse() {
        Ok(t) => vec![t],
        Err(_) => vec![1, 2],
    };
    let only = var("KNIT_GEMM_ONLY");
    let in_pool = !var("KNIT_GEMM_IN_POOL").is_empty();
    let names: Vec<_> = libs
        .iter()
        .map(|l| format!("{} GFLOP/s", l.name()))
        .collect();
    let ratio = libs.len() == 2;
    println!(
        "| shape (m×k×n, op) | threads | {} |{}",
        names.join(" | "),
        if ratio { " knit/gemm |" } else { "" }
    );
    println!(
        "|---|---:|{}{}",
        "---:|".repeat(libs.len()),
        if ratio { "---:|" } else { "" }
    );
    for s in SHAPES.iter().filter(|s| s.name.contains(&only)) {
        for &t in &threads {
            let rates = gflops(&libs, s, t, budget, in_pool);
            let cells: Vec<_> = rates.iter().map(|r| format!("{r:.1}")).collect();
            let r = if ratio {
                format!(" {:.2} |", rates[0] / rates[1])
            } else {
                String::new()
            };
            println!("| {} | {t} | {} |{r}", s.name, cells.join(" | "));
        }
    }
}

fn main() {
    if std::env::var_os("KNIT_GEMM_TABLE").is_some() {
        table();
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
}
