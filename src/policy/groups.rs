//! Allow / deny group rules, and reading the groups claim from verified claims.

use crate::error::Error;

/// Who may pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allow {
    /// `*`: any verified user, groups or not.
    AnyUser,
    /// Members of at least one of these groups (exact, case-sensitive).
    Groups(Vec<String>),
}

/// An allow list plus an optional deny list (deny wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRule {
    /// Who may pass.
    pub allow: Allow,
    /// Members of any of these groups never pass. Default empty.
    pub deny: Vec<String>,
}

impl GroupRule {
    /// Parse an allow list as written in configuration (`ALLOW_GROUPS`): comma-separated, items trimmed,
    /// `*` alone means any user. Empty items, duplicates, an empty list, and `*` mixed with groups are errors
    /// ([`Error::Config`]) naming `setting`.
    pub fn parse_allow(setting: &str, list: &str) -> Result<Allow, Error> {
        let bad = |message: String| Error::Config { setting: setting.to_owned(), message };
        if list.trim().is_empty() {
            return Err(bad("the allow list is empty; name at least one group, or `*` for any verified user".into()));
        }
        let mut groups: Vec<String> = Vec::new();
        for (n, item) in list.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                return Err(bad("the allow list has an empty item; remove the extra comma".into()));
            }
            if groups.iter().any(|g| g == item) {
                // Never echo the value (healthz is public): its position.
                return Err(bad(format!("item {} repeats an earlier group; list each group once", n + 1)));
            }
            groups.push(item.to_owned());
        }
        if groups.iter().any(|g| g == "*") {
            if groups.len() > 1 {
                return Err(bad(
                    "`*` (any verified user) cannot be combined with group names; use one or the other".into()
                ));
            }
            return Ok(Allow::AnyUser);
        }
        Ok(Allow::Groups(groups))
    }

    /// Check a user's groups (`None` = the claim is absent). Order: deny list, then allow list.
    /// Errors: [`Error::GroupDenied`], [`Error::GroupsMissing`] (claim absent or with no string item, unless the
    /// allow list is `*`), [`Error::GroupNotAllowed`].
    pub fn check(&self, groups: Option<&[String]>) -> Result<(), Error> {
        self.evaluate(groups.map(|g| g.iter().map(String::as_str)))
    }

    /// Only the deny list of this rule: `Err(GroupDenied)` when one of `groups` is denied. An issuer's deny list
    /// applies this way on routes with their own rule.
    pub fn check_deny(&self, groups: &[String]) -> Result<(), Error> {
        if self.denies(groups.iter().map(String::as_str)) { Err(Error::GroupDenied) } else { Ok(()) }
    }

    fn denies<'a>(&self, mut groups: impl Iterator<Item = &'a str>) -> bool {
        !self.deny.is_empty() && groups.any(|g| self.deny.iter().any(|d| d == g))
    }

    fn evaluate<'a, I>(&self, groups: Option<I>) -> Result<(), Error>
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        if let Some(groups) = &groups
            && self.denies(groups.clone())
        {
            return Err(Error::GroupDenied);
        }
        let allowed = match &self.allow {
            Allow::AnyUser => return Ok(()),
            Allow::Groups(allowed) => allowed,
        };
        let mut seen_any = false;
        for g in groups.ok_or(Error::GroupsMissing)? {
            if allowed.iter().any(|a| a == g) {
                return Ok(());
            }
            seen_any = true;
        }
        Err(if seen_any { Error::GroupNotAllowed } else { Error::GroupsMissing })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::policy::fixtures::{allow, any_user, claims, config_setting, groups};

    // ---- parse_allow ----

    #[test]
    fn parse_allow_trims_and_keeps_order() {
        let a = GroupRule::parse_allow("ALLOW_GROUPS", " admins , netbird-users,Ops ").unwrap();
        assert_eq!(a, Allow::Groups(groups(&["admins", "netbird-users", "Ops"])));
    }

    #[test]
    fn parse_allow_star_alone_is_any_user() {
        assert_eq!(GroupRule::parse_allow("ALLOW_GROUPS", " * ").unwrap(), Allow::AnyUser);
    }

    #[test]
    fn parse_allow_rejects_bad_lists_naming_the_setting() {
        for bad in ["", "   ", "a,,b", "a,", ",a", "a,b,a", "*,admins", "admins,*", "*,*"] {
            assert_eq!(config_setting(GroupRule::parse_allow("ALLOW_GROUPS", bad)), "ALLOW_GROUPS", "input {bad:?}");
        }
    }

    #[test]
    fn parse_allow_is_case_sensitive_about_duplicates() {
        assert_eq!(GroupRule::parse_allow("X", "Admins,admins").unwrap(), Allow::Groups(groups(&["Admins", "admins"])));
    }

    // ---- check ----

    #[test]
    fn check_allows_any_of() {
        let rule = allow(&["admins", "users"]);
        assert_eq!(rule.check(Some(&groups(&["other", "users"]))), Ok(()));
        assert_eq!(rule.check(Some(&groups(&["admins"]))), Ok(()));
    }

    #[test]
    fn check_is_exact_and_case_sensitive() {
        let rule = allow(&["admins"]);
        assert_eq!(rule.check(Some(&groups(&["Admins"]))), Err(Error::GroupNotAllowed));
        assert_eq!(rule.check(Some(&groups(&["admins "]))), Err(Error::GroupNotAllowed));
        assert_eq!(rule.check(Some(&groups(&["admin"]))), Err(Error::GroupNotAllowed));
        assert_eq!(rule.check(Some(&groups(&["adminsx"]))), Err(Error::GroupNotAllowed));
    }

    #[test]
    fn check_missing_claim_with_groups_is_groups_missing() {
        assert_eq!(allow(&["admins"]).check(None), Err(Error::GroupsMissing));
    }

    #[test]
    fn check_empty_array_is_groups_missing() {
        assert_eq!(allow(&["admins"]).check(Some(&[])), Err(Error::GroupsMissing));
    }

    #[test]
    fn check_star_allows_missing_and_empty_claims() {
        assert_eq!(any_user().check(None), Ok(()));
        assert_eq!(any_user().check(Some(&[])), Ok(()));
        assert_eq!(any_user().check(Some(&groups(&["x"]))), Ok(()));
    }

    #[test]
    fn check_deny_wins_over_allow_and_star() {
        let rule = GroupRule { allow: Allow::Groups(groups(&["users"])), deny: groups(&["banned"]) };
        assert_eq!(rule.check(Some(&groups(&["users", "banned"]))), Err(Error::GroupDenied));
        assert_eq!(rule.check(Some(&groups(&["banned", "users"]))), Err(Error::GroupDenied));
        let star = GroupRule { allow: Allow::AnyUser, deny: groups(&["banned"]) };
        assert_eq!(star.check(Some(&groups(&["banned"]))), Err(Error::GroupDenied));
        assert_eq!(star.check(None), Ok(()));
        assert_eq!(star.check(Some(&groups(&["Banned"]))), Ok(()));
    }

    #[test]
    fn check_is_monotonic_in_the_allow_list() {
        let user_sets: Vec<Option<Vec<String>>> = vec![
            None,
            Some(vec![]),
            Some(groups(&["a"])),
            Some(groups(&["b", "c"])),
            Some(groups(&["x", "a", "d"])),
            Some(groups(&["banned", "a"])),
        ];
        let pool = ["a", "b", "c", "d", "e"];
        // Every allow list over `pool` (as a bitmask) and every superset obtained by adding one more group.
        for mask in 1u32..(1 << pool.len()) {
            let base: Vec<&str> =
                pool.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, g)| *g).collect();
            for extra in pool.iter().filter(|g| !base.contains(g)) {
                let mut bigger = base.clone();
                bigger.push(extra);
                for deny in [vec![], groups(&["banned"])] {
                    let small = GroupRule { allow: Allow::Groups(groups(&base)), deny: deny.clone() };
                    let large = GroupRule { allow: Allow::Groups(groups(&bigger)), deny };
                    for user in &user_sets {
                        if small.check(user.as_deref()).is_ok() {
                            assert_eq!(large.check(user.as_deref()), Ok(()), "allow {base:?} + {extra} for {user:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn check_handles_300_groups() {
        let many: Vec<String> = (0..300).map(|i| format!("group-{i:03}")).collect();
        assert_eq!(allow(&["group-299"]).check(Some(&many)), Ok(()));
        assert_eq!(allow(&["group-300"]).check(Some(&many)), Err(Error::GroupNotAllowed));
        let c = claims(json!({ "groups": many }));
        assert_eq!(allow(&["group-299"]).check(found(&c, "groups").as_deref()), Ok(()));
        assert_eq!(found(&c, "groups").map(|g| g.len()), Some(300));
    }

    // ---- the groups claim ----

    /// The groups under `claim` as the gate reads them from the payload ([`crate::claims::Claims::groups`]).
    fn found(c: &Map<String, Value>, claim: &str) -> Option<Vec<String>> {
        crate::claims::Claims::of(&Value::Object(c.clone()), claim).groups(claim)
    }

    #[test]
    fn extract_string_is_one_item() {
        let c = claims(json!({ "groups": "admins" }));
        assert_eq!(found(&c, "groups"), Some(groups(&["admins"])));
        assert_eq!(allow(&["admins"]).check(found(&c, "groups").as_deref()), Ok(()));
    }

    #[test]
    fn extract_ignores_non_string_items() {
        let c = claims(json!({ "groups": [1, "a", null, {"x": "b"}, ["c"], true, "d"] }));
        assert_eq!(found(&c, "groups"), Some(groups(&["a", "d"])));
        let only_junk = claims(json!({ "groups": [1, null, ["admins"]] }));
        assert_eq!(found(&only_junk, "groups"), Some(vec![]));
        assert_eq!(allow(&["admins"]).check(found(&only_junk, "groups").as_deref()), Err(Error::GroupsMissing));
    }

    #[test]
    fn extract_other_types_are_absent() {
        for v in [json!(1), json!(true), json!(null), json!({"admins": true})] {
            let c = claims(json!({ "groups": v }));
            assert_eq!(found(&c, "groups"), None, "value {v}");
            assert_eq!(allow(&["admins"]).check(found(&c, "groups").as_deref()), Err(Error::GroupsMissing));
        }
        assert_eq!(found(&claims(json!({})), "groups"), None);
    }

    #[test]
    fn extract_literal_key_first_then_dotted_path() {
        let c = claims(json!({
            "realm_access.roles": ["literal"],
            "realm_access": { "roles": ["nested"] },
            "cognito:groups": ["cog"],
            "a": { "b": { "c": "deep" } },
        }));
        assert_eq!(found(&c, "realm_access.roles"), Some(groups(&["literal"])));
        assert_eq!(found(&c, "cognito:groups"), Some(groups(&["cog"])));
        assert_eq!(found(&c, "a.b.c"), Some(groups(&["deep"])));
        let nested_only = claims(json!({ "realm_access": { "roles": ["nested"] } }));
        assert_eq!(found(&nested_only, "realm_access.roles"), Some(groups(&["nested"])));
    }

    #[test]
    fn extract_dotted_path_through_non_objects_is_absent() {
        let c = claims(json!({ "realm_access": ["roles"], "a": { "b": 5 } }));
        assert_eq!(found(&c, "realm_access.roles"), None);
        assert_eq!(found(&c, "a.b.c"), None);
        assert_eq!(found(&c, "a.b"), None);
        assert_eq!(found(&c, "missing.x"), None);
        assert_eq!(found(&c, "a."), None);
    }
}
