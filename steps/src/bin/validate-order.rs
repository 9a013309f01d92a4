//! Lambda function of the `validate-order` step.

steps::lambda_main!(steps::ValidateOrder);
