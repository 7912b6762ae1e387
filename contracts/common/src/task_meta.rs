//! The per-task payment metadata SessionQueue hands to SessionPayment, packed in one word.
//!
//! Layout of the `bytes32` (byte 0 is the most significant):
//!
//! | bytes  | field            | type |
//! |--------|------------------|------|
//! | 0      | model class      | u8 (0 Light, 1 Medium, 2 Heavy) |
//! | 1      | SLA tier         | u8 (0 Standard, 1 Priority, 2 Critical) |
//! | 2      | redundancy N     | u8 (1..=7) |
//! | 3      | consensus method | u8 (0 Exact, 1 Similarity, 2 Median, 3 Weighted) |
//! | 4..6   | threshold        | u16 basis points of N |
//! | 6      | validator depth  | u8 |
//! | 7      | execution depth  | u8 |
//! | 8..12  | route hint       | u32 |
//! | 12..32 | zero             | reserved |

use alloy_primitives::B256;

/// Unpacked task metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskMeta {
    /// Model class (0 Light, 1 Medium, 2 Heavy).
    pub model_class: u8,
    /// SLA tier (0 Standard, 1 Priority, 2 Critical).
    pub sla_tier: u8,
    /// Number of miners.
    pub redundancy: u8,
    /// Consensus method (0 Exact, 1 Similarity, 2 Median, 3 Weighted).
    pub consensus: u8,
    /// Agreement threshold in basis points of N.
    pub threshold_bps: u16,
    /// Validator depth.
    pub validator_depth: u8,
    /// Execution (tool) depth.
    pub execution_depth: u8,
    /// Route hint, opaque to the contracts.
    pub route_hint: u32,
}

impl TaskMeta {
    /// Packs into the documented layout.
    pub fn pack(&self) -> B256 {
        let mut w = [0u8; 32];
        w[0] = self.model_class;
        w[1] = self.sla_tier;
        w[2] = self.redundancy;
        w[3] = self.consensus;
        w[4..6].copy_from_slice(&self.threshold_bps.to_be_bytes());
        w[6] = self.validator_depth;
        w[7] = self.execution_depth;
        w[8..12].copy_from_slice(&self.route_hint.to_be_bytes());
        B256::new(w)
    }

    /// Unpacks the documented layout (reserved bytes are ignored).
    pub fn unpack(word: B256) -> Self {
        let w = word.0;
        Self {
            model_class: w[0],
            sla_tier: w[1],
            redundancy: w[2],
            consensus: w[3],
            threshold_bps: u16::from_be_bytes([w[4], w[5]]),
            validator_depth: w[6],
            execution_depth: w[7],
            route_hint: u32::from_be_bytes([w[8], w[9], w[10], w[11]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_unpack_is_identity() {
        let m = TaskMeta {
            model_class: 2,
            sla_tier: 1,
            redundancy: 7,
            consensus: 3,
            threshold_bps: 6_667,
            validator_depth: 2,
            execution_depth: 1,
            route_hint: 0xDEAD_BEEF,
        };
        assert_eq!(TaskMeta::unpack(m.pack()), m);
        assert_eq!(m.pack().0[12..], [0u8; 20]);
    }
}
