//! Numeric gradient checks (float64 central differences against the
//! symbolic gradients) for every differentiable op kind, one module per op
//! family, and a test that fails when some differentiable kind in
//! `ops::registry()` has no check here.

mod support;

mod activation;
mod array;
mod conv;
mod core;
mod loss;
mod math;
mod nn;
mod reduce;

use std::collections::BTreeSet;
use support::Case;

fn all_cases() -> Vec<Case> {
    [
        core::cases(),
        math::cases(),
        activation::cases(),
        reduce::cases(),
        array::cases(),
        nn::cases(),
        loss::cases(),
        conv::cases(),
    ]
    .concat()
}

#[test]
fn core_gradients() {
    support::check_all(&core::cases());
}

#[test]
fn math_gradients() {
    support::check_all(&math::cases());
}

#[test]
fn activation_gradients() {
    support::check_all(&activation::cases());
}

#[test]
fn reduce_gradients() {
    support::check_all(&reduce::cases());
}

#[test]
fn array_gradients() {
    support::check_all(&array::cases());
}

#[test]
fn nn_gradients() {
    support::check_all(&nn::cases());
}

#[test]
fn loss_gradients() {
    support::check_all(&loss::cases());
}

#[test]
fn conv_gradients() {
    support::check_all(&conv::cases());
}

#[test]
fn every_differentiable_op_kind_has_a_numeric_check() {
    let checked: BTreeSet<&str> = all_cases()
        .iter()
        .flat_map(support::kinds_checked)
        .collect();
    let missing: Vec<&str> = tensorgraph::ops::registry()
        .into_iter()
        .filter(|k| k.differentiable && !checked.contains(k.name))
        .map(|k| k.name)
        .collect();
    assert!(
        missing.is_empty(),
        "differentiable op kinds without a numeric gradient check: {missing:?} \
         (add a case in tests/gradcheck/, or mark the kind not_differentiable)"
    );
}
