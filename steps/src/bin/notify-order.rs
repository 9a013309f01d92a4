//! Lambda function of the `notify-order` step.

steps::lambda_main!(steps::NotifyOrder);
