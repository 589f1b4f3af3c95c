//! Windows twin of the SIGBUS guard (`fault.rs`), with the same internal API.
//!
//! Windows refuses to truncate a file while a view of it is mapped
//! (`ERROR_USER_MAPPED_FILE`, 1224), so the crash the guard prevents on Unix
//! cannot happen here and there is nothing to install.

use crate::error::Result;

/// Nothing to install on Windows.
pub fn install() -> Result<()> {
    Ok(())
}
