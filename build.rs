//! Links runbook's executable at a fixed address on Linux (`-no-pie`). A position-independent
//! executable has its loader write every pointer in its read-only data at start-up (about
//! 10,000 of them here, 45 pages copied on write): a quarter of the page faults of a one-page
//! `render`, 0.3 ms of its 2 ms. The cost is that the executable's own code is not placed at
//! a random address (the stack, heap and libraries still are). `RUNBOOK_PIE=1` at build time
//! keeps the position-independent default (README, "Speed").
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUNBOOK_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let pie = std::env::var_os("RUNBOOK_PIE").is_some_and(|v| v == "1");
    // a static build (`crt-static`) is linked by rustc as a static PIE, which `-no-pie` would
    // break: such a build asks for a fixed address with `-C relocation-model=static`
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_crt = features.split(',').any(|f| f == "crt-static");
    if linux && !pie && !static_crt {
        // only the executables: the proc-macro crates cargo builds are shared objects
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
