//! Snapshots of the rendered diagnostics of every wrong program in `tests/errors/`.

mod common;

use knit_dsl::check_file;

#[test]
fn every_wrong_program_reports_its_snapshot() {
    common::in_crate_dir(|| {
        let files = common::net_files("tests/errors");
        assert!(files.len() >= 40, "only {} error programs", files.len());
        for path in files {
            let outcome = check_file(&common::relative(&path));
            let diags = &outcome.checked.diagnostics;
            assert!(diags.has_errors(), "{} has no error", path.display());
            for d in &diags.items {
                assert!(
                    !d.labels.is_empty() || d.message.starts_with("cannot read"),
                    "{}: unlabelled {d:?}",
                    path.display()
                );
            }
            insta::assert_snapshot!(common::stem(&path), common::rendered(&outcome));
        }
    });
}
