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

/// What a file's rows are checked against besides their own content.
pub struct Known<'a> {
    /// The day of the import: work dated after tomorrow (any time zone's today) has
    /// not happened yet.
    pub today: time::Date,
    /// Slugs of the organisations on record: the operator's file names them, so an
    /// unknown one is a typo to fix, not work to store unaffiliated.
    pub organisations: &'a std::collections::HashSet<String>,
}

/// Every row, checked; the first bad one aborts with its line and column. The
/// external id is a digest of the row's content, so re-importing adds nothing.
pub fn parse(
    file: &str,
    input: impl Read,
    known: &Known<'_>,
) -> Result<Vec<ActivityRecord>, ImportError> {
    let mut out = Vec::new();
    let latest = known.today.next_day().unwrap_or(known.today);
    CsvInput::open(file, input, &COLUMNS)?.for_each(&COLUMNS, |row| {
        let date_text = row.required("date")?;
        let at = parse_time(date_text).ok_or_else(|| {
            row.error(
                "date",
                format!("`{date_text}` is not a date (YYYY-MM-DD or RFC 3339)"),
            )
        })?;
        if at.to_offset(time::UtcOffset::UTC).date() > latest {
            return Err(row.error(
                "date",
                format!("`{date_text}` is in the future: only work that happened can be imported"),
            ));
        }
        if let Some(slug) = row.optional("org")
            && !known.organisations.contains(&slug.to_lowercase())
        {
            return Err(row.error(
                "org",
                format!(
                    "no organisation `{}` is on record (fairshare orgs lists them)",
                    fairshare_engine::money::excerpt(slug)
                ),
            ));
        }
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
            .map(|slug| OnBehalfOf::Org(slug.to_lowercase()));
        out.push(record);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn parse(file: &str, input: &[u8]) -> Result<Vec<ActivityRecord>, ImportError> {
        let organisations = ["acme".to_string()].into_iter().collect();
        let known = Known {
            today: date!(2026 - 11 - 30),
            organisations: &organisations,
        };
        super::parse(file, input, &known)
    }

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
            err("2026-02-03,talk,ana@acme.com,,initec,,,\n"),
            "a.csv:2, column `org`: no organisation `initec` is on record (fairshare orgs lists them)"
        );
        assert_eq!(
            err("2999-01-01,talk,ana@acme.com,,,,,\n"),
            "a.csv:2, column `date`: `2999-01-01` is in the future: only work that happened can be imported"
        );
        assert!(
            parse(
                "a.csv",
                format!("{head}2026-12-01,talk,ana@acme.com,,,,,\n").as_bytes()
            )
            .is_ok(),
            "tomorrow somewhere"
        );
        assert_eq!(
            err("2026-02-03,talk,ana@acme.com,,,,,\"Cut off\n"),
            "a.csv:2: the file ends inside a quoted field: a closing `\"` is missing, so the last value may be cut off"
        );
        assert_eq!(
            err("2026-02-03,talk,ana@acme.com,,,,ftp://x,\n"),
            "a.csv:2, column `url`: `ftp://x` is not a web link: it must start with https://"
        );
    }
}
