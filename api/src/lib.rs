//! The e-commerce HTTP API: handlers behind small ports, with AWS SDK adapters at the edge.
