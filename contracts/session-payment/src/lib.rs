//! COR session-payment contract (being written).
