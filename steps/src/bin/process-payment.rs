//! Lambda function of the `process-payment` step.

steps::lambda_main!(steps::ProcessPayment);
