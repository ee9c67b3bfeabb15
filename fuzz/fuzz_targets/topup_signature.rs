#![no_main]
//! See `cyberhub_server::fuzz_targets::topup_signature`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cyberhub_server::fuzz_targets::topup_signature(data));
