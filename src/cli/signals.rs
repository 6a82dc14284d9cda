//! Ctrl-C, SIGTERM and SIGHUP for every command that runs something.

use super::error;
use crate::base::error::ExitCode;
use std::sync::Arc;

/// Ctrl-C, SIGTERM and SIGHUP cancel `cancel`. This runtime only watches
/// signals, from its own thread (it must live as long as the run), so Ctrl-C
/// lands while a playbook computes or the lab starts.
pub(super) fn watch_signals(
    cancel: &crate::base::cancel::CancelToken,
    interactive: bool,
) -> Result<Arc<tokio::runtime::Runtime>, i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("harun-signals")
        .build()
        .map_err(|e| {
            error(&format!("cannot start the I/O runtime: {e}"));
            ExitCode::Usage as i32
        })?;
    let rt = Arc::new(rt);
    let cancel = cancel.clone();
    let term_cancel = cancel.clone();
    // SIGTERM/SIGHUP stop the run the same way, so the lab and the journal
    // are cleaned up and synced.
    // Handlers are installed before returning, so a signal that arrives
    // right after start-up is already handled.
    let enter = rt.enter();
    use tokio::signal::unix::{signal, SignalKind};
    if let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        rt.spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            term_cancel.cancel();
        });
    }
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    rt.spawn(async move {
        let Some(interrupt) = interrupt.as_mut() else {
            return;
        };
        while interrupt.recv().await.is_some() {
            // A second Ctrl-C while a playbook is still stopping ends harun at once.
            if cancel.is_cancelled() && !interactive {
                super::exit(ExitCode::Interrupted as i32);
            }
            cancel.cancel();
        }
    });
    drop(enter);
    Ok(rt)
}
