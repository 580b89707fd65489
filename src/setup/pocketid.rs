//! PocketID: the OIDC client settings for the chosen mode, the groups to create, and an admin-API script.

use serde::Serialize;

use super::render::{json_compact, json_pretty, shell_api_body, shell_quote};
use super::{Artifact, Groups, Mode, Plan, Section};

/// The body of `POST /api/oidc/clients` (field names as PocketID's API spells them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSettings {
    /// Chosen client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Callback (redirect) URLs.
    #[serde(rename = "callbackURLs")]
    pub callback_urls: Vec<String>,
    /// Logout callback URLs.
    #[serde(rename = "logoutCallbackURLs")]
    pub logout_callback_urls: Vec<String>,
    /// Public client (no secret).
    pub is_public: bool,
    /// PKCE required.
    pub pkce_enabled: bool,
    /// Only members of the allowed groups may authorize.
    pub is_group_restricted: bool,
    /// Where PocketID's "My apps" tile opens: the QuFabric dashboard.
    #[serde(rename = "launchURL")]
    pub launch_url: String,
}

/// The body of `POST /api/user-groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroup {
    /// Shown in PocketID's UI.
    pub friendly_name: String,
    /// What the `groups` claim carries.
    pub name: String,
}

/// The client for `plan`'s mode.
///
/// Embedded: confidential, PKCE off, callback `https://<domain>/oauth2/callback`, logout
/// `https://<domain>/oauth2/logout/callback`. Standalone: public, PKCE on, callbacks `/auth`, `/silent-auth` and
/// `http://localhost:<port>` per PKCE port, logout `https://<domain>/`.
pub fn client(plan: &Plan) -> ClientSettings {
    let d = plan.domain_url();
    let (callback_urls, logout_callback_urls, public) = match plan.mode {
        Mode::Embedded => (vec![format!("{d}/oauth2/callback")], vec![format!("{d}/oauth2/logout/callback")], false),
        Mode::Standalone => {
            let mut cb = vec![format!("{d}/auth"), format!("{d}/silent-auth")];
            cb.extend(plan.pkce_ports.iter().map(|p| format!("http://localhost:{p}")));
            (cb, vec![format!("{d}/")], true)
        }
    };
    ClientSettings {
        id: plan.client_id.clone(),
        name: plan.display_name.clone(),
        callback_urls,
        logout_callback_urls,
        is_public: public,
        pkce_enabled: public,
        is_group_restricted: matches!(plan.groups, Groups::Names(_)),
        launch_url: format!("{d}/"),
    }
}

/// The groups to create (none for `*`).
pub fn groups(plan: &Plan) -> Vec<UserGroup> {
    match &plan.groups {
        Groups::Any => Vec::new(),
        Groups::Names(names) => {
            names.iter().map(|n| UserGroup { friendly_name: friendly(n), name: n.clone() }).collect()
        }
    }
}

/// `netbird-users` → `Netbird Users`, at most 50 characters (PocketID's `friendlyName` is 2–50:
/// `backend/internal/dto/user_group_dto.go`; the validator refuses names whose friendly name is shorter).
pub fn friendly(name: &str) -> String {
    let full = friendly_full(name);
    full.chars().take(50).collect::<String>().trim_end().to_owned()
}

fn friendly_full(name: &str) -> String {
    name.split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A bash script for PocketID's admin API: find-or-create the groups, create the client, restrict it to the
/// groups and (embedded mode) create its secret. The API key is read from the terminal and passed to curl
/// through a file descriptor, never on a command line.
pub fn script(plan: &Plan) -> String {
    let client = client(plan);
    let mut s = String::from(
        "#!/usr/bin/env bash\n\
         # Creates the OIDC client and its groups in PocketID through the admin API. Needs curl and jq.\n\
         # WARNING: a PocketID API key is a full admin key and cannot be scoped. Create one for this run and\n\
         # delete it afterwards. The key is read from the terminal (not echoed, not in shell history) and passed\n\
         # to curl through a file descriptor; never put it on a command line.\n\
         set -euo pipefail\n",
    );
    s.push_str(&format!("POCKETID=${{POCKETID:-{}}}\n", shell_quote(&plan.issuer)));
    s.push_str(&format!("CLIENT_ID={}\n", shell_quote(&client.id)));
    s.push_str(
        "if [ -z \"${POCKETID_API_KEY:-}\" ]; then read -rsp 'PocketID API key: ' POCKETID_API_KEY; echo; fi\n\
         api() { # PocketID's error body goes to stderr\n",
    );
    s.push_str(&shell_api_body("X-API-Key: ", "POCKETID_API_KEY", "PocketID"));
    let groups = groups(plan);
    if !groups.is_empty() {
        s.push_str(
            "group_id() { # find the group by name, or create it; print its id\n\
             \x20 local id\n\
             \x20 id=$(api -G \"$POCKETID/api/user-groups\" --data-urlencode \"search=$1\" \\\n\
             \x20   | jq -r --arg n \"$1\" '.data[]? | select(.name == $n) | .id' | head -n 1)\n\
             \x20 if [ -z \"$id\" ]; then id=$(api -X POST \"$POCKETID/api/user-groups\" --data-binary \"$2\" | jq -r .id); fi\n\
             \x20 printf '%s' \"$id\"\n\
             }\n\
             GROUP_IDS=()\n",
        );
        for g in &groups {
            s.push_str(&format!(
                "GROUP_IDS+=(\"$(group_id {} {})\")\n",
                shell_quote(&g.name),
                shell_quote(&json_compact(g))
            ));
        }
    }
    s.push_str("api -X POST \"$POCKETID/api/oidc/clients\" --data-binary @- >/dev/null <<'JSON'\n");
    s.push_str(&json_pretty(&client));
    s.push_str("\nJSON\necho \"Created OIDC client $CLIENT_ID\"\n");
    if !groups.is_empty() {
        s.push_str(
            "jq -cn '{userGroupIds: $ARGS.positional}' --args \"${GROUP_IDS[@]}\" \\\n\
             \x20 | api -X PUT \"$POCKETID/api/oidc/clients/$CLIENT_ID/allowed-user-groups\" --data-binary @- >/dev/null\n\
             echo \"Restricted $CLIENT_ID to its groups. Add users to them in PocketID (User Groups).\"\n",
        );
    }
    if plan.mode == Mode::Embedded {
        s.push_str(
            "# PocketID v2.14 serves POST …/secrets; earlier versions …/secret: fall back on 404.\n\
             new_secret() { # print \"<body>\\n<status>\"\n\
             \x20 curl -sS -w '\\n%{http_code}' -H @<(printf 'X-API-Key: %s\\n' \"$POCKETID_API_KEY\") -X POST \"$POCKETID/api/oidc/clients/$CLIENT_ID/$1\"\n\
             }\n\
             OUT=$(new_secret secrets)\n\
             if [ \"$(tail -n 1 <<<\"$OUT\")\" = 404 ]; then OUT=$(new_secret secret); fi\n\
             STATUS=$(tail -n 1 <<<\"$OUT\"); BODY=$(sed '$d' <<<\"$OUT\")\n\
             case \"$STATUS\" in 2??) ;; *) printf 'Creating the client secret failed (HTTP %s): %s\\n' \"$STATUS\" \"$BODY\" >&2; exit 1 ;; esac\n\
             echo 'Client secret (shown once; paste it into the setup page and into QuFabric):'\n\
             jq -r .secret <<<\"$BODY\"\n",
        );
    }
    s
}

/// The PocketID section.
pub fn section(plan: &Plan) -> Section {
    let client = client(plan);
    let groups = groups(plan);
    let mut notes = vec![match plan.mode {
        Mode::Embedded => format!(
            "Create an OIDC client \"{}\" (Administration → OIDC Clients): confidential (public client off), PKCE \
             off, callback {}, logout callback {}. Then generate its client secret.",
            client.name, client.callback_urls[0], client.logout_callback_urls[0]
        ),
        Mode::Standalone => format!(
            "Create an OIDC client \"{}\": public client on, PKCE on, callback URLs {}; logout callback {}. \
             Register both the HTTPS and the http://localhost URLs, or the CLI login fails with \"Invalid \
             redirect URI\".",
            client.name,
            client.callback_urls.join(", "),
            client.logout_callback_urls[0]
        ),
    }];
    if groups.is_empty() {
        notes.push("Any PocketID user may sign in: the client is not group-restricted.".into());
    } else {
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        notes.push(format!(
            "Create the group(s) {} (the name, not the friendly name, is what the groups claim carries), add the \
             users, and allow only these groups on the client.",
            names.join(", ")
        ));
    }
    notes.push(
        "The script uses an X-API-Key: it is a full admin key that cannot be scoped. Keep it out of shell \
         history and delete it after use."
            .into(),
    );
    let mut artifacts = vec![Artifact {
        id: "pocketid_client",
        title: "OIDC client settings (POST /api/oidc/clients body)".into(),
        filename: "pocketid-client.json".into(),
        content: json_pretty(&client),
    }];
    if !groups.is_empty() {
        artifacts.push(Artifact {
            id: "pocketid_groups",
            title: "Groups to create (POST /api/user-groups bodies)".into(),
            filename: "pocketid-groups.json".into(),
            content: json_pretty(&groups),
        });
    }
    artifacts.push(Artifact {
        id: "pocketid_script",
        title: "Admin API script (curl)".into(),
        filename: "pocketid-setup.sh".into(),
        content: script(plan),
    });
    Section { id: "pocketid", title: "1. PocketID".into(), notes, artifacts }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::setup::SetupInput;
    use serde_json::Value;

    #[test]
    fn embedded_client_is_confidential_with_oauth2_callbacks() {
        let c = client(&plan(&embedded()));
        assert_eq!(c.callback_urls, ["https://qufabric.example.com/oauth2/callback"]);
        assert_eq!(c.logout_callback_urls, ["https://qufabric.example.com/oauth2/logout/callback"]);
        assert!(!c.is_public && !c.pkce_enabled && c.is_group_restricted);
    }

    #[test]
    fn standalone_client_is_public_pkce_with_localhost_ports() {
        let c = client(&plan(&standalone()));
        assert_eq!(
            c.callback_urls,
            [
                "https://qufabric.example.com/auth",
                "https://qufabric.example.com/silent-auth",
                "http://localhost:53000",
                "http://localhost:54000"
            ]
        );
        assert_eq!(c.logout_callback_urls, ["https://qufabric.example.com/"]);
        assert!(c.is_public && c.pkce_enabled);
    }

    #[test]
    fn client_json_has_pocketid_field_names() {
        let v: Value = serde_json::from_str(&json_pretty(&client(&plan(&embedded())))).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "callbackURLs",
                "id",
                "isGroupRestricted",
                "isPublic",
                "launchURL",
                "logoutCallbackURLs",
                "name",
                "pkceEnabled"
            ]
        );
    }

    #[test]
    fn groups_get_friendly_names_and_star_creates_none() {
        let g = groups(&plan(&embedded()));
        assert_eq!(g[0], UserGroup { friendly_name: "Netbird Users".into(), name: "netbird-users".into() });
        let any = plan(&SetupInput { groups: "*".into(), ..embedded() });
        assert!(groups(&any).is_empty());
        assert!(!client(&any).is_group_restricted);
        assert!(!script(&any).contains("group_id"));
    }

    #[test]
    fn script_never_puts_the_key_on_a_command_line_and_secret_only_in_embedded() {
        let s = script(&plan(&embedded()));
        assert!(s.contains("-H @<(printf 'X-API-Key: %s\\n' \"$POCKETID_API_KEY\")"));
        assert!(s.contains("read -rsp"));
        assert!(s.contains("/secrets"));
        assert!(!s.contains("s3cr3t"), "the client secret is never written into the PocketID script");
        assert!(!script(&plan(&standalone())).contains("/secrets"));
    }

    #[test]
    fn client_has_a_launch_url_and_script_falls_back_to_secret_before_v2_14() {
        assert_eq!(client(&plan(&embedded())).launch_url, "https://qufabric.example.com/");
        let s = script(&plan(&embedded()));
        assert!(s.contains("new_secret secrets") && s.contains("= 404 ]; then OUT=$(new_secret secret)"));
        assert!(s.contains("--fail-with-body") && !s.contains("curl -fsS"));
    }

    #[test]
    fn friendly_names_fit_pocketid() {
        assert_eq!(friendly(&"abc".repeat(40)).chars().count(), 50);
        assert_eq!(friendly("netbird-users"), "Netbird Users");
    }

    #[test]
    fn script_quotes_hostile_names() {
        let p = plan(&SetupInput { display_name: "It's $(rm -rf /)".into(), ..embedded() });
        let s = script(&p);
        // The name only appears inside the quoted heredoc as a JSON string.
        assert!(s.contains("\"name\": \"It's $(rm -rf /)\""));
        assert!(s.contains("<<'JSON'"));
    }
}
