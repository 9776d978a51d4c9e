//! The synthetic sequence tasks: the adding problem's targets are the sums of its two marked
//! values, one mark in each half; the temporal-order problem's classes are the order of its
//! X/Y symbols; both are reproducible from the seed and refuse impossible lengths.

use knit_data::{generate, Synthetic};

#[test]
fn the_adding_problem_marks_one_value_in_each_half_and_sums_them() {
    let steps = 10;
    let data = generate(&Synthetic::Adding { steps }, 500, 0.0, 7, 0).unwrap();
    assert_eq!(data.feature_dims, vec![steps, 2]);
    assert_eq!(data.classes, None);
    let mut mean = 0.0;
    for (row, &target) in data.features.outer_iter().zip(&data.labels) {
        let marks: Vec<usize> = (0..steps).filter(|&t| row[2 * t + 1] == 1.0).collect();
        assert_eq!(marks.len(), 2, "{row:?}");
        assert!(marks[0] < steps / 2 && marks[1] >= steps / 2, "{marks:?}");
        assert!((0..steps).all(|t| (0.0..1.0).contains(&row[2 * t])));
        assert_eq!(target, row[2 * marks[0]] + row[2 * marks[1]]);
        mean += f64::from(target) / 500.0;
    }
    assert!(
        (mean - 1.0).abs() < 0.05,
        "the targets average 1, got {mean}"
    );
    let again = generate(&Synthetic::Adding { steps }, 500, 0.0, 7, 0).unwrap();
    assert_eq!(again.features, data.features);
    let other = generate(&Synthetic::Adding { steps }, 500, 0.0, 8, 0).unwrap();
    assert_ne!(other.features, data.features);
}

#[test]
fn the_temporal_order_class_is_the_order_of_x_and_y() {
    let steps = 20;
    let data = generate(&Synthetic::TemporalOrder { steps }, 400, 0.0, 3, 0).unwrap();
    assert_eq!(data.feature_dims, vec![steps, 8]);
    assert_eq!(data.classes, Some(4));
    let mut seen = [0; 4];
    for (row, &label) in data.features.outer_iter().zip(&data.labels) {
        let symbol = |t: usize| (0..8).find(|&s| row[8 * t + s] == 1.0).unwrap();
        assert!((0..steps).all(|t| (0..8).filter(|&s| row[8 * t + s] == 1.0).count() == 1));
        assert_eq!(
            (symbol(0), symbol(steps - 1)),
            (4, 5),
            "starts with B, ends with E"
        );
        let relevant: Vec<usize> = (0..steps).map(symbol).filter(|&s| s >= 6).collect();
        assert_eq!(relevant.len(), 2);
        let class = 2 * (relevant[0] - 6) + (relevant[1] - 6);
        assert_eq!(label, class as f32);
        seen[class] += 1;
    }
    assert!(
        seen.iter().all(|&n| n > 60),
        "all four classes occur: {seen:?}"
    );
}

#[test]
fn impossible_lengths_are_refused_by_name() {
    let err = generate(&Synthetic::Adding { steps: 1 }, 10, 0.0, 0, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "synthetic adding: steps = 1; expected at least 2"
    );
    let err = generate(&Synthetic::TemporalOrder { steps: 9 }, 10, 0.0, 0, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "synthetic temporal_order: steps = 9; expected at least 10"
    );
}
