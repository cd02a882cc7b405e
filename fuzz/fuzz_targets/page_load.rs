#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| runbook::fuzzing::page_load(data));
