//! The Step Functions API's checks of request members that the engine shares with its endpoint
//! (an execution's name and input), so that `states:startExecution` Tasks run in process refuse
//! what StartExecution refuses.

use serde_json::Value;

/// A request member refused: AWS's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(code: &'static str, message: String) -> Self {
        Refusal { code, message }
    }
}

/// An execution, state machine or activity name: 1 to 80 characters, none of whitespace,
/// `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /` or control characters
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>).
pub(crate) fn check_name(name: &str) -> Result<(), Refusal> {
    let bad = |c: char| {
        c.is_whitespace()
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            || (c as u32) <= 0x1f
            || (0x7f..=0x9f).contains(&(c as u32))
    };
    // A name over 80 characters fails the API model's length constraint first.
    if name.chars().count() > 80 {
        return Err(Refusal::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"
            ),
        ));
    }
    if name.is_empty() || name.chars().any(bad) {
        return Err(Refusal::new(
            "InvalidName",
            format!("Invalid Name: '{name}'"),
        ));
    }
    Ok(())
}

/// An execution's input: at most [`crate::exec::MAX_PAYLOAD_BYTES`] of JSON text (`{}` when
/// absent); its text and value.
pub(crate) fn parse_input(text: Option<&str>) -> Result<(String, Value), Refusal> {
    let text = text.unwrap_or("{}");
    if text.len() > crate::exec::MAX_PAYLOAD_BYTES {
        return Err(Refusal::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {}",
                crate::exec::MAX_PAYLOAD_BYTES
            ),
        ));
    }
    let value = serde_json::from_str(text).map_err(|e| {
        Refusal::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        )
    })?;
    Ok((text.to_string(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_must_be_json_within_the_quota() {
        assert_eq!(parse_input(None).unwrap().1, serde_json::json!({}));
        assert_eq!(
            parse_input(Some("{")).unwrap_err().code,
            "InvalidExecutionInput"
        );
        let big = format!("\"{}\"", "x".repeat(crate::exec::MAX_PAYLOAD_BYTES));
        assert_eq!(
            parse_input(Some(&big)).unwrap_err().code,
            "ValidationException"
        );
    }
}
