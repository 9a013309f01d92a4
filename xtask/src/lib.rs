//! Development and test orchestration for this workspace (`cargo xtask ...`): it composes the
//! product crates (the local stack of `local-stack`, the `workflow` CLI) into checks, builds and
//! stress runs. A library so that `xtask/tests/` can use it; nothing imports it.

pub mod bench;
pub mod chaos;
pub mod checks;
pub mod footprint;
pub mod load;
pub mod sam_build;
pub mod smoke;
pub mod stack;
pub mod tally;
pub mod tools;
