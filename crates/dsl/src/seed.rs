//! Seeds derived from the program's seed and a name, so each random stream (a dropout layer's
//! masks, a dataset's split) depends only on the seed and what it is for.

/// The largest seed a program can write (2^53 − 1: numbers are exact up to 2^53).
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// A seed for the stream called `name` under the program seed `seed`: the FNV-1a hash of the
/// name mixed with the seed by SplitMix64's finalizer, kept to 53 bits so that `knit explain`
/// can write it exactly. Fixed and platform independent.
pub fn derive_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & MAX_SEED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_seed_and_name() {
        assert_eq!(derive_seed(7, "h1.dropout"), derive_seed(7, "h1.dropout"));
        assert_ne!(derive_seed(7, "h1.dropout"), derive_seed(8, "h1.dropout"));
        assert_ne!(derive_seed(7, "h1.dropout"), derive_seed(7, "h2.dropout"));
    }
}
