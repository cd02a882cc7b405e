//! The one integration test crate: every case runs the real binary on real files.
mod bad_input;
mod check;
mod cli;
mod faults;
mod filters;
mod fuzz;
mod hosts;
mod interactive;
mod liquid;
mod markdown;
mod pty;
mod quoting;
mod render;
mod run;
mod secrets;
mod test;
mod transcripts;
