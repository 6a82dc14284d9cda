//! What a running HAProxy says about itself: health assessments of servers,
//! queues, the process and error rates (`health`), and the documentation of
//! the finding ids the diagnosis raises (`findings`), and what to check
//! when a socket cannot be talked to (`reach`). Pure functions over
//! parsed runtime replies, tested on fixtures.
//!
//! May import: `base`, `runtime` (parsed replies), `system`.

pub mod findings;
pub mod health;
pub mod reach;
