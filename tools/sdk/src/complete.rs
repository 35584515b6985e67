//! Completion of prompt arguments and resource-template variables.

use crate::bindings::warden::tool::types::CompletionResult;

/// Most values one completion carries (MCP's limit).
pub const MAX_COMPLETION_VALUES: usize = 100;

pub(crate) type Completer = Box<dyn Fn(&str, &CompletionContext) -> Vec<String>>;

/// The values of the other arguments (or template variables) the user has
/// already chosen, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct CompletionContext {
    arguments: Vec<(String, String)>,
}

impl CompletionContext {
    /// A context of these (name, value) pairs.
    pub fn new(arguments: Vec<(String, String)>) -> Self {
        Self { arguments }
    }

    /// The value of argument `name`, if the client sent it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.arguments
            .iter()
            .find(|(argument, _)| argument == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The first [`MAX_COMPLETION_VALUES`] of `values`, with their count.
pub(crate) fn result(mut values: Vec<String>) -> CompletionResult {
    let total = u32::try_from(values.len()).unwrap_or(u32::MAX);
    let has_more = values.len() > MAX_COMPLETION_VALUES;
    values.truncate(MAX_COMPLETION_VALUES);
    CompletionResult {
        values,
        total: Some(total),
        has_more,
    }
}

/// Those of `candidates` that start with `typed`, ignoring case, in order:
/// the usual completer.
pub fn starting_with<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let typed = typed.to_lowercase();
    candidates
        .into_iter()
        .filter(|candidate| candidate.to_lowercase().starts_with(&typed))
        .map(str::to_owned)
        .collect()
}
