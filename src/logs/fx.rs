//! The hash of the aggregation tables.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash: a multiply-rotate hash, several times faster than SipHash on the short keys of a
/// log line (names, addresses, paths). Keys may come from clients (addresses, URLs), but every
/// table using it is capped (2,000 names, 1,000 top-list counters), so a flood of colliding
/// keys costs a bounded scan, never unbounded memory.
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<Fx>>;
