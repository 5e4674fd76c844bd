//! `fairshare demo`: a realistic, fictional programme through the same paths real data
//! takes (imports, payments, applications, monthly reviews), deterministic for a seed.

use anyhow::Context as _;
use fairshare_engine::compliance::Coverage;
use fairshare_engine::{ActivityKind, CountryCode, IdentityKey, Money, Month};
use fairshare_import::record::OrgRecord;
use fairshare_import::{ActivityRecord, PersonRef, Skips};
use fairshare_store::applications::{Applicant, ApplicationForm, StaffMember, Verdict as Decision};
use fairshare_store::public::Profile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::Context;

#[derive(clap::Args, Clone, Copy)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 24)]
    orgs: usize,
    #[arg(long, default_value_t = 240)]
    members: usize,
    /// Months of history, ending with the last complete month.
    #[arg(long, default_value_t = 15)]
    months: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

const COUNTRIES: [&str; 12] = [
    "USA", "DEU", "FRA", "IND", "BRA", "JPN", "GBR", "NLD", "ESP", "POL", "ZAF", "CAN",
];
const FIRST: [&str; 16] = [
    "Ada", "Bo", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivo", "Jin", "Kemal", "Lena",
    "Mo", "Nia", "Omar", "Pia",
];
const LAST: [&str; 16] = [
    "Okafor", "Schmidt", "Tanaka", "Silva", "Novak", "Haddad", "Larsen", "Moreau", "Kowalski",
    "Nguyen", "Rossi", "Mensah", "Ivanova", "Garcia", "Patel", "Brennan",
];
const WORDS: [&str; 12] = [
    "Northwind",
    "Bluefin",
    "Cobalt",
    "Driftwood",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
];
const SERVICES: [&str; 5] = [
    "Implementation",
    "Hosting",
    "Training",
    "Integrations",
    "Consulting",
];
const LANGUAGES: [&str; 6] = [
    "German",
    "French",
    "Spanish",
    "Hindi",
    "Portuguese",
    "Japanese",
];
const REGIONS: [&str; 4] = ["Europe", "North America", "South America", "Asia-Pacific"];
const TEAMS: [&str; 5] = ["product", "education", "marketing", "community", "legal"];
const KINDS: [(ActivityKind, u32); 12] = [
    (ActivityKind::Commit, 30),
    (ActivityKind::Review, 15),
    (ActivityKind::PrOpened, 10),
    (ActivityKind::PrMerged, 8),
    (ActivityKind::IssueOpened, 8),
    (ActivityKind::Comment, 15),
    (ActivityKind::ForumPost, 12),
    (ActivityKind::ForumSolution, 4),
    (ActivityKind::ChatHelp, 10),
    (ActivityKind::Translation, 5),
    (ActivityKind::DocsChange, 5),
    (ActivityKind::TalkGiven, 1),
];

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs {
            orgs: 24,
            members: 240,
            months: 15,
            seed: 42,
        }
    }
}

pub async fn run(context: &Context, args: DemoArgs) -> anyhow::Result<()> {
    let store = context.store().await?;
    let programme = context.rules(&store).await?;
    fairshare_ingest::ensure_embedded_rates(&store).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let last = Month::of(context.today()).previous();
    let first = (1..args.months.max(4)).fold(last, |m, _| m.previous());
    let orgs: Vec<OrgRecord> = (0..args.orgs)
        .map(|i| {
            let slug = format!(
                "{}-{}",
                WORDS[i % WORDS.len()].to_lowercase(),
                i / WORDS.len() + 1
            );
            OrgRecord {
                line: i as u64 + 2,
                // Unique names: each word takes each suffix in turn, then a number.
                name: match i / (WORDS.len() * 4) {
                    0 => format!(
                        "{} {}",
                        WORDS[i % WORDS.len()],
                        ["Labs", "Digital", "Systems", "Studio"][i / WORDS.len() % 4]
                    ),
                    n => format!(
                        "{} {} {}",
                        WORDS[i % WORDS.len()],
                        ["Labs", "Digital", "Systems", "Studio"][i / WORDS.len() % 4],
                        n + 1
                    ),
                },
                country: Some(
                    CountryCode::parse(COUNTRIES[i % COUNTRIES.len()]).expect("ISO code"),
                ),
                website: Some(format!("https://{slug}.example")),
                domains: vec![format!("{slug}.example")],
                slug,
            }
        })
        .collect();
    store
        .import_orgs("demo:orgs", "demo", &orgs, &context.actor)
        .await?;

    // People: most work for an organisation (by email domain), some on their own; some
    // join after the start and some stop, so reports show newcomers and departures.
    let months: Vec<Month> = first.through(Month::of(context.today())).collect();
    let people: Vec<(String, Option<usize>, Month, Month)> = (0..args.members)
        .map(|i| {
            let (given, family) = (FIRST[i % FIRST.len()], LAST[i / FIRST.len() % LAST.len()]);
            let name = match i / (FIRST.len() * LAST.len()) {
                0 => format!("{given} {family}"),
                n => format!("{given} {}. {family}", char::from(b'A' + (n % 26) as u8)),
            };
            let org = (rng.random_range(0..10) < 7).then(|| rng.random_range(0..args.orgs.max(1)));
            let joined = if rng.random_range(0..10) < 3 {
                months[rng.random_range(0..months.len())]
            } else {
                first
            };
            let left = if rng.random_range(0..10) < 1 {
                months[rng.random_range(0..months.len())].max(joined)
            } else {
                Month::of(context.today())
            };
            (name, org, joined, left)
        })
        .collect();
    let mut records: std::collections::BTreeMap<&str, Vec<ActivityRecord>> = Default::default();
    let mut serial = 0u64;
    // Up to yesterday: the current month so far, too.
    let today = context.today();
    for month in months.iter().copied() {
        let last_day = if month == Month::of(today) {
            today.day().saturating_sub(1).min(28)
        } else {
            28
        };
        if last_day == 0 {
            continue;
        }
        for (i, (name, org, joined, left)) in people.iter().enumerate() {
            if month < *joined || month > *left {
                continue;
            }
            // Long-tailed activity: a few people do most of the work.
            let intensity = 2.5 + (args.members as f64 / (i as f64 + 3.0)).powf(0.7);
            let count = (intensity * rng.random_range(0.3..1.7)) as u32;
            for _ in 0..count.min(60) {
                let pick = rng.random_range(0..KINDS.iter().map(|k| k.1).sum::<u32>());
                let mut acc = 0;
                let kind = KINDS
                    .iter()
                    .find(|(_, w)| {
                        acc += w;
                        pick < acc
                    })
                    .map(|k| k.0)
                    .unwrap_or(ActivityKind::Commit);
                let email = match org {
                    Some(o) => format!("person{i}@{}", orgs[*o].domains[0]),
                    None => format!("person{i}@gmail.com"),
                };
                let day = rng.random_range(1..=last_day);
                let at = time::Date::from_calendar_date(
                    month.first_day().year(),
                    month.first_day().month(),
                    day,
                )?
                .with_hms(rng.random_range(7..20), 0, 0)?
                .assume_utc();
                serial += 1;
                let (source, person, channel) = where_done(kind, serial, i, &email, name)?;
                let mut record = ActivityRecord::new(format!("demo:{serial}"), kind, person, at);
                record.team = Some(TEAMS[i % TEAMS.len()].to_string());
                record.channel = Some(channel);
                record.title = Some(format!("{kind} by {name}"));
                records.entry(source).or_default().push(record);
            }
        }
    }
    let mut ingest = fairshare_store::activities::IngestSummary::default();
    for (source, records) in &records {
        let mut session = store
            .begin_ingest(source, "demo", "", &context.actor, &[])
            .await?;
        session.add(records).await?;
        let done = session.finish(&Skips::default()).await?;
        ingest.new += done.new;
        ingest.members_new += done.members_new;
    }

    // Profiles, and the people who agreed to be named (two in three).
    for (o, org) in orgs.iter().enumerate() {
        let profile = Profile {
            description: format!(
                "{} builds and hosts marketing automation for clients across {}.",
                org.name,
                REGIONS[o % REGIONS.len()]
            ),
            services: vec![
                SERVICES[o % SERVICES.len()].to_string(),
                SERVICES[(o + 1 + (o / SERVICES.len()) % 4) % SERVICES.len()].to_string(),
            ],
            languages: vec![
                "English".to_string(),
                LANGUAGES[o % LANGUAGES.len()].to_string(),
            ],
            regions: vec![REGIONS[o % REGIONS.len()].to_string()],
            // The demo is offline: no logo addresses that would point at the network.
            logo_url: None,
        };
        store
            .set_profile(&org.slug, &profile, &context.actor)
            .await?;
    }
    for (i, (_, org, _, _)) in people.iter().enumerate() {
        if i % 3 == 2 {
            continue;
        }
        let domain = match org {
            Some(o) => orgs[*o].domains[0].as_str(),
            None => "gmail.com",
        };
        if let Ok(member) = store.find_member(&format!("person{i}@{domain}")).await {
            store.set_listed(member, true, &context.actor).await?;
        }
    }

    // Sponsorship: most organisations pay about their threshold; some fall short or stop.
    let policy = &programme.thresholds;
    for (o, org) in orgs.iter().enumerate() {
        let country = org.country.expect("set above");
        let style = o % 5; // 0-2 steady, 3 short, 4 stops half-way
        for (n, month) in first.through(last).enumerate() {
            if style == 4 && n > args.months / 2 {
                break;
            }
            let release = store
                .release_in_force(month.first_day())
                .await?
                .context("no Big Mac release")?;
            let Some(threshold) = store
                .thresholds(release, policy)
                .await?
                .country(country)
                .cloned()
            else {
                continue;
            };
            let factor = if style == 3 {
                Decimal::new(rng.random_range(60..95), 2)
            } else {
                Decimal::new(rng.random_range(100..130), 2)
            };
            let money =
                Money::new(threshold.threshold_local * factor, threshold.currency).rounded();
            let date = month.first_day().replace_day(rng.random_range(1..=10u8))?;
            store
                .add_payment(
                    &org.slug,
                    money,
                    date,
                    Coverage::Month,
                    "demo transfer",
                    &context.actor,
                )
                .await?;
        }
    }

    // Applications three months in, decided by a reviewer; then every month reviewed.
    let apply_on = (0..3).fold(first, |m, _| m.next()).next().first_day();
    for (o, org) in orgs.iter().enumerate() {
        if o % 6 == 5 {
            continue; // never applied
        }
        let form = ApplicationForm {
            org: org.slug.clone(),
            name: org.name.clone(),
            country: org.country.expect("set above"),
            website: org.website.clone(),
            contact: format!("partners@{}", org.domains[0]),
            description: format!("{} builds with the project and gives back.", org.name),
            sponsorship: None,
            staff: vec![StaffMember {
                name: "Lead".into(),
                handle: format!("lead@{}", org.domains[0]),
            }],
        };
        let evaluation = store.evaluate(&org.slug, apply_on, &programme).await?;
        let id = store
            .submit_application(&form, Applicant::Operator, &evaluation, &org.slug)
            .await?
            .application;
        let decision = match (o % 6, evaluation.eligible) {
            (4, _) => None, // still pending
            (_, true) => Some(Decision::Approve),
            (3, false) => Some(Decision::Reject),
            (_, false) => Some(Decision::Defer),
        };
        if let Some(decision) = decision {
            store
                .decide_application(id, decision, "reviewed for the demo", "reviewer")
                .await?;
        }
    }
    // Non-code work claimed by two organisations, waiting for the marketing team's
    // lead (or a reviewer) in the console.
    for org in orgs.iter().take(2) {
        let domain = &org.domains[0];
        store
            .submit_claim(
                &org.slug,
                &fairshare_store::claims::ClaimForm {
                    person: format!("lead@{domain}"),
                    person_name: "Lead".into(),
                    kind: ActivityKind::TalkGiven,
                    day: last.first_day(),
                    team: "marketing".into(),
                    evidence: format!("https://{domain}/talks/{last}"),
                    description: format!("Talk about the project at a {} meetup", org.name),
                },
                &org.slug,
            )
            .await?;
    }
    let mut reviewed = 0;
    let mut month = Month::of(apply_on);
    while month <= last {
        store
            .review_month(month, &programme, None, "reviewer")
            .await?;
        reviewed += 1;
        month = month.next();
    }
    println!(
        "demo programme: {} organisations, {} members, {} activities over {} months, {} monthly reviews with published rankings",
        orgs.len(),
        ingest.members_new,
        ingest.new,
        args.months,
        reviewed
    );
    Ok(())
}

/// Where a demo activity was done, and by which of the person's accounts: some chat
/// help on Discord and Matrix, some answers on Stack Overflow, translations on Weblate
/// and Crowdin, some code on GitLab — each account joined to the person's address, as
/// a proven link joins it. Chosen by the activity's number, so the seed's draws (and
/// so the demo's numbers) stay as they were.
fn where_done(
    kind: ActivityKind,
    serial: u64,
    person: usize,
    email: &str,
    name: &str,
) -> anyhow::Result<(&'static str, PersonRef, String)> {
    use fairshare_engine::IdentityKind;
    let platform = match (kind, serial % 3) {
        (ActivityKind::ChatHelp, 0) => {
            Some(("discord", format!("{}", 800_000 + person), "support"))
        }
        (ActivityKind::ChatHelp, 1) => Some((
            "matrix",
            format!("person{person}:matrix.org"),
            "#demo:matrix.org",
        )),
        (ActivityKind::ForumPost | ActivityKind::ForumSolution, 0) => Some((
            "stackexchange",
            format!("stackoverflow:{}", 90_000 + person),
            "demo-app",
        )),
        (ActivityKind::Translation, 0) => Some(("weblate", format!("person{person}"), "de")),
        (ActivityKind::Translation, 1) => Some(("crowdin", format!("person{person}"), "fr")),
        (ActivityKind::PrOpened | ActivityKind::PrMerged | ActivityKind::Review, 0) => {
            Some(("gitlab", format!("person{person}"), "demo/app"))
        }
        _ => None,
    };
    let address = IdentityKey::from_email(email)?;
    Ok(match platform {
        Some((source, value, channel)) => {
            let kind = IdentityKind::parse(source).unwrap_or(IdentityKind::Email);
            let mut account = PersonRef::new(IdentityKey::new(kind, &value)?, Some(name));
            account.linked.push(address);
            (source, account, channel.to_string())
        }
        None => {
            let channel = if kind == ActivityKind::ForumPost {
                "forum"
            } else {
                "demo/app"
            };
            (
                "demo",
                PersonRef::new(address, Some(name)),
                channel.to_string(),
            )
        }
    })
}
