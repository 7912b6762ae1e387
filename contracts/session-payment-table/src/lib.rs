//! COR session-payment-table contract (being written).
