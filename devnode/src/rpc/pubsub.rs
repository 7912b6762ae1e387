//! `eth_subscribe`: `newHeads` and `logs` over WebSocket.

use alloy_rpc_types_eth::Filter;
use jsonrpsee::{
    core::SubscriptionResult, PendingSubscriptionSink, RpcModule, SubscriptionMessage,
};
use tokio::sync::broadcast::error::RecvError;

use super::{convert, error::invalid_params, RpcContext};

/// Registers `eth_subscribe` / `eth_unsubscribe`.
///
/// # Errors
/// A jsonrpsee registration error (a name registered twice: a bug).
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending: PendingSubscriptionSink, ctx, _| async move {
            let result: SubscriptionResult = async {
            let mut seq = params.sequence();
            let kind: String = match seq.next() {
                Ok(kind) => kind,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            let filter: Option<Filter> = match kind.as_str() {
                "newHeads" => None,
                "logs" => match seq.optional_next::<Filter>() {
                    Ok(filter) => Some(filter.unwrap_or_default()),
                    Err(e) => {
                        pending.reject(e).await;
                        return Ok(());
                    }
                },
                other => {
                    pending
                        .reject(invalid_params(format!("unsupported subscription `{other}`")))
                        .await;
                    return Ok(());
                }
            };
            let mut blocks = ctx.chain().subscribe();
            let sink = pending.accept().await?;
            loop {
                tokio::select! {
                    _ = sink.closed() => break,
                    next = blocks.recv() => {
                        let block = match next {
                            Ok(block) => block,
                            Err(RecvError::Lagged(skipped)) => {
                                tracing::warn!(skipped, "subscriber lagging; blocks skipped");
                                continue;
                            }
                            Err(RecvError::Closed) => break,
                        };
                        match &filter {
                            None => {
                                let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&convert::header(&block))?);
                                if sink.send(msg).await.is_err() {
                                    break;
                                }
                            }
                            Some(filter) => {
                                for log in convert::block_logs(&block) {
                                    if !filter.matches(&log.inner) {
                                        continue;
                                    }
                                    let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&log)?);
                                    if sink.send(msg).await.is_err() {
                                        return Ok(());
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Ok(())
            }
            .await;
            result
        },
    )?;
    Ok(())
}
