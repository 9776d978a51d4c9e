//! Every file in `dsl-examples/` checks without error, is already in canonical layout, and
//! has snapshots of its check summary and of its resolved program (`knit explain`).

mod common;

use knit_dsl::{check_file, format_text};
use std::path::Path;

#[test]
fn every_example_checks_is_formatted_and_matches_its_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples");
    let _ = std::env::set_current_dir(&dir);
    let mut files: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "net"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} examples", files.len());
    for path in files {
        let path = path.strip_prefix(".").unwrap_or(&path).to_path_buf();
        let name = common::stem(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = format_text(&text).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        assert_eq!(
            formatted, text,
            "{name} is not in canonical layout (run knit fmt)"
        );
        let outcome = check_file(&path);
        assert!(
            !outcome.checked.diagnostics.has_errors(),
            "{name}:\n{}",
            common::rendered(&outcome)
        );
        insta::assert_snapshot!(format!("{name}.fmt"), formatted);
        insta::assert_snapshot!(format!("{name}.check"), outcome.checked.summary.to_string());
        let explained = outcome.checked.explained.clone().unwrap_or_default();
        insta::assert_snapshot!(format!("{name}.explain"), explained);
        // The resolved program is itself a valid program that resolves to itself.
        let again = knit_dsl::check_text(&path, &explained);
        assert!(
            !again.diagnostics.has_errors(),
            "{name}: explain output does not check: {:?}",
            again.diagnostics
        );
        assert_eq!(
            again.explained.as_deref(),
            Some(explained.as_str()),
            "{name}: explain is not a fixed point"
        );
    }
}
