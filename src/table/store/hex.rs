//! Hex for the chunk indexes: written and read in bulk, so plain loops.

pub(super) fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
}

pub(super) fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    // Branch-free, so that it vectorizes: a cron run decodes a few MB of it.
    fn digit(c: u8) -> u8 {
        let num = c.wrapping_sub(b'0');
        let alpha = (c | 0x20).wrapping_sub(b'a');
        match (num < 10, alpha < 6) {
            (true, _) => num,
            (_, true) => alpha + 10,
            _ => 0xff,
        }
    }
    text.len().is_multiple_of(2).then_some(())?;
    let mut out = vec![0u8; text.len() / 2];
    let mut worst = 0u8;
    for (o, p) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (digit(p[0]), digit(p[1]));
        worst = worst.max(hi).max(lo);
        *o = hi << 4 | (lo & 15);
    }
    (worst < 16).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let mut out = Vec::new();
        hex(&[0, 1, 0xab, 0xff], &mut out);
        assert_eq!(out, b"0001abff");
        assert_eq!(unhex(&out).unwrap(), [0, 1, 0xab, 0xff]);
        assert!(unhex(b"0g").is_none() && unhex(b"0").is_none());
        assert!(unhex(b"/0").is_none() && unhex(b"0:").is_none() && unhex(b"`0").is_none());
    }
}
