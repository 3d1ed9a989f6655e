//! The table as the head holds it (and as formats 1–3 held it whole).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::super::children::{ChildRecord, Children};
use super::super::{Attacker, Conn, ConnKey, Rules, Table, ip_order};
use super::{Meta, Store};
use crate::clock::Secs;
use crate::hash::Map;

/// An open connection as the head keeps it: `ConnKey`'s fields then
/// `Conn`'s, in one object. Spelled out, not two flattened structs: serde's
/// flatten reads through a buffer of every field, and a burst leaves
/// 100,000 connections open.
#[derive(Serialize, Deserialize)]
pub(super) struct ConnRecord {
    pub(super) h: u64,
    pub(super) pid: u32,
    pub(super) ip: IpAddr,
    pub(super) f: u32,
    pub(super) p: u32,
    pub(super) e: u32,
    pub(super) n: u32,
    pub(super) t: Secs,
}

impl ConnRecord {
    fn of(key: &ConnKey, c: &Conn) -> ConnRecord {
        ConnRecord {
            h: key.host,
            pid: key.pid,
            ip: key.ip,
            f: c.f,
            p: c.p,
            e: c.e,
            n: c.n,
            t: c.t,
        }
    }

    fn key(&self) -> ConnKey {
        ConnKey {
            host: self.h,
            pid: self.pid,
            ip: self.ip,
        }
    }

    fn conn(&self) -> Conn {
        Conn {
            f: self.f,
            p: self.p,
            e: self.e,
            n: self.n,
            t: self.t,
        }
    }
}

/// The table as the head holds it: the open connections and the store's
/// meta. Its attackers are in the chunks, written by `Table::write_changes`
/// or `Table::write_everything` before the head.
impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut conns: Vec<(&ConnKey, &Conn)> = self.conns.iter().collect();
        conns.sort_unstable_by_key(|(k, _)| **k);
        let conns: Vec<ConnRecord> = conns
            .into_iter()
            .map(|(k, c)| ConnRecord::of(k, c))
            .collect();
        let mut st = s.serialize_struct("Table", 3)?;
        st.serialize_field("conns", &conns)?;
        if self.children.is_empty() {
            st.skip_field("children")?;
        } else {
            st.serialize_field("children", &self.children.records())?;
        }
        st.serialize_field("store", &self.stored.meta)?;
        st.end()
    }
}

/// A head's table (format 4), or a whole table of format 1 to 3, whose
/// attackers are read into memory and written out in full by the next save.
impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            attackers: Option<Map<IpAddr, Attacker>>,
            #[serde(default)]
            conns: Vec<ConnRecord>,
            #[serde(default)]
            children: Vec<ChildRecord>,
            #[serde(default)]
            store: Meta,
        }
        let raw = Raw::deserialize(d)?;
        let mut stored = Store {
            meta: raw.store,
            ..Store::default()
        };
        // Searched by address (`is_kept`): in order, whoever wrote the file.
        stored.meta.kept.sort_unstable_by_key(ip_order);
        let attackers = raw.attackers.unwrap_or_default();
        if !attackers.is_empty() {
            stored.migrated();
        }
        let latest = attackers.values().map(|a| a.last).max().unwrap_or(0);
        // Saved by key: queued again oldest first.
        let mut expiry: Vec<_> = raw.conns.iter().map(|r| (r.t, r.key())).collect();
        expiry.sort_unstable();
        let latest = latest.max(raw.conns.iter().map(|r| r.t).max().unwrap_or(0));
        Ok(Table {
            attackers,
            stored,
            taken: Map::default(),
            conns: raw.conns.iter().map(|r| (r.key(), r.conn())).collect(),
            children: Children::from_records(raw.children),
            expiry: expiry.into(),
            latest,
            // Not saved: the run's options set them.
            rules: Rules::default(),
            links: Default::default(),
        })
    }
}
