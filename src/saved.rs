//! What the commands that read a saved state share with the run that
//! writes it: a view of a state that must already exist, and the keys of
//! the notes a run leaves there that a view explains.
//!
//! Reading the table's stored attackers cannot fail midway (a corrupt block
//! becomes the table's `fault`), so a view that has read them must say at
//! the end whether it saw all of them. `view` is the one way in, and checks
//! after the view: no command can forget to.

use std::path::Path;

use anyhow::Result;

use crate::state::{self, State};

/// The note `run --if-configured` leaves while no sink is configured; a
/// configured run removes it, and `status` explains it.
pub const UNCONFIGURED: &str = "unconfigured";

/// Loads a state that must exist, shows it with `show`, and then fails if
/// what was read of it was not all of it. Missing is "has `run` run yet?";
/// any other failure (permission denied, …) is said as it is.
pub fn view<T>(path: &Path, show: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
    state::must_exist(path)?;
    let mut st = state::load(path)?;
    let shown = show(&mut st)?;
    state::check(path, &st)?;
    Ok(shown)
}
