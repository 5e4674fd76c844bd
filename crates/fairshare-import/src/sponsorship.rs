//! Payment exports of the sponsorship platforms: Open Collective's transactions CSV and
//! GitHub Sponsors' dashboard CSV. Only money received from sponsors is read
//! (contributions and their refunds); fees and expenses are skipped with the reason.

use std::io::Read;

use fairshare_engine::compliance::Coverage;
use fairshare_engine::{CurrencyCode, Money};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::error::ImportError;
use crate::record::{PaymentRecord, Skips};
use crate::tabular::CsvInput;

pub use fairshare_records::GITHUB_SPONSORS_ON_OPEN_COLLECTIVE;

const OC_COLUMNS: [&str; 9] = [
    "datetime",
    "shortId",
    "description",
    "type",
    "kind",
    "isRefund",
    "amount",
    "currency",
    "oppositeAccountSlug",
];

/// Open Collective `transactions.csv` (REST v2 export, default columns).
pub fn parse_opencollective(
    file: &str,
    input: impl Read,
) -> Result<(Vec<PaymentRecord>, Skips), ImportError> {
    let mut out = Vec::new();
    let mut skips = Skips::default();
    CsvInput::open(file, input, &OC_COLUMNS)?.for_each(&OC_COLUMNS, |row| {
        let kind = row.required("kind")?;
        if kind != "CONTRIBUTION" && kind != "ADDED_FUNDS" {
            skips.add(format!("{kind} transaction (not a sponsor's payment)"));
            return Ok(());
        }
        let is_refund = row
            .optional("isRefund")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let credit = row.required("type")? == "CREDIT";
        if !credit && !is_refund {
            skips.add("debit that is not a refund");
            return Ok(());
        }
        let currency_text = row.required("currency")?;
        let currency = CurrencyCode::parse_iso(currency_text)
            .map_err(|e| row.error("currency", e.to_string()))?;
        let amount_text = row.required("amount")?;
        let mut money =
            Money::parse(amount_text, currency).map_err(|e| row.error("amount", e.to_string()))?;
        if !is_refund && money.amount.is_sign_negative() {
            return Err(row.error(
                "amount",
                format!("`{amount_text}` is negative but the row is not a refund (`isRefund`)"),
            ));
        }
        if is_refund && money.amount.is_sign_positive() {
            money.amount = -money.amount;
        }
        let when = row.required("datetime")?;
        let date = parse_oc_time(when)
            .ok_or_else(|| row.error("datetime", format!("`{when}` is not a date and time")))?;
        let description = row.optional("description").map(str::to_string);
        let yearly = description
            .as_deref()
            .is_some_and(|d| d.to_lowercase().starts_with("yearly"));
        out.push(PaymentRecord {
            line: row.line,
            external_id: format!("oc:{}", row.required("shortId")?),
            platform: "opencollective".into(),
            account: row.required("oppositeAccountSlug")?.to_lowercase(),
            date,
            money,
            coverage: if yearly {
                Coverage::Year
            } else {
                Coverage::Month
            },
            description,
        });
        Ok(())
    })?;
    Ok((out, skips))
}

fn parse_oc_time(text: &str) -> Option<Date> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.to_offset(time::UtcOffset::UTC).date());
    }
    // The export writes UTC without an offset: 2023-06-06T05:47:17
    PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .ok()
    .map(|t| t.date())
}

const GH_COLUMNS: [&str; 6] = [
    "Sponsor Handle",
    "Is Yearly?",
    "Transaction ID",
    "Processed Amount",
    "Status",
    "Transaction Date",
];

/// GitHub Sponsors dashboard export (`Export → CSV`). Amounts are US dollars.
pub fn parse_github_sponsors(
    file: &str,
    input: impl Read,
) -> Result<(Vec<PaymentRecord>, Skips), ImportError> {
    let mut out = Vec::new();
    let mut skips = Skips::default();
    CsvInput::open(file, input, &GH_COLUMNS)?.for_each(&GH_COLUMNS, |row| {
        let status = row.required("Status")?.to_lowercase();
        let refunded = status.contains("refund");
        if !(status == "settled" || refunded) {
            skips.add(format!("{status} transaction"));
            return Ok(());
        }
        let amount_text = row.required("Processed Amount")?;
        // GitHub writes US dollars with a `$` sign (`$1,234.00`): the sign is its
        // format's, the amount follows the one grammar (so `$5,00` is refused).
        let trimmed = amount_text.trim();
        let unsigned = trimmed.strip_prefix('-').unwrap_or(trimmed);
        let cleaned = match unsigned.strip_prefix('$') {
            Some(rest) if trimmed.starts_with('-') => format!("-{rest}"),
            Some(rest) => rest.to_string(),
            None => trimmed.to_string(),
        };
        let mut money = Money::parse(&cleaned, CurrencyCode::USD)
            .map_err(|e| row.error("Processed Amount", e.to_string()))?;
        if !refunded && money.amount.is_sign_negative() {
            return Err(row.error(
                "Processed Amount",
                format!("`{amount_text}` is negative but the transaction is not a refund"),
            ));
        }
        if refunded && money.amount.is_sign_positive() {
            money.amount = -money.amount;
        }
        let when = row.required("Transaction Date")?;
        let date = parse_gh_time(when).ok_or_else(|| {
            row.error(
                "Transaction Date",
                format!("`{when}` is not a date and time"),
            )
        })?;
        let yearly = row.required("Is Yearly?")?.eq_ignore_ascii_case("true");
        out.push(PaymentRecord {
            line: row.line,
            external_id: format!("ghs:{}", row.required("Transaction ID")?),
            platform: "github_sponsors".into(),
            account: row.required("Sponsor Handle")?.to_lowercase(),
            date,
            money,
            coverage: if yearly {
                Coverage::Year
            } else {
                Coverage::Month
            },
            description: None,
        });
        Ok(())
    })?;
    Ok((out, skips))
}

/// `2023-05-07 21:46:01 +0200`, counted on its UTC date.
fn parse_gh_time(text: &str) -> Option<Date> {
    OffsetDateTime::parse(
        text.trim(),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"),
    )
    .ok()
    .map(|t| t.to_offset(time::UtcOffset::UTC).date())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../../testdata/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn open_collective_export() {
        let (payments, skips) = parse_opencollective(
            "tx.csv",
            sample("open-collective/transactions.rest-v2.default-fields.sample.csv").as_bytes(),
        )
        .unwrap();
        let first = &payments[0];
        assert_eq!(first.external_id, "oc:d3f98b95");
        assert_eq!(first.account, "guest-cf5e5bf5");
        assert_eq!(first.money.to_string(), "USD 50.00");
        assert_eq!(first.date, date!(2023 - 06 - 06));
        let yearly = payments
            .iter()
            .find(|p| p.account == "contributor-b")
            .unwrap();
        assert_eq!(yearly.coverage, Coverage::Year);
        assert!(skips.0.iter().any(|s| s.reason.starts_with("HOST_FEE")));
    }

    #[test]
    fn github_sponsors_export() {
        let (payments, _) = parse_github_sponsors(
            "s.csv",
            sample("github-sponsors/sponsors-dashboard-export.sample.csv").as_bytes(),
        )
        .unwrap();
        assert_eq!(payments[0].account, "sponsor-a");
        assert_eq!(payments[0].money.to_string(), "USD 4.52");
        assert_eq!(payments[0].date, date!(2023 - 05 - 07));
        let bad = "Sponsor Handle,Is Yearly?,Transaction ID,Processed Amount,Status,Transaction Date\nx,false,ch_1,$4.5x,settled,2023-05-07 21:46:01 +0200\n";
        let err = parse_github_sponsors("s.csv", bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "s.csv:2, column `Processed Amount`: `4.5x` is not an amount: write digits with an optional decimal point, like 1234.50"
        );
    }

    #[test]
    fn github_amounts_keep_their_dollar_sign_and_nothing_else_is_guessed() {
        let row = |amount: &str, status: &str| {
            format!(
                "Sponsor Handle,Is Yearly?,Transaction ID,Processed Amount,Status,Transaction Date\nx,false,ch_1,\"{amount}\",{status},2023-05-07 21:46:01 +0200\n"
            )
        };
        let read = |amount: &str, status: &str| {
            parse_github_sponsors("s.csv", row(amount, status).as_bytes())
                .map(|(p, _)| p[0].money.to_string())
                .map_err(|e| e.to_string())
        };
        assert_eq!(read("$1,234.00", "settled").as_deref(), Ok("USD 1,234.00"));
        assert_eq!(read("-$5.00", "refunded").as_deref(), Ok("USD -5.00"));
        assert!(
            read("$5,00", "settled")
                .unwrap_err()
                .contains("could be misread")
        );
        assert!(
            read("-$5.00", "settled")
                .unwrap_err()
                .contains("not a refund")
        );
    }

    #[test]
    fn open_collective_amounts_are_never_scaled_and_only_refunds_are_negative() {
        let header = "datetime,shortId,shortGroup,description,type,kind,isRefund,isRefunded,shortRefundId,displayAmount,amount,paymentProcessorFee,netAmount,balance,currency,accountSlug,accountName,oppositeAccountSlug,oppositeAccountName,paymentMethodService,paymentMethodType,expenseType,expenseTags,payoutMethodType,merchantId,orderMemo";
        let row = |amount: &str, refund: &str| {
            format!(
                "{header}\n2023-06-06T11:11:48,d3f98b95,abc,Monthly,CREDIT,CONTRIBUTION,{refund},,,,\"{amount}\",0,0,0,EUR,project,Project,acme,ACME,,,,,,,\n"
            )
        };
        let read = |amount: &str, refund: &str| {
            parse_opencollective("tx.csv", row(amount, refund).as_bytes())
                .map(|(p, _)| p.first().map(|p| p.money.to_string()))
                .map_err(|e| e.to_string())
        };
        assert!(read("75,50", "").unwrap_err().contains("could be misread"));
        assert!(read("-75.50", "").unwrap_err().contains("not a refund"));
        assert_eq!(read("75.50", "").unwrap().as_deref(), Some("EUR 75.50"));
    }
}
