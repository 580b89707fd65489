//! QuFabric: the identity provider and group sync for embedded mode; standalone mode's legacy stack is
//! [`super::legacy`].

use serde::Serialize;
use serde_json::{Value, json};

use super::render::{json_pretty, shell_api_body, shell_quote};
use super::{Artifact, Groups, Mode, Plan, Section};

/// Scopes QuFabric asks PocketID for.
pub const SCOPES: &str = "openid profile email groups";
/// Placeholder for the client secret when the form has none yet.
pub const SECRET_PLACEHOLDER: &str = "<client secret from PocketID>";
/// Placeholder for the PocketID API key (the page never asks for it).
pub const API_KEY_PLACEHOLDER: &str = "<PocketID API key>";

/// The body of `POST /api/identity-providers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdentityProvider {
    /// Always `pocketid`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Display name.
    pub name: String,
    /// The PocketID issuer, exact.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (placeholder when unknown); omitted in the script's template, which injects it with jq.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// The identity provider body, with the secret or its placeholder.
pub fn identity_provider(plan: &Plan, with_secret: bool) -> IdentityProvider {
    IdentityProvider {
        kind: "pocketid",
        name: plan.idp_name.clone(),
        issuer: plan.issuer.clone(),
        client_id: plan.client_id.clone(),
        client_secret: with_secret.then(|| plan.client_secret.clone().unwrap_or_else(|| SECRET_PLACEHOLDER.to_owned())),
    }
}

/// The JWT group sync fields of the account settings (only these are changed). `groups_propagation_enabled` is
/// left alone: QuFabric's seed does not set it and it is already on by default.
pub fn group_sync(plan: &Plan) -> Value {
    let allow: Vec<String> = match &plan.groups {
        Groups::Any => Vec::new(),
        Groups::Names(n) => n.clone(),
    };
    json!({
        "jwt_groups_enabled": true,
        "jwt_groups_claim_name": "groups",
        "jwt_allow_groups": allow,
    })
}

/// The management origin the scripts talk to (`QUFABRIC`), and why it may differ from the public domain.
///
/// The scripts authenticate with a QuFabric personal access token (`Authorization: Token …`), which the gate
/// refuses by default (`PERSONAL_ACCESS_TOKENS = "deny"`): run them before the gate is put in front, or point
/// `QUFABRIC` at the management origin directly (the gate's `UPSTREAM`).
pub const PAT_NOTE: &str = "The QuFabric scripts send a personal access token (Authorization: Token …), which the \
     gate refuses by default (PERSONAL_ACCESS_TOKENS = \"deny\" → 401 pat_not_allowed). Run them first, before the \
     gate is in front of QuFabric, or point them at the management origin directly: QUFABRIC=<origin> bash \
     qufabric-add-idp.sh (the gate's UPSTREAM). Only set PERSONAL_ACCESS_TOKENS = \"pass\" if automation must reach \
     the API through the gate: tokens then go to QuFabric unchecked by the gate.";

/// Reads the QuFabric token and defines `api` (see [`shell_api_body`]).
fn token_prompt() -> String {
    format!(
        "if [ -z \"${{QUFABRIC_TOKEN:-}}\" ]; then read -rsp 'QuFabric personal access token (admin): ' \
         QUFABRIC_TOKEN; echo; fi\n\
         # --fail-with-body: QuFabric's error (e.g. 422 \"identity provider issuer does not match\") goes to stderr.\n\
         api() {{\n{}",
        shell_api_body("Authorization: Token ", "QUFABRIC_TOKEN", "QuFabric")
    )
}

fn script_head(plan: &Plan, what: &str) -> String {
    format!(
        "#!/usr/bin/env bash\n# {what} Needs curl and jq.\n# Secrets are read from the terminal and passed through file \
         descriptors or the environment, never on a command line.\n# It uses a personal access token: run it before \
         the gate is in front of QuFabric, or set QUFABRIC to the\n# management origin (the gate refuses tokens by \
         default: PERSONAL_ACCESS_TOKENS = \"deny\").\nset -euo pipefail\nQUFABRIC=${{QUFABRIC:-{}}}\n\
         {}",
        shell_quote(&plan.domain_url()),
        token_prompt()
    )
}

/// Script adding PocketID as an identity provider: it checks that the embedded IdP is on
/// (`settings.embedded_idp_enabled`; without it QuFabric answers 500 "identity provider management requires
/// embedded IdP"), then posts the body with the secret injected by jq from the environment (`env.CLIENT_SECRET`),
/// so the secret never appears in any process's argv.
pub fn idp_script(plan: &Plan) -> String {
    let mut s = script_head(plan, "Adds PocketID as an identity provider of QuFabric's embedded IdP.");
    s.push_str(
        "if ! api \"$QUFABRIC/api/accounts\" | jq -e '.[0].settings.embedded_idp_enabled == true' >/dev/null; then\n\
         \x20 echo 'QuFabric does not run its embedded IdP (settings.embedded_idp_enabled is not true): use the standalone setup.' >&2\n\
         \x20 exit 1\n\
         fi\n\
         if [ -z \"${CLIENT_SECRET:-}\" ]; then read -rsp 'PocketID client secret: ' CLIENT_SECRET; echo; fi\n\
         export CLIENT_SECRET\n\
         jq -c '. + {client_secret: env.CLIENT_SECRET}' <<'JSON' \\\n\
         \x20 | api -X POST \"$QUFABRIC/api/identity-providers\" --data-binary @- | jq '{id, type, name, issuer}'\n",
    );
    s.push_str(&json_pretty(&identity_provider(plan, false)));
    s.push_str("\nJSON\n");
    s
}

/// Script enabling JWT group sync: GET the account, change only the group fields, PUT it back (a blind PUT
/// resets every omitted setting).
///
/// `network_range` and `network_range_v6` are removed from the PUT: NetBird's GET fills them with the
/// *effective* ranges when the account has no override (`management/server/http/handlers/accounts/
/// accounts_handler.go`, `getAllAccounts`), and a PUT carrying them stores them as explicit overrides (the v6 one
/// counts as a change and re-addresses peers: `management/server/account.go`, `ipv6SettingsChanged`).
pub fn group_sync_script(plan: &Plan) -> String {
    let mut s = script_head(plan, "Enables JWT group sync without touching any other account setting.");
    s.push_str(&format!("PATCH={}\n", shell_quote(&super::render::json_compact(&group_sync(plan)))));
    s.push_str(
        "ACCOUNT=$(api \"$QUFABRIC/api/accounts\" | jq -e '.[0]')\n\
         ACCOUNT_ID=$(jq -r .id <<<\"$ACCOUNT\")\n\
         # The PUT must carry every setting; refuse to continue if the GET did not return them.\n\
         jq -e '.settings | has(\"peer_login_expiration_enabled\") and has(\"peer_login_expiration\") and \
         has(\"peer_inactivity_expiration_enabled\") and has(\"peer_inactivity_expiration\") and \
         has(\"regular_users_view_blocked\")' <<<\"$ACCOUNT\" >/dev/null\n\
         # The GET reports the effective network ranges; sending them back would store them as overrides.\n\
         jq -c --argjson patch \"$PATCH\" '{settings: ((.settings + $patch) | del(.network_range, .network_range_v6))}' <<<\"$ACCOUNT\" \\\n\
         \x20 | api -X PUT \"$QUFABRIC/api/accounts/$ACCOUNT_ID\" --data-binary @- \\\n\
         \x20 | jq '.settings | {jwt_groups_enabled, jwt_groups_claim_name, jwt_allow_groups}'\n",
    );
    s
}

fn embedded_section(plan: &Plan) -> Section {
    let redirect = format!("{}/oauth2/callback", plan.domain_url());
    let mut notes = vec![
        "In QuFabric: Settings → Identity Providers → add PocketID (or run the script). QuFabric fetches the \
         issuer's discovery document and requires its issuer to match exactly."
            .into(),
        format!("Paste the redirect URL {redirect} into the PocketID client's callback URLs."),
        PAT_NOTE.into(),
        "Settings → Groups: enable JWT group sync with the settings below. The script changes only these fields: \
         a blind PUT of the account would reset all other settings."
            .into(),
    ];
    if plan.client_secret.is_none() {
        notes.push(format!("The request body shows {SECRET_PLACEHOLDER}: paste the client secret into the form."));
    }
    Section {
        id: "qufabric",
        title: "2. QuFabric (embedded IdP)".into(),
        notes,
        artifacts: vec![
            Artifact {
                id: "qufabric_idp",
                title: "POST /api/identity-providers body".into(),
                filename: "qufabric-identity-provider.json".into(),
                content: json_pretty(&identity_provider(plan, true)),
            },
            Artifact {
                id: "qufabric_idp_script",
                title: "Add the identity provider (curl)".into(),
                filename: "qufabric-add-idp.sh".into(),
                content: idp_script(plan),
            },
            Artifact {
                id: "qufabric_redirect",
                title: "Redirect URL for PocketID".into(),
                filename: "redirect-url.txt".into(),
                content: format!("{redirect}\n"),
            },
            Artifact {
                id: "qufabric_group_sync",
                title: "JWT group sync settings".into(),
                filename: "qufabric-group-sync.json".into(),
                content: json_pretty(&group_sync(plan)),
            },
            Artifact {
                id: "qufabric_group_sync_script",
                title: "Enable group sync safely (GET, change, PUT)".into(),
                filename: "qufabric-group-sync.sh".into(),
                content: group_sync_script(plan),
            },
        ],
    }
}

fn standalone_section(plan: &Plan) -> Section {
    Section {
        id: "qufabric",
        title: "2. QuFabric (standalone, PocketID as primary IdP)".into(),
        notes: super::legacy::notes(plan),
        artifacts: super::legacy::artifacts(plan),
    }
}

/// The QuFabric section for `plan`'s mode.
pub fn section(plan: &Plan) -> Section {
    match plan.mode {
        Mode::Embedded => embedded_section(plan),
        Mode::Standalone => standalone_section(plan),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::SetupInput;

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn idp_body_matches_the_api_fields() {
        let p = plan(&embedded());
        let v = serde_json::to_value(identity_provider(&p, true)).unwrap();
        assert_eq!(keys(&v), ["client_id", "client_secret", "issuer", "name", "type"]);
        assert_eq!(v["type"], "pocketid");
        assert_eq!(v["issuer"], "https://id.example.com");
        assert_eq!(v["client_secret"], "s3cr3t-from-pocketid");
        let none = plan(&SetupInput { client_secret: String::new(), ..embedded() });
        assert_eq!(serde_json::to_value(identity_provider(&none, true)).unwrap()["client_secret"], SECRET_PLACEHOLDER);
    }

    #[test]
    fn idp_script_never_contains_the_secret() {
        let s = idp_script(&plan(&embedded()));
        assert!(!s.contains("s3cr3t"));
        // Its header promises the secret never reaches a command line: jq reads it from the environment.
        assert!(!s.contains("--arg secret"), "{s}");
        assert!(s.contains("env.CLIENT_SECRET") && s.contains("export CLIENT_SECRET"));
        assert!(s.contains("/api/identity-providers"));
        // QuFabric's errors (422 "identity provider issuer does not match") reach the user.
        assert!(s.contains("curl -sS --fail-with-body") && !s.contains("curl -fsS"));
        // The embedded IdP is checked before the POST.
        let check = s.find("embedded_idp_enabled == true").unwrap();
        assert!(check < s.find("-X POST").unwrap());
    }

    #[test]
    fn the_page_says_the_pat_scripts_run_before_the_gate_or_against_the_origin() {
        // The gate refuses `Authorization: Token …` by default (PERSONAL_ACCESS_TOKENS = "deny").
        let sec = section(&plan(&embedded()));
        assert!(sec.notes.iter().any(|n| n.contains("Run them first") && n.contains("PERSONAL_ACCESS_TOKENS")));
        for script in [idp_script(&plan(&embedded())), group_sync_script(&plan(&embedded()))] {
            assert!(script.contains("Authorization: Token"));
            assert!(script.contains("run it before the gate is in front of QuFabric"), "{script}");
            assert!(script.contains("QUFABRIC=${QUFABRIC:-\"https://qufabric.example.com\"}"), "{script}");
        }
    }

    #[test]
    fn idp_name_defaults_to_pocketid() {
        // The name is the embedded IdP's login button ("Continue with PocketID").
        let v = serde_json::to_value(identity_provider(&plan(&embedded()), false)).unwrap();
        assert_eq!(v["name"], "PocketID");
        let named = plan(&SetupInput { idp_name: "Company SSO".into(), ..embedded() });
        assert_eq!(identity_provider(&named, false).name, "Company SSO");
    }

    #[test]
    fn group_sync_script_strips_the_effective_network_ranges() {
        let s = group_sync_script(&plan(&embedded()));
        assert!(s.contains("del(.network_range, .network_range_v6)"));
    }

    #[test]
    fn group_sync_has_exactly_the_three_fields() {
        // groups_propagation_enabled is not forced: it is not in QuFabric's seed and already on by default.
        let v = group_sync(&plan(&embedded()));
        assert_eq!(keys(&v), ["jwt_allow_groups", "jwt_groups_claim_name", "jwt_groups_enabled"]);
        assert_eq!(v["jwt_allow_groups"], json!(["netbird-users", "netbird-admins"]));
        let any = plan(&SetupInput { groups: "*".into(), ..embedded() });
        assert_eq!(group_sync(&any)["jwt_allow_groups"], json!([]));
    }

    #[test]
    fn group_sync_script_gets_then_merges_then_puts() {
        let s = group_sync_script(&plan(&embedded()));
        let get = s.find("api \"$QUFABRIC/api/accounts\"").unwrap();
        let merge = s.find("(.settings + $patch)").unwrap();
        let put = s.find("-X PUT").unwrap();
        assert!(get < merge && merge < put);
        for f in ["peer_login_expiration_enabled", "peer_inactivity_expiration", "regular_users_view_blocked"] {
            assert!(s.contains(f), "{f}");
        }
    }

    #[test]
    fn sections_per_mode() {
        let e: Vec<&str> = section(&plan(&embedded())).artifacts.iter().map(|a| a.id).collect();
        assert_eq!(
            e,
            [
                "qufabric_idp",
                "qufabric_idp_script",
                "qufabric_redirect",
                "qufabric_group_sync",
                "qufabric_group_sync_script"
            ]
        );
        let s: Vec<&str> = section(&plan(&standalone())).artifacts.iter().map(|a| a.id).collect();
        assert_eq!(s, ["qufabric_setup_env", "qufabric_management_fix", "qufabric_compose_override"]);
    }
}
