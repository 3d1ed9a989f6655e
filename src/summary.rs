//! The one-line summary `replay` and `parse` end with on stderr, and the
//! per-form breakdown `parse` adds (like fail2ban-regex's).

use std::collections::BTreeMap;
use std::fmt;

use crate::table::Table;

/// Distinct forms counted by name; the client chooses a `Failed` line's
/// method name, so the rest are counted together.
const MAX_FORMS: usize = 64;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub recognised: u64,
    pub attackers: usize,
    pub tries: u64,
}

impl Summary {
    /// The attackers and tries of `table`, after reading.
    pub fn count_table(&mut self, table: &Table) {
        self.attackers = table.len();
        let mut tries = 0;
        table.for_each_standing(|s| tries += s.tries);
        self.tries = tries;
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lines read, {} recognised, {} attackers, {} tries",
            self.lines, self.recognised, self.attackers, self.tries
        )
    }
}

/// Lines recognised per form, and lines of sshd or vsftpd not understood.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Forms {
    pub by_form: BTreeMap<String, u64>,
    pub missed: u64,
    /// Lines that may be a failure but do not say whose: counted for nobody.
    pub ambiguous: u64,
}

impl Forms {
    pub fn add(&mut self, form: String) {
        let full = self.by_form.len() >= MAX_FORMS && !self.by_form.contains_key(&form);
        let key = if full { "other".to_string() } else { form };
        *self.by_form.entry(key).or_default() += 1;
    }
}

impl fmt::Display for Forms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "recognised:")?;
        if self.by_form.is_empty() {
            write!(f, " none")?;
        }
        for (i, (form, n)) in self.by_form.iter().enumerate() {
            write!(f, "{} {form} {n}", if i == 0 { "" } else { "," })?;
        }
        write!(
            f,
            "; {} line(s) of sshd or vsftpd with an address not understood",
            self.missed
        )?;
        if self.ambiguous > 0 {
            write!(f, ", {} ambiguous, counted for nobody", self.ambiguous)?;
        }
        if self.missed + self.ambiguous > 0 {
            write!(f, " (`tweet-attacks parse --missed` lists them)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_format() {
        let s = Summary {
            lines: 10,
            recognised: 4,
            attackers: 2,
            tries: 3,
        };
        assert_eq!(
            s.to_string(),
            "10 lines read, 4 recognised, 2 attackers, 3 tries"
        );
        let mut f = Forms::default();
        f.add("invalid_user".into());
        f.add("failed_password".into());
        f.add("failed_password".into());
        assert_eq!(
            f.to_string(),
            "recognised: failed_password 2, invalid_user 1; 0 line(s) of sshd or vsftpd with an address not understood"
        );
        for i in 0..100 {
            f.add(format!("failed_m{i}"));
        }
        assert_eq!(f.by_form.len(), MAX_FORMS + 1, "the rest as `other`");
        assert_eq!(f.by_form["other"], 100 - (MAX_FORMS as u64 - 2));
    }
}
