//! Checks knit-dist's `Mpi` under a real launcher: `mpirun -np 2 mpi_check`.
//!
//! - no argument: all-reduces (`f32` and `f64`) compared bit for bit with the sums in rank
//!   order (what `ThreadGroup` computes), broadcasts and gathers of bytes whose lengths
//!   differ by rank, a barrier, and one line with the mean time of an all-reduce of 235,146
//!   floats; exit code 0 when everything matches.
//! - `panic`: rank 1 panics after one all-reduce while rank 0 enters a second one; the job
//!   must end at once with a non-zero exit code and `rank 1 of 2` in the error output.
//!
//! Checks that fail print `rank R of N: ...` and end the job with `MPI_Abort(1)`.

use knit_dist::{Collective, Mpi};
use std::time::Instant;

/// The length of the timed all-reduce (the parameters of a small CNN).
const LEN_F32: usize = 235_146;
/// The length of the `f64` all-reduce.
const LEN_F64: usize = 10_007;
/// Timed repetitions (after a few untimed ones).
const REPETITIONS: usize = 200;

/// A 64-bit mix of `(rank, index)` (splitmix64's finalizer): deterministic, different per
/// rank.
fn mix(rank: usize, i: usize) -> u64 {
    let mut z = (rank as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i as u64)
        .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Rank `rank`'s value at `i`: ordinary values, large and tiny magnitudes side by side (so
/// that the order of the additions changes the rounding, with three ranks or more), near
/// cancellations, signed zeros and subnormals; no infinities or NaNs.
fn value(rank: usize, i: usize) -> f64 {
    let h = mix(rank, i);
    let unit = (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0; // in [-1, 1)
    match i % 8 {
        0 => unit,
        1 => unit * 1.0e7 * (rank + 1) as f64,
        2 => unit * 1.0e-7,
        3 => {
            if h & 1 == 0 {
                -0.0
            } else {
                0.0
            }
        }
        4 => unit * 1.0e-39, // subnormal in f32
        5 => {
            // x on even ranks, -x (plus a little) on odd ones: a near cancellation.
            let x = (mix(0, i) >> 11) as f64 / (1u64 << 53) as f64 * 1.0e4;
            if rank.is_multiple_of(2) {
                x
            } else {
                -x + unit * 1.0e-3
            }
        }
        6 => unit * 2f64.powi((h % 60) as i32 - 30),
        _ => 1.0 + unit * 1.0e-7,
    }
}

/// Ends the job with a message naming the rank.
fn fail(mpi: &Mpi, message: &str) -> ! {
    eprintln!("rank {} of {}: FAILED: {message}", mpi.rank(), mpi.size());
    mpi.abort(1)
}

/// The index of the first element whose bits differ, if any.
fn first_difference<T: Copy>(a: &[T], b: &[T], bits: impl Fn(T) -> u64) -> Option<usize> {
    a.iter().zip(b).position(|(&x, &y)| bits(x) != bits(y))
}

fn check_all_reduce(mpi: &Mpi) {
    let size = mpi.size();
    // Exact comparison with rank order holds for two ranks (a + b = b + a) and for sums in
    // shared memory (added in rank order); across machines MPI may add in another order, so
    // a tolerance applies.
    let exact = size <= 2 || mpi.shares_memory();

    // The smaller f64 sum first, so that the f32 one grows the shared window.
    let mut f64s: Vec<f64> = (0..LEN_F64).map(|i| value(mpi.rank(), i)).collect();
    let mut expected64: Vec<f64> = (0..LEN_F64).map(|i| value(0, i)).collect();
    for rank in 1..size {
        for (e, i) in expected64.iter_mut().zip(0..) {
            *e += value(rank, i);
        }
    }
    mpi.all_reduce_sum_f64(&mut f64s)
        .unwrap_or_else(|e| fail(mpi, &e.to_string()));
    if exact {
        if let Some(i) = first_difference(&f64s, &expected64, f64::to_bits) {
            fail(
                mpi,
                &format!(
                    "f64 all-reduce at {i}: {:e}, rank order gives {:e}",
                    f64s[i], expected64[i]
                ),
            );
        }
    } else if let Some(i) =
        (0..LEN_F64).find(|&i| (f64s[i] - expected64[i]).abs() > 1e-9 * (1.0 + expected64[i].abs()))
    {
        fail(
            mpi,
            &format!("f64 all-reduce at {i}: {} vs {}", f64s[i], expected64[i]),
        );
    }

    let mut f32s: Vec<f32> = (0..LEN_F32).map(|i| value(mpi.rank(), i) as f32).collect();
    let mut expected: Vec<f32> = (0..LEN_F32).map(|i| value(0, i) as f32).collect();
    for rank in 1..size {
        for (e, i) in expected.iter_mut().zip(0..) {
            *e += value(rank, i) as f32;
        }
    }
    mpi.all_reduce_sum_f32(&mut f32s)
        .unwrap_or_else(|e| fail(mpi, &e.to_string()));
    if exact {
        if let Some(i) = first_difference(&f32s, &expected, |x| u64::from(x.to_bits())) {
            fail(
                mpi,
                &format!(
                    "f32 all-reduce at {i}: {:e} (bits {:#010x}), rank order gives {:e} ({:#010x})",
                    f32s[i],
                    f32s[i].to_bits(),
                    expected[i],
                    expected[i].to_bits()
                ),
            );
        }
    } else if let Some(i) =
        (0..LEN_F32).find(|&i| (f32s[i] - expected[i]).abs() > 1e-3 * (1.0 + expected[i].abs()))
    {
        fail(
            mpi,
            &format!("f32 all-reduce at {i}: {} vs {}", f32s[i], expected[i]),
        );
    }
    let zeros = (0..LEN_F32).filter(|&i| expected[i] == 0.0).count();
    let negative_zeros = (0..LEN_F32)
        .filter(|&i| expected[i].to_bits() == (-0.0f32).to_bits())
        .count();
    let subnormals = expected.iter().filter(|x| x.is_subnormal()).count();

    // A mismatch of lengths is an error on every rank, not a hang.
    let mut uneven = vec![1.0f32; 3 + mpi.rank()];
    match mpi.all_reduce_sum_f32(&mut uneven) {
        Err(knit_dist::DistError::LengthMismatch { .. }) if size > 1 => {}
        Ok(()) if size == 1 => {}
        other => fail(mpi, &format!("uneven all-reduce gave {other:?}")),
    }

    if mpi.is_root() {
        println!(
            "all-reduce: {LEN_F32} f32 ({zeros} zero sums, {negative_zeros} of them -0.0, \
             {subnormals} subnormal) and {LEN_F64} f64 match rank order {} ({})",
            if exact {
                "bit for bit"
            } else {
                "within tolerance"
            },
            if mpi.shares_memory() {
                "summed in shared memory"
            } else {
                "MPI_Allreduce"
            }
        );
    }
}

/// Rank `rank`'s bytes for the broadcast and gather tests: a length that differs by rank
/// (zero for rank 0), contents that name the rank.
fn bytes_of(rank: usize, salt: u8) -> Vec<u8> {
    (0..rank * 37 + (rank % 2) * 1000)
        .map(|i| (i as u8).wrapping_mul(31) ^ (rank as u8) ^ salt)
        .collect()
}

fn check_bytes(mpi: &Mpi) {
    for root in [0, mpi.size() - 1] {
        let mut bytes = bytes_of(mpi.rank(), 7);
        mpi.broadcast_bytes(&mut bytes, root)
            .unwrap_or_else(|e| fail(mpi, &e.to_string()));
        if bytes != bytes_of(root, 7) {
            fail(
                mpi,
                &format!("broadcast from {root}: got {} bytes", bytes.len()),
            );
        }

        let gathered = mpi
            .gather_bytes(&bytes_of(mpi.rank(), 3), root)
            .unwrap_or_else(|e| fail(mpi, &e.to_string()));
        match gathered {
            Some(parts) if mpi.rank() == root => {
                let expected: Vec<Vec<u8>> = (0..mpi.size()).map(|r| bytes_of(r, 3)).collect();
                if parts != expected {
                    let lens: Vec<usize> = parts.iter().map(Vec::len).collect();
                    fail(mpi, &format!("gather on {root}: lengths {lens:?}"));
                }
            }
            None if mpi.rank() != root => {}
            other => fail(
                mpi,
                &format!("gather on {root}: {:?} parts", other.map(|p| p.len())),
            ),
        }
    }
    match mpi.broadcast_bytes(&mut Vec::new(), mpi.size()) {
        Err(knit_dist::DistError::BadRoot { .. }) => {}
        other => fail(
            mpi,
            &format!("broadcast from outside the world gave {other:?}"),
        ),
    }
    mpi.barrier().unwrap_or_else(|e| fail(mpi, &e.to_string()));
    if mpi.is_root() {
        println!(
            "broadcast, gather (lengths differ by rank, roots 0 and {}), barrier: ok",
            mpi.size() - 1
        );
    }
}

fn time_all_reduce(mpi: &Mpi) {
    let mut buffer: Vec<f32> = (0..LEN_F32)
        .map(|i| value(mpi.rank(), i) as f32 * 1e-3)
        .collect();
    for _ in 0..10 {
        mpi.all_reduce_sum_f32(&mut buffer)
            .unwrap_or_else(|e| fail(mpi, &e.to_string()));
    }
    mpi.barrier().unwrap_or_else(|e| fail(mpi, &e.to_string()));
    // The mean is what a training step pays; the fastest repetition shows the cost without
    // the other processes of a shared machine (busy cores make the ranks wait for each other).
    let mut fastest = f64::INFINITY;
    let start = Instant::now();
    for _ in 0..REPETITIONS {
        let one = Instant::now();
        mpi.all_reduce_sum_f32(&mut buffer)
            .unwrap_or_else(|e| fail(mpi, &e.to_string()));
        fastest = fastest.min(one.elapsed().as_secs_f64() * 1e6);
    }
    let mean = start.elapsed().as_secs_f64() * 1e6 / REPETITIONS as f64;
    if mpi.is_root() {
        println!(
            "all_reduce_sum_f32 of {LEN_F32} floats on {} ranks: mean {mean:.1} µs over \
             {REPETITIONS} repetitions (fastest {fastest:.1} µs)",
            mpi.size()
        );
    }
}

/// Rank 1 panics after one all-reduce; rank 0 (and any other) waits in a second one, which
/// only the panic hook's `MPI_Abort` can end.
fn panic_mode(mpi: &Mpi) {
    let mut buffer = vec![1.0f32; 1000];
    mpi.all_reduce_sum_f32(&mut buffer)
        .unwrap_or_else(|e| fail(mpi, &e.to_string()));
    if mpi.rank() == 1 {
        panic!("deliberate panic after one all-reduce");
    }
    mpi.all_reduce_sum_f32(&mut buffer)
        .unwrap_or_else(|e| fail(mpi, &e.to_string()));
    fail(
        mpi,
        "the second all-reduce returned although rank 1 panicked",
    );
}

fn main() {
    let mode = std::env::args().nth(1);
    let mpi = Mpi::init().unwrap_or_else(|e| {
        eprintln!("mpi_check: {e}");
        std::process::exit(2)
    });
    match mode.as_deref() {
        None => {
            match Mpi::init() {
                Err(knit_dist::DistError::Mpi(message)) if message.contains("already") => {}
                other => fail(&mpi, &format!("a second Mpi::init gave {other:?}")),
            }
            check_all_reduce(&mpi);
            check_bytes(&mpi);
            time_all_reduce(&mpi);
        }
        Some("panic") if mpi.size() >= 2 => panic_mode(&mpi),
        Some("panic") => fail(&mpi, "the panic mode needs at least two ranks"),
        Some(other) => fail(&mpi, &format!("unknown mode {other:?} (none, or `panic`)")),
    }
    if mpi.is_root() {
        println!("mpi_check: ok");
    }
}
