//! A small MaxMind DB writer for tests (the MaxMind DB File Format
//! Specification, version 2.0): an IPv6 search tree with 32-bit records
//! (IPv4 networks under `::/96`, as MaxMind's own databases hold them), a
//! data section of maps, strings and unsigned integers, and the metadata
//! with a chosen `build_epoch`. So tests make databases with the layouts
//! of GeoLite2, DB-IP and IPinfo, and any build date, without downloading one.

#![allow(dead_code)]

use std::net::IpAddr;

/// A value in the data section.
#[derive(Debug, Clone)]
pub enum Value {
    Str(String),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(String, Value)>),
    Array(Vec<Value>),
}

/// `Value::Str`.
pub fn s(text: &str) -> Value {
    Value::Str(text.to_string())
}

/// `Value::Map` from pairs.
pub fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// A record of the search tree.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// A database being made: networks and their records, then `bytes`.
pub struct Writer {
    nodes: Vec<[Rec; 2]>,
    data: Vec<u8>,
    database_type: String,
    build_epoch: u64,
}

impl Writer {
    pub fn new(database_type: &str, build_epoch: u64) -> Writer {
        Writer {
            nodes: vec![[Rec::Empty; 2]],
            data: Vec::new(),
            database_type: database_type.to_string(),
            build_epoch,
        }
    }

    /// Gives `network` (`203.0.113.0/24`, `2001:db8::/32`) the record
    /// `value`. Networks must not nest.
    pub fn insert(&mut self, network: &str, value: &Value) -> &mut Writer {
        let (addr, len) = network.split_once('/').expect("a CIDR network");
        let addr: IpAddr = addr.parse().expect("an address");
        let len: usize = len.parse().expect("a prefix length");
        let (bits, len) = match addr {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), len + 96),
            IpAddr::V6(v6) => (u128::from(v6), len),
        };
        let offset = self.data.len();
        encode(value, &mut self.data);
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == len {
                self.nodes[node][bit] = Rec::Data(offset);
                break;
            }
            node = match self.nodes[node][bit] {
                Rec::Node(n) => n,
                Rec::Empty => {
                    self.nodes.push([Rec::Empty; 2]);
                    let n = self.nodes.len() - 1;
                    self.nodes[node][bit] = Rec::Node(n);
                    n
                }
                Rec::Data(_) => panic!("{network} nests inside another network"),
            };
        }
        self
    }

    /// The database file.
    pub fn bytes(&self) -> Vec<u8> {
        let count = self.nodes.len();
        let mut out = Vec::new();
        for node in &self.nodes {
            for rec in node {
                let v = match *rec {
                    Rec::Empty => count,
                    Rec::Node(n) => n,
                    Rec::Data(offset) => count + 16 + offset,
                };
                out.extend_from_slice(&(v as u32).to_be_bytes());
            }
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = Value::Map(vec![
            ("node_count".into(), Value::U32(count as u32)),
            ("record_size".into(), Value::U16(32)),
            ("ip_version".into(), Value::U16(6)),
            ("database_type".into(), s(&self.database_type)),
            ("languages".into(), Value::Array(vec![s("en")])),
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(self.build_epoch)),
            (
                "description".into(),
                map(&[("en", s("tweet-attacks test"))]),
            ),
        ]);
        encode(&metadata, &mut out);
        out
    }
}

/// A control byte (and the extended type's byte) and the size's extra bytes.
fn header(kind: u8, size: usize, out: &mut Vec<u8>) {
    let (low, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, vec![]),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push((kind << 5) | low);
    } else {
        out.push(low);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn uint(kind: u8, n: u64, out: &mut Vec<u8>) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    header(kind, 8 - skip, out);
    out.extend_from_slice(&bytes[skip..]);
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Str(text) => {
            header(2, text.len(), out);
            out.extend_from_slice(text.as_bytes());
        }
        Value::U16(n) => uint(5, u64::from(*n), out),
        Value::U32(n) => uint(6, u64::from(*n), out),
        Value::U64(n) => uint(9, *n, out),
        Value::Map(pairs) => {
            header(7, pairs.len(), out);
            for (k, v) in pairs {
                encode(&Value::Str(k.clone()), out);
                encode(v, out);
            }
        }
        Value::Array(items) => {
            header(11, items.len(), out);
            for v in items {
                encode(v, out);
            }
        }
    }
}

/// A GeoLite2-ASN (or DB-IP ASN Lite) record.
pub fn asn_record(asn: u32, org: &str) -> Value {
    map(&[
        ("autonomous_system_number", Value::U32(asn)),
        ("autonomous_system_organization", s(org)),
    ])
}

/// A GeoLite2-Country (or DB-IP Country Lite) record.
pub fn country_record(iso: &str) -> Value {
    map(&[
        (
            "continent",
            map(&[("code", s("EU")), ("names", map(&[("en", s("Europe"))]))]),
        ),
        (
            "country",
            map(&[
                ("iso_code", s(iso)),
                ("names", map(&[("en", s("Somewhere"))])),
            ]),
        ),
    ])
}

/// An IPinfo Lite record: the AS and the country in one.
pub fn ipinfo_record(asn: &str, name: &str, country_code: &str) -> Value {
    map(&[
        ("asn", s(asn)),
        ("as_name", s(name)),
        ("as_domain", s("example.net")),
        ("country_code", s(country_code)),
        ("country", s("Netherlands")),
        ("continent_code", s("EU")),
        ("continent", s("Europe")),
    ])
}
