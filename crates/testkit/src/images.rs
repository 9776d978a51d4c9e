//! A small, learnable image task for the tests of convolutional networks.

/// `samples` grayscale 8×8 images as CSV rows, no header: 64 pixels, then the label.
/// Class 0 is a horizontal bar (one random row at 0.7 + noise), class 1 a vertical bar,
/// class 2 no bar; every pixel carries uniform noise in [0, 0.3), so values stay in [0, 1).
/// Classes cycle 0, 1, 2, ...; `seed` drives a splitmix64 generator, so the same arguments
/// give the same text.
pub fn bar_images_csv(samples: usize, seed: u64) -> String {
    let mut state = seed;
    let mut next = move || {
        // splitmix64 (Steele, Lea and Flood 2014).
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut text = String::new();
    for i in 0..samples {
        let class = i % 3;
        let line = (next() % 8) as usize;
        let mut cells = Vec::with_capacity(65);
        for r in 0..8 {
            for c in 0..8 {
                let noise = (next() >> 11) as f64 / (1u64 << 53) as f64 * 0.3;
                let on = (class == 0 && r == line) || (class == 1 && c == line);
                let v = if on { 0.69 + noise } else { noise };
                cells.push(format!("{v:.4}"));
            }
        }
        cells.push(class.to_string());
        text += &cells.join(",");
        text.push('\n');
    }
    text
}
