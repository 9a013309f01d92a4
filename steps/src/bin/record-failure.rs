//! Lambda function of the `record-failure` step.

steps::lambda_main!(steps::RecordFailure);
