//! The miner's HTTP server: outputs by content hash (the URI in every reveal points here),
//! `/metrics` and `/health`.
//!
//! - `GET /outputs/<0x-hash>`: the output bytes whose keccak-256 is `hash` (`200`,
//!   `text/plain; charset=utf-8`), `404` when this miner has none, `400` for a malformed
//!   hash. Anyone can check the bytes against the hash on chain.
//! - `GET /metrics`: Prometheus text.
//! - `GET /health`: `ok`.

use std::{net::SocketAddr, sync::Arc};

use alloy_primitives::B256;
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::{metrics::Metrics, store::Store};

#[derive(Clone)]
struct Shared {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
}

async fn output(State(s): State<Shared>, Path(hash): Path<String>) -> Response {
    let Ok(hash) = hash.parse::<B256>() else {
        return (
            StatusCode::BAD_REQUEST,
            "expected /outputs/<32-byte hex hash>\n",
        )
            .into_response();
    };
    match s.store.output(hash) {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no output with that hash here\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading an output");
            (StatusCode::INTERNAL_SERVER_ERROR, "store error\n").into_response()
        }
    }
}

/// Serves the routes on `addr` until `shutdown` resolves; returns the bound address.
///
/// # Errors
/// The bind error when the address is taken.
pub async fn serve(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/outputs/{hash}", get(output))
        .route(
            "/metrics",
            get(|State(s): State<Shared>| async move { s.metrics.render() }),
        )
        .route("/health", get(|| async { "ok\n" }))
        .with_state(Shared { store, metrics });
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(bound)
}
