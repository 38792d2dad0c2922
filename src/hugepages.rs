//! Large buffers backed by transparent huge pages where the system allows.
//!
//! A run's paths are a hundred megabytes or more written once. With 4 KiB
//! pages the kernel takes a page fault (and zeroes a page) per 4 KiB:
//! about 25,000 faults for the paths of 10,000 futures of the default
//! model. Advising the kernel that such a buffer may
//! use 2 MiB pages (`madvise(MADV_HUGEPAGE)`, honoured when transparent
//! huge pages are set to `madvise` or `always`) makes that a few hundred.
//! The advice never changes contents; elsewhere it is skipped.

/// Buffers smaller than this are left alone.
const MIN_BYTES: usize = 4 << 20;

/// An empty vector with room for `len` values, that memory advised to use
/// huge pages before it is first touched. Nothing is written to it (a
/// zeroed buffer cost a pass over all of it, in one thread, before the
/// parallel writers started): the caller fills it and sets its length.
pub fn with_capacity<T>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise(v.spare_capacity_mut());
    v
}

/// Advises the kernel that `v`'s memory may use huge pages.
fn advise<T>(v: &mut [T]) {
    let len = std::mem::size_of_val(v);
    if len < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = v.as_mut_ptr() as usize;
        let first = start.next_multiple_of(PAGE);
        let end = (start + len) / PAGE * PAGE;
        if end > first {
            // SAFETY: the range lies inside `v`'s allocation, and
            // MADV_HUGEPAGE only advises how to back it; a failure (no
            // transparent huge pages) is harmless and ignored.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Advised or not, the vector has the room asked for and can be
    /// filled through its pointer.
    #[test]
    fn vectors_of_any_size_can_be_filled() {
        for len in [0, 1, 1000, (super::MIN_BYTES / 4) + 12_345] {
            let mut v: Vec<f32> = super::with_capacity(len);
            assert!(v.is_empty() && v.capacity() >= len);
            let p = v.as_mut_ptr();
            for i in 0..len {
                // SAFETY: `i < len <= capacity`.
                unsafe { p.add(i).write(i as f32) };
            }
            // SAFETY: the first `len` values were just written.
            unsafe { v.set_len(len) };
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
        }
    }
}
