//! Ctrl-C during a run over many ids (erase, offboard, export): the first
//! stops taking ids, the second exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// How long ids already in flight may take to finish after the first
/// Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(10);

/// The first SIGINT or SIGTERM stops taking new ids; a second one exits at
/// once. The report is written as ids finish, so it stays resumable.
pub async fn watch_signals(stopping: Arc<AtomicBool>, interrupt: Arc<Notify>) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    for first in [true, false] {
        #[cfg(unix)]
        let terminated = async {
            match term.as_mut() {
                Some(term) => term.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                if result.is_err() {
                    tracing::warn!("cannot watch for Ctrl-C; it will end the run at once");
                    return;
                }
            }
            _ = terminated => {}
        }
        if first {
            stopping.store(true, Ordering::SeqCst);
            interrupt.notify_one();
            eprintln!(
                "stopping: no new ids; waiting up to {}s for those in flight (Ctrl-C again to exit now)",
                GRACE.as_secs()
            );
        }
    }
    eprintln!("exiting at once; run the same command again to erase the rest");
    std::process::exit(130);
}
