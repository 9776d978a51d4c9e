//! Byte counts for people.

/// A byte count in the largest binary unit it reaches, to one decimal ("1.5 GiB",
/// "64.0 MiB"), or in bytes below 1 KiB ("100 bytes").
///
/// ```
/// assert_eq!(knit_io::bytes_text(100), "100 bytes");
/// assert_eq!(knit_io::bytes_text(3 << 29), "1.5 GiB");
/// ```
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    UNITS.iter().find(|(_, size)| bytes >= *size).map_or_else(
        || format!("{bytes} bytes"),
        |(unit, size)| format!("{:.1} {unit}", bytes as f64 / *size as f64),
    )
}
