//! A local AWS Step Functions engine: interprets Amazon States Language with AWS's semantics.
