//! `text.case`.

use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

/// Arguments of `text.case`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CaseArgs {
    /// The text to convert.
    pub text: String,
    /// The case to convert to.
    pub to: TargetCase,
}

/// A case `text.case` converts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetCase {
    /// `HELLO WORLD`
    Upper,
    /// `hello world`
    Lower,
    /// `Hello World`: each whitespace-separated word capitalised.
    Title,
    /// `hello_world`
    Snake,
    /// `hello-world`
    Kebab,
    /// `helloWorld`
    Camel,
}

/// What `text.case` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Converted {
    /// The converted text.
    pub text: String,
}

pub(crate) fn convert(args: CaseArgs) -> Result<Converted, ToolError> {
    let text = to_case(&args.text, args.to);
    Ok(Converted { text })
}

/// Converts `text` to `case`.
pub fn to_case(text: &str, case: TargetCase) -> String {
    match case {
        TargetCase::Upper => text.to_uppercase(),
        TargetCase::Lower => text.to_lowercase(),
        TargetCase::Title => title(text),
        TargetCase::Snake => words(text).join("_"),
        TargetCase::Kebab => words(text).join("-"),
        TargetCase::Camel => camel(&words(text)),
    }
}

fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if c.is_whitespace() {
            out.push(c);
            at_word_start = true;
        } else if at_word_start {
            out.extend(c.to_uppercase());
            at_word_start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn camel(words: &[String]) -> String {
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i == 0 {
            out.push_str(word);
        } else {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// Splits `text` into lower-case words: at every character that is not
/// alphanumeric, between a lower-case letter or digit and an upper-case
/// letter (`fooBar`), and before the last capital of an acronym that starts
/// a new word (`HTTPServer` → `http`, `server`).
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut current, &mut words);
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && match prev {
                Some(p) if p.is_lowercase() || p.is_numeric() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
        if boundary {
            flush(&mut current, &mut words);
        }
        current.extend(c.to_lowercase());
    }
    flush(&mut current, &mut words);
    words
}

fn flush(current: &mut String, words: &mut Vec<String>) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::TargetCase::*;
    use super::*;

    #[test]
    fn upper_lower_title() {
        assert_eq!(to_case("Straße ok", Upper), "STRASSE OK");
        assert_eq!(to_case("HeLLo", Lower), "hello");
        assert_eq!(to_case("hello wORLD\tagain", Title), "Hello World\tAgain");
        assert_eq!(to_case("don't e-mail", Title), "Don't E-mail");
    }

    #[test]
    fn identifiers() {
        let text = "parseHTTPServer response_code 2";
        assert_eq!(to_case(text, Snake), "parse_http_server_response_code_2");
        assert_eq!(to_case(text, Kebab), "parse-http-server-response-code-2");
        assert_eq!(to_case(text, Camel), "parseHttpServerResponseCode2");
        assert_eq!(to_case("  Hello,   World!  ", Snake), "hello_world");
        assert_eq!(to_case("version2Beta", Kebab), "version2-beta");
    }

    #[test]
    fn empty_and_symbol_only() {
        for case in [Upper, Lower, Title, Snake, Kebab, Camel] {
            assert_eq!(to_case("", case), "");
        }
        assert_eq!(to_case("--- !!", Camel), "");
    }

    #[test]
    fn unknown_case_is_rejected() {
        let parsed = serde_json::from_str::<CaseArgs>(r#"{"text": "a", "to": "pascal"}"#);
        assert!(parsed.is_err());
    }
}
