//! The result of a run: one [`Row`] per check (pass, fail with the fix, or skipped with the reason), rendered as a
//! short table or as JSON, and the exit status.

use serde::Serialize;

use super::{EXIT_FAIL, EXIT_PASS};

/// A check's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not: `fix` says what to change.
    Fail,
    /// Not run: `detail` says why (an optional input not given, or a check it depends on failed).
    Skip,
}

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Pass, fail or skip.
    pub status: Status,
    /// What was seen (one line).
    pub detail: String,
    /// For a failure: what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Outcome {
    /// A pass.
    pub fn pass(detail: impl Into<String>) -> Outcome {
        Outcome { status: Status::Pass, detail: detail.into(), fix: None }
    }

    /// A failure and its fix.
    pub fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Outcome {
        Outcome { status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// Skipped, and why.
    pub fn skip(reason: impl Into<String>) -> Outcome {
        Outcome { status: Status::Skip, detail: reason.into(), fix: None }
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Stable id (e.g. `api_gate`), for scripts.
    pub id: &'static str,
    /// What is checked, in a few words.
    pub title: String,
    /// What was found.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What was checked: `https://host[:port]`.
    pub target: String,
    /// Mode and gate, in words.
    pub setup: String,
    /// The checks, in the order run.
    pub checks: Vec<Row>,
}

impl Report {
    /// How many rows have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|r| r.outcome.status == status).count()
    }

    /// 0 when nothing failed ([`EXIT_PASS`]), else [`EXIT_FAIL`].
    pub fn exit_status(&self) -> u8 {
        if self.count(Status::Fail) == 0 { EXIT_PASS } else { EXIT_FAIL }
    }

    /// The last line: `N checks: P passed, F failed, S skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} checks: {} passed, {} failed, {} skipped",
            self.checks.len(),
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }

    /// The table: a heading, one line per check (`pass` / `FAIL` / `skip`, the title, what was seen), a `fix:` line
    /// under each failure, and the summary.
    pub fn table(&self) -> String {
        let width = self.checks.iter().map(|r| r.title.len()).max().unwrap_or(0);
        let mut out = format!("pocketgate check {} ({})\n\n", self.target, self.setup);
        for row in &self.checks {
            let mark = match row.outcome.status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            out.push_str(&format!("{mark}  {:width$}  {}\n", row.title, one_line(&row.outcome.detail)));
            if let Some(fix) = &row.outcome.fix {
                out.push_str(&format!("{:pad$}fix: {}\n", "", one_line(fix), pad = width + 8));
            }
        }
        out.push('\n');
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The report as one JSON document (with the counts and the exit status).
    pub fn json(&self) -> String {
        let doc = serde_json::json!({
            "target": self.target,
            "setup": self.setup,
            "checks": self.checks,
            "passed": self.count(Status::Pass),
            "failed": self.count(Status::Fail),
            "skipped": self.count(Status::Skip),
            "exit_status": self.exit_status(),
        });
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
    }
}

/// Control characters (an answer's text may carry any) shown as spaces, so one row stays one line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            target: "https://q.example.com".into(),
            setup: "embedded mode, forward-auth".into(),
            checks: vec![
                Row { id: "tls", title: "TLS certificate".into(), outcome: Outcome::pass("TLSv1.3") },
                Row {
                    id: "api_gate",
                    title: "/api without a token".into(),
                    outcome: Outcome::fail("QuFabric answered\r\n itself", "ask the gate"),
                },
                Row { id: "token_allowed", title: "Allowed token".into(), outcome: Outcome::skip("no --token-file") },
            ],
        }
    }

    #[test]
    fn table_one_line_per_check_and_a_fix_line_per_failure() {
        let t = report().table();
        assert_eq!(
            t,
            "pocketgate check https://q.example.com (embedded mode, forward-auth)\n\n\
             pass  TLS certificate       TLSv1.3\n\
             FAIL  /api without a token  QuFabric answered   itself\n\
             \x20                           fix: ask the gate\n\
             skip  Allowed token         no --token-file\n\n\
             3 checks: 1 passed, 1 failed, 1 skipped\n"
        );
    }

    #[test]
    fn exit_status_and_json() {
        let mut r = report();
        assert_eq!(r.exit_status(), EXIT_FAIL);
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["failed"], 1);
        assert_eq!(v["exit_status"], 1);
        assert_eq!(v["checks"][1]["status"], "fail");
        assert_eq!(v["checks"][1]["fix"], "ask the gate");
        assert_eq!(v["checks"][0]["id"], "tls");
        assert!(v["checks"][0].get("fix").is_none());
        r.checks.remove(1);
        assert_eq!(r.exit_status(), EXIT_PASS, "skipped checks do not fail the run");
    }
}
