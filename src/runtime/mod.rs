//! The HAProxy runtime API: addresses, sessions, validated commands and parsers.

pub mod info;
pub mod servers_state;
pub mod stat;
