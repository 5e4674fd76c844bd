//! Organisations and affiliations from files: `orgs.csv`
//! (`slug,name,country,website,domains`), `affiliations.csv`
//! (`member,org,from,until`) and CNCF gitdm `developers_affiliations` text files.

use std::io::{BufRead, Read};

use fairshare_engine::{CountryCode, IdentityKey, IdentityKind};
use time::Date;

use crate::error::ImportError;
use crate::record::{AffiliationRecord, OrgName, OrgRecord, PersonRef};
use crate::tabular::{CsvInput, parse_date};

const ORG_COLUMNS: [&str; 5] = ["slug", "name", "country", "website", "domains"];

/// Reads `slug,name,country,website,domains` (`domains` separated by `;`).
pub fn parse_orgs(file: &str, input: impl Read) -> Result<Vec<OrgRecord>, ImportError> {
    let mut out: Vec<OrgRecord> = Vec::new();
    CsvInput::open(file, input, &ORG_COLUMNS)?.for_each(&ORG_COLUMNS, |row| {
        let slug = row.required("slug")?.to_lowercase();
        if !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(row.error("slug", format!("`{slug}` may only contain letters, digits, `-` and `_`")));
        }
        if let Some(first) = out.iter().find(|o| o.slug == slug) {
            return Err(row.error("slug", format!("`{slug}` is already on line {}", first.line)));
        }
        let country = row
            .optional("country")
            .map(|c| CountryCode::parse(c).map_err(|e| row.error("country", e.to_string())))
            .transpose()?;
        let website = row
            .optional("website")
            .map(|site| {
                fairshare_engine::links::web_link(site).map_err(|why| row.error("website", why))
            })
            .transpose()?;
        let mut domains = Vec::new();
        for domain in row.optional("domains").unwrap_or("").split(';') {
            let domain = domain.trim().trim_start_matches('@').to_lowercase();
            if domain.is_empty() {
                continue;
            }
            if !domain.contains('.') || domain.contains(['@', ' ', '/']) {
                return Err(row.error("domains", format!("`{domain}` is not an email domain")));
            }
            if fairshare_engine::attribution::never_maps(&domain) {
                return Err(row.error(
                    "domains",
                    format!("`{domain}` is a free-mail or local domain and cannot identify an organisation"),
                ));
            }
            if let Some(other) = out.iter().find(|o| o.domains.contains(&domain)) {
                return Err(row.error("domains", format!("{domain} is already listed for `{}` on line {}", other.slug, other.line)));
            }
            domains.push(domain);
        }
        out.push(OrgRecord {
            line: row.line,
            slug,
            name: row.required("name")?.to_string(),
            country,
            website,
            domains,
        });
        Ok(())
    })?;
    Ok(out)
}

const AFFILIATION_COLUMNS: [&str; 4] = ["member", "org", "from", "until"];

/// Reads `member,org,from,until`: `member` an email or `source:handle`, `org` a slug,
/// dates ISO with empty meaning an open end.
pub fn parse_affiliations(
    file: &str,
    input: impl Read,
) -> Result<Vec<AffiliationRecord>, ImportError> {
    let mut out = Vec::new();
    CsvInput::open(file, input, &AFFILIATION_COLUMNS)?.for_each(&AFFILIATION_COLUMNS, |row| {
        let key = row.identity("member")?;
        let from = row.date("from")?;
        let until = row.date("until")?;
        if let (Some(f), Some(u)) = (from, until)
            && u <= f
        {
            return Err(row.error("until", format!("{u} is not after {f}: the range is empty")));
        }
        out.push(AffiliationRecord {
            line: row.line,
            person: PersonRef::new(key, None),
            org: OrgName::Slug(row.required("org")?.to_string()),
            from,
            until,
        });
        Ok(())
    })?;
    Ok(out)
}

/// What a gitdm file yielded: the valid affiliations and each refused line with why.
#[derive(Debug, Default)]
pub struct GitdmFile {
    pub affiliations: Vec<AffiliationRecord>,
    pub refused: Vec<String>,
}

/// Company names gitdm uses for "no employer".
const NO_EMPLOYER: [&str; 5] = ["independent", "notfound", "(unknown)", "unknown", "?"];

/// Reads the CNCF gitdm `developers_affiliations` format:
///
/// ```text
/// login: email1!domain.com, email2!domain.com
/// \tCompany A until 2019-01-01
/// \tCompany B from 2019-01-01 until 2021-06-30
/// \tCompany C
/// ```
///
/// A company line without `from` starts where the previous one ended. Lines that make
/// no sense (no person above, an empty range, a bad date) are refused with the reason;
/// the rest is imported.
pub fn parse_gitdm(file: &str, input: impl Read) -> Result<GitdmFile, ImportError> {
    let mut out = GitdmFile::default();
    let mut person: Option<PersonRef> = None;
    let mut previous_until: Option<Date> = None;
    let reader = std::io::BufReader::new(input);
    for (index, line) in reader.lines().enumerate() {
        let number = index as u64 + 1;
        let line = line.map_err(|e| ImportError::Io(format!("{file}:{number}"), e))?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if !indented {
            let Some((login, emails)) = trimmed.split_once(':') else {
                out.refused
                    .push(format!("line {number}: expected `login: email, …`"));
                person = None;
                continue;
            };
            let login = login.trim();
            let Ok(key) = IdentityKey::new(IdentityKind::Github, login) else {
                out.refused
                    .push(format!("line {number}: `{login}` is not a GitHub login"));
                person = None;
                continue;
            };
            let mut linked = Vec::new();
            for email in emails
                .split([',', ';', ' '])
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                match IdentityKey::from_email(&email.replace('!', "@")) {
                    Ok(k) if !linked.contains(&k) && k != key => linked.push(k),
                    Ok(_) => {}
                    Err(_) => out.refused.push(format!(
                        "line {number}: `{email}` is not an email address (ignored)"
                    )),
                }
            }
            let mut p = PersonRef::new(key, Some(login));
            p.linked = linked;
            person = Some(p);
            previous_until = None;
            continue;
        }
        let Some(current) = &person else {
            out.refused.push(format!(
                "line {number}: a company line with no developer above it"
            ));
            continue;
        };
        match parse_company_line(trimmed) {
            Err(reason) => out.refused.push(format!("line {number}: {reason}")),
            Ok((company, from, until)) => {
                let from = from.or(previous_until);
                previous_until = until;
                if NO_EMPLOYER.contains(&company.to_lowercase().as_str()) {
                    continue;
                }
                if let (Some(f), Some(u)) = (from, until)
                    && u <= f
                {
                    out.refused.push(format!(
                        "line {number}: {company} from {f} until {u} is an empty range"
                    ));
                    continue;
                }
                out.affiliations.push(AffiliationRecord {
                    line: number,
                    person: current.clone(),
                    org: OrgName::Name(company),
                    from,
                    until,
                });
            }
        }
    }
    Ok(out)
}

/// `Company`, `Company until D`, `Company from D`, `Company from D until D`.
fn parse_company_line(text: &str) -> Result<(String, Option<Date>, Option<Date>), String> {
    let mut rest = text;
    let mut until = None;
    let mut from = None;
    if let Some(i) = rest.rfind(" until ") {
        let date = rest[i + 7..].trim();
        until =
            Some(parse_date(date).ok_or_else(|| format!("`{date}` is not a date (YYYY-MM-DD)"))?);
        rest = &rest[..i];
    }
    if let Some(i) = rest.rfind(" from ") {
        let date = rest[i + 6..].trim();
        from =
            Some(parse_date(date).ok_or_else(|| format!("`{date}` is not a date (YYYY-MM-DD)"))?);
        rest = &rest[..i];
    }
    let company = rest.trim();
    if company.is_empty() {
        return Err("no company name".into());
    }
    Ok((company.to_string(), from, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgs_are_checked_line_by_line() {
        let ok = "slug,name,country,website,domains\nacme,Acme Ltd,GBR,https://acme.example,acme.com; eu.acme.com\n";
        let orgs = parse_orgs("orgs.csv", ok.as_bytes()).unwrap();
        assert_eq!(orgs[0].domains, vec!["acme.com", "eu.acme.com"]);
        assert_eq!(orgs[0].country.unwrap().as_str(), "GBR");
        let err = |csv: &str| {
            parse_orgs("orgs.csv", csv.as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("slug,name,country,website,domains\nacme,Acme,XXX,,\n"),
            "orgs.csv:2, column `country`: `XXX` is not an ISO 3166-1 alpha-3 country code"
        );
        assert_eq!(
            err("slug,name,country,website,domains\nacme,Acme,,,gmail.com\n"),
            "orgs.csv:2, column `domains`: `gmail.com` is a free-mail or local domain and cannot identify an organisation"
        );
        assert_eq!(
            err("slug,name,country,website,domains\na,A,,,a.com\nb,B,,,a.com\n"),
            "orgs.csv:3, column `domains`: a.com is already listed for `a` on line 2"
        );
        assert_eq!(
            err("slug,name\na,A\n"),
            "orgs.csv:1, column `country`: missing column `country` (the header must be slug,name,country,website,domains)"
        );
    }

    #[test]
    fn affiliations_csv() {
        let csv =
            "member,org,from,until\nana@acme.com,acme,2024-01-01,\ngithub:bob,acme,,2025-01-01\n";
        let rows = parse_affiliations("aff.csv", csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].person.key.to_string(), "github:bob");
        let bad = "member,org,from,until\nana@acme.com,acme,2024-01-01,2024-01-01\n";
        assert_eq!(
            parse_affiliations("aff.csv", bad.as_bytes())
                .unwrap_err()
                .to_string(),
            "aff.csv:2, column `until`: 2024-01-01 is not after 2024-01-01: the range is empty"
        );
        let bad = "member,org,from,until\nbob,acme,,\n";
        assert!(
            parse_affiliations("aff.csv", bad.as_bytes())
                .unwrap_err()
                .to_string()
                .starts_with("aff.csv:2, column `member`:")
        );
    }

    #[test]
    fn gitdm_imports_what_is_valid() {
        let text = "# comment\n\
                    ana: ana!acme.com, ana!gmail.com\n\
                    \tAcme until 2020-01-01\n\
                    \tGlobex from 2020-01-01 until 2020-01-01\n\
                    \tGlobex\n\
                    \tIndependent from 2022-05-01\n\
                    \tInitech until 20xx\n\
                    \tOrphan line\n\
                    bob ana@x.com\n\
                    \tOrphan\n";
        let file = parse_gitdm("developers_affiliations.txt", text.as_bytes()).unwrap();
        let summary: Vec<String> = file
            .affiliations
            .iter()
            .map(|a| {
                format!(
                    "{} {:?} {:?} {:?} +{}",
                    a.person.key,
                    a.org,
                    a.from,
                    a.until,
                    a.person.linked.len()
                )
            })
            .collect();
        assert_eq!(summary.len(), 3, "{summary:?}");
        assert!(summary[0].starts_with("github:ana Name(\"Acme\") None Some(2020-01-01) +2"));
        assert!(summary[1].starts_with("github:ana Name(\"Globex\") Some(2020-01-01) None"));
        assert!(summary[2].starts_with("github:ana Name(\"Orphan line\")"));
        assert_eq!(
            file.refused,
            vec![
                "line 4: Globex from 2020-01-01 until 2020-01-01 is an empty range",
                "line 7: `20xx` is not a date (YYYY-MM-DD)",
                "line 9: expected `login: email, …`",
                "line 10: a company line with no developer above it",
            ]
        );
    }
}
