//! The order-processing steps (validate, pay, persist, notify) and the SQS starter.
