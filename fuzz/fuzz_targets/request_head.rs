#![no_main]
//! See `cyberhub_server::fuzz_targets::request_head`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cyberhub_server::fuzz_targets::request_head(data));
