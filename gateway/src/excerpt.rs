//! Text from outside (a registry's error body, a pattern in a component's
//! schema, a validator's complaint about a caller's arguments) shortened
//! before an error or a log line quotes it: whoever wrote it chose its
//! length and its characters.

/// `text` trimmed, on one line (control characters shown as spaces) and
/// cut to at most `most` characters, `…` marking a cut.
pub fn excerpt(text: &str, most: usize) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut shown: String = chars
        .by_ref()
        .take(most)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_shown_trimmed_on_one_line_and_cut_with_a_mark() {
        assert_eq!(
            excerpt("  denied\r\n\x1b[31mred\n", 300),
            "denied   [31mred"
        );
        let long = "é".repeat(1000);
        let shown = excerpt(&long, 300);
        assert_eq!(shown.chars().count(), 301);
        assert!(shown.ends_with('…'));
        assert_eq!(excerpt("exactly", 7), "exactly");
        assert_eq!(excerpt("", 7), "");
    }
}
