//! AWS adapters of the ports: DynamoDB (catalog + orders), SNS (notifier), Step Functions (starter).

pub mod dynamodb;
pub mod errors;
pub mod sfn;
pub mod sns;

pub use dynamodb::DynamoShop;
pub use sfn::SfnStarter;
pub use sns::SnsNotifier;
