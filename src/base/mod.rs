//! What every layer shares: errors and exit codes, the report model
//! (findings, tables), the output sink, cancellation, finding programs,
//! did-you-mean suggestions, heap accounting for the memory bound. Plain data and traits; imports nothing else of
//! harun.

pub mod bytes;
pub mod cancel;
pub mod error;
pub mod mem;
pub mod program;
pub mod report;
pub mod sink;
pub mod suggest;
