#![no_main]
//! See `cyberhub_server::fuzzing::cursor`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cyberhub_server::fuzzing::cursor(data));
