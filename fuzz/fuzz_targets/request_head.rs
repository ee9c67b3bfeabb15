#![no_main]
//! See `cyberhub_server::fuzzing::request_head`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cyberhub_server::fuzzing::request_head(data));
