//! Which resolved addresses a request may connect to. A tool allowed
//! `https://*.example.com` must not reach the operator's own network
//! through a name that resolves to `10.0.0.5` or to the cloud metadata
//! service at `169.254.169.254`: after the lookup, internal addresses are
//! dropped unless the allow entry was written for such a host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address counts as internal, for the refusal's message.
pub(crate) fn internal_kind(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = address.octets();
    Some(match (a, b, c) {
        _ if address.is_loopback() => "loopback",
        _ if address.is_private() => "private",
        _ if address.is_link_local() => "link-local (cloud metadata lives here)",
        _ if address.is_unspecified() || a == 0 => "unspecified (\"this network\")",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (198, 18..=19, _) => "benchmarking",
        _ if address.is_broadcast() => "broadcast",
        _ if address.is_multicast() => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn internal_v6(address: Ipv6Addr) -> Option<&'static str> {
    let segments = address.segments();
    // Addresses that carry an IPv4 address are judged by it: a mapped
    // `::ffff:10.0.0.1` reaches 10.0.0.1.
    if let Some(v4) = embedded_v4(address) {
        return internal_v4(v4);
    }
    Some(match segments[0] {
        _ if address.is_loopback() => "loopback",
        _ if address.is_unspecified() => "unspecified",
        first if first & 0xfe00 == 0xfc00 => "unique local",
        first if first & 0xffc0 == 0xfe80 => "link-local",
        first if first & 0xff00 == 0xff00 => "multicast",
        // Teredo tunnels to an address of its own choosing; 2001:db8::/32
        // is for documentation.
        0x2001 if segments[1] == 0 || segments[1] == 0x0db8 => "tunnel or documentation",
        // Only global unicast (2000::/3) is public; the rest is reserved,
        // site-local, discard-only (100::/64) or unassigned.
        first if first & 0xe000 != 0x2000 => "not global unicast",
        _ => return None,
    })
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), well-known NAT64
/// (`64:ff9b::a.b.c.d`; the local-use `64:ff9b:1::/48` is outside global
/// unicast, refused whatever it embeds) or 6to4 (`2002:aabb:ccdd::`)
/// address.
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let octets = address.octets();
    let tail = || Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    match segments {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(tail()),
        [0, 0, 0, 0, 0, 0, high, _] if high != 0 => Some(tail()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail()),
        [0x2002, _, _, _, _, _, _, _] => {
            Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(address: &str) -> Option<&'static str> {
        internal_kind(address.parse().expect("an address"))
    }

    #[test]
    fn internal_addresses_are_recognised_however_they_are_written() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.5",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a9fe:a9fe",
            "64:ff9b:1::808:808",
            "::ffff:0:a9fe:a9fe",
            "2002:a00:1::",
            "2001::1",
            "2001:db8::1",
            "100::1",
            "fec0::1",
            "4000::1",
        ] {
            assert!(kind(internal).is_some(), "{internal}");
        }
        for public in [
            "1.1.1.1",
            "140.82.112.3",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::",
        ] {
            assert_eq!(kind(public), None, "{public}");
        }
        assert_eq!(
            kind("169.254.169.254"),
            Some("link-local (cloud metadata lives here)")
        );
    }
}
