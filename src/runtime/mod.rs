//! The HAProxy runtime API: addresses, sessions, validated commands and parsers.

pub mod address;
pub mod client;
pub mod command;
pub mod info;
pub mod proc;
pub mod replay;
pub mod servers_state;
pub mod session;
pub mod ssh;
pub mod stat;

pub use address::Address;
pub use client::{Client, Target};
pub use command::{AdminAction, Command, ServerRef};
