//! HTML to readable text: the words a reader sees, one block per line,
//! without markup, scripts or styles. Not a browser: enough for a model to
//! read a page, in a few kilobytes of wasm rather than a full HTML parser.

/// Elements whose content is never text a reader sees.
const HIDDEN: [&str; 6] = ["script", "style", "noscript", "template", "svg", "head"];
/// Elements that start a new line.
const BLOCKS: [&str; 27] = [
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "main",
    "aside",
    "pre",
    "blockquote",
    "hr",
    "dd",
    "dt",
    "title",
];

/// Whether `content_type` or the start of `body` says HTML.
pub fn is_html(content_type: Option<&str>, body: &str) -> bool {
    if let Some(content_type) = content_type {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        return essence.eq_ignore_ascii_case("text/html")
            || essence.eq_ignore_ascii_case("application/xhtml+xml");
    }
    let start = body
        .trim_start()
        .get(..15)
        .unwrap_or("")
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// The page's title, if it has one.
pub fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = collapse(&decode_entities(&html[start..end]));
    (!title.is_empty()).then_some(title)
}

/// The readable text of `html`.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        push_text(&mut out, &rest[..open]);
        let tag_text = &rest[open..];
        if let Some(comment) = tag_text.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let opens_tag = tag_text[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        let close = tag_text.find('>').filter(|_| opens_tag);
        let Some(close) = close else {
            // A `<` that opens no tag is text.
            out.push('<');
            rest = &tag_text[1..];
            continue;
        };
        let tag = &tag_text[1..close];
        rest = &tag_text[close + 1..];
        let name = tag_name(tag);
        if HIDDEN.contains(&name.as_str()) && !tag.starts_with('/') && !tag.ends_with('/') {
            // Skip to the matching end tag, or to the end of the page.
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&format!("</{name}")) {
                Some(end) => {
                    let after = &rest[end..];
                    after.find('>').map_or("", |gt| &after[gt + 1..])
                }
                None => "",
            };
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            out.push('\n');
        } else if name == "td" || name == "th" {
            out.push(' ');
        }
    }
    push_text(&mut out, rest);
    tidy(&out)
}

/// Appends text between tags: its line breaks are spaces, as a browser
/// shows them; only blocks start lines.
fn push_text(out: &mut String, text: &str) {
    out.extend(
        decode_entities(text)
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
}

/// The lower-case name of a tag's text (`/P class=x` → `p`).
fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('/')
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The non-empty lines, their spaces collapsed.
fn tidy(text: &str) -> String {
    text.lines()
        .map(collapse)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` with its character references replaced.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after
            .find(';')
            .filter(|end| *end <= 10)
            .and_then(|end| Some((entity(&after[..end])?, end)));
        match decoded {
            Some((character, end)) => {
                out.push(character);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| !c.is_control() || c.is_whitespace());
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "copy" => '©',
        "laquo" => '«',
        "raquo" => '»',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_scripts_and_styles_are_dropped_and_blocks_become_lines() {
        let page = "<!DOCTYPE html><html><head><title>T &amp; U</title><style>p{}</style></head>\
            <body><script>var x = '<p>no</p>';</script><h1>Hello</h1>\
            <p>One  <b>bold</b>\n word &lt;3 &#x263A; &#9731;</p><!-- hidden <p>x</p> -->\
            <ul><li>a</li><li>b</li></ul><table><tr><td>c</td><td>d</td></tr></table>\
            <p>5 < 6 & 7</p></body></html>";
        assert_eq!(title(page).as_deref(), Some("T & U"));
        assert_eq!(
            to_text(page),
            "Hello\nOne bold word <3 ☺ ☃\na\nb\nc d\n5 < 6 & 7"
        );
    }

    #[test]
    fn html_is_recognised_by_type_or_by_its_start() {
        assert!(is_html(Some("text/html; charset=utf-8"), ""));
        assert!(!is_html(Some("application/json"), "<html>"));
        assert!(is_html(None, "  <!doctype html><p>x"));
        assert!(!is_html(None, "plain text"));
    }

    #[test]
    fn unclosed_hidden_elements_and_stray_brackets_end_cleanly() {
        assert_eq!(to_text("<p>before<script>never closed"), "before");
        assert_eq!(to_text("a <b"), "a <b");
        assert_eq!(decode_entities("&bogus; &#xZZ; &"), "&bogus; &#xZZ; &");
    }
}
