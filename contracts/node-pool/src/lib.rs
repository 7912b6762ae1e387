//! COR node-pool contract (being written).
