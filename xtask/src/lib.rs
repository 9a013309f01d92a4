//! Development and test orchestration for this workspace: a library so that `xtask/tests/` can use it.

pub mod bench;
pub mod chaos;
pub mod checks;
pub mod dev;
pub mod emulator;
pub mod footprint;
pub mod load;
pub mod process;
pub mod sam_build;
pub mod stack;
pub mod tally;
pub mod template;
pub mod tools;
pub mod workspace;
