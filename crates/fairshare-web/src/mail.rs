//! Outgoing email (address confirmation, password reset). Messages are written as
//! RFC 5322 files to an outbox directory, which a mail relay (or a person, in
//! development) picks up; with no outbox configured nothing is sent and a warning is
//! logged. Links in messages use the site's public base URL.

use std::io::Write as _;
use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct Mailer {
    /// Where messages are written; None: mail is off.
    pub outbox: Option<PathBuf>,
    pub from: String,
    /// The site's public address, e.g. `https://partners.example.org`.
    pub base_url: String,
}

impl Mailer {
    /// A link to `path` on the public site.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    pub fn send(&self, to: &str, subject: &str, body: &str) -> std::io::Result<()> {
        let Some(dir) = &self.outbox else {
            tracing::warn!(%to, %subject, "no mail outbox configured ([mail] outbox): message not sent");
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let now = time::OffsetDateTime::now_utc();
        let name = format!(
            "{}-{}.eml",
            now.unix_timestamp_nanos(),
            &crate::auth::random_token()[..8]
        );
        let date = now
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        // Write then rename, so that a relay never reads half a message.
        let partial = dir.join(format!(".{name}"));
        let mut file = std::fs::File::create(&partial)?;
        write!(
            file,
            "From: {}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            self.from
        )?;
        file.sync_all()?;
        std::fs::rename(partial, dir.join(name))
    }
}
