//! Byte scanning shared by the log parser and the syslog envelope.

/// The first `b` at or after `from` (or `s.len()`), eight bytes at a time: fields are
/// 5 to 30 bytes, too short for memchr's SIMD set-up to pay off, too long for a byte loop.
#[inline]
pub fn find_byte(s: &[u8], from: usize, b: u8) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pat = LO * u64::from(b);
    let mut i = from;
    while i + 8 <= s.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ pat;
        // The lowest byte that is zero in x sets its high bit here (higher ones may be wrong).
        let t = x.wrapping_sub(LO) & !x & HI;
        if t != 0 {
            return i + (t.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && s[i] != b {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::find_byte;

    #[test]
    fn find_byte_agrees_with_a_plain_search() {
        let mut x: u64 = 99;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let s: Vec<u8> = (0..len)
                .map(|k| [b' ', b'a', 0x80, 0xff, b'!', 0x1f][((x >> k) % 6) as usize])
                .collect();
            for from in 0..=len {
                let want = s[from..]
                    .iter()
                    .position(|&c| c == b' ')
                    .map_or(len, |p| from + p);
                assert_eq!(find_byte(&s, from, b' '), want, "{s:?} from {from}");
            }
        }
    }
}
