//! COR stake-quota contract (being written).
