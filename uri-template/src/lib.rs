//! RFC 6570 URI templates, read in the other direction: which URIs a
//! template names, and the variables' values in one of them.
//!
//! MCP resource templates are RFC 6570 templates (`file:///data/{+path}`).
//! A server must tell whether a URI a client asks for is one its templates
//! name before it runs anything, and a component wants the variables' values
//! from the URI. Expansion (variables → URI) is the client's side and is not
//! here. Every level-4 operator is understood: `{var}`, `{+var}`,
//! `{#var}`, `{.var}`, `{/var}`, `{;var}`, `{?var}`, `{&var}`, several
//! variables in one expression, prefixes (`{var:3}`) and explode (`{var*}`).
//!
//! Matching is strict about structure and lenient about characters: a
//! simple `{var}` never spans a `/`, `?` or `#`, a `{+var}` never spans a
//! `#`, and values are percent-decoded.
//!
//! # Examples
//!
//! ```
//! use warden_uri_template::UriTemplate;
//!
//! let template = UriTemplate::parse("file:///data/{+path}").unwrap();
//! let vars = template.match_uri("file:///data/notes/a%20b.md").unwrap();
//! assert_eq!(vars.get("path"), Some("notes/a b.md"));
//! assert!(template.match_uri("https://example.com/").is_none());
//! ```
#![deny(missing_docs)]

use std::collections::HashMap;
use std::fmt;

/// Longest template (and URI) matched, in bytes: keeps matching's work
/// bounded.
pub const MAX_LEN: usize = 4096;

/// Most expressions one template may hold.
pub const MAX_EXPRESSIONS: usize = 16;

/// Why a template is not a valid RFC 6570 template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URI template at byte {at}: {reason}")]
pub struct TemplateError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub reason: String,
}

/// The operator of an expression (RFC 6570 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    PathParam,
    Query,
    QueryContinuation,
}

impl Operator {
    fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '+' => Self::Reserved,
            '#' => Self::Fragment,
            '.' => Self::Label,
            '/' => Self::Path,
            ';' => Self::PathParam,
            '?' => Self::Query,
            '&' => Self::QueryContinuation,
            _ => return None,
        })
    }

    /// What the expansion starts with when any variable is defined.
    fn first(self) -> Option<char> {
        match self {
            Self::Simple | Self::Reserved => None,
            Self::Fragment => Some('#'),
            Self::Label => Some('.'),
            Self::Path => Some('/'),
            Self::PathParam => Some(';'),
            Self::Query => Some('?'),
            Self::QueryContinuation => Some('&'),
        }
    }

    /// What separates the values of several variables (or an exploded list).
    fn separator(self) -> char {
        match self {
            Self::Simple | Self::Reserved | Self::Fragment => ',',
            Self::Label => '.',
            Self::Path => '/',
            Self::PathParam => ';',
            Self::Query | Self::QueryContinuation => '&',
        }
    }

    /// Whether values come as `name=value`.
    fn named(self) -> bool {
        matches!(
            self,
            Self::PathParam | Self::Query | Self::QueryContinuation
        )
    }

    /// Characters the expansion may hold besides the separators it adds.
    fn allows(self, c: char) -> bool {
        match self {
            Self::Simple | Self::Label | Self::PathParam => !matches!(c, '/' | '?' | '#'),
            Self::Path => !matches!(c, '?' | '#'),
            Self::Reserved | Self::Query | Self::QueryContinuation => c != '#',
            Self::Fragment => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Variable {
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Expression {
        operator: Operator,
        variables: Vec<Variable>,
    },
}

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    text: String,
    parts: Vec<Part>,
}

/// The variables' values in a URI a template matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(HashMap<String, String>);

impl Variables {
    /// The value of `name`, percent-decoded; several values (an exploded
    /// list) joined by `,`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every variable that has a value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

impl UriTemplate {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let error = |at: usize, reason: &str| TemplateError {
            at,
            reason: reason.to_owned(),
        };
        if text.len() > MAX_LEN {
            return Err(error(MAX_LEN, "the template is longer than 4096 bytes"));
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices();
        let mut expressions = 0;
        while let Some((at, c)) = rest.next() {
            match c {
                '{' => {
                    let close = text[at..]
                        .find('}')
                        .map(|offset| at + offset)
                        .ok_or_else(|| error(at, "`{` is never closed"))?;
                    let body = &text[at + 1..close];
                    if body.contains('{') {
                        return Err(error(at, "expressions cannot nest"));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_expression(body, at + 1)?);
                    expressions += 1;
                    if expressions > MAX_EXPRESSIONS {
                        return Err(error(at, "more than 16 expressions"));
                    }
                    // Skip to just past the `}`.
                    for (index, _) in rest.by_ref() {
                        if index == close {
                            break;
                        }
                    }
                }
                '}' => return Err(error(at, "`}` without a `{`")),
                c if c.is_whitespace()
                    || c.is_control()
                    || matches!(c, '<' | '>' | '"' | '^' | '`' | '|' | '\\') =>
                {
                    return Err(error(at, "a character URIs cannot hold"));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self {
            text: text.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The names of its variables, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .flat_map(|part| match part {
                Part::Literal(_) => [].iter(),
                Part::Expression { variables, .. } => variables.iter(),
            })
            .map(|variable| variable.name.as_str())
    }

    /// The literal text before the first expression (`file:///data/`).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(literal)) => literal,
            _ => "",
        }
    }

    /// The variables' values when `uri` is one this template names.
    pub fn match_uri(&self, uri: &str) -> Option<Variables> {
        if uri.len() > MAX_LEN {
            return None;
        }
        let mut failed = std::collections::HashSet::new();
        let mut variables = Variables::default();
        self.match_from(uri, 0, 0, &mut failed, &mut variables)
            .then_some(variables)
    }

    /// Whether `uri[at..]` matches parts `part..`; `failed` remembers the
    /// (part, position) pairs known not to, so matching stays polynomial.
    fn match_from(
        &self,
        uri: &str,
        part: usize,
        at: usize,
        failed: &mut std::collections::HashSet<(usize, usize)>,
        variables: &mut Variables,
    ) -> bool {
        let Some(current) = self.parts.get(part) else {
            return at == uri.len();
        };
        if failed.contains(&(part, at)) {
            return false;
        }
        let matched = match current {
            Part::Literal(literal) => {
                uri[at..].starts_with(literal.as_str())
                    && self.match_from(uri, part + 1, at + literal.len(), failed, variables)
            }
            Part::Expression {
                operator,
                variables: names,
            } => {
                // Longest first: a `{+path}` takes all it can.
                let mut ends: Vec<usize> = (at..=uri.len())
                    .filter(|end| uri.is_char_boundary(*end))
                    .take_while(|end| {
                        uri[at..*end]
                            .chars()
                            .last()
                            .is_none_or(|c| operator.allows(c) || Some(c) == operator.first())
                    })
                    .collect();
                ends.reverse();
                ends.into_iter().any(|end| {
                    let Some(values) = bind(*operator, names, &uri[at..end]) else {
                        return false;
                    };
                    let saved = variables.clone();
                    variables.0.extend(values);
                    if self.match_from(uri, part + 1, end, failed, variables) {
                        return true;
                    }
                    *variables = saved;
                    false
                })
            }
        };
        if !matched {
            failed.insert((part, at));
        }
        matched
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_expression(body: &str, at: usize) -> Result<Part, TemplateError> {
    let error = |reason: &str| TemplateError {
        at,
        reason: reason.to_owned(),
    };
    let mut chars = body.chars();
    let operator = match chars.next() {
        None => return Err(error("an empty expression `{}`")),
        Some('=' | ',' | '!' | '@' | '|') => {
            return Err(error("operators `=`, `,`, `!`, `@` and `|` are reserved"));
        }
        Some(c) => Operator::from_char(c),
    };
    let list = match operator {
        Some(_) => chars.as_str(),
        None => body,
    };
    let mut variables = Vec::new();
    for spec in list.split(',') {
        let (name, modifier) = match spec.find([':', '*']) {
            Some(index) => (&spec[..index], &spec[index..]),
            None => (spec, ""),
        };
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'%'))
            && !name.starts_with('.');
        if !valid_name {
            return Err(error(&format!("`{spec}` is not a variable name")));
        }
        let valid_modifier = match modifier {
            "" | "*" => true,
            prefix => prefix
                .strip_prefix(':')
                .and_then(|length| length.parse::<u16>().ok())
                .is_some_and(|length| (1..10_000).contains(&length)),
        };
        if !valid_modifier {
            return Err(error(&format!(
                "`{modifier}` is not a modifier (`*` or `:` and a length from 1 to 9999)"
            )));
        }
        variables.push(Variable {
            name: name.to_owned(),
        });
    }
    Ok(Part::Expression {
        operator: operator.unwrap_or(Operator::Simple),
        variables,
    })
}

/// The values `text` gives the expression's variables, or `None` when it
/// is not what the expression expands to.
fn bind(operator: Operator, names: &[Variable], text: &str) -> Option<Vec<(String, String)>> {
    if text.is_empty() {
        // Every variable undefined: the expression expands to nothing.
        return Some(Vec::new());
    }
    let body = match operator.first() {
        Some(first) => text.strip_prefix(first)?,
        None => text,
    };
    if body.chars().any(|c| !operator.allows(c)) {
        return None;
    }
    let items: Vec<&str> = body.split(operator.separator()).collect();
    let mut values: Vec<(String, String)> = Vec::new();
    if operator.named() {
        for item in items {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            // An exploded map's keys are not the template's names; those go
            // to the first variable, joined.
            let target = names
                .iter()
                .find(|variable| variable.name == name)
                .or(names.first())?;
            push_value(&mut values, &target.name, value);
        }
    } else {
        for (index, item) in items.iter().enumerate() {
            let target = names.get(index).or(names.last())?;
            push_value(&mut values, &target.name, decode(item)?);
        }
    }
    Some(values)
}

fn push_value(values: &mut Vec<(String, String)>, name: &str, value: String) {
    match values.iter_mut().find(|(existing, _)| existing == name) {
        Some((_, joined)) => {
            joined.push(',');
            joined.push_str(&value);
        }
        None => values.push((name.to_owned(), value)),
    }
}

/// Percent-decodes `text`; `None` for a bad escape or bytes that are not
/// UTF-8.
pub fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
