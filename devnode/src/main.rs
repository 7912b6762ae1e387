//! cor-devnode binary.
fn main() {}
