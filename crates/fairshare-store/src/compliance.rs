//! An organisation's monthly financial compliance: the facts (its payments, the
//! threshold in force for its country each month, exchange rates) loaded here, the
//! rule applied by the engine.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use fairshare_engine::compliance::{MonthCompliance, Requirement, compliance};
use fairshare_engine::{
    CountryCode, CurrencyCode, DollarRates, Money, Month, RateTable, ThresholdPolicy,
};
use rust_decimal::Decimal;
use time::Date;

use crate::thresholds::ThresholdSet;
use crate::{Result, Store, StoreError};

/// What compliance looks up besides an organisation's own payments — the release in
/// force each month, its thresholds and dollar rates, exchange rates — kept across the
/// organisations of a monthly review, where they are the same for everyone.
#[derive(Debug, Default)]
pub struct ComplianceCache {
    releases: HashMap<Month, Option<Date>>,
    thresholds: HashMap<Date, (ThresholdSet, DollarRates)>,
    rates: HashMap<(Vec<CurrencyCode>, Date, Date), RateTable>,
}

/// How far back streaks are counted before the first month shown.
const HISTORY_MONTHS: usize = 36;

impl Store {
    /// Compliance of `org_slug` for each month of `from..=to`; streaks count compliant
    /// months before `from` too. The cache shares reference lookups across calls.
    pub async fn org_compliance(
        &self,
        org_slug: &str,
        from: Month,
        to: Month,
        policy: &ThresholdPolicy,
        tolerance: Decimal,
        cache: &mut ComplianceCache,
    ) -> Result<Vec<MonthCompliance>> {
        let org = self.organisation(org_slug).await?;
        let country_text = org.country.clone().ok_or_else(|| {
            StoreError::Invalid(format!(
                "organisation `{org_slug}` has no headquarters country, so no threshold applies"
            ))
        })?;
        let country = CountryCode::parse_lenient(&country_text)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.compliance_of(
            Some((org.id, org_slug)),
            country,
            from,
            to,
            policy,
            tolerance,
            cache,
        )
        .await
    }

    /// Compliance of an organisation (id and slug) headquartered in `country`, or of
    /// one not on record yet (`None`: no payments count for it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn compliance_of(
        &self,
        org: Option<(i64, &str)>,
        country: CountryCode,
        from: Month,
        to: Month,
        policy: &ThresholdPolicy,
        tolerance: Decimal,
        cache: &mut ComplianceCache,
    ) -> Result<Vec<MonthCompliance>> {
        let start = (0..HISTORY_MONTHS).fold(from, |m, _| m.previous());
        let mut requirements = Vec::new();
        let mut currencies: Vec<CurrencyCode> = Vec::new();
        for month in start.through(to) {
            if let Entry::Vacant(slot) = cache.releases.entry(month) {
                slot.insert(self.release_in_force(month.first_day()).await?);
            }
            let Some(release) = cache.releases[&month] else {
                continue; // before the first Big Mac release nothing was asked
            };
            // Releases change twice a year: look each one up once.
            if let Entry::Vacant(slot) = cache.thresholds.entry(release) {
                let set = self.thresholds(release, policy).await?;
                slot.insert((set, self.dollar_rates(release).await?));
            }
            let (set, fallback) = &cache.thresholds[&release];
            let required = set
                .country(country)
                .map(|t| Money::new(t.threshold_local, t.currency));
            let Some(required) = required else {
                if month >= from {
                    return Err(StoreError::Invalid(format!(
                        "{country} has no threshold in the {release} release: map it to a comparable country or approve a price"
                    )));
                }
                continue;
            };
            currencies.push(required.currency);
            requirements.push(Requirement {
                month,
                required,
                fallback: fallback.clone(),
            });
        }
        // Charges implied by webhook events continue month after month without new
        // deliveries: bring them up to the last month asked about.
        let last_day = to
            .next()
            .first_day()
            .previous_day()
            .unwrap_or(to.first_day());
        // Yearly payments reach twelve months forward: start looking a year earlier.
        let earliest = (0..12).fold(start, |m, _| m.previous()).first_day();
        let payments = match org {
            Some((id, slug)) => {
                for account in self.sponsor_accounts_of(id, "github_sponsors").await? {
                    self.charges_from_webhooks(&account, last_day).await?;
                }
                self.org_payments(slug, earliest, to.next().first_day())
                    .await?
            }
            None => Vec::new(),
        };
        currencies.extend(payments.iter().map(|p| p.money.currency));
        currencies.sort();
        currencies.dedup();
        let key = (currencies, earliest, to.next().first_day());
        let rates = match cache.rates.entry(key) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => {
                let (currencies, from, until) = slot.key();
                let table = self.rate_table(currencies, *from, *until).await?;
                slot.insert(table)
            }
        };
        let engine_payments: Vec<_> = payments.iter().map(|p| p.to_engine()).collect();
        let months = compliance(&engine_payments, &requirements, rates, tolerance)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(months.into_iter().filter(|m| m.month >= from).collect())
    }
}
