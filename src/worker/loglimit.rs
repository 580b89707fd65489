//! A per-isolate budget for request log lines (`LOG_LIMIT` per second): a flood of refused requests must not
//! become a flood of log lines (each costs CPU, and log volume is billed). Lines over the budget are counted,
//! and the first line written in a later second is preceded by one summary of what was dropped.

/// What to do with one request line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Write it; when `suppressed > 0`, first write a summary: that many lines were dropped before.
    Write {
        /// Lines dropped since the last summary.
        suppressed: u64,
    },
    /// Drop it (counted for the next summary).
    Drop,
}

/// The budget: `per_second` lines in each whole second (0 = unlimited). A fixed 24 bytes: counters only, nothing
/// kept per request or per line.
#[derive(Debug)]
pub struct LogLimit {
    per_second: u32,
    second: u64,
    used: u32,
    suppressed: u64,
}

impl LogLimit {
    /// A budget of `per_second` request lines per second; 0 = no limit.
    pub fn new(per_second: u32) -> LogLimit {
        LogLimit { per_second, second: 0, used: 0, suppressed: 0 }
    }

    /// Decide one line at `now` (unix seconds).
    pub fn admit(&mut self, now: u64) -> Admit {
        if self.per_second == 0 {
            return Admit::Write { suppressed: 0 };
        }
        if now != self.second {
            self.second = now;
            self.used = 0;
        }
        if self.used >= self.per_second {
            self.suppressed = self.suppressed.saturating_add(1);
            return Admit::Drop;
        }
        self.used += 1;
        Admit::Write { suppressed: std::mem::take(&mut self.suppressed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    #[test]
    fn within_a_second_only_the_budget_is_written() {
        let mut l = LogLimit::new(3);
        let verdicts: Vec<_> = (0..10).map(|_| l.admit(T0)).collect();
        assert_eq!(verdicts.iter().filter(|v| matches!(v, Admit::Write { .. })).count(), 3);
        assert_eq!(verdicts[3..], [Admit::Drop; 7]);
    }

    #[test]
    fn the_next_written_line_reports_what_was_dropped_once() {
        let mut l = LogLimit::new(1);
        assert_eq!(l.admit(T0), Admit::Write { suppressed: 0 });
        assert_eq!(l.admit(T0), Admit::Drop);
        assert_eq!(l.admit(T0), Admit::Drop);
        assert_eq!(l.admit(T0 + 5), Admit::Write { suppressed: 2 });
        assert_eq!(l.admit(T0 + 6), Admit::Write { suppressed: 0 }, "reported once");
    }

    #[test]
    fn zero_means_unlimited() {
        let mut l = LogLimit::new(0);
        assert!((0..10_000).all(|_| l.admit(T0) == Admit::Write { suppressed: 0 }));
    }

    #[test]
    fn a_clock_going_back_opens_a_new_window_without_losing_the_count() {
        let mut l = LogLimit::new(1);
        assert_eq!(l.admit(T0 + 1), Admit::Write { suppressed: 0 });
        assert_eq!(l.admit(T0 + 1), Admit::Drop);
        assert_eq!(l.admit(T0), Admit::Write { suppressed: 1 });
    }
}
