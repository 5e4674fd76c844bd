//! Which links Fairshare shows as links. Anything a person, an import, the
//! configuration or the policy text supplies becomes a clickable link only when it is
//! an absolute `http`/`https` address with a host (or, where an address is meant, a
//! `mailto:`); everything else — `javascript:`, `data:`, relative tricks, control
//! characters — is refused at input or shown as text.

/// `text` as a web link, or why it is not one.
pub fn web_link(text: &str) -> Result<String, String> {
    let link = text.trim();
    if link.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "`{}` is not a link: it contains spaces or control characters",
            link.escape_default()
        ));
    }
    let lower = link.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| format!("`{link}` is not a web link: it must start with https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if host.is_empty() || host.contains('\\') || !host.contains(|c: char| c.is_alphanumeric()) {
        return Err(format!("`{link}` is not a web link: it names no site"));
    }
    Ok(link.to_string())
}

/// Whether `href` may be rendered as a link: a web link, or a `mailto:` address.
pub fn is_safe_href(href: &str) -> bool {
    let lower = href.trim().to_ascii_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:") {
        return address.contains('@') && !address.chars().any(|c| c.is_control());
    }
    web_link(href).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_links_with_a_site_are_links() {
        assert_eq!(
            web_link(" https://acme.example/about ").as_deref(),
            Ok("https://acme.example/about")
        );
        assert!(web_link("http://acme.example").is_ok());
        assert!(web_link("HTTPS://ACME.EXAMPLE").is_ok());
    }

    #[test]
    fn script_data_and_relative_links_are_refused() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.example",
            "/relative",
            "https://",
            "https:///path",
            "https://acme.example/\u{0}",
            "java\tscript:alert(1)",
            "vbscript:msgbox",
            "acme.example",
        ] {
            assert!(web_link(bad).is_err(), "{bad:?} was accepted");
            assert!(!is_safe_href(bad), "{bad:?} is safe?");
        }
    }

    #[test]
    fn mail_links_are_safe_where_an_address_is_meant() {
        assert!(is_safe_href("mailto:partners@example.org"));
        assert!(!is_safe_href("mailto:"));
        assert!(web_link("mailto:partners@example.org").is_err());
    }
}
