//! Opening the websocket: TLS set-up, Basic auth, frame limits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::error::WsClientError;
use awc::ws::Codec;
use base64::Engine as _;

use crate::config::Credentials;

/// A connection that could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The gateway answered the handshake with 401 or 403.
    #[error("gateway refused the credentials (HTTP {0}); check MS_USERNAME and MS_PASSWORD")]
    Refused(u16),
    /// Anything else: unreachable, TLS, timeout, bad answer.
    #[error("{0}")]
    Failed(String),
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    /// The file cannot be read, is not PEM, or holds a certificate rustls refuses.
    #[error("cannot use CA file {path}")]
    CaFile {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The file is PEM but holds no certificate.
    #[error("no certificate in CA file {path}")]
    NoCertificate { path: String },
}

/// Installs ring as rustls' crypto provider once per process: with both ring
/// and aws-lc in a dependency tree rustls cannot choose, and awc would panic.
pub(crate) fn install_crypto_provider() {
    // an error means a provider is installed already, which is what we want
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The TLS client configuration: the web PKI roots plus an optional CA file.
pub(crate) fn tls_config(
    ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject as _;
        let shown = path.display().to_string();
        let ca_file =
            |source: Box<dyn std::error::Error + Send + Sync + 'static>| TlsSetupError::CaFile {
                path: shown.clone(),
                source,
            };
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_file(Box::new(e)))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| ca_file(Box::new(e)))?;
            roots.add(cert).map_err(|e| ca_file(Box::new(e)))?;
            added += 1;
        }
        if added == 0 {
            return Err(TlsSetupError::NoCertificate { path: shown });
        }
    }
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // websockets are HTTP/1.1 upgrades
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TCP connector awc uses, plus `TCP_NODELAY` on every socket: frames are
/// small and often sent back to back, and Nagle's algorithm would hold the
/// second one until the first is acknowledged (measured: a reply sent right
/// after an event waited about 20 ms, until the gateway's next frame).
#[derive(Clone)]
struct NoDelay {
    tcp: actix_tls::connect::ConnectorService,
}

type TcpConnection = actix_tls::connect::Connection<awc::http::Uri, actix_rt::net::TcpStream>;

impl actix_service::Service<actix_tls::connect::ConnectInfo<awc::http::Uri>> for NoDelay {
    type Response = TcpConnection;
    type Error = actix_tls::connect::ConnectError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<TcpConnection, Self::Error>>;

    fn poll_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        actix_service::Service::<actix_tls::connect::ConnectInfo<awc::http::Uri>>::poll_ready(
            &self.tcp, cx,
        )
    }

    fn call(&self, request: actix_tls::connect::ConnectInfo<awc::http::Uri>) -> Self::Future {
        let connecting =
            actix_service::Service::<actix_tls::connect::ConnectInfo<awc::http::Uri>>::call(
                &self.tcp, request,
            );
        Box::pin(async move {
            let connection = connecting.await?;
            // best effort: a socket without it still works, only slower
            let _ = connection.io_ref().set_nodelay(true);
            Ok(connection)
        })
    }
}

/// An awc client for the gateway: TLS, timeouts, `TCP_NODELAY`.
pub(crate) fn client(tls: Arc<rustls::ClientConfig>, timeout: Duration) -> awc::Client {
    let tcp = NoDelay {
        tcp: actix_tls::connect::Connector::new(actix_tls::connect::Resolver::default()).service(),
    };
    let connector = awc::Connector::new()
        .connector(tcp)
        .rustls_0_23(tls)
        .timeout(timeout)
        .handshake_timeout(timeout);
    awc::Client::builder()
        .connector(connector)
        .timeout(timeout)
        .disable_redirects()
        .finish()
}

/// The `Authorization` header value for Basic auth.
pub(crate) fn basic_auth(credentials: &Credentials) -> String {
    let raw = format!("{}:{}", credentials.username, credentials.password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Opens the websocket. The caller applies its own timeout.
pub(crate) async fn open(
    client: &awc::Client,
    url: &str,
    authorization: Option<&str>,
    max_frame_bytes: usize,
) -> Result<Framed<BoxedSocket, Codec>, ConnectError> {
    let mut request = client.ws(url).max_frame_size(max_frame_bytes);
    if let Some(value) = authorization {
        request = request.set_header(awc::http::header::AUTHORIZATION, value);
    }
    match request.connect().await {
        Ok((_response, framed)) => Ok(framed),
        Err(WsClientError::InvalidResponseStatus(status))
            if status.as_u16() == 401 || status.as_u16() == 403 =>
        {
            Err(ConnectError::Refused(status.as_u16()))
        }
        Err(WsClientError::InvalidResponseStatus(status)) => Err(ConnectError::Failed(format!(
            "gateway answered the upgrade with HTTP {status}"
        ))),
        // awc's errors never contain the request headers, so no credential leaks here
        Err(e) => Err(ConnectError::Failed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_bad_ca_file_keeps_its_cause_as_a_source() {
        let err = tls_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert_eq!(err.to_string(), "cannot use CA file /nonexistent/ca.pem");
        let err = crate::Error::Tls(Box::new(err));
        assert_eq!(err.to_string(), "TLS set-up failed");
        let cause = err.source().unwrap();
        assert_eq!(cause.to_string(), "cannot use CA file /nonexistent/ca.pem");
        assert!(
            cause.source().is_some(),
            "the file's own error stays reachable"
        );

        let empty = tempfile::NamedTempFile::new().unwrap();
        let err = tls_config(Some(empty.path())).unwrap_err();
        assert!(
            matches!(err, TlsSetupError::NoCertificate { .. }),
            "{err:?}"
        );
    }
}
