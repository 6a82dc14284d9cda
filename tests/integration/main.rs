//! One integration binary: the real `harun` binary and library against a real
//! HAProxy started by the lab, with real loopback backends.

mod harness;

mod actions;
mod ansible;
mod authoring;
mod batch;
mod check;
mod cli;
mod config;
mod disagree;
mod embed;
mod faults;
mod first_contact;
mod fleet;
mod hostile;
mod labconfig;
mod logging;
mod logs;
mod master;
mod names;
mod playbooks;
mod probe;
mod repl;
mod replay;
mod runtime;
mod ssh;
mod strict;
mod team;
mod versions;
mod vocabulary;
