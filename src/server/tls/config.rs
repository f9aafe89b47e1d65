//! The server's certificates and rustls configuration.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The TLS side of a server: its certificates and the rustls configuration built on them.
///
/// Cheap to clone (the clones share the certificates, so [`reload`](TlsConfig::reload) on one
/// is seen by all). TLS 1.3 and 1.2 with rustls' safe defaults on the `ring` provider; ALPN
/// `http/1.1` (and first `h2` with the `http2` feature); resumption by session tickets (TLS 1.3 and 1.2) and by a server-side session
/// cache.
///
/// # Examples
///
/// ```no_run
/// use nanoapi::server::tls::TlsConfig;
///
/// # fn main() -> std::io::Result<()> {
/// let tls = TlsConfig::from_pem_files("certs/default.pem", "certs/default.key")?
///     .sni_pem_files("api.example.com", "certs/api.pem", "certs/api.key")?;
/// // Later, after the files were renewed: new handshakes use the new certificates.
/// tls.reload()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    certs: Arc<Certificates>,
}

impl TlsConfig {
    /// A configuration serving the certificate chain in the PEM file `cert` (leaf first) with
    /// the private key in the PEM file `key` (PKCS #8, PKCS #1 or SEC1).
    ///
    /// # Errors
    ///
    /// A file cannot be read, holds no certificate or no key, or the key does not match the
    /// certificate (all `InvalidInput` but the read errors, each naming the file).
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<TlsConfig> {
        TlsConfig::with_default(Source::files(cert.as_ref(), key.as_ref()))
    }

    /// A configuration serving the certificate chain and private key given as PEM text. Such a
    /// certificate has no file to be reloaded from.
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](TlsConfig::from_pem_files), without the file errors.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> io::Result<TlsConfig> {
        TlsConfig::with_default(load(cert, key, &provider()).map(Source::Memory))
    }

    /// The configuration named by `NANOAPI_TLS_CERT` and `NANOAPI_TLS_KEY` (the two PEM files),
    /// `None` when neither is set (an empty value counts as unset).
    ///
    /// # Errors
    ///
    /// Only one of the two is set, or [`from_pem_files`](TlsConfig::from_pem_files) fails.
    pub fn from_env() -> io::Result<Option<TlsConfig>> {
        TlsConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](TlsConfig::from_env) reading the variables through `lookup`.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> io::Result<Option<TlsConfig>> {
        let var = |name| lookup(name).filter(|value: &String| !value.is_empty());
        match (var("NANOAPI_TLS_CERT"), var("NANOAPI_TLS_KEY")) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => TlsConfig::from_pem_files(cert, key).map(Some),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NANOAPI_TLS_CERT and NANOAPI_TLS_KEY go together: set both or neither",
            )),
        }
    }

    /// Also serves the chain in the PEM file `cert` and its key `key` to clients that ask for
    /// `server_name` (SNI, matched without regard to case; `*.example.com` matches one label
    /// under `example.com`). Clients asking for another name, or none, get the default.
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](TlsConfig::from_pem_files).
    pub fn sni_pem_files(
        self,
        server_name: &str,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<TlsConfig> {
        let source = Source::files(cert.as_ref(), key.as_ref())?;
        self.certs.add(server_name, source);
        Ok(self)
    }

    /// [`sni_pem_files`](TlsConfig::sni_pem_files) with the chain and key as PEM text.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](TlsConfig::from_pem).
    pub fn sni_pem(self, server_name: &str, cert: &[u8], key: &[u8]) -> io::Result<TlsConfig> {
        let source = Source::Memory(load(cert, key, &provider())?);
        self.certs.add(server_name, source);
        Ok(self)
    }

    /// Reads every certificate and key given as files again. Handshakes from then on use the
    /// new ones; open connections are not touched. All or nothing: on an error the
    /// certificates in use stay. A server started by [`run`](crate::server::run) with TLS does
    /// this on `SIGHUP`.
    ///
    /// # Errors
    ///
    /// A file cannot be read or parsed, or a key does not match its certificate.
    pub fn reload(&self) -> io::Result<()> {
        self.certs.reload()
    }

    /// The rustls configuration, for a caller that drives its own connections with it.
    pub fn server_config(&self) -> &Arc<ServerConfig> {
        &self.server
    }

    fn with_default(source: io::Result<Source>) -> io::Result<TlsConfig> {
        let certs = Arc::new(Certificates {
            set: RwLock::new(Arc::new(CertificateSet {
                default: source?,
                by_name: Vec::new(),
            })),
        });
        let provider = Arc::new(provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        server.alpn_protocols = if cfg!(feature = "http2") {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        server.ticketer = rustls::crypto::ring::Ticketer::new().map_err(invalid)?;
        Ok(TlsConfig {
            server: Arc::new(server),
            certs,
        })
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("certificates", &self.certs)
            .field("alpn", &self.server.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// The crypto provider: `ring`, which builds with a C compiler alone. rustls 0.23.48
/// deprecates it because it has no post-quantum key exchange (X25519MLKEM768 is aws-lc-rs
/// only): clients that offer it fall back to X25519.
#[allow(deprecated)]
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn invalid(err: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, err.to_string())
}

/// The certificate chain and key in PEM text, checked against each other.
fn load(cert: &[u8], key: &[u8], provider: &CryptoProvider) -> io::Result<Arc<CertifiedKey>> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(format_args!("the certificate PEM: {err}")))?;
    if chain.is_empty() {
        return Err(invalid("the certificate PEM holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|err| invalid(format_args!("the private key PEM: {err}")))?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|err| invalid(format_args!("the certificate and key: {err}")))
}

/// Where a certificate came from, and what it is now.
#[derive(Clone)]
enum Source {
    /// Read from these files (reloadable).
    Files {
        cert: PathBuf,
        key: PathBuf,
        loaded: Arc<CertifiedKey>,
    },
    /// Given as PEM text.
    Memory(Arc<CertifiedKey>),
}

impl Source {
    fn files(cert: &Path, key: &Path) -> io::Result<Source> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|err| {
                io::Error::new(err.kind(), format!("reading {}: {err}", path.display()))
            })
        };
        let loaded = load(&read(cert)?, &read(key)?, &provider()).map_err(|err| {
            invalid(format_args!(
                "{} and {}: {err}",
                cert.display(),
                key.display()
            ))
        })?;
        Ok(Source::Files {
            cert: cert.to_owned(),
            key: key.to_owned(),
            loaded,
        })
    }

    fn key(&self) -> &Arc<CertifiedKey> {
        match self {
            Source::Files { loaded, .. } | Source::Memory(loaded) => loaded,
        }
    }

    /// The same source read again (a memory source stays as it is).
    fn reloaded(&self) -> io::Result<Source> {
        match self {
            Source::Files { cert, key, .. } => Source::files(cert, key),
            Source::Memory(_) => Ok(self.clone()),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Files { cert, key, .. } => write!(f, "{} + {}", cert.display(), key.display()),
            Source::Memory(_) => f.write_str("PEM in memory"),
        }
    }
}

/// The certificates by server name; rustls asks it for one per handshake.
#[derive(Debug)]
struct Certificates {
    /// Replaced whole on a change, so a handshake sees one consistent set.
    set: RwLock<Arc<CertificateSet>>,
}

#[derive(Debug, Clone)]
struct CertificateSet {
    default: Source,
    /// Lowercase server names (`*.` prefixes for wildcards) and their certificates.
    by_name: Vec<(String, Source)>,
}

impl Certificates {
    fn current(&self) -> Arc<CertificateSet> {
        // A poisoned lock still holds a whole set (writers only swap the `Arc`).
        self.set
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace(&self, set: CertificateSet) {
        *self
            .set
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(set);
    }

    fn add(&self, server_name: &str, source: Source) {
        let mut set = CertificateSet::clone(&self.current());
        let name = server_name.to_ascii_lowercase();
        set.by_name.retain(|(known, _)| *known != name);
        set.by_name.push((name, source));
        self.replace(set);
    }

    fn reload(&self) -> io::Result<()> {
        let current = self.current();
        let set = CertificateSet {
            default: current.default.reloaded()?,
            by_name: current
                .by_name
                .iter()
                .map(|(name, source)| Ok((name.clone(), source.reloaded()?)))
                .collect::<io::Result<_>>()?,
        };
        self.replace(set);
        Ok(())
    }
}

impl CertificateSet {
    /// The certificate for `server_name`: an exact match, else a wildcard one, else the
    /// default.
    fn for_name(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(name) = server_name.map(str::to_ascii_lowercase) else {
            return self.default.key();
        };
        let wildcard = name
            .split_once('.')
            .map(|(_, parent)| format!("*.{parent}"));
        let find = |wanted: &str| {
            self.by_name
                .iter()
                .find(|(known, _)| known == wanted)
                .map(|(_, source)| source.key())
        };
        find(&name)
            .or_else(|| wildcard.as_deref().and_then(find))
            .unwrap_or(self.default.key())
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current().for_name(client_hello.server_name()).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn certificates_are_chosen_by_server_name() {
        let (default_cert, default_key) = pair("localhost");
        let (api_cert, api_key) = pair("api.example.com");
        let (any_cert, any_key) = pair("x.example.org");
        let tls = TlsConfig::from_pem(default_cert.as_bytes(), default_key.as_bytes())
            .unwrap()
            .sni_pem("API.example.com", api_cert.as_bytes(), api_key.as_bytes())
            .unwrap()
            .sni_pem("*.example.org", any_cert.as_bytes(), any_key.as_bytes())
            .unwrap();
        let set = tls.certs.current();
        let leaf = |name| set.for_name(name).end_entity_cert().unwrap().clone();
        let default = leaf(None);
        assert_eq!(leaf(Some("localhost")), default);
        assert_eq!(leaf(Some("other.example.com")), default);
        assert_ne!(leaf(Some("api.example.com")), default);
        assert_eq!(leaf(Some("Api.Example.Com")), leaf(Some("api.example.com")));
        assert_ne!(leaf(Some("www.example.org")), default);
        // A wildcard covers one label.
        assert_eq!(leaf(Some("a.b.example.org")), default);
        assert_eq!(leaf(Some("example.org")), default);
    }

    #[test]
    fn bad_pem_is_refused_with_the_reason() {
        let (cert, key) = pair("localhost");
        let (_, other_key) = pair("localhost");
        let err = TlsConfig::from_pem(b"not a certificate", key.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
        let err = TlsConfig::from_pem(cert.as_bytes(), b"").unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
        let err = TlsConfig::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("certificate and key"), "{err}");
        let err =
            TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    }

    #[test]
    fn environment_needs_both_files() {
        let lookup = |set: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                set.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert!(TlsConfig::from_lookup(lookup(&[])).unwrap().is_none());
        const EMPTY: &[(&str, &str)] = &[("NANOAPI_TLS_CERT", ""), ("NANOAPI_TLS_KEY", "")];
        assert!(TlsConfig::from_lookup(lookup(EMPTY)).unwrap().is_none());
        let err = TlsConfig::from_lookup(lookup(&[("NANOAPI_TLS_CERT", "c.pem")])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn reload_reads_the_files_again_and_keeps_the_old_ones_on_error() {
        let dir = std::env::temp_dir().join(format!("nanoapi-tls-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        let write = |(cert, key): (String, String)| {
            std::fs::write(&cert_path, cert).unwrap();
            std::fs::write(&key_path, key).unwrap();
        };
        write(pair("localhost"));
        let tls = TlsConfig::from_pem_files(&cert_path, &key_path).unwrap();
        let leaf = || {
            tls.certs
                .current()
                .default
                .key()
                .end_entity_cert()
                .unwrap()
                .clone()
                .into_owned()
        };
        let first = leaf();
        write(pair("localhost"));
        tls.reload().unwrap();
        let second = leaf();
        assert_ne!(first, second);
        std::fs::write(&key_path, "garbage").unwrap();
        assert!(tls.reload().is_err());
        assert_eq!(leaf(), second);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
