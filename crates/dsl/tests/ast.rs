//! Snapshots of the syntax tree of every program in `tests/cases/`, each of which must also
//! check without error.

mod common;

use knit_dsl::source::FileId;
use knit_dsl::{check_file, parse};

#[test]
fn every_case_parses_to_its_snapshot_and_checks() {
    common::in_crate_dir(|| {
        let files = common::net_files("tests/cases");
        assert!(files.len() >= 30, "only {} cases", files.len());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let (program, diags) = parse(FileId(0), &text);
            assert!(diags.items.is_empty(), "{}: {diags:?}", path.display());
            insta::assert_snapshot!(common::stem(&path), format!("{program:#?}"));
            let outcome = check_file(&common::relative(&path));
            assert!(
                !outcome.checked.diagnostics.has_errors(),
                "{}:\n{}",
                path.display(),
                common::rendered(&outcome)
            );
        }
    });
}
