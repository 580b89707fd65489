//! Group-claim extraction (`extract_groups`, `GroupsRef`) and the group check (`GroupRule::check_claims`).
//!
//! Input: the first line is the claim name, the rest a JSON object of claims. Rules come from a fixed small
//! pool of group names so that allow and deny hits are frequent.
//!
//! Invariants: extraction yields exactly the string items (a string claim is a one-item list) and never invents
//! a name; `check_claims` agrees with `check` on the extracted list; deny wins; `*` admits everyone not denied;
//! adding a group to the allow list never turns an allow into a deny (monotonic); the verdicts are only the
//! three group errors (403).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketgate::Error;
use pocketgate::policy::{Allow, GroupRule, extract_groups};
use serde_json::{Map, Value};

const POOL: [&str; 6] = ["netbird-users", "admins", "banned", "", "Admins", "a.b"];

fn pick(mask: u8) -> Vec<String> {
    POOL.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, g)| g.to_string()).collect()
}

fn lookup<'a>(claims: &'a Map<String, Value>, claim: &str) -> Option<&'a Value> {
    match claims.get(claim) {
        Some(v) => Some(v),
        None if claim.contains('.') => {
            let mut parts = claim.split('.');
            let mut v = claims.get(parts.next()?)?;
            for part in parts {
                v = v.as_object()?.get(part)?;
            }
            Some(v)
        }
        None => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let (claim, json) = text.split_once('\n').unwrap_or(("groups", text));
    let Ok(claims) = serde_json::from_str::<Map<String, Value>>(json) else { return };

    let groups = extract_groups(&claims, claim);
    let expected: Option<Vec<String>> = match lookup(&claims, claim) {
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(items)) => Some(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
        _ => None,
    };
    assert_eq!(groups, expected, "extraction is exactly the string items");

    let allow_mask = selector & 0x3f;
    let deny = pick(selector >> 6);
    let rules = [
        GroupRule { allow: Allow::AnyUser, deny: deny.clone() },
        GroupRule { allow: Allow::Groups(pick(allow_mask)), deny: deny.clone() },
    ];
    for rule in &rules {
        let verdict = rule.check_claims(&claims, claim);
        assert_eq!(verdict, rule.check(groups.as_deref()), "check_claims agrees with check");
        if let Err(e) = &verdict {
            assert!(matches!(e, Error::GroupDenied | Error::GroupNotAllowed | Error::GroupsMissing), "{e:?}");
            assert_eq!(e.http_status(), 403);
        }
        let denied = groups.as_ref().is_some_and(|g| g.iter().any(|g| rule.deny.contains(g)));
        assert_eq!(verdict == Err(Error::GroupDenied), denied, "deny wins, and only deny gives group_denied");
        if rule.allow == Allow::AnyUser {
            assert_eq!(verdict.is_ok(), !denied, "`*` admits everyone not denied");
        }
    }
    if verdict_ok(&rules[1], &claims, claim) {
        for extra in 0..POOL.len() {
            let bigger = GroupRule { allow: Allow::Groups(pick(allow_mask | 1 << extra)), deny: deny.clone() };
            assert!(bigger.check_claims(&claims, claim).is_ok(), "adding an allowed group never denies");
        }
    }
});

fn verdict_ok(rule: &GroupRule, claims: &Map<String, Value>, claim: &str) -> bool {
    rule.check_claims(claims, claim).is_ok()
}
