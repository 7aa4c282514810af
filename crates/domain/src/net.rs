//! Which network addresses Kizuna may call out to (playbook webhooks and Slack posts) and which
//! proxies it believes about a client's address. Outbound calls never reach this machine, its
//! cloud metadata service or the private network unless an administrator allow-lists them.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Networks an administrator allowed despite being internal (`outbound_allow`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed: Vec<IpNet>,
}

impl OutboundPolicy {
    pub fn allowing(allowed: Vec<IpNet>) -> OutboundPolicy {
        OutboundPolicy { allowed }
    }

    /// Whether a call may connect to `ip`: any public address, or an internal one that is
    /// allow-listed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        !is_internal(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }
}

/// Parses a list of networks or single addresses (`10.0.0.0/8`, `127.0.0.1`, `::1`), separated
/// by commas or whitespace, naming the first entry that is neither.
pub fn parse_networks(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an IP address or network"))
        })
        .collect()
}

/// An IPv4 address carried in IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Loopback, private, link-local (incl. 169.254.169.254, the cloud metadata service), shared
/// address space, unspecified, multicast, broadcast, documentation and IPv6 unique-local or
/// NAT64/6to4 addresses that can wrap any of those.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || a >= 240
}

/// The last line is `::a.b.c.d`, the deprecated IPv4-compatible form.
fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        || segments[0] == 0x2002
        || (segments[0] == 0x64 && segments[1] == 0xff9b)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || segments[..6].iter().all(|s| *s == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_allowed() {
        let policy = OutboundPolicy::default();
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
        ] {
            assert!(!policy.permits(ip(internal)), "{internal} must be refused");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(policy.permits(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn an_allow_list_opens_only_the_networks_it_names() {
        let policy = OutboundPolicy::allowing(parse_networks("127.0.0.1, 10.0.0.0/8").unwrap());
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(policy.permits(ip("::ffff:127.0.0.1")));
        assert!(policy.permits(ip("10.200.0.1")));
        assert!(!policy.permits(ip("127.0.0.2")));
        assert!(!policy.permits(ip("192.168.0.1")));
    }

    #[test]
    fn a_network_list_names_its_bad_entry() {
        assert_eq!(parse_networks("").unwrap(), vec![]);
        assert_eq!(parse_networks("::1 192.168.0.0/16").unwrap().len(), 2);
        assert!(parse_networks("10.0.0.0/8, localhost").unwrap_err().contains("localhost"));
    }
}
