//! Who the client is: the TCP peer, or, when the peer is a configured trusted
//! proxy, the address that proxy names in `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`.
//!
//! Headers from any other peer are ignored, so a client cannot pick its own
//! address. The proxy chain is walked from the right (the hop the trusted peer
//! appended) leftwards, skipping hops that are themselves trusted proxies; the first
//! untrusted hop is the client. A hop that does not parse as an address (`unknown`,
//! an obfuscated identifier, garbage) stops the walk and the last trusted hop is
//! used, so a broken proxy lumps its clients together rather than letting them
//! choose.
//!
//! Limits are keyed by [`ClientAddr::key`]: the IPv4 address, or the /64 prefix of
//! an IPv6 address (one subscriber's usual allocation).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::FORWARDED;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// The `X-Forwarded-For` header name.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// At most this many hops are examined (a longer chain is cut at the left).
const MAX_HOPS: usize = 16;

/// Configured trusted proxies (CIDR blocks).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `"10.0.0.0/8"`, `"::1"`, `"127.0.0.1"` (a bare address is a /32 or /128).
    pub fn parse(list: &[String]) -> Result<Self, String> {
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let item = item.trim();
            let net = match item.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => item
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("{item:?} is neither an address nor a CIDR block"))?,
            };
            out.push(net.trunc());
        }
        Ok(TrustedProxies(out))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` belongs to a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a request that arrived from `peer` with `headers`.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers);
        let mut client = peer;
        for hop in hops.iter().rev().take(MAX_HOPS) {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !self.contains(client) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }
}

/// The hops named by `Forwarded` if present, else by `X-Forwarded-For`, left to
/// right; `None` for a hop that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all(FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_forwarded_for(v.trim()))
            })
            .collect();
    }
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|v| v.to_str().ok().unwrap_or("?").split(','))
        .map(|hop| parse_plain_hop(hop.trim()))
        .collect()
}

/// `for=` values: `192.0.2.1`, `"192.0.2.1:443"`, `"[2001:db8::1]:443"`, `"[2001:db8::1]"`.
fn parse_forwarded_for(v: &str) -> Option<IpAddr> {
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    if let Some(rest) = v.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_plain_hop(v)
}

/// An `X-Forwarded-For` hop: an address, optionally `v4:port` or `[v6]:port`.
fn parse_plain_hop(v: &str) -> Option<IpAddr> {
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(ip);
    }
    v.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// IPv4-mapped IPv6 addresses count as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The client of one request, as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The limit key: the IPv4 address, or the IPv6 /64 prefix.
    pub fn key(self) -> IpAddr {
        key_of(self.0)
    }
}

/// The limit key of an address (IPv4 as is, IPv6 cut to its /64).
pub fn key_of(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Extractor: the client of this request (peer, or as a trusted proxy names it).
/// Needs the connection's [`ConnectInfo`] (the server's accept loop inserts it).
#[derive(Debug, Clone, Copy)]
pub struct Client(pub ClientAddr);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| ApiError::internal("client address", "no connection info"))?;
        Ok(Client(ClientAddr(
            s.trusted.client_of(peer, &parts.headers),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let t = trusted(&["10.0.0.0/8"]);
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.2"),
        ]);
        assert_eq!(t.client_of(peer, &h), peer);
        assert_eq!(TrustedProxies::default().client_of(peer, &h), peer);
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_left_hops_do_not_count() {
        let t = trusted(&["10.0.0.0/8", "::1"]);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        // The client sent its own X-Forwarded-For; the proxy appended the real peer.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7")]);
        assert_eq!(
            t.client_of(proxy, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Two trusted proxies in a row.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 10.9.9.9")]);
        assert_eq!(
            t.client_of(proxy, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-for", "10.9.9.9"),
        ]);
        assert_eq!(
            t.client_of(proxy, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(t.client_of(proxy, &HeaderMap::new()), proxy);
        // IPv4-mapped peer.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(
            t.client_of(mapped, &h),
            "198.51.100.8".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarded_takes_precedence_and_parses_ports_and_brackets() {
        let t = trusted(&["127.0.0.1/32"]);
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let h = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            t.client_of(proxy, &h),
            "2001:db8:cafe::17".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("forwarded", "For=\"192.0.2.43:8080\"")]);
        assert_eq!(
            t.client_of(proxy, &h),
            "192.0.2.43".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn an_unparseable_hop_stops_at_the_last_trusted_one() {
        let t = trusted(&["10.0.0.0/8"]);
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        for h in [
            headers(&[("x-forwarded-for", "198.51.100.7, garbage")]),
            headers(&[("forwarded", "for=unknown")]),
            headers(&[("forwarded", "for=_hidden, for=\"[::1\"")]),
        ] {
            assert_eq!(t.client_of(proxy, &h), proxy);
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(key_of(a), key_of(b));
        assert_ne!(key_of(a), key_of(c));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(key_of(v4), v4);
        assert_eq!(key_of("::ffff:192.0.2.1".parse().unwrap()), v4);
    }

    #[test]
    fn bad_cidrs_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example".into()]).is_err());
        assert!(trusted(&["10.0.0.5/8"]).contains("10.200.0.1".parse().unwrap()));
    }
}
