//! Wiping what the app cannot wipe one value at a time.
//!
//! Passwords pass through code the app does not own: zxcvbn (the strength meter) copies
//! pieces of them into the matches it builds, the Unicode normalizer and `str` searches
//! grow and drop strings, and SIMD code spills 16-byte pieces onto the stack. Two
//! measures cover all of it:
//!
//! - [`WipingAllocator`], the binary's global allocator, zeroes every block before it is
//!   freed and every block a reallocation moves away from, so freed heap memory never
//!   holds old data;
//! - [`scrub_stack`] zeroes the stack below the caller, where the frames of calls that
//!   have returned (and their spilled registers) were.

use std::alloc::{GlobalAlloc, Layout, System};

use zeroize::Zeroize;

/// The system allocator, but freed memory is zeroed first (and a reallocation is a new
/// block, a copy, and a zeroed free of the old one).
pub struct WipingAllocator;

// SAFETY: every call is forwarded to `System` with the layout it was given; the only
// additions are writes of zeros to a block this allocator handed out, before it is freed.
unsafe impl GlobalAlloc for WipingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes from this allocator.
        unsafe {
            std::slice::from_raw_parts_mut(ptr, layout.size()).zeroize();
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout;
        // the old block is live for `layout.size()` bytes and the new one for `new_size`.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = System.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// How much stack below the caller `scrub_stack` zeroes: more than the deepest call that
/// handles a password (zxcvbn, bcrypt, the parser) uses.
const SCRUB_BYTES: usize = 256 * 1024;

/// Zeroes `SCRUB_BYTES` of stack below the caller: what the frames of returned calls
/// left there. Call it after work on a password returns.
#[inline(never)]
pub fn scrub_stack() {
    let mut area = [0u8; SCRUB_BYTES];
    area.zeroize();
    std::hint::black_box(&area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocator_allocates_reallocates_and_frees() {
        let a = WipingAllocator;
        let layout = Layout::from_size_align(16, 8).unwrap();
        // SAFETY: a block is used only within its size, and freed once with its layout.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            p.copy_from_nonoverlapping(b"0123456789abcdef".as_ptr(), 16);
            let q = a.realloc(p, layout, 64);
            assert_eq!(std::slice::from_raw_parts(q, 16), b"0123456789abcdef");
            a.dealloc(q, Layout::from_size_align(64, 8).unwrap());
        }
        scrub_stack();
    }
}
