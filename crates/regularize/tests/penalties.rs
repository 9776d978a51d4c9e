//! Penalties and tying: values against hand computation, gradients against finite
//! differences, and their errors.

use knit_regularize::{add_penalty, add_tying, Penalty, RegularizeError, TieNorm};
use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode};
use ndarray::{array, ArrayD, IxDyn};

fn two_params() -> (Graph, knit_tensor::NodeId, knit_tensor::NodeId) {
    let mut g = Graph::new();
    let a = g
        .param("a.weight", array![[1.0f32, -2.0], [0.5, 3.0]].into_dyn())
        .unwrap();
    let b = g
        .param("b.weight", array![[0.0f32, -1.0], [1.5, 2.0]].into_dyn())
        .unwrap();
    (g, a, b)
}

#[test]
fn penalty_values_follow_their_formulas() {
    let (mut g, a, b) = two_params();
    let l1 = add_penalty(&mut g, "l1", &[a], Penalty::L1(0.1)).unwrap();
    let l2 = add_penalty(&mut g, "l2", &[a, b], Penalty::L2(0.01)).unwrap();
    let en = add_penalty(
        &mut g,
        "en",
        &[a],
        Penalty::ElasticNet { l1: 0.1, l2: 0.01 },
    )
    .unwrap();
    let tie = add_tying(&mut g, "tie", &[(a, b)], 0.5, TieNorm::L2).unwrap();
    let tie1 = add_tying(&mut g, "tie1", &[(a, b)], 0.5, TieNorm::L1).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    let value = |exec: &mut Executor<f64>, n| {
        exec.run(n, Mode::Train).unwrap();
        exec.scalar(n).unwrap()
    };
    let close = |x: f64, y: f64| assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    close(value(&mut exec, l1), 0.1 * 6.5);
    close(
        value(&mut exec, l2),
        0.01 * (1.0 + 4.0 + 0.25 + 9.0 + 0.0 + 1.0 + 2.25 + 4.0),
    );
    close(value(&mut exec, en), 0.1 * 6.5 + 0.01 * 14.25);
    close(value(&mut exec, tie), 0.5 * (1.0 + 1.0 + 1.0 + 1.0));
    close(value(&mut exec, tie1), 0.5 * 4.0);
}

#[test]
fn penalty_and_tying_gradients_match_finite_differences() {
    let (mut g, a, b) = two_params();
    let x = g.input("x", &[2]).unwrap();
    let h = g.linear(x, a, None).unwrap();
    let h = g.tanh(h).unwrap();
    let h = g.linear(h, b, None).unwrap();
    let data = g.sum(h, None).unwrap();
    let l1 = add_penalty(&mut g, "l1", &[a], Penalty::ElasticNet { l1: 0.3, l2: 0.2 }).unwrap();
    let tie = add_tying(&mut g, "tie", &[(a, b)], 0.7, TieNorm::L2).unwrap();
    let s = g.add(data, l1).unwrap();
    let loss = g.add(s, tie).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    exec.set_input(x, ArrayD::from_elem(IxDyn(&[3, 2]), 0.4).view())
        .unwrap();
    let report = gradcheck(&mut exec, loss, &[a, b], &GradCheckConfig::default()).unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn errors_name_what_is_wrong() {
    let (mut g, a, _) = two_params();
    let c = g.param("c.weight", ArrayD::zeros(IxDyn(&[3]))).unwrap();
    assert_eq!(
        add_tying(&mut g, "tie", &[(a, c)], 0.1, TieNorm::L2)
            .unwrap_err()
            .to_string(),
        "cannot tie 'a.weight' [2, 2] to 'c.weight' [3]: tied parameters must have the same shape"
    );
    assert_eq!(
        add_penalty(&mut g, "l2", &[a], Penalty::L2(-1.0)).unwrap_err(),
        RegularizeError::InvalidStrength {
            what: "l2",
            value: -1.0
        }
    );
    assert_eq!(
        add_penalty(&mut g, "l2", &[], Penalty::L2(1.0))
            .unwrap_err()
            .to_string(),
        "'l2' applies to no parameter"
    );
}

#[test]
fn the_nodes_of_a_penalty_or_tie_are_named_after_it() {
    // Errors at run time (a divergence) name the first non-finite node: `l2.mul`, not `mul#4`.
    let (mut g, a, b) = two_params();
    add_penalty(&mut g, "l2", &[a, b], Penalty::L2(0.01)).unwrap();
    add_tying(&mut g, "tie", &[(a, b)], 0.5, TieNorm::L2).unwrap();
    let names: Vec<&str> = g.nodes().iter().map(|n| n.name.as_str()).collect();
    assert!(names.iter().all(|n| !n.contains('#')), "{names:?}");
    assert!(
        names.contains(&"l2.mul") && names.contains(&"l2.mul2"),
        "{names:?}"
    );
    assert!(names.contains(&"tie.sub"), "{names:?}");
}
