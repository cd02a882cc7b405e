//! runbook's entry point, as a C `main`: Rust's own start-up (`fn main`) first reads
//! `/proc/self/maps` to place the main thread's stack guard, which is a tenth of what a
//! one-page `render` costs, and sets SIGPIPE to be ignored; [`runbook::run`] ignores SIGPIPE
//! itself, and a stack overflow still stops the process (by SIGSEGV, without Rust's message).
//! `std::env::args_os` works as before (the C library hands the arguments to std), and
//! `std::process::exit` flushes what std buffers, as a return from `fn main` does.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    std::process::exit(runbook::run(std::env::args_os()))
}
