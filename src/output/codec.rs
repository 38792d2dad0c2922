//! A small binary codec for a shard's mergeable state: unsigned LEB128
//! varints, zigzag for signed integers, little-endian floats, and runs of
//! zeros (most sketch bins are empty) written as their length.

/// Appends values to a byte buffer.
#[derive(Default)]
pub struct Writer {
    /// The bytes written.
    pub bytes: Vec<u8>,
}

impl Writer {
    /// An unsigned integer, 7 bits a byte.
    pub fn u(&mut self, mut x: u128) {
        loop {
            let b = (x & 0x7f) as u8;
            x >>= 7;
            if x == 0 {
                self.bytes.push(b);
                return;
            }
            self.bytes.push(b | 0x80);
        }
    }

    /// A signed integer (zigzag).
    pub fn i(&mut self, x: i128) {
        self.u(((x << 1) ^ (x >> 127)) as u128);
    }

    /// A float, bit for bit.
    pub fn f64(&mut self, x: f64) {
        self.bytes.extend_from_slice(&x.to_le_bytes());
    }

    /// Counts, runs of zeros as `0, run length`.
    pub fn counts<T: Copy + Into<u128>>(&mut self, v: &[T]) {
        self.u(v.len() as u128);
        let mut i = 0;
        while i < v.len() {
            let x: u128 = v[i].into();
            if x == 0 {
                let start = i;
                while i < v.len() && v[i].into() == 0 {
                    i += 1;
                }
                self.u(0);
                self.u((i - start) as u128);
            } else {
                self.u(x);
                i += 1;
            }
        }
    }

    /// Floats, bit for bit, with their length.
    pub fn f64s(&mut self, v: &[f64]) {
        self.u(v.len() as u128);
        for x in v {
            self.bytes.extend_from_slice(&x.to_le_bytes());
        }
    }

    /// `f32`s, bit for bit, with their length.
    pub fn f32s(&mut self, v: &[f32]) {
        self.u(v.len() as u128);
        for x in v {
            self.bytes.extend_from_slice(&x.to_le_bytes());
        }
    }
}

/// Reads what a [`Writer`] wrote; every read fails cleanly on a short or
/// malformed buffer.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A malformed or truncated state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// Whether every byte was read.
    pub fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// An unsigned integer.
    pub fn u(&mut self) -> Result<u128, Malformed> {
        let mut x: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = *self.bytes.get(self.at).ok_or(Malformed("truncated"))?;
            self.at += 1;
            x |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err(Malformed("an integer is too long"))
    }

    /// An unsigned integer that must fit `usize`.
    pub fn size(&mut self) -> Result<usize, Malformed> {
        usize::try_from(self.u()?).map_err(|_| Malformed("a length is too large"))
    }

    /// A signed integer.
    pub fn i(&mut self) -> Result<i128, Malformed> {
        let z = self.u()?;
        Ok(((z >> 1) as i128) ^ -((z & 1) as i128))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(Malformed("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// A float.
    pub fn f64(&mut self) -> Result<f64, Malformed> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// Counts written by [`Writer::counts`], into `dst` (whose length
    /// they must have).
    pub fn counts_into<T: TryFrom<u128>>(&mut self, dst: &mut [T]) -> Result<(), Malformed> {
        if self.size()? != dst.len() {
            return Err(Malformed("a table has the wrong length for this model"));
        }
        let mut i = 0;
        while i < dst.len() {
            let x = self.u()?;
            if x == 0 {
                let run = self.size()?;
                if run == 0 || i + run > dst.len() {
                    return Err(Malformed("a run of zeros overflows its table"));
                }
                for d in &mut dst[i..i + run] {
                    *d = T::try_from(0).map_err(|_| Malformed("a count overflows"))?;
                }
                i += run;
            } else {
                dst[i] = T::try_from(x).map_err(|_| Malformed("a count overflows"))?;
                i += 1;
            }
        }
        Ok(())
    }

    /// Floats written by [`Writer::f64s`].
    pub fn f64s(&mut self) -> Result<Vec<f64>, Malformed> {
        let n = self.size()?;
        let b = self.take(n.checked_mul(8).ok_or(Malformed("a length is too large"))?)?;
        Ok(b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }

    /// `f32`s written by [`Writer::f32s`].
    pub fn f32s(&mut self) -> Result<Vec<f32>, Malformed> {
        let n = self.size()?;
        let b = self.take(n.checked_mul(4).ok_or(Malformed("a length is too large"))?)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let mut w = Writer::default();
        w.u(0);
        w.u(300);
        w.u(u128::MAX);
        w.i(-5);
        w.i(i128::MIN);
        w.f64(-0.0);
        w.counts(&[0u32, 0, 7, 0, 1, 0, 0, 0]);
        w.f64s(&[1.5, f64::MAX]);
        w.f32s(&[2.5]);
        let mut r = Reader::new(&w.bytes);
        assert_eq!(r.u().unwrap(), 0);
        assert_eq!(r.u().unwrap(), 300);
        assert_eq!(r.u().unwrap(), u128::MAX);
        assert_eq!(r.i().unwrap(), -5);
        assert_eq!(r.i().unwrap(), i128::MIN);
        assert_eq!(r.f64().unwrap().to_bits(), (-0.0f64).to_bits());
        let mut c = [9u32; 8];
        r.counts_into(&mut c).unwrap();
        assert_eq!(c, [0, 0, 7, 0, 1, 0, 0, 0]);
        assert_eq!(r.f64s().unwrap(), [1.5, f64::MAX]);
        assert_eq!(r.f32s().unwrap(), [2.5]);
        assert!(r.done());
        // Truncation is an error, not a panic.
        let mut w = Writer::default();
        w.f64s(&[1.0, 2.0]);
        w.counts(&[0u32, 0, 3]);
        for cut in 0..w.bytes.len() {
            let mut r = Reader::new(&w.bytes[..cut]);
            assert!(
                r.f64s().is_err() || r.counts_into(&mut [0u32; 3]).is_err(),
                "{cut}"
            );
        }
    }
}
