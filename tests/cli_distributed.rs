//! `knit train` and `knit bench` across processes: the guard of `--distributed require`, a
//! launcher's world refused by a build without MPI, and (with the `mpi` feature) real
//! `mpirun -np 2` runs: equal bit for bit to the same ranks as threads in one process,
//! equal to one process within rounding, and ending the whole job when a rank fails.

#[path = "../crates/cli/tests/common/mod.rs"]
mod common;

use common::{assert_failure, example, knit};

#[test]
fn require_refuses_a_process_that_no_launcher_started() {
    let dir = tempfile::tempdir().unwrap();
    let out = knit(
        dir.path(),
        &["train", &example("digits.net"), "--distributed", "require"],
    );
    assert_failure(
        &out,
        1,
        "error: --distributed require: this process was not started by an MPI launcher",
    );
    assert!(!dir.path().join("runs").exists());
}

#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_refuses_a_launchers_world() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_knit"))
        .args(["train", &example("digits.net"), "--quiet"])
        .current_dir(dir.path())
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert_failure(
        &out,
        1,
        "error: an MPI launcher started 2 processes, but this knit was built without MPI support",
    );
    // `off` trains each process alone, as asked.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_knit"))
        .args(["train", &example("digits.net"), "--quiet", "--epochs", "1"])
        .args(["--distributed", "off", "--out", "."])
        .current_dir(dir.path())
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
}

#[cfg(feature = "mpi")]
mod mpi {
    use super::common::compose::write;
    use super::common::{example, text};
    use knit_dist::ThreadGroup;
    use knit_train::{Checkpoint, Silent, TrainOptions, Trainer};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    /// `mpirun -np 2` with the settings a container needs, under a 120 s timeout.
    fn mpirun(dir: &Path) -> Command {
        mpirun_n(dir, 2)
    }

    /// [`mpirun`] with `ranks` processes.
    fn mpirun_n(dir: &Path, ranks: usize) -> Command {
        let mut c = Command::new("timeout");
        let ranks = ranks.to_string();
        c.args(["120", "mpirun", "-np", &ranks, "--bind-to", "none"])
            .current_dir(dir)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
            .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
            .env("OMPI_MCA_btl_tcp_if_include", "lo")
            .env("NO_COLOR", "1");
        c
    }

    fn ok(out: Output) -> String {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// A digits MLP with dropout and clipping; `optimizer` fills the line (with its schedule).
    fn program(optimizer: &str) -> String {
        format!(
            "seed 4\n\ndata digits {{\n  source csv(\"{}\", label: last)\n  split  train 0.7, \
             validation 0.1, test 0.2\n  scale  x / 16\n}}\n\nmodel mlp(x: [64]) -> [10] {{\n  \
             h1  = x |> dense(64) |> relu |> dropout(0.2)\n  out = h1 |> dense(10)\n}}\n\n\
             train mlp on digits {{\n  loss      cross_entropy\n  optimizer {optimizer}\n  \
             batch     50, shuffle\n  clip      norm(1.0)\n  \
             epochs    4\n}}\n",
            example("data/digits.csv.gz")
        )
    }

    /// The file's run as `ranks` members of a thread group in this process: rank 0's
    /// checkpoint.
    fn thread_group_run(file: &Path, ranks: usize) -> Checkpoint {
        let text = std::fs::read_to_string(file).unwrap();
        let outcome = knit_dsl::check_source(file, &text);
        let plan = outcome.checked.plan.unwrap();
        let data = knit_data::load(&plan.data, Path::new("")).unwrap();
        let mut checkpoints: Vec<Checkpoint> = std::thread::scope(|s| {
            let handles: Vec<_> = ThreadGroup::new(ranks)
                .into_iter()
                .map(|member| {
                    let (plan, data) = (plan.clone(), data.clone());
                    s.spawn(move || {
                        let mut t = Trainer::new(plan, data, TrainOptions::default()).unwrap();
                        t.fit_in(&member, &mut Silent).unwrap();
                        t.checkpoint()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        checkpoints.swap_remove(0)
    }

    #[test]
    fn two_ranks_equal_two_threads_bit_for_bit_and_one_process_within_rounding() {
        let dir = tempfile::tempdir().unwrap();
        for (name, optimizer) in [
            (
                "sgd.net",
                "sgd(lr: step(0.1, every: 2, gamma: 0.5), momentum: 0.9)",
            ),
            ("adam.net", "adam(lr: step(0.01, every: 2, gamma: 0.5))"),
        ] {
            let file = dir
                .path()
                .join(write(dir.path(), name, &program(optimizer)));
            let stem = name.trim_end_matches(".net");
            let file_arg = file.display().to_string();
            let summary = ok(mpirun(dir.path())
                .arg(env!("CARGO_BIN_EXE_knit"))
                .args(["train", &file_arg, "--quiet", "--out", "ranks"])
                .output()
                .unwrap());
            // Rank 0 alone prints the summary.
            assert_eq!(summary.matches("summary").count(), 1, "{summary}");
            let ranks =
                Checkpoint::read(&dir.path().join(format!("ranks/runs/{stem}.safetensors")))
                    .unwrap();
            let threads = thread_group_run(&file, 2);
            let compared = assert_same_bits(&ranks, &threads, name);
            // The parameters, and the optimizer's state and step among knit's entries.
            assert!(compared >= 4, "{compared} tensors compared");
            ok(super::knit(
                dir.path(),
                &["train", &file_arg, "--quiet", "--out", "one"],
            ));
            let one =
                Checkpoint::read(&dir.path().join(format!("one/runs/{stem}.safetensors"))).unwrap();
            for key in ["h1.weight", "h1.bias", "out.weight", "out.bias"] {
                let (a, b) = (&ranks.tensors[key], &one.tensors[key]);
                let worst = a
                    .iter()
                    .zip(b.iter())
                    .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                    .fold(0.0f32, f32::max);
                // 88 steps of sums taken in another order (see docs/distributed.md).
                assert!(worst < 1e-4, "{name}: {key} differs by {worst}");
            }
        }
    }

    /// The file `a` holds every tensor of the in-process `b`, bit for bit, and besides them
    /// only the data scaling the CLI stores (`what` names the run in failures); returns how
    /// many tensors were compared.
    fn assert_same_bits(a: &Checkpoint, b: &Checkpoint, what: &str) -> usize {
        let extra: Vec<&String> = a
            .tensors
            .keys()
            .filter(|k| !b.tensors.contains_key(*k) && !k.starts_with("_knit.scaler."))
            .collect();
        assert!(extra.is_empty(), "{what}: unexpected tensors {extra:?}");
        let bits =
            |v: &ndarray::ArrayD<f32>| -> Vec<u32> { v.iter().map(|x| x.to_bits()).collect() };
        for (key, value) in &b.tensors {
            assert_eq!(bits(&a.tensors[key]), bits(value), "{what}: {key}");
        }
        b.tensors.len()
    }

    /// Three ranks on one machine sum in shared memory in rank order, as a thread group of
    /// three does, so they agree bit for bit too (two ranks would agree in any order).
    #[test]
    fn three_ranks_equal_three_threads_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let optimizer = "adam(lr: step(0.01, every: 2, gamma: 0.5))";
        let file = dir
            .path()
            .join(write(dir.path(), "adam3.net", &program(optimizer)));
        ok(mpirun_n(dir.path(), 3)
            .arg(env!("CARGO_BIN_EXE_knit"))
            .args([
                "train",
                &file.display().to_string(),
                "--quiet",
                "--out",
                "ranks",
            ])
            .output()
            .unwrap());
        let ranks = Checkpoint::read(&dir.path().join("ranks/runs/adam3.safetensors")).unwrap();
        let compared = assert_same_bits(&ranks, &thread_group_run(&file, 3), "3 ranks");
        assert!(compared >= 4, "{compared} tensors compared");
    }

    #[test]
    fn a_distributed_run_resumes_to_the_bits_of_an_uninterrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir
            .path()
            .join(write(dir.path(), "adam.net", &program("adam(lr: 0.01)")));
        let file = file.display().to_string();
        let run = |args: &[&str]| {
            ok(mpirun(dir.path())
                .arg(env!("CARGO_BIN_EXE_knit"))
                .args(["train", &file, "--quiet"])
                .args(args)
                .output()
                .unwrap())
        };
        run(&["--out", "whole"]);
        run(&["--out", "half", "--epochs", "2"]);
        run(&["--out", "half", "--resume", "half/runs/adam.safetensors"]);
        let read = |p: &str| Checkpoint::read(&dir.path().join(p)).unwrap().tensors;
        assert_eq!(
            read("half/runs/adam.safetensors"),
            read("whole/runs/adam.safetensors")
        );
    }

    /// A report without what depends on the clock or the paths.
    fn timeless(mut report: serde_json::Value) -> serde_json::Value {
        fn strip(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(map) => {
                    for key in [
                        "seconds",
                        "samples_per_second",
                        "train_seconds",
                        "total_seconds",
                        "command_line",
                        "checkpoint",
                    ] {
                        map.remove(key);
                    }
                    map.values_mut().for_each(strip);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        strip(&mut report);
        report
    }

    #[test]
    fn bagging_over_two_ranks_writes_the_single_process_ensemble_and_report() {
        let dir = tempfile::tempdir().unwrap();
        let file = example("bagging.net");
        let args = |out: &str| -> Vec<String> {
            ["train", &file, "--quiet", "--out", out, "--report"]
                .iter()
                .map(|a| a.to_string())
                .chain([format!("{out}/report.json")])
                .collect()
        };
        ok(mpirun(dir.path())
            .arg(env!("CARGO_BIN_EXE_knit"))
            .args(args("ranks"))
            .output()
            .unwrap());
        let one: Vec<String> = args("one");
        let one: Vec<&str> = one.iter().map(String::as_str).collect();
        ok(super::knit(dir.path(), &one));
        let read = |p: &str| std::fs::read(dir.path().join(p)).unwrap();
        assert!(
            read("ranks/runs/bagging.safetensors") == read("one/runs/bagging.safetensors"),
            "the ensembles' checkpoints differ"
        );
        let report = |p: &str| timeless(serde_json::from_slice(&read(p)).unwrap());
        assert_eq!(report("ranks/report.json"), report("one/report.json"));
    }

    #[test]
    fn a_rank_that_fails_ends_the_job_with_its_message() {
        let dir = tempfile::tempdir().unwrap();
        let good = example("digits.net");
        let started = Instant::now();
        // Rank 1 is given a file that does not exist (one command per rank, MPMD style).
        let out = mpirun(dir.path())
            .args([
                "-np",
                "1",
                env!("CARGO_BIN_EXE_knit"),
                "train",
                &good,
                "--out",
                "a",
            ])
            .args([
                ":",
                "-np",
                "1",
                env!("CARGO_BIN_EXE_knit"),
                "train",
                "missing.net",
            ])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert_ne!(out.status.code(), Some(124), "the job hung: {stderr}");
        assert!(stderr.contains("missing.net"), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_killed_rank_ends_the_job_within_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let marker: PathBuf = dir.path().join("killed-rank-run");
        let mut job = mpirun(dir.path())
            .arg(env!("CARGO_BIN_EXE_knit"))
            .args([
                "train",
                &example("digits.net"),
                "--quiet",
                "--epochs",
                "100000",
            ])
            .arg("--out")
            .arg(&marker)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for both ranks to be training, then kill one of them.
        let pattern = format!("knit train .*{}", marker.display());
        let mut ranks = Vec::new();
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(100));
            let found = Command::new("pgrep")
                .args(["-f", &pattern])
                .output()
                .unwrap();
            ranks = text(&found.stdout).lines().map(str::to_string).collect();
            if ranks.len() >= 2 {
                break;
            }
        }
        assert!(ranks.len() >= 2, "ranks not found: {ranks:?}");
        std::thread::sleep(Duration::from_secs(1));
        let killed_at = Instant::now();
        Command::new("kill")
            .args(["-9", &ranks[1]])
            .status()
            .unwrap();
        let status = loop {
            if let Some(status) = job.try_wait().unwrap() {
                break status;
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(30),
                "the job still runs 30 s after a rank was killed"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(!status.success());
        assert_ne!(status.code(), Some(124), "the job hung until the timeout");
    }
}
