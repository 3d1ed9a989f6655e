//! What the commands that read a saved state share with the run that
//! writes it: opening a state that must already exist, and the keys of the
//! notes a run leaves there that a view explains.

use std::path::Path;

use anyhow::Result;

use crate::state::{self, State};

/// The note `run --if-configured` leaves while no sink is configured; a
/// configured run removes it, and `status` explains it.
pub const UNCONFIGURED: &str = "unconfigured";

/// Loads a state that must exist (for the read-only views). Missing is "has
/// `run` run yet?"; any other failure (permission denied, …) is said as it is.
pub fn load_existing(path: &Path) -> Result<State> {
    state::must_exist(path)?;
    state::load(path)
}
