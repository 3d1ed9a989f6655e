//! Shell completion scripts, from clap_complete, with two fixes for bash.
//!
//! clap_complete 4.6 (up to 4.6.12 at least, clap-rs/clap#6421) names a
//! hyphenated binary two ways in its bash script: the dispatch sets
//! `cmd="tweet__attacks__subcmd__run"` while the case labels read
//! `tweet__subcmd__attacks__subcmd__run)`, so no subcommand ever completes.
//! Its bash, zsh and fish scripts also offer hidden flags (`--now`,
//! `--lock-wait`), which are left out here.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Args;

const BIN: &str = "tweet-attacks";

/// Every hidden long flag, anywhere in the command tree.
fn hidden_flags(cmd: &clap::Command, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if arg.is_hide_set()
            && let Some(long) = arg.get_long()
        {
            out.push(format!("--{long}"));
        }
    }
    for sub in cmd.get_subcommands() {
        hidden_flags(sub, out);
    }
}

/// The bash script with the case labels named as the dispatch names them,
/// and without hidden flags in the words offered.
fn fix_bash(script: &str, hidden: &[String]) -> String {
    let wrong = BIN.replace('-', "__subcmd__");
    let right = BIN.replace('-', "__");
    let script = script.replace(&format!("{wrong}__"), &format!("{right}__"));
    let script = script.replace(&format!("        {wrong})"), &format!("        {right})"));
    script
        .lines()
        .map(|line| match line.trim_start().strip_prefix("opts=\"") {
            Some(words) => {
                let indent = &line[..line.len() - line.trim_start().len()];
                let words: Vec<&str> = words
                    .trim_end_matches('"')
                    .split(' ')
                    .filter(|w| !hidden.iter().any(|h| h == w))
                    .collect();
                format!("{indent}opts=\"{}\"\n", words.join(" "))
            }
            None => format!("{line}\n"),
        })
        .collect()
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut cmd = Args::command();
    cmd.build();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    let mut hidden = Vec::new();
    hidden_flags(&cmd, &mut hidden);
    match shell {
        Shell::Bash => fix_bash(&script, &hidden),
        // One line per flag: `complete … -l now …` and `'--now=[…]…' \`.
        Shell::Fish | Shell::Zsh => script
            .lines()
            .filter(|line| {
                let line = line.trim_start();
                !hidden.iter().any(|h| {
                    let long = &h[2..];
                    line.contains(&format!(" -l {long} "))
                        || line.starts_with(&format!("'{h}="))
                        || line.starts_with(&format!("'{h}["))
                })
            })
            .map(|line| format!("{line}\n"))
            .collect(),
        _ => script,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_case_labels_match_the_dispatch_and_hide_hidden_flags() {
        let s = script(Shell::Bash);
        assert!(!s.contains("tweet__subcmd__attacks"), "{s}");
        assert!(s.contains("        tweet__attacks__subcmd__run)"));
        assert!(s.contains("cmd=\"tweet__attacks__subcmd__run\""));
        for shell in [Shell::Zsh, Shell::Fish] {
            let s = script(shell);
            assert!(s.contains("dry-run"), "{shell}");
            assert!(
                !s.contains("lock-wait") && !s.contains("--now") && !s.contains("-l now"),
                "{shell}: {s}"
            );
        }
        for line in s.lines().filter(|l| l.trim_start().starts_with("opts=")) {
            assert!(
                !line.contains("--now") && !line.contains("--lock-wait"),
                "{line}"
            );
        }
    }
}
