//! Small things a newcomer trips over: an empty outbox, `parse` waiting at
//! a terminal, which source `status` reads.

use super::*;

#[test]
fn an_empty_outbox_says_nothing_is_waiting() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.7", 9, 100))
        .write("vsftpd.log", "");
    env.run(&[]).ok();
    let out = Out(env
        .cmd(&["outbox", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(out.stdout(), "nothing waiting\n");
    // --json keeps its shape: empty lists, not words.
    let out = Out(env
        .cmd(&["outbox", "--state", "state.json", "--json"])
        .output()
        .unwrap())
    .ok();
    assert!(!out.stdout().contains("nothing"), "{}", out.stdout());
}
