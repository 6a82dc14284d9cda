//! Timer histograms: exact below 1024 ms, and above that buckets 1/128 of their value wide
//! (a percentile above one second is at most 0.8% below the true value); `max` and `mean`
//! are exact. Buckets are stored in chunks of 32 allocated the first time a value falls in
//! them: a timer that is always 0 costs one chunk, and the largest histogram (values spread
//! evenly up to a minute) about 8 KiB, whatever the number of values.

use serde::Serialize;

const EXACT: u64 = 1024;
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
const CHUNK: usize = 32;

/// Values below this are counted inline, without following a pointer: most timers are a few
/// milliseconds, and a summary updates several histograms per line.
const INLINE: usize = 64;

#[derive(Clone, Debug)]
pub struct Hist {
    small: [u32; INLINE],
    chunks: Vec<Option<Box<[u32; CHUNK]>>>,
    count: u64,
    not_reached: u64,
    sum: u128,
    max: i64,
}

impl Default for Hist {
    fn default() -> Self {
        Hist {
            small: [0; INLINE],
            chunks: Vec::new(),
            count: 0,
            not_reached: 0,
            sum: 0,
            max: 0,
        }
    }
}

/// Percentiles of a histogram; all () in Rhai when `count` is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Values recorded (not counting `-1`).
    pub count: u64,
    /// `-1` values: the phase was never reached.
    pub not_reached: u64,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub p99: Option<i64>,
    pub max: Option<i64>,
    pub mean: Option<f64>,
}

/// The bucket of a value: exact below 1024, then 128 buckets per power of two.
#[inline]
fn bucket(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 10
    let shift = e - SUB_BITS;
    let octave = (e - 10) as u64;
    (EXACT + octave * SUB + ((v >> shift) - SUB)) as usize
}

/// The smallest value of a bucket.
fn low(b: usize) -> i64 {
    let b = b as u64;
    if b < EXACT {
        return b as i64;
    }
    let octave = (b - EXACT) / SUB;
    let sub = (b - EXACT) % SUB;
    let e = octave + 10;
    i64::try_from((SUB + sub) << (e - u64::from(SUB_BITS))).unwrap_or(i64::MAX)
}

impl Hist {
    /// Records a timer; negative values count as "not reached".
    #[inline]
    pub fn add(&mut self, v: i64) {
        if v < 0 {
            if v != super::entry::NA {
                self.not_reached += 1;
            }
            return;
        }
        self.count += 1;
        self.sum += v as u128;
        self.max = self.max.max(v);
        if (v as u64) < INLINE as u64 {
            let slot = &mut self.small[v as usize];
            *slot = slot.saturating_add(1);
            return;
        }
        let b = bucket(v as u64);
        let c = b / CHUNK;
        if self.chunks.len() <= c {
            self.chunks.resize_with(c + 1, || None);
        }
        let chunk = self.chunks[c].get_or_insert_with(|| Box::new([0u32; CHUNK]));
        let slot = &mut chunk[b % CHUNK];
        *slot = slot.saturating_add(1);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The nearest-rank percentile `q` (0 < q <= 1).
    pub fn quantile(&self, q: f64) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (v, &n) in self.small.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some((v as i64).min(self.max));
            }
        }
        for (c, chunk) in self.chunks.iter().enumerate() {
            let Some(chunk) = chunk else { continue };
            for (i, &n) in chunk.iter().enumerate() {
                seen += u64::from(n);
                if seen >= rank {
                    return Some(low(c * CHUNK + i).min(self.max));
                }
            }
        }
        Some(self.max)
    }

    pub fn merge(&mut self, o: &Hist) {
        for (a, b) in self.small.iter_mut().zip(o.small.iter()) {
            *a = a.saturating_add(*b);
        }
        if self.chunks.len() < o.chunks.len() {
            self.chunks.resize_with(o.chunks.len(), || None);
        }
        for (c, oc) in o.chunks.iter().enumerate() {
            let Some(oc) = oc else { continue };
            let mine = self.chunks[c].get_or_insert_with(|| Box::new([0u32; CHUNK]));
            for (a, b) in mine.iter_mut().zip(oc.iter()) {
                *a = a.saturating_add(*b);
            }
        }
        self.count += o.count;
        self.not_reached += o.not_reached;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
    }

    pub fn percentiles(&self) -> Percentiles {
        let some = self.count > 0;
        Percentiles {
            count: self.count,
            not_reached: self.not_reached,
            p50: self.quantile(0.5),
            p90: self.quantile(0.9),
            p99: self.quantile(0.99),
            max: some.then_some(self.max),
            mean: some.then(|| (self.sum as f64 / self.count as f64 * 10.0).round() / 10.0),
        }
    }

    /// Bytes held (for the memory bound).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().flatten().count() * CHUNK * 4 + self.chunks.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_a_second_bounded_above() {
        let mut h = Hist::default();
        for v in 1..=1000 {
            h.add(v);
        }
        h.add(-1);
        h.add(super::super::entry::NA);
        let p = h.percentiles();
        assert_eq!(
            (p.count, p.not_reached, p.p50, p.p90, p.p99, p.max),
            (1000, 1, Some(500), Some(900), Some(990), Some(1000))
        );
        assert_eq!(p.mean, Some(500.5));
        let mut h = Hist::default();
        let vals: Vec<i64> = (0..10_000).map(|i| 1000 + i * 7919 % 3_000_000).collect();
        for &v in &vals {
            h.add(v);
        }
        let mut sorted = vals.clone();
        sorted.sort_unstable();
        for q in [0.5, 0.9, 0.99, 1.0] {
            let exact =
                sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
            let got = h.quantile(q).unwrap();
            assert!(
                got <= exact && (exact - got) as f64 <= exact as f64 / 128.0,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.percentiles().max, Some(*sorted.last().unwrap()));
        assert!(h.heap_bytes() < 16 * 1024, "{}", h.heap_bytes());
        h.add(i64::MAX);
        assert_eq!(h.percentiles().max, Some(i64::MAX));
        assert_eq!(Hist::default().percentiles().p50, None);
        let mut a = Hist::default();
        a.add(5);
        let mut b = Hist::default();
        b.add(7);
        b.add(5000);
        a.merge(&b);
        assert_eq!(
            (a.count(), a.quantile(0.5), a.percentiles().max),
            (3, Some(7), Some(5000))
        );
    }
}
