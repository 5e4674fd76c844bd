//! Outgoing email (address confirmation, password reset). A message is built by
//! lettre (headers encoded, no injection through an address or subject) and goes
//! either to an SMTP server (STARTTLS, implicit TLS, or plain for a relay on this
//! machine) or, as an RFC 5322 file, to an outbox directory that a relay or a person
//! picks up. With neither configured nothing is sent and a warning is logged. Links in
//! messages use the site's public base URL.

use std::path::PathBuf;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where messages go.
#[derive(Clone, Debug, Default)]
pub enum Transport {
    #[default]
    Off,
    /// Files written to this directory.
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// How to reach an SMTP server.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    /// None: the security's usual port (587 STARTTLS, 465 TLS, 25 plain).
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none` (only for a relay on this machine or in tests).
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Transport {
    /// An SMTP transport; a bad setting is named.
    pub fn smtp(settings: &SmtpSettings) -> Result<Transport, String> {
        let builder = match settings.security.as_str() {
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host),
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host),
            "none" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &settings.host,
            )),
            other => {
                return Err(format!(
                    "mail.smtp_security: `{other}` is not starttls, tls or none"
                ));
            }
        }
        .map_err(|e| format!("mail.smtp_host `{}`: {e}", settings.host))?;
        let builder = match settings.port {
            Some(port) => builder.port(port),
            None => builder,
        };
        let builder = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => {
                builder.credentials(Credentials::new(user.clone(), password.clone()))
            }
            (None, None) => builder,
            _ => return Err("mail.smtp_username and mail.smtp_password go together".into()),
        };
        Ok(Transport::Smtp(builder.build()))
    }
}

/// One message to send.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The mail queue's id: one Message-ID and outbox file per queued message.
    pub queue_id: Option<i64>,
    /// The one-click unsubscribe address (`List-Unsubscribe`).
    pub unsubscribe: Option<&'a str>,
}

#[derive(Clone, Debug, Default)]
pub struct Mailer {
    pub transport: Transport,
    pub from: String,
    /// The site's public address, e.g. `https://partners.example.org`.
    pub base_url: String,
    /// The project's name (`site.project`): every subject starts with it, so a
    /// person in several programmes knows which one writes.
    pub project: String,
}

impl Mailer {
    /// A link to `path` on the public site.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// Sends a plain-text message; an error says what failed (address, server, disk).
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        self.send_message(&Outgoing {
            to,
            subject,
            body,
            queue_id: None,
            unsubscribe: None,
        })
        .await
    }

    /// Sends a message. A queued message keeps one Message-ID and one outbox file
    /// name across attempts, so a retry after a crash replaces rather than doubles it
    /// (in the outbox; a receiving server may drop the duplicate by its Message-ID).
    pub async fn send_message(&self, outgoing: &Outgoing<'_>) -> Result<(), String> {
        let Outgoing {
            to,
            subject,
            body,
            queue_id,
            unsubscribe,
        } = *outgoing;
        if let Transport::Off = self.transport {
            tracing::warn!(%to, %subject, "mail is off ([mail] smtp_host or outbox): message not sent");
            return Ok(());
        }
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|e| format!("mail.from `{}`: {e}", self.from))?;
        let recipient: Mailbox = to.parse().map_err(|e| format!("the address `{to}`: {e}"))?;
        let body = readable_body(body);
        let local = match queue_id {
            Some(id) => format!("fairshare-mail-{id}"),
            None => crate::auth::random_token(),
        };
        let message_id = format!("<{local}@{}>", from.email.domain());
        let subject = if self.project.is_empty() {
            subject.to_string()
        } else {
            format!("[{} partners] {subject}", self.project)
        };
        let mut builder = Message::builder()
            .from(from)
            .to(recipient)
            .subject(subject)
            .message_id(Some(message_id))
            .header(ContentType::TEXT_PLAIN);
        if let Some(url) = unsubscribe {
            // RFC 8058 one-click: mail clients show "Unsubscribe" and POST to the URL.
            let header = |name: &'static str, value: String| {
                lettre::message::header::HeaderValue::new(
                    lettre::message::header::HeaderName::new_from_ascii_str(name),
                    value,
                )
            };
            builder = builder
                .raw_header(header("List-Unsubscribe", format!("<{url}>")))
                .raw_header(header(
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = builder
            .body(body)
            .map_err(|e| format!("building the message: {e}"))?;
        match &self.transport {
            Transport::Off => Ok(()),
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}")),
            Transport::Outbox(dir) => {
                let dir = dir.clone();
                let bytes = message.formatted();
                let name = queue_id.map(|id| format!("queued-{id:012}.eml"));
                tokio::task::spawn_blocking(move || write_to_outbox(&dir, name, &bytes))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("mail outbox: {e}"))
            }
        }
    }
}

/// ASCII text with lines within RFC 5322's 998 characters goes as it is (7bit), so
/// links stay whole and clickable in any reader — lettre's own choice would
/// quote-print any line over 76 characters, breaking a long link. Anything else is
/// left to lettre.
fn readable_body(text: &str) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    if crlf.is_ascii() && crlf.split("\r\n").all(|line| line.len() <= 998) {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_string())
    }
}

fn write_to_outbox(
    dir: &std::path::Path,
    name: Option<String>,
    message: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name = name.unwrap_or_else(|| {
        format!(
            "{}-{}.eml",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            &crate::auth::random_token()[..8]
        )
    });
    // Write then rename, so that a relay never reads half a message.
    let partial = dir.join(format!(".{name}"));
    std::fs::write(&partial, message)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(partial, dir.join(name))
}
