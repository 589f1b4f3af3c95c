//! The operating-system layer, one file per OS with the same internal API
//! (documented at the top of `unix.rs`). Chosen by `cfg` here and nowhere else.

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

pub use imp::*;
