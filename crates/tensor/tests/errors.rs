//! The errors a user meets, checked by their text.

use knit_tensor::{Executor, Graph, Mode, NodeId, TensorError};
use ndarray::{ArrayD, IxDyn};

fn zeros(dims: &[usize]) -> ArrayD<f32> {
    ArrayD::zeros(IxDyn(dims))
}

#[test]
fn a_shape_mismatch_names_the_op_the_node_and_both_shapes() {
    let mut g = Graph::new();
    let x = g.input("x", &[780]).unwrap();
    let err = g
        .dense("h1", x, zeros(&[256, 784]), Some(zeros(&[256])))
        .unwrap_err();
    assert!(matches!(err, TensorError::Shape { .. }));
    assert_eq!(
        err.to_string(),
        "shape mismatch in linear 'h1' with inputs [B, 780] and [256, 784] and [256]: \
         the weight expects 784 input features, but the input has 780"
    );

    let a = g.input("a", &[3]).unwrap();
    let b = g.input("b", &[4]).unwrap();
    let err = g.add(a, b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch in add 'add#5' with inputs [B, 3] and [B, 4]: \
         dimension 3 of [B, 3] cannot broadcast against dimension 4 of [B, 4]"
    );
}

#[test]
fn a_wrong_input_size_is_reported_with_both_shapes() {
    let mut g = Graph::new();
    let x = g.input("pixels", &[784]).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    let err = exec.set_input(x, zeros(&[64, 780]).view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input 'pixels' expects [B, 784], got an array of shape [64, 780]"
    );
}

#[test]
fn inputs_of_different_batch_sizes_are_rejected() {
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let y = g.labels("y").unwrap();
    let logits = g.dense("out", x, zeros(&[3, 2]), None).unwrap();
    let loss = g.cross_entropy(logits, y).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(y, zeros(&[8]).view()).unwrap();
    exec.set_input(x, zeros(&[4, 2]).view()).unwrap();
    let err = exec.run(loss, Mode::Train).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input 'x' holds a batch of 4 but input 'y' holds 8; every input of one step must have the same batch size"
    );
}

#[test]
fn an_input_without_data_is_reported() {
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let s = g.sum(x, None).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    let err = exec.run(s, Mode::Eval).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input 'x' has no data: call set_input before running the graph"
    );
}

#[test]
fn gradient_requests_for_unknown_or_gradient_free_nodes_explain_why() {
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let h = g.dense("h1", x, zeros(&[3, 2]), None).unwrap();
    let loss = g.sum(h, None).unwrap();
    let mut other = Graph::new();
    for i in 0..20 {
        other.input(&format!("i{i}"), &[1]).unwrap();
    }
    let foreign: NodeId = other.id("i19").unwrap();

    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(x, zeros(&[1, 2]).view()).unwrap();
    exec.run(loss, Mode::Train).unwrap();
    exec.backward(loss).unwrap();

    assert_eq!(
        exec.grad(foreign).unwrap_err().to_string(),
        "node #19 is not in this graph, which has 4 nodes"
    );
    assert_eq!(
        exec.grad_by_name("h1.wieght").unwrap_err().to_string(),
        "no node named 'h1.wieght' (did you mean 'h1.weight'?)"
    );
    assert_eq!(
        exec.grad(x).unwrap_err().to_string(),
        "no gradient for 'x': it is an input; call require_grad on it before running the graph"
    );
    assert_eq!(exec.grad_by_name("h1.weight").unwrap().shape(), &[3, 2]);
}

#[test]
fn backward_before_forward_is_an_error() {
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let h = g.dense("h1", x, zeros(&[3, 2]), None).unwrap();
    let loss = g.sum(h, None).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    assert_eq!(
        exec.backward(loss).unwrap_err().to_string(),
        "no gradient for 'sum#3': it has not been computed: call run before backward"
    );
}

#[test]
fn duplicate_names_and_parameter_shapes_are_checked() {
    let mut g = Graph::new();
    g.param("w", zeros(&[2, 2])).unwrap();
    assert_eq!(
        g.param("w", zeros(&[2])).unwrap_err().to_string(),
        "the name 'w' is already used by another node"
    );
    let mut exec = Executor::<f32>::new(&g);
    assert_eq!(
        exec.set_param("w", zeros(&[3, 2]).view())
            .unwrap_err()
            .to_string(),
        "parameter 'w' has shape [2, 2], got a value of shape [3, 2]"
    );
}

#[test]
fn frozen_parameters_get_no_gradient_and_the_error_says_so() {
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let h = g.dense("h1", x, zeros(&[3, 2]), Some(zeros(&[3]))).unwrap();
    let loss = g.sum(h, None).unwrap();
    g.set_trainable(g.id("h1.weight").unwrap(), false).unwrap();
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(x, zeros(&[2, 2]).view()).unwrap();
    exec.run(loss, Mode::Train).unwrap();
    exec.backward(loss).unwrap();
    assert_eq!(
        exec.grad_by_name("h1.weight").unwrap_err().to_string(),
        "no gradient for 'h1.weight': it is a frozen parameter"
    );
    let names: Vec<String> = exec
        .trainable_params()
        .map(|(_, n, _, _)| n.to_string())
        .collect();
    assert_eq!(names, vec!["h1.bias"]);
}
