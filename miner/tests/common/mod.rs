//! Shared set-up for the miner's integration tests.

use std::sync::Once;

/// Points mistral.rs's Hugging Face paths at a scratch directory and forbids hub access.
/// Every test calls this first: `Once` makes the others wait until the variables are set,
/// so no thread reads the environment while it changes.
pub(crate) fn offline() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let home = std::env::temp_dir().join("cor-miner-tests-hf-home");
        std::env::set_var("HF_HOME", home);
        std::env::set_var("HF_HUB_OFFLINE", "1");
    });
}
