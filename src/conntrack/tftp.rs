//! The TFTP helper: `net/netfilter/nf_conntrack_tftp.c` (`tftp_help`).
//!
//! A read or write request (opcode 1 or 2, the first two bytes after the UDP header) expects
//! the server's answer from any port to the client's port: the expectation is the request's
//! reply tuple with the source port free. Every packet of the master connection is read, the
//! first (NEW) one included; other opcodes and packets shorter than the opcode pass.

/// `TFTP_OPCODE_READ` / `TFTP_OPCODE_WRITE`: the request that creates an expectation, by name.
pub fn help(data: &[u8]) -> Option<&'static str> {
    match u16::from_be_bytes([*data.first()?, *data.get(1)?]) {
        1 => Some("read request"),
        2 => Some("write request"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_expect_and_the_rest_pass() {
        assert_eq!(
            super::help(b"\x00\x01file\x00octet\x00"),
            Some("read request")
        );
        assert_eq!(
            super::help(b"\x00\x02file\x00octet\x00"),
            Some("write request")
        );
        assert_eq!(super::help(b"\x00\x03\x00\x01data"), None);
        assert_eq!(super::help(b"\x00"), None);
    }
}
