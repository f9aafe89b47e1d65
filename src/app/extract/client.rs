//! The client's address, honouring `Forwarded` / `X-Forwarded-*` only from trusted proxies.

use std::net::{IpAddr, SocketAddr};

use super::{FromRequestParts, Rejection, RequestContext, RequestParts};
use crate::server::Request;

/// Networks whose forwarding headers are believed (configured with
/// [`App::trusted_proxies`](crate::app::App::trusted_proxies)). Empty by default: forwarding
/// headers are then ignored, since any client can send them.
///
/// # Examples
///
/// ```
/// use nanoapi::app::TrustedProxies;
///
/// let proxies = TrustedProxies::parse(["10.0.0.0/8", "::1"]).unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(proxies.contains("::1".parse().unwrap()));
/// assert!(!proxies.contains("192.168.0.1".parse().unwrap()));
/// assert!(TrustedProxies::parse(["10.0.0.0/33"]).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// Parses addresses and CIDR networks (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
    ///
    /// # Errors
    ///
    /// The first entry that is not an address or network.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<TrustedProxies, String> {
        let mut networks = Vec::new();
        for entry in entries {
            let (addr, bits) = match entry.split_once('/') {
                Some((addr, bits)) => (addr, Some(bits)),
                None => (entry, None),
            };
            let addr: IpAddr = addr
                .trim()
                .parse()
                .map_err(|_| format!("trusted proxy {entry:?} is not an address"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(bits) => bits
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|&b| b <= max)
                    .ok_or_else(|| format!("trusted proxy {entry:?} has a bad prefix length"))?,
                None => max,
            };
            networks.push((addr, bits));
        }
        Ok(TrustedProxies { networks })
    }

    /// Whether `addr` is in one of the networks.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.networks
            .iter()
            .any(|&(net, bits)| match (canonical(net), addr) {
                (IpAddr::V4(net), IpAddr::V4(a)) => prefix_eq(&net.octets(), &a.octets(), bits),
                (IpAddr::V6(net), IpAddr::V6(a)) => prefix_eq(&net.octets(), &a.octets(), bits),
                _ => false,
            })
    }
}

/// An IPv4-mapped IPv6 address as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    a[..full] == b[..full] && (rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0)
}

/// The client: its address, and the scheme and host it used, as seen through trusted proxies.
///
/// Behind a trusted proxy, the address is the rightmost untrusted hop of `Forwarded: for=`
/// (or `X-Forwarded-For`), the scheme from `proto=` / `X-Forwarded-Proto`, the host from
/// `host=` / `X-Forwarded-Host`. From any other peer, those headers are ignored.
///
/// # Examples
///
/// ```
/// use nanoapi::app::ClientAddr;
///
/// async fn whoami(client: ClientAddr) -> String {
///     format!("{:?}", client.ip)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address (`None` when the transport has none, as in tests).
    pub ip: Option<IpAddr>,
    /// The socket peer (the proxy, when there is one).
    pub peer: Option<SocketAddr>,
    /// `http` or `https` as the client used it (forwarded), else `None`.
    pub scheme: Option<String>,
    /// The host the client asked for (forwarded), else `None`.
    pub host: Option<String>,
}

impl ClientAddr {
    /// Works out the client from `req` given the trusted proxies.
    pub fn resolve(req: &Request, proxies: &TrustedProxies) -> ClientAddr {
        let peer = req.peer_addr();
        let mut client = ClientAddr {
            ip: peer.map(|p| canonical(p.ip())),
            peer,
            scheme: None,
            host: None,
        };
        let Some(peer_ip) = client.ip else {
            return client;
        };
        if !proxies.contains(peer_ip) {
            return client;
        }
        let text = |name: &str| -> Vec<String> {
            req.header_all(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect()
        };
        let forwarded = text("forwarded");
        let mut hops: Vec<String> = Vec::new();
        if !forwarded.is_empty() {
            for element in forwarded.iter().flat_map(|f| f.split(',')) {
                let mut hop_for = None;
                for pair in element.split(';') {
                    let Some((key, value)) = pair.split_once('=') else {
                        continue;
                    };
                    let value = value.trim().trim_matches('"').to_owned();
                    match key.trim().to_ascii_lowercase().as_str() {
                        "for" => hop_for = Some(value),
                        "proto" => client.scheme = Some(value.to_ascii_lowercase()),
                        "host" => client.host = Some(value),
                        _ => {}
                    }
                }
                hops.push(hop_for.unwrap_or_default());
            }
        } else {
            hops = text("x-forwarded-for")
                .iter()
                .flat_map(|f| f.split(','))
                .map(|h| h.trim().to_owned())
                .collect();
            client.scheme = text("x-forwarded-proto")
                .first()
                .map(|p| p.trim().to_ascii_lowercase());
            client.host = text("x-forwarded-host")
                .first()
                .map(|h| h.trim().to_owned());
        }
        // Walk from the nearest hop back: the first address not a trusted proxy is the client.
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if proxies.contains(ip) => client.ip = Some(ip),
                Some(ip) => {
                    client.ip = Some(ip);
                    break;
                }
                None => break,
            }
        }
        client
    }
}

/// An address from a `for=` or `X-Forwarded-For` hop: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`,
/// `::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|h| h.split(']').next())
        .and_then(|h| h.parse().ok())
        .map(canonical)
}

impl<S> FromRequestParts<S> for ClientAddr {
    async fn from_request_parts(
        req: &mut RequestParts<'_>,
        cx: &RequestContext<'_, S>,
    ) -> Result<Self, Rejection> {
        Ok(ClientAddr::resolve(req, cx.proxies))
    }
}
