//! The SIGBUS guard passes faults that are not its own to the handler that was
//! installed before it, with the same arguments. Its own process (an
//! integration test binary), so that the handler installed first is ours.
//! Linux only: the `sigaction` layout below is glibc's.
#![cfg(target_os = "linux")]

use std::ffi::c_void;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

#[repr(C)]
struct SigAction {
    handler: usize,
    mask: [u64; 16],
    flags: i32,
    restorer: usize,
}

#[repr(C)]
struct SigInfo {
    signo: i32,
    errno: i32,
    code: i32,
    _pad: i32,
    addr: usize,
}

extern "C" {
    fn sigaction(sig: i32, act: *const SigAction, old: *mut SigAction) -> i32;
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64)
        -> *mut c_void;
}

const SIGBUS: i32 = 7;
const SA_SIGINFO: i32 = 4;
const PAGE: usize = 4096;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static ADDR: AtomicUsize = AtomicUsize::new(0);
static CODE: AtomicUsize = AtomicUsize::new(0);

/// The "previous" handler: records what it was given and maps a zero page
/// over the faulting one, so that the faulting read can finish.
extern "C" fn previous(sig: i32, info: *mut SigInfo, _context: *mut c_void) {
    // SAFETY: the kernel's siginfo, read only; mmap over the faulting page
    // of the test's own mapping.
    unsafe {
        assert_eq!(sig, SIGBUS);
        CALLS.fetch_add(1, Ordering::SeqCst);
        ADDR.store((*info).addr, Ordering::SeqCst);
        CODE.store((*info).code as usize, Ordering::SeqCst);
        let page = (*info).addr & !(PAGE - 1);
        mmap(page as *mut c_void, PAGE, 3, 0x10 | 0x02 | 0x20, -1, 0);
    }
}

fn temp_file(name: &str, pages: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("mmap_chain_{}_{}", std::process::id(), name));
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&vec![7u8; pages * PAGE]).unwrap();
    path
}

#[test]
fn faults_that_are_not_ours_reach_the_previous_handler_unchanged() {
    // SAFETY: installs a valid SA_SIGINFO handler before anything else does.
    unsafe {
        let action = SigAction {
            handler: previous as *const () as usize,
            mask: [0; 16],
            flags: SA_SIGINFO,
            restorer: 0,
        };
        assert_eq!(sigaction(SIGBUS, &action, std::ptr::null_mut()), 0);
    }

    // Our mapping: installs the guard, which chains to `previous`.
    let ours = temp_file("ours", 4);
    let name = ours.to_str().unwrap();
    let mut out = [0u64; 3];
    // SAFETY: valid path bytes and out buffer.
    let status = unsafe {
        mmap_ffi::mmap_map(
            name.as_ptr(),
            name.len() as u32,
            0,
            0.0,
            0.0,
            0.0,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(status, 0);
    let id = out[0] as u32;

    // A mapping the guard does not know, truncated, then touched.
    let foreign = temp_file("foreign", 4);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&foreign)
        .unwrap();
    // SAFETY: a fresh shared read-only mapping of the file.
    let base = unsafe { mmap(std::ptr::null_mut(), 4 * PAGE, 1, 1, file.as_raw_fd(), 0) } as usize;
    file.set_len(PAGE as u64).unwrap();
    let touched = base + 2 * PAGE + 5;
    // SAFETY: inside the mapping; the fault is handled by `previous`.
    let byte = unsafe { std::ptr::read_volatile(touched as *const u8) };
    assert_eq!(byte, 0);
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        1,
        "the previous handler ran once"
    );
    assert_eq!(
        ADDR.load(Ordering::SeqCst),
        touched,
        "with the same si_addr"
    );
    assert_eq!(
        CODE.load(Ordering::SeqCst),
        2,
        "and the same si_code (BUS_ADRERR)"
    );

    // A fault in our own mapping is repaired by the guard, not passed on.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&ours)
        .unwrap()
        .set_len(0)
        .unwrap();
    let mut buf = [1u8; 8];
    // SAFETY: a valid destination buffer.
    let read = unsafe { mmap_ffi::mmap_read(id, (2 * PAGE) as f64, buf.as_mut_ptr(), 8.0) };
    assert_eq!(read, 4, "Status::Truncated");
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        1,
        "our fault was not passed on"
    );
    assert_eq!(mmap_ffi::mmap_close(id), 0);
    let _ = std::fs::remove_file(ours);
    let _ = std::fs::remove_file(foreign);
}
