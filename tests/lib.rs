//! The one integration test crate: every case runs the real binary on real files.
mod bad_input;
mod cli;
mod faults;
mod fuzz;
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
