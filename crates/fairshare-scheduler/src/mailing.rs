//! Sends the mail queue through the mail layer: each message with the link where the
//! reader acts, the category it belongs to and a one-click unsubscribe link; marked
//! sent as soon as it is handed over, retried with backoff when it is not.

use fairshare_store::mail_queue::QueuedMail;
use fairshare_web::mail::{Outgoing, Transport};

use crate::Scheduler;

/// Messages sent per tick; the rest wait for the next.
const BATCH: i64 = 100;

/// Sends what is due in the queue. With mail off, queued messages are dropped (and
/// shown so in the console) rather than kept to flood readers once mail is set up.
pub async fn send_queued(scheduler: &Scheduler) {
    let store = &scheduler.store;
    let mail = match store.claim_mail(BATCH).await {
        Ok(mail) => mail,
        Err(error) => {
            tracing::warn!(%error, "cannot read the mail queue");
            return;
        }
    };
    for message in mail {
        if matches!(scheduler.mailer.transport, Transport::Off) {
            let _ = store
                .mail_failed_for_good(message.id, "mail is off ([mail] smtp_host or outbox)")
                .await;
            continue;
        }
        let unsubscribe = scheduler
            .mailer
            .link(&format!("/unsubscribe?token={}", message.unsubscribe_token));
        let body = full_body(scheduler, &message, &unsubscribe);
        let sent = scheduler
            .mailer
            .send_message(&Outgoing {
                to: &message.recipient,
                subject: &message.subject,
                body: &body,
                queue_id: Some(message.id),
                unsubscribe: (message.category != fairshare_store::mail_queue::ALWAYS)
                    .then_some(unsubscribe.as_str()),
            })
            .await;
        let recorded = match sent {
            Ok(()) => store.mail_sent(message.id).await,
            Err(error) => {
                tracing::warn!(id = message.id, %error, "a message could not be sent; it will be retried");
                store.mail_failed(&message, &error).await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(id = message.id, %error, "cannot record a message's delivery");
        }
    }
}

/// The text with the page to act on and, for optional mail, how to stop it.
fn full_body(scheduler: &Scheduler, message: &QueuedMail, unsubscribe: &str) -> String {
    let link = if message.link.starts_with('/') {
        scheduler.mailer.link(&message.link)
    } else {
        message.link.clone()
    };
    let mut body = format!("{}\n\n{link}\n", message.body.trim_end());
    if message.category != fairshare_store::mail_queue::ALWAYS {
        body.push_str(&format!(
            "\n-- \nYou receive this mail about {} because of your role in the partners \
             programme. Stop this kind of mail: {unsubscribe}\nChoose what you receive: {}\n",
            fairshare_store::mail_queue::category_words(&message.category),
            scheduler.mailer.link("/account#mail"),
        ));
    }
    body
}
