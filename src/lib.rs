//! tweet-attacks: sshd and vsftpd logs → attacker table → public posts.
//!
//! Modules in the order the data flows: `cli`/`config` → `source` (whole
//! lines by `lines`) → `parse` → `table` (`ingest` runs the three on two
//! threads) → `decide` → `render` → `sink` → `state`. `app` tells the cron
//! run (`gather` reads, `announce` queues the due, `publish` posts);
//! `commands` picks the subcommand and holds the others, one file each.

pub mod cli;
pub mod config;

pub mod announce;
pub mod clock;
pub mod decide;
pub mod deliver;
pub mod gather;
pub mod host;
pub mod ingest;
pub mod journal;
pub mod lines;
pub mod links;
pub mod parse;
pub mod publish;
pub mod refresh;
pub mod render;
pub mod sink;
pub mod site;
pub mod source;
pub mod state;
pub mod summary;
pub mod table;
pub mod text;
pub mod verify;

pub mod atomic;
pub mod completions;
pub mod export;
pub mod fault;
pub mod geoip;
pub mod hash;
pub mod manual;
pub mod notice;
pub mod safe_fs;
pub mod saved;
pub mod scope;

pub mod app;
pub mod commands;
