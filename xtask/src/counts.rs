//! Test counts read from runner output: cargo/libtest and wasm-bindgen-test-runner (`test result:` lines) and
//! node's TAP reporter (`# pass N` / `# fail N`).

/// Passed and failed tests, summed over every runner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
}

impl Counts {
    /// Add whatever one output line reports.
    pub fn feed(&mut self, line: &str) {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("test result: ") {
            self.passed += number_before(rest, " passed");
            self.failed += number_before(rest, " failed");
        } else if let Some(n) = line.strip_prefix("# pass ") {
            self.passed += n.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(n) = line.strip_prefix("# fail ") {
            self.failed += n.trim().parse::<u64>().unwrap_or(0);
        }
    }

    /// The closing line CI reads.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// In `ok. 12 passed; 0 failed; ...`, the number right before `label`.
fn number_before(text: &str, label: &str) -> u64 {
    let Some(end) = text.find(label) else { return 0 };
    let digits: String = text[..end].chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn sums_libtest_lines() {
        let mut c = Counts::default();
        c.feed("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        c.feed("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.2s");
        c.feed("running 17 tests");
        assert_eq!(c, Counts { passed: 15, failed: 2 });
        assert_eq!(c.summary(), "15 passed, 2 failed");
    }

    #[test]
    fn sums_node_tap_totals_only_at_top_level() {
        let mut c = Counts::default();
        c.feed("# tests 9");
        c.feed("# pass 8");
        c.feed("# fail 1");
        c.feed("    # pass 100");
        c.feed("# passive comment");
        assert_eq!(c, Counts { passed: 8, failed: 1 });
    }

    #[test]
    fn ignores_unrelated_text() {
        let mut c = Counts::default();
        c.feed("test foo ... ok");
        c.feed("a test result: mentioned in passing");
        assert_eq!(c, Counts::default());
    }
}
