//! The fuzz targets' entry points on inputs worth keeping: the attacks the hardening issue found,
//! and edge cases of each parser. `scripts/fuzz.sh` runs the targets themselves; any crash they
//! find is added here first.

use cyberhub_server::fuzzing;

#[test]
fn request_heads() {
    for head in [
        &b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\ncontent-length: 44\r\n\r\nGET /v1/cases HTTP/1.1\r\n\r\n"[..],
        b"GET /v1/events/poll HTTP/1.1\nhost: x\n\n",
        b"GET /v1/events HTTP/1.0\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\nx: \xff\xfe\r\n\r\n",
        b"GET /v1/events?last_event_id=%ZZ HTTP/1.1\r\n\r\n",
        b"\r\n\r\nGET /v1/events HTTP/1.1\r\n\r\n",
        b"",
        b"GET",
    ] {
        fuzzing::request_head(head);
    }
    let huge = format!(
        "GET /v1/events HTTP/1.1\r\nx: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    fuzzing::request_head(huge.as_bytes());
}

#[test]
fn cursors() {
    for cursor in [
        "",
        " ",
        "0",
        "-1",
        "9223372036854775807",
        "9223372036854775808",
        "1e3",
        "\u{0}",
        "٣",
    ] {
        fuzzing::cursor(cursor.as_bytes());
    }
}

#[test]
fn json_bodies() {
    for body in [
        r#"{"delta":-9223372036854775808,"reason":"x"}"#,
        r#"{"text":"\r\n\r\n"}"#,
        r#"{"text":"\u0085"}"#,
        r#"{"name":"x","price":-1,"items":[{"name":"","rarity":"rare","value":0,"weight":0}]}"#,
        r#"{"minutes":9223372036854775807}"#,
        r#"{"username":"ы","password":"12345678"}"#,
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    ] {
        fuzzing::json_bodies(body.as_bytes());
    }
}

#[test]
fn topup_signatures() {
    for input in [
        &b""[..],
        b"\n",
        b"sha256=\n{}",
        b"sha256=zz\n{}",
        b"sha256=00\n",
        b"\xff\xfe\n\xff",
    ] {
        fuzzing::topup_signature(input);
    }
}
