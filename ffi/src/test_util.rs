//! Helpers for the tests of the exports (in each module's `tests`): temp
//! files and calls through the C interface.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use crate::*;

pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str, contents: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("mmap_ffi_test_{}_{}", std::process::id(), name));
        File::create(&path).unwrap().write_all(contents).unwrap();
        TempFile(path)
    }
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
    pub fn contents(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        File::open(&self.0)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn map(path: &str, flags: u32, size: f64, offset: f64, length: f64) -> (i32, [u64; 3]) {
    let mut out = [0u64; 3];
    // SAFETY: the buffer is live and at least as long as the length passed.
    let status = unsafe {
        mmap_map(
            path.as_ptr(),
            path.len() as u32,
            flags,
            size,
            offset,
            length,
            out.as_mut_ptr(),
        )
    };
    (status, out)
}

pub fn last_error() -> (i32, i32, String) {
    let mut info = [0i32; 2];
    let mut text = vec![0u8; 256];
    // SAFETY: `info` holds two i32s and `text` 256 bytes, as passed.
    let n = unsafe { mmap_last_error(info.as_mut_ptr(), text.as_mut_ptr(), 256) };
    text.truncate(n as usize);
    (info[0], info[1], String::from_utf8(text).unwrap())
}

pub fn read_at(id: u32, offset: usize, len: usize) -> (i32, Vec<u8>) {
    let mut buf = vec![0u8; len];
    // SAFETY: the buffer is live and at least as long as the length passed.
    let status = unsafe { mmap_read(id, offset as f64, buf.as_mut_ptr(), len as f64) };
    (status, buf)
}
