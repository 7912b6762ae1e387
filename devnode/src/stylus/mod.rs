//! Stylus programs: their code format and activation checks ([`program`]), what they cost
//! ([`pricing`]), the host functions they call ([`host`]) and the wasmi runtime that runs
//! them ([`runtime`]).

pub mod host;
pub mod pricing;
pub mod program;
pub mod runtime;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod contract_tests;
