//! A block's records, `"address":[…],"address":[…]…`, found without
//! parsing the arrays: a lookup reads one block and decodes one record.

use std::net::IpAddr;

use super::super::ip_order;
use super::Key;

/// A record in a block: its address, key and array, as offsets into the block.
pub(super) struct Rec {
    pub(super) key: Key,
    pub(super) ip: IpAddr,
    /// Where `"address":` starts.
    pub(super) start: usize,
    pub(super) val: std::ops::Range<usize>,
}
/// Parses a block: `"address":[…],"address":[…]…`.
pub(super) fn parse_records(b: &[u8], out: &mut Vec<Rec>) -> Option<()> {
    let mut i = 0;
    while i < b.len() {
        if !out.is_empty() {
            (b[i] == b',').then_some(())?;
            i += 1;
        }
        (b.get(i) == Some(&b'"')).then_some(())?;
        let end = i + 1 + b[i + 1..].iter().position(|&c| c == b'"')?;
        let ip = crate::parse::parse_ip(&b[i + 1..end])?;
        (b.get(end + 1) == Some(&b':')).then_some(())?;
        let start = end + 2;
        let stop = skip_array(b, start)?;
        out.push(Rec {
            key: ip_order(&ip),
            ip,
            start: i,
            val: start..stop,
        });
        i = stop;
    }
    Some(())
}

/// The end of the JSON array that starts at `i`.
pub(super) fn skip_array(b: &[u8], mut i: usize) -> Option<usize> {
    (b.get(i) == Some(&b'[')).then_some(())?;
    let mut depth = 0usize;
    while let Some(&c) = b.get(i) {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Attacker;
    use crate::table::head::read_head;
    #[test]
    fn a_block_reads_back_its_records_whatever_their_names_hold() {
        let text = br#""192.0.2.7":[1,1,5,6,["a\"],\"b","]"],[]],"2001:db8::":[2,1,5,7,[],["h"],0,0,null,0,[64,"2001:db8::1"]]"#;
        let mut recs = Vec::new();
        parse_records(text, &mut recs).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].ip.to_string(), "192.0.2.7");
        assert_eq!(read_head(&text[recs[0].val.clone()]).unwrap().tries(), 1);
        assert_eq!(recs[1].ip.to_string(), "2001:db8::");
        let a: Attacker = serde_json::from_slice(&text[recs[1].val.clone()]).unwrap();
        assert_eq!(a.last, 7);
        for bad in [&b"\"192.0.2.7\":[1"[..], b"\"x\":[1,1,1,1]", b"[1]"] {
            assert!(parse_records(bad, &mut Vec::new()).is_none());
        }
    }
}
