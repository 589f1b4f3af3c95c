//! Tests of the exports through their C interface, against real files.

use super::*;
use std::io::{Read, Write};
use std::path::PathBuf;

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("mmap_ffi_test_{}_{}", std::process::id(), name));
        File::create(&path).unwrap().write_all(contents).unwrap();
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
    fn contents(&self) -> Vec<u8> {
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

fn map(path: &str, flags: u32, size: f64, offset: f64, length: f64) -> (i32, [u64; 3]) {
    let mut out = [0u64; 3];
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

fn last_error() -> (i32, i32, String) {
    let mut info = [0i32; 2];
    let mut text = vec![0u8; 256];
    let n = unsafe { mmap_last_error(info.as_mut_ptr(), text.as_mut_ptr(), 256) };
    text.truncate(n as usize);
    (info[0], info[1], String::from_utf8(text).unwrap())
}

#[test]
fn read_write_round_trip() {
    let file = TempFile::new("round_trip", b"hello world");
    let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    let id = out[0] as u32;
    assert_eq!(out[2], 11);
    let mut buf = [0u8; 5];
    assert_eq!(unsafe { mmap_read(id, 6.0, buf.as_mut_ptr(), 5.0) }, 0);
    assert_eq!(&buf, b"world");
    assert_eq!(unsafe { mmap_write(id, 0.0, b"HELLO".as_ptr(), 5.0) }, 0);
    assert_eq!(mmap_flush(id, 1.0, 3.0, FLUSH_DURABLE), 0);
    assert_eq!(mmap_close(id), 0);
    assert_eq!(file.contents(), b"HELLO world");
    assert_eq!(mmap_close(id), Status::BadHandle as i32);
}

#[test]
fn out_of_range_copies_nothing() {
    let file = TempFile::new("range", b"0123456789");
    let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    let id = out[0] as u32;
    let mut buf = [7u8; 4];
    assert_eq!(
        unsafe { mmap_read(id, 8.0, buf.as_mut_ptr(), 4.0) },
        Status::OutOfRange as i32
    );
    assert_eq!(buf, [7u8; 4]);
    assert_eq!(
        unsafe { mmap_write(id, 7.0, b"abcd".as_ptr(), 4.0) },
        Status::OutOfRange as i32
    );
    for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
        assert_eq!(
            unsafe { mmap_read(id, bad, buf.as_mut_ptr(), 1.0) },
            Status::InvalidArgument as i32,
            "offset {}",
            bad
        );
    }
    assert_eq!(mmap_close(id), 0);
    assert_eq!(file.contents(), b"0123456789");
}

#[test]
fn read_only_mapping_refuses_writes() {
    let file = TempFile::new("read_only", b"abc");
    let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    let id = out[0] as u32;
    assert_eq!(
        unsafe { mmap_write(id, 0.0, b"x".as_ptr(), 1.0) },
        Status::ReadOnly as i32
    );
    assert_eq!(mmap_close(id), 0);
}

#[test]
fn missing_file_reports_the_os_error() {
    let (status, _) = map("/nonexistent/mmap_ffi/missing.bin", 0, 0.0, 0.0, 0.0);
    assert_eq!(status, Status::Os as i32);
    let (code, kind, text) = last_error();
    assert!(code != 0);
    assert_eq!(kind, error::kind_code(std::io::ErrorKind::NotFound));
    assert!(text.starts_with("open\t"), "{}", text);
}

#[test]
fn empty_file_maps_without_mmap() {
    let file = TempFile::new("empty", b"");
    let (status, out) = map(file.path(), 0, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    assert_eq!(out[1], 0);
    assert_eq!(out[2], 0);
    let id = out[0] as u32;
    assert_eq!(unsafe { mmap_read(id, 0.0, std::ptr::null_mut(), 0.0) }, 0);
    assert_eq!(mmap_flush(id, 0.0, 0.0, FLUSH_SYNC), 0);
    assert_eq!(mmap_close(id), 0);
}

#[test]
fn grow_creates_and_never_shrinks() {
    let file = TempFile::new("grow", b"");
    std::fs::remove_file(&file.0).unwrap();
    let (status, out) = map(
        file.path(),
        MAP_WRITE | MAP_CREATE | MAP_GROW,
        100.0,
        0.0,
        0.0,
    );
    assert_eq!(status, 0);
    assert_eq!(out[2], 100);
    assert_eq!(mmap_close(out[0] as u32), 0);
    let (status, out) = map(
        file.path(),
        MAP_WRITE | MAP_CREATE | MAP_GROW,
        10.0,
        0.0,
        0.0,
    );
    assert_eq!(status, 0);
    assert_eq!(out[2], 100);
    assert_eq!(mmap_close(out[0] as u32), 0);
    assert_eq!(file.contents().len(), 100);
}

#[test]
fn window_at_unaligned_offset() {
    let contents: Vec<u8> = (0..20000u32).map(|i| (i % 251) as u8).collect();
    let file = TempFile::new("window", &contents);
    let (status, out) = map(file.path(), MAP_LENGTH, 0.0, 4097.0, 5000.0);
    assert_eq!(status, 0);
    assert_eq!(out[2], 5000);
    let mut buf = vec![0u8; 5000];
    assert_eq!(
        unsafe { mmap_read(out[0] as u32, 0.0, buf.as_mut_ptr(), 5000.0) },
        0
    );
    assert_eq!(&buf[..], &contents[4097..9097]);
    assert_eq!(mmap_close(out[0] as u32), 0);
    let (status, _) = map(file.path(), MAP_LENGTH, 0.0, 19000.0, 5000.0);
    assert_eq!(status, Status::OutOfRange as i32);
}

#[test]
fn private_writes_never_reach_the_file() {
    let file = TempFile::new("private", b"original");
    let (status, out) = map(file.path(), MAP_PRIVATE, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    let id = out[0] as u32;
    assert_eq!(unsafe { mmap_write(id, 0.0, b"CHANGED!".as_ptr(), 8.0) }, 0);
    let mut buf = [0u8; 8];
    assert_eq!(unsafe { mmap_read(id, 0.0, buf.as_mut_ptr(), 8.0) }, 0);
    assert_eq!(&buf, b"CHANGED!");
    assert_eq!(mmap_flush(id, 0.0, 8.0, FLUSH_DURABLE), 0);
    assert_eq!(mmap_close(id), 0);
    assert_eq!(file.contents(), b"original");
}

#[test]
fn invalid_flag_combinations_are_refused() {
    let file = TempFile::new("flags", b"x");
    for flags in [
        MAP_CREATE,
        MAP_GROW,
        MAP_WRITE | MAP_PRIVATE | MAP_GROW,
        1 << 20,
    ] {
        let (status, _) = map(file.path(), flags, 1.0, 0.0, 0.0);
        assert_eq!(status, Status::InvalidArgument as i32, "flags {:#x}", flags);
    }
}

#[test]
fn bad_paths_are_refused() {
    let mut out = [0u64; 3];
    let nul = b"a\0b";
    let status = unsafe { mmap_open(nul.as_ptr(), 3, out.as_mut_ptr()) };
    assert_eq!(status, Status::InvalidArgument as i32);
    let status = unsafe { mmap_open(std::ptr::null(), 0, out.as_mut_ptr()) };
    assert_eq!(status, Status::InvalidArgument as i32);
    let bad_utf8 = [0xffu8, 0xfe];
    let status = unsafe { mmap_open(bad_utf8.as_ptr(), 2, out.as_mut_ptr()) };
    assert_eq!(status, Status::InvalidArgument as i32);
}

fn read_at(id: u32, offset: usize, len: usize) -> (i32, Vec<u8>) {
    let mut buf = vec![0u8; len];
    let status = unsafe { mmap_read(id, offset as f64, buf.as_mut_ptr(), len as f64) };
    (status, buf)
}

#[test]
fn anonymous_memory_round_trip_and_resize() {
    let mut out = [0u64; 3];
    assert_eq!(unsafe { mmap_anonymous(10_000.0, out.as_mut_ptr()) }, 0);
    let id = out[0] as u32;
    assert_eq!(read_at(id, 0, 10).1, vec![0u8; 10]);
    assert_eq!(
        unsafe { mmap_write(id, 9990.0, b"0123456789".as_ptr(), 10.0) },
        0
    );
    let mut moved = [0u64; 2];
    assert_eq!(
        unsafe { mmap_resize(id, 1_000_000.0, moved.as_mut_ptr()) },
        0
    );
    assert_eq!(moved[1], 1_000_000);
    assert_eq!(read_at(id, 9990, 10).1, b"0123456789");
    assert_eq!(read_at(id, 999_990, 10).1, vec![0u8; 10]);
    assert_eq!(unsafe { mmap_resize(id, 9995.0, moved.as_mut_ptr()) }, 0);
    assert_eq!(read_at(id, 9990, 5).1, b"01234");
    assert_eq!(read_at(id, 9990, 6).0, Status::OutOfRange as i32);
    assert_eq!(mmap_close(id), 0);
}

#[test]
fn resize_grows_and_shrinks_a_whole_file() {
    let file = TempFile::new("resize", b"abcdef");
    let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    let id = out[0] as u32;
    let mut moved = [0u64; 2];
    assert_eq!(unsafe { mmap_resize(id, 100_000.0, moved.as_mut_ptr()) }, 0);
    assert_eq!(unsafe { mmap_write(id, 99_999.0, b"Z".as_ptr(), 1.0) }, 0);
    assert_eq!(file.contents().len(), 100_000);
    assert_eq!(unsafe { mmap_resize(id, 3.0, moved.as_mut_ptr()) }, 0);
    assert_eq!(moved[1], 3);
    assert_eq!(unsafe { mmap_resize(id, 0.0, moved.as_mut_ptr()) }, 0);
    assert_eq!(unsafe { mmap_resize(id, 2.0, moved.as_mut_ptr()) }, 0);
    assert_eq!(mmap_close(id), 0);
    assert_eq!(file.contents(), b"\0\0");
    // Windows into a file and read-only mappings cannot be resized.
    let file = TempFile::new("resize_window", b"abcdef");
    for flags in [MAP_WRITE | MAP_LENGTH, 0, MAP_PRIVATE] {
        let (status, out) = map(file.path(), flags, 0.0, 0.0, 2.0);
        assert_eq!(status, 0);
        assert_eq!(
            unsafe { mmap_resize(out[0] as u32, 4.0, moved.as_mut_ptr()) },
            Status::InvalidArgument as i32
        );
        assert_eq!(mmap_close(out[0] as u32), 0);
    }
}

#[test]
fn advise_resident_and_lock() {
    let contents = vec![7u8; 64 * 1024];
    let file = TempFile::new("advise", &contents);
    let (status, out) = map(file.path(), MAP_WRITE, 0.0, 0.0, 0.0);
    assert_eq!(status, 0);
    let id = out[0] as u32;
    for advice in 0..5 {
        assert_eq!(mmap_advise(id, 1.0, 5000.0, advice), 0, "advice {}", advice);
    }
    assert_eq!(mmap_advise(id, 0.0, 1.0, 5), Status::InvalidArgument as i32);
    assert_eq!(mmap_advise(id, 0.0, 70_000.0, 0), Status::OutOfRange as i32);
    let _ = read_at(id, 0, 64 * 1024);
    let mut resident = 0.0f64;
    assert_eq!(unsafe { mmap_resident(id, 0.0, 65536.0, &mut resident) }, 0);
    assert_eq!(resident, 65536.0);
    assert_eq!(unsafe { mmap_resident(id, 10.0, 100.0, &mut resident) }, 0);
    assert_eq!(resident, 100.0);
    assert_eq!(mmap_lock(id, 0.0, 4096.0, 1), 0);
    assert_eq!(mmap_lock(id, 0.0, 4096.0, 0), 0);
    assert_eq!(mmap_close(id), 0);
    assert_eq!(mmap_advise(id, 0.0, 1.0, 0), Status::BadHandle as i32);
}

#[test]
fn shared_memory_is_shared_between_mappings() {
    let name = format!("mmap_ffi_test_{}", std::process::id());
    let mut a = [0u64; 3];
    let mut b = [0u64; 3];
    let open = |flags: u32, size: f64, out: &mut [u64; 3]| unsafe {
        mmap_shm_open(
            name.as_ptr(),
            name.len() as u32,
            flags,
            size,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(open(SHM_CREATE | SHM_EXCLUSIVE, 8192.0, &mut a), 0);
    assert_eq!(
        open(SHM_CREATE | SHM_EXCLUSIVE, 8192.0, &mut b),
        Status::Os as i32
    );
    assert_eq!(open(0, 0.0, &mut b), 0);
    assert!(b[2] >= 8192);
    assert_eq!(
        unsafe { mmap_write(a[0] as u32, 100.0, b"ping".as_ptr(), 4.0) },
        0
    );
    assert_eq!(read_at(b[0] as u32, 100, 4).1, b"ping");
    assert_eq!(
        unsafe { mmap_shm_unlink(name.as_ptr(), name.len() as u32) },
        0
    );
    assert_eq!(mmap_close(a[0] as u32), 0);
    assert_eq!(mmap_close(b[0] as u32), 0);
    assert_eq!(open(0, 0.0, &mut b), Status::Os as i32);
    let bad = "a/b";
    assert_eq!(
        unsafe { mmap_shm_open(bad.as_ptr(), 3, SHM_CREATE, 1.0, b.as_mut_ptr()) },
        Status::InvalidArgument as i32
    );
}
