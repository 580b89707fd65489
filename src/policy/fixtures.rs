//! Helpers shared by the policy unit tests.

use serde_json::{Map, Value};

use super::{Allow, GroupRule, RouteAction, RouteRule};
use crate::error::Error;

pub(super) fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("test claims must be an object"),
    }
}

pub(super) fn groups(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub(super) fn allow(list: &[&str]) -> GroupRule {
    GroupRule { allow: Allow::Groups(groups(list)), deny: vec![] }
}

pub(super) fn any_user() -> GroupRule {
    GroupRule { allow: Allow::AnyUser, deny: vec![] }
}

pub(super) fn config_setting(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Config { setting, .. }) => setting,
        other => panic!("expected a config error, got {other:?}"),
    }
}

pub(super) fn rule(prefix: &str, methods: Option<&[&str]>, action: RouteAction) -> RouteRule {
    RouteRule { prefix: prefix.into(), methods: methods.map(groups), action }
}
