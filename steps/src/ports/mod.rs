//! The capabilities the steps need (one trait per port), each with an in-memory implementation.

pub mod catalog;
pub mod executions;
pub mod memory;
pub mod notifier;
pub mod orders;
pub mod payment;

pub use catalog::{CatalogProduct, ProductCatalog};
pub use executions::{ExecutionStarter, InMemoryExecutions, StartOutcome};
pub use memory::InMemoryShop;
pub use notifier::{OrderNotifier, RecordingNotifier};
pub use orders::{CompleteError, OrderStore, Transition};
pub use payment::{ChargeOutcome, ChargeRequest, PaymentGateway, SimulatedGateway, DECLINED_TOKEN};

/// Locks a mutex, recovering the data if a panicking test poisoned it.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
