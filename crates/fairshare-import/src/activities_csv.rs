//! Non-code work from a CSV file (`import activities`): events organised, talks,
//! meetups, team leadership months, translations, design, marketing.
//! Columns, header first: `date,kind,member,name,org,team,url,title`.

use std::io::Read;

use fairshare_engine::ActivityKind;

use crate::error::ImportError;
use crate::record::{ActivityRecord, OnBehalfOf, PersonRef};
use crate::tabular::{CsvInput, parse_time};

const COLUMNS: [&str; 8] = [
    "date", "kind", "member", "name", "org", "team", "url", "title",
];

/// Every row, checked; the first bad one aborts with its line and column. The
/// external id is a digest of the row's content, so re-importing adds nothing.
pub fn parse(file: &str, input: impl Read) -> Result<Vec<ActivityRecord>, ImportError> {
    let mut out = Vec::new();
    CsvInput::open(file, input, &COLUMNS)?.for_each(&COLUMNS, |row| {
        let date_text = row.required("date")?;
        let at = parse_time(date_text).ok_or_else(|| {
            row.error(
                "date",
                format!("`{date_text}` is not a date (YYYY-MM-DD or RFC 3339)"),
            )
        })?;
        let kind: ActivityKind = row.required("kind")?.parse().map_err(
            |e: fairshare_engine::activity::UnknownKind| row.error("kind", e.to_string()),
        )?;
        let key = row.identity("member")?;
        if let Some(url) = row.optional("url") {
            fairshare_engine::links::web_link(url).map_err(|why| row.error("url", why))?;
        }
        let identity = format!(
            "{}|{}|{}|{}|{}|{}",
            at.unix_timestamp(),
            kind,
            key,
            row.optional("team").unwrap_or(""),
            row.optional("url").unwrap_or(""),
            row.optional("title").unwrap_or("")
        );
        let mut record = ActivityRecord::new(
            format!("csv:{}", &crate::content_digest(identity.as_bytes())[..32]),
            kind,
            PersonRef::new(key, row.optional("name")),
            at,
        );
        record.team = row.optional("team").map(str::to_string);
        record.url = row.optional("url").map(str::to_string);
        record.title = row.optional("title").map(str::to_string);
        record.on_behalf_of = row
            .optional("org")
            .map(|slug| OnBehalfOf::Org(slug.to_string()));
        out.push(record);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_records_with_stable_ids() {
        let csv = "date,kind,member,name,org,team,url,title\n\
                   2026-03-14,talk given,ana@acme.com,Ana,acme,marketing,https://conf.example/ana,Fairshare in practice\n\
                   2026-03-01,team_leadership,github:bob,,,product,,\n";
        let records = parse("a.csv", csv.as_bytes()).unwrap();
        assert_eq!(records[0].kind, ActivityKind::TalkGiven);
        assert_eq!(
            records[0].on_behalf_of,
            Some(OnBehalfOf::Org("acme".into()))
        );
        assert_eq!(records[1].person.key.to_string(), "github:bob");
        let again = parse("a.csv", csv.as_bytes()).unwrap();
        assert_eq!(records[0].external_id, again[0].external_id);
        assert_ne!(records[0].external_id, records[1].external_id);
    }

    #[test]
    fn bad_rows_are_named() {
        let head = "date,kind,member,name,org,team,url,title\n";
        let err = |row: &str| {
            parse("a.csv", format!("{head}{row}").as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("2026-02-30,talk,ana@acme.com,,,,,\n"),
            "a.csv:2, column `date`: `2026-02-30` is not a date (YYYY-MM-DD or RFC 3339)"
        );
        assert!(
            err("2026-02-03,juggling,ana@acme.com,,,,,\n")
                .starts_with("a.csv:2, column `kind`: unknown activity kind `juggling`")
        );
        assert_eq!(
            err("2026-02-03,talk,,,,,,\n"),
            "a.csv:2, column `member`: empty value"
        );
        assert_eq!(
            err("2026-02-03,talk,ana@acme.com,,,,ftp://x,\n"),
            "a.csv:2, column `url`: `ftp://x` is not a web link: it must start with https://"
        );
    }
}
