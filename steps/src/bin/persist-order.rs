//! Lambda function of the `persist-order` step.

steps::lambda_main!(steps::PersistOrder);
