//! Toolchain smoke test: one pure function, one OS call per platform, one file round trip.
#![deny(unsafe_op_in_unsafe_fn)]

use std::fs::File;
use std::io::{Read, Write};

/// Adds two numbers; proves the library loads and calls cross the boundary.
#[no_mangle]
pub extern "C" fn smoke_add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// Returns the OS allocation granularity (the mmap offset alignment), or 0 on failure.
#[no_mangle]
pub extern "C" fn smoke_granularity() -> u32 {
    os::granularity()
}

/// Writes `len` bytes at `ptr` as a file at the UTF-8 path `path`/`path_len`, reads it
/// back and returns the number of bytes read, or -1 on error.
///
/// # Safety
/// `path` must point to `path_len` readable bytes and `data` to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn smoke_roundtrip(path: *const u8, path_len: usize, data: *const u8, len: usize) -> i64 {
    // SAFETY: the caller guarantees both ranges are readable for their lengths.
    let (path, data) = unsafe { (std::slice::from_raw_parts(path, path_len), std::slice::from_raw_parts(data, len)) };
    let path = match std::str::from_utf8(path) {
        Ok(p) => p,
        Err(_) => return -1,
    };
    let run = || -> std::io::Result<usize> {
        File::create(path)?.write_all(data)?;
        let mut back = Vec::new();
        File::open(path)?.read_to_end(&mut back)?;
        Ok(if back == data { back.len() } else { 0 })
    };
    run().map(|n| n as i64).unwrap_or(-1)
}

#[cfg(windows)]
mod os {
    #[repr(C)]
    struct SystemInfo {
        processor_architecture: u16,
        reserved: u16,
        page_size: u32,
        min_app_addr: *mut u8,
        max_app_addr: *mut u8,
        active_processor_mask: usize,
        number_of_processors: u32,
        processor_type: u32,
        allocation_granularity: u32,
        processor_level: u16,
        processor_revision: u16,
    }
    #[link(name = "kernel32")]
    extern "system" {
        fn GetSystemInfo(info: *mut SystemInfo);
    }
    pub fn granularity() -> u32 {
        let mut info = std::mem::MaybeUninit::<SystemInfo>::zeroed();
        // SAFETY: GetSystemInfo fills the whole struct and cannot fail.
        unsafe {
            GetSystemInfo(info.as_mut_ptr());
            info.assume_init().allocation_granularity
        }
    }
}

#[cfg(unix)]
mod os {
    extern "C" {
        fn sysconf(name: i32) -> i64;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SC_PAGESIZE: i32 = 30; // <bits/confname.h>
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    const SC_PAGESIZE: i32 = 29; // <unistd.h>
    pub fn granularity() -> u32 {
        // SAFETY: sysconf takes no pointers and is thread-safe.
        let n = unsafe { sysconf(SC_PAGESIZE) };
        if n > 0 { n as u32 } else { 0 }
    }
}
