//! The embedded S3-compatible store of `--dev`: s3s-fs served by hyper-util.

use std::net::SocketAddr;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::sync::watch;

use crate::config::DevS3Config;
use crate::error::{Error, Result};

/// Binds the store's listener and serves it until `stop` turns true.
///
/// Returns the bound address at once; serving goes on in a spawned task.
///
/// # Errors
/// [`Error::S3`] when the folder cannot be used, [`Error::Io`] when the port cannot be bound.
pub async fn start(
    config: &DevS3Config,
    mut stop: watch::Receiver<bool>,
    log: slog::Logger,
) -> Result<SocketAddr> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::ReadFile {
        path: config.data_dir.clone(),
        source,
    })?;
    let fs = s3s_fs::FileSystem::new(&config.data_dir).map_err(|e| Error::S3(format!("{e:?}")))?;
    let service = {
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(
            config.access_key.clone(),
            config.secret_key.expose().to_owned(),
        ));
        builder.build()
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| Error::Io {
            addr: config.bind.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Io {
        addr: config.bind.to_string(),
        source,
    })?;
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            let socket = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    Err(e) => {
                        slog::warn!(log, "s3: accept failed"; "error" => %e);
                        continue;
                    }
                },
                _ = stop.changed() => break,
            };
            let _ = socket.set_nodelay(true);
            let connection = http.serve_connection(TokioIo::new(socket), service.clone());
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    });
    Ok(addr)
}
