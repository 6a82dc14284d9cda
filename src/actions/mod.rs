//! The write path: which servers a write takes out of rotation and the
//! last-server guard's rules (`rotation`), draining (`drain`), and the audit
//! journal every write lands in before the next one goes out (`journal`).
//!
//! May import: `base`, `runtime`, `config` (tracks and backups).

pub mod drain;
pub mod journal;
pub mod rotation;
